from django.db import migrations

from dispatch.roles import groups_sync


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_routing_settings")]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
