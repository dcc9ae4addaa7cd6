"""Reads for the exemption pages; each is shaped so a page costs the same queries whatever its rows."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.roles import ADMIN
from apps.exemptions.models import Exemption, ExemptionEvent, ExemptionStatus
from apps.exemptions.services import DECIDE_PERMISSION

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


def exemption_inbox_count(*, user: User) -> int:
    """How many pending requests wait for `user`'s decision (the navigation's count): 0 for non-approvers.

    The rules are the services' (DESIGN §7): only holders of the decide permission, and not on their own
    requests unless EXEMPTIONS_ADMINS_MAY_APPROVE_OWN lets Admins. At most one query, whatever the data:
    when the user's permissions are loaded already (most pages check one), a non-approver costs none;
    otherwise the permission is checked inside the counting query instead of loading every permission.
    """
    if not user.is_authenticated or not user.is_active:
        return 0
    pending = Exemption.objects.filter(status=ExemptionStatus.PENDING)
    if settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN and not user.is_superuser:
        pending = pending.filter(~Q(requested_by=user) | Exists(Group.objects.filter(user=user, name=ADMIN)))
    elif not settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN:
        pending = pending.exclude(requested_by=user)
    if user.is_superuser or hasattr(user, "_perm_cache"):  # ModelBackend's per-request cache of has_perm
        return pending.count() if user.has_perm(DECIDE_PERMISSION) else 0
    app_label, codename = DECIDE_PERMISSION.split(".")
    holds = Permission.objects.filter(content_type__app_label=app_label, codename=codename).filter(
        Q(user=user) | Q(group__user=user)
    )
    return pending.filter(Exists(holds)).count()


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
