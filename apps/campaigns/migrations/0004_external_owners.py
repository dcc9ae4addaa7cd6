"""Owner UUIDs move to `User.uuid`; OwnerRef keeps only external owner UUIDs (no user here yet).

The UUIDs the API already showed for users (their OwnerRef rows) become those users' `uuid`, so scripts that
stored them keep working; those rows then go. A campaign may now be owned by an external owner UUID alone."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def carry_over(apps, schema_editor):
    OwnerRef = apps.get_model("campaigns", "OwnerRef")
    User = apps.get_model("accounts", "User")
    for user_id, value in OwnerRef.objects.filter(user__isnull=False).values_list("user_id", "uuid"):
        User.objects.filter(pk=user_id).update(uuid=value)
    OwnerRef.objects.filter(user__isnull=False).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_user_uuid"),
        ("campaigns", "0003_scope_refresh_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.AlterModelOptions(
            name="ownerref",
            options={
                "ordering": ["created_at", "id"],
                "verbose_name": "external owner UUID",
                "verbose_name_plural": "external owner UUIDs",
            },
        ),
        migrations.AddField(
            model_name="ownerref",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="ownerref",
            name="user",
            field=models.ForeignKey(
                blank=True,
                help_text="The user this owner UUID stands for; empty until an Admin links one.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="owner_refs",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="ownerref",
            name="uuid",
            field=models.UUIDField(editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="campaign",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="campaigns",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="owner_ref",
            field=models.ForeignKey(
                blank=True,
                help_text="Set when the owner was named by a UUID that is no user's here.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="campaigns",
                to="campaigns.ownerref",
            ),
        ),
        migrations.AlterField(
            model_name="campaign",
            name="entity_scope",
            field=models.TextField(
                blank=True,
                help_text="A catalog query (kind:service AND team:platform) or a rule-language boolean expression, "
                "kept verbatim; empty = every entity.",
            ),
        ),
    ]
