"""README's generated performance blocks: written by the benchmarks, checked by a fast test.

Each block sits between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` and opens
with a line naming the commit, the date, the machine's load and `speed-code <hash>`: a hash
of the files whose change moves the measured speed (`SPEED_FILES`). tests/evaluation/test_bench_readme.py
fails when README's hash differs from the current code's, so no figure outlives the code it
measured. Only the hot path's files are hashed: a change to a word list or a boost factor
elsewhere in retrieval does not make the figures stale, and a release does not wait for a
benchmark after every such change.

The block format has one owner, `assistant/evaluation/readme.py`, shared with the quality
blocks `make eval` writes; this module names the benchmarks' kind of block.
"""

from __future__ import annotations

from pathlib import Path

from assistant.evaluation import readme as generated
from assistant.evaluation.readme import README, ROOT  # noqa: F401  (re-exported for the benchmarks and tests)

SPEED_FILES = generated.SPEED.files
# Which command writes each block (the test's message names it).
COMMANDS = {"search": "make bench-search", "growth": "make bench-growth", "embeddings": "make bench-embeddings"}


def speed_hash(root: Path = ROOT) -> str:
    """A hash of the hot path's files as they are in the working tree (line endings as stored)."""
    return generated.code_hash(generated.SPEED, root)


def blocks(text: str) -> dict[str, str]:
    """Every generated performance block in `text`: name -> its body."""
    return generated.blocks(generated.SPEED, text)


def recorded_hash(body: str) -> str | None:
    return generated.recorded_hash(generated.SPEED, body)


def provenance(root: Path = ROOT) -> str:
    return generated.provenance(generated.SPEED, root)


def write_block(name: str, body: str, readme: Path = README) -> None:
    """Replace (or append at the end of README) the block `name`."""
    generated.write_block(generated.SPEED, name, body, readme)
