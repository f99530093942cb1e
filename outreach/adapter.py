"""Outreach as the operator sees it (exceptions.ports.Outreach): ask the recipient, tell them the outcome."""

from __future__ import annotations

from exceptions.models import ExceptionCase
from exceptions.ports import AskResult, Topic
from outreach.models import MessageTemplate
from outreach.services import message_queue

TEMPLATES = {
    Topic.ACCESS_CODE: MessageTemplate.Key.ASK_ACCESS_CODE,
    Topic.WINDOW: MessageTemplate.Key.ASK_WINDOW,
    Topic.ALTERNATIVES: MessageTemplate.Key.ASK_ALTERNATIVES,
}
# The problem in the recipient's words; never the address or a code.
PROBLEMS = {
    "en": {
        "ACCESS_DENIED": "the driver could not get in",
        "WRONG_ACCESS_CODE": "the access code did not work",
        "GATE_CLOSED": "the gate was closed",
        "RECIPIENT_ABSENT": "nobody was home",
        "ADDRESS_NOT_FOUND": "the driver could not find the address",
        "BUSINESS_CLOSED": "the business was closed",
        "UNSAFE_LOCATION": "there was no safe place to leave it",
    },
    "es": {
        "ACCESS_DENIED": "el repartidor no pudo entrar",
        "WRONG_ACCESS_CODE": "el código de acceso no funcionó",
        "GATE_CLOSED": "la reja estaba cerrada",
        "RECIPIENT_ABSENT": "no había nadie en casa",
        "ADDRESS_NOT_FOUND": "el repartidor no encontró la dirección",
        "BUSINESS_CLOSED": "el negocio estaba cerrado",
        "UNSAFE_LOCATION": "no había un lugar seguro para dejarlo",
    },
}


class SmsOutreach:
    def ask(self, *, case: ExceptionCase, topic: str, reprompt: bool) -> AskResult:
        recipient = case.order.recipient
        if recipient.opted_out or not recipient.phone:
            return AskResult(reachable=False, reason="The recipient opted out of texts or has no mobile number.")
        key = MessageTemplate.Key.REPROMPT if reprompt else TEMPLATES.get(topic, MessageTemplate.Key.ASK_ALTERNATIVES)
        problems = PROBLEMS.get(recipient.language, PROBLEMS["en"])
        message = message_queue(
            case=case,
            template_key=key,
            # One message per workflow step: the case's version names the step that asked.
            idempotency_key=f"ask:{case.version}",
            context={
                "first_name": recipient.first_name,
                "order": case.order.reference,
                "problem": problems.get(case.reason_code.code, case.reason_code.label.lower()),
            },
        )
        return AskResult(reachable=True, channel="sms", deferred_until=message.release_at)

    def notify_outcome(self, *, case: ExceptionCase) -> None:
        recipient = case.order.recipient
        if recipient.opted_out or not recipient.phone:
            return
        message_queue(
            case=case,
            template_key=MessageTemplate.Key.OUTCOME,
            idempotency_key=f"outcome:{case.version}",
            context={"order": case.order.reference, "outcome": case.get_outcome_display()},
        )
