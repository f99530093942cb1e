"""When the driver cannot find the address, the recipient is asked how to find the door first.

A dispatcher's first move on such a stop is to call the recipient for
directions; a text asks the same, and the answer goes to the driver and onto
the address's notes for every later visit. A dispatcher is still brought in
when nobody answers or the recipient asks for a call. Only the default
playbook is changed; one an admin has edited is left as it is.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

DEFAULT = [("escalate", 15, 2)]
NEW = [("ask_directions", 15, None), ("reprompt", 10, None), ("escalate", 15, 2)]


def _swap(apps, old, new):
    Playbook = apps.get_model("exceptions", "Playbook")
    PlaybookStep = apps.get_model("exceptions", "PlaybookStep")
    for playbook in Playbook.objects.filter(reason_code__code="ADDRESS_NOT_FOUND"):
        steps = list(playbook.steps.order_by("position"))
        if [(s.action, s.wait_minutes, s.priority) for s in steps] != old:
            continue
        playbook.steps.all().delete()
        PlaybookStep.objects.bulk_create(
            PlaybookStep(playbook=playbook, position=position, action=action, wait_minutes=wait, priority=priority)
            for position, (action, wait, priority) in enumerate(new, start=1)
        )


def forward(apps, schema_editor):
    _swap(apps, DEFAULT, NEW)


def backward(apps, schema_editor):
    _swap(apps, NEW, DEFAULT)


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0010_refused_parcels_go_back"),
    ]

    operations = [
        migrations.AlterField(
            model_name="escalationrule",
            name="reply_intents",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(
                    choices=[
                        ("ACCESS_CODE", "Gave an access code"),
                        ("RESCHEDULE", "Gave a time to come back"),
                        ("SAFE_DROP", "Named a safe place"),
                        ("NEIGHBOR", "Named a neighbour"),
                        ("PICKUP_POINT", "Will collect at a pickup point"),
                        ("DIRECTIONS", "Said how to find the door"),
                        ("AVAILABLE_NOW", "Is there now or coming"),
                        ("CALL_REQUEST", "Asked for a call"),
                        ("REFUSE", "Refused the parcel"),
                        ("OPT_OUT", "Opted out"),
                        ("OPT_IN", "Opted back in"),
                        ("HELP", "Asked for help"),
                        ("UNCLEAR", "Not understood"),
                    ],
                    max_length=16,
                ),
                blank=True,
                default=list,
                size=None,
            ),
        ),
        migrations.AlterField(
            model_name="exceptioncase",
            name="last_intent",
            field=models.CharField(
                blank=True,
                choices=[
                    ("ACCESS_CODE", "Gave an access code"),
                    ("RESCHEDULE", "Gave a time to come back"),
                    ("SAFE_DROP", "Named a safe place"),
                    ("NEIGHBOR", "Named a neighbour"),
                    ("PICKUP_POINT", "Will collect at a pickup point"),
                    ("DIRECTIONS", "Said how to find the door"),
                    ("AVAILABLE_NOW", "Is there now or coming"),
                    ("CALL_REQUEST", "Asked for a call"),
                    ("REFUSE", "Refused the parcel"),
                    ("OPT_OUT", "Opted out"),
                    ("OPT_IN", "Opted back in"),
                    ("HELP", "Asked for help"),
                    ("UNCLEAR", "Not understood"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="playbookstep",
            name="action",
            field=models.CharField(
                choices=[
                    ("ask_access_code", "Ask the recipient for the access code"),
                    ("ask_window", "Ask the recipient when to come back"),
                    ("offer_alternatives", "Offer safe-drop, neighbour or pickup point"),
                    ("ask_directions", "Ask the recipient how to find the door"),
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
