"""The periodic tasks Celery beat runs (DESIGN §8), as django-celery-beat rows editable in the admin.

Idempotent: tasks are created or updated by name, schedules are reused when an equal one exists.
Reversing deletes the three tasks (the schedules stay: other tasks may use them).
"""

from django.db import migrations
from django.utils import timezone

DISPATCH = "dispatch evaluations"
EXPIRE = "expire exemptions"
PRUNE = "prune score history"
NAMES = (DISPATCH, EXPIRE, PRUNE)


def _interval(apps, minutes):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    found = IntervalSchedule.objects.filter(every=minutes, period="minutes").order_by("pk").first()
    return found or IntervalSchedule.objects.create(every=minutes, period="minutes")


def _crontab(apps, **fields):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    found = CrontabSchedule.objects.filter(**fields).order_by("pk").first()
    return found or CrontabSchedule.objects.create(**fields)


def _changed(apps):
    """What PeriodicTask's save and delete signals do in the app (historical models send none):
    tells a running DatabaseScheduler to reload its schedule."""
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def create_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    daily = _crontab(apps, minute="17", hour="3", day_of_month="*", month_of_year="*", day_of_week="*", timezone="UTC")
    tasks = {
        DISPATCH: {
            "task": "apps.evaluations.tasks.dispatch_evaluations",
            "interval": _interval(apps, 1),
            "crontab": None,
            # A tick not picked up within the minute is dropped: the next one does the same work.
            "expire_seconds": 55,
            "description": "Every minute: resume stale evaluation runs, start runs for scorecards that are due.",
        },
        EXPIRE: {
            "task": "apps.evaluations.tasks.expire_exemptions",
            "interval": _interval(apps, 5),
            "crontab": None,
            "expire_seconds": None,
            "description": "Every 5 minutes: expire approved exemptions whose end date has passed.",
        },
        PRUNE: {
            "task": "apps.evaluations.tasks.prune_score_history",
            "interval": None,
            "crontab": daily,
            "expire_seconds": None,
            "description": "Daily at 03:17 UTC: delete score history older than SCORE_HISTORY_RETENTION_DAYS.",
        },
    }
    for name, fields in tasks.items():
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                **fields,
                "solar": None,
                "clocked": None,
                "one_off": False,
                "expires": None,
                "enabled": True,
                "args": "[]",
                "kwargs": "{}",
            },
        )
    _changed(apps)


def delete_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=NAMES).delete()
    _changed(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0002_engine"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
