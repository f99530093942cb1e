"""Every HTTP endpoint the project serves, read from the URLconf, and what protects it.

The suite's tests are parametrized from here, so a new endpoint is either
covered by them or makes ``test_every_endpoint_is_classified`` fail with its
name. Admin is Django's own site: every view behind ``admin_view`` (staff only,
CSRF-protected); the suite samples one of its change forms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from exceptions.board.api import CaseActionView

# Nothing private: a redirect, liveness, the API's published schema and its docs page; the driver app's shell (its
# page, service worker and manifest: the app's data comes from the driver API, by the token it signs in with).
PUBLIC = frozenset(
    {"home", "healthz", "api-schema", "api-docs", "driver-app", "driver-app-worker", "driver-app-manifest"}
)
# The desk's sign-in and sign-out forms.
DESK_AUTH = frozenset({"login", "logout"})
# Pages for signed-in dispatchers; they carry only the user's depots, the data comes from the APIs.
DESK_PAGES = frozenset({"board", "analytics"})
# Reads of the desk, by session, scoped to the dispatcher's depots.
DEPOT_READS = frozenset(
    {
        "board-snapshot",
        "board-case",
        "board-case-photo",
        "board-search",
        "board-waiting",
        "board-driver-route",
        "board-risky-stops",
        "metrics",
        "metrics-csv",
    }
)
# The driver app, by driver token, scoped to the requesting driver.
DRIVER = frozenset(
    {
        "driver-run",
        "driver-scan-create",
        "driver-access-code-reveal",
        "driver-recipient-call",
        "driver-locations",
        "driver-instructions",
        "driver-instruction-ack",
        "driver-reason-codes",
        "driver-sign-out",
        "driver-me",
    }
)
# The driver app trading a sign-in code from dispatch for a token: no credentials, a few tries a minute per address,
# each code used once within 15 minutes (tests/dispatch/api/test_sign_in.py).
SIGN_IN_CODES = frozenset({"driver-sign-in"})
# Integrations, by integration token (plan import honours a token's depot; recipients belong to no depot).
INTEGRATION = frozenset({"plan-import", "recipient-import"})
# Twilio's callbacks: CSRF-exempt, so each checks Twilio's signature instead.
SIGNED_WEBHOOKS = frozenset({"twilio-inbound", "twilio-status", "twilio-call-status", "twilio-call-dialed"})
# The recipient's self-service page, by the unguessable token in their texts: only that link's stop, CSRF-protected,
# limited per link and per address (tests/outreach/test_recipient_page.py).
RECIPIENT_LINKS = frozenset({"recipient-page"})
# A dispatcher's actions on a stop still to come (the risky stops' rows): session, CSRF, one's own depots only
# (tests/security/test_stop_actions.py).
STOP_ACTIONS = frozenset({"board-stop-call", "board-stop-access-code", "board-stop-text"})

NAMED_CLASSES = {
    "public": PUBLIC,
    "desk-auth": DESK_AUTH,
    "desk-page": DESK_PAGES,
    "depot-read": DEPOT_READS,
    "driver": DRIVER,
    "integration": INTEGRATION,
    "signed-webhook": SIGNED_WEBHOOKS,
    "recipient-link": RECIPIENT_LINKS,
    "stop-action": STOP_ACTIONS,
    "sign-in-code": SIGN_IN_CODES,
}


@dataclass(frozen=True)
class Endpoint:
    route: str
    name: str
    callback: Callable[..., Any]
    namespace: str

    @property
    def view_class(self) -> type | None:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def is_case_action(self) -> bool:
        view = self.view_class
        return isinstance(view, type) and issubclass(view, CaseActionView)

    @property
    def kind(self) -> str | None:
        if self.namespace == "admin":
            return "admin"
        if self.is_case_action:
            return "case-action"
        for kind, names in NAMED_CLASSES.items():
            if self.name in names:
                return kind
        return None

    @property
    def action(self) -> str:
        """A case action's last path segment, e.g. "access-code"."""
        view = self.view_class
        if not (isinstance(view, type) and issubclass(view, CaseActionView)):
            raise TypeError(f"{self.name} is not a board action")
        return view.action_name


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Endpoint]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            yield Endpoint(prefix + str(pattern.pattern), pattern.name or "", pattern.callback, namespace)


def endpoints() -> list[Endpoint]:
    return list(_walk(get_resolver().url_patterns))


def of_kind(kind: str) -> list[Endpoint]:
    return [endpoint for endpoint in endpoints() if endpoint.kind == kind]


def names(kind: str) -> list[str]:
    return sorted(endpoint.name for endpoint in of_kind(kind))
