"""Answers, votes and comments in SQLite (in the data folder), and the gaps they reveal."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time
from pathlib import Path

from .answer import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    mode TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    language TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id INTEGER NOT NULL REFERENCES answers(id),
    created_at TEXT NOT NULL,
    value INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS answers_abstained ON answers(abstained, id);
"""


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


class FeedbackStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def record_answer(self, answer: Answer) -> int:
        citations = json.dumps([c.__dict__ for c in answer.citations], ensure_ascii=False)
        with self._lock, self._connect() as db:
            cur = db.execute(
                "INSERT INTO answers (created_at, question, answer, citations, mode, abstained, language)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), answer.question, answer.answer, citations, answer.mode, int(answer.abstained),
                 answer.language),
            )
            return int(cur.lastrowid)

    def vote(self, answer_id: int, value: int, comment: str = "") -> None:
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO votes (answer_id, created_at, value, comment) VALUES (?, ?, ?, ?)",
                (answer_id, _now(), 1 if value > 0 else -1, (comment or "").strip()[:2000]),
            )

    def comment(self, answer_id: int, comment: str) -> None:
        """Attach a comment to the latest vote on an answer (or record it without a vote)."""
        with self._lock, self._connect() as db:
            row = db.execute("SELECT id FROM votes WHERE answer_id=? ORDER BY id DESC LIMIT 1", (answer_id,)).fetchone()
            if row:
                db.execute("UPDATE votes SET comment=? WHERE id=?", (comment.strip()[:2000], row[0]))
            else:
                db.execute("INSERT INTO votes (answer_id, created_at, value, comment) VALUES (?, ?, 0, ?)",
                           (answer_id, _now(), comment.strip()[:2000]))

    def latest_feedback(self, limit: int = 100) -> list[dict]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT v.created_at AS time, CASE v.value WHEN 1 THEN 'up' WHEN -1 THEN 'down' ELSE '' END AS vote,"
                " v.comment, a.question, a.answer, a.mode, a.citations FROM votes v JOIN answers a"
                " ON a.id = v.answer_id ORDER BY v.id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def gaps(self, limit: int = 100) -> list[dict]:
        """Questions the assistant abstained on, newest first: what the corpus lacks."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT created_at AS time, question, language FROM answers WHERE abstained=1"
                " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def export_csv(self, folder: Path) -> Path:
        """Votes, comments and abstained questions as one CSV file."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["kind", "time", "vote", "comment", "question", "answer", "mode", "citations"])
        for row in self.latest_feedback(10_000):
            writer.writerow(["feedback", row["time"], row["vote"], row["comment"], row["question"],
                             row["answer"], row["mode"], row["citations"]])
        for row in self.gaps(10_000):
            writer.writerow(["abstained", row["time"], "", "", row["question"], "", "", ""])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"feedback-{time.strftime('%Y%m%d-%H%M%S')}.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8-sig")
        return path
