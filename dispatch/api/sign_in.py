"""The driver app signs itself in and out: a sign-in code from a dispatcher becomes the phone's own driver token."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.authentication import ApiTokenAuthentication
from dispatch.api.errors import INVALID, errors
from dispatch.api.parsers import JSONParser
from dispatch.api.permissions import IsDriver
from dispatch.api.throttling import WindowRateThrottle
from dispatch.models import ApiToken
from dispatch.services.sign_in import SignInRefused, driver_sign_in
from dispatch.services.tokens import api_token_revoke


class SignInInput(serializers.Serializer[Any]):
    code = serializers.CharField(
        max_length=20, help_text="The code a dispatcher gave you, e.g. `ABCD-EFGH` (case, spaces and dashes ignored)."
    )
    device = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default="",
        help_text="What to call this phone in admin's token list, e.g. `Pixel 8`.",
    )  # fmt: skip


class SignInOutput(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="This phone's bearer token: keep it; it is not shown again.")
    driver = inline_serializer(
        "SignedInDriver",
        {
            "name": serializers.CharField(),
            "depot": serializers.CharField(help_text="The depot's name."),
        },
    )


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
        body = {
            "token": key,
            "driver": {
                "name": driver.user.get_full_name() or driver.user.get_username(),
                "depot": driver.depot.name,
            },
        }
        return Response(SignInOutput(body).data, status=status.HTTP_201_CREATED)


class DriverSignOutView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsDriver]
    throttle_classes = [WindowRateThrottle]
    throttle_scope = "driver"

    @extend_schema(
        operation_id="driver_sign_out",
        summary="Sign this phone out: its token stops working at once",
        request=None,
        responses={204: None, 401: errors(not_authenticated="no valid token")},
    )
    def post(self, request: Request, version: str) -> Response:
        api_token_revoke(token=cast(ApiToken, request.auth))  # ApiTokenAuthentication's
        return Response(status=status.HTTP_204_NO_CONTENT)
