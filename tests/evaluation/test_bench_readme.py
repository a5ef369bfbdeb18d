"""README's performance figures describe the code that ships: each generated block records
a hash of the search's hot path, and a change to those files makes this test fail until the
benchmark is run again (issue 23: a tenfold slowdown sat under figures nobody re-measured)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.readme_block import (
    COMMANDS,
    README,
    SPEED_FILES,
    blocks,
    recorded_hash,
    speed_hash,
    write_block,
)


def test_readme_performance_blocks_match_the_code():
    found = blocks(README.read_text(encoding="utf-8"))
    assert set(COMMANDS) <= set(found), (
        f"README.md lacks the generated performance block(s) {sorted(set(COMMANDS) - set(found))}: "
        f"run {' and '.join(f'`{COMMANDS[n]}`' for n in COMMANDS if n not in found)} to write them.")
    current = speed_hash()
    stale = {name: recorded_hash(body) for name, body in found.items() if recorded_hash(body) != current}
    assert not stale, (
        "README.md's performance figures were measured on other code than the search's hot path now "
        f"({', '.join(SPEED_FILES)}: speed-code {current}; README has "
        + ", ".join(f"{name}: {h}" for name, h in stale.items())
        + f"). Regenerate them with {' and '.join(f'`{COMMANDS[n]}`' for n in stale)} "
        "on a quiet machine and commit README.md.")


def test_a_hot_path_change_makes_the_block_stale(tmp_path: Path):
    """The check can fail: one changed byte in a hashed file gives another hash, and
    rewriting the block records the new one."""
    for name in SPEED_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n", encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\n## Performance\n", encoding="utf-8")
    write_block("search", "| a | b |\n|---|---|\n| 1 | 2 |", readme)
    before = recorded_hash(blocks(readme.read_text(encoding="utf-8"))["search"])
    assert before == speed_hash(tmp_path)
    (tmp_path / SPEED_FILES[0]).write_text("x = 2\n", encoding="utf-8")
    assert speed_hash(tmp_path) != before
    write_block("search", "| a | b |\n|---|---|\n| 3 | 4 |", readme)
    text = readme.read_text(encoding="utf-8")
    assert text.count("bench:search:start") == 1 and "| 3 | 4 |" in text and "| 1 | 2 |" not in text
    assert recorded_hash(blocks(text)["search"]) == speed_hash(tmp_path)
