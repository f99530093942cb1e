"""Default playbooks for the nine seeded reason codes, a default cost model, and role permissions."""

from decimal import Decimal

from django.db import migrations

from dispatch.roles import groups_sync

# reason code: (SLA minutes, [(action, wait minutes, priority), ...])
PLAYBOOKS = {
    "ACCESS_DENIED": (30, [("ask_access_code", 10, None), ("reprompt", 10, None), ("escalate", 15, 2)]),
    "WRONG_ACCESS_CODE": (30, [("ask_access_code", 10, None), ("reprompt", 10, None), ("escalate", 15, 2)]),
    "GATE_CLOSED": (30, [("ask_access_code", 10, None), ("reprompt", 10, None), ("escalate", 15, 2)]),
    "RECIPIENT_ABSENT": (45, [("offer_alternatives", 15, None), ("reprompt", 15, None), ("reschedule", 15, None)]),
    "ADDRESS_NOT_FOUND": (30, [("escalate", 15, 2)]),
    "BUSINESS_CLOSED": (60, [("ask_window", 20, None), ("reschedule", 15, None)]),
    "DAMAGED": (20, [("escalate", 15, 1)]),
    "REFUSED": (30, [("escalate", 15, 2)]),
    "UNSAFE_LOCATION": (45, [("offer_alternatives", 15, None), ("reprompt", 15, None), ("reschedule", 15, None)]),
}


def seed(apps, schema_editor):
    ReasonCode = apps.get_model("dispatch", "ReasonCode")
    Playbook = apps.get_model("exceptions", "Playbook")
    PlaybookStep = apps.get_model("exceptions", "PlaybookStep")
    CostModel = apps.get_model("exceptions", "CostModel")
    for code, (sla_minutes, steps) in PLAYBOOKS.items():
        reason = ReasonCode.objects.filter(code=code).first()
        if reason is None or Playbook.objects.filter(reason_code=reason).exists():
            continue
        playbook = Playbook.objects.create(reason_code=reason, sla_minutes=sla_minutes)
        PlaybookStep.objects.bulk_create(
            PlaybookStep(playbook=playbook, position=position, action=action, wait_minutes=wait, priority=priority)
            for position, (action, wait, priority) in enumerate(steps, start=1)
        )
    if not CostModel.objects.filter(depot__isnull=True).exists():
        # Industry figures: a failed attempt costs about 17-18 USD all in.
        CostModel.objects.create(
            currency="USD",
            driver_minute_cost=Decimal("0.75"),
            distance_cost_per_km=Decimal("0.40"),
            redelivery_cost=Decimal("12.00"),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0002_workflow_playbooks_rules_costs"),
        ("dispatch", "0005_roles_for_api_models"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(groups_sync, migrations.RunPython.noop),
    ]
