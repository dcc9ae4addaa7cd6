"""The notification admin: read-only pages that load with real rows in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.catalog.models import Entity
from apps.evaluations.models import EvaluationRun, RunStatus
from apps.notifications.models import NotificationKind, NotificationLog, NotificationRun, NotificationStatus
from apps.scorecards.models import Scorecard

pytestmark = pytest.mark.django_db

PAGES = ["admin:notifications_notificationrun_changelist", "admin:notifications_notificationlog_changelist"]


def populate(count: int, *, start: int = 0) -> None:
    """`count` notification runs, each of its own evaluation run, with a sent, a failed and a skipped log."""
    now = timezone.now()
    for index in range(start, start + count):
        scorecard = Scorecard.objects.create(tag=f"sc-{index}", name=f"Scorecard {index}")
        entity = Entity.objects.create(tag=f"svc-{index}", name=f"Service {index}")
        evaluation_run = EvaluationRun.objects.create(
            scorecard=scorecard,
            status=RunStatus.SUCCEEDED,
            created_at=now,
            finished_at=now,
            lease_expires_at=now + timedelta(minutes=10),
        )
        run = NotificationRun.objects.create(
            kind=NotificationKind.SCORECARD_SCORE_DROP,
            scorecard=scorecard,
            evaluation_run=evaluation_run,
            delivered=1,
            failed=1,
            skipped=1,
        )
        for email, status in (
            (f"dev{index}@example.com", NotificationStatus.SENT),
            (f"gone{index}@example.com", NotificationStatus.FAILED),
            ("", NotificationStatus.SKIPPED),
        ):
            NotificationLog.objects.create(
                notification_run=run,
                recipient_email=email,
                recipient_entity=entity,
                subject=f"[Scorecards] svc-{index} dropped from Gold to Silver on Scorecard {index}",
                body="Failing rules: ...",
                status=status,
                error="SMTPRecipientsRefused" if status == NotificationStatus.FAILED else "",
                sent_at=now if status == NotificationStatus.SENT else None,
            )


@pytest.fixture
def root_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "root"))
    return client


@pytest.mark.parametrize("url_name", PAGES)
def test_pages_load_and_nothing_can_be_added_changed_or_deleted(root_client, url_name):
    populate(2)
    model = NotificationRun if "notificationrun" in url_name else NotificationLog
    assert root_client.get(reverse(url_name)).status_code == 200
    obj = model.objects.first()
    change = root_client.get(reverse(url_name.replace("_changelist", "_change"), args=[obj.pk]))
    assert change.status_code == 200
    assert b'type="submit" value="Save"' not in change.content
    assert root_client.get(reverse(url_name.replace("_changelist", "_add"))).status_code == 403
    assert root_client.get(reverse(url_name.replace("_changelist", "_delete"), args=[obj.pk])).status_code == 403


def test_run_page_shows_its_logs_inline(root_client):
    populate(1)
    run = NotificationRun.objects.get()
    content = root_client.get(reverse("admin:notifications_notificationrun_change", args=[run.pk])).content
    assert b"dev0@example.com" in content
    assert b"SMTPRecipientsRefused" in content


def test_log_list_filters_and_search(root_client):
    populate(3)
    url = reverse("admin:notifications_notificationlog_changelist")
    for params, expected in [
        ({"status__exact": "failed"}, 3),
        ({"notification_run__kind": NotificationKind.SCORECARD_SCORE_DROP}, 9),
        ({"q": "dev1@example.com"}, 1),
        ({"q": "svc-2"}, 3),
    ]:
        response = root_client.get(url, params)
        assert response.status_code == 200
        assert response.context["cl"].result_count == expected, params


@pytest.mark.parametrize("url_name", PAGES)
def test_changelist_queries_do_not_grow_with_rows(root_client, url_name):
    url = reverse(url_name)
    populate(2)
    root_client.get(url)  # warm the content type and permission caches
    with CaptureQueriesContext(connection) as few:
        assert root_client.get(url).status_code == 200
    populate(18, start=2)
    with CaptureQueriesContext(connection) as many:
        assert root_client.get(url).status_code == 200
    assert 0 < len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)
