from django.db import migrations


def create_roles(apps, schema_editor):
    from apps.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
        ("scorecards", "0001_initial"),
        ("integrations", "0001_initial"),
        ("exemptions", "0001_initial"),
        ("evaluations", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
