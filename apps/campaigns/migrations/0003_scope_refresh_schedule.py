"""Keep campaign scope membership warm in the cache: every 5 minutes, as a django-celery-beat row."""

from django.db import migrations
from django.utils import timezone

NAME = "refresh campaign scopes"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    interval = IntervalSchedule.objects.filter(every=5, period="minutes").order_by("pk").first()
    interval = interval or IntervalSchedule.objects.create(every=5, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "apps.campaigns.tasks.refresh_campaign_scopes",
            "interval": interval,
            "crontab": None,
            "solar": None,
            "clocked": None,
            "one_off": False,
            "expires": None,
            "expire_seconds": 240,
            "enabled": True,
            "args": "[]",
            "kwargs": "{}",
            "description": "Every 5 minutes: recompute which entities match each open campaign's scope (cached).",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0002_beat_schedule")]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
