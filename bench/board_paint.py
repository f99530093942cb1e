"""The board as a dispatcher sees it with 5,000 open cases, in Chromium: opening, an event, scrolling.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_boardbench .venv/bin/python bench/board_paint.py

Seeds the scratch database as ``bench/board_load.py`` does (a demo day, one open case per stop), starts the product
under Uvicorn on a free port, signs the demo dispatcher in with Debian's Chromium (Playwright, 1440x900), then, --runs
times in a fresh page each:

- **open**: from navigation to the queue painted with every case counted (the snapshot fetched, parsed, sorted, the
  rows in view drawn, the map's markers placed), read from the page's own ``performance.now()``;
- **event**: a dispatcher elsewhere takes the top case (``case_assign`` in this process, as the product does it);
  the time from that call to the frame in which the row shows its new version, by the wall clock both share;
- **scroll**: the queue scrolled from top to bottom in twenty steps of a screen; the longest gap between frames.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.board_load import board_day_seed  # noqa: E402
from bench.scratch import ensure_database, results_record  # noqa: E402

SECTION = "## Board in the browser: 5,000 open cases painted (`bench/board_paint.py`)"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
# Every row drawn: the page's clock when the table holds them all.
# The queue painted with every case counted: the page's clock at the next frame.
PAINTED = """(count) => new Promise((done) => {
  const check = () => document.getElementById('queue-count').textContent === `${count} cases`
    && document.querySelector('#queue-rows tr[data-id]')
    ? requestAnimationFrame(() => done(performance.now())) : setTimeout(check, 5);
  check();
})"""
# Start watching for a case's row to show a version above ``version``: ``window.redrawnAt`` settles to the wall clock
# (ms) of that frame.
REDRAWN = """([id, version]) => { window.redrawnAt = new Promise((done) => {
  const check = () => {
    const row = document.querySelector(`#queue-rows tr[data-id="${id}"]`);
    const shown = row && Number(row.dataset.version) > version;
    requestAnimationFrame(shown ? () => done(performance.timeOrigin + performance.now()) : check);
  };
  check();
}); }"""
# Scroll the queue to its end a screen at a time; the longest gap between two frames meanwhile (ms).
SCROLLED = """() => new Promise((done) => {
  const scroller = document.querySelector('.queue-scroll');
  let last = performance.now(), longest = 0, step = 0;
  const frame = (now) => {
    longest = Math.max(longest, now - last);
    last = now;
    if (step++ === 20) return done(longest);
    scroller.scrollTop += scroller.clientHeight;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame((now) => { last = now; requestAnimationFrame(frame); });
})"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="write the figures into bench/RESULTS.md")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        parser.error(
            "set DATABASE_URL to a scratch database, e.g. postgres://postgres@127.0.0.1:5432/dispatch_boardbench"
        )
    ensure_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from demo.day.depot import DISPATCHER_PASSWORD, DISPATCHER_USERNAME
    from exceptions.models import ExceptionCase
    from exceptions.workflow import case_assign

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # served by WhiteNoise, as in production
    opened = board_day_seed(args.cases)
    dispatcher = get_user_model().objects.get(username=DISPATCHER_USERNAME)
    connection.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PUBLIC_BASE_URL": base, "BOARD_TILE_URL": "", "DEBUG": "0"}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310 - our own server
                    break
            except OSError:
                time.sleep(0.2)
        from playwright.sync_api import sync_playwright

        # Playwright's sync API runs an event loop on this thread; the ORM calls between its steps are plain code.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            context = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill(DISPATCHER_USERNAME)
            page.get_by_label("Password").fill(DISPATCHER_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/board/")
            page.close()
            opens, events, scrolls = [], [], []
            for run in range(args.runs + 1):  # the first warms the server and the browser's cache
                page = context.new_page()
                page.goto("/board/", wait_until="commit")
                page.wait_for_selector("#queue-rows tr[data-id]", timeout=60_000)
                opened_ms = page.evaluate(PAINTED, opened)
                page.wait_for_function("document.querySelector('#conn').dataset.state === 'live'", timeout=60_000)
                top = int(page.eval_on_selector("#queue-rows tr[data-id]", "row => row.dataset.id"))
                case = ExceptionCase.objects.get(pk=top)
                page.evaluate(REDRAWN, [top, case.version])
                sent = time.time() * 1000
                case_assign(case_id=top, user=dispatcher, version=case.version, assignee=dispatcher)
                event_ms = page.evaluate("() => window.redrawnAt") - sent
                scroll_ms = page.evaluate(SCROLLED)
                assert page.locator("#queue-rows tr[data-id]").count() < opened, "every row drawn: not windowed"
                if run:
                    opens.append(opened_ms)
                    events.append(event_ms)
                    scrolls.append(scroll_ms)
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}, Chromium (Debian), {platform.system()}"

    def figure(values: list[float]) -> str:
        return f"median {statistics.median(values):.0f} ms (runs {', '.join(f'{value:.0f}' for value in values)})"

    print(f"machine: {machine}")
    print(f"open, to {opened} cases counted and the rows in view painted: {figure(opens)}")
    print(f"event, a case assigned elsewhere to its row redrawn: {figure(events)}")
    print(f"scroll, the longest frame while scrolling to the end: {figure(scrolls)}")
    if args.record:
        results_record(
            heading=SECTION,
            section="\n".join(
                [
                    SECTION,
                    "",
                    f"- Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_boardbench "
                    f".venv/bin/python bench/board_paint.py --runs {args.runs} --record`",
                    f"- Machine: {machine}; the server (Uvicorn, one process) and Chromium on the same 2 cores; "
                    "1440x900, each run in a fresh page after one warm-up.",
                    f"- **Open**: from navigation to {opened} cases counted and the rows in view painted: "
                    f"**{figure(opens)}**.",
                    f"- **Event**: a case assigned elsewhere, to its row redrawn: **{figure(events)}**.",
                    f"- **Scroll**: the longest frame while scrolling the queue to its end: **{figure(scrolls)}**.",
                ]
            ),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
