"""The browser tests' server and browser: one Uvicorn process per module against the test database, and Debian's
Chromium driven by Playwright. Screenshots go to var/test-artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

from demo.fakes.twilio import FakeTwilio
from tests.e2e.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.helpers import DESK_NUMBER, TWILIO_TOKEN, database_url_for_others, free_port


@pytest.fixture(scope="module")
def server_twilio() -> Iterator[FakeTwilio]:
    """The fake Twilio the server's calls go to (texts stay in memory: the test settings' SMS backend)."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(django_db_setup, server_twilio) -> Iterator[str]:
    """The product on a free port: Uvicorn, the test database, no map tiles (no outside requests), Twilio's
    Voice API on the fake Twilio (``server_twilio``), whose callbacks reach this server signed."""
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "board-server.log"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.e2e.live_settings",
        "DATABASE_URL": database_url_for_others(),
        "DB_CONN_MAX_AGE": "0",  # so the test database can be dropped at the end
        "BOARD_TILE_URL": "",
        "WEB_REQUEST_THREADS": "4",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_API_BASE_URL": server_twilio.url,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": DESK_NUMBER,
        "TWILIO_VOICE_NUMBER": "",
    }
    command = [sys.executable, "-m", "uvicorn", "tests.e2e.live_asgi:application", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"The web server exited:\n{log_path.read_text()[-3000:]}")
            if _healthy(base):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"The web server did not come up:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        problems = [line for line in log_path.read_text().splitlines() if "Traceback" in line or " ERROR " in line]
        assert not problems, log_path.read_text()[-5000:]


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Chromium for one test, started after the test's database setup and stopped before its teardown.

    Playwright's sync API runs an event loop on this thread while it is started, and Django then keeps
    this thread's database connections per context, apart from the ones the test database was set up
    with: pytest-django's flush and serialized restore must run with Playwright stopped.
    """
    if not CHROMIUM.exists():
        pytest.fail("The browser tests need Debian's Chromium at /usr/bin/chromium: `make test` installs it.")
    if not (ROOT / "static" / "vendor" / "leaflet" / "leaflet.js").exists():
        pytest.fail("static/vendor/ is not built: run scripts/build_static.sh (`make test` does).")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        # The ORM calls a test makes between browser steps are plain synchronous code all the same.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
                # The connections the test opened while the loop ran (the test database is dropped at the end).
                connections.close_all()


@pytest.fixture
def open_pages() -> Iterator[list[Any]]:
    """Every page a test opened; each must end without a script error on it."""
    contexts: list[Any] = []
    yield contexts
    for context in contexts:
        errors = getattr(context, "script_errors", [])
        context.close()
        assert not errors, errors


def _healthy(base: str) -> bool:
    """Whether the server answers its health check yet (not listening yet is a no)."""
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
