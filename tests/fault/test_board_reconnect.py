"""A dispatcher's live board through a Redis restart: after it, the board equals the database.

The product runs as it does in production: a Uvicorn process serving the board's websocket and the
snapshot API, with the suite's own Redis as its channel layer and the home of the board's event
numbers. The client is the board's script (static/board/live.js) reduced to its rule, on a real
websocket: apply the event numbered next, ignore an older one, reload the snapshot on a gap or on a
(re)connect's greeting, reconnect with backoff when the socket drops.

Redis stops while the board is open; the cases change meanwhile (their events reach nobody); Redis
restarts empty, its event numbers gone. The board must come back to what the database says, and keep
following it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from websockets.exceptions import InvalidHandshake, WebSocketException
from websockets.sync.client import connect
from websockets.typing import Origin

from dispatch import realtime
from exceptions import workflow
from exceptions.models import ExceptionCase
from tests.factories import ExceptionCaseFactory, StopFactory
from tests.fault.harness import ROOT, RedisServer, realtime_on, wait_for
from tests.helpers import database_url_for_others, free_port

pytestmark = [
    pytest.mark.fault,
    pytest.mark.wall_clock,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

OPEN = set(ExceptionCase.OPEN_STATES)
PREFIX = "fault-board"


@pytest.fixture(scope="module")
def server(django_db_setup, redis_server: RedisServer, tmp_path_factory) -> Iterator[str]:
    """The product's ASGI app in Uvicorn, on the test database and the suite's Redis."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("web") / "uvicorn.log"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.e2e.live_settings",
        "DATABASE_URL": database_url_for_others(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": redis_server.url(),
        "CACHE_KEY_PREFIX": PREFIX,
        "CHANNEL_LAYER_PREFIX": f"{PREFIX}:ws",
        "BOARD_TILE_URL": "",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = [sys.executable, "-m", "uvicorn", "tests.e2e.live_asgi:application", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            pytest.fail(f"The web server exited:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    try:
        wait_for(healthy, what="the web server", timeout=60, interval=0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class BoardClient:
    """The board's live sync (static/board/live.js) in a thread: a snapshot, then numbered events, per depot."""

    def __init__(self, base_url: str, session: str) -> None:
        self.base_url = base_url
        self.headers = {"Cookie": f"sessionid={session}"}
        self.lock = threading.Lock()
        self.seq: dict[int, int] = {}
        self.cases: dict[int, dict[str, Any]] = {}
        self.connections = 0
        self.snapshots = 0
        self.events = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="board-client", daemon=True)

    def __enter__(self) -> BoardClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)

    def board(self) -> dict[int, int]:
        """The open cases on the board: id -> version."""
        with self.lock:
            return {case_id: row["version"] for case_id, row in self.cases.items()}

    def _run(self) -> None:
        attempts = 0
        url = self.base_url.replace("http://", "ws://", 1) + "/ws/board/"
        while not self._stopped.is_set():
            try:
                with connect(
                    url, origin=Origin(self.base_url), additional_headers=self.headers, open_timeout=5
                ) as socket:
                    with self.lock:
                        self.connections += 1
                    attempts = 0
                    while not self._stopped.is_set():
                        try:
                            raw = socket.recv(timeout=0.2)
                        except TimeoutError:
                            continue
                        self._receive(json.loads(raw))
            except (OSError, InvalidHandshake, WebSocketException):
                pass  # the socket dropped, or the server would not take it yet: reconnect
            # live.js: exponential backoff with jitter; shorter here, the test waits on it.
            self._stopped.wait(min(2.0, 0.1 * 2**attempts))
            attempts += 1

    def _receive(self, message: dict[str, Any]) -> None:
        if message.get("type") == "hello":
            self._resync()  # whatever happened while this socket was not open reached nobody
            return
        if message.get("type") not in ("case", "run"):
            return
        depot, seq = int(message["depot_id"]), int(message["seq"])
        for _ in range(5):
            with self.lock:
                last = self.seq.get(depot)
            if last is not None and seq <= last:
                return  # already in the board
            if last is not None and seq == last + 1:
                break
            self._resync()  # a gap, or a depot the snapshot did not number: reload, then look again
        else:
            return
        with self.lock:
            self.seq[depot] = seq
            self.events += 1
            if message["type"] == "case":
                row = message["case"]
                if row["state"] in OPEN:
                    self.cases[row["id"]] = row
                else:
                    self.cases.pop(row["id"], None)

    def _resync(self) -> None:
        snapshot = snapshot_of(self.base_url, self.headers)
        with self.lock:
            self.seq = {int(depot): int(number) for depot, number in snapshot["seq"].items()}
            self.cases = {row["id"]: row for row in snapshot["cases"]}
            self.snapshots += 1


def snapshot_of(base_url: str, headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(f"{base_url}/api/v1/board/snapshot", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    return body


def database_board(depot_id: int) -> dict[int, int]:
    return dict(ExceptionCase.objects.filter(depot_id=depot_id, state__in=OPEN).values_list("pk", "version"))


def call_marked(case: ExceptionCase, user: Any) -> None:
    """A dispatcher's click: the case changes (a new version), one board event after commit."""
    version = ExceptionCase.objects.get(pk=case.pk).version
    workflow.case_call_mark(case_id=case.pk, user=user, version=version, note="no answer")


def test_after_a_redis_restart_the_board_equals_the_database(server, redis_server, settings, alice, chicago, dave):
    realtime_on(redis_server, settings, prefix=PREFIX)  # this process changes cases: its events go there too
    run = StopFactory(run__driver=dave).run
    first, second, third = (ExceptionCaseFactory(scan__stop=StopFactory(run=run)) for _ in range(3))
    browser = Client()
    browser.force_login(alice)
    session = browser.cookies["sessionid"].value

    with BoardClient(server, session) as client:
        wait_for(lambda: client.snapshots and client.board() == database_board(chicago.pk), what="the first snapshot")
        call_marked(first, alice)
        wait_for(lambda: client.board() == database_board(chicago.pk), what="the first event")
        assert (client.connections, client.snapshots, client.events) == (1, 1, 1)

        redis_server.stop()
        # These reach the database; their events reach nobody.
        call_marked(second, alice)
        workflow.case_return_to_sender(
            case_id=first.pk, user=alice, version=ExceptionCase.objects.get(pk=first.pk).version
        )
        assert client.board() != database_board(chicago.pk)
        redis_server.start()

        wait_for(lambda: client.connections >= 2, what="the board to reconnect after the restart")
        wait_for(lambda: client.board() == database_board(chicago.pk), what="the board to catch up")
        # And it keeps following: events numbered anew by the empty Redis are applied, not taken as old.
        call_marked(third, alice)
        call_marked(second, alice)
        wait_for(lambda: client.board() == database_board(chicago.pk), what="the events after the restart")

        assert first.pk not in client.board()
        with client.lock:
            rows, seq = dict(client.cases), dict(client.seq)
        fresh = snapshot_of(server, client.headers)
        assert rows == {row["id"]: row for row in fresh["cases"]}
        assert seq[chicago.pk] == realtime.board_seq_current([chicago.pk])[chicago.pk]
