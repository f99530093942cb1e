"""A case that ended is reopened when the recipient asks for something after it.

The timeline gets a "Reopened" line, the case when and how often it was reopened, and the
replies of a period an index of their own (the requests nobody answered are counted from them).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0012_prevention_daily_share"),
    ]

    operations = [
        migrations.AddField(
            model_name="exceptioncase",
            name="reopened_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the recipient last wrote after the case ended and it was worked again.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="exceptioncase",
            name="reopened_count",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="How many times the case ended and was reopened by the recipient's request."
            ),
        ),
        migrations.AlterField(
            model_name="caseevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("scan", "Failed scan"),
                    ("state", "State change"),
                    ("message_out", "Message sent"),
                    ("reply_in", "Reply received"),
                    ("understanding", "Reply understood"),
                    ("decision", "Decision"),
                    ("instruction", "Driver instruction"),
                    ("route_change", "Route change"),
                    ("escalation", "Escalation"),
                    ("dispatcher_action", "Dispatcher action"),
                    ("note", "Note"),
                    ("reopened", "Reopened"),
                ],
                max_length=24,
            ),
        ),
        migrations.AddIndex(
            model_name="caseevent",
            index=models.Index(
                condition=models.Q(("kind", "understanding")), fields=["at"], name="caseevent_reply_at_idx"
            ),
        ),
    ]
