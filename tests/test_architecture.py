"""The house: a package per stage, data flowing one way, and README's map naming every module.

A newcomer finds each concern in one obvious place only while README's module map matches the
tree (as Datasette checks its settings table) and no stage reaches back to a later one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "assistant"

# The stages in the order data flows through them; a module may import its own stage or an
# earlier one, never a later one (files -> sections -> chunks -> store -> retrieval -> answer -> UI).
STAGES = ["config", "i18n", "text", "ingest", "store", "corpus", "retrieval", "answer", "records",
          "evaluation", "services", "web", "cli"]


def _modules() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.name == "__init__.py":
            continue
        found.append(rel.as_posix())
    return found


def _stage(module: str) -> str:
    return module.split("/")[0].removesuffix(".py")


def _readme_map() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- modules:start -->(.*?)<!-- modules:end -->", text, re.S)
    assert match, "README.md has no module map between <!-- modules:start --> and <!-- modules:end -->"
    return match.group(1)


def test_readme_names_every_module_and_no_missing_one():
    table = _readme_map()
    named = set(re.findall(r"`([a-z0-9_]+(?:/[a-z0-9_]+)*\.py)`", table))
    modules = set(_modules())
    assert not modules - named, f"modules README's architecture section does not name: {sorted(modules - named)}"
    assert not named - modules, f"README names modules that do not exist: {sorted(named - modules)}"


def test_every_stage_is_known():
    unknown = {_stage(m) for m in _modules()} - set(STAGES)
    assert not unknown, f"packages not placed in the data flow (tests/test_architecture.py STAGES): {unknown}"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("assistant"):
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(a.name for a in node.names if a.name.startswith("assistant"))
    return names


def test_data_flows_one_way_between_stages():
    backwards = []
    for module in _modules():
        own = STAGES.index(_stage(module))
        for imported in _imports(PACKAGE / module):
            parts = imported.split(".")
            if len(parts) < 2:
                continue
            target = parts[1]
            if target in STAGES and STAGES.index(target) > own:
                backwards.append(f"{module} imports {imported}")
    assert not backwards, "a stage imports a later one:\n" + "\n".join(backwards)


# --- one owner per rule: a grep a reviewer can repeat -------------------------------------------

ONE_OWNER = {
    # what: (the pattern that writes the rule again, its one owner)
    "sentence splitter": (re.compile(r"\(\?<=\[\.!\?\]\)"), {"text/sentences.py"}),
    "citation-marker pattern": (re.compile(r"\\\[\(\\d"), {"text/lexicon.py"}),
    "official (https) URL rule": (re.compile(r"https://\[\\w"), {"text/lexicon.py"}),
    "language -> jurisdiction map": (re.compile(r"[\"']da[\"']\s*:\s*[\"']DK[\"']"), {"text/lexicon.py"}),
    "jurisdiction policy": (re.compile(r"^(?:OTHER_COUNTRY|NEIGHBOUR_COUNTRY|OWN_COUNTRY_BOOST)\s*=", re.M),
                            {"retrieval/jurisdiction.py"}),
}


def test_each_shared_rule_is_written_in_one_module_only():
    for what, (pattern, owners) in ONE_OWNER.items():
        found = {m for m in _modules() if pattern.search((PACKAGE / m).read_text(encoding="utf-8"))}
        assert found <= owners, f"the {what} is written again in {sorted(found - owners)} (owner: {owners})"


def test_user_facing_tables_live_in_i18n_only():
    # The pages' and the note's words (Danish and English) and the answers' own sentences (da,
    # nb, en) are tables in i18n.py; tests/test_i18n.py checks the pages' modules for Danish phrases.
    table = re.compile(r"^[A-Z_]+(?:TEXT|MESSAGES|LABELS)\s*(?::[^=]+)?=\s*\{", re.M)
    found = {m for m in _modules() if table.search((PACKAGE / m).read_text(encoding="utf-8"))}
    assert found <= {"i18n.py"}, sorted(found)


# Tests that concern the whole house (the module map, the settings table, the string tables of
# i18n.py) sit at the top of tests/; every other test file lives in the folder named after the
# package it tests, so a newcomer finds a module's tests where the module is.
TOP_LEVEL_TESTS = {"test_architecture.py", "test_settings.py", "test_i18n.py"}


def test_tests_mirror_the_packages():
    tests = ROOT / "tests"
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    stray = {p.name for p in tests.glob("test_*.py")} - TOP_LEVEL_TESTS
    assert not stray, f"test files outside a package folder of tests/: {sorted(stray)}"
    folders = {p.name for p in tests.iterdir() if p.is_dir() and list(p.glob("test_*.py"))}
    assert folders <= packages, f"tests/ folders with no package of that name: {sorted(folders - packages)}"
    assert packages - {"data"} <= folders, f"packages without tests/<package>/: {sorted(packages - folders)}"
