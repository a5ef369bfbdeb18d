"""The `assistant` command line (typer + rich).

Thin: every command builds its objects through the composition root
(`assistant.services.Services`) and changes the corpus only through the corpus service
(`assistant.corpus.service.Corpus`), which owns the writer lock.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.config import get_settings
from assistant.ingest import metadata

app = typer.Typer(
    help="Innovative public procurement assistant: sync documents, search, ask, evaluate.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
out = Console()


def _services(settings=None):
    """Store, retriever, assistant and corpus service, built once for this command."""
    from assistant.services import Services
    from assistant.store.chroma import StoreError

    try:
        return Services.build(settings or get_settings(), role="cli", feedback=False)
    except StoreError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 2):
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: the corpus folder)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop the collection and embed everything afresh."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would change."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for another ingest to finish."),
    confirm_remove: bool = typer.Option(False, "--confirm-remove",
                                        help="Allow a sync that removes most of the stored documents."),
):
    """Sync documents into the store (unchanged files are skipped)."""
    settings = get_settings()
    paths = paths or [settings.corpus_dir]
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    corpus = _services(settings).corpus
    if dry_run:
        _guarded(lambda: _print_plan(corpus.plan(paths)))
        return
    write = corpus.rebuild if rebuild else functools.partial(corpus.sync, confirm_remove=confirm_remove)
    report = _guarded(lambda: run_sync(write, paths, wait))
    print_report(report)
    if report.failed:
        raise typer.Exit(1)


def _guarded(action):
    """Run a store action; a busy lock exits 3, an unusable store 2, each with its message."""
    from assistant.corpus.service import CorpusBusy
    from assistant.store.chroma import StoreError
    from assistant.store.embeddings import EmbeddingUnavailable

    try:
        return action()
    except CorpusBusy as exc:
        _fail(str(exc), 3)
    except (StoreError, EmbeddingUnavailable) as exc:
        _fail(str(exc))


def run_sync(write, paths=None, wait: float = 0.0):
    """Run a corpus write (`corpus.sync` or `corpus.rebuild`) with a rich progress bar per
    file and per chunk batch."""
    from assistant.corpus import sync as syncing

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        files = bar.add_task("files", total=None)
        chunks = bar.add_task("chunks", total=None, visible=False)

        def on_plan(planned):
            bar.update(files, total=len(planned))

        def on_file(item, index, total):
            bar.update(files, completed=index - 1, description=f"{item.action}: {item.source[-50:]}")
            bar.update(chunks, completed=0, total=None, visible=False)

        def on_chunks(source, done, total):
            bar.update(chunks, completed=done, total=total, visible=True)

        def on_result(result):
            bar.advance(files)

        return write(paths, syncing.Progress(on_plan=on_plan, on_file=on_file, on_chunks=on_chunks,
                                             on_result=on_result), wait=wait)


def _print_plan(planned) -> None:
    table = Table(title="Plan (dry run: nothing written)")
    table.add_column("action")
    table.add_column("source")
    for item in planned:
        table.add_row(item.action, item.source)
    out.print(table)


def print_report(report) -> None:
    if report.repaired:
        console.print(f"[yellow]Repaired after an interrupted ingest: {', '.join(report.repaired)}[/yellow]")
    table = Table(title="Ingest")
    for col in ("status", "source", "chunks", "reason"):
        table.add_column(col)
    colours = {"failed": "red", "added": "green", "updated": "cyan", "removed": "magenta"}
    for r in report.results:
        if r.status == "unchanged" and len(report.results) > 40:
            continue
        reason = r.reason or "; ".join(r.warnings)
        table.add_row(f"[{colours.get(r.status, 'white')}]{r.status}[/]", r.source, str(r.chunks), reason)
    out.print(table)
    counts = {s: report.count(s) for s in ("added", "updated", "unchanged", "removed", "failed")}
    chunks = sum(r.chunks for r in report.results if r.status != "failed")
    out.print(", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {chunks} chunks")


@app.command()
def docs(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """List the documents in the store."""
    records = _guarded(_services().corpus.inventory)
    if as_json:
        out.print_json(json.dumps([r.metadata() for r in records], ensure_ascii=False))
        return
    from datetime import date

    today = get_settings().today or date.today()
    overdue = [r for r in records if r.overdue(today)]
    table = Table(title=f"{len(records)} documents")
    for col in ("source", "title", "language", "chunks", "as of", "review by", "ingested at"):
        table.add_column(col)
    for r in records:
        review = f"[bold red]{r.review_by} (overdue)[/bold red]" if r.overdue(today) else r.review_by
        table.add_row(r.source, r.title[:60], r.language, str(r.chunks), r.as_of, review, r.ingested_at)
    out.print(table)
    if overdue:
        out.print(f"[bold red]{len(overdue)} document(s) past their review date:[/bold red] "
                  + ", ".join(r.source for r in overdue))


@app.command()
def remove(
    source: str = typer.Argument(..., help="The document's source, as `assistant docs` shows it."),
    keep_file: bool = typer.Option(
        False, "--keep-file",
        help="Only drop the chunks and leave the file (for a file outside the corpus folder)."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for another ingest to finish."),
):
    """Delete a document, as the staff page does: its file in the corpus folder and its chunks."""
    result = _guarded(lambda: _services().corpus.delete(source, keep_file=keep_file, wait=wait))
    if result.status != "removed":
        _fail(f"{source}: {result.reason}", 1)
    if result.reason:
        out.print(f"removed {source} ({result.reason})")
    elif keep_file:
        out.print(f"removed {source} (chunks only; the file was left alone)")
    else:
        out.print(f"removed {source} (file and chunks)")


def _choices(values) -> str:
    return " | ".join(values)


@app.command("meta")
def meta_command(
    files: list[str] = typer.Argument(
        ..., help="Documents to describe: the source as `assistant docs` shows it (relative to the corpus "
                  "folder) or a path to the file. Each gets its own record `<file>.meta.yaml` beside it."),
    title: Optional[str] = typer.Option(None, "--title", help="Official title, shown on cards and in the inventory."),
    language: Optional[str] = typer.Option(None, "--language",
                                           help=f"Language of the text: {_choices(metadata.LANGUAGES)}."),
    jurisdiction: Optional[str] = typer.Option(
        None, "--jurisdiction", help=f"Whose rules the text states: {_choices(metadata.JURISDICTIONS)}."),
    kind: Optional[str] = typer.Option(
        None, "--kind", help=f"{_choices(metadata.KINDS)}: a statute's text, guidance, or an office's own rule."),
    consolidation: Optional[str] = typer.Option(
        None, "--consolidation", help="Which consolidated text a statute is, e.g. \"LBK nr. 116 af 3. februar "
                                      "2025\" (named in saved notes); \"\" clears it."),
    as_of: Optional[str] = typer.Option(None, "--as-of",
                                        help="The date of the text, the legal state it shows (YYYY-MM-DD)."),
    review_by: Optional[str] = typer.Option(
        None, "--review-by", help="When staff must check it against the text in force (YYYY-MM-DD); \"\" clears "
                                  "it (then a year after its date counts)."),
    url: Optional[str] = typer.Option(None, "--url",
                                      help="Official https:// link (ELI, Lovdata, EUR-Lex); \"\" clears it."),
    show: bool = typer.Option(False, "--show", help="Only print each record (or, for a file without one, what "
                                                   "would be proposed from the file); write nothing."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for another ingest to finish."),
):
    """Set a document's metadata (title, language, jurisdiction, kind, dates, link): written to the
    sidecar record beside the file, as the staff page's upload form writes it, then that document
    is re-synced, under the writer lock. A file without a record gets one proposed from the file
    for the fields not given. A file whose record would be invalid is refused with the reason and
    left as it was; the others are written."""
    from datetime import date

    import yaml

    from assistant.ingest.loaders import PROBLEM_REASONS, SUPPORTED, is_sidecar

    settings = get_settings()
    corpus_dir = Path(settings.corpus_dir)
    given = {"title": title, "language": language, "jurisdiction": jurisdiction, "kind": kind,
             "consolidation": consolidation, "as_of": as_of, "review_by": review_by, "url": url}
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes and not show:
        _fail("Nothing to set: give at least one of --title, --language, --jurisdiction, --kind, "
              "--consolidation, --as-of, --review-by, --url (or --show to print the records).")
    today = settings.today or date.today()
    errors: dict[str, str] = {}
    targets: list[tuple[str, Path]] = []
    for name in files:
        path = Path(name) if Path(name).is_file() else corpus_dir / name
        if is_sidecar(path.name):
            errors[name] = "this is a sidecar record itself: name the document it describes"
        elif not path.is_file():
            errors[name] = f"no such file (looked for {name} and {corpus_dir / name})"
        elif path.suffix.lower() not in SUPPORTED:
            errors[name] = f"not a document type the corpus reads ({', '.join(sorted(SUPPORTED))})"
        else:
            targets.append((name, path))
    notes: list[str] = []

    def describe(_corpus: Path) -> list[Path]:  # under the writer lock (or, for --show, only reading)
        written = []
        for name, path in targets:
            try:
                record, proposed = metadata.amend(path, changes, today=today, max_mb=settings.max_file_mb)
            except metadata.RecordUnreadable as exc:
                errors[name] = str(exc)
                continue
            if show:
                head = "no record yet; proposed from the file" if proposed else str(metadata.sidecar_path(path))
                out.print(f"[bold]{name}[/bold] ({head})")
                out.print(yaml.safe_dump({k: getattr(record, k) for k in metadata.EDITABLE}, sort_keys=False,
                                         allow_unicode=True).rstrip())
                continue
            problems = record.problems()
            if problems:
                errors[name] = "not written: " + "; ".join(PROBLEM_REASONS[p] for p in problems)
                continue
            metadata.write(path, record)
            written.append(path)
            if proposed:
                notes.append(f"{name}: it had no record; the fields not given were proposed from the file")
        return written

    failed = False
    if show:
        describe(corpus_dir)
    elif targets:
        report = _guarded(lambda: _services(settings).corpus.edit(describe, wait=wait))
        if report.results:
            print_report(report)
        for note in notes:
            out.print(note)
        failed = bool(report.failed)  # written, but the document could not be re-read (the table says why)
    for name, reason in errors.items():
        console.print(f"[red]{name}: {reason}[/red]")
    if errors or failed:
        raise typer.Exit(1)


@app.command()
def settings(
    markdown: bool = typer.Option(False, "--markdown", help="README's settings table."),
    env: bool = typer.Option(False, "--env", help="A `.env.example` with every setting."),
):
    """Every setting with its default and meaning (generated from assistant/config.py)."""
    from assistant.config import Settings, env_example, settings_table

    if markdown:
        print(settings_table())
        return
    if env:
        print(env_example(), end="")
        return
    table = Table(title="Settings (environment or .env)")
    for col in ("variable", "default", "meaning"):
        table.add_column(col)
    from assistant.config import env_name, shown_default

    for name, info in Settings.model_fields.items():
        table.add_row(env_name(name), shown_default(name), info.description or "")
    out.print(table)


@app.command("refs")
def refs(
    corpus: Optional[Path] = typer.Argument(None, help="Notes folder (default: ASSISTANT_CORPUS_DIR)."),
    laws: Optional[Path] = typer.Option(None, "--laws",
                                        help="Folder with the statute texts (default: the statutes shipped in "
                                             "the corpus, found by their sidecar records)."),
):
    """Check every § / article a note cites against the statute texts, every cross-reference
    inside a shipped statute, and dated figures."""
    from assistant.corpus.refcheck import main as refcheck_main

    folder = str(corpus or get_settings().corpus_dir)
    raise typer.Exit(refcheck_main([folder, "--laws", str(laws or folder)]))


@app.command("eval")
def eval_command(
    gold: Optional[Path] = typer.Argument(None, exists=True, dir_okay=False,
                                          help="Retrieval gold set (JSON lines)."),
    answers: Optional[list[Path]] = typer.Option(
        None, "--answers", exists=True, dir_okay=False,
        help="Answer-level gold set (JSON lines; may repeat): scores the text a buyer reads, beside the first "
             "release's composer."),
    blind: Optional[Path] = typer.Option(
        None, "--blind", exists=True, dir_okay=False,
        help="Blind retrieval set (questions written without looking at the corpus): its own column."),
    blind_answers: Optional[list[Path]] = typer.Option(
        None, "--blind-answers", exists=True, dir_okay=False,
        help="Blind answer-level set (may repeat): its own column."),
    k: int = typer.Option(5, "-k", help="Cut-off for Hit@k."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    details: bool = typer.Option(False, "--details", help="Per question: ranked hits and abstain decision "
                                 "(dev cases only: held-out and blind cases are never read one by one)."),
    docs_dir: Optional[Path] = typer.Option(
        None, "--docs", help="Evaluate over this folder: synced into its own store under the data folder first."
    ),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also run the tutorial baseline."),
    llm: bool = typer.Option(False, "--llm", help="With --answers: also answer with the configured language "
                             "model (OPENAI_API_KEY ...) and report its claim support."),
    ablate: Optional[list[str]] = typer.Option(
        None, "--ablate", help="Switch a named composer factor to neutral for this run (may repeat; "
                               "assistant/retrieval/factors.py lists them): what it contributes on dev and held-out."),
    write_readme: Optional[str] = typer.Option(
        None, "--write-readme", help="Rewrite README.md's generated block eval:NAME with this run's dev / held-out / "
                                     "blind table (`make eval` writes real-local, notes-local, real-e5, notes-e5)."),
    ablate_each: bool = typer.Option(
        False, "--ablate-each", help="With --answers: answer the sets once with every factor on, then once per "
                                     "factor switched to neutral, and print each figure's change (answers only)."),
    ablate_group: Optional[list[str]] = typer.Option(
        None, "--ablate-group", help="With --ablate-each: also a group of factors switched off together "
                                     "(comma-separated; may repeat)."),
    groups_only: bool = typer.Option(False, "--groups-only", help="With --ablate-group: only the all-on run and "
                                     "the groups, not every factor alone."),
):
    """Measure retrieval (Hit@1, Hit@k, MRR@10, abstain rates) and, with --answers, the answers
    themselves (key facts, abstention, language) beside the baseline of the same run; then
    dev, held-out and blind side by side with the generalisation gap (dev minus held-out)."""
    from assistant.corpus.sync import discover
    from assistant.evaluation.retrieval import (
        TutorialBaseline,
        assistant_system,
        evaluate,
        load_gold,
        statute_expectations,
    )
    from assistant.evaluation.retrieval import metrics as retrieval_metrics
    from assistant.evaluation.splits import RETRIEVAL_METRICS, SPLITS, counts, generalisation_rows

    if gold is None and not answers and blind is None and not blind_answers:
        _fail("Give a retrieval gold set, --answers GOLD.jsonl, or both.")
    if write_readme is not None and (not re.fullmatch(r"[a-z0-9-]+", write_readme) or ablate):
        _fail("--write-readme takes a block name of lower-case letters, digits and hyphens, and no --ablate "
              "(README shows the shipped configuration).")
    from assistant.retrieval import factors

    try:
        factors.ablate(ablate or [])
    except ValueError as exc:
        _fail(str(exc))
    if ablate_each and not (answers or blind_answers):
        _fail("--ablate-each needs --answers or --blind-answers.")
    groups = [[n.strip() for n in g.split(",") if n.strip()] for g in ablate_group or []]
    unknown = {n for g in groups for n in g} - factors.FACTORS.keys()
    if unknown:
        _fail(f"unknown factor(s): {', '.join(sorted(unknown))}")
    settings = _eval_settings(docs_dir) if docs_dir else get_settings()
    services = _services(settings)
    if docs_dir:
        _guarded(lambda: services.corpus.sync([docs_dir]))
    retriever = services.retriever
    if ablate_each:
        _ablation(answers or [], blind_answers or [], retriever, settings, groups, as_json,
                  docs_dir or settings.corpus_dir, singles=not groups_only)
        return
    payload: dict = {"embedding": _embedding_label(settings)}
    table_rows: list[dict] = []
    table_counts: dict[str, dict[str, int]] = {}
    if answers or blind_answers:
        payload["answers"] = _answer_eval(answers or [], blind_answers or [], retriever, settings, as_json, details,
                                          table_rows, table_counts, llm=llm)
    questions = load_gold(gold) if gold else []
    questions += load_gold(blind, blind=True) if blind else []
    if questions:
        # A statute provision the expected passage names counts as a hit (evaluation/retrieval.py).
        questions = statute_expectations(questions, retriever.index().chunks)
        reports = [evaluate("assistant", questions, assistant_system(retriever, k), k)]
        payload["scoring_rule"] = _print_scoring_rule(reports[0], k, as_json)
        if baseline:
            folder = docs_dir or settings.corpus_dir
            files = [f for f, _, _ in discover([folder], settings.corpus_dir)]
            reports.append(evaluate("baseline (RCTS 1000/200 + BM25)", questions, TutorialBaseline(files), k))
        payload["metrics"] = reports[0].metrics
        payload["questions"] = [r.as_json(True) for r in reports[0].results if r.question.split == "dev"]
        if baseline:
            payload["baseline"] = reports[1].metrics
        payload["retrieval_splits"] = {}
        for report in reports:
            blocks = {part: retrieval_metrics([r for r in report.results if r.question.split == part], k)["overall"]
                      for part in SPLITS if any(r.question.split == part for r in report.results)}
            blocks = {part: {("hit@5" if key == f"hit@{k}" else key): v for key, v in b.items()}
                      for part, b in blocks.items()}
            payload["retrieval_splits"][report.name] = blocks
            table_rows += generalisation_rows("retrieval", report.name, blocks, RETRIEVAL_METRICS)
            table_counts.setdefault("retrieval", counts(blocks))
        if not as_json:
            gold_reports = [_only(r, lambda q: q.split != "blind", k) for r in reports]
            if gold_reports[0].results:
                _print_eval(gold_reports, k, details)
    payload["generalisation"] = table_rows
    if write_readme:
        from assistant.evaluation.readme import QUALITY, write_block
        from assistant.evaluation.splits import markdown_table

        write_block(QUALITY, write_readme, markdown_table(
            table_rows, table_counts, embedding=payload["embedding"],
            folder=_shown_folder(docs_dir or settings.corpus_dir)), load=False)
    if as_json:
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    _print_generalisation(table_rows, table_counts, payload["embedding"], docs_dir or settings.corpus_dir)


def _shown_folder(folder) -> str:
    """A folder as README names it: relative to the repository or to its parent (../shared/...)."""
    from assistant.evaluation.readme import ROOT

    path = Path(folder).resolve()
    for base, prefix in ((ROOT, ""), (ROOT.parent, "../")):
        try:
            return prefix + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.name


def _print_scoring_rule(report, k: int, as_json: bool) -> dict:
    """Hit@k and MRR@10 per part when only the gold set's own passages count, beside the same
    run scored with the statute provisions those passages name (the rule `make eval` uses)."""
    from dataclasses import replace

    from assistant.evaluation.retrieval import metrics
    from assistant.evaluation.splits import SPLITS

    figures: dict = {}
    for part in SPLITS:
        mine = [r for r in report.results if r.question.split == part]
        if not any(r.question.answerable for r in mine):
            continue
        before = metrics([replace(r, rank=r.rank_notes_only) for r in mine], k)["overall"]
        after = metrics(mine, k)["overall"]
        figures[part] = {f"{key} {rule}": m[key] for key in (f"hit@{k}", "mrr@10")
                         for rule, m in (("notes only", before), ("with statutes", after))}
    if not as_json and figures:
        table = Table(title="Scoring rule: a statute provision the expected passage names also counts "
                            "(same run; before = the gold set's passages only)")
        table.add_column("part")
        for col in next(iter(figures.values())):
            table.add_column(col)
        for part, row in figures.items():
            table.add_row(part, *[_fmt(v) for v in row.values()])
        out.print(table)
    return figures


def _embedding_label(settings) -> str:
    kind, why = settings.embedding_choice
    return f"{kind} ({why})"


def _only(report, keep, k: int):
    """The report restricted to the questions `keep` accepts (metrics recomputed)."""
    from assistant.evaluation.retrieval import Report, metrics

    results = [r for r in report.results if keep(r.question)]
    return Report(name=report.name, results=results, k=k, seconds=report.seconds, metrics=metrics(results, k))


def _print_generalisation(rows: list[dict], table_counts: dict[str, dict[str, int]], embedding: str,
                          folder) -> None:
    """Dev, held-out and blind side by side, with the gap (dev minus held-out)."""
    if not rows:
        return
    heads = {level: ", ".join(f"{part} {n}" for part, n in c.items() if n) for level, c in table_counts.items()}
    table = Table(title=f"Generalisation over {folder}, embedding {embedding}\n"
                        "(assistant beside its baseline: the tutorial retriever / the first release's composer)\n"
                        + "; ".join(f"{level}: {h}" for level, h in heads.items())
                        + "\n(held-out: figures only, never tuned on; gap = dev - held-out)")
    for col in ("level", "system", "metric", "dev", "held-out", "blind", "gap"):
        table.add_column(col)
    level = None
    for row in rows:
        if level is not None and row["level"] != level:
            table.add_section()
        level = row["level"]
        table.add_row(row["level"], row["system"].split(" ")[0], row["metric"], _fmt(row["dev"]), _fmt(row["held-out"]),
                      _fmt(row["blind"]), "" if row["gap"] is None else f"{row['gap']:+.3f}")
    out.print(table)


@app.command()
def calibrate(
    sets: list[str] = typer.Argument(..., help="Gold sets as GOLD.jsonl=DOCS_FOLDER (each synced into its own "
                                     "eval store for the current embedding)."),
    write: bool = typer.Option(False, "--write", help="Store the result for this embedding in "
                               "assistant/data/calibration.yaml (else only print it)."),
    max_false_abstain: float = typer.Option(0.04, "--max-false-abstain",
                                            help="Share of answerable questions the gate may refuse."),
):
    """Calibrate the fusion weights, full dense support and abstain threshold for the current
    embedding (ASSISTANT_EMBEDDINGS ...) on the dev part of gold sets, the way the stored values
    were made (held-out cases are never used)."""
    import yaml

    from assistant.evaluation.retrieval import calibrate as run_calibration
    from assistant.evaluation.retrieval import load_gold
    from assistant.retrieval.search import CALIBRATION_PATH

    pairs = []
    for item in sets:
        gold, _, folder = item.partition("=")
        if not folder or not Path(gold).is_file() or not Path(folder).is_dir():
            _fail(f"'{item}': give GOLD.jsonl=DOCS_FOLDER with an existing file and folder.")
        services = _services(_eval_settings(Path(folder)))
        _guarded(lambda: services.corpus.sync([Path(folder)]))  # noqa: B023 - called at once
        # Only the dev part: held-out cases never choose a weight or a threshold.
        pairs.append((load_gold(Path(gold), split="dev"), services.retriever))
    result = run_calibration(pairs, max_false_abstain=max_false_abstain)
    entry = result.entry(" ".join(sets))
    out.print(f"[bold]{result.key}[/bold]: " + ", ".join(f"{k} {v}" for k, v in entry.items()))
    if write:
        table = yaml.safe_load(CALIBRATION_PATH.read_text(encoding="utf-8")) or {}
        header = "".join(line + "\n" for line in CALIBRATION_PATH.read_text(encoding="utf-8").splitlines()
                         if line.startswith("#"))
        table[result.key] = entry
        CALIBRATION_PATH.write_text(header + yaml.safe_dump(table, allow_unicode=True, sort_keys=False),
                                    encoding="utf-8")
        out.print(f"Written to {CALIBRATION_PATH}.")


def _answer_eval(paths: list[Path], blind: list[Path], retriever, settings, as_json: bool, details: bool,
                 table_rows: list[dict], table_counts: dict, llm: bool = False) -> dict:
    from assistant.answer.assistant import Assistant
    from assistant.evaluation.answers import answer_metrics, asker, evaluate_answers, load_cases
    from assistant.evaluation.splits import ANSWER_METRICS, SPLITS, counts, generalisation_rows

    cases = [case for path in paths for case in load_cases(path)]
    cases += [case for path in blind for case in load_cases(path, blind=True)]
    assistant = Assistant(retriever, settings.model_copy(update={"openai_api_key": None}))
    reports = [evaluate_answers("assistant (units)", cases, asker(assistant, "units")),
               evaluate_answers("baseline (first release's sentence picker)", cases, asker(assistant, "baseline"))]
    if llm:  # the configured model beside the offline answers, with claim support
        if not settings.llm_enabled:
            _fail("--llm needs a language model: set OPENAI_API_KEY (and OPENAI_BASE_URL for a local server).")
        reports.append(evaluate_answers(f"language model ({settings.chat_model})", cases,
                                        asker(Assistant(retriever, settings), "units")))
    splits_payload = {}
    for report in reports:
        blocks = {part: answer_metrics([r for r in report.results if r.case.split == part])["overall"]
                  for part in SPLITS if any(r.case.split == part for r in report.results)}
        splits_payload[report.name] = blocks
        table_rows += generalisation_rows("answers", report.name, blocks, ANSWER_METRICS)
        table_counts.setdefault("answers", counts(blocks))
    payload = {"metrics": reports[0].metrics, "baseline": reports[1].metrics, "splits": splits_payload,
               "cases": [r.as_json(details) for r in reports[0].results if r.case.split == "dev"]}
    if llm:
        payload["llm"] = {"metrics": reports[2].metrics,
                          "cases": [{**r.as_json(details), "mode": r.answer.mode, "error": r.answer.error,
                                     "claims": r.answer.claims, "language": r.answer.language,
                                     "seconds": round(r.answer.timings.get("total_ms", 0) / 1000, 2)}
                                    for r in reports[2].results if r.case.split == "dev"]}
    if as_json:
        return payload
    names = ", ".join([p.name for p in paths] + [f"blind {p.name}" for p in blind])
    table = Table(title=f"Answers on {len(cases)} cases ({names}), {'LLM and ' if llm else ''}offline mode")
    claim_cols = ("claim_support", "unsupported_claims", "shown_unsupported") if llm else ()
    for col in ["system", "kind", "n", "key facts", "abstain (out of scope)", "false abstain", "weak",
                "language", *(c.replace("_", " ") for c in claim_cols)]:
        table.add_column(col)
    for report in reports:
        rows = [("overall", report.metrics["overall"])] + list(report.metrics["by_kind"].items()) + [
            (f"lang={lang}", m) for lang, m in report.metrics["by_language"].items()]
        for kind, m in rows:
            table.add_row(report.name if kind == "overall" else "", kind, str(m["cases"]),
                          *[_fmt(m.get(key)) for key in ("key_facts", "abstain", "false_abstain", "weak",
                                                         "language", *claim_cols)])
        table.add_section()
    out.print(table)
    if details:
        for r in reports[0].results:
            if (r.passed and r.language_ok) or r.case.split != "dev":  # held-out and blind: figures only
                continue
            out.print(f"\n[bold]{r.case.id}[/bold] ({r.case.kind}, {r.answer.status}, facts "
                      f"{r.facts_found}/{len(r.case.facts)}, forbidden {r.forbidden}) {r.case.turns}")
            out.print(f"  standalone: {r.answer.standalone_question}")
            out.print("  " + r.answer.answer[:700].replace("\n", "\n  "))
    return payload


def _ablation(paths: list[Path], blind: list[Path], retriever, settings, groups: list[list[str]], as_json: bool,
              folder, singles: bool = True) -> None:
    """Every factor switched to neutral in turn (evaluation/ablation.py), the offline answers only."""
    from assistant.answer.assistant import Assistant
    from assistant.evaluation.ablation import METRICS, ablate_each, rows
    from assistant.evaluation.answers import asker, load_cases
    from assistant.evaluation.splits import SPLITS

    cases = [case for path in paths for case in load_cases(path)]
    cases += [case for path in blind for case in load_cases(path, blind=True)]
    assistant = Assistant(retriever, settings.model_copy(update={"openai_api_key": None}))
    runs = ablate_each(cases, asker(assistant, "units"), names=None if singles else [], groups=groups,
                       progress=None if as_json else lambda label: out.print(f"[dim]{label}[/dim]", end=" "))
    table_rows = rows(runs)
    if as_json:
        out.print_json(json.dumps({"embedding": _embedding_label(settings), "folder": str(folder),
                                   "cases": {part: runs[0].blocks.get(part, {}).get("cases", 0) for part in SPLITS},
                                   "rows": table_rows}, ensure_ascii=False))
        return
    out.print()
    parts = [p for p in SPLITS if p in runs[0].blocks]
    table = Table(title=f"Composer factors switched to neutral one at a time over {folder}, embedding "
                        f"{_embedding_label(settings)}\n(first row: all on; below: change against it; cases "
                        + ", ".join(f"{p} {runs[0].blocks[p]['cases']}" for p in parts)
                        + ";\n'judged' = held-out + blind cases passed, what the rule compares)")
    table.add_column("factor")
    for label, key, _ in METRICS:
        for part in parts:
            if any(r.blocks.get(part, {}).get(key) is not None for r in runs):
                table.add_column(f"{label} {part}")
    table.add_column("dev passed")
    table.add_column("judged passed")
    for row in table_rows:
        base = row["factor"] == table_rows[0]["factor"]
        cells = []
        for _, key, _ in METRICS:
            for part in parts:
                if any(r.blocks.get(part, {}).get(key) is not None for r in runs):
                    v = row[f"{part} {key}"]
                    cells.append("" if v is None else (f"{v:.3f}" if base else f"{v:+.3f}"))
        cells += [str(row["dev passed"]) if base else f"{row['dev passed']:+d}",
                  str(row["judged passed"]) if base else f"{row['judged passed']:+d}"]
        table.add_row(row["factor"], *cells)
        if base:
            table.add_section()
    out.print(table)


def _eval_settings(docs_dir: Path):
    import hashlib

    from assistant.store.embeddings import make_embedding

    base = get_settings()
    # One store per folder and embedding: the built-in and an endpoint's can be compared side by side.
    embedding = make_embedding(base)
    kind = getattr(embedding, "calibration_key", embedding.name())
    if kind != embedding.name():  # e5 in process and through a server share a calibration, not a store
        kind = f"{embedding.name()}|{kind}"
    key = hashlib.sha1(f"{docs_dir.resolve()}|{kind}".encode()).hexdigest()[:8]
    return base.model_copy(update={"data_dir": Path(base.data_dir) / f"eval-{key}"})


def _print_eval(reports, k: int, details: bool) -> None:
    table = Table(title=f"Retrieval on {reports[0].metrics['overall']['questions']} questions")
    cols = ["system", "kind", "n", "hit@1", f"hit@{k}", "mrr@10", "abstain (unanswerable)", "false abstain"]
    for col in cols:
        table.add_column(col)
    for report in reports:
        rows = [("overall", report.metrics["overall"])] + list(report.metrics["by_kind"].items())
        for kind, m in rows:
            table.add_row(
                report.name if kind == "overall" else "", kind, str(m["questions"]),
                *[_fmt(m.get(key)) for key in ("hit@1", f"hit@{k}", "mrr@10", "abstain", "false_abstain")],
            )
        table.add_section()
    out.print(table)
    if details:
        for result in reports[0].results:
            q = result.question
            if q.split != "dev":  # held-out and blind: figures only, never read one by one
                continue
            flag = "ABSTAIN" if result.ranked.abstained else "answer"
            out.print(f"\n[bold]{q.id}[/bold] ({q.kind}, {flag}, rank {result.rank or '-'}) {q.question}")
            for n, hit in enumerate(result.ranked.hits[:10], start=1):
                out.print(f"  {n:>2}. {hit['source'][:40]} | {hit['section'][:40]} | {hit['text'][:70]!r}")


def _fmt(value) -> str:
    return "" if value is None else f"{value:.3f}"



@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(5, "-k", help="How many passages."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Ranked passages for a query (hybrid dense + BM25)."""
    result = _guarded(lambda: _services().retriever.search(query, k=k))
    hits = result.hits[:k]
    if as_json:
        payload = {"query": query, "abstain": result.abstain, "evidence": result.evidence,
                   "hits": [{"source": h.source, "title": h.title, "page": h.page, "section": h.section,
                             "text": h.text, "score": h.score} for h in hits]}
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    for n, h in enumerate(hits, start=1):
        where = " – ".join(x for x in (h.section, f"p. {h.page}" if h.page else "") if x)
        out.print(f"[bold]{n}. {h.title}[/bold] ({h.source}) {where}  score {h.score:.4f}")
        out.print(f"   {h.text[:400]}\n")
    if result.abstain:
        out.print(f"[yellow]Weak evidence ({result.evidence:.2f}): the assistant would abstain.[/yellow]")


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in Danish, Norwegian or English."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer object as JSON."),
):
    """Answer a question from the sources, with citations."""
    answer = _services().assistant.ask(question)
    if as_json:
        out.print_json(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    from rich.markdown import Markdown

    out.print(Markdown(answer.answer))
    for c in answer.citations:
        where = " – ".join(x for x in (c.section, f"p. {c.page}" if c.page else "") if x)
        out.print(f"[{c.n}] {c.title} ({c.source}) {where}\n    “{c.quote[:300]}”")



@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Interface (default ASSISTANT_HOST, 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (default ASSISTANT_PORT, 7860)."),
    no_sync: bool = typer.Option(False, "--no-sync", help="Skip syncing the corpus folder first."),
):
    """Sync the corpus folder, then serve the web app."""
    import logging
    import os

    import uvicorn

    from assistant.services import Services
    from assistant.store.embeddings import EmbeddingUnavailable
    from assistant.web.app import create_app

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "bm25s", "chromadb", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = get_settings()

    def start():
        services = Services.build(settings)
        services.corpus.serve_store()  # an embedded store is this process's from now on
        if not no_sync:
            console.print(f"Syncing {settings.corpus_dir} …")
            try:
                print_report(run_sync(services.corpus.sync, [settings.corpus_dir], wait=60))
            except EmbeddingUnavailable as exc:
                # Start anyway: the store keeps what it had, and questions are answered from
                # BM25 alone (with a notice) until the endpoint is back.
                console.print(f"[yellow]The corpus was not synced: {exc}\nServing what the store already "
                              "holds, searched by keywords only; run `python ingest.py` when the embedding "
                              "server is back.[/yellow]")
        # Load the BM25 index, glossary and word lists now, not in the first user's request.
        services.retriever.search("markedsdialog før udbuddet")
        return services

    services = _guarded(start)
    host = host or settings.host
    port = port or settings.port
    console.print(f"[bold green]Serving on http://{host}:{port}[/bold green]  (staff page: /staff)")
    from assistant.web.security import uvicorn_options

    uvicorn.run(create_app(services), host=host, port=port, log_level="warning", **uvicorn_options(settings))


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
