from django.db import migrations


def sync(apps, schema_editor):
    from apps.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    """Grant the dependency and relationship permissions (Viewer views; Editor edits; Admin all)."""

    dependencies = [
        ("accounts", "0004_campaign_roles"),
        ("catalog", "0002_dependencies_relationships"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
