"""The staff audit log: who did what to which document, and failed logins.

Invariants:
- One line per staff action or login event, on the `assistant.staff` logger: it reaches
  stderr with the app's other logs and, once `configure()` has run, a daily file in the data
  folder (`staff-actions.log`, rotated at midnight, kept for `ASSISTANT_FEEDBACK_RETENTION_DAYS`
  days, the same storage limit as feedback).
- No personal data beyond the staff user name: no client addresses, no passwords, no
  questions. A failed login names the user only when it is the configured staff (or chat)
  user; anything else typed into the name field (it may be a mistyped password or a
  person's e-mail) is logged as "an unknown user name".
"""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("assistant.staff")
log.setLevel(logging.INFO)
LOG_FILE = "staff-actions.log"


def configure(data_dir: Path, retention_days: int) -> Path | None:
    """Add the rotating file (idempotent). A data folder that cannot be written leaves
    the log on stderr only, with one warning: auditing never stops the app."""
    path = Path(data_dir) / LOG_FILE
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path.resolve():
            return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.TimedRotatingFileHandler(
            path, when="midnight", backupCount=max(1, retention_days), encoding="utf-8", utc=True)
    except OSError as exc:
        log.warning("staff log stays on stderr only: cannot write %s (%s)", path, exc.strerror or exc)
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                           datefmt="%Y-%m-%dT%H:%M:%S%z"))
    log.addHandler(handler)
    return path


def _clean(value: str, limit: int = 300) -> str:
    # One event, one line: a newline in a file name must not forge a second entry.
    return " ".join(str(value).split())[:limit]


def action(user: str | None, what: str, documents: Iterable[str] = (), detail: str = "") -> None:
    """`user` did `what` (upload, delete, resync, feedback_export, ...) to `documents`."""
    docs = ", ".join(_clean(d, 200) for d in documents)
    log.info("staff action: user=%s action=%s%s%s", _clean(user or "?", 100), _clean(what, 50),
             f" documents=[{docs}]" if docs else "", f" ({_clean(detail)})" if detail else "")


def login(realm: str, user: str | None, ok: bool, wait_s: float = 0.0) -> None:
    """A login on the staff page or the chat; `user` None means a name that is not ours."""
    who = _clean(user, 100) if user else "an unknown user name"
    if ok:
        log.info("login: page=%s user=%s", realm, who)
    elif wait_s:
        log.warning("failed login: page=%s user=%s; further attempts wait %.0f s", realm, who, wait_s)
    else:
        log.warning("failed login: page=%s user=%s", realm, who)


def refused(realm: str, user: str | None, wait_s: float) -> None:
    who = _clean(user, 100) if user else "an unknown user name"
    log.warning("login refused (too many failures): page=%s user=%s; retry in %.0f s", realm, who, wait_s)
