from django.db import migrations

from dispatch.roles import groups_sync


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0004_api_tokens_instructions_locations_webhooks")]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
