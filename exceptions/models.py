"""Exception cases: one per broken stop, worked to an outcome, with an append-only timeline."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dispatch.models import Depot, Order, ReasonCode, Recipient, ScanEvent, Stop
from dispatch.singleton import SingletonModel
from exceptions.ports import ReplyIntent

PRIORITY_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


# A case is resolved within this long of its failed scan, unless its reason code's playbook says otherwise.
DEFAULT_SLA_MINUTES = 30


class Playbook(models.Model):
    """What the operator does for one reason code, step by step. Admins edit it."""

    reason_code = models.OneToOneField(ReasonCode, on_delete=models.CASCADE, related_name="playbook")
    sla_minutes = models.PositiveIntegerField(
        default=DEFAULT_SLA_MINUTES,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="A case must be resolved within this many minutes of the failed scan.",
    )
    urgent_outreach = models.BooleanField(
        default=False, help_text="Text the recipient even in their quiet hours (a parcel that cannot wait)."
    )
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["reason_code__code"]

    def __str__(self) -> str:
        return f"Playbook for {self.reason_code.code}"


class PlaybookStep(models.Model):
    class Action(models.TextChoices):
        ASK_ACCESS_CODE = "ask_access_code", "Ask the recipient for the access code"
        ASK_WINDOW = "ask_window", "Ask the recipient when to come back"
        OFFER_ALTERNATIVES = "offer_alternatives", "Offer safe-drop, neighbour or pickup point"
        ASK_DIRECTIONS = "ask_directions", "Ask the recipient how to find the door"
        WAIT = "wait", "Wait"
        REPROMPT = "reprompt", "Re-prompt once"
        RESCHEDULE = "reschedule", "Move the stop to a later slot"
        RETURN_TO_SENDER = "return_to_sender", "Return to sender"
        ESCALATE = "escalate", "Escalate to a dispatcher"

    ASK_ACTIONS = (Action.ASK_ACCESS_CODE, Action.ASK_WINDOW, Action.OFFER_ALTERNATIVES, Action.ASK_DIRECTIONS)
    FINAL_ACTIONS = (Action.RESCHEDULE, Action.RETURN_TO_SENDER, Action.ESCALATE)

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=24, choices=Action.choices)
    wait_minutes = models.PositiveIntegerField(
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="For a question: how long to wait for a reply. For a wait: how long to wait.",
    )
    priority = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=PRIORITY_VALIDATORS, help_text="For an escalation: 1 is the most urgent."
    )

    class Meta:
        ordering = ["playbook", "position"]
        constraints = [models.UniqueConstraint(fields=["playbook", "position"], name="playbook_step_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_action_display()}"


class EscalationRule(models.Model):
    """An admin's rule: when a case matches every condition set, the action applies.

    Rules are tried in ``position`` order and the first match decides.
    """

    class Action(models.TextChoices):
        ESCALATE = "escalate", "Escalate to dispatchers"
        REQUIRE_APPROVAL = "require_approval", "Require a dispatcher's approval of the outcome"
        RETURN_TO_SENDER = "return_to_sender", "Return to sender"

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=100, help_text="Rules are tried from the lowest position up.")
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    # Conditions: each one set must hold; one left empty matches anything.
    reason_codes = models.ManyToManyField(ReasonCode, blank=True, related_name="+")
    depots = models.ManyToManyField(Depot, blank=True, related_name="+")
    min_attempts = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Matches from this many failed attempts at the order."
    )
    order_value_above = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    recipient_tiers = ArrayField(
        models.CharField(max_length=16, choices=Recipient.Tier.choices), default=list, blank=True
    )
    no_reply_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Matches once the recipient was asked this many minutes ago and has not replied.",
    )
    reply_intents = ArrayField(models.CharField(max_length=16, choices=ReplyIntent.choices), default=list, blank=True)
    local_time_from = models.TimeField(null=True, blank=True, help_text="Depot time; with 'to', may wrap midnight.")
    local_time_to = models.TimeField(null=True, blank=True)

    # What happens.
    action = models.CharField(max_length=24, choices=Action.choices, default=Action.ESCALATE)
    priority = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=PRIORITY_VALIDATORS, help_text="For an escalation: 1 is the most urgent."
    )
    notify_group = models.ForeignKey(
        "auth.Group",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Dispatchers in this group are alerted on the board.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["active", "position"], name="rule_active_position_idx")]

    def __str__(self) -> str:
        return self.name


class CostModel(models.Model):
    """What a failed attempt and a text cost, for the analytics. One row per depot, or a default for all."""

    depot = models.OneToOneField(
        Depot,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="cost_model",
        help_text="Leave blank for the default used by every depot without its own.",
    )
    currency = models.CharField(max_length=3, default="USD")
    driver_minute_cost = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.75"), validators=[MinValueValidator(Decimal("0"))]
    )
    distance_cost_per_km = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.40"), validators=[MinValueValidator(Decimal("0"))]
    )
    redelivery_cost = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal("12.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Handling cost of a parcel that needs another visit on a later run.",
    )
    sms_segment_cost = models.DecimalField(
        "SMS segment cost",
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.0083"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What one outbound SMS segment costs (160 plain characters, or 70 with accents or emoji). "
        "0.0083 is Twilio's US list price per outbound segment.",
    )
    failed_delivery_cost = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal("17.20"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The full cost of a failed delivery attempt: 17.20 by default, within the 17-18 USD the industry "
        "quotes (PRODUCT.md). The metrics value each failed attempt averted at this.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["depot"], nulls_distinct=False, name="cost_model_one_per_depot"),
        ]

    def __str__(self) -> str:
        return f"Cost model · {self.depot or 'default'}"


class ExceptionCase(models.Model):
    class State(models.TextChoices):
        OPENED = "opened", "Opened"
        TRIAGING = "triaging", "Triaging"
        AWAITING_RECIPIENT = "awaiting_recipient", "Awaiting recipient"
        RESOLVING = "resolving", "Resolving"
        ESCALATED = "escalated", "Escalated"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        RETRY_NOW = "retry_now", "Retry now"
        ACCESS_CODE_PROVIDED = "access_code_provided", "Access code provided"
        SAFE_DROP = "safe_drop", "Safe drop"
        NEIGHBOUR = "neighbour", "Left with a neighbour"
        RESCHEDULED_SAME_DAY = "rescheduled_same_day", "Rescheduled the same day"
        RESCHEDULED_LATER = "rescheduled_later", "Rescheduled to a later day"
        PICKUP_POINT = "pickup_point", "Pickup point"
        RETURNED_TO_SENDER = "returned_to_sender", "Returned to sender"
        DELIVERED_ON_RETRY = "delivered_on_retry", "Delivered on retry"
        CANCELLED = "cancelled", "Cancelled"

    class OutcomeSource(models.TextChoices):
        """Whose choice the case's outcome (decided or held for approval) is."""

        RECIPIENT = "recipient", "The recipient (their reply)"
        PLAYBOOK = "playbook", "Automation (the playbook, a rule, the vault)"
        DISPATCHER = "dispatcher", "A dispatcher"
        DRIVER = "driver", "The driver (delivered on a retry)"

    class Timer(models.TextChoices):
        TRIAGE = "triage", "Triage by"
        REPLY_DEADLINE = "reply_deadline", "No reply by"
        WAIT_OVER = "wait_over", "Wait until"
        DRIVER_RETRY = "driver_retry", "Driver to retry by"
        RULE_CHECK = "rule_check", "Escalation rule check at"
        ROUTING = "routing", "Routing to answer by"

    OPEN_STATES = (State.OPENED, State.TRIAGING, State.AWAITING_RECIPIENT, State.RESOLVING, State.ESCALATED)

    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="cases")
    stop = models.ForeignKey(Stop, on_delete=models.PROTECT, related_name="cases")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="cases")
    scan = models.OneToOneField(ScanEvent, on_delete=models.PROTECT, related_name="case")
    reason_code = models.ForeignKey(ReasonCode, on_delete=models.PROTECT, related_name="cases")
    state = models.CharField(max_length=24, choices=State.choices, default=State.OPENED)
    outcome = models.CharField(max_length=24, choices=Outcome.choices, blank=True)
    outcome_detail = models.JSONField(
        default=dict, blank=True, help_text="The outcome's particulars: window, place, neighbour. Never a code."
    )
    pending_outcome = models.CharField(
        max_length=24,
        choices=Outcome.choices,
        blank=True,
        help_text="Decided but not yet done: waiting for the driver, routing or a dispatcher's approval.",
    )
    outcome_source = models.CharField(
        max_length=12,
        choices=OutcomeSource.choices,
        blank=True,
        help_text="Whose choice the outcome (or the pending one) is; blank while there is none. A dispatcher's "
        "approval keeps the choice its author's.",
    )
    requires_approval = models.BooleanField(default=False)
    priority = models.PositiveSmallIntegerField(
        default=3, validators=PRIORITY_VALIDATORS, help_text="1 is the most urgent."
    )
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    next_action = models.CharField(max_length=16, choices=Timer.choices, blank=True)
    next_action_due_at = models.DateTimeField(null=True, blank=True)
    playbook_step = models.PositiveSmallIntegerField(default=0, help_text="The next playbook step to run.")
    prompts_sent = models.PositiveSmallIntegerField(default=0)
    reply_due_at = models.DateTimeField(
        null=True, blank=True, help_text="The playbook's deadline for an answer to the last question."
    )
    outreach_started_at = models.DateTimeField(null=True, blank=True, help_text="When the recipient was first asked.")
    last_reply_at = models.DateTimeField(null=True, blank=True)
    last_intent = models.CharField(max_length=16, choices=ReplyIntent.choices, blank=True)
    escalation_reason = models.CharField(max_length=300, blank=True)
    escalation_rule = models.ForeignKey(
        EscalationRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resolved_cases",
        help_text="Empty when automation resolved it.",
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_cases"
    )
    touched_by_dispatcher = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1, help_text="Bumped by every transition; stale actions conflict.")
    opened_at = models.DateTimeField(default=timezone.now)
    triaged_at = models.DateTimeField(null=True, blank=True)
    awaiting_at = models.DateTimeField(null=True, blank=True)
    resolving_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(
        null=True, blank=True, help_text="When the recipient last wrote after the case ended and it was worked again."
    )
    reopened_count = models.PositiveSmallIntegerField(
        default=0, help_text="How many times the case ended and was reopened by the recipient's request."
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stop"],
                condition=Q(state__in=["opened", "triaging", "awaiting_recipient", "resolving", "escalated"]),
                name="case_one_open_per_stop",
            ),
        ]
        indexes = [
            models.Index(fields=["depot", "state", "priority"], name="case_board_idx"),
            models.Index(
                fields=["next_action_due_at"],
                condition=Q(next_action_due_at__isnull=False),
                name="case_next_action_due_idx",
            ),
            models.Index(
                fields=["sla_due_at"],
                condition=Q(sla_breached_at__isnull=True)
                & Q(state__in=["opened", "triaging", "awaiting_recipient", "resolving", "escalated"]),
                name="case_sla_watch_idx",
            ),
            models.Index(fields=["depot", "resolved_at"], name="case_depot_resolved_idx"),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} · {self.order_id and self.order.reference} · {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class CaseEvent(models.Model):
    """One line of a case's timeline. Written only by exceptions.workflow; never updated."""

    class Kind(models.TextChoices):
        SCAN = "scan", "Failed scan"
        STATE = "state", "State change"
        MESSAGE_OUT = "message_out", "Message sent"
        REPLY_IN = "reply_in", "Reply received"
        UNDERSTANDING = "understanding", "Reply understood"
        DECISION = "decision", "Decision"
        INSTRUCTION = "instruction", "Driver instruction"
        ROUTE_CHANGE = "route_change", "Route change"
        ESCALATION = "escalation", "Escalation"
        DISPATCHER_ACTION = "dispatcher_action", "Dispatcher action"
        NOTE = "note", "Note"
        REOPENED = "reopened", "Reopened"

    class Actor(models.TextChoices):
        AUTOMATION = "automation", "Automation"
        DRIVER = "driver", "Driver"
        RECIPIENT = "recipient", "Recipient"
        DISPATCHER = "dispatcher", "Dispatcher"
        SYSTEM = "system", "System"

    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    actor = models.CharField(max_length=16, choices=Actor.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    summary = models.CharField(max_length=300)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["case", "at", "id"]
        indexes = [
            models.Index(fields=["case", "at"], name="caseevent_case_at_idx"),
            # The replies of a period, for the requests nobody answered (exceptions.analytics.requests).
            models.Index(fields=["at"], condition=Q(kind="understanding"), name="caseevent_reply_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.get_kind_display()}: {self.summary}"


class StopRisk(models.Model):
    """How likely a stop still to be attempted is to fail, and why. Written in bulk by exceptions.prevention.risk."""

    class Missing(models.TextChoices):
        ACCESS_CODE = "access_code", "Access code"
        AVAILABILITY = "availability", "When someone is home"
        SAFE_PLACE = "safe_place", "A safe place to leave it"

    stop = models.OneToOneField(Stop, on_delete=models.CASCADE, related_name="risk")
    score = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)], help_text="0 is no known risk, 1 a sure failure."
    )
    reasons = models.JSONField(default=list, blank=True, help_text='[{"code", "label", "weight"}], the heaviest first.')
    missing = models.JSONField(default=list, blank=True, help_text="What to ask the recipient for, before arrival.")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "stop risks"
        ordering = ["-score"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=1),
                name="stop_risk_score_0_to_1",
                violation_error_message="A risk score lies between 0 and 1.",
            )
        ]
        indexes = [models.Index(fields=["score"], name="stoprisk_score_idx")]

    def __str__(self) -> str:
        return f"Risk {self.score:.2f} · stop {self.stop_id}"

    @property
    def first_reason(self) -> str:
        return self.reasons[0]["label"] if self.reasons else ""


class PreventionSettings(SingletonModel):
    """Who is asked ahead of the driver, and when: one row, edited in admin."""

    class Lead(models.TextChoices):
        AHEAD = "ahead", "Ahead of the driver (minutes or stops before arrival)"
        MORNING = "morning", "The morning of the delivery"

    enabled = models.BooleanField(default=True, help_text="Text recipients of risky stops before the driver arrives.")
    risk_threshold = models.FloatField(
        default=0.15,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Stops scoring at least this (0 to 1) are asked ahead.",
    )
    daily_share = models.FloatField(
        default=0.3,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="At most this share of a depot's parcels on a day are asked ahead, the riskiest first "
        "(0.3: three in ten). 1 for no limit.",
    )
    lead = models.CharField(max_length=8, choices=Lead.choices, default=Lead.AHEAD)
    lead_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(12 * 60)],
        help_text="Ahead: ask when the planned arrival is this many minutes away…",
    )
    lead_stops = models.PositiveIntegerField(
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="…or when the stop is among the driver's next this-many stops, whichever comes first.",
    )
    morning_at = models.TimeField(
        default="08:00", help_text="Morning of: when to ask, in the depot's time (quiet hours still apply)."
    )

    class Meta:
        verbose_name = verbose_name_plural = "prevention settings"

    def __str__(self) -> str:
        return "Prevention settings"


class PreArrivalContact(models.Model):
    """The one proactive message about a stop: what was asked, and what was learned before the driver came."""

    class Status(models.TextChoices):
        ASKED = "asked", "Asked"
        ANSWERED = "answered", "Answered"
        SKIPPED = "skipped", "Not asked"

    stop = models.OneToOneField(Stop, on_delete=models.CASCADE, related_name="prearrival")
    score = models.FloatField(help_text="The stop's risk when it was asked.")
    asked = models.JSONField(default=list, blank=True, help_text="What the message asked for.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ASKED)
    skip_reason = models.CharField(max_length=200, blank=True)
    learned = models.JSONField(default=dict, blank=True, help_text="What the reply gave us (never a code).")
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="prearrival_status_idx")]

    def __str__(self) -> str:
        return f"Pre-arrival {self.get_status_display().lower()} · stop {self.stop_id}"


class NoticeSettings(models.Model):
    """What every recipient of a depot is told before the driver comes (no row: the defaults). Opt-out and quiet
    hours apply to every notice; each carries the link to the recipient's page."""

    depot = models.OneToOneField(Depot, on_delete=models.CASCADE, related_name="notice_settings")
    out_for_delivery = models.BooleanField(
        default=True, help_text="The morning of: the parcel is out for delivery, with a two-hour window."
    )
    out_for_delivery_lead = models.PositiveIntegerField(
        default=30,
        validators=[MaxValueValidator(6 * 60)],
        help_text="Minutes before the run's shift starts that the out-for-delivery notice goes.",
    )
    arriving_stops = models.PositiveIntegerField(
        default=3,
        validators=[MaxValueValidator(50)],
        help_text="The driver is this many stops away (0: no arriving notice).",
    )
    delayed_minutes = models.PositiveIntegerField(
        default=30,
        validators=[MaxValueValidator(12 * 60)],
        help_text="The planned arrival moved this many minutes past the order's window (0: no delay notice).",
    )

    class Meta:
        verbose_name = verbose_name_plural = "notice settings"

    def __str__(self) -> str:
        return f"Notices for {self.depot}"


class StopNotice(models.Model):
    """A notice sent, or merged into another, or not sent (and why), about one stop: at most one of each kind."""

    class Kind(models.TextChoices):
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        ARRIVING = "arriving", "Arriving"
        DELAYED = "delayed", "Delayed"

    stop = models.ForeignKey(Stop, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    sent = models.BooleanField(default=True, help_text="False: not sent (see why) or said by another notice.")
    why_not = models.CharField(max_length=200, blank=True)
    asked = models.JSONField(default=list, blank=True, help_text="The risky stop's question, merged into it.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["stop", "kind"], name="stop_notice_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · stop {self.stop_id}"
