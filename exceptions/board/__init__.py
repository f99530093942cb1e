"""The live exception board: what a dispatcher's browser reads, receives and sends.

- ``payloads``: every shape sent to the browser, over REST and the websocket alike;
- ``reads``: who may see which depots, the snapshot, one case's panel;
- ``risk_board``: the risky stops of a depot's day, with what was learned ahead of the driver;
- ``api``: the board's REST API, reads and the dispatcher's one-click actions;
- ``consumers``: the board's websocket.

The reads the rest of the desk uses are re-exported here.
"""

from exceptions.board.reads import board_depots, board_user_allowed, case_row_get, case_rows

__all__ = [
    "board_depots",
    "board_user_allowed",
    "case_row_get",
    "case_rows",
]
