"""The History tab shows transitions nobody made by hand (issue 10: it answered 500 on every fresh demo)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.roles import ROLES
from apps.accounts.services import user_create_with_role
from apps.exemptions.models import ExemptionEvent, ExemptionStatus
from apps.exemptions.services import exemption_approve, exemptions_expire
from tests.exemptions.test_views import World

pytestmark = pytest.mark.django_db


def who(html: str, event: ExemptionEvent) -> str:
    """The "Who" cell (the second) of the event's row."""
    row = re.search(rf'<tr data-testid="event-{event.pk}".*?</tr>', html, re.S).group(0)
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1].strip()


@pytest.fixture
def expired(db):
    """An exemption approved for a day, then expired by the periodic task: the last event has no actor."""
    world = World()
    now = timezone.now()
    exemption = world.request(days=1)
    exemption_approve(exemption_id=exemption.pk, by=world.approver, now=now)
    exemptions_expire(now=now + timedelta(days=2))
    return world


@pytest.mark.parametrize("role", ROLES)
def test_history_shows_an_expiry_as_done_by_the_system_for_every_role(client, expired, role):
    client.force_login(user_create_with_role(username=f"someone-{role}", role=role))
    response = client.get(reverse("exemptions:list"), {"tab": "history"})
    assert response.status_code == 200
    expiry = ExemptionEvent.objects.get(to_status=ExemptionStatus.EXPIRED)
    assert expiry.actor is None
    assert who(response.content.decode(), expiry) == "system"


def test_history_names_a_deleted_user_as_the_system_and_keeps_recorded_labels(client, expired):
    ExemptionEvent.objects.create(
        exemption=ExemptionEvent.objects.first().exemption,
        from_status="",
        to_status=ExemptionStatus.PENDING,
        actor=None,
        actor_label="",
        created_at=timezone.now(),
    )
    gone = ExemptionEvent.objects.order_by("-id").first()
    expired.viewer.delete()  # the requester: their events keep the label recorded at the time
    client.force_login(expired.approver)
    html = client.get(reverse("exemptions:list"), {"tab": "history"}).content.decode()
    assert who(html, gone) == "system"
    request = ExemptionEvent.objects.get(to_status=ExemptionStatus.PENDING, actor_label="viewer")
    assert request.actor is None
    assert who(html, request) == "viewer"


def test_actor_name_prefers_the_label_then_the_user_then_system(expired):
    approval = ExemptionEvent.objects.get(to_status=ExemptionStatus.APPROVED)
    assert approval.actor_name == "approver"
    approval.actor_label = ""
    assert approval.actor_name == "approver"  # from the user
    approval.actor = None
    assert approval.actor_name == "system"
