"""Every word the pages show lives in `assistant/i18n.py`, in Danish and English alike."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

from assistant.i18n import ALL_TABLES, EXAMPLES, STAFF_TEXT

ROOT = Path(__file__).resolve().parents[1]
# Modules that draw what users read; security.py is owned elsewhere and has its own test.
UI_MODULES = [*sorted((ROOT / "assistant" / "web").glob("*.py")), ROOT / "assistant" / "records" / "casenote.py",
              ROOT / "assistant" / "corpus" / "service.py"]
DANISH = re.compile(r"\w*[æøåÆØÅ]\w*\s+\w+|\w+\s+\w*[æøåÆØÅ]")  # a Danish word in a phrase, not a lone letter


def test_every_table_has_the_same_keys_and_no_empty_text_in_both_languages():
    for name, table in ALL_TABLES.items():
        assert set(table["da"]) == set(table["en"]), name
        assert all(str(v).strip() for lang in ("da", "en") for v in table[lang].values()), name
        # The same placeholders in both languages, so neither ever prints "{title}".
        for key in table["da"]:
            fields = [set(re.findall(r"\{(\w*)\}", table[lang][key])) for lang in ("da", "en")]
            assert fields[0] == fields[1], (name, key)
    assert len(EXAMPLES["da"]) == len(EXAMPLES["en"])


def test_every_status_and_code_the_staff_page_shows_has_words_in_both_languages():
    from assistant.answer.assistant import Status as AnswerStatus
    from assistant.corpus.sync import Action, Status
    from assistant.web.uploads import RefusalCode

    for lang in ("da", "en"):
        s = STAFF_TEXT[lang]
        assert all(f"status_{x}" in s for x in get_args(Status))
        assert all(f"action_{x}" in s for x in get_args(Action))
        assert all(f"answer_{x}" in s for x in get_args(AnswerStatus))
        assert all(f"r_{x}" in s for x in get_args(RefusalCode))
    assert STAFF_TEXT["da"]["status_added"] != "added" and STAFF_TEXT["da"]["h_chunks"] != "bidder"


def test_no_module_but_i18n_holds_danish_text_and_the_corpus_service_holds_no_ui_text():
    offenders = []
    for path in UI_MODULES:
        if path.name in {"i18n.py", "security.py"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and DANISH.search(node.value)):
                offenders.append(f"{path.name}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []
    corpus = (ROOT / "assistant" / "corpus" / "service.py").read_text(encoding="utf-8")
    assert "assistant.web" not in corpus
