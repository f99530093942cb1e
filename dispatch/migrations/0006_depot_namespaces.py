"""Recipients and addresses belong to a depot, and external ids are unique within one (dispatch/tenancy.py).

A recipient or address that orders of several depots pointed at is split: the depot of its oldest order keeps it,
every other depot gets a copy (an address's access codes with it) and its orders and conversations move there.
One that no order points at goes to the first depot.
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Min, OuterRef, Subquery


def _first_depot(apps):
    depot = apps.get_model("dispatch", "Depot").objects.order_by("pk").first()
    if depot is None:
        raise RuntimeError("Recipients or addresses exist but no depot does: create a depot, then migrate again.")
    return depot.pk


def give_each_depot_its_own(apps, schema_editor):
    Order = apps.get_model("dispatch", "Order")
    AccessCredential = apps.get_model("dispatch", "AccessCredential")
    Conversation = apps.get_model("outreach", "Conversation")
    for name, field in (("Recipient", "recipient"), ("Address", "address")):
        model = apps.get_model("dispatch", name)
        first = (
            Order.objects.filter(**{field: OuterRef("pk")})
            .values(field)
            .annotate(first=Min("depot_id"))
            .values("first")
        )
        model.objects.update(depot_id=Subquery(first))
        if model.objects.filter(depot__isnull=True).exists():
            model.objects.filter(depot__isnull=True).update(depot_id=_first_depot(apps))
        shared = (
            Order.objects.exclude(**{f"{field}__depot_id": models.F("depot_id")})
            .values_list(f"{field}_id", "depot_id")
            .distinct()
            .order_by(f"{field}_id", "depot_id")
        )
        for original_pk, depot_id in list(shared):
            row = model.objects.get(pk=original_pk)
            row.pk = None
            row.depot_id = depot_id
            row.save()
            Order.objects.filter(**{f"{field}_id": original_pk, "depot_id": depot_id}).update(**{field: row})
            if name == "Address":
                for credential in AccessCredential.objects.filter(address_id=original_pk):
                    credential.pk = None
                    credential.address_id = row.pk
                    credential.save()
            else:
                Conversation.objects.filter(recipient_id=original_pk).filter(
                    models.Q(case__order__depot_id=depot_id) | models.Q(stop__order__depot_id=depot_id)
                ).update(recipient=row)


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0005_roles_for_api_models"),
        ("outreach", "0005_ask_directions_template"),
    ]

    operations = [
        migrations.AddField(
            model_name="address",
            name="depot",
            field=models.ForeignKey(
                help_text="The depot whose orders go here: an address reference names a place within one depot.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="addresses",
                to="dispatch.depot",
            ),
        ),
        migrations.AddField(
            model_name="recipient",
            name="depot",
            field=models.ForeignKey(
                help_text="The depot whose orders this record serves: a CRM id names a recipient within one depot.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="recipients",
                to="dispatch.depot",
            ),
        ),
        migrations.AlterField(
            model_name="address",
            name="external_ref",
            field=models.CharField(
                blank=True,
                help_text="The order system's identifier, unique within the depot.",
                max_length=64,
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="reference",
            field=models.CharField(
                help_text="The sender's reference, unique within the depot.",
                max_length=40,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$",
                        "Use letters, digits, dots, dashes or slashes, e.g. LM-88204.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="recipient",
            name="external_id",
            field=models.CharField(
                blank=True, help_text="CRM identifier, unique within the depot.", max_length=64, null=True
            ),
        ),
        migrations.RunPython(give_each_depot_its_own, migrations.RunPython.noop),
    ]
