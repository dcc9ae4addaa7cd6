"""The beat schedule lives in the database (django-celery-beat), created by a data migration."""

import importlib
from datetime import timedelta

import pytest
from celery import schedules
from django.apps import apps as global_apps
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

from scorecards_site.celery import app

pytestmark = pytest.mark.django_db

migration = importlib.import_module("apps.evaluations.migrations.0003_beat_schedule")

EXPECTED = {
    "dispatch evaluations": "apps.evaluations.tasks.dispatch_evaluations",
    "expire exemptions": "apps.evaluations.tasks.expire_exemptions",
    "prune score history": "apps.evaluations.tasks.prune_score_history",
}


def test_the_migration_creates_the_three_periodic_tasks():
    tasks = {task.name: task for task in PeriodicTask.objects.filter(name__in=EXPECTED)}
    assert {name: task.task for name, task in tasks.items()} == EXPECTED
    assert all(task.enabled and not task.one_off for task in tasks.values())

    dispatch = tasks["dispatch evaluations"]
    assert (dispatch.interval.every, dispatch.interval.period) == (1, IntervalSchedule.MINUTES)
    assert dispatch.crontab is None
    assert dispatch.expire_seconds == 55

    expire = tasks["expire exemptions"]
    assert (expire.interval.every, expire.interval.period) == (5, IntervalSchedule.MINUTES)
    assert expire.crontab is None

    prune = tasks["prune score history"]
    assert prune.interval is None
    cron = prune.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "17",
        "3",
        "*",
        "*",
        "*",
    )
    assert str(cron.timezone) == "UTC"


def test_the_schedules_mean_what_they_say():
    by_name = {task.name: task for task in PeriodicTask.objects.filter(name__in=EXPECTED)}
    assert by_name["dispatch evaluations"].schedule.run_every == timedelta(minutes=1)
    assert by_name["expire exemptions"].schedule.run_every == timedelta(minutes=5)
    daily = by_name["prune score history"].schedule
    assert isinstance(daily, schedules.crontab)
    assert daily.hour == {3} and daily.minute == {17}


def test_every_scheduled_task_is_importable_and_registered():
    app.loader.import_default_modules()
    for path in EXPECTED.values():
        module_name, _, attribute = path.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute))
        assert path in app.tasks


def test_the_migration_is_idempotent_and_reversible():
    before = PeriodicTask.objects.filter(name__in=EXPECTED).count()
    intervals, crontabs = IntervalSchedule.objects.count(), CrontabSchedule.objects.count()

    migration.create_schedule(global_apps, None)
    assert PeriodicTask.objects.filter(name__in=EXPECTED).count() == before == 3
    assert (IntervalSchedule.objects.count(), CrontabSchedule.objects.count()) == (intervals, crontabs)

    PeriodicTask.objects.filter(name="dispatch evaluations").update(expire_seconds=5, task="elsewhere")
    migration.create_schedule(global_apps, None)
    dispatch = PeriodicTask.objects.get(name="dispatch evaluations")
    assert (dispatch.task, dispatch.expire_seconds) == (EXPECTED["dispatch evaluations"], 55)

    changed = PeriodicTasks.objects.get(ident=1).last_update
    migration.delete_schedule(global_apps, None)
    assert not PeriodicTask.objects.filter(name__in=EXPECTED).exists()
    assert PeriodicTasks.objects.get(ident=1).last_update >= changed  # a running beat reloads
