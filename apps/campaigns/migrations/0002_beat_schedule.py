"""The daily campaign snapshot as a django-celery-beat row (same pattern as evaluations 0003)."""

from django.db import migrations
from django.utils import timezone

NAME = "record campaign snapshots"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    fields = {"minute": "47", "hour": "23", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*",
              "timezone": "UTC"}  # fmt: skip
    crontab = CrontabSchedule.objects.filter(**fields).order_by("pk").first() or CrontabSchedule.objects.create(
        **fields
    )
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "apps.campaigns.tasks.record_campaign_snapshots",
            "crontab": crontab,
            "interval": None,
            "solar": None,
            "clocked": None,
            "one_off": False,
            "expires": None,
            "expire_seconds": 3600,
            "enabled": True,
            "args": "[]",
            "kwargs": "{}",
            "description": "Daily at 23:47 UTC: record each open campaign's progress for the day's chart.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
