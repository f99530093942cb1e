"""The desk's pages: the live board and the analytics, for signed-in dispatchers and admins.

Thin: who may see the page, which depots, and the template. The data comes
from the board API and the websocket; the pages only carry their addresses.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from dispatch.models import User
from exceptions import board

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
