"""The notification run and log selectors: every Cortex filter, ordering, and a fixed query count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.catalog.models import Entity
from apps.core.errors import ApplicationError
from apps.notifications.models import NotificationKind, NotificationLog, NotificationRun, NotificationStatus
from apps.notifications.selectors import notification_log_list, notification_run_list
from apps.scorecards.models import Scorecard

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def history():
    """Two runs a day apart: the first sent to Ana and Bo about payments-api, the second reached nobody."""
    readiness = Scorecard.objects.create(tag="production-readiness", name="Production Readiness")
    security = Scorecard.objects.create(tag="security", name="Security")
    payments = Entity.objects.create(tag="payments-api", name="Payments API")
    ledger = Entity.objects.create(tag="ledger-api", name="Ledger API")
    first = NotificationRun.objects.create(
        kind=NotificationKind.SCORECARD_SCORE_DROP, scorecard=readiness, created_at=T0, delivered=2, failed=1
    )
    second = NotificationRun.objects.create(
        kind=NotificationKind.SCORECARD_SCORE_DROP, scorecard=security, created_at=T0 + timedelta(days=1), skipped=1
    )
    rows = [
        (first, "ana@example.com", payments, "", NotificationStatus.SENT, T0),
        (first, "bo@example.com", payments, "", NotificationStatus.SENT, T0 + timedelta(minutes=1)),
        (first, "lead@example.com", ledger, "#payments", NotificationStatus.FAILED, T0 + timedelta(minutes=2)),
        (second, "", ledger, "", NotificationStatus.SKIPPED, T0 + timedelta(days=1)),
    ]
    logs = [
        NotificationLog.objects.create(
            notification_run=run,
            recipient_email=email,
            recipient_entity=entity,
            recipient_channel=channel,
            subject=f"[Scorecards] {entity.tag} dropped",
            status=status,
            created_at=created,
        )
        for run, email, entity, channel, status, created in rows
    ]
    return {"first": first, "second": second, "payments": payments, "ledger": ledger, "logs": logs}


def emails(qs) -> list[str]:
    return [log.recipient_email for log in qs]


def test_logs_newest_first_by_default_and_oldest_first_on_asc(history):
    assert emails(notification_log_list()) == ["", "lead@example.com", "bo@example.com", "ana@example.com"]
    assert emails(notification_log_list(order="asc")) == ["ana@example.com", "bo@example.com", "lead@example.com", ""]


def test_logs_filter_by_run_email_entity_and_channel(history):
    assert emails(notification_log_list(run_ids=[history["second"].pk])) == [""]
    # Stored lowercased, so however the caller spells the address, it matches.
    assert emails(notification_log_list(emails=["Ana@Example.com ", "bo@example.com"])) == [
        "bo@example.com",
        "ana@example.com",
    ]
    assert emails(notification_log_list(entity_ids=[history["ledger"].pk])) == ["", "lead@example.com"]
    assert emails(notification_log_list(channels=["#payments"])) == ["lead@example.com"]
    combined = notification_log_list(run_ids=[history["first"].pk], entity_ids=[history["ledger"].pk])
    assert emails(combined) == ["lead@example.com"]
    assert emails(notification_log_list(emails=[])) == []


def test_logs_filter_by_time_range_inclusive_and_accept_naive_times(history, settings):
    in_range = notification_log_list(from_date=T0 + timedelta(minutes=1), until_date=T0 + timedelta(minutes=2))
    assert emails(in_range) == ["lead@example.com", "bo@example.com"]
    settings.TIME_ZONE = "UTC"  # naive times are read in the site's time zone
    naive = notification_log_list(from_date=datetime(2026, 3, 2, 0, 0))
    assert emails(naive) == [""]


def test_unknown_order_is_refused():
    with pytest.raises(ApplicationError):
        notification_log_list(order="sideways")
    with pytest.raises(ApplicationError):
        notification_run_list(order="random")


def test_runs_filter_by_search_delivery_and_time(history):
    first, second = history["first"], history["second"]
    assert list(notification_run_list()) == [second, first]
    assert list(notification_run_list(order="ASC")) == [first, second]
    assert list(notification_run_list(delivered_only=True)) == [first]
    assert list(notification_run_list(search="SECUR")) == [second]
    assert list(notification_run_list(search="production readiness")) == [first]
    assert list(notification_run_list(search="score_drop")) == [second, first]
    assert list(notification_run_list(until_date=T0)) == [first]
    assert list(notification_run_list(from_date=T0 + timedelta(hours=1))) == [second]


def test_log_list_is_one_query_with_its_relations(history, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = [
            (log.notification_run.scorecard.tag, log.recipient_entity.tag, log.notification_run.kind)
            for log in notification_log_list()
        ]
    assert rows[0] == ("security", "ledger-api", "SCORECARD_SCORE_DROP")


def test_run_list_with_logs_is_two_queries(history, django_assert_num_queries):
    with django_assert_num_queries(2):
        runs = list(notification_run_list(include_logs=True))
        tags = {run.scorecard.tag: [log.recipient_entity.tag for log in run.log_list] for run in runs}
    assert tags == {
        "production-readiness": ["payments-api", "payments-api", "ledger-api"],
        "security": ["ledger-api"],
    }
