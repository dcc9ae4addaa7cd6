"""Writes for campaigns. Each is atomic, validates everything first and reports every problem at once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.campaigns.models import Campaign, CampaignSnapshot, CampaignStatus, OwnerRef, key_validator
from apps.campaigns.selectors import campaign_progress, scope_problems
from apps.core.errors import ApplicationError, Problem, ValidationFailed
from apps.core.races import LostCreateRace, insert_or_lose_race
from apps.scorecards.models import Rule
from apps.scorecards.selectors import AmbiguousRuleError, rules_by_identifiers


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def owner_uuid_for(*, user: User) -> uuid.UUID:
    """The stable owner UUID the Datadog-style API shows for this user (User.uuid)."""
    return user.uuid


def owner_for_uuid(value: uuid.UUID) -> User | OwnerRef:
    """The owner an `owner_id` names: the user whose UUID it is, or an external OwnerRef, kept (made once, race-safe)
    for a UUID that names no user here, so an Admin can link it to a user later."""
    from apps.campaigns.selectors import owner_get_by_uuid

    found = owner_get_by_uuid(str(value))
    if found is not None:
        return found
    ref, _ = OwnerRef.objects.get_or_create(uuid=value)
    return ref


@transaction.atomic
def owner_ref_link(*, ref_id: int, user: User | None) -> OwnerRef:
    """Link an external owner UUID to a user (or unlink it with None): its campaigns are then owned by that user,
    while the API keeps showing the UUID as sent. Idempotent; the row is locked while campaigns follow."""
    ref = OwnerRef.objects.select_for_update().get(pk=ref_id)
    OwnerRef.objects.filter(pk=ref.pk).update(user=user)
    Campaign.objects.filter(owner_ref=ref).update(owner=user, modified_at=timezone.now())
    return OwnerRef.objects.select_related("user").get(pk=ref.pk)


def _owner_fields(owner: User | OwnerRef | uuid.UUID) -> dict:
    if isinstance(owner, uuid.UUID):
        owner = owner_for_uuid(owner)
    if isinstance(owner, OwnerRef):
        return {"owner": owner.user, "owner_ref": owner}
    return {"owner": owner, "owner_ref": None}


def _check(
    *, key: str, name: str, status: str, start_date: datetime | None, due_date: datetime | None,
    rule_ids: list[str], entity_scope: str, exclude_id=None,
) -> list[Rule]:  # fmt: skip
    """Every problem of a campaign's fields at once (ValidationFailed), then key uniqueness (conflict, 409)."""
    problems: list[Problem] = []
    if not key:
        problems.append(Problem("a key is required", path="key"))
    elif len(key) > 255:
        problems.append(Problem("at most 255 characters", path="key"))
    else:
        try:
            key_validator(key)
        except Exception as exc:  # django ValidationError
            problems.append(Problem(" ".join(getattr(exc, "messages", [str(exc)])), path="key"))
    if not name.strip():
        problems.append(Problem("a name is required", path="name"))
    elif len(name) > 255:
        problems.append(Problem("at most 255 characters", path="name"))
    if status not in CampaignStatus.values:
        problems.append(Problem(f"must be one of {', '.join(CampaignStatus.values)}, not {status!r}", path="status"))
    if start_date is None:
        problems.append(Problem("a start date is required", path="start_date"))
    elif due_date is not None and due_date < start_date:
        problems.append(Problem("the due date must not be before the start date", path="due_date"))
    rules: list[Rule] = []
    if not isinstance(rule_ids, list) or not rule_ids:
        problems.append(Problem("at least one rule id is required", path="rule_ids"))
    else:
        wanted: list[uuid.UUID] = []
        for index, raw in enumerate(rule_ids):
            try:
                wanted.append(uuid.UUID(str(raw)))
            except ValueError:
                problems.append(Problem(f"{raw!r} is not a rule id (a UUID)", path=f"rule_ids.{index}"))
        # Bare rule ids: an id that rules of several scorecards share is refused, not guessed.
        try:
            rules = list(rules_by_identifiers(wanted).values())
        except AmbiguousRuleError as exc:
            problems.append(Problem(str(exc), path="rule_ids"))
        else:
            missing = sorted({str(w) for w in wanted} - {str(r.identifier) for r in rules})
            if missing:
                problems.append(Problem(f"no rule has the id {', '.join(missing)}", path="rule_ids"))
    problems.extend(scope_problems(entity_scope))
    if problems:
        raise ValidationFailed(problems=problems)
    if Campaign.objects.filter(key=key).exclude(pk=exclude_id).exists():
        raise ApplicationError(f"a campaign with the key {key!r} already exists", code="conflict")
    return rules


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


@transaction.atomic
def campaign_create(
    *, key: str, name: str, owner: User | OwnerRef | uuid.UUID, rule_ids: list[str], start_date: datetime | None,
    due_date: datetime | None = None, status: str = CampaignStatus.NOT_STARTED, description: str = "",
    entity_scope: str = "", guidance: str = "",
) -> Campaign:  # fmt: skip
    """Create a campaign. Raises ValidationFailed (every bad field) or ApplicationError(code="conflict") for a
    key in use. `owner` is a user, an OwnerRef, or an owner UUID (see owner_for_uuid: one that names no user here is
    kept as an external owner)."""
    start_date, due_date = _aware(start_date), _aware(due_date)
    rules = _check(
        key=key, name=name, status=status, start_date=start_date, due_date=due_date, rule_ids=rule_ids,
        entity_scope=entity_scope,
    )  # fmt: skip
    assert start_date is not None  # _check raised ValidationFailed otherwise
    entity_scope = entity_scope if entity_scope.strip() else ""  # verbatim, as the API returns it
    owner_fields = _owner_fields(owner)
    try:
        # Two creates with one key at once: the key's unique constraint decides, and the loser learns it here.
        campaign = insert_or_lose_race(
            lambda: Campaign.objects.create(
                key=key,
                name=name.strip(),
                description=description,
                status=status,
                start_date=start_date,
                due_date=due_date,
                entity_scope=entity_scope,
                guidance=guidance,
                **owner_fields,
            ),  # fmt: skip
            exists=Campaign.objects.filter(key=key).exists,
        )
    except LostCreateRace:
        raise ApplicationError(f"a campaign with the key {key!r} already exists", code="conflict") from None
    campaign.rules.set(rules)
    return Campaign.objects.for_api().get(pk=campaign.pk)


@transaction.atomic
def campaign_update(
    *, campaign: Campaign, name: str, owner: User | OwnerRef | uuid.UUID, rule_ids: list[str],
    start_date: datetime | None, status: str, key=UNSET, description=UNSET, due_date=UNSET, entity_scope=UNSET,
    guidance=UNSET,
) -> Campaign:  # fmt: skip
    """Replace the required fields; the optional ones change only when given (UNSET keeps the stored value).
    Same errors as campaign_create; the row is locked so two updates apply one after the other."""
    current = Campaign.objects.select_for_update().get(pk=campaign.pk)
    key = current.key if key is UNSET else (key or "")
    description = current.description if description is UNSET else (description or "")
    due_date = current.due_date if due_date is UNSET else _aware(due_date)
    entity_scope = current.entity_scope if entity_scope is UNSET else (entity_scope or "")
    guidance = current.guidance if guidance is UNSET else (guidance or "")
    start_date = _aware(start_date)
    rules = _check(
        key=key, name=name, status=status, start_date=start_date, due_date=due_date, rule_ids=rule_ids,
        entity_scope=entity_scope, exclude_id=current.pk,
    )  # fmt: skip
    entity_scope = entity_scope if entity_scope.strip() else ""  # verbatim, as the API returns it
    try:
        with transaction.atomic():
            Campaign.objects.filter(pk=current.pk).update(
                key=key, name=name.strip(), description=description, status=status, start_date=start_date,
                due_date=due_date, entity_scope=entity_scope, guidance=guidance, modified_at=timezone.now(),
                **_owner_fields(owner),
            )  # fmt: skip
    except IntegrityError:
        raise ApplicationError(f"a campaign with the key {key!r} already exists", code="conflict") from None
    current.rules.set(rules)
    return Campaign.objects.for_api().get(pk=current.pk)


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    """Delete a campaign and its snapshots (rules and results stay). Deleting a deleted one is 'not found'."""
    deleted, _ = Campaign.objects.filter(pk=campaign.pk).delete()
    if not deleted:
        raise ApplicationError(f"campaign not found: {campaign.pk}", code="not_found")


def campaign_snapshot_record(*, campaign_id, day: date | None = None) -> CampaignSnapshot:
    """Record (or overwrite) the campaign's progress for `day` (today, UTC). Idempotent: one row per day."""
    campaign = Campaign.objects.get(pk=campaign_id)
    progress = campaign_progress(campaign=campaign, refresh_scope=True)
    now = timezone.now()
    snapshot, _ = CampaignSnapshot.objects.update_or_create(
        campaign=campaign,
        day=day or now.date(),
        defaults={"entities_total": progress.total, "entities_passing": progress.passing, "recorded_at": now},
    )
    return snapshot


def campaign_scopes_refresh() -> int:
    """Recompute (and cache) the scope membership of every open campaign with a scope; returns how many.

    Idempotent and read-only apart from the cache, so overlapping runs are harmless.
    """
    campaigns = Campaign.objects.exclude(status=CampaignStatus.COMPLETED).exclude(entity_scope="")
    count = 0
    for campaign in campaigns:
        campaign_progress(campaign=campaign, refresh_scope=True)
        count += 1
    return count
