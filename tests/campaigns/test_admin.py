"""An Admin links an external owner UUID (one that named no user here) to a user in the admin."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.campaigns.models import Campaign, OwnerRef
from apps.campaigns.services import campaign_create

pytestmark = pytest.mark.django_db
EXTERNAL = uuid.UUID("550e8400-e29b-41d4-a716-446655440000")


def test_linking_an_external_owner_uuid_in_the_admin_gives_its_campaigns_that_owner(world, client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "root")
    ana = django_user_model.objects.create_user("ana")
    campaign = campaign_create(
        key="migrated", name="Migrated", owner=EXTERNAL, rule_ids=[str(world.r1.identifier)],
        start_date=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    ref = OwnerRef.objects.get(uuid=EXTERNAL)
    client.force_login(root)
    listing = client.get(reverse("admin:campaigns_ownerref_changelist")).content.decode()
    assert str(EXTERNAL) in listing
    change = reverse("admin:campaigns_ownerref_change", args=[ref.pk])
    response = client.post(change, {"user": ana.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert OwnerRef.objects.get(pk=ref.pk).user == ana
    campaign = Campaign.objects.for_api().get(pk=campaign.pk)
    assert campaign.owner == ana and campaign.owner_uuid == EXTERNAL
    campaigns_page = client.get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    assert "ana" in campaigns_page
