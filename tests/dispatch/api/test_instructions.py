"""The instruction feed: ordered, cursor-paged, nothing lost while new ones arrive; pushed live too."""

from __future__ import annotations

import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing.websocket import WebsocketCommunicator
from django.db import connection

from config.asgi import application
from dispatch.models import ApiToken
from dispatch.realtime import driver_group
from dispatch.services import api_token_issue, instruction_push

pytestmark = pytest.mark.django_db


def feed(client, after=None, limit=None):
    params = {}
    if after is not None:
        params["after"] = after
    if limit is not None:
        params["limit"] = limit
    response = client.get("/api/v1/driver/instructions", params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_it_lists_instructions_oldest_first_with_a_cursor(dave, dave_api, dave_run):
    stop = dave_run.stops.first()
    for text in ("one", "two", "three"):
        instruction_push(driver=dave, kind="note", text=text, stop=stop)
    page = feed(dave_api)
    assert [item["text"] for item in page["instructions"]] == ["one", "two", "three"]
    assert page["instructions"][0]["stop_id"] == stop.pk
    assert feed(dave_api, after=page["next_cursor"]) == {"instructions": [], "next_cursor": page["next_cursor"]}


def test_it_pages_with_a_limit(dave, dave_api):
    for number in range(5):
        instruction_push(driver=dave, kind="note", text=f"n{number}")
    first = feed(dave_api, limit=2)
    second = feed(dave_api, after=first["next_cursor"], limit=2)
    third = feed(dave_api, after=second["next_cursor"], limit=2)
    texts = [i["text"] for page in (first, second, third) for i in page["instructions"]]
    assert texts == ["n0", "n1", "n2", "n3", "n4"]


def test_it_keeps_each_drivers_feed_to_themselves(dave, erin, dave_api, erin_api):
    instruction_push(driver=dave, kind="note", text="for dave")
    assert feed(erin_api)["instructions"] == []
    instruction = feed(dave_api)["instructions"][0]
    assert erin_api.post(f"/api/v1/driver/instructions/{instruction['id']}/ack").status_code == 404


@pytest.mark.parametrize("cursor", ["yesterday", ""])
def test_it_refuses_a_cursor_that_is_not_one(dave_api, cursor):
    response = dave_api.get("/api/v1/driver/instructions", {"after": cursor})
    assert response.status_code == 400
    assert response.json()["fields"]["after"] == ["Send the next_cursor of the last page, or 0."]


def test_it_acks_once_and_keeps_the_first_time(dave, dave_api):
    instruction = instruction_push(driver=dave, kind="note", text="x")
    first = dave_api.post(f"/api/v1/driver/instructions/{instruction.pk}/ack").json()
    second = dave_api.post(f"/api/v1/driver/instructions/{instruction.pk}/ack").json()
    assert first["acked_at"] is not None
    assert second["acked_at"] == first["acked_at"]


def test_it_refuses_an_unknown_instruction_kind(dave):
    with pytest.raises(ValueError, match="Unknown instruction kind"):
        instruction_push(driver=dave, kind="teleport", text="x")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_loses_nothing_and_repeats_nothing_while_instructions_arrive(dave, dave_api):
    total = 120
    done = threading.Event()

    def pusher() -> None:
        try:
            for number in range(total):
                instruction_push(driver=dave, kind="note", text=str(number))
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=pusher)
    thread.start()
    seen: list[str] = []
    cursor = "0"
    while True:
        finished = done.is_set()
        page = feed(dave_api, after=cursor, limit=7)
        seen.extend(item["text"] for item in page["instructions"])
        cursor = page["next_cursor"]
        if finished and not page["instructions"]:
            break
    thread.join()
    assert seen == [str(number) for number in range(total)]


def test_it_broadcasts_each_push_to_the_drivers_group_after_commit(dave, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(driver_group(dave.pk), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            instruction = instruction_push(driver=dave, kind="retry_now", text="Recipient is coming down")
        message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(driver_group(dave.pk), channel)
    assert message["type"] == "instruction.pushed"
    assert message["payload"]["id"] == instruction.pk
    assert message["payload"]["text"] == "Recipient is coming down"


def test_it_broadcasts_nothing_when_the_transaction_rolls_back(dave, django_capture_on_commit_callbacks):
    from django.db import transaction

    def push_then_fail() -> None:
        with transaction.atomic():
            instruction_push(driver=dave, kind="note", text="never")
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        push_then_fail()
    assert callbacks == []
    assert not dave.instructions.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("header", [None, b"Bearer not-a-token"])
def test_the_driver_socket_needs_a_driver_token(header):
    headers = [(b"authorization", header)] if header else []

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/driver/", headers=headers)
        result = await communicator.connect()
        await communicator.disconnect()
        return result

    connected, code = async_to_sync(scenario)()
    assert not connected
    assert code == 4401


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_driver_socket_receives_a_push_at_once(dave):
    _, key = api_token_issue(user=dave.user, kind=ApiToken.Kind.DRIVER, name="phone")

    async def scenario() -> dict:
        communicator = WebsocketCommunicator(
            application, "/ws/driver/", headers=[(b"authorization", f"Bearer {key}".encode())]
        )
        connected, _ = await communicator.connect()
        assert connected
        from channels.db import database_sync_to_async

        await database_sync_to_async(instruction_push)(driver=dave, kind="wait", text="Wait 5 minutes")
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["type"] == "instruction"
    assert message["instruction"]["text"] == "Wait 5 minutes"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_browser_offers_its_token_as_a_subprotocol_and_is_answered_with_the_scheme_alone(dave, erin):
    """Browsers cannot set headers on a websocket: ``new WebSocket(url, ["bearer", token])``."""
    _, key = api_token_issue(user=dave.user, kind=ApiToken.Kind.DRIVER, name="phone")

    async def scenario(subprotocols: list[str]) -> tuple[bool, object, dict | None]:
        communicator = WebsocketCommunicator(application, "/ws/driver/", subprotocols=subprotocols)
        connected, answer = await communicator.connect()
        message = None
        if connected:
            from channels.db import database_sync_to_async

            await database_sync_to_async(instruction_push)(driver=dave, kind="wait", text="Wait 5 minutes")
            message = await communicator.receive_json_from(timeout=5)
            await communicator.disconnect()
        return connected, answer, message

    connected, subprotocol, message = async_to_sync(scenario)(["bearer", key])
    assert connected
    assert subprotocol == "bearer"  # the scheme, never the token echoed back
    assert message is not None
    assert message["instruction"]["text"] == "Wait 5 minutes"
    for refused in (["bearer", "not-a-token"], [key], ["bearer"]):
        assert async_to_sync(scenario)(refused)[:2] == (False, 4401)
