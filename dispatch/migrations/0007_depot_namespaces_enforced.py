"""Recipients and addresses must have a depot, and external ids are unique within one (dispatch/tenancy.py).

Apart from 0006: its data moves leave deferred checks that Postgres settles only at commit, before any ALTER.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0006_depot_namespaces")]

    operations = [
        migrations.AlterField(
            model_name="address",
            name="depot",
            field=models.ForeignKey(
                help_text="The depot whose orders go here: an address reference names a place within one depot.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="addresses",
                to="dispatch.depot",
            ),
        ),
        migrations.AlterField(
            model_name="recipient",
            name="depot",
            field=models.ForeignKey(
                help_text="The depot whose orders this record serves: a CRM id names a recipient within one depot.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="recipients",
                to="dispatch.depot",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_ref__isnull", False)),
                fields=("depot", "external_ref"),
                name="address_unique_external_ref_in_depot",
                violation_error_message="This depot already has an address with this reference.",
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.UniqueConstraint(
                fields=("depot", "reference"),
                name="order_unique_reference_in_depot",
                violation_error_message="This depot already has an order with this reference.",
            ),
        ),
        migrations.AddConstraint(
            model_name="recipient",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_id__isnull", False)),
                fields=("depot", "external_id"),
                name="recipient_unique_external_id_in_depot",
                violation_error_message="This depot already has a recipient with this CRM identifier.",
            ),
        ),
    ]
