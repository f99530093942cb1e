"""Shapes the driver app receives, over REST and over its websocket alike."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from dispatch.models import DriverInstruction


class InstructionPayload(serializers.ModelSerializer[DriverInstruction]):
    cursor = serializers.CharField(source="seq", help_text="Pass as ?after= to get what came after this one.")
    stop_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = DriverInstruction
        fields = ("id", "cursor", "kind", "stop_id", "text", "payload", "created_at", "acked_at")


def instruction_payload(instruction: DriverInstruction) -> dict[str, Any]:
    return dict(InstructionPayload(instruction).data)
