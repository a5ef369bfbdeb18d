"""README's quality figures describe the code and gold sets that ship: `make eval` writes them
(`assistant eval --write-readme NAME`) with a hash of everything that moves a figure, and this
test fails when the built-in embedding's blocks were measured on other code (principle 5: the
figures are the evaluation's own, never copied by hand or left behind by a change)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from assistant.evaluation.readme import (
    QUALITY,
    README,
    ROOT,
    blocks,
    code_hash,
    recorded_hash,
    write_block,
)
from assistant.evaluation.splits import markdown_table

# The default embedding's blocks must be current; e5's (a quarter of an hour or more to regenerate) must exist.
CURRENT = ("real-local", "notes-local")
PRESENT = ("real-e5", "notes-e5")


def test_readme_quality_blocks_match_the_code_and_gold_sets():
    found = blocks(QUALITY, README.read_text(encoding="utf-8"))
    missing = [n for n in CURRENT + PRESENT if not found.get(n, "").strip()]
    assert not missing, f"README.md lacks the generated quality block(s) {missing}: run `make eval` " \
                        "(EVAL_EMBEDDINGS=\"local e5\") and commit README.md."
    current = code_hash(QUALITY)
    stale = {n: recorded_hash(QUALITY, found[n]) for n in CURRENT if recorded_hash(QUALITY, found[n]) != current}
    assert not stale, (f"README.md's quality figures were measured on other code or gold sets (quality-code now "
                       f"{current}; README has {stale}). Run `make eval EVAL_EMBEDDINGS=local` and commit README.md.")


def test_a_changed_gold_set_makes_the_block_stale_and_rewriting_it_records_the_new_hash(tmp_path: Path):
    for name in QUALITY.files:
        target = tmp_path / name
        if Path(ROOT / name).is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("x = 1\n", encoding="utf-8")
    gold = tmp_path / "eval" / "gold.jsonl"
    gold.write_text('{"id": "a"}\n', encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("# T\n\n<!-- eval:real-local:start -->\n<!-- eval:real-local:end -->\n\n## Next\n", encoding="utf-8")
    rows = [{"level": "answers", "system": "assistant (units)", "metric": "key facts", "dev": 0.9, "held-out": 0.8,
             "blind": 0.5, "gap": 0.1},
            {"level": "answers", "system": "baseline (first release)", "metric": "key facts", "dev": 0.6,
             "held-out": 0.5, "blind": 0.4, "gap": 0.1}]
    table = markdown_table(rows, {"answers": {"dev": 10, "held-out": 8, "blind": 5}}, embedding="local", folder="corpus")
    write_block(QUALITY, "real-local", table, readme, load=False)
    text = readme.read_text(encoding="utf-8")
    assert "| answers | key facts | 0.900 / 0.800 / 0.500 | +0.100 | ≥ 0.85 | 0.600 / 0.500 / 0.400 |" in text
    assert text.index("eval:real-local:end") < text.index("## Next")  # written in place, not appended
    before = recorded_hash(QUALITY, blocks(QUALITY, text)["real-local"])
    assert before == code_hash(QUALITY, tmp_path)
    gold.write_text('{"id": "b"}\n', encoding="utf-8")
    assert code_hash(QUALITY, tmp_path) != before


def test_write_readme_refuses_a_bad_block_name(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "assistant.cli", "eval", "--answers", str(ROOT / "eval" /
                             "answers-evalcorpus.jsonl"), "--write-readme", "../x"], capture_output=True, text=True,
                            cwd=ROOT, env={"PATH": "/usr/bin:/bin", "ASSISTANT_DATA_DIR": str(tmp_path),
                                           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"})
    assert result.returncode != 0 and "block name" in (result.stdout + result.stderr)
