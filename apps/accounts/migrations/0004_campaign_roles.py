from django.db import migrations


def sync(apps, schema_editor):
    from apps.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    """Grant the campaign permissions (Viewer views; Editor edits; Admin all)."""

    dependencies = [
        ("accounts", "0003_api_keys"),
        ("campaigns", "0001_initial"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
