"""Whose choice a case's outcome is (``ExceptionCase.outcome_source``), and what a text and a failed delivery cost.

Cases decided before this migration get the source their row allows: a case a dispatcher touched is the
dispatcher's; an outcome the recipient's last reply leads to (``REPLY_OUTCOMES``) is the recipient's; a
delivery on a retry nobody asked for is the driver's; anything else was automation's (the playbook, a rule,
the vault). A recipient's choice a dispatcher approved reads as the dispatcher's here: the row does not say
who asked, only who touched it.
"""

from decimal import Decimal

import django.core.validators
from django.db import migrations, models
from django.db.models import Q

# What each kind of reply leads the workflow to (exceptions.workflow.answers._reply_act), then the driver's scan
# (a retry the recipient asked for is delivered on retry).
REPLY_OUTCOMES = {
    "ACCESS_CODE": ["access_code_provided"],
    "AVAILABLE_NOW": ["retry_now", "delivered_on_retry"],
    "DIRECTIONS": ["retry_now", "delivered_on_retry"],
    "RESCHEDULE": ["rescheduled_same_day", "rescheduled_later"],
    "SAFE_DROP": ["safe_drop"],
    "NEIGHBOR": ["neighbour"],
    "PICKUP_POINT": ["pickup_point"],
}


def sources_backfill(apps, schema_editor):
    ExceptionCase = apps.get_model("exceptions", "ExceptionCase")
    # Each update takes the cases still without a source, so the first rule that holds decides.
    undecided = ExceptionCase.objects.filter(Q(outcome__gt="") | Q(pending_outcome__gt=""), outcome_source="")
    undecided.filter(touched_by_dispatcher=True).update(outcome_source="dispatcher")
    for intent, outcomes in REPLY_OUTCOMES.items():
        undecided.filter(last_intent=intent).filter(
            Q(outcome__in=outcomes) | Q(outcome="", pending_outcome__in=outcomes)
        ).update(outcome_source="recipient")
    undecided.filter(outcome="delivered_on_retry").update(outcome_source="driver")
    undecided.update(outcome_source="playbook")


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0012_prevention_daily_share"),
    ]

    operations = [
        migrations.AddField(
            model_name="costmodel",
            name="failed_delivery_cost",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("17.20"),
                help_text="The full cost of a failed delivery attempt: 17.20 by default, within the 17-18 USD the industry quotes (PRODUCT.md). The metrics value each failed attempt averted at this.",
                max_digits=8,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
            ),
        ),
        migrations.AddField(
            model_name="costmodel",
            name="sms_segment_cost",
            field=models.DecimalField(
                decimal_places=4,
                default=Decimal("0.0083"),
                help_text="What one outbound SMS segment costs (160 plain characters, or 70 with accents or emoji). 0.0083 is Twilio's US list price per outbound segment.",
                max_digits=8,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                verbose_name="SMS segment cost",
            ),
        ),
        migrations.AddField(
            model_name="exceptioncase",
            name="outcome_source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("recipient", "The recipient (their reply)"),
                    ("playbook", "Automation (the playbook, a rule, the vault)"),
                    ("dispatcher", "A dispatcher"),
                    ("driver", "The driver (delivered on a retry)"),
                ],
                help_text="Whose choice the outcome (or the pending one) is; blank while there is none. A dispatcher's approval keeps the choice its author's.",
                max_length=12,
            ),
        ),
        migrations.RunPython(sources_backfill, migrations.RunPython.noop, elidable=True),
    ]
