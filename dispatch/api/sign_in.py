"""The driver app's session: a sign-in code from a dispatcher becomes the phone's own driver token; the driver's
own settings (the language dispatch writes to them in); signing out."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.driver import DriverView
from dispatch.api.errors import INVALID, errors
from dispatch.api.parsers import JSONParser
from dispatch.api.throttling import WindowRateThrottle
from dispatch.models import ApiToken, Driver, languages
from dispatch.services.sign_in import SignInRefused, driver_language_set, driver_sign_in
from dispatch.services.tokens import api_token_revoke


class SignInInput(serializers.Serializer[Any]):
    code = serializers.CharField(
        max_length=20, help_text="The code a dispatcher gave you, e.g. `ABCD-EFGH` (case, spaces and dashes ignored)."
    )
    device = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default="",
        help_text="What to call this phone in admin's token list, e.g. `Pixel 8`.",
    )  # fmt: skip


class DriverOutput(serializers.Serializer[Any]):
    name = serializers.CharField()
    depot = serializers.CharField(help_text="The depot's name.")
    language = serializers.ChoiceField(
        choices=languages(),
        allow_blank=True,
        help_text="What dispatch's instructions are written in; the app shows itself in it too. Empty: not chosen "
        "yet (English): the app sets the phone's.",
    )


class SignInOutput(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="This phone's bearer token: keep it; it is not shown again.")
    driver = DriverOutput()


class DriverInput(serializers.Serializer[Any]):
    language = serializers.ChoiceField(
        choices=languages(), help_text="The language dispatch writes instructions in from now on."
    )


def _driver_body(driver: Driver) -> dict[str, str]:
    return {
        "name": driver.user.get_full_name() or driver.user.get_username(),
        "depot": driver.depot.name,
        "language": driver.language,
    }


class DriverSignInView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    throttle_classes = [WindowRateThrottle]
    throttle_scope = "driver_sign_in"  # per address: guessing codes is slow

    @extend_schema(
        operation_id="driver_sign_in",
        summary="Sign the driver app in with a code from a dispatcher",
        description="The code is used once and expires 15 minutes after it was issued. No token is needed.",
        request=SignInInput,
        responses={201: SignInOutput, 400: INVALID},
        auth=[],
    )
    def post(self, request: Request, version: str) -> Response:
        given = SignInInput(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            _, key, driver = driver_sign_in(code=given.validated_data["code"], device=given.validated_data["device"])
        except SignInRefused:
            raise serializers.ValidationError(
                {"code": ["This code does not sign in: it is used, expired or mistyped. Ask dispatch for a new one."]}
            ) from None
        body = {"token": key, "driver": _driver_body(driver)}
        return Response(SignInOutput(body).data, status=status.HTTP_201_CREATED)


class DriverSignOutView(DriverView):
    @extend_schema(
        operation_id="driver_sign_out",
        summary="Sign this phone out: its token stops working at once",
        request=None,
        responses={204: None, 401: errors(not_authenticated="no valid token")},
    )
    def post(self, request: Request, version: str) -> Response:
        api_token_revoke(token=cast(ApiToken, request.auth))  # ApiTokenAuthentication's
        return Response(status=status.HTTP_204_NO_CONTENT)


class DriverMeView(DriverView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="driver_me",
        summary="The signed-in driver: name, depot and the language dispatch writes in",
        responses={200: DriverOutput, 401: errors(not_authenticated="no valid token")},
    )
    def get(self, request: Request, version: str) -> Response:
        return Response(DriverOutput(_driver_body(self.driver(request))).data)

    @extend_schema(
        operation_id="driver_me_update",
        summary="Change the language dispatch writes instructions in",
        description="Instructions pushed from now on are written in it; those already sent keep theirs.",
        request=DriverInput,
        responses={200: DriverOutput, 400: INVALID, 401: errors(not_authenticated="no valid token")},
    )
    def patch(self, request: Request, version: str) -> Response:
        given = DriverInput(data=request.data)
        given.is_valid(raise_exception=True)
        driver = self.driver(request)
        driver_language_set(driver=driver, language=given.validated_data["language"])
        return Response(DriverOutput(_driver_body(driver)).data)
