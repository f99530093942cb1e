"""Default wording in English and Spanish; admins edit it. No code or full address ever goes in."""

from django.db import migrations

from dispatch.roles import groups_sync

TEMPLATES = {
    ("ask_access_code", "en"): (
        "Hi {first_name}, we tried to deliver your parcel {order} but {problem}. Reply with the gate or door code, "
        "a time you'll be home, where to leave it safely, or a neighbour's name and unit. Reply CALL to talk to us."
    ),
    ("ask_access_code", "es"): (
        "Hola {first_name}, intentamos entregar su paquete {order} pero {problem}. Responda con el código de la puerta, "
        "una hora en que estará en casa, dónde dejarlo con seguridad, o el nombre y la unidad de un vecino. "
        "Responda LLAMAR para hablar con nosotros."
    ),
    ("ask_window", "en"): (
        "Hi {first_name}, we tried to deliver {order} but {problem}. When can we come back? Reply with a time or a day, "
        "or reply CALL to talk to us."
    ),
    ("ask_window", "es"): (
        "Hola {first_name}, intentamos entregar {order} pero {problem}. ¿Cuándo podemos volver? Responda con una hora "
        "o un día, o responda LLAMAR para hablar con nosotros."
    ),
    ("ask_alternatives", "en"): (
        "Hi {first_name}, we tried to deliver {order} but {problem}. Reply with a time you'll be home, where to leave it "
        "safely, a neighbour's name and unit, or LOCKER to collect it. Reply CALL to talk to us."
    ),
    ("ask_alternatives", "es"): (
        "Hola {first_name}, intentamos entregar {order} pero {problem}. Responda con una hora en que estará en casa, "
        "dónde dejarlo con seguridad, el nombre y la unidad de un vecino, o LOCKER para recogerlo. "
        "Responda LLAMAR para hablar con nosotros."
    ),
    ("reprompt", "en"): (
        "Hi {first_name}, we still need your answer about {order} ({problem}). Reply CALL to talk to us."
    ),
    ("reprompt", "es"): (
        "Hola {first_name}, aún necesitamos su respuesta sobre {order} ({problem}). "
        "Responda LLAMAR para hablar con nosotros."
    ),
    ("outcome", "en"): "Update on {order}: {outcome}",
    ("outcome", "es"): "Novedad sobre {order}: {outcome}",
    ("help", "en"): "Delivery updates about your parcel. Reply with what helps us deliver, CALL to talk to us, "
    "STOP to stop texts.",
    ("help", "es"): "Avisos sobre su paquete. Responda con lo que nos ayude a entregarlo, LLAMAR para hablar con "
    "nosotros, STOP para no recibir mensajes.",
}


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("outreach", "MessageTemplate")
    for (key, language), body in TEMPLATES.items():
        MessageTemplate.objects.get_or_create(key=key, language=language, defaults={"body": body})


class Migration(migrations.Migration):
    dependencies = [("outreach", "0001_conversations_messages_templates")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(groups_sync, migrations.RunPython.noop),
    ]
