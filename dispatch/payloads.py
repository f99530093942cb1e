"""Shapes the driver app receives, over REST and over its websocket alike."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from dispatch.models import DriverInstruction


class InstructionPayload(serializers.ModelSerializer[DriverInstruction]):
    cursor = serializers.CharField(source="seq", help_text="Pass as ?after= to get what came after this one.")
    stop_id = serializers.IntegerField(allow_null=True)
    payload = serializers.DictField(
        help_text="Details for the app, by `kind` (always an object, often empty): `route_updated` has `run_id` "
        "and `plan_version` (read the run again); `skip` has `case_id` and, when the parcel goes to a later day, "
        "`planned_day`; `wait` has `case_id` and `minutes`; a text sent ahead of the driver has `prearrival: "
        "true`. `text` always says it in words."
    )

    class Meta:
        model = DriverInstruction
        fields = ("id", "cursor", "kind", "stop_id", "text", "payload", "created_at", "acked_at")
        # Sent, never received: every field is in every instruction, so generated clients need no Optional.
        read_only_fields = fields


def instruction_payload(instruction: DriverInstruction) -> dict[str, Any]:
    return dict(InstructionPayload(instruction).data)
