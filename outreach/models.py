"""Conversations with recipients: every message in and out, and the templates they are written from."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from dispatch.models import Recipient, languages


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    PUSH = "push", "App push"
    WHATSAPP = "whatsapp", "WhatsApp"
    LINK = "link", "Self-service page"


class MessageTemplate(models.Model):
    """An admin's own wording for a purpose in a language. Without one, a text is the default wording
    (``outreach.wording``) in the recipient's language from the catalogues."""

    class Key(models.TextChoices):
        ASK_ACCESS_CODE = "ask_access_code", "Ask for the access code"
        ASK_WINDOW = "ask_window", "Ask when to come back"
        ASK_ALTERNATIVES = "ask_alternatives", "Offer safe-drop, neighbour or pickup point"
        ASK_DIRECTIONS = "ask_directions", "Ask how to find the door"
        REPROMPT = "reprompt", "Re-prompt"
        OUTCOME_DELIVERED = "outcome_delivered", "Delivered"
        OUTCOME_LEFT = "outcome_left", "Delivered: left in a safe place"
        OUTCOME_NEIGHBOUR = "outcome_neighbour", "Delivered: left with a neighbour"
        OUTCOME_RESCHEDULED = "outcome_rescheduled", "When we'll bring it"
        OUTCOME_PICKUP_POINT = "outcome_pickup_point", "Where to collect it"
        OUTCOME_RETURNED = "outcome_returned", "Going back to the sender"
        OUTCOME_CANCELLED = "outcome_cancelled", "Delivery cancelled"
        HELP = "help", "Answer HELP"
        PREARRIVAL = "prearrival", "Ask ahead of the driver's arrival"
        NOTICE_OUT_FOR_DELIVERY = "notice_out_for_delivery", "Notice: out for delivery"
        NOTICE_ARRIVING = "notice_arriving", "Notice: the driver is a few stops away"
        NOTICE_DELAYED = "notice_delayed", "Notice: running late"
        READ_BACK = "read_back", "Read back what the desk acts on"
        CONFIRM_CODE = "confirm_code", "Confirm an unsure access code"
        CONFIRM_PLACE = "confirm_place", "Confirm an unsure safe place"
        CONFIRM_NEIGHBOUR = "confirm_neighbour", "Confirm an unsure neighbour"
        CONFIRM_OPT_OUT = "confirm_opt_out", "Confirm an unsure opt-out"

    key = models.CharField(max_length=24, choices=Key.choices)
    language = models.CharField(max_length=8, choices=languages)
    body = models.TextField(
        help_text="Your wording for this purpose and language, which replaces the default (the catalogue's). "
        "Placeholders in braces, e.g. {first_name}, {order}; each purpose lists the ones it takes. Never a full "
        "address; a code only where {code} or {heard} carries it (stored masked)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key", "language"]
        constraints = [models.UniqueConstraint(fields=["key", "language"], name="template_one_per_key_language")]

    def __str__(self) -> str:
        return f"{self.get_key_display()} ({self.language})"


class Conversation(models.Model):
    """The exchange with one recipient about one exception case, or about a risky stop before the driver comes."""

    case = models.OneToOneField(
        "exceptions.ExceptionCase", on_delete=models.CASCADE, related_name="conversation", null=True, blank=True
    )
    stop = models.OneToOneField(
        "dispatch.Stop",
        on_delete=models.CASCADE,
        related_name="prearrival_conversation",
        null=True,
        blank=True,
        help_text="Ahead of arrival: the stop asked about (no case yet).",
    )
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="conversations")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(case__isnull=False, stop__isnull=True) | Q(case__isnull=True, stop__isnull=False),
                name="conversation_about_a_case_or_a_stop",
                violation_error_message="A conversation is about one case or, before arrival, one stop.",
            )
        ]

    def __str__(self) -> str:
        return f"Conversation about case {self.case_id}" if self.case_id else f"Pre-arrival, stop {self.stop_id}"


class Message(models.Model):
    """One message. An outbound row is written and claimed before the send; the provider's id after."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        UNDELIVERED = "undelivered", "Undelivered"
        UNKNOWN = "unknown", "Unknown: to reconcile"
        RECEIVED = "received", "Received"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    body = models.TextField(help_text="As sent or received; an access code in it is masked.")
    sealed = models.TextField(
        blank=True,
        default="",
        help_text="The access code an outbound text carries, encrypted; the body shows it masked.",
    )
    template_key = models.CharField(max_length=24, choices=MessageTemplate.Key.choices, blank=True)
    language = models.CharField(max_length=8, choices=languages, default=Recipient.ENGLISH)
    idempotency_key = models.CharField(max_length=64, help_text="One send per key and conversation, ever.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    urgent = models.BooleanField(default=False, help_text="Sent even in the recipient's quiet hours.")
    release_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Not sent before then: the end of quiet hours, or the next try after a failed one.",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "idempotency_key"], name="message_one_per_key"),
        ]
        indexes = [
            models.Index(
                fields=["release_at"],
                condition=Q(status__in=["queued", "sending"]),
                name="message_outbox_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.channel} #{self.pk} ({self.status})"


class RecipientLink(models.Model):
    """A recipient's self-service page about one stop, behind an unguessable token in the texts they get.

    It opens while the stop is still to be settled, for ``LINK_HOURS`` at most, until revoked."""

    token = models.CharField(max_length=32, unique=True, editable=False)
    stop = models.ForeignKey("dispatch.Stop", on_delete=models.CASCADE, related_name="recipient_links")
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="links")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Set to close the page at once.")
    opened_at = models.DateTimeField(null=True, blank=True, help_text="When the recipient last opened it.")
    opened = models.PositiveIntegerField(default=0, help_text="How many times it was opened.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Link for stop {self.stop_id}"


class Call(models.Model):
    """A call that connects: Twilio rings the caller's own phone, then bridges the recipient; each sees the
    company's number, never the other's."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Placing"
        RINGING = "ringing", "Ringing the caller"
        IN_PROGRESS = "in-progress", "Caller answered"
        COMPLETED = "completed", "Ended"
        BUSY = "busy", "Caller busy"
        NO_ANSWER = "no-answer", "Caller did not answer"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Cancelled"

    ENDED = frozenset({Status.COMPLETED, Status.BUSY, Status.NO_ANSWER, Status.FAILED, Status.CANCELED})

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="calls")
    caller = models.CharField(max_length=16, help_text="dispatcher or driver")
    placed_by = models.ForeignKey(
        "dispatch.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls_placed"
    )
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # How the recipient's leg went (Twilio's DialCallStatus): answered ("completed"), busy, no-answer, failed.
    recipient_status = models.CharField(max_length=16, blank=True)
    duration_s = models.PositiveIntegerField(null=True, blank=True, help_text="Talk time with the recipient.")
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Call #{self.pk} ({self.status})"
