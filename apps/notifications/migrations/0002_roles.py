from django.db import migrations


def grant_roles(apps, schema_editor):
    # The Admin role holds every permission; re-sync so it covers the notification models too.
    from apps.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
