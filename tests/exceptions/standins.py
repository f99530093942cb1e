"""Stand-ins for outreach and routing until they land: they record what the operator asked of them.

Selected through the EXCEPTIONS_OUTREACH / EXCEPTIONS_ROUTING settings, exactly
as the real adapters will be.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from exceptions.models import ExceptionCase
from exceptions.ports import AskResult, RoutingRequest


class RecordingOutreach:
    asked: ClassVar[list[dict[str, Any]]] = []
    notified: ClassVar[list[tuple[int, str]]] = []
    reachable: ClassVar[bool] = True
    deferred_until: ClassVar[dt.datetime | None] = None

    @classmethod
    def reset(cls) -> None:
        cls.asked, cls.notified, cls.reachable, cls.deferred_until = [], [], True, None

    def ask(self, *, case: ExceptionCase, topic: str, reprompt: bool) -> AskResult:
        self.asked.append({"case": case.pk, "topic": topic, "reprompt": reprompt})
        if not self.reachable:
            return AskResult(reachable=False, reason="The recipient opted out and has no app.")
        return AskResult(reachable=True, channel="sms", deferred_until=self.deferred_until)

    def notify_outcome(self, *, case: ExceptionCase) -> None:
        self.notified.append((case.pk, case.outcome))

    def can_reach(self, *, recipient: Any) -> bool:
        return self.reachable


class RecordingRouting:
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
