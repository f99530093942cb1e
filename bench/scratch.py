"""What the benchmarks share: their scratch database, the server they drive, their section of RESULTS.md."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:<port>
    pid: int  # Uvicorn's supervisor: its session holds the workers


@contextmanager
def uvicorn_serving(env: dict[str, str], *, workers: int = 2, stderr: IO[Any] | int | None = None) -> Iterator[Server]:
    """The product's ASGI application under Uvicorn on a free local port, until the block ends.

    Stopped with SIGTERM and ``--timeout-graceful-shutdown 10`` (board sockets can leave a receive behind);
    killed if it is still there 20 s later.
    """
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [str(ROOT / ".venv/bin/uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "10"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL if stderr else None, stderr=stderr,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(1.0)
        yield Server(base=f"http://127.0.0.1:{port}", pid=server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            print("the server did not stop within 20 s of SIGTERM; killed", flush=True)
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def ensure_database(url: str) -> None:
    """Create the scratch database named in ``url`` if it does not exist yet."""
    import dj_database_url
    import psycopg2
    from psycopg2 import sql

    cfg = dj_database_url.parse(url)
    conn = psycopg2.connect(dbname="postgres", user=cfg["USER"], host=cfg["HOST"], port=cfg["PORT"])
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]])
        if not cursor.fetchone():
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
    conn.close()


def results_record(*, heading: str, section: str) -> None:
    """Replace the section under ``heading`` in RESULTS.md (or append it) with ``section``."""
    text = RESULTS.read_text()
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")
