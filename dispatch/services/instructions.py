"""The driver's instruction feed: ordered per driver, nothing lost between polls."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from dispatch import realtime
from dispatch.driver_words import ENGLISH, Words, written
from dispatch.models import Driver, DriverInstruction, Stop
from dispatch.payloads import instruction_payload


def instruction_push(
    *,
    driver: Driver,
    kind: str,
    text: Words,
    stop: Stop | None = None,
    payload: dict[str, Any] | None = None,
) -> DriverInstruction:
    """Append an instruction to the driver's feed and push it to a connected app after commit.

    The feed's cursor is a per-driver sequence taken by incrementing the
    driver's counter: the row lock that increment holds lasts until commit, so
    instruction N+1 can never become visible before instruction N, and a
    client polling with ``after=N`` never skips one. ``text`` is written out in the driver's language.
    """
    if kind not in DriverInstruction.Kind.values:
        raise ValueError(f"Unknown instruction kind {kind!r}.")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Driver._meta.db_table} SET instruction_seq = instruction_seq + 1 "  # noqa: S608
                "WHERE id = %s RETURNING instruction_seq",
                [driver.pk],
            )
            row = cursor.fetchone()
        if row is None:
            raise Driver.DoesNotExist(f"Driver {driver.pk} does not exist.")
        instruction = DriverInstruction.objects.create(
            driver=driver,
            seq=row[0],
            stop=stop,
            kind=kind,
            text=written(text, driver.language or ENGLISH)[:300],
            payload=payload or {},
        )
        realtime.send_on_commit(
            realtime.driver_group(driver.pk), "instruction.pushed", instruction_payload(instruction)
        )
    return instruction


def instruction_ack(*, driver: Driver, instruction_id: int) -> DriverInstruction:
    """Mark one of the driver's instructions as seen. Acking twice keeps the first time."""
    instruction = DriverInstruction.objects.get(pk=instruction_id, driver=driver)
    if instruction.acked_at is None:
        now = timezone.now()
        updated = DriverInstruction.objects.filter(pk=instruction.pk, acked_at__isnull=True).update(acked_at=now)
        if updated:
            instruction.acked_at = now
        else:
            instruction.refresh_from_db(fields=["acked_at"])
    return instruction
