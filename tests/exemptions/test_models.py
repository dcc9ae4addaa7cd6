from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.exemptions.models import Exemption, ExemptionEvent, ExemptionStatus, time_left_label

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("end_date", "text"),
    [
        (NOW + timedelta(days=30), "30 days left"),  # a 30-day exemption, the moment it starts
        (NOW + timedelta(days=29, hours=13, minutes=59), "29 days left"),  # ends on the 29th day after today
        (NOW + timedelta(days=2), "2 days left"),
        (NOW + timedelta(days=1), "1 day left"),
        (datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC), "1 day left"),  # tomorrow, however early
        (datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), "expires today"),
        (NOW + timedelta(seconds=1), "expires today"),
        (NOW, "expired"),
        (NOW - timedelta(seconds=1), "expired"),
        (NOW - timedelta(days=3), "expired"),
        (None, "until revoked"),
    ],
)
def test_time_left_counts_calendar_days_to_the_end_date(end_date, text):
    assert time_left_label(end_date, now=NOW) == text


def test_a_30_day_exemption_reads_30_days_all_its_first_day_and_1_day_on_its_eve():
    end = NOW + timedelta(days=30)
    assert time_left_label(end, now=datetime(2026, 3, 1, 23, 59, tzinfo=UTC)) == "30 days left"
    assert time_left_label(end, now=datetime(2026, 3, 2, 0, 0, tzinfo=UTC)) == "29 days left"
    assert time_left_label(end, now=end - timedelta(days=1)) == "1 day left"
    assert time_left_label(end, now=end - timedelta(minutes=1)) == "expires today"
    assert time_left_label(end, now=end) == "expired"


def test_time_left_counts_days_in_the_sites_time_zone():
    now = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # 22:00 on 28 February in New York
    end = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 07:00 on 1 March in New York
    assert time_left_label(end, now=now) == "expires today"
    with timezone.override("America/New_York"):
        assert time_left_label(end, now=now) == "1 day left"


def test_an_exemption_says_its_time_left_and_its_status_label():
    exemption = Exemption(status=ExemptionStatus.APPROVED, end_date=timezone.now() + timedelta(days=30))
    assert exemption.time_left == "30 days left"
    assert Exemption(end_date=None).time_left == "until revoked"
    assert [Exemption(status=s).get_status_display() for s in ExemptionStatus.values] == [
        "Pending",
        "Approved",
        "Denied",
        "Revoked",
        "Expired",
    ]


def test_the_admin_names_exemptions_and_events_with_the_state_labels():
    assert str(ExemptionEvent(from_status="", to_status=ExemptionStatus.PENDING)) == "new → Pending"
    event = ExemptionEvent(from_status=ExemptionStatus.PENDING, to_status=ExemptionStatus.REJECTED)
    assert str(event) == "Pending → Denied"
