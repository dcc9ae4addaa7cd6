"""Scope membership is cached (it runs a rule-language expression over every entity's facts) and kept warm
by a periodic task; editing the campaign or meeting a new entity never serves a stale answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from apps.campaigns.models import CampaignStatus
from apps.campaigns.selectors import campaign_progress
from apps.campaigns.services import campaign_create, campaign_scopes_refresh, campaign_update
from apps.campaigns.tasks import refresh_campaign_scopes
from apps.catalog.models import Entity
from apps.evaluations.models import RuleResult

START = datetime(2030, 1, 1, tzinfo=UTC)
TIER_1 = 'entity.hasGroup("tier-1")'


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def make(world, owner, *, key="c", scope=TIER_1, **changes):
    return campaign_create(
        key=key, name="Campaign " + key, owner=owner, start_date=START,
        rule_ids=[str(world.r1.identifier)], entity_scope=scope, **changes,
    )  # fmt: skip


def tags(progress) -> set[str]:
    return {e.tag for e in progress.entities}


def test_a_cached_scope_answers_the_same_without_loading_facts(world, owner):
    campaign = make(world, owner)
    with CaptureQueriesContext(connection) as first:
        cold = campaign_progress(campaign=campaign)
    with CaptureQueriesContext(connection) as second:
        warm = campaign_progress(campaign=campaign)
    # svc-1 and svc-3 are tier-1; svc-5 is tier-1 but archived.
    assert tags(cold) == tags(warm) == {"svc-1", "svc-3"}
    assert (warm.total, warm.passing) == (2, 2)  # both pass r1
    assert len(second) < len(first)
    assert not any("catalog_customdata" in q["sql"] for q in second.captured_queries)


def test_an_edited_scope_is_never_answered_from_the_cache(world, owner):
    campaign = make(world, owner)
    assert tags(campaign_progress(campaign=campaign)) == {"svc-1", "svc-3"}
    edited = campaign_update(
        campaign=campaign, name=campaign.name, owner=owner, rule_ids=[str(world.r1.identifier)],
        start_date=START, status=CampaignStatus.IN_PROGRESS, entity_scope='entity.type() = "library"',
    )  # fmt: skip
    assert tags(campaign_progress(campaign=edited)) == {"lib-1"}


def test_an_entity_the_cache_has_not_seen_is_checked_on_the_spot(world, owner):
    campaign = make(world, owner)
    campaign_progress(campaign=campaign)
    newcomer = Entity.objects.create(tag="svc-new", name="New", groups=["tier-1"])
    RuleResult.objects.create(
        entity=newcomer, scorecard=world.sc_a, rule=world.r1, state="pass", raw_state="pass",
        changed_at=world.r1.created_at,
    )  # fmt: skip
    assert tags(campaign_progress(campaign=campaign)) == {"svc-1", "svc-3", "svc-new"}


def test_the_periodic_refresh_picks_up_changed_entities(world, owner):
    campaign = make(world, owner)
    campaign_progress(campaign=campaign)
    Entity.objects.filter(tag="svc-2").update(groups=["tier-1"])
    # Until the refresh, the cached answer stands (at most CAMPAIGN_SCOPE_CACHE_SECONDS old) ...
    assert tags(campaign_progress(campaign=campaign)) == {"svc-1", "svc-3"}
    refresh_campaign_scopes.delay()
    # ... and after it the page sees svc-2.
    assert tags(campaign_progress(campaign=campaign)) == {"svc-1", "svc-2", "svc-3"}


def test_refresh_covers_open_campaigns_with_a_scope_only(world, owner):
    make(world, owner, key="scoped")
    make(world, owner, key="everyone", scope="")
    make(world, owner, key="done", status=CampaignStatus.COMPLETED)
    assert campaign_scopes_refresh() == 1


@pytest.mark.django_db
def test_beat_refreshes_scopes_every_five_minutes():
    task = PeriodicTask.objects.get(name="refresh campaign scopes")
    assert task.task == "apps.campaigns.tasks.refresh_campaign_scopes"
    assert (task.interval.every, task.interval.period) == (5, "minutes")
    assert task.enabled
