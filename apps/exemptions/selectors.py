"""Reads for the exemption pages; each is shaped so a page costs the same queries whatever its rows."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.exemptions.models import Exemption, ExemptionEvent, ExemptionStatus

_ROW_RELATIONS = ("scorecard", "entity", "rule", "requested_by", "decided_by")


def exemption_list(*, status: str | None = None, requested_by: User | None = None) -> QuerySet[Exemption]:
    """Exemptions (newest request first) with everything a row shows already joined."""
    qs = Exemption.objects.select_related(*_ROW_RELATIONS)
    if status is not None:
        qs = qs.filter(status=status)
    if requested_by is not None:
        qs = qs.filter(requested_by=requested_by)
    return qs.order_by("-requested_at", "-id")


def exemption_inbox() -> QuerySet[Exemption]:
    """Pending requests, oldest first: the approvers' queue."""
    return exemption_list(status=ExemptionStatus.PENDING).order_by("requested_at", "id")


def exemption_in_force_list(*, now: datetime | None = None) -> QuerySet[Exemption]:
    """Approved exemptions still in force, soonest to end first (until-revoked ones last)."""
    now = now or timezone.now()
    return Exemption.objects.in_force(now).select_related(*_ROW_RELATIONS).order_by("end_date", "-decided_at", "-id")


def exemption_get(*, exemption_id: int) -> Exemption | None:
    return Exemption.objects.select_related(*_ROW_RELATIONS).filter(pk=exemption_id).first()


def exemption_event_list() -> QuerySet[ExemptionEvent]:
    """Every transition, newest first, with its exemption's entity, scorecard, rule and actor joined."""
    return ExemptionEvent.objects.select_related(
        "actor", "exemption__entity", "exemption__scorecard", "exemption__rule"
    ).order_by("-created_at", "-id")
