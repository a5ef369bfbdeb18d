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
- **Slow logins.** Gradio's `/login` (staff page and, when it has a password, the chat) is
  rate limited: a few free failures, then a wait that doubles with every further failure
  (429 with `Retry-After`, the password unchecked). The body is read as Gradio reads it
  (Starlette's own form parser, url-encoded or multipart as the browser's login form sends
  it; at most `_MAX_LOGIN_BODY` bytes), so the name counted is the name Gradio checks; a
  body with two `username` or two `password` fields is refused (400), so the two can never
  disagree. Failures and successes go to the staff log (`staff_log`), never the password or
  the client address.

  Who can block whom. A user name is public (anyone can type "staff"), so a counter that
  blocks a name is also a way to lock its owner out. Three counters, each blocking only
  what its cause controls:
  - *per client address* (IPv6: per /64): every failure from the address counts; it blocks
    that address only, for every name. One client alone never blocks anybody else.
  - *per user name*: every failure for the name counts, but it blocks the name only once the
    failures came from more than `free_attempts` different addresses: a guessing botnet is
    slowed down as a whole (its total guesses, not each address's), while one address, how
    ever often it fails, cannot lock the name.
  - *per browser that has logged in before*: a successful login sets an HttpOnly cookie
    (`assistant-login-<page>`, an HMAC of the page, the name and a random id under a key
    that lives in this process only). A login attempt carrying a valid one for the name it
    tries is counted on that browser alone and is not held back by the address or name
    counters, so even a botnet hammering the name, or a guesser behind the same office NAT,
    does not lock out a browser the owner has used before (OWASP's "device cookie"). What
    remains: during an attack from many addresses, a browser that never logged in as that
    name (or one from before a restart) waits like the attackers do.
- **Bounded queue.** A job is admitted to a page's queue only while fewer than
  `ASSISTANT_QUEUE_MAX_SIZE` jobs wait, fewer than `ASSISTANT_QUEUE_PER_CLIENT` from its
  address, and its API input is within the bounds `check` sets (`bound_queue`); otherwise it
  is refused at once, so its input is never held in memory while it waits.
- **Bounded connections.** A connection must send its request headers within
  `ASSISTANT_HEADER_TIMEOUT_S`, on its first request and on every keep-alive one
  (`header_timeout_protocol`); uvicorn by itself waits for them for ever.
- **Known hosts.** A request whose `Host` is not one of `ASSISTANT_ALLOWED_HOSTS` (default: the
  configured host and localhost names) is refused with 400 (DNS rebinding).
- **No cross-site logout.** Gradio's `/logout` is a GET; one whose `Sec-Fetch-Site` says another
  site or subdomain sent it is refused.
- **No framing.** Every HTML response carries `Content-Security-Policy: frame-ancestors 'self'`
  and `X-Frame-Options: SAMEORIGIN` (`FRAME_HEADERS`), so no other site can clickjack staff.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from assistant.records import staff_log

log = logging.getLogger(__name__)

STAFF_PREFIX = "/staff"
_SAFE_METHODS = {"GET", "HEAD"}
_LOGOUT_PATHS = {"/logout", STAFF_PREFIX + "/logout"}
_PUBLIC_FILE_ROUTES = ("/gradio_api/upload", "/gradio_api/file=", "/gradio_api/file/", "/file=",
                       "/gradio_api/upload_progress")


def _host_of(origin: str) -> str:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return ""
    return (parts.netloc or "").lower()


def host_name(host: str) -> str:
    """The Host header's name without its port: "Example.dk:7860" -> "example.dk", "[::1]:80" -> "::1"."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


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


# --- login rate limiting ---------------------------------------------------------------------------

@dataclass(kw_only=True)
class _Failures:
    count: int = 0
    blocked_until: float = 0.0
    delay: float = 0.0  # the wait the last failure imposed
    last: float = 0.0
    refusal_logged: bool = False
    sources: set[str] = field(default_factory=set)  # shared keys: the addresses that failed


class LoginLimiter:
    """Wrong-password counter per key (a client address, a browser, a user name).

    `free_attempts` failures cost nothing; each further one blocks the key for 1, 2, 4, ...
    seconds, up to `max_delay_s`. A *shared* key (a user name: anyone can type it) counts
    every failure the same way but blocks only once they came from more than
    `free_attempts` different sources, so no single source can block it. A success clears
    the keys it used. In memory and per process: with several app processes each keeps its
    own count (the bound per process still holds), and a restart forgets. The table is
    capped so a flood of addresses cannot grow memory without limit."""

    MAX_KEYS = 10_000
    MAX_SOURCES = 64  # per shared key: enough to tell "one" from "many"

    def __init__(self, *, free_attempts: int = 3, max_delay_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic):
        self.free = free_attempts
        self.max_delay = max_delay_s
        self.clock = clock
        self._keys: dict[tuple, _Failures] = {}

    def wait_s(self, keys: Iterable[tuple]) -> float:
        """Seconds before another attempt with these keys is allowed (0: now)."""
        now = self.clock()
        waits = [entry.blocked_until - now for key in keys if (entry := self._keys.get(key))]
        return max([0.0, *waits])

    def failed(self, keys: Iterable[tuple], *, shared: Iterable[tuple] = (), source: str = "") -> float:
        """Count a failure on `keys` and on the `shared` keys (from `source`); returns the
        wait it imposes (0 while attempts are free)."""
        now = self.clock()
        self._prune(now)
        wait = 0.0
        for key, is_shared in [*((k, False) for k in keys), *((k, True) for k in shared)]:
            entry = self._keys.setdefault(key, _Failures())
            entry.count += 1
            entry.last = now
            entry.refusal_logged = False
            if is_shared and len(entry.sources) < self.MAX_SOURCES:
                entry.sources.add(source)
            if entry.count > self.free and (not is_shared or len(entry.sources) > self.free):
                entry.delay = min(self.max_delay, 2.0 ** (entry.count - self.free - 1))
                entry.blocked_until = now + entry.delay
                wait = max(wait, entry.delay)
        return wait

    def restart_waits(self, keys: Iterable[tuple]) -> None:
        """Waits run from the answer that reported the failure: a failure is counted before
        the password is checked, and a slow check must not eat into the wait."""
        now = self.clock()
        for key in keys:
            entry = self._keys.get(key)
            if entry is not None and entry.blocked_until > now:
                entry.blocked_until = now + entry.delay

    def first_refusal(self, keys: Iterable[tuple]) -> bool:
        """True once per wait: a flood of refused attempts makes one log line, not thousands."""
        first = False
        for key in keys:
            entry = self._keys.get(key)
            if entry is not None and entry.blocked_until > self.clock() and not entry.refusal_logged:
                entry.refusal_logged = first = True
        return first

    def succeeded(self, keys: Iterable[tuple]) -> None:
        for key in keys:
            self._keys.pop(key, None)

    def _prune(self, now: float) -> None:
        if len(self._keys) < self.MAX_KEYS:
            return
        # Forget keys that have been quiet for longer than the longest wait, oldest first.
        for key, entry in sorted(self._keys.items(), key=lambda kv: kv[1].last):
            if len(self._keys) < self.MAX_KEYS // 2 and now - entry.last < self.max_delay:
                break
            del self._keys[key]


_LOGIN_PATHS = {"/login": "chat", "/login/": "chat", STAFF_PREFIX + "/login": "staff",
                STAFF_PREFIX + "/login/": "staff"}
_MAX_LOGIN_BODY = 16 * 1024


class GuardMiddleware:
    """Pure ASGI (no buffering of streamed answers): origin check, cookies, body caps,
    login limits."""

    def __init__(self, app, *, allowed_origins: Iterable[str], max_body_bytes: int,
                 max_upload_bytes: int, limiter: LoginLimiter | None = None,
                 known_users: Iterable[str] = (), allowed_hosts: Iterable[str] = ("*",)):
        self.app = app
        self.hosts = {h.strip().lower() for h in allowed_hosts if h.strip()}
        self.allowed = [o for o in allowed_origins if o.strip()]
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes
        self.limiter = limiter or LoginLimiter()
        self.known_users = {u for u in known_users if u}
        self._device_key = secrets.token_bytes(32)  # device cookies are valid in this process only

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope.get("method", "GET").upper()
        path = scope.get("path", "")
        origin = headers.get("origin")
        trusted = origin is None or origin_allowed(origin, headers.get("host", ""), self.allowed)
        if "*" not in self.hosts and host_name(headers.get("host", "")) not in self.hosts:
            # DNS rebinding: a page on the attacker's name, resolved to this app's address, is
            # "same origin" to the browser; only the Host header tells. Refused before routing.
            log.warning("refused request for unknown host %r", headers.get("host", "")[:100])
            await _plain(send, 400, "Unknown host. Set ASSISTANT_ALLOWED_HOSTS to the app's public name.")
            return

        if path.rstrip("/") in _LOGOUT_PATHS and headers.get("sec-fetch-site", "same-origin") not in {
                "same-origin", "none"}:
            # Gradio logs out on a GET: a link or <img> on another site (a sibling subdomain
            # included) would end the staff session. The browser says where a request comes from.
            await _plain(send, 403, "Cross-site logout refused.")
            return
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

        upload = staff and path.endswith("/gradio_api/upload")
        limit = self.max_upload if upload else self.max_body
        declared = headers.get("content-length", "")
        if upload and method not in _SAFE_METHODS and not declared.isdigit():
            # An upload cut off mid-stream leaves Gradio's temporary file behind; one that
            # declares its length is refused before a byte is stored, or ends cleanly.
            await _plain(send, 411, "An upload must declare its Content-Length.")
            return
        if declared.isdigit() and int(declared) > limit:
            await _plain(send, 413, f"Request too large (limit {limit // 1024} KB).")
            return

        if method == "POST" and path in _LOGIN_PATHS:
            await self._login(_LOGIN_PATHS[path], scope, receive, send, trusted)
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

        await self.app(scope, bounded_receive if method not in _SAFE_METHODS else receive,
                       _guarded(send, trusted))
        if too_large:
            log.warning("request body over %d bytes cut off: %s %s", limit, method, path)

    async def _login(self, realm: str, scope, receive, send, trusted: bool) -> None:
        """Gradio's login form, counted: refused while this attempt's counters are blocked
        (see the module docstring for which counters an attempt uses)."""
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > _MAX_LOGIN_BODY:
            await _plain(send, 413, "Request too large.")
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > _MAX_LOGIN_BODY:
                await _plain(send, 413, "Request too large.")
                return
            if not message.get("more_body"):
                break
        name = await login_name(scope, body)
        if name is None:
            log.warning("refused a login body that Gradio would read differently or not at all (%s)", realm)
            await _plain(send, 400, "Malformed login form: one username and one password field.")
            return
        known = name if name in self.known_users else None
        client = client_address(scope)
        device_id = self._device_id(realm, name, _cookie(scope, DEVICE_COOKIE + realm))
        if device_id:  # this browser has logged in as `name` before: counted on its own
            own, shared = [(realm, "device", device_id)], []
        else:
            own, shared = [(realm, "client", client)], [(realm, "user", name.lower()[:200])]
        keys = own + shared
        wait = self.limiter.wait_s(keys)
        if wait > 0:
            if self.limiter.first_refusal(keys):
                staff_log.refused(realm, known, wait)
            seconds = max(1, int(wait + 0.999))
            text = f"Too many wrong passwords. Try again in {seconds} s. / For mange forkerte adgangskoder. Prøv igen om {seconds} s."
            data = text.encode("utf-8")
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"retry-after", str(seconds).encode()),
                                    (b"content-length", str(len(data)).encode())]})
            await send({"type": "http.response.body", "body": data})
            return

        # Counted as a failure before the password is checked, with no await between the
        # check above and this: a burst of concurrent guesses cannot all pass the check
        # before the first failure is recorded. A success clears the count again.
        failed_wait = self.limiter.failed(own, shared=shared, source=client)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 0
        inner = _guarded(send, trusted)
        remember = self._device_cookie(realm, name, scope)  # now: the app below rewrites scope's paths

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 200:
                    message = {**message, "headers": [*message.get("headers", []), remember]}
            await inner(message)

        await self.app(scope, replay, watch)
        if status == 200:
            self.limiter.succeeded(keys)
            staff_log.login(realm, known, ok=True)
        elif status in (400, 401):  # Gradio: 400 "Incorrect credentials."
            self.limiter.restart_waits(keys)
            staff_log.login(realm, known, ok=False, wait_s=failed_wait)
        # Anything else (422: a field missing) stays counted: it was an attempt too.

    # A browser that logged in before: "<random id>.<HMAC(page, name, id)>" under a key of this process.

    def _device_mac(self, realm: str, name: str, device_id: str) -> str:
        message = "\x00".join((realm, name, device_id)).encode("utf-8")
        return hmac.new(self._device_key, message, hashlib.sha256).hexdigest()[:32]

    def _device_id(self, realm: str, name: str, cookie: str) -> str:
        """The browser's id when its cookie is valid for this page and name, else ""."""
        device_id, _, mac = cookie.partition(".")
        expected = self._device_mac(realm, name, device_id).encode()
        if not device_id or len(cookie) > 200 or not hmac.compare_digest(mac.encode("utf-8", "replace"), expected):
            return ""
        return device_id

    def _device_cookie(self, realm: str, name: str, scope) -> tuple[bytes, bytes]:
        device_id = secrets.token_urlsafe(12)
        path = scope.get("root_path", "") + (STAFF_PREFIX + "/login" if realm == "staff" else "/login")
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        value = (f"{DEVICE_COOKIE}{realm}={device_id}.{self._device_mac(realm, name, device_id)}; Path={path}; "
                 f"Max-Age={30 * 24 * 3600}; HttpOnly; SameSite=Lax{secure}")
        return b"set-cookie", value.encode("latin-1")


DEVICE_COOKIE = "assistant-login-"


def client_address(scope) -> str:
    """The client's address as the limits count it: IPv4 as is, IPv6 by its /64 (one
    subscriber gets a whole /64, so counting single IPv6 addresses would count nothing)."""
    host = str((scope.get("client") or ("?", 0))[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


async def login_name(scope, body: bytes) -> str | None:
    """The user name of a login request, read exactly as Gradio's `/login` reads it:
    Starlette's form parser (`multipart/form-data` or url-encoded, by the Content-Type), the
    value FastAPI's `OAuth2PasswordRequestForm` takes (`FormData.get`: the last of repeated
    fields), stripped as Gradio strips it. None: a body with a repeated `username` or
    `password` (the limiter and Gradio must never be able to disagree), a file, or one that
    Starlette cannot parse."""
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException
    from starlette.requests import Request

    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request({k: v for k, v in scope.items() if k != "app"}, receive)
    try:
        form = await request.form(max_files=0, max_fields=20, max_part_size=_MAX_LOGIN_BODY)
    except (MultiPartException, HTTPException, ValueError, AssertionError):
        return None
    try:
        for key in ("username", "password"):
            values = form.getlist(key)
            if len(values) > 1 or any(isinstance(v, UploadFile) for v in values):
                return None
        return str(form.get("username") or "").strip()
    finally:
        await form.close()


def _cookie(scope, name: str) -> str:
    from starlette.requests import cookie_parser

    return cookie_parser(_header(scope, b"cookie")).get(name, "")


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


FRAME_HEADERS = ((b"content-security-policy", b"frame-ancestors 'self'"),
                 (b"x-frame-options", b"SAMEORIGIN"))


def no_framing(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Clickjacking: no other site (a sibling subdomain included) may frame a page of this app
    and steer a logged-in user's clicks. Added to every HTML response (chat, staff, /read/) here,
    so no route can forget it; a page's own CSP (the /read/ page) gets `frame-ancestors` added."""
    lower = [(k.decode("latin-1").lower(), v) for k, v in headers]
    if not any(k == "content-type" and b"html" in v.lower() for k, v in lower):
        return headers
    out = []
    for key, value in headers:
        if key.decode("latin-1").lower() == "content-security-policy" and b"frame-ancestors" not in value:
            value = value.rstrip(b"; ") + b"; " + FRAME_HEADERS[0][1]
        out.append((key, value))
    names = {k for k, _ in lower}
    out.extend(header for header in FRAME_HEADERS if header[0].decode() not in names)
    return out


def _guarded(send, trusted: bool):
    """The response as the browser may see it: no CORS grants to a foreign origin, Lax cookies."""

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
            out = no_framing(out)
            message = {**message, "headers": out}
        await send(message)

    return guarded_send


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


# --- who is logged in ------------------------------------------------------------------------------

def gradio_user(gradio_app, request) -> str | None:
    """The user a mounted Gradio app's login cookie belongs to (None: not logged in).
    Mirrors Gradio's own `get_current_user`, so /files/ asks exactly what the chat asks."""
    cookie_id = getattr(gradio_app, "cookie_id", "")
    token = (request.cookies.get(f"access-token-{cookie_id}")
             or request.cookies.get(f"access-token-unsecure-{cookie_id}"))
    return gradio_app.tokens.get(token) if token else None


def mounted_gradio(app, blocks):
    """The Gradio sub-app that serves `blocks` inside a FastAPI app."""
    for route in getattr(app, "routes", []):
        sub = getattr(route, "app", None)
        if sub is not None and callable(getattr(sub, "get_blocks", None)) and sub.get_blocks() is blocks:
            return sub
    raise LookupError("Gradio app not mounted")


def harden_api(gradio_app) -> None:
    """An unknown API name or function number is the caller's mistake: 404 with one log
    line, not a 500 with a traceback (Gradio raises on them)."""
    from fastapi.responses import JSONResponse
    from gradio.route_utils import FnIndexInferError

    async def unknown(request, exc):
        log.info("unknown API call %s: %s", request.url.path[:200], str(exc)[:200])
        return JSONResponse({"error": "No such API endpoint."}, status_code=404)

    gradio_app.add_exception_handler(FnIndexInferError, unknown)
    gradio_app.add_exception_handler(KeyError, unknown)  # fns[fn_index] for a number that does not exist


def bound_queue(blocks, *, max_size: int, per_client: int,
                check: Callable[[str, list], str | None] | None = None) -> None:
    """Admission to a Blocks app's queue, decided before a job is stored.

    Gradio bounds its queue (`queue(max_size=...)`), but checks the size before the awaits
    in its `push` (a validator, a lock), so concurrent joins can pass the check together, and
    it has no bound per client.
    This wraps the queue's `push` (the one door of `/queue/join` and `/call/<api>`) and
    refuses, at once and without storing the input:
    - an input `check(api_name, data)` finds too large (400 with its reason);
    - a job when `max_size` jobs are waiting or being admitted (503, "queue is full");
    - a job from a client address (`client_address`) that has `per_client` waiting (503).
    The counts and the admission happen without an await between them, so a burst of
    concurrent requests cannot overshoot either bound."""
    from collections import Counter

    queue = blocks._queue
    queue.max_size = max_size  # Gradio's own check, behind this one
    push = queue.push
    admitting: Counter[str] = Counter()
    refusals = {"count": 0, "logged": 0.0}

    def refused(why: str) -> None:  # a flood makes one log line per 10 s, not one per job
        refusals["count"] += 1
        if time.monotonic() - refusals["logged"] >= 10:
            log.warning("queue: %d job(s) refused (last: %s)", refusals["count"], why)
            refusals.update(count=0, logged=time.monotonic())

    def waiting() -> list:
        return [event for q in list(queue.event_queue_per_concurrency_id.values()) for event in list(q.queue)]

    async def bounded_push(*, body, request, username):
        fn = blocks.fns.get(body.fn_index) if body.fn_index is not None else None
        problem = check(fn.api_name, body.data) if check and fn is not None and isinstance(fn.api_name, str) else None
        if problem:
            refused(problem[:120])
            return False, problem, "error"
        who = client_address(request.scope)
        queued = waiting()
        if len(queued) + sum(admitting.values()) >= max_size:
            refused(f"{len(queued)} waiting")
            return False, ("The assistant is busy: the queue is full. Try again in a moment. / "
                           "Assistenten har travlt: køen er fuld. Prøv igen om lidt."), "queue_full"
        mine = sum(1 for event in queued if client_address(getattr(event.request, "scope", {})) == who)
        if mine + admitting[who] >= per_client:
            refused(f"{mine + admitting[who]} waiting from one address")
            return False, (f"{per_client} questions from your address are waiting already; wait for an answer. / "
                           f"{per_client} spørgsmål fra din adresse venter allerede; vent på et svar."), "queue_full"
        admitting[who] += 1
        try:
            return await push(body=body, request=request, username=username)
        finally:
            admitting[who] -= 1
            if admitting[who] <= 0:
                del admitting[who]

    queue.push = bounded_push


def drop_upload_copy(temp) -> None:
    """Delete an upload's temporary copy, only if it lies in Gradio's upload cache (a path
    given from anywhere else is never touched)."""
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder()).resolve()
    try:
        path = Path(temp).resolve()
        if cache in path.parents:
            path.unlink(missing_ok=True)
            if path.parent != cache:
                path.parent.rmdir()  # Gradio keeps each upload in its own folder
    except OSError:
        pass  # a folder still in use: Gradio's delete_cache removes it within the hour


# --- connections ------------------------------------------------------------------------------------

def header_timeout_protocol(timeout_s: float):
    """uvicorn's HTTP protocol with a deadline for request headers.

    uvicorn arms no timer until a response has been sent, and cancels its keep-alive timer
    on any byte received, so a client sending one header byte every few seconds holds a
    connection (and a file descriptor) for ever. This subclass closes a connection whose
    headers are not complete `timeout_s` after it opened or after its previous response.
    A request already being answered (a streamed chat answer) is never cut."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:  # httptools is optional in uvicorn
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base

    class HeaderTimeoutProtocol(Base):
        _header_timer: asyncio.TimerHandle | None = None
        _timed_cycle = None

        def _arm(self) -> None:
            self._disarm()
            self._timed_cycle = self.cycle
            self._header_timer = self.loop.call_later(timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.cycle is None or self.cycle.response_complete:
                log.info("closed a connection that sent no complete request headers in %.0f s", timeout_s)
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._header_timer is not None and self.cycle is not None and self.cycle is not self._timed_cycle:
                self._disarm()  # a new request's headers are complete

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol


def uvicorn_options(settings) -> dict:
    """Server options that bound connections; `serve` passes them to `uvicorn.run`."""
    return {
        "http": header_timeout_protocol(settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "h11_max_incomplete_event_size": 64 * 1024,  # header block size (h11 only)
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        # uvicorn's graceful shutdown otherwise waits for every open connection, and a page's
        # event stream stays open as long as the tab does.
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
    }
