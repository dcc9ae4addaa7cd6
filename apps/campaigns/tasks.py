"""Celery entry points for campaigns: ids only, services do the work, so duplicates are harmless."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True, acks_late=True)
def record_campaign_snapshot(campaign_id: str) -> None:
    from apps.campaigns.services import campaign_snapshot_record

    campaign_snapshot_record(campaign_id=campaign_id)


@shared_task(ignore_result=True)
def record_campaign_snapshots() -> None:
    """Daily: one small task per campaign that is not completed, each upserting today's snapshot."""
    from apps.campaigns.models import Campaign, CampaignStatus

    for campaign_id in Campaign.objects.exclude(status=CampaignStatus.COMPLETED).values_list("pk", flat=True):
        record_campaign_snapshot.delay(str(campaign_id))


@shared_task(ignore_result=True, expires=240)
def refresh_campaign_scopes() -> None:
    """Every few minutes: recompute the scope membership of open campaigns that have a scope, so their pages
    read it from the cache instead of running the scope over every entity."""
    from apps.campaigns.services import campaign_scopes_refresh

    campaign_scopes_refresh()
