"""Access failures nobody answers go out again later instead of to a dispatcher.

A locked gate with no reply to two texts left a dispatcher nothing to decide
that the desk cannot do itself: put the stop back on the road later (today when
a run has room, else the next run). A human is still brought in when that
attempt fails too (the "third failed attempt" rule) or no slot exists. Only the
default playbooks are changed; one an admin has edited is left as it is.
"""

from django.db import migrations

ACCESS_CODES = ("ACCESS_DENIED", "WRONG_ACCESS_CODE", "GATE_CLOSED")
DEFAULT = [("ask_access_code", 10, None), ("reprompt", 10, None), ("escalate", 15, 2)]
NEW = [("ask_access_code", 10, None), ("reprompt", 10, None), ("reschedule", 15, None)]


def _swap(apps, old, new):
    Playbook = apps.get_model("exceptions", "Playbook")
    for playbook in Playbook.objects.filter(reason_code__code__in=ACCESS_CODES):
        steps = list(playbook.steps.order_by("position"))
        if [(s.action, s.wait_minutes, s.priority) for s in steps] != old:
            continue
        last = steps[-1]
        last.action, last.wait_minutes, last.priority = new[-1]
        last.save(update_fields=["action", "wait_minutes", "priority"])


def forward(apps, schema_editor):
    _swap(apps, DEFAULT, NEW)


def backward(apps, schema_editor):
    _swap(apps, NEW, DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0006_playbook_urgent_outreach")]

    operations = [migrations.RunPython(forward, backward)]
