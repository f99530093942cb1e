"""The board's REST API: the snapshot, a case's panel, the risky stops, and the dispatcher's one-click actions.

Read with the desk's session (CSRF on every write). A dispatcher sees the
depots they work (``User.depots``), an admin every depot; a case of another
depot is a 404, so ids reveal nothing. Each action is a permission-checked
fetch, a serializer, one workflow call and the case's new row; a stale
``version`` is a 409 with the current row, a move the workflow refuses a 400.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from typing import Any, ClassVar, cast

from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.plumbing import resolve_type_hint
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.errors import INVALID, Conflict, errors
from dispatch.api.parsers import JSONParser
from dispatch.models import Depot, ScanEvent, User
from exceptions import workflow
from exceptions.board import reads, risk_board
from exceptions.board.payloads import CaseDetail, CaseRow, DriverRoute, SearchResult, WaitingParcels, text_masked
from exceptions.models import ExceptionCase

# Ids beyond a bigint are no case at all (and would fail in the database, not as a 404).
MAX_ID = 2**63 - 1


def _depot_field() -> serializers.IntegerField:
    """The ``depot`` a board read may be narrowed to."""
    return serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="One of your depots; default: all of them."
    )


MAX_AGE_MINUTES = 60 * 24 * 60
# A redelivery window starts from yesterday (a window already under way) to a month ahead.
WINDOW_PAST = dt.timedelta(days=1)
WINDOW_AHEAD = dt.timedelta(days=31)
WINDOW_LONGEST = dt.timedelta(days=7)
NO_DEPOT = "no such depot among the depots you work"

Outcome = ExceptionCase.Outcome


class IsBoardUser(BasePermission):
    """A dispatcher or an admin, signed in with the desk's session."""

    message = "The board is for dispatchers and admins: sign in to the desk."

    def has_permission(self, request: Request, view: Any) -> bool:
        return reads.board_user_allowed(request.user)


class CaseChanged(Conflict):
    default_code = "case_changed"

    def __init__(self, detail: str, *, case: CaseRow | None) -> None:
        super().__init__(detail)
        self.extra = {"case": case}


class ActionRefused(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "not_allowed"


class BoardView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsBoardUser]

    def user(self, request: Request) -> User:
        return cast(User, request.user)  # IsBoardUser lets only a signed-in user through

    def depot_ids(self, request: Request) -> list[int]:
        return reads.board_depot_ids(user=self.user(request)) or []

    def depots(self, request: Request, *, depot_id: int | None) -> list[Depot]:
        """The user's depots, or the one asked for if the user works it; a 404 otherwise."""
        depots = list(reads.board_depots(user=self.user(request)))
        if depot_id is None:
            return depots
        depots = [depot for depot in depots if depot.pk == depot_id]
        if not depots:
            raise exceptions.NotFound("No such depot among the depots you work.", code="depot_not_found")
        return depots

    def case_depot_id(self, request: Request, case_id: int) -> int:
        """The case's depot, if the user works it; a 404 otherwise."""
        depot_id = (
            reads.case_depot_id(case_id=case_id, depot_ids=self.depot_ids(request)) if case_id <= MAX_ID else None
        )
        if depot_id is None:
            raise exceptions.NotFound("No such case on your board.", code="case_not_found")
        return depot_id


def _schema(hint: Any) -> dict[str, Any]:
    """The OpenAPI schema of a payload's TypedDict: the shapes are written once, in exceptions.board.payloads."""
    return cast(dict[str, Any], resolve_type_hint(hint))


CASE_RESPONSE = {"type": "object", "properties": {"case": _schema(CaseRow)}, "required": ["case"]}
CONFLICT_RESPONSE = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "case": {**_schema(CaseRow), "nullable": True},
    },
    "required": ["detail", "code"],
}


# --- The snapshot ---------------------------------------------------------------------------------------------------


class BoardSnapshotView(BoardView):
    class InputSerializer(serializers.Serializer[Any]):
        depot = _depot_field()
        state = serializers.CharField(
            required=False, max_length=200, help_text="Open states, comma-separated (e.g. escalated,opened)."
        )
        reason = serializers.CharField(required=False, max_length=40, help_text="A reason code, e.g. ACCESS_DENIED.")
        driver = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="A driver's id.")
        age = serializers.IntegerField(
            required=False,
            min_value=0,
            max_value=MAX_AGE_MINUTES,
            help_text="Only cases opened at least this many minutes ago.",
        )

        def validate_state(self, value: str) -> tuple[str, ...]:
            states = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
            unknown = [item for item in states if item not in reads.QUEUE_STATES]
            if unknown:
                raise serializers.ValidationError(
                    f"Not an open state: {', '.join(unknown)}. Use {', '.join(reads.QUEUE_STATES)}."
                )
            return states

    @extend_schema(
        operation_id="board_snapshot",
        summary="The live board as it is now",
        description=(
            "The open cases of your depots, most urgent first (priority, then SLA due), the counters, and the "
            "drivers' last positions. `seq` holds each depot's last event number, read before the cases: apply "
            "only websocket events numbered after it. The filters narrow the cases, not the counters."
        ),
        parameters=[InputSerializer],
        responses={200: _schema(reads.Snapshot), 400: INVALID, 404: errors(depot_not_found=NO_DEPOT)},
    )
    def get(self, request: Request, version: str) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        depots = self.depots(request, depot_id=values.get("depot"))
        filters = reads.BoardFilters(
            states=values.get("state", ()),
            reason_code=values.get("reason", ""),
            driver_id=values.get("driver"),
            min_age_minutes=values.get("age"),
        )
        return Response(reads.board_snapshot(depots=depots, filters=filters))


# --- Risky stops ----------------------------------------------------------------------------------------------------


class RiskyStopsView(BoardView):
    class InputSerializer(serializers.Serializer[Any]):
        day = serializers.ChoiceField(
            choices=risk_board.DAYS,
            required=False,
            default="today",
            help_text="today or tomorrow, in each depot's time zone.",
            error_messages={"invalid_choice": "Pick today or tomorrow."},
        )
        depot = _depot_field()
        driver = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_ID, help_text="Only this driver's stops."
        )
        sort = serializers.ChoiceField(
            choices=risk_board.SORTS,
            required=False,
            default="risk",
            help_text="risk: riskiest first; time: by planned arrival.",
            error_messages={"invalid_choice": "Sort by risk or time."},
        )
        offset = serializers.IntegerField(
            required=False, default=0, min_value=0, max_value=100_000, help_text="Skip this many (the next page)."
        )

    @extend_schema(
        operation_id="board_risky_stops",
        summary="Today's or tomorrow's risky stops, with their reasons and what was learned ahead",
        description=(
            "Stops of your depots' day whose risk is at or above the prevention threshold, and any stop whose "
            "recipient was contacted before the driver came; riskiest first, at most `limit` of `total`. "
            "`learned` is in words: an access code is never shown, only that it came."
        ),
        parameters=[InputSerializer],
        responses={200: _schema(risk_board.RiskyStops), 400: INVALID, 404: errors(depot_not_found=NO_DEPOT)},
    )
    def get(self, request: Request, version: str) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        depots = self.depots(request, depot_id=values.get("depot"))
        return Response(
            risk_board.risky_stops(
                depots=depots,
                day=cast(risk_board.Day, values["day"]),
                driver_id=values.get("driver"),
                sort=values["sort"],
                offset=values["offset"],
            )
        )


class BoardWaitingView(BoardView):
    class InputSerializer(serializers.Serializer[Any]):
        depot = _depot_field()

    @extend_schema(
        operation_id="board_waiting",
        summary="Parcels moved to a day with no run planned yet, waiting for that day's plan",
        description=f"Soonest day first, at most {reads.WAITING_LIMIT} of `total`.",
        parameters=[InputSerializer],
        responses={200: _schema(WaitingParcels), 400: INVALID, 404: errors(depot_not_found=NO_DEPOT)},
    )
    def get(self, request: Request, version: str) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        depots = self.depots(request, depot_id=params.validated_data.get("depot"))
        return Response(reads.parcels_waiting(depot_ids=[depot.pk for depot in depots]))


class BoardDriverRouteView(BoardView):
    @extend_schema(
        operation_id="board_driver_route",
        summary="A driver's stops left today, in order, to draw on the map",
        responses={200: _schema(DriverRoute), 404: errors(driver_not_found="no such driver at your depots")},
    )
    def get(self, request: Request, version: str, driver_id: int) -> Response:
        route = (
            reads.driver_route(driver_id=driver_id, depot_ids=self.depot_ids(request)) if driver_id <= MAX_ID else None
        )
        if route is None:
            raise exceptions.NotFound("No such driver at your depots.", code="driver_not_found")
        return Response(route)


class BoardSearchView(BoardView):
    class InputSerializer(serializers.Serializer[Any]):
        q = serializers.CharField(
            min_length=2,
            max_length=80,
            help_text="Part of an order reference, a recipient's name or a street address, or the last digits of "
            "the recipient's phone.",
        )

    @extend_schema(
        operation_id="board_search",
        summary="Find cases, open and ended, by order, recipient, address or the last digits of a phone",
        description=f"Newest first, at most {reads.SEARCH_LIMIT}. Phone numbers are never returned, only matched.",
        parameters=[InputSerializer],
        responses={200: _schema(SearchResult), 400: INVALID},
    )
    def get(self, request: Request, version: str) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = reads.cases_search(depot_ids=self.depot_ids(request), text=params.validated_data["q"])
        return Response({"cases": rows, "limit": reads.SEARCH_LIMIT})


# --- One case -------------------------------------------------------------------------------------------------------


class BoardCaseView(BoardView):
    @extend_schema(
        operation_id="board_case",
        summary="A case's panel: its row, timeline, conversation, order, recipient and the actions open now",
        description="Access codes in the conversation are masked; the recipient's number shows its last two digits.",
        responses={200: _schema(CaseDetail), 404: errors(case_not_found="no such case on your board")},
    )
    def get(self, request: Request, version: str, case_id: int) -> Response:
        detail = (
            reads.board_case_detail(case_id=case_id, depot_ids=self.depot_ids(request)) if case_id <= MAX_ID else None
        )
        if detail is None:
            raise exceptions.NotFound("No such case on your board.", code="case_not_found")
        return Response(detail)


class BoardCasePhotoView(BoardView):
    @extend_schema(
        operation_id="board_case_photo",
        summary="The photo the driver took with the case's failed scan",
        responses={
            (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The photo as the driver sent it."),
            404: errors(photo_not_found="no such case on your board, or its scan has no photo"),
        },
    )
    def get(self, request: Request, version: str, case_id: int) -> FileResponse:
        scan = (
            ScanEvent.objects.filter(case__pk=case_id, case__depot_id__in=self.depot_ids(request)).only("photo").first()
            if case_id <= MAX_ID
            else None
        )
        if scan is None or not scan.photo:
            raise exceptions.NotFound("No photo for this case on your board.", code="photo_not_found")
        kind = mimetypes.guess_type(str(scan.photo.name))[0] or "application/octet-stream"
        response = FileResponse(scan.photo.open("rb"), content_type=kind)
        response["Cache-Control"] = "private, max-age=300"
        return response


class CaseActionView(BoardView):
    """One dispatcher action: the body carries the case ``version`` the dispatcher decided on.

    JSON only, as the board sends it: one content type per operation, so a client generated from the
    schema is generated right."""

    parser_classes = [JSONParser]
    action_name: ClassVar[str]

    class InputSerializer(serializers.Serializer[Any]):
        version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, version: str, case_id: int) -> Response:
        depot_id = self.case_depot_id(request, case_id)
        params = self.InputSerializer(data=request.data, context={"depot_id": depot_id, "now": timezone.now()})
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        try:
            self.act(case_id=case_id, user=self.user(request), version=data.pop("version"), data=data)
        except workflow.CaseConflict as exc:
            raise CaseChanged(str(exc), case=reads.case_row_get(case_id=case_id)) from None
        except ExceptionCase.DoesNotExist:
            raise exceptions.NotFound("No such case on your board.", code="case_not_found") from None
        except workflow.WorkflowError as exc:
            raise ActionRefused(str(exc)) from None
        return Response({"case": reads.case_row_get(case_id=case_id)})


def _action_schema(view: type[CaseActionView], summary: str) -> Any:
    return extend_schema(
        operation_id=f"board_case_{view.action_name.replace('-', '_')}",
        summary=summary,
        request=view.InputSerializer,
        responses={
            200: OpenApiResponse(CASE_RESPONSE, description="The case's row after the action."),
            400: errors(
                invalid="a field is wrong; `fields` says which", not_allowed="the case does not allow this move now"
            ),
            404: errors(case_not_found="no such case on your board"),
            409: OpenApiResponse(
                CONFLICT_RESPONSE, description="`case_changed`: the case changed since `version`; its row now."
            ),
        },
    )


def _note() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=500,
        help_text="Shown on the timeline; digits that could be a code or a phone number are masked.",
    )


class ApproveView(CaseActionView):
    action_name = "approve"

    class InputSerializer(CaseActionView.InputSerializer):
        pass

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_approve(case_id=case_id, user=user, version=version)


class ResolveView(CaseActionView):
    action_name = "resolve"

    class InputSerializer(CaseActionView.InputSerializer):
        outcome = serializers.ChoiceField(choices=Outcome.choices)
        note = _note()
        tell_recipient = serializers.BooleanField(
            default=True,
            help_text="Text the recipient how it ended, in their language (false: the dispatcher already told them).",
        )

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_resolve(
            case_id=case_id,
            user=user,
            version=version,
            outcome=data["outcome"],
            note=text_masked(data["note"]),
            tell_recipient=data["tell_recipient"],
        )


class WindowView(CaseActionView):
    action_name = "window"

    class InputSerializer(CaseActionView.InputSerializer):
        window_start = serializers.DateTimeField(help_text="When the recipient can take it (ISO 8601).")
        window_end = serializers.DateTimeField(
            required=False, allow_null=True, default=None, help_text="Until when; null: from the start on."
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            now: dt.datetime = self.context["now"]
            start, end = attrs["window_start"], attrs.get("window_end")
            if not now - WINDOW_PAST <= start <= now + WINDOW_AHEAD:
                raise serializers.ValidationError(
                    {"window_start": ["Pick a start between yesterday and a month from now."]}
                )
            if end is not None and not start < end <= start + WINDOW_LONGEST:
                raise serializers.ValidationError(
                    {"window_end": ["The window must end after it starts, within a week."]}
                )
            if (end or start + WINDOW_LONGEST) <= now:
                raise serializers.ValidationError({"window_end": ["The window is already over."]})
            return attrs

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_window_set(
            case_id=case_id,
            user=user,
            version=version,
            window_start=data["window_start"],
            window_end=data["window_end"],
        )


class AccessCodeView(CaseActionView):
    action_name = "access-code"

    class InputSerializer(CaseActionView.InputSerializer):
        code = serializers.CharField(max_length=64, help_text="Goes to the access vault, encrypted; never shown.")

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_access_code_enter(case_id=case_id, user=user, version=version, code=data["code"])


class MessageView(CaseActionView):
    action_name = "message"

    class InputSerializer(CaseActionView.InputSerializer):
        text = serializers.CharField(max_length=640, help_text="Sent to the recipient on their channel, as written.")

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_message_send(case_id=case_id, user=user, version=version, text=data["text"])


class SendNowView(CaseActionView):
    action_name = "send-now"

    class InputSerializer(CaseActionView.InputSerializer):
        message_id = serializers.IntegerField(
            min_value=1, max_value=2**63 - 1, help_text="A message of this case that quiet hours hold (`held`)."
        )

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_message_send_now(case_id=case_id, user=user, version=version, message_id=data["message_id"])


class PhoneView(CaseActionView):
    action_name = "phone"

    class InputSerializer(CaseActionView.InputSerializer):
        pass

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_call_place(case_id=case_id, user=user, version=version)


class CallView(CaseActionView):
    action_name = "call"

    class InputSerializer(CaseActionView.InputSerializer):
        note = _note()

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_call_mark(case_id=case_id, user=user, version=version, note=text_masked(data["note"]))


class ReturnView(CaseActionView):
    action_name = "return"

    class InputSerializer(CaseActionView.InputSerializer):
        note = _note()

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_return_to_sender(case_id=case_id, user=user, version=version, note=text_masked(data["note"]))


class AssignView(CaseActionView):
    action_name = "assign"

    class InputSerializer(CaseActionView.InputSerializer):
        user_id = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            min_value=1,
            max_value=MAX_ID,
            help_text="A dispatcher of the case's depot; null or left out: you.",
        )

        def validate_user_id(self, value: int | None) -> User | None:
            if value is None:
                return None
            assignee = User.objects.filter(pk=value, is_active=True, depots=self.context["depot_id"]).first()
            if assignee is None:
                raise serializers.ValidationError("No active dispatcher of this case's depot has this id.")
            return assignee

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_assign(case_id=case_id, user=user, version=version, assignee=data["user_id"] or user)


class ReleaseView(CaseActionView):
    action_name = "release"

    class InputSerializer(CaseActionView.InputSerializer):
        pass

    def act(self, *, case_id: int, user: User, version: int, data: dict[str, Any]) -> None:
        workflow.case_release(case_id=case_id, user=user, version=version)


ACTIONS: dict[type[CaseActionView], str] = {
    ApproveView: "Approve the outcome the case holds (a safe drop, a neighbour, a window)",
    ResolveView: "Resolve the case with an outcome settled by hand",
    WindowView: "Set a redelivery window: routing finds the slot",
    AccessCodeView: "Enter an access code: it goes to the vault and the driver is told",
    MessageView: "Send the recipient a message",
    SendNowView: "Send now a message that the recipient's quiet hours hold",
    PhoneView: "Call the recipient: your phone rings first, then theirs, both shown the company's number",
    CallView: "Record a call to the recipient",
    ReturnView: "Return the parcel to the sender",
    AssignView: "Assign the case to a dispatcher (you by default)",
    ReleaseView: "Hand an escalated case back to automation",
}
for _view, _summary in ACTIONS.items():
    # Each action documents its own body and answers; the shared ``post`` is wrapped per view.
    extend_schema_view(post=_action_schema(_view, _summary))(_view)
    _name = "".join(part.title() for part in _view.action_name.split("-"))
    extend_schema_serializer(component_name=f"BoardCase{_name}Input")(_view.InputSerializer)
