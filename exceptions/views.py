"""The desk's pages: the live board and the analytics, for signed-in dispatchers and admins, and the sign-in.

Thin: who may see the page, which depots, and the template. The data comes
from the board API and the websocket; the pages only carry their addresses.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any, cast

import redis
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.decorators import user_passes_test
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from dispatch.models import User
from exceptions import board

logger = logging.getLogger(__name__)

BOARD_SOCKET_PATH = "/ws/board/"

# Anyone else goes to the sign-in page (which says when a signed-in account cannot open the page).
desk_user_required = user_passes_test(board.board_user_allowed)


@desk_user_required
@ensure_csrf_cookie  # the board's scripts send the cookie's token with every action
def board_page(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    context = {
        "depots": list(board.board_depots(user=user)),
        "tile_url": settings.BOARD_TILE_URL,
        "tile_attribution": settings.BOARD_TILE_ATTRIBUTION,
        "ws_path": BOARD_SOCKET_PATH,
    }
    return render(request, "board/board.html", context)


@desk_user_required
@ensure_csrf_cookie
def analytics_page(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    return render(request, "board/analytics.html", {"depots": list(board.board_depots(user=user))})


# --- Signing in: a cap on failed attempts -----------------------------------------------------------------------------


def _login_failures_key(request: HttpRequest | None, username: str) -> str:
    # Per username and client address: a guesser is stopped, and cannot lock the real user out from elsewhere.
    # The address is read as the API throttles read it (NUM_PROXIES), so a client cannot pick its own.
    address = BaseThrottle().get_ident(cast(Request, request)) if request is not None else ""
    digest = hashlib.sha256(f"{username.casefold()}|{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


class LoginThrottleMixin:
    """At most ``LOGIN_FAILURE_LIMIT`` failed sign-ins per username and address in ``LOGIN_FAILURE_WINDOW_S``.

    Counted in the shared cache, checked before the password is: once over the limit even the right
    password is refused until the window ends, so guessing gains nothing.
    """

    request: HttpRequest | None
    cleaned_data: dict[str, Any]
    throttled = False

    def clean(self) -> dict[str, Any]:
        key = _login_failures_key(self.request, self.cleaned_data.get("username") or "")
        try:
            failures = cache.get(key, 0)
        except redis.RedisError:
            # Like the API's limits, a courtesy: a Redis blip must not lock the desk out.
            logger.warning("sign-in limit unavailable: Redis unreachable")
            failures = 0
        if failures >= settings.LOGIN_FAILURE_LIMIT:
            self.throttled = True
            minutes = math.ceil(settings.LOGIN_FAILURE_WINDOW_S / 60)
            raise ValidationError(
                "Too many failed sign-ins. Wait %(minutes)s minutes and try again, or ask an admin to reset "
                "your password.",
                code="throttled",
                params={"minutes": minutes},
            )
        try:
            return cast(dict[str, Any], super().clean())  # type: ignore[misc]
        except ValidationError:
            _login_failure_record(key)
            raise


def _login_failure_record(key: str) -> None:
    try:
        # The window runs from the first failure; incr keeps the key's expiry.
        if not cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_S):
            cache.incr(key)
    except ValueError:
        cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_S)  # expired between add and incr
    except redis.RedisError:
        logger.warning("sign-in limit unavailable: Redis unreachable")


class ThrottledAuthenticationForm(LoginThrottleMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(LoginThrottleMixin, AdminAuthenticationForm):
    pass


class DeskLoginView(LoginView):
    """Django's sign-in, with failed attempts capped: over the cap, a 429 and the form saying why."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
            response["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_S)
        return response
