"""Reading back what the desk acts on, and asking once before acting on an unsure reading: the default wording,
English and Spanish, and the sealed access code an outbound text may carry (its body shows it masked)."""

from django.db import migrations, models

TEMPLATES = {
    ("read_back", "en"): "Got it: {heard}. {next}",
    ("read_back", "es"): "Entendido: {heard}. {next}",
    ("confirm_code", "en"): "Just to check: is the code {code}? Reply OK if so, or send the right one.",
    ("confirm_code", "es"): ("Para confirmar: ¿el código es {code}? Responda OK si es así, o envíe el correcto."),
    ("confirm_place", "en"): "Just to check: leave it {place}? Reply OK if so, or tell us where.",
    ("confirm_place", "es"): "Para confirmar: ¿lo dejamos {place}? Responda OK si es así, o díganos dónde.",
    ("confirm_neighbour", "en"): "Just to check: leave it with {neighbour}? Reply OK if so, or tell us who.",
    ("confirm_neighbour", "es"): (
        "Para confirmar: ¿lo dejamos con {neighbour}? Responda OK si es así, o díganos con quién."
    ),
    ("confirm_opt_out", "en"): "Do you want no more texts from us? Reply STOP and we won't text again.",
    ("confirm_opt_out", "es"): "¿No quiere recibir más mensajes nuestros? Responda STOP y no le escribiremos más.",
}


# The template keys as of this migration (Message.template_key and MessageTemplate.key share them).
TEMPLATE_KEYS = [
    ("ask_access_code", "Ask for the access code"),
    ("ask_window", "Ask when to come back"),
    ("ask_alternatives", "Offer safe-drop, neighbour or pickup point"),
    ("ask_directions", "Ask how to find the door"),
    ("reprompt", "Re-prompt"),
    ("outcome", "Tell the recipient what happens next"),
    ("help", "Answer HELP"),
    ("prearrival", "Ask ahead of the driver's arrival"),
    ("read_back", "Read back what the desk acts on"),
    ("confirm_code", "Confirm an unsure access code"),
    ("confirm_place", "Confirm an unsure safe place"),
    ("confirm_neighbour", "Confirm an unsure neighbour"),
    ("confirm_opt_out", "Confirm an unsure opt-out"),
]


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("outreach", "MessageTemplate")
    for (key, language), body in TEMPLATES.items():
        MessageTemplate.objects.get_or_create(key=key, language=language, defaults={"body": body})


def unseed(apps, schema_editor):
    MessageTemplate = apps.get_model("outreach", "MessageTemplate")
    MessageTemplate.objects.filter(key__in={key for key, _ in TEMPLATES}).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0005_ask_directions_template"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="sealed",
            field=models.TextField(
                blank=True,
                default="",
                help_text="The access code an outbound text carries, encrypted; the body shows it masked.",
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="body",
            field=models.TextField(help_text="As sent or received; an access code in it is masked."),
        ),
        migrations.AlterField(
            model_name="message",
            name="template_key",
            field=models.CharField(
                blank=True,
                choices=TEMPLATE_KEYS,
                max_length=24,
            ),
        ),
        migrations.AlterField(
            model_name="messagetemplate",
            name="body",
            field=models.TextField(
                help_text="Placeholders: {first_name}, {order}, {problem}, {outcome}, {ask} (ahead of arrival: what we need); read back: {heard} (what we understood), {next} (what happens next); to confirm: {code}, {place}, {neighbour}. Never a full address; a code only where {code} or {heard} carries it (stored masked)."
            ),
        ),
        migrations.AlterField(
            model_name="messagetemplate",
            name="key",
            field=models.CharField(
                choices=TEMPLATE_KEYS,
                max_length=24,
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
