"""Stand-ins for the desk's ports: they record what a case asked of outreach and routing, and answer as told.

Selected through the EXCEPTIONS_OUTREACH / EXCEPTIONS_ROUTING settings, as the real adapters are. What a
case's workflow does not ask of them (a dispatcher's words, a text ahead of the driver, the conversation, a
window given ahead) goes to the real adapters they extend.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from exceptions.models import ExceptionCase
from exceptions.ports import AskResult, RoutingRequest
from outreach.adapter import SmsOutreach
from routing.adapter import SolverRouting


class RecordingOutreach(SmsOutreach):
    asked: ClassVar[list[dict[str, Any]]] = []
    notified: ClassVar[list[tuple[int, str]]] = []
    # What the desk read back to the recipient, and the readings it asked them to confirm.
    read_backs: ClassVar[list[dict[str, Any]]] = []
    confirms: ClassVar[list[dict[str, Any]]] = []
    reachable: ClassVar[bool] = True
    deferred_until: ClassVar[dt.datetime | None] = None

    @classmethod
    def reset(cls) -> None:
        cls.asked, cls.notified, cls.reachable, cls.deferred_until = [], [], True, None
        cls.read_backs, cls.confirms = [], []

    def ask(self, *, case: ExceptionCase, topic: str, reprompt: bool) -> AskResult:
        self.asked.append({"case": case.pk, "topic": topic, "reprompt": reprompt})
        if not self.reachable:
            return AskResult(reachable=False, reason="The recipient opted out and has no app.")
        return AskResult(reachable=True, channel="sms", deferred_until=self.deferred_until)

    def notify_outcome(self, *, case: ExceptionCase) -> None:
        self.notified.append((case.pk, case.outcome))

    def confirm(self, *, case: ExceptionCase, reading: Any) -> AskResult:
        self.confirms.append({"case": case.pk, "intent": reading.intent, "code": reading.code})
        if not self.reachable:
            return AskResult(reachable=False, reason="The recipient opted out and has no app.")
        return AskResult(reachable=True, channel="sms", deferred_until=self.deferred_until)

    def read_back(self, *, case: ExceptionCase, heard: Any, final: bool) -> None:
        self.read_backs.append({"case": case.pk, "intent": heard.intent, "final": final})
        if final:
            # The one text that reads back the reply is also the outcome's notice.
            self.notified.append((case.pk, case.outcome))

    def can_reach(self, *, recipient: Any) -> bool:
        return self.reachable


class RecordingRouting(SolverRouting):
    requests: ClassVar[list[dict[str, Any]]] = []
    accepted: ClassVar[bool] = True

    @classmethod
    def reset(cls) -> None:
        cls.requests, cls.accepted = [], True

    def reinsert(
        self, *, case: ExceptionCase, window_start: dt.datetime | None, window_end: dt.datetime | None
    ) -> RoutingRequest:
        self.requests.append({"case": case.pk, "window_start": window_start, "window_end": window_end})
        if not self.accepted:
            return RoutingRequest(accepted=False, reason="No run has room before the shift ends.")
        return RoutingRequest(accepted=True)
