"""Escalation rules every desk starts with; admins edit or switch them off."""

from decimal import Decimal

from django.db import migrations

RULES = [
    # name, position, fields
    (
        "Third failed attempt: a dispatcher decides",
        10,
        {"min_attempts": 3, "action": "escalate", "priority": 2},
    ),
    (
        "High-value order: approve the outcome",
        20,
        {"order_value_above": Decimal("500.00"), "action": "require_approval"},
    ),
]


def seed(apps, schema_editor):
    EscalationRule = apps.get_model("exceptions", "EscalationRule")
    for name, position, fields in RULES:
        if not EscalationRule.objects.filter(name=name).exists():
            EscalationRule.objects.create(name=name, position=position, **fields)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0004_case_reply_deadline_and_timers")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
