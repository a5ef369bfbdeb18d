"""The app's own HTTP guard, in front of FastAPI and both mounted Gradio apps.

Invariants it owns (one place, whatever Gradio's own middleware does underneath):
- **Origins.** A request carrying an `Origin` that is neither the app's own origin (the
  `Host` it was sent to) nor in `ASSISTANT_ALLOWED_ORIGINS` never changes state: preflights
  and non-GET requests are refused with 403, and no `Access-Control-Allow-*` header ever
  reaches such an origin, so a page on another site cannot read staff data either.
  Gradio echoes any origin with credentials when the host is not localhost; this is why.
- **Cookies.** Gradio's login cookies are sent `SameSite=None`; they are rewritten to
  `SameSite=Lax`, so a cross-site form or fetch carries no staff session.
- **Bounded bodies.** Every request body is capped (`ASSISTANT_MAX_REQUEST_KB`); only the
  staff upload route may carry a file, up to the ingest limit (`ASSISTANT_MAX_FILE_MB`).
- **No public file routes.** The public chat has no file components: its upload and
  `file=` routes are refused, so nobody can store files anonymously or fetch a staff
  upload or export through the public app.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

STAFF_PREFIX = "/staff"
_SAFE_METHODS = {"GET", "HEAD"}
_PUBLIC_FILE_ROUTES = ("/gradio_api/upload", "/gradio_api/file=", "/gradio_api/file/", "/file=",
                       "/gradio_api/upload_progress")


def _host_of(origin: str) -> str:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return ""
    return (parts.netloc or "").lower()


def origin_allowed(origin: str, host: str, allowed: Iterable[str]) -> bool:
    """Same-origin (the Origin's host:port is the Host the request was sent to) or listed."""
    origin = origin.strip().rstrip("/").lower()
    if not origin or origin == "null":
        return False
    if host and _host_of(origin) == host.strip().lower():
        return True
    return origin in {a.strip().rstrip("/").lower() for a in allowed if a.strip()}


def lax_cookie(value: bytes) -> bytes:
    """`SameSite=None` (any case) becomes `SameSite=Lax`; a cookie without one gets Lax."""
    text = value.decode("latin-1")
    parts = [p.strip() for p in text.split(";")]
    parts = [p for p in parts if not p.lower().startswith("samesite=")]
    parts.append("SameSite=Lax")
    return "; ".join(parts).encode("latin-1")


class GuardMiddleware:
    """Pure ASGI (no buffering of streamed answers): origin check, cookies, body caps."""

    def __init__(self, app, *, allowed_origins: Iterable[str], max_body_bytes: int,
                 max_upload_bytes: int):
        self.app = app
        self.allowed = [o for o in allowed_origins if o.strip()]
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope.get("method", "GET").upper()
        path = scope.get("path", "")
        origin = headers.get("origin")
        trusted = origin is None or origin_allowed(origin, headers.get("host", ""), self.allowed)

        if not trusted and (method not in _SAFE_METHODS):
            log.warning("refused cross-site %s %s from origin %r", method, path, origin[:200])
            await _plain(send, 403, "Cross-site request refused.")
            return
        staff = path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")
        if not staff and any(path.startswith(route) for route in _PUBLIC_FILE_ROUTES):
            await _plain(send, 404, "Not found.")
            return
        if path == STAFF_PREFIX:  # /staff and /staff/ are the same page
            await _redirect(send, STAFF_PREFIX + "/")
            return

        limit = self.max_upload if staff and path.endswith("/gradio_api/upload") else self.max_body
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _plain(send, 413, f"Request too large (limit {limit // 1024} KB).")
            return

        received = 0
        too_large = False

        async def bounded_receive():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    # Ends the body here; the app sees a disconnect, not a huge payload.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if message["type"] == "http.response.start":
                out = []
                for key, value in message.get("headers", []):
                    name = key.decode("latin-1").lower()
                    if name.startswith("access-control-allow-") and not trusted:
                        continue
                    if name == "set-cookie":
                        value = lax_cookie(value)
                    out.append((key, value))
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, bounded_receive if method not in _SAFE_METHODS else receive, guarded_send)
        if too_large:
            log.warning("request body over %d bytes cut off: %s %s", limit, method, path)


async def _plain(send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send, location: str) -> None:
    await send({"type": "http.response.start", "status": 307,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


# --- inert rendering ------------------------------------------------------------------------------

_MD_LINK = re.compile(r"(?<!!)\[([^\]\n]{0,300})\]\(\s*([^)\s]{0,2000})(?:\s+\"[^\"]*\")?\s*\)")
_MD_IMAGE = re.compile(r"!\[([^\]\n]{0,300})\]\([^)]*\)")


def inert_markdown(text: str, allowed_links: Iterable[str] = ()) -> str:
    """A model's Markdown made safe to render: no raw HTML (so no <img>, <form> or script),
    no images (a fetch is an exfiltration channel), links only to the app's own /files/ and
    the given official URLs; anything else keeps its text and loses its link."""
    allowed = {a.strip() for a in allowed_links if a.strip()}
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = _MD_IMAGE.sub(lambda m: m.group(1), text)

    def link(m: re.Match) -> str:
        label, url = m.group(1), m.group(2)
        if url.startswith("/files/") and ".." not in url or url in allowed:
            return m.group(0)
        return label

    return _MD_LINK.sub(link, text)
