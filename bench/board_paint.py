"""The board as a dispatcher sees it: from opening /board/ to 5,000 open cases painted, in Chromium.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_boardbench .venv/bin/python bench/board_paint.py

Seeds the scratch database as ``bench/board_load.py`` does (a demo day, one open case per stop), starts the product
under Uvicorn on a free port, signs the demo dispatcher in with Debian's Chromium (Playwright, 1440x900), then opens
the board --runs times in a fresh page each: the figure is the time from navigation to the last of the cases' rows in
the table (the snapshot fetched, parsed, sorted and drawn, the map's markers placed), read from the page's own
``performance.now()``. Then one case event arrives over the websocket and the time to redraw is read the same way.
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
PAINTED = """(count) => new Promise((done) => {
  const check = () => document.querySelectorAll('#queue-rows tr[data-id]').length >= count
    ? requestAnimationFrame(() => done(performance.now())) : setTimeout(check, 5);
  check();
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
    from django.core.management import call_command
    from django.db import connection

    from demo.day.depot import DISPATCHER_PASSWORD, DISPATCHER_USERNAME

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # served by WhiteNoise, as in production
    opened = board_day_seed(args.cases)
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
            paints = []
            for _ in range(args.runs + 1):  # the first warms the server and the browser's cache
                page = context.new_page()
                page.goto("/board/", wait_until="commit")
                page.wait_for_selector("#queue-rows tr[data-id]", timeout=60_000)
                paints.append(page.evaluate(PAINTED, opened))
                page.close()
            paints = paints[1:]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    median = statistics.median(paints)
    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}, Chromium (Debian), {platform.system()}"
    runs = ", ".join(f"{paint:.0f}" for paint in paints)
    print(f"machine: {machine}")
    print(f"board painted with {opened} open cases: median {median:.0f} ms (runs {runs})")
    if args.record:
        results_record(
            heading=SECTION,
            section="\n".join(
                [
                    SECTION,
                    "",
                    f"- Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_boardbench "
                    f".venv/bin/python bench/board_paint.py --runs {args.runs} --record`",
                    f"- Machine: {machine}; the server (Uvicorn, one process) and Chromium on the same 2 cores.",
                    f"- From navigation to all {opened} rows in the table (the page's `performance.now()`), 1440x900, "
                    f"after one warm-up: **median {median:.0f} ms** (runs {runs}).",
                ]
            ),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
