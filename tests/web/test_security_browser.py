"""Cross-site attack on the staff API in a real browser, against the real app behind TLS.

The setting the guard (assistant/security.py) exists for: the app runs on a real hostname
over HTTPS, a staff member is logged in, and then opens a page on another site whose script
calls the staff API with `credentials: "include"`. Gradio on its own echoes any origin with
credentials when the host is not localhost, and sends its login cookie `SameSite=None`, so
without the guard that page can read the inventory and delete documents.

Two attacker pages are opened: a sibling subdomain (`evil.example.test`: same site, other
origin, so the cookie is sent and only the origin check stands in the way) and another site
(`attacker.test`; Debian's Chromium sends it no staff cookie even without the guard).
Hostnames map to 127.0.0.1 inside Chromium; one self-signed certificate covers them all.

`SECURITY_TEST_UNGUARDED=1` serves the app without GuardMiddleware; the test must then fail
(it did: the evil.example.test page read /staff/gradio_api/info and the inventory, and its
delete call removed markedsdialog.md from the corpus folder).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, store_env
from tests.helpers import free_port
from tests.web.test_app import NOTE, STAFF

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
OPENSSL = shutil.which("openssl")
APP_HOST = "staff.example.test"
SIBLING_HOST = "evil.example.test"  # same site (example.test), other origin
OTHER_SITE_HOST = "attacker.test"  # another site altogether

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium found (install Debian's `chromium`)"),
    pytest.mark.skipif(OPENSSL is None, reason="openssl not found (needed for the test certificate)"),
]

LAUNCHER = """
import os, sys
import uvicorn
from assistant.config import Settings
from assistant.corpus.service import sync
from assistant.web.app import Services, create_app

port, key, cert = int(sys.argv[1]), sys.argv[2], sys.argv[3]
settings = Settings(_env_file=None)
services = Services.build(settings)
sync(services.store, settings, [settings.corpus_dir], wait=60)
app = create_app(services)
if os.environ.get("SECURITY_TEST_UNGUARDED"):
    app = getattr(app, "app", app)  # GuardMiddleware keeps the app it wraps as .app
uvicorn.run(app, host="127.0.0.1", port=port, ssl_keyfile=key, ssl_certfile=cert, log_level="warning")
"""

# The attacker's script: read staff data, then delete a document, all with the staff cookie.
EVIL_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Free procurement tips</title></head>
<body><h1>Free procurement tips</h1><pre id="out"></pre>
<script>
const APP = "__APP__";
const out = {};
async function attempt(name, path, options) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 10000);
  try {
    const r = await fetch(APP + path, {credentials: "include", signal: abort.signal, ...options});
    let body;
    try { body = await r.text(); } catch (e) { body = "unreadable: " + e; }
    out[name] = {status: r.status, type: r.type, body: body.slice(0, 4000)};
  } catch (e) {
    out[name] = {error: String(e)};
  } finally {
    clearTimeout(timer);
  }
  return out[name];
}
async function call(name, data) {
  const posted = await attempt(name, "/staff/gradio_api/call/" + name, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({data})});
  if (posted.body && posted.body.includes("event_id")) {
    await attempt(name + "_result", "/staff/gradio_api/call/" + name + "/" + JSON.parse(posted.body).event_id, {});
  }
}
(async () => {
  await attempt("info", "/staff/gradio_api/info", {});
  await call("inventory", []);
  await call("delete", ["markedsdialog.md", true]);
  const pre = document.getElementById("out");
  pre.textContent = JSON.stringify(out, null, 1);
  pre.dataset.done = "1";
})();
</script></body></html>
"""


def make_certificate(tmp: Path) -> tuple[Path, Path]:
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    names = ",".join(f"DNS:{h}" for h in (APP_HOST, SIBLING_HOST, OTHER_SITE_HOST))
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={APP_HOST}", "-addext", f"subjectAltName={names}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return key, cert


class EvilSite:
    """The attacker's page over HTTPS, the same page for every hostname."""

    def __init__(self, key: Path, cert: Path, app_origin: str):
        page = EVIL_PAGE.replace("__APP__", app_origin).encode("utf-8")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TLSApp:
    """The real app (create_app, guard included) under uvicorn with TLS on 127.0.0.1."""

    def __init__(self, tmp: Path, key: Path, cert: Path):
        self.corpus = tmp / "corpus"
        self.corpus.mkdir()
        (self.corpus / "markedsdialog.md").write_text(NOTE, encoding="utf-8")
        self.port = free_port()
        self.origin = f"https://{APP_HOST}:{self.port}"
        self.log = tmp / "app.log"
        env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp / "data"), "ASSISTANT_CORPUS_DIR": str(self.corpus),
               "ASSISTANT_EMBEDDINGS": "local", "ASSISTANT_STAFF_USER": STAFF[0],
               "ASSISTANT_STAFF_PASSWORD": STAFF[1], "GRADIO_ANALYTICS_ENABLED": "False", **store_env()}
        env.pop("ASSISTANT_ALLOWED_ORIGINS", None)
        env["ASSISTANT_ALLOWED_HOSTS"] = f"{APP_HOST},127.0.0.1,localhost"  # the app's public name
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(self.port), str(key), str(cert)],
                                     env=env, cwd=ROOT, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"https://127.0.0.1:{self.port}/healthz", verify=False, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"app did not start:\n{self.log.read_text()}")

    def staff_call(self, name: str, data: list, cookies: dict) -> str:
        """A staff API call as the staff page itself makes it: own Host, own Origin."""
        headers = {"Host": f"{APP_HOST}:{self.port}", "Origin": self.origin}
        base = f"https://127.0.0.1:{self.port}/staff/gradio_api/call/{name}"
        with httpx.Client(verify=False, headers=headers, cookies=cookies, timeout=20) as client:
            posted = client.post(base, json={"data": data})
            assert posted.status_code == 200, posted.text
            return client.get(f"{base}/{posted.json()['event_id']}").text

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def tls(tmp_path):
    key, cert = make_certificate(tmp_path)
    app = TLSApp(tmp_path, key, cert)
    evil = EvilSite(key, cert, app.origin)
    yield app, evil
    evil.close()
    app.stop()


def test_a_page_on_another_site_cannot_use_the_staff_session(tls):
    from playwright.sync_api import sync_playwright

    app, evil = tls
    rules = ",".join(f"MAP {h} 127.0.0.1" for h in (APP_HOST, SIBLING_HOST, OTHER_SITE_HOST))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  f"--host-resolver-rules={rules}", "--ignore-certificate-errors"],
        )
        try:
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            page.goto(app.origin + "/staff/")
            page.get_by_label("username").fill(STAFF[0])
            page.get_by_label("password").fill(STAFF[1])
            page.keyboard.press("Enter")
            page.get_by_text("Kildebibliotek").first.wait_for(timeout=30_000)

            # Control: the session works from the app's own origin, with the same fetch.
            own = page.evaluate("""async () => {
                const r = await fetch('/staff/gradio_api/info', {credentials: 'include'});
                return {status: r.status, body: await r.text()};
            }""")
            assert own["status"] == 200 and "/delete" in own["body"], own

            staff_cookies = {c["name"]: c["value"] for c in context.cookies(app.origin)
                             if c["name"].startswith("access-token")}
            assert staff_cookies, context.cookies()
            session = [c for c in context.cookies(app.origin) if c["name"].startswith("access-token")]

            results = {}
            for host in (SIBLING_HOST, OTHER_SITE_HOST):
                attacker = context.new_page()
                attacker.goto(f"https://{host}:{evil.port}/")
                attacker.locator("#out[data-done='1']").wait_for(state="attached", timeout=40_000)
                results[host] = json.loads(attacker.locator("#out").text_content())
                attacker.close()
        finally:
            browser.close()

    for host, out in results.items():
        # Nothing the attacker's script could read holds staff data or an accepted call.
        readable = json.dumps({k: v.get("body", "") for k, v in out.items()})
        assert "named_endpoints" not in readable, (host, out)
        assert "markedsdialog" not in readable, (host, out)
        assert "event_id" not in readable, (host, out)
        assert "delete_result" not in out and "inventory_result" not in out, (host, out)
        for name in ("info", "inventory", "delete"):
            assert "error" in out[name] or out[name]["status"] in (401, 403), (host, name, out[name])

    # The delete did not happen: the file is still there and still in the inventory.
    assert (app.corpus / "markedsdialog.md").is_file()
    inventory = app.staff_call("inventory", [], staff_cookies)
    assert "event: complete" in inventory and "markedsdialog.md" in inventory, inventory
    # And the login cookies reached the browser as SameSite=Lax (Gradio sends SameSite=None).
    assert all(c["sameSite"] == "Lax" for c in session), session


# --- the real login form: one guesser must not lock the staff user out ---------------------------------

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def login_app(tmp_path_factory):
    """The app over plain HTTP with quick login limits (1 free failure, waits up to 8 s).
    Clients are told apart by X-Forwarded-For, which the app trusts from 127.0.0.1
    (ASSISTANT_FORWARDED_ALLOW_IPS' default, a proxy on the same machine)."""
    from tests.web.test_app import RunningApp

    running = RunningApp(tmp_path_factory.mktemp("login"), {"ASSISTANT_LOGIN_FREE_ATTEMPTS": "1", "ASSISTANT_LOGIN_MAX_DELAY_S": "8"},
                         name="login")
    yield running
    running.stop()


def submit_login(page, user: str, password: str) -> int:
    """Fill Gradio's login form and press Enter, as a person does; the status of its POST."""
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as response:
        page.keyboard.press("Enter")
    return response.value.status


def test_wrong_logins_in_one_browser_do_not_lock_the_staff_user_out_of_another(login_app):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            guesser = browser.new_context(extra_http_headers={"X-Forwarded-For": "198.51.100.23"})
            page = guesser.new_page()
            page.goto(login_app.url + "/staff/")
            statuses = []
            while len(statuses) < 9 or statuses[-1] != 400:  # 9 or more, the last one just counted
                statuses.append(submit_login(page, STAFF[0], f"wrong-{len(statuses)}"))
                assert len(statuses) < 60, statuses
            # The guesser is slowed down, even with the right password from its own address.
            assert statuses[:2] == [400, 400] and 429 in statuses, statuses
            assert submit_login(page, *STAFF) == 429

            staff = browser.new_context(extra_http_headers={"X-Forwarded-For": "192.0.2.44"})
            own = staff.new_page()
            own.goto(login_app.url + "/staff/")
            assert submit_login(own, *STAFF) == 200
            own.get_by_text("Kildebibliotek").first.wait_for(timeout=30_000)
        finally:
            browser.close()
    log = (login_app.tmp / "login-data" / "staff-actions.log").read_text(encoding="utf-8")
    assert "failed login: page=staff user=staff" in log and "unknown user name" not in log, log


def test_a_browser_that_logged_in_before_gets_in_during_an_attack_from_many_addresses(login_app):
    from playwright.sync_api import sync_playwright

    def guess(i: int) -> httpx.Response:  # a botnet: every guess from another address
        return httpx.post(f"{login_app.url}/staff/login", files={"username": (None, STAFF[0]),
                          "password": (None, f"guess-{i}")}, headers={"X-Forwarded-For": f"198.18.{i // 250}.{i % 250 + 1}"})

    def fresh_login() -> httpx.Response:  # the right password, from a browser new to the name
        return httpx.post(f"{login_app.url}/staff/login", data={"username": STAFF[0], "password": STAFF[1]},
                          headers={"X-Forwarded-For": "192.0.2.46"})

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            context = browser.new_context(extra_http_headers={"X-Forwarded-For": "192.0.2.45"})
            page = context.new_page()
            page.goto(login_app.url + "/staff/")
            assert submit_login(page, *STAFF) == 200
            page.get_by_text("Kildebibliotek").first.wait_for(timeout=30_000)
            remembered = [c for c in context.cookies() if c["name"] == "assistant-login-staff"]
            assert remembered and remembered[0]["httpOnly"] and remembered[0]["path"] == "/staff/login", remembered
            context.clear_cookies(name=re.compile("^access-token"))  # logged out; the browser is remembered

            # A botnet guesses on, each guess from another address, for as long as the test runs:
            # the name is slowed down (waits of 1, 2, 4, 8 s) and stays so.
            stop, slowed = threading.Event(), threading.Event()
            counted_at = [0.0]  # when a guess last reached the password check (and renewed the wait)

            def botnet():
                i = 0
                while not stop.is_set():
                    response = guess(i := i + 1)
                    if response.status_code == 400:
                        counted_at[0] = time.monotonic()
                    if response.status_code == 429 and int(response.headers["retry-after"]) >= 4:
                        slowed.set()
                    time.sleep(0.05 if response.status_code == 429 else 0)

            def name_waits_for_a_while():  # the name's wait (4 s or more) was renewed < 1 s ago
                deadline = time.monotonic() + 20
                while time.monotonic() - counted_at[0] > 1:
                    assert time.monotonic() < deadline, "the attack stopped reaching the check"
                    time.sleep(0.05)

            attack = threading.Thread(target=botnet, daemon=True)
            attack.start()
            try:
                assert slowed.wait(20), "the guesses from many addresses were never slowed down"
                # A browser new to the name waits like the guessers (the price of slowing a botnet)...
                name_waits_for_a_while()
                assert fresh_login().status_code == 429
                # ...the remembered one does not.
                page.goto(login_app.url + "/staff/")
                name_waits_for_a_while()
                assert submit_login(page, *STAFF) == 200
                page.get_by_text("Kildebibliotek").first.wait_for(timeout=30_000)
            finally:
                stop.set()
                attack.join(timeout=10)
        finally:
            browser.close()
