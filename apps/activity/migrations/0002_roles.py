from django.db import migrations


def sync(apps, schema_editor):
    from apps.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    """Grant the activity permissions: Viewer views deploys, events and metrics; Editor writes them."""

    dependencies = [
        ("activity", "0001_initial"),
        ("accounts", "0004_campaign_roles"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
