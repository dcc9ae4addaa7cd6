"""The exemption workflow (DESIGN §7): request, approve, deny, revoke, expire.

Every transition is one conditional UPDATE (`... WHERE status = <expected>`), so two approvers
racing cannot both win; the database's partial unique index refuses a second active exemption.
Each transition writes an ExemptionEvent and, after commit, re-scores the entity and notifies.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import User
from apps.catalog.models import Entity
from apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from apps.core.score_inputs import score_inputs_changed
from apps.exemptions.models import Exemption, ExemptionEvent, ExemptionStatus
from apps.exemptions.notify import notify_transition
from apps.scorecards.models import Rule, Scorecard

REQUEST_PERMISSION = "exemptions.request_exemption"
DECIDE_PERMISSION = "exemptions.configure_exemptions"


def _after_commit(exemption: Exemption, to_status: str) -> None:
    # Stored results stay right: re-applying exemptions to them is enough (rerun=False), on the workers.
    score_inputs_changed(
        entity_ids=[exemption.entity_id],
        scorecard_ids=[exemption.scorecard_id],
        rerun=False,
        why=f"exemption {exemption.pk} {to_status.lower()}",
    )
    exemption_id = exemption.pk
    transaction.on_commit(lambda: notify_transition(exemption_id=exemption_id, to_status=to_status))


def _record(exemption: Exemption, *, from_status: str, to_status: str, by: User | None, label: str, reason: str, now):
    ExemptionEvent.objects.create(
        exemption=exemption,
        from_status=from_status,
        to_status=to_status,
        actor=by,
        actor_label=label or (by.get_username() if by else "system"),
        reason=reason,
        created_at=now,
    )


def _require(by: User | None, permission: str, action: str) -> None:
    if by is None or not by.is_active or not by.has_perm(permission):
        raise PermissionDeniedError(f"you do not have permission to {action} exemptions")


def _clean_reason(reason: str | None, *, required: bool, action: str) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ApplicationError(f"a reason is required to {action} an exemption", extra={"field": "reason"})
    return reason


@transaction.atomic
def exemption_request(
    *,
    scorecard: Scorecard,
    entity: Entity,
    rule: Rule,
    reason: str,
    days: int | None = None,
    by: User | None,
    actor_label: str = "",
    now: datetime | None = None,
) -> Exemption:
    """Ask for `rule` of `scorecard` to be set aside for `entity`; `days` None or 0 means until revoked.

    With the scorecard's autoApprove on, the exemption is approved at once (and recorded as such).
    """
    now = now or timezone.now()
    _require(by, REQUEST_PERMISSION, "request")
    if not scorecard.exemptions_enabled:
        raise ApplicationError(f"exemptions are disabled for scorecard {scorecard.tag!r}")
    if rule.scorecard_id != scorecard.pk:
        raise NotFoundError(f"rule {rule.identifier} is not in scorecard {scorecard.tag!r}")
    if entity.pk is None or not Entity.objects.filter(pk=entity.pk).exists():
        raise NotFoundError("the entity does not exist")
    reason = _clean_reason(reason, required=True, action="request")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
        raise ApplicationError("days must be a whole number of days, 0 or more", extra={"field": "days"})
    days = days or None
    try:
        with transaction.atomic():
            exemption = Exemption.objects.create(
                scorecard=scorecard,
                entity=entity,
                rule=rule,
                reason=reason,
                days=days,
                requested_by=by,
                requested_at=now,
                end_date=now + timedelta(days=days) if days else None,
            )
    except IntegrityError as exc:
        raise ApplicationError(
            f"{entity.tag} already has a pending or approved exemption for rule {rule.title!r}", code="conflict"
        ) from exc
    _record(
        exemption, from_status="", to_status=ExemptionStatus.PENDING, by=by, label=actor_label, reason=reason, now=now
    )
    if scorecard.exemptions_auto_approve:
        Exemption.objects.filter(pk=exemption.pk).update(status=ExemptionStatus.APPROVED, decided_at=now)
        _record(
            exemption,
            from_status=ExemptionStatus.PENDING,
            to_status=ExemptionStatus.APPROVED,
            by=None,
            label="auto-approve",
            reason="the scorecard approves exemptions automatically",
            now=now,
        )
        exemption.refresh_from_db()
    _after_commit(exemption, exemption.status)
    return exemption


def _transition(
    *,
    exemption_id: int,
    by: User,
    expected: str,
    to_status: str,
    reason: str,
    now: datetime,
    condition: Q | None = None,
) -> Exemption:
    updates = {"status": to_status, "decided_by": by, "decided_at": now}
    if to_status in (ExemptionStatus.REJECTED, ExemptionStatus.REVOKED):
        updates["decision_reason"] = reason
    claimed = Exemption.objects.filter(condition or Q(), pk=exemption_id, status=expected).update(**updates)
    if claimed != 1:
        current = Exemption.objects.filter(pk=exemption_id).values_list("status", flat=True).first()
        if current is None:
            raise NotFoundError(f"exemption {exemption_id} does not exist")
        if current == expected:
            raise ApplicationError("this exemption's end date has passed; request a new one", code="conflict")
        now_label, expected_label = (ExemptionStatus(s).label.lower() for s in (current, expected))
        raise ApplicationError(
            f"the exemption is {now_label}, not {expected_label}; nothing was changed", code="conflict"
        )
    exemption = Exemption.objects.select_related("scorecard", "entity", "rule").get(pk=exemption_id)
    _record(exemption, from_status=expected, to_status=to_status, by=by, label="", reason=reason, now=now)
    _after_commit(exemption, to_status)
    return exemption


def _check_not_own(exemption_id: int, by: User) -> None:
    """Approve and deny: no one decides their own request (DESIGN §7), unless the setting lets Admins.

    Revoke does not call this, on purpose: an approver may revoke an exemption they requested, however it was
    approved (by a colleague, by autoApprove, or by themselves as an Admin under the setting). The four-eyes rule
    guards the decision that sets a rule aside; revoking only makes the rule count again, so it cannot give the
    requester anything, and forbidding it would keep in force an exemption its own requester knows is no longer
    needed until a colleague acts. The revocation is recorded with its reason like any other.
    """
    requested_by = Exemption.objects.filter(pk=exemption_id).values_list("requested_by_id", flat=True).first()
    if requested_by is None or requested_by != by.pk:
        return
    if settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN and by.is_admin_role:
        return
    raise PermissionDeniedError("you cannot decide on your own exemption request")


@transaction.atomic
def exemption_approve(*, exemption_id: int, by: User, reason: str = "", now: datetime | None = None) -> Exemption:
    """PENDING -> APPROVED, by someone allowed to configure exemptions who did not request it."""
    now = now or timezone.now()
    _require(by, DECIDE_PERMISSION, "approve")
    _check_not_own(exemption_id, by)
    return _transition(
        exemption_id=exemption_id,
        by=by,
        expected=ExemptionStatus.PENDING,
        to_status=ExemptionStatus.APPROVED,
        reason=_clean_reason(reason, required=False, action="approve"),
        now=now,
        condition=Q(end_date__isnull=True) | Q(end_date__gt=now),
    )


@transaction.atomic
def exemption_deny(*, exemption_id: int, by: User, reason: str, now: datetime | None = None) -> Exemption:
    """PENDING -> REJECTED, with a reason."""
    now = now or timezone.now()
    _require(by, DECIDE_PERMISSION, "deny")
    reason = _clean_reason(reason, required=True, action="deny")
    _check_not_own(exemption_id, by)
    return _transition(
        exemption_id=exemption_id,
        by=by,
        expected=ExemptionStatus.PENDING,
        to_status=ExemptionStatus.REJECTED,
        reason=reason,
        now=now,
    )


@transaction.atomic
def exemption_revoke(*, exemption_id: int, by: User, reason: str, now: datetime | None = None) -> Exemption:
    """APPROVED -> REVOKED, with a reason; the rule counts again from the next re-score.

    Anyone allowed to configure exemptions may revoke, their own exemptions included (see `_check_not_own`).
    """
    now = now or timezone.now()
    _require(by, DECIDE_PERMISSION, "revoke")
    reason = _clean_reason(reason, required=True, action="revoke")
    # No _check_not_own here: revoking one's own exemption is allowed (it only takes an exemption away).
    return _transition(
        exemption_id=exemption_id,
        by=by,
        expected=ExemptionStatus.APPROVED,
        to_status=ExemptionStatus.REVOKED,
        reason=reason,
        now=now,
    )


@transaction.atomic
def exemptions_expire(*, now: datetime | None = None) -> list[int]:
    """APPROVED exemptions past their end date -> EXPIRED. Returns the ids expired by this call.

    Rows are locked (skipping ones another worker holds), so concurrent runs never expire one twice.
    """
    now = now or timezone.now()
    due = list(
        Exemption.objects.select_for_update(skip_locked=True)
        .filter(status=ExemptionStatus.APPROVED, end_date__lte=now)
        .order_by("pk")
    )
    if not due:
        return []
    Exemption.objects.filter(pk__in=[e.pk for e in due], status=ExemptionStatus.APPROVED).update(
        status=ExemptionStatus.EXPIRED
    )
    for exemption in due:
        _record(
            exemption,
            from_status=ExemptionStatus.APPROVED,
            to_status=ExemptionStatus.EXPIRED,
            by=None,
            label="system",
            reason="the end date has passed",
            now=now,
        )
        _after_commit(exemption, ExemptionStatus.EXPIRED)
    return [e.pk for e in due]


def exemptions_follow_rule(*, rule_id: int, from_scorecard_id: int, to_scorecard_id: int) -> int:
    """Listener of apps.core.rule_moves: a moved rule's exemptions (every status, history included) now name
    its new scorecard, so the approved ones keep exempting it there. Runs in the mover's transaction;
    idempotent. Returns how many moved."""
    return Exemption.objects.filter(rule_id=rule_id, scorecard_id=from_scorecard_id).update(
        scorecard_id=to_scorecard_id
    )
