"""Security round two (issue 24, medium items owned here): each test reproduces an attack from
the review on a real server, real files or a real parser, and fails on the code before the fix."""

from __future__ import annotations

import httpx
import pytest

from .test_app import RunningApp


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = RunningApp(tmp_path_factory.mktemp("security2"), name="security2")
    yield running
    running.stop()


# --- 10. clickjacking ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/staff/", "/read/markedsdialog.md"])
def test_no_page_of_the_app_can_be_framed_by_another_site(app, path):
    response = httpx.get(app.url + path, follow_redirects=True, timeout=30)
    assert response.status_code == 200 and "html" in response.headers["content-type"]
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'self'" in policy, path
    assert response.headers.get("x-frame-options") == "SAMEORIGIN", path
    # The /read/ page keeps its own stricter policy beside the framing rule.
    if path.startswith("/read/"):
        assert "default-src" in policy or "script-src" in policy
