"""Answers, votes and comments in SQLite (in the data folder), and the gaps they reveal.

Rules this module keeps:
- Logging never breaks answering: a failed write (disk full, locked or read-only database)
  is logged as a warning, the method returns None and `last_error()` tells staff why.
- Nothing personal is stored: questions, answers, comments and citations go through
  `privacy.mask_personal_data` first (CPR, fødselsnummer, e-mail, phone numbers).
- Rows older than `retention_days` are deleted at start-up and by `purge_old()`.
- CSV exports cannot carry spreadsheet formulas, and old exports are deleted.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import io
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

from assistant.answer.assistant import Answer, Status
from assistant.records.privacy import mask_personal_data, mask_value

log = logging.getLogger(__name__)

STATUSES: tuple[Status, ...] = get_args(Status)
GAP_STATUSES: tuple[Status, ...] = ("abstained", "weak")
EXPORT_MAX_AGE_SECONDS = 3600
MAX_COMMENT_CHARS = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    mode TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id INTEGER NOT NULL REFERENCES answers(id),
    created_at TEXT NOT NULL,
    value INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS answers_abstained ON answers(abstained, id);
CREATE INDEX IF NOT EXISTS answers_created ON answers(created_at);
CREATE INDEX IF NOT EXISTS votes_answer ON votes(answer_id);
"""

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FeedbackUnavailable(Exception):
    """The feedback database cannot be used at all; the message says what to do."""


def _now() -> str:
    return time.strftime(TIME_FORMAT)


def answer_status(answer: Answer) -> Status:
    """The answer's own `status` when it has one, else derived from `error` / `abstained`."""
    status = getattr(answer, "status", None)
    if isinstance(status, str) and status in STATUSES:
        if status == "answered" and getattr(answer, "abstained", False):
            return "abstained"  # a default status left on an abstention: it is still a gap
        return status
    if getattr(answer, "error", ""):
        return "error"
    return "abstained" if getattr(answer, "abstained", False) else "answered"


def csv_safe(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (=, +, -, @, tab, CR)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def describe_error(exc: BaseException, folder: Path) -> str:
    """A short message staff can act on."""
    text = str(exc).lower()
    code = getattr(exc, "errno", None)
    if "disk is full" in text or "disk full" in text or code == errno.ENOSPC:
        return "disk full: feedback is not being saved"
    if "readonly" in text or "read-only" in text or code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"the data folder {folder} is read-only: feedback is not being saved "
                "(give the app write access or set ASSISTANT_DATA_DIR)")
    if "locked" in text or "busy" in text:
        return "the feedback database is busy (locked by another process): feedback was not saved"
    if "unable to open" in text:
        return (f"the feedback database in {folder} cannot be opened: feedback is not being saved "
                "(check the folder exists and the app may write to it, or set ASSISTANT_DATA_DIR)")
    return f"feedback is not being saved: {type(exc).__name__}: {exc}"


class FeedbackStore:
    """Feedback in `path` (SQLite). Raises FeedbackUnavailable when the folder cannot be used.

    retention_days: answers and votes older than this are deleted at start-up and by
    `purge_old()`; None keeps everything.
    """

    def __init__(self, path: Path, retention_days: int | None = 180):
        if retention_days is not None and retention_days < 1:
            raise ValueError("retention_days must be at least 1 (or None to keep everything)")
        self.path = Path(path)
        self.folder = self.path.parent
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._error = ""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FeedbackUnavailable(self._unusable(exc)) from exc
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise FeedbackUnavailable(
                f"the data folder {self.folder} is read-only: give the app write access or set ASSISTANT_DATA_DIR"
            )
        try:
            with self._db() as db:
                db.executescript(SCHEMA)
                self._migrate(db)
        except (sqlite3.Error, OSError) as exc:
            raise FeedbackUnavailable(self._unusable(exc)) from exc
        self.purge_old()

    def _unusable(self, exc: BaseException) -> str:
        message = describe_error(exc, self.folder)
        if message.startswith("the data folder") and "read-only" in message:
            return (f"the data folder {self.folder} is read-only: give the app write access "
                    "or set ASSISTANT_DATA_DIR")
        if message.startswith("disk full"):
            return (f"the disk holding the data folder {self.folder} is full: free some space "
                    "or set ASSISTANT_DATA_DIR to a folder on another disk")
        return (f"feedback database {self.path} cannot be used ({exc}): check the data folder "
                "or set ASSISTANT_DATA_DIR")

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        columns = {row[1] for row in db.execute("PRAGMA table_info(answers)")}
        if "status" not in columns:
            db.execute("ALTER TABLE answers ADD COLUMN status TEXT NOT NULL DEFAULT ''")
        db.execute("UPDATE answers SET status = CASE WHEN abstained=1 THEN 'abstained' ELSE 'answered' END"
                   " WHERE status = ''")
        db.execute("CREATE INDEX IF NOT EXISTS answers_status ON answers(status, id)")

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One connection per call, committed on success and always closed."""
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=OFF")
            with db:
                yield db
        finally:
            db.close()

    # --- health ----------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        """False while the latest read or write failed (see `last_error()`)."""
        return not self._error

    def last_error(self) -> str:
        """"" when feedback is being saved, else a short message for staff."""
        return self._error

    def _failed(self, action: str, exc: BaseException) -> None:
        self._error = describe_error(exc, self.folder)
        expected = isinstance(exc, (sqlite3.Error, OSError))
        log.warning("feedback %s failed (%s): %s", action, self.path, exc, exc_info=not expected)

    # --- writes (never raise) --------------------------------------------------------------

    def record_answer(self, answer: Answer) -> int | None:
        """Row id of the stored answer, or None when it could not be stored."""
        try:
            citations = json.dumps(
                [mask_value(dict(c.__dict__)) for c in getattr(answer, "citations", []) or []],
                ensure_ascii=False, default=str,
            )
            row = (
                _now(),
                mask_personal_data(str(answer.question or "")),
                mask_personal_data(str(answer.answer or "")),
                citations,
                str(answer.mode or ""),
                int(bool(answer.abstained)),
                str(answer.language or ""),
                answer_status(answer),
            )
            with self._lock, self._db() as db:
                cur = db.execute(
                    "INSERT INTO answers (created_at, question, answer, citations, mode, abstained, language,"
                    " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
                answer_id = int(cur.lastrowid)
        except Exception as exc:  # noqa: BLE001 - logging must never break answering
            self._failed("record_answer", exc)
            return None
        self._error = ""
        return answer_id

    def vote(self, answer_id: int | None, value: int, comment: str = "") -> None:
        if answer_id is None:  # the answer itself was not stored
            return None
        text = mask_personal_data((comment or "").strip()[:MAX_COMMENT_CHARS])
        try:
            with self._lock, self._db() as db:
                db.execute(
                    "INSERT INTO votes (answer_id, created_at, value, comment) VALUES (?, ?, ?, ?)",
                    (int(answer_id), _now(), 1 if value > 0 else -1, text),
                )
        except Exception as exc:  # noqa: BLE001 - logging must never break answering
            self._failed("vote", exc)
            return None
        self._error = ""
        return None

    def comment(self, answer_id: int | None, comment: str) -> None:
        """Attach a comment to the latest vote on an answer (or record it without a vote)."""
        if answer_id is None:
            return None
        text = mask_personal_data((comment or "").strip()[:MAX_COMMENT_CHARS])
        try:
            with self._lock, self._db() as db:
                row = db.execute("SELECT id FROM votes WHERE answer_id=? ORDER BY id DESC LIMIT 1",
                                 (int(answer_id),)).fetchone()
                if row:
                    db.execute("UPDATE votes SET comment=? WHERE id=?", (text, row[0]))
                else:
                    db.execute("INSERT INTO votes (answer_id, created_at, value, comment) VALUES (?, ?, 0, ?)",
                               (int(answer_id), _now(), text))
        except Exception as exc:  # noqa: BLE001 - logging must never break answering
            self._failed("comment", exc)
            return None
        self._error = ""
        return None

    def purge_old(self) -> int:
        """Delete answers (with their votes) and votes older than retention_days; returns
        the number of answers deleted (0 on failure, see `last_error()`)."""
        if self.retention_days is None:
            return 0
        cutoff = (dt.datetime.now() - dt.timedelta(days=self.retention_days)).strftime(TIME_FORMAT)
        try:
            with self._lock, self._db() as db:
                db.execute("DELETE FROM votes WHERE created_at < ? OR answer_id IN"
                           " (SELECT id FROM answers WHERE created_at < ?)", (cutoff, cutoff))
                deleted = db.execute("DELETE FROM answers WHERE created_at < ?", (cutoff,)).rowcount
        except Exception as exc:  # noqa: BLE001 - logging must never break answering
            self._failed("purge", exc)
            return 0
        if deleted:
            log.info("feedback: deleted %d answer(s) older than %d days", deleted, self.retention_days)
        return int(deleted)

    # --- reads (never raise) ---------------------------------------------------------------

    def _rows(self, action: str, sql: str, params: tuple) -> list[dict]:
        try:
            with self._db() as db:
                db.row_factory = sqlite3.Row
                return [dict(r) for r in db.execute(sql, params).fetchall()]
        except Exception as exc:  # noqa: BLE001 - logging must never break answering
            self._failed(action, exc)
            return []

    def latest_feedback(self, limit: int = 100) -> list[dict]:
        return self._rows(
            "latest_feedback",
            "SELECT v.created_at AS time, CASE v.value WHEN 1 THEN 'up' WHEN -1 THEN 'down' ELSE '' END AS vote,"
            " v.comment, a.question, a.answer, a.mode, a.citations FROM votes v JOIN answers a"
            " ON a.id = v.answer_id ORDER BY v.id DESC LIMIT ?", (limit,))

    def gaps(self, limit: int = 100) -> list[dict]:
        """Questions the assistant abstained on or answered weakly, newest first: what the
        corpus lacks. Each row: time, question, language, status. [] when unreadable."""
        marks = ",".join("?" * len(GAP_STATUSES))
        return self._rows(
            "gaps",
            "SELECT created_at AS time, question, language, status FROM answers"
            f" WHERE status IN ({marks}) OR (status = '' AND abstained = 1) ORDER BY id DESC LIMIT ?",
            (*GAP_STATUSES, limit))

    # --- export ----------------------------------------------------------------------------

    def export_csv(self, folder: Path) -> Path:
        """Votes, comments and gap questions as one CSV file (formula-safe). Export files
        older than an hour in `folder` are deleted first. Raises OSError if it cannot write."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["kind", "time", "vote", "comment", "question", "answer", "mode", "citations"])
        for row in self.latest_feedback(10_000):
            writer.writerow([csv_safe(v) for v in ("feedback", row["time"], row["vote"], row["comment"],
                                                   row["question"], row["answer"], row["mode"],
                                                   row["citations"])])
        for row in self.gaps(10_000):
            writer.writerow([csv_safe(v) for v in (row["status"] or "abstained", row["time"], "", "",
                                                   row["question"], "", "", "")])
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        remove_old_exports(folder)
        path = folder / f"feedback-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.csv"
        temp = path.with_suffix(".csv.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
                fh.write(buffer.getvalue())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        return path


def remove_old_exports(folder: Path, max_age: float = EXPORT_MAX_AGE_SECONDS) -> int:
    """Delete feedback export files in `folder` older than max_age seconds."""
    removed = 0
    limit = time.time() - max_age
    for pattern in ("feedback-*.csv", "feedback-*.csv.tmp"):
        for old in folder.glob(pattern):
            try:
                if old.is_file() and not old.is_symlink() and old.stat().st_mtime < limit:
                    old.unlink()
                    removed += 1
            except OSError as exc:
                log.warning("could not delete old export %s: %s", old, exc)
    return removed
