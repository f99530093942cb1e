"""The desk's addresses: the pages, and the board's API (mounted under /api/v1/board/)."""

from __future__ import annotations

from django.urls import path

from exceptions import views
from exceptions.board import api as board_api
from exceptions.board import stop_actions

page_urlpatterns = [
    path("board/", views.board_page, name="board"),
    path("analytics/", views.analytics_page, name="analytics"),
]

api_urlpatterns = [
    path("snapshot", board_api.BoardSnapshotView.as_view(), name="board-snapshot"),
    path("cases/<int:case_id>", board_api.BoardCaseView.as_view(), name="board-case"),
    path("cases/<int:case_id>/photo", board_api.BoardCasePhotoView.as_view(), name="board-case-photo"),
    path("risky-stops", board_api.RiskyStopsView.as_view(), name="board-risky-stops"),
    path("search", board_api.BoardSearchView.as_view(), name="board-search"),
    path("waiting", board_api.BoardWaitingView.as_view(), name="board-waiting"),
    path("drivers/<int:driver_id>/route", board_api.BoardDriverRouteView.as_view(), name="board-driver-route"),
    *(
        path(f"cases/<int:case_id>/{view.action_name}", view.as_view(), name=f"board-case-{view.action_name}")
        for view in board_api.ACTIONS
    ),
    *(
        path(f"stops/<int:stop_id>/{view.action_name}", view.as_view(), name=f"board-stop-{view.action_name}")
        for view in stop_actions.STOP_ACTIONS
    ),
]
