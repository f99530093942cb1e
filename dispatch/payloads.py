"""Shapes the driver app receives, over REST and over its websocket alike."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
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


# --- The schema of an instruction, by kind -----------------------------------------------------------
# What the feed sends is ``InstructionPayload`` above; these describe it for clients, one shape per kind,
# told apart by ``kind`` (a discriminated union), so a generated client gets a typed ``payload``.


def _choices(*kinds: DriverInstruction.Kind) -> list[tuple[str, str]]:
    return [(kind.value, kind.label) for kind in kinds]


class _InstructionCommon(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    cursor = serializers.CharField(help_text="Pass as ?after= to get what came after this one.")
    stop_id = serializers.IntegerField(allow_null=True)
    text = serializers.CharField(help_text="What the driver reads. Never an access code.")
    created_at = serializers.DateTimeField()
    acked_at = serializers.DateTimeField(allow_null=True)


class CasePayload(serializers.Serializer[Any]):
    case_id = serializers.IntegerField(required=False, help_text="The exception case this instruction answers.")
    minutes = serializers.IntegerField(required=False, help_text="How long to wait at the stop.")
    prearrival = serializers.BooleanField(required=False, help_text="Learned from the recipient ahead of the visit.")


class CaseInstruction(_InstructionCommon):
    """Go back to the stop: a code is on file, the recipient is coming down, a safe place or a neighbour."""

    kind = serializers.ChoiceField(
        choices=_choices(
            DriverInstruction.Kind.ACCESS_CODE,
            DriverInstruction.Kind.RETRY_NOW,
            DriverInstruction.Kind.WAIT,
            DriverInstruction.Kind.SAFE_DROP,
            DriverInstruction.Kind.NEIGHBOUR,
        )
    )
    payload = CasePayload()


class SkipPayload(serializers.Serializer[Any]):
    case_id = serializers.IntegerField(required=False)
    new_stop_id = serializers.IntegerField(required=False, help_text="The stop the parcel moved to, on another run.")
    planned_day = serializers.DateField(required=False, help_text="The day the parcel goes out again.")


class SkipInstruction(_InstructionCommon):
    """Do not attempt this stop: the parcel moved to another run or day."""

    kind = serializers.ChoiceField(choices=_choices(DriverInstruction.Kind.SKIP))
    payload = SkipPayload()


class RouteStop(serializers.Serializer[Any]):
    stop_id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    order = serializers.CharField(help_text="The order's reference.")
    planned_arrival = serializers.DateTimeField(allow_null=True)


class RoutePayload(serializers.Serializer[Any]):
    run_id = serializers.IntegerField()
    plan_version = serializers.IntegerField(help_text="Read the run again when it is newer than yours.")
    stops_left = serializers.IntegerField(required=False)
    sequence = RouteStop(many=True, required=False, help_text="The stops left, in their new order.")


class RouteUpdatedInstruction(_InstructionCommon):
    """The run's stops changed order or number: read the run again."""

    kind = serializers.ChoiceField(choices=_choices(DriverInstruction.Kind.ROUTE_UPDATED))
    payload = RoutePayload()


class NotePayload(serializers.Serializer[Any]):
    prearrival = serializers.BooleanField(required=False, help_text="Learned from the recipient ahead of the visit.")


class NoteInstruction(_InstructionCommon):
    """Something to know at a stop, from dispatch or from the recipient ahead of the visit."""

    kind = serializers.ChoiceField(choices=_choices(DriverInstruction.Kind.NOTE))
    payload = NotePayload()


INSTRUCTION_BY_KIND: dict[str, Any] = {
    **dict.fromkeys(
        ("access_code", "retry_now", "wait", "safe_drop", "neighbour"),
        CaseInstruction,
    ),
    "skip": SkipInstruction,
    "route_updated": RouteUpdatedInstruction,
    "note": NoteInstruction,
}


def instruction_schema(*, many: bool = False) -> PolymorphicProxySerializer:
    """The instruction as the schema says it: one shape per kind, told apart by ``kind``."""
    return PolymorphicProxySerializer(
        component_name="Instruction",
        serializers=INSTRUCTION_BY_KIND,
        resource_type_field_name="kind",
        many=many,
    )


@extend_schema_field(instruction_schema())
class InstructionField(serializers.Field):
    """An instruction inside another answer (a stop's newest), sent as the feed sends it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: DriverInstruction) -> dict[str, Any]:
        return instruction_payload(value)
