"""`make demo` on this machine: web, worker and beat come up and admin shows the demo day."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import dj_database_url
import psycopg2
import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.wall_clock]


def scratch_database_url() -> str:
    base = dj_database_url.parse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dispatch"))
    auth = base["USER"] + (f":{base['PASSWORD']}" if base["PASSWORD"] else "")
    return f"postgres://{auth}@{base['HOST']}:{base['PORT']}/{base['NAME']}_e2e_demo"


def drop_database(url: str) -> None:
    cfg = dj_database_url.parse(url)
    conn = psycopg2.connect(dbname="postgres", user=cfg["USER"], password=cfg["PASSWORD"] or None,
                            host=cfg["HOST"], port=cfg["PORT"])  # fmt: skip
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')
    conn.close()


class Browser:
    """Just enough of a browser for Django admin: cookies and the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.read().decode()

    def login(self, username: str, password: str) -> str:
        _, page = self.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password, "next": "/admin/"}
        ).encode()
        request = urllib.request.Request(self.base + "/admin/login/", data=data, headers={"Referer": self.base})
        with self.opener.open(request, timeout=30) as response:
            return response.read().decode()


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    database_url = scratch_database_url()
    environment = {
        # The demo's own fake Twilio, not whatever account the machine has.
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE" and not k.startswith("TWILIO_")},
        "PORT": str(port),
        "TWILIO_PORT": str(free_port()),
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:6379/3",
        "DEMO_STOPS": "60",
        "DEMO_DRIVERS": "3",
        "WEB_WORKERS": "1",
        "WORKER_CONCURRENCY": "1",
        "LOG_DIR": str(tmp_path),
        "DEMO_TOKEN_FILE": str(tmp_path / "driver-token"),
    }
    process = subprocess.Popen(
        ["bash", "scripts/demo.sh"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    output: list[str] = []
    try:
        deadline = time.monotonic() + 300
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "Ctrl-C stops everything" in line or time.monotonic() > deadline:
                break
        assert any("is running" in line for line in output), "".join(output)
        assert "Ctrl-C stops everything" in output[-1], "".join(output)
        yield {"base": f"http://127.0.0.1:{port}", "output": "".join(output), "env": environment, "logs": tmp_path}
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        drop_database(database_url)


def test_the_demo_command_starts_web_worker_and_beat_with_the_demo_day(demo):
    browser = Browser(demo["base"])
    assert browser.get("/healthz") == (200, '{"status": "ok", "database": "ok", "redis": "ok"}')

    fake_twilio = (demo["logs"] / "fake-twilio.log").read_text()
    assert f"fake Twilio on http://127.0.0.1:{demo['env']['TWILIO_PORT']}" in fake_twilio
    # The logins, and a driver app's token, are in the last lines it prints.
    banner = demo["output"].split("is running")[-1]
    printed = re.search(r"^\s+admin / (\S+)", banner, re.MULTILINE)
    assert printed, demo["output"]
    assert re.search(r"^\s+dispatcher / \S+", banner, re.MULTILINE), banner
    assert re.search(r"Driver app token for driver03 \(NEW: none was kept yet\): \S{40,}", banner), banner
    assert f"Driver app: {demo['base']}/driver/" in banner, banner
    code = re.search(r"Driver app sign-in code for driver03: (\w{4}-\w{4}) \(once, within 12 hours\)", banner)
    assert code, banner
    sign_in = urllib.request.Request(
        f"{demo['base']}/api/v1/driver/sign-in",
        data=json.dumps({"code": code.group(1)}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(sign_in, timeout=10) as answer:
        assert answer.status == 201
    status, app = browser.get("/driver/")
    assert status == 200
    assert 'id="driver-config"' in app
    assert re.search(r"It is \d\d:\d\d at the depot", banner), banner
    dashboard = browser.login("admin", printed.group(1))
    assert "Site administration" in dashboard or "Administration" in dashboard

    status, orders = browser.get("/admin/dispatch/order/?status__exact=out_for_delivery")
    assert status == 200
    assert "60 orders" in orders
    # Scored when seeded: Risky stops lists stops from the first minute, at any hour.
    status, risky = browser.get("/api/v1/board/risky-stops")
    assert status == 200
    assert json.loads(risky)["stops"], risky[:500]

    ping = subprocess.run(
        [str(ROOT / ".venv/bin/celery"), "-A", "config", "inspect", "ping", "--timeout", "10"],
        cwd=ROOT, env=demo["env"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "pong" in ping.stdout, ping.stdout + ping.stderr + (demo["logs"] / "worker.log").read_text()[-2000:]

    beat_log = ""
    for _ in range(30):
        beat_log = (demo["logs"] / "beat.log").read_text()
        if "beat: Starting" in beat_log:
            break
        time.sleep(1)
    assert "beat: Starting" in beat_log

    # The opening scene: a first case at once, its question texted, "back at" answered with a same-day slot.
    cfg = dj_database_url.parse(demo["env"]["DATABASE_URL"])
    query = (
        "SELECT c.outcome, (SELECT count(*) FROM outreach_message m JOIN outreach_conversation v "
        "ON m.conversation_id = v.id WHERE v.case_id = c.id AND m.direction = 'outbound' "
        "AND m.status IN ('sent', 'delivered')) FROM exceptions_exceptioncase c ORDER BY c.id LIMIT 1"
    )
    first = None
    for _ in range(120):
        conn = psycopg2.connect(dbname=cfg["NAME"], user=cfg["USER"], password=cfg["PASSWORD"] or None,
                                host=cfg["HOST"], port=cfg["PORT"])  # fmt: skip
        with conn, conn.cursor() as cursor:
            cursor.execute(query)
            first = cursor.fetchone()
        conn.close()
        if first and first[0]:
            break
        time.sleep(1)
    simulated = (demo["logs"] / "simulate.log").read_text()
    assert first is not None, simulated
    assert first[0] == "rescheduled_same_day", simulated
    assert first[1] >= 1, simulated  # the question went out by SMS
