"""What a dispatcher does for a risky stop before the driver comes, from its row on the board.

``POST /api/v1/board/stops/<stop_id>/call``: ring the dispatcher's own phone, then the recipient, through the
company's line; ``POST /api/v1/board/stops/<stop_id>/access-code`` with ``code``: put the code the dispatcher learned
in the address's vault, and tell the driver if the stop is still to come. Only stops of one's depots that are still
to be attempted (404 and 400 otherwise); JSON only, CSRF-checked like every board action.
"""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dispatch.api.errors import errors
from dispatch.api.parsers import JSONParser
from dispatch.models import Stop, User
from exceptions import prevention
from exceptions.board.api import MAX_ID, ActionRefused, BoardView

DONE = inline_serializer("BoardStopActionDone", {"detail": serializers.CharField()})


class StopActionView(BoardView):
    parser_classes = [JSONParser]
    action_name: ClassVar[str]

    class InputSerializer(serializers.Serializer[Any]):
        pass

    def act(self, *, stop: Stop, user: User, data: dict[str, Any]) -> str:
        raise NotImplementedError

    def post(self, request: Request, version: str, stop_id: int) -> Response:
        stop = (
            Stop.objects.select_related("order__recipient", "order__address", "run__driver", "run__depot")
            .filter(pk=stop_id, run__depot_id__in=self.depot_ids(request))
            .first()
            if stop_id <= MAX_ID
            else None
        )
        if stop is None:
            raise exceptions.NotFound("No such stop on your board.", code="stop_not_found")
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if stop.status != Stop.Status.PENDING:
            raise ActionRefused(f"The stop is {stop.get_status_display().lower()}: there is no visit to prepare.")
        try:
            said = self.act(stop=stop, user=self.user(request), data=dict(params.validated_data))
        except prevention.StopActionRefused as exc:
            raise ActionRefused(str(exc)) from None
        return Response({"detail": said}, status=status.HTTP_200_OK)


def _schema(view: type[StopActionView], summary: str) -> Any:
    return extend_schema(
        operation_id=f"board_stop_{view.action_name.replace('-', '_')}",
        summary=summary,
        request=view.InputSerializer,
        responses={
            200: OpenApiResponse(DONE, description="What was done, in words."),
            400: errors(invalid="a field is wrong", not_allowed="the stop or the line does not allow it now"),
            404: errors(stop_not_found="no such stop on your board"),
        },
    )


class StopCallView(StopActionView):
    action_name = "call"

    def act(self, *, stop: Stop, user: User, data: dict[str, Any]) -> str:
        prevention.stop_call_place(stop=stop, user=user)
        return "Calling: your phone rings first."


class StopTextView(StopActionView):
    action_name = "text"

    def act(self, *, stop: Stop, user: User, data: dict[str, Any]) -> str:
        prevention.stop_text_now(stop=stop)
        return "Texted: the recipient is asked what the stop is missing."


class StopAccessCodeView(StopActionView):
    action_name = "access-code"

    class InputSerializer(serializers.Serializer[Any]):
        code = serializers.CharField(max_length=32, help_text="As typed on the keypad; kept encrypted, never shown.")

    def act(self, *, stop: Stop, user: User, data: dict[str, Any]) -> str:
        prevention.stop_code_enter(stop=stop, user=user, code=data["code"])
        return "Code saved: the driver will have it at the door."


STOP_ACTIONS: dict[type[StopActionView], str] = {
    StopTextView: "Text a risky stop's recipient now, asking for what it is missing (once per stop)",
    StopCallView: "Call a risky stop's recipient before the driver comes: your phone rings first",
    StopAccessCodeView: "Add the access code of a risky stop's address; its driver is told",
}
for _view, _summary in STOP_ACTIONS.items():
    extend_schema_view(post=_schema(_view, _summary))(_view)
    _name = "".join(part.title() for part in _view.action_name.split("-"))
    extend_schema_serializer(component_name=f"BoardStop{_name}Input")(_view.InputSerializer)
