"""The board's websocket on the real ASGI application and the real Redis channel layer.

Who may connect, what each dispatcher receives, and the promise the board is
built on: a client that applies numbered events, and reloads the snapshot when
it sees a gap or reconnects, ends equal to the database.

Transactional (the consumer reads the database from its own threads), so kept few.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from config.asgi import application
from dispatch import realtime
from exceptions import workflow
from exceptions.board.consumers import BoardConsumer
from exceptions.models import ExceptionCase
from tests.factories import ExceptionCaseFactory, StopFactory
from tests.helpers import signed_in

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("outreach", "routing"),
]

ORIGIN = (b"origin", b"http://localhost")
OPEN = set(ExceptionCase.OPEN_STATES)


def socket(client: Client | None, origin: tuple[bytes, bytes] = ORIGIN) -> WebsocketCommunicator:
    headers = [origin]
    if client is not None:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, "/ws/board/", headers=headers)


@pytest.fixture
def chicago_case(dave) -> ExceptionCase:
    return ExceptionCaseFactory(scan__stop=StopFactory(run__driver=dave))


@pytest.fixture
def milwaukee_case(oscar) -> ExceptionCase:
    return ExceptionCaseFactory(scan__stop=StopFactory(run__driver=oscar))


def run_replanned(run: Any) -> None:
    """What routing sends when it writes a new plan (routing.services)."""
    with transaction.atomic():
        realtime.board_send_on_commit(
            run.depot_id,
            "run.updated",
            {"run_id": run.pk, "plan_version": 2, "operation": "reinsert"},
        )


async def call_marked(case_id: int, user: Any) -> ExceptionCase:
    """A dispatcher's click that changes the case (its version) and so sends one event."""

    def click() -> ExceptionCase:
        version = ExceptionCase.objects.get(pk=case_id).version
        return workflow.case_call_mark(case_id=case_id, user=user, version=version, note="no answer")

    return await database_sync_to_async(click)()


class BoardMirror:
    """What the board's script does (static/board/live.js), reduced to the rule that keeps it right.

    Per depot, the last number applied: an event numbered next is applied, an older one ignored, and
    a gap reloads the snapshot, after which only events numbered after the snapshot's count.
    """

    def __init__(self, fetch: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self.fetch = fetch
        self.seq: dict[int, int] = {}
        self.cases: dict[int, dict[str, Any]] = {}
        self.snapshots = 0

    async def resync(self) -> None:
        snapshot = await self.fetch()
        self.seq = {int(depot): number for depot, number in snapshot["seq"].items()}
        self.cases = {row["id"]: row for row in snapshot["cases"]}
        self.snapshots += 1

    async def receive(self, message: dict[str, Any]) -> None:
        if message["type"] == "hello":
            await self.resync()
            return
        depot, seq = message["depot_id"], message["seq"]
        if seq <= self.seq.get(depot, 0):
            return
        if seq != self.seq.get(depot, 0) + 1:
            await self.resync()
            if seq <= self.seq.get(depot, 0):
                return
        self.seq[depot] = seq
        if message["type"] == "case":
            row = message["case"]
            if row["state"] in OPEN:
                self.cases[row["id"]] = row
            else:
                self.cases.pop(row["id"], None)


def test_it_refuses_anonymous_users():
    async def scenario() -> tuple[bool, int | None]:
        communicator = socket(None)
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4401)


def test_it_refuses_a_foreign_origin_even_with_a_valid_session(alice, chicago):
    client = signed_in(alice)

    async def scenario() -> tuple[bool, bool]:
        good = socket(client)
        accepted, _ = await good.connect()
        await good.disconnect()
        foreign = socket(client, origin=(b"origin", b"https://evil.example"))
        refused, _ = await foreign.connect()
        await foreign.disconnect()
        return accepted, refused

    assert async_to_sync(scenario)() == (True, False)


def test_frames_from_a_client_are_ignored_and_the_access_check_ends_with_the_socket(alice, chicago):
    client = signed_in(alice)

    async def scenario() -> tuple[bool, bool, list[Any]]:
        communicator = socket(client)
        connected, _ = await communicator.connect()
        await communicator.receive_json_from()  # the greeting
        await communicator.send_to(text_data="{not json")
        await communicator.send_to(bytes_data=b"\x00\xff")
        await communicator.send_json_to({"type": "ping"})
        quiet = await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        left = [task for task in asyncio.all_tasks() if "_keep_access_fresh" in repr(task.get_coro())]
        return connected, quiet, left

    assert async_to_sync(scenario)() == (True, True, [])


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/nowhere", "/ws/board/extra"])
def test_a_socket_to_a_path_nobody_serves_is_refused_without_an_error(path):
    async def scenario() -> bool:
        communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
        connected, _ = await communicator.connect()
        await communicator.wait()
        return connected

    assert async_to_sync(scenario)() is False


def test_it_refuses_a_signed_in_driver(dave):
    client = signed_in(dave.user)

    async def scenario() -> tuple[bool, int | None]:
        communicator = socket(client)
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4403)


def test_a_dispatcher_receives_their_depots_events_and_nothing_of_another_depot(
    alice, bob, chicago, milwaukee, chicago_case, milwaukee_case
):
    alice_client, bob_client = signed_in(alice), signed_in(bob)

    async def scenario() -> dict[str, Any]:
        at_chicago, at_milwaukee = socket(alice_client), socket(bob_client)
        assert (await at_chicago.connect())[0]
        assert (await at_milwaukee.connect())[0]
        hellos = [await at_chicago.receive_json_from(timeout=5), await at_milwaukee.receive_json_from(timeout=5)]

        await call_marked(milwaukee_case.pk, bob)
        await call_marked(milwaukee_case.pk, bob)
        bob_events = [await at_milwaukee.receive_json_from(timeout=5) for _ in range(2)]
        alice_got_nothing = await at_chicago.receive_nothing(timeout=0.5)

        await call_marked(chicago_case.pk, alice)
        alice_event = await at_chicago.receive_json_from(timeout=5)
        await database_sync_to_async(run_replanned)(chicago_case.stop.run)
        alice_run = await at_chicago.receive_json_from(timeout=5)
        bob_got_nothing = await at_milwaukee.receive_nothing(timeout=0.5)
        await at_chicago.disconnect()
        await at_milwaukee.disconnect()
        return {
            "hellos": hellos,
            "bob": bob_events,
            "alice": alice_event,
            "alice_run": alice_run,
            "quiet": (alice_got_nothing, bob_got_nothing),
        }

    seen = async_to_sync(scenario)()

    assert set(seen["hellos"][0]["seq"]) == {str(chicago.pk)}
    assert set(seen["hellos"][1]["seq"]) == {str(milwaukee.pk)}
    assert seen["quiet"] == (True, True)
    first, second = seen["bob"]
    start = seen["hellos"][1]["seq"][str(milwaukee.pk)]
    assert [first["seq"], second["seq"]] == [start + 1, start + 2]
    assert (first["type"], first["depot_id"], first["case"]["id"]) == ("case", milwaukee.pk, milwaukee_case.pk)
    assert second["case"]["version"] == first["case"]["version"] + 1
    assert seen["alice"]["case"]["id"] == chicago_case.pk
    assert seen["alice"]["case"]["last_summary"] == "Called the recipient. no answer"
    run = chicago_case.stop.run
    assert seen["alice_run"] == {
        "type": "run",
        "depot_id": chicago.pk,
        "seq": seen["alice"]["seq"] + 1,
        "run": {"run_id": run.pk, "plan_version": 2, "operation": "reinsert"},
    }


def test_after_a_lost_event_or_a_reconnect_the_board_equals_the_database(alice, chicago, dave, chicago_case):
    other = ExceptionCaseFactory(scan__stop=StopFactory(run=chicago_case.stop.run))
    client = signed_in(alice)

    async def snapshot() -> dict[str, Any]:
        response = await sync_to_async(client.get)("/api/v1/board/snapshot")
        assert response.status_code == 200
        return response.json()

    mirror = BoardMirror(snapshot)
    lost: list[dict[str, Any]] = []

    async def scenario() -> None:
        communicator = socket(client)
        assert (await communicator.connect())[0]
        await mirror.receive(await communicator.receive_json_from(timeout=5))

        await call_marked(chicago_case.pk, alice)
        await mirror.receive(await communicator.receive_json_from(timeout=5))
        assert mirror.snapshots == 1

        # The channel layer drops one event (a full channel drops silently); the next one shows the gap.
        real_send = realtime._send

        def drop_once(group: str, message: dict[str, Any]) -> None:
            if not lost:
                lost.append(message)
                return
            real_send(group, message)

        realtime._send = drop_once
        try:
            await call_marked(other.pk, alice)
            resolved = await database_sync_to_async(
                lambda: workflow.case_return_to_sender(
                    case_id=chicago_case.pk,
                    user=alice,
                    version=ExceptionCase.objects.get(pk=chicago_case.pk).version,
                )
            )()
            assert resolved.state == ExceptionCase.State.RESOLVED
        finally:
            realtime._send = real_send
        await mirror.receive(await communicator.receive_json_from(timeout=5))
        assert mirror.snapshots == 2

        # Changes while the socket is down reach nobody: the greeting after the reconnect reloads.
        await communicator.disconnect()
        await call_marked(other.pk, alice)
        again = socket(client)
        assert (await again.connect())[0]
        await mirror.receive(await again.receive_json_from(timeout=5))
        assert mirror.snapshots == 3
        await again.disconnect()

    async_to_sync(scenario)()

    assert len(lost) == 1
    database = {case.pk: case.version for case in ExceptionCase.objects.filter(state__in=OPEN)}
    assert (
        {case_id: row["version"] for case_id, row in mirror.cases.items()} == database == {other.pk: other.version + 2}
    )
    assert mirror.cases == {row["id"]: row for row in async_to_sync(snapshot)()["cases"]}
    assert mirror.seq[chicago.pk] == realtime.board_seq_current([chicago.pk])[chicago.pk]


def test_it_stops_forwarding_once_the_dispatcher_loses_the_depot(alice, chicago, chicago_case, monkeypatch):
    monkeypatch.setattr(BoardConsumer, "RECHECK_SECONDS", 0.0)
    client = signed_in(alice)

    async def scenario() -> tuple[dict[str, Any], int]:
        communicator = socket(client)
        assert (await communicator.connect())[0]
        await communicator.receive_json_from(timeout=5)
        await call_marked(chicago_case.pk, alice)
        delivered = await communicator.receive_json_from(timeout=5)

        await database_sync_to_async(alice.depots.remove)(chicago)
        await call_marked(chicago_case.pk, alice)
        closed = await communicator.receive_output(timeout=5)
        await communicator.wait()
        return delivered, closed["code"]

    delivered, code = async_to_sync(scenario)()

    assert delivered["case"]["id"] == chicago_case.pk
    assert code == 4409  # no event of the depot went out; the client reconnects with what it may see now


def test_access_is_rechecked_in_the_background_without_waiting_for_an_event(alice, chicago, monkeypatch):
    monkeypatch.setattr(BoardConsumer, "RECHECK_SECONDS", 0.6)
    client = signed_in(alice)

    async def scenario() -> int:
        communicator = socket(client)
        assert (await communicator.connect())[0]
        await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(alice.depots.remove)(chicago)
        closed = await communicator.receive_output(timeout=10)  # no event is sent: the refresh alone closes it
        await communicator.wait()
        return closed["code"]

    assert async_to_sync(scenario)() == 4409


@pytest.mark.parametrize("how", ["deactivated", "signed out"])
def test_a_dispatcher_deactivated_or_signed_out_is_cut_off(alice, chicago, chicago_case, monkeypatch, how):
    monkeypatch.setattr(BoardConsumer, "RECHECK_SECONDS", 0.0)
    client = signed_in(alice)

    def cut_off() -> None:
        if how == "deactivated":
            type(alice).objects.filter(pk=alice.pk).update(is_active=False)
        else:
            client.logout()  # the session is gone; the socket's cookie still names it

    async def scenario() -> int:
        communicator = socket(client)
        assert (await communicator.connect())[0]
        await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(cut_off)()
        await call_marked(chicago_case.pk, alice)
        closed = await communicator.receive_output(timeout=5)
        await communicator.wait()
        return closed["code"]

    assert async_to_sync(scenario)() == 4403
