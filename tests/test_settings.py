"""Settings have one source of truth (assistant/config.py): README's table and `.env.example`
list exactly those settings, each with the default the code uses."""

from __future__ import annotations

import re

from assistant.config import Settings, env_example, env_name, settings_table, shown_default
from tests.conftest import ROOT

FIX = ("regenerate with `python -m assistant.cli settings --markdown` (README) or "
       "`python -m assistant.cli settings --env > .env.example`")


def documented() -> dict[str, str]:
    return {env_name(name): shown_default(name) for name in Settings.model_fields}


def readme_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| variable | default | meaning |"):].split("\n\n")[0]
    rows = {}
    for line in table.splitlines()[2:]:
        variable, default = (cell.strip() for cell in line.strip("|").split("|")[:2])
        rows[variable.strip("`")] = "" if default == "–" else default.strip("`")
    return rows


def env_example_lines() -> dict[str, tuple[str, bool]]:
    """VAR -> (value, commented out) for every assignment in `.env.example`."""
    found = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]+)=(.*)", line.strip())
        if match:
            found[match.group(2)] = (match.group(3).strip(), bool(match.group(1)))
    return found


def test_every_setting_has_a_description():
    missing = [name for name, info in Settings.model_fields.items() if not (info.description or "").strip()]
    assert not missing, f"settings without a description in assistant/config.py: {missing}"


def test_readme_table_lists_every_setting_with_its_default():
    rows, truth = readme_rows(), documented()
    assert not set(rows) - set(truth), f"README lists settings that do not exist: {set(rows) - set(truth)}; {FIX}"
    assert not set(truth) - set(rows), f"README misses settings: {set(truth) - set(rows)}; {FIX}"
    wrong = {v: (rows[v], truth[v]) for v in truth if rows[v] != truth[v]}
    assert not wrong, f"README shows other defaults (README, code): {wrong}; {FIX}"


def test_env_example_lists_every_setting_with_its_default():
    lines, truth = env_example_lines(), documented()
    assert not set(lines) - set(truth), f".env.example sets unknown settings: {set(lines) - set(truth)}; {FIX}"
    assert not set(truth) - set(lines), f".env.example misses settings: {set(truth) - set(lines)}; {FIX}"
    # A setting with a default must show it; one without may show an example value.
    wrong = {v: (lines[v][0], truth[v]) for v in truth if truth[v] and lines[v][0] != truth[v]}
    assert not wrong, f".env.example shows other defaults (file, code): {wrong}; {FIX}"


def test_the_generated_table_and_env_example_are_what_the_files_hold():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme, FIX
    assert env_example() == (ROOT / ".env.example").read_text(encoding="utf-8"), FIX


def test_the_glossary_setting_is_read_from_settings_not_the_process_environment(tmp_path, monkeypatch):
    from assistant.text.glossary import default_glossary

    glossary = tmp_path / "glossary.yaml"
    glossary.write_text("concepts:\n  - id: droner\n    da: [havnedrone]\n    en: [harbour drone]\n",
                        encoding="utf-8")
    (tmp_path / ".env").write_text(f"ASSISTANT_GLOSSARY={glossary}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # a `.env` in the working folder, as in a deployment
    monkeypatch.delenv("ASSISTANT_GLOSSARY", raising=False)
    from assistant import config

    config.get_settings.cache_clear()
    default_glossary.cache_clear()
    try:
        assert Settings().glossary == glossary
        assert [c.id for c, _ in default_glossary().match("Hvad koster en havnedrone?")] == ["droner"]
    finally:
        config.get_settings.cache_clear()
        default_glossary.cache_clear()
