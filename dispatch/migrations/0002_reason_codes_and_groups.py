from django.db import migrations

from dispatch.roles import groups_sync

REASON_CODES = [
    # code, label, category, photo required, description
    ("ACCESS_DENIED", "Access denied", "access", False, "Could not get into the building or property."),
    ("WRONG_ACCESS_CODE", "Wrong access code", "access", False, "The code on file or given did not work."),
    ("GATE_CLOSED", "Gate closed", "access", True, "Gate or barrier closed with no way to call."),
    (
        "RECIPIENT_ABSENT",
        "Recipient not home",
        "availability",
        False,
        "Nobody answered; signature or hand-over needed.",
    ),
    ("ADDRESS_NOT_FOUND", "Address not found", "address", False, "The address or unit could not be found."),
    ("BUSINESS_CLOSED", "Business closed", "business", True, "Business or loading dock closed."),
    ("DAMAGED", "Parcel damaged", "damage", True, "The parcel is damaged and cannot be delivered as is."),
    ("REFUSED", "Refused by recipient", "availability", False, "The recipient refused the parcel."),
    ("UNSAFE_LOCATION", "Unsafe location", "access", False, "No safe place to leave it and no one to hand it to."),
]


def seed_reason_codes(apps, schema_editor):
    ReasonCode = apps.get_model("dispatch", "ReasonCode")
    for code, label, category, photo_required, description in REASON_CODES:
        ReasonCode.objects.update_or_create(
            code=code,
            defaults={
                "label": label,
                "category": category,
                "photo_required": photo_required,
                "description": description,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(seed_reason_codes, migrations.RunPython.noop),
        migrations.RunPython(groups_sync, migrations.RunPython.noop),
    ]
