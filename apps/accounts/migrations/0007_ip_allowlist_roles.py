from django.db import migrations


def sync(apps, schema_editor):
    from apps.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    """Grant the IP allowlist's permissions: only Admin (which holds every permission) configures it."""

    dependencies = [
        ("accounts", "0006_user_uuid"),
        ("security", "0001_initial"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
