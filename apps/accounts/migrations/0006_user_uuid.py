"""Every user gets a stable owner UUID (Datadog's API names campaign owners by UUID): added empty, filled with a
fresh UUID per user, then made unique and required. apps.campaigns' next migration carries over the UUIDs the
API already showed for some users."""

import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for user in User.objects.filter(uuid__isnull=True).only("pk"):
        User.objects.filter(pk=user.pk).update(uuid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_dependency_roles")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="uuid",
            field=models.UUIDField(editable=False, null=True, verbose_name="owner UUID"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="owner UUID"),
        ),
    ]
