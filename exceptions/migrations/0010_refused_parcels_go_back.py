"""A parcel refused at the door goes back to the sender without waiting for a dispatcher.

The recipient has said no to the driver's face; what is left is what carriers
do with every refused parcel: return it to the shipper and tell the sender. A
dispatcher had nothing to decide. Rules still come first (a high-value parcel
can require a dispatcher's approval), and only the default playbook is
changed; one an admin has edited is left as it is.
"""

from django.db import migrations, models

DEFAULT = [("escalate", 15, 2)]
NEW = [("return_to_sender", 15, None)]


def _swap(apps, old, new):
    Playbook = apps.get_model("exceptions", "Playbook")
    for playbook in Playbook.objects.filter(reason_code__code="REFUSED"):
        steps = list(playbook.steps.order_by("position"))
        if [(s.action, s.wait_minutes, s.priority) for s in steps] != old:
            continue
        step = steps[0]
        step.action, step.wait_minutes, step.priority = new[0]
        step.save(update_fields=["action", "wait_minutes", "priority"])


def forward(apps, schema_editor):
    _swap(apps, DEFAULT, NEW)


def backward(apps, schema_editor):
    _swap(apps, NEW, DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0009_prevention_settings_and_contacts")]

    operations = [
        migrations.AlterField(
            model_name="playbookstep",
            name="action",
            field=models.CharField(
                choices=[
                    ("ask_access_code", "Ask the recipient for the access code"),
                    ("ask_window", "Ask the recipient when to come back"),
                    ("offer_alternatives", "Offer safe-drop, neighbour or pickup point"),
                    ("wait", "Wait"),
                    ("reprompt", "Re-prompt once"),
                    ("reschedule", "Move the stop to a later slot"),
                    ("return_to_sender", "Return to sender"),
                    ("escalate", "Escalate to a dispatcher"),
                ],
                max_length=24,
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
