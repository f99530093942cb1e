"""A question for when the driver cannot find the address: how to find the door. Default wording, English and Spanish."""

from django.db import migrations, models

TEMPLATES = {
    ("ask_directions", "en"): (
        "Hi {first_name}, we tried to deliver {order} but {problem}. How do we find your door? Reply with directions "
        "(which building, which entrance, a landmark), or CALL to talk to us."
    ),
    ("ask_directions", "es"): (
        "Hola {first_name}, intentamos entregar {order} pero {problem}. ¿Cómo encontramos su puerta? Responda con "
        "indicaciones (qué edificio, qué entrada, una referencia), o LLAMAR para hablar con nosotros."
    ),
}


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("outreach", "MessageTemplate")
    for (key, language), body in TEMPLATES.items():
        MessageTemplate.objects.get_or_create(key=key, language=language, defaults={"body": body})


def unseed(apps, schema_editor):
    MessageTemplate = apps.get_model("outreach", "MessageTemplate")
    MessageTemplate.objects.filter(key="ask_directions").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0004_prearrival_conversations"),
    ]

    operations = [
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
                    ("outcome", "Tell the recipient what happens next"),
                    ("help", "Answer HELP"),
                    ("prearrival", "Ask ahead of the driver's arrival"),
                ],
                max_length=24,
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
                    ("outcome", "Tell the recipient what happens next"),
                    ("help", "Answer HELP"),
                    ("prearrival", "Ask ahead of the driver's arrival"),
                ],
                max_length=24,
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
