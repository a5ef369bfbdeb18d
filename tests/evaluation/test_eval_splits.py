"""The evaluation discipline: every gold set split into dev and held-out by a stable hash of
the case id, recorded in the data; `assistant eval` shows dev, held-out and blind side by
side with the gap; calibration reads dev only."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.corpus.service import sync
from assistant.evaluation.answers import load_cases
from assistant.evaluation.retrieval import load_gold
from assistant.evaluation.splits import RETRIEVAL_METRICS, SPLITS, generalisation_rows, split_of
from assistant.store.chroma import Store
from tests.conftest import MARKEDSDIALOG_NOTE, ROOT, settings_env, settings_for

EVAL = ROOT / "eval"
GOLD_SETS = ["gold-corpus", "gold-evalcorpus", "answers-corpus", "answers-evalcorpus", "answers-law",
             "out-of-scope-calibration"]


def test_the_split_is_a_stable_hash_of_the_id_about_60_40():
    # Fixed values: a change of salt or rule would silently reshuffle every set.
    assert [split_of(i) for i in ("q1", "q2", "t3", "c1-01")] == ["dev", "held-out", "held-out", split_of("c1-01")]
    assert split_of("q1") == split_of("q1")
    share = sum(split_of(f"case-{n}") == "dev" for n in range(2000)) / 2000
    assert 0.56 <= share <= 0.64


@pytest.mark.parametrize("name", GOLD_SETS)
def test_every_gold_case_records_its_part_and_nobody_moved_one(name):
    lines = [json.loads(line) for line in (EVAL / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    assert all(case.get("split") == split_of(str(case["id"])) for case in lines)
    parts = {case["split"] for case in lines}
    assert parts == {"dev", "held-out"}  # both parts hold cases
    assert len({case["id"] for case in lines}) == len(lines)  # ids unique: the hash decides alone


def test_loaders_keep_one_part_and_blind_sets_are_blind():
    gold = EVAL / "gold-evalcorpus.jsonl"
    dev, held = load_gold(gold, split="dev"), load_gold(gold, split="held-out")
    assert not {q.id for q in dev} & {q.id for q in held}
    assert len(dev) + len(held) == len(load_gold(gold))
    assert {q.split for q in load_gold(EVAL / "blind-evalcorpus.jsonl", blind=True)} == {"blind"}
    cases = load_cases(EVAL / "answers-corpus.jsonl", split="held-out")
    assert cases and {c.split for c in cases} == {"held-out"}
    blind = load_cases(EVAL / "blind-answers-evalcorpus.jsonl", blind=True) + load_cases(
        EVAL / "blind-out-of-scope.jsonl", blind=True)
    assert len(blind) >= 30 and sum(not c.answerable for c in blind) >= 8
    assert {c.lang for c in blind} == {"da", "nb", "en"}


def test_blind_retrieval_set_has_grown_and_its_passages_exist():
    questions = load_gold(EVAL / "blind-evalcorpus.jsonl", blind=True)
    assert len(questions) >= 60 and len({q.id for q in questions}) == len(questions)


def test_the_table_puts_the_parts_side_by_side_with_the_gap():
    blocks = {"dev": {"hit@5": 0.9, "mrr@10": 0.7, "questions": 10},
              "held-out": {"hit@5": 0.8, "mrr@10": 0.75, "questions": 6},
              "blind": {"hit@5": 0.6, "questions": 5}}
    rows = generalisation_rows("retrieval", "assistant", blocks, RETRIEVAL_METRICS)
    hit = next(r for r in rows if r["metric"] == "Hit@5")
    assert (hit["dev"], hit["held-out"], hit["blind"], hit["gap"]) == (0.9, 0.8, 0.6, 0.1)
    mrr = next(r for r in rows if r["metric"] == "MRR@10")
    assert mrr["gap"] == -0.05 and mrr["blind"] is None
    assert not any(r["metric"] == "false abstain" for r in rows)  # no part has it: no row
    assert set(SPLITS) == {"dev", "held-out", "blind"}


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("splits"))
    (settings.corpus_dir / "markedsdialog.md").write_text(MARKEDSDIALOG_NOTE, encoding="utf-8")
    assert not sync(Store(settings), settings).failed
    return settings


def test_eval_prints_dev_held_out_and_blind_and_never_lists_held_out_cases(settings, tmp_path):
    questions = [{"id": f"q{n}", "question": "Må vi holde markedsdialog?", "answerable": True, "kind": "direct",
                  "expect": [{"source": "markedsdialog", "text": "gennemføre markedsdialog med leverandører"}]}
                 for n in range(1, 7)]
    gold, blind = tmp_path / "gold.jsonl", tmp_path / "blind.jsonl"
    gold.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions), encoding="utf-8")
    blind.write_text(json.dumps({"id": "b1", "question": "What is the corporate tax rate?",
                                 "answerable": False, "kind": "gap", "expect": []}), encoding="utf-8")
    env = {**settings_env(settings), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "assistant.cli", "eval", *args], capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=180)

    report = json.loads(run(str(gold), "--blind", str(blind), "--json").stdout)
    held = {q["id"] for q in questions if split_of(q["id"]) == "held-out"}
    assert held and not held & {q["id"] for q in report["questions"]}  # figures only
    parts = report["retrieval_splits"]["assistant"]
    assert parts["dev"]["hit@5"] == 1.0 and parts["held-out"]["hit@5"] == 1.0 and parts["blind"]["abstain"] == 1.0
    hit = next(r for r in report["generalisation"] if r["metric"] == "Hit@5" and r["system"] == "assistant")
    assert hit["gap"] == 0.0
    table = run(str(gold), "--blind", str(blind)).stdout
    assert "Generalisation" in table and "held-out" in table and "blind" in table and "+0.000" in table


def test_calibrate_reads_only_the_dev_part(settings, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import assistant.evaluation.retrieval as retrieval
    from assistant.cli import app
    from assistant.config import get_settings

    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps({"id": f"q{n}", "question": "Må vi holde markedsdialog?",
                                          "answerable": True, "expect": []}) for n in range(1, 9)), encoding="utf-8")
    seen: list[str] = []

    def fake_calibrate(pairs, **_):
        seen.extend(q.id for questions, _ in pairs for q in questions)
        return retrieval.CalibrationResult(key="k", dense_weight=1.0, bm25_weight=1.0, dense_full=0.5, dense_floor=0.0,
                                           abstain_threshold=0.4, degraded_threshold=0.3, hit_at_5=1.0,
                                           mrr_at_10=1.0, abstain=1.0, false_abstain=0.0, questions=len(seen))

    monkeypatch.setattr(retrieval, "calibrate", fake_calibrate)
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["calibrate", f"{gold}={settings.corpus_dir}"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert seen and set(seen) == {f"q{n}" for n in range(1, 9) if split_of(f"q{n}") == "dev"}


def test_eval_ablate_switches_a_named_factor_off_and_refuses_an_unknown_name(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from assistant import cli
    from assistant.retrieval import factors

    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "q1", "question": "Må vi?", "answerable": True, "expect": []}),
                    encoding="utf-8")
    unknown = CliRunner().invoke(cli.app, ["eval", str(gold), "--ablate", "no_such_factor"])
    assert unknown.exit_code == 2 and "unknown factor" in unknown.output and "rank_decay" in unknown.output

    seen: list[frozenset[str]] = []

    def stop_after_ablation(*_args, **_kwargs):  # the run itself is measured elsewhere
        seen.append(factors.ablated())
        raise SystemExit(0)

    monkeypatch.setattr(cli, "_eval_settings", stop_after_ablation)
    monkeypatch.setattr(cli, "get_settings", stop_after_ablation)
    CliRunner().invoke(cli.app, ["eval", str(gold), "--ablate", "heading_restates", "--ablate", "rank_decay"])
    factors.ablate([])
    assert seen == [frozenset({"heading_restates", "rank_decay"})]
