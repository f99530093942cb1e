"""Default wording moves to the catalogues (outreach.wording, locale/): the rows seeded with it are removed, so the
catalogue speaks for every language, and rows an admin changed stay as their own wording. The one outcome text
("Update on {order}: {outcome}") becomes a text per outcome, saying what happens, when and where."""

import importlib

from django.db import migrations, models

import dispatch.models.places

SEEDED = [
    ("0002_default_templates", "TEMPLATES"),
    ("0005_ask_directions_template", "TEMPLATES"),
    ("0006_read_back_and_confirm", "TEMPLATES"),
]


def seeded() -> dict[tuple[str, str], str]:
    defaults: dict[tuple[str, str], str] = {}
    for module, name in SEEDED:
        defaults.update(getattr(importlib.import_module(f"outreach.migrations.{module}"), name))
    prearrival = importlib.import_module("outreach.migrations.0004_prearrival_conversations").PREARRIVAL
    defaults.update({("prearrival", language): body for language, body in prearrival.items()})
    return defaults


def unseed(apps, schema_editor):
    MessageTemplate = apps.get_model("outreach", "MessageTemplate")
    MessageTemplate.objects.filter(key="outcome").delete()
    for (key, language), body in seeded().items():
        MessageTemplate.objects.filter(key=key, language=language, body=body).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0006_read_back_and_confirm"),
    ]

    operations = [
        migrations.RunPython(unseed, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message",
            name="language",
            field=models.CharField(choices=dispatch.models.places.languages, default="en", max_length=8),
        ),
        migrations.AlterField(
            model_name="message",
            name="template_key",
            field=models.CharField(
                blank=True,
                choices=[
                    ("ask_access_code", "Ask for the access code"),
                    ("ask_window", "Ask when to come back"),
                    ("ask_alternatives", "Offer safe-drop, neighbour or pickup point"),
                    ("ask_directions", "Ask how to find the door"),
                    ("reprompt", "Re-prompt"),
                    ("outcome_delivered", "Delivered"),
                    ("outcome_left", "Delivered: left in a safe place"),
                    ("outcome_neighbour", "Delivered: left with a neighbour"),
                    ("outcome_rescheduled", "When we'll bring it"),
                    ("outcome_pickup_point", "Where to collect it"),
                    ("outcome_returned", "Going back to the sender"),
                    ("outcome_cancelled", "Delivery cancelled"),
                    ("help", "Answer HELP"),
                    ("prearrival", "Ask ahead of the driver's arrival"),
                    ("read_back", "Read back what the desk acts on"),
                    ("confirm_code", "Confirm an unsure access code"),
                    ("confirm_place", "Confirm an unsure safe place"),
                    ("confirm_neighbour", "Confirm an unsure neighbour"),
                    ("confirm_opt_out", "Confirm an unsure opt-out"),
                ],
                max_length=24,
            ),
        ),
        migrations.AlterField(
            model_name="messagetemplate",
            name="body",
            field=models.TextField(
                help_text="Your wording for this purpose and language, which replaces the default (the catalogue's). Placeholders in braces, e.g. {first_name}, {order}; each purpose lists the ones it takes. Never a full address; a code only where {code} or {heard} carries it (stored masked)."
            ),
        ),
        migrations.AlterField(
            model_name="messagetemplate",
            name="key",
            field=models.CharField(
                choices=[
                    ("ask_access_code", "Ask for the access code"),
                    ("ask_window", "Ask when to come back"),
                    ("ask_alternatives", "Offer safe-drop, neighbour or pickup point"),
                    ("ask_directions", "Ask how to find the door"),
                    ("reprompt", "Re-prompt"),
                    ("outcome_delivered", "Delivered"),
                    ("outcome_left", "Delivered: left in a safe place"),
                    ("outcome_neighbour", "Delivered: left with a neighbour"),
                    ("outcome_rescheduled", "When we'll bring it"),
                    ("outcome_pickup_point", "Where to collect it"),
                    ("outcome_returned", "Going back to the sender"),
                    ("outcome_cancelled", "Delivery cancelled"),
                    ("help", "Answer HELP"),
                    ("prearrival", "Ask ahead of the driver's arrival"),
                    ("read_back", "Read back what the desk acts on"),
                    ("confirm_code", "Confirm an unsure access code"),
                    ("confirm_place", "Confirm an unsure safe place"),
                    ("confirm_neighbour", "Confirm an unsure neighbour"),
                    ("confirm_opt_out", "Confirm an unsure opt-out"),
                ],
                max_length=24,
            ),
        ),
        migrations.AlterField(
            model_name="messagetemplate",
            name="language",
            field=models.CharField(choices=dispatch.models.places.languages, max_length=8),
        ),
    ]
