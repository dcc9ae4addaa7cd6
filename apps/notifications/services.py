"""Sending notifications (DESIGN §8): tell owners when an evaluation run saw their entity's score or level drop.

Called by `apps.evaluations.tasks.run_finished` once per finished run. Side effects: emails through
Django's email backend, one NotificationRun and its NotificationLog rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from apps.catalog.models import Entity, EntityOwner, OwnerKind
from apps.evaluations.models import EvaluationChunk, EvaluationRun, RuleResult, RuleState, RunStatus
from apps.evaluations.scoring import next_rank
from apps.notifications.models import NotificationKind, NotificationLog, NotificationRun, NotificationStatus
from apps.scorecards.models import Level, Scorecard

logger = logging.getLogger(__name__)

FINISHED_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED)
# The states that keep a rule from counting; pass, exempt and skip need nothing from the owner.
FAILING_STATES = (RuleState.FAIL, RuleState.ERROR, RuleState.NO_DATA, RuleState.NOT_CONFIGURED)
SUBJECT_MAX = 255  # NotificationLog.subject


@dataclass(frozen=True)
class Drop:
    """One entity's fall on the scorecard, as a chunk recorded it."""

    entity_id: int
    score: tuple[float, float]
    level: tuple[int | None, int | None]

    @property
    def level_dropped(self) -> bool:
        old, new = self.level
        return old is not None and (new is None or new < old)


@dataclass
class FailingRule:
    title: str
    state: str
    level_rank: int | None
    level_name: str | None
    message: str
    failure_message: str
    position: tuple[int, int]


@dataclass
class Recipient:
    email: str
    reason: str  # why this person hears about the entity, said in the email


@dataclass
class Outgoing:
    """One message to send (or one skipped entity when `recipient` is None)."""

    entity: Entity
    recipient: Recipient | None
    subject: str
    body: str
    message: EmailMessage | None = None
    status: str = NotificationStatus.SKIPPED
    error: str = ""
    sent_at: datetime | None = None


def notify_score_drops(*, run_id: int) -> NotificationRun | None:
    """Email the owners of every entity whose score or level dropped in evaluation run `run_id`.

    Returns None, sending nothing, when the run is missing or not finished, the scorecard turns
    (score-drop) notifications off, or no chunk recorded a drop. Otherwise returns the NotificationRun.

    Idempotent: the NotificationRun is unique per (kind, evaluation run) and, called outside a
    transaction as the task does, is committed before any email goes out, so a second call (a
    re-delivered task, a concurrent worker) finds it and sends nothing. The price is
    at-most-once delivery: a worker dying mid-batch leaves the rest unsent rather than sending twice.
    Recipients of each entity: its email owners and the members (`x-cortex-team.members[].email`) of
    its owner teams, de-duplicated. One email per (entity, recipient); a failing address is logged
    as `failed` and does not stop the others; an entity with nobody to tell gets one `skipped` log.
    Loads everything in a fixed number of queries, however many entities dropped.
    """
    run = EvaluationRun.objects.select_related("scorecard").filter(pk=run_id).first()
    if run is None or run.status not in FINISHED_RUN_STATUSES:
        return None
    scorecard = run.scorecard
    if not (scorecard.notifications_enabled and scorecard.score_drop_notifications_enabled):
        return None
    drops = _drops_of(run_id)
    if not drops:
        return None

    notification_run, created = _claim(run=run, kind=NotificationKind.SCORECARD_SCORE_DROP)
    if not created:
        logger.info("score drops of run %s were notified already (notification run %s)", run_id, notification_run.pk)
        return notification_run

    outgoing = _compose(scorecard=scorecard, drops=drops)
    _deliver(outgoing)
    now = timezone.now()
    NotificationLog.objects.bulk_create(
        [
            NotificationLog(
                notification_run=notification_run,
                recipient_email=item.recipient.email if item.recipient else "",
                recipient_entity=item.entity,
                subject=item.subject[:SUBJECT_MAX],
                body=item.body,
                status=item.status,
                error=item.error,
                created_at=notification_run.created_at,
                sent_at=item.sent_at,
            )
            for item in outgoing
        ],
        batch_size=500,
    )
    counts = {status: sum(1 for item in outgoing if item.status == status) for status in NotificationStatus.values}
    notification_run.delivered = counts[NotificationStatus.SENT]
    notification_run.failed = counts[NotificationStatus.FAILED]
    notification_run.skipped = counts[NotificationStatus.SKIPPED]
    notification_run.finished_at = now
    # This caller created the run, so nobody else writes these fields: a plain update of them is safe.
    notification_run.save(update_fields=["delivered", "failed", "skipped", "finished_at"])
    logger.info(
        "run %s: %s score-drop emails sent, %s failed, %s entities skipped",
        run_id,
        notification_run.delivered,
        notification_run.failed,
        notification_run.skipped,
    )
    return notification_run


def _drops_of(run_id: int) -> list[Drop]:
    """Every chunk's drops, one per entity (a chunk re-run after a crash may repeat one)."""
    by_entity: dict[int, Drop] = {}
    # order_by(): the default ordering would join the run for nothing.
    for chunk_drops in EvaluationChunk.objects.filter(run_id=run_id).order_by().values_list("drops", flat=True):
        for item in chunk_drops or []:
            try:
                old_score, new_score = item["score"]
                old_level, new_level = item["level"]
                by_entity[int(item["entity"])] = Drop(
                    entity_id=int(item["entity"]), score=(old_score, new_score), level=(old_level, new_level)
                )
            except (KeyError, TypeError, ValueError):
                logger.warning("run %s: ignoring a malformed drop %r", run_id, item)
    return list(by_entity.values())


def _claim(*, run: EvaluationRun, kind: str) -> tuple[NotificationRun, bool]:
    """Create the NotificationRun, or find the one a previous delivery created. Committed at once
    (outside any caller's transaction block it is its own transaction) so a concurrent or later
    call sees it before emails go out."""
    try:
        with transaction.atomic():
            return NotificationRun.objects.create(kind=kind, scorecard=run.scorecard, evaluation_run=run), True
    except IntegrityError:
        return NotificationRun.objects.get(kind=kind, evaluation_run=run), False


# -- composing --------------------------------------------------------------------------------------------------------


def _compose(*, scorecard: Scorecard, drops: Sequence[Drop]) -> list[Outgoing]:
    """Build every message in memory from five queries: entities, owners (+ teams), orphan teams,
    levels, failing results."""
    entity_ids = [drop.entity_id for drop in drops]
    entities = {
        entity.pk: entity
        for entity in Entity.objects.filter(pk__in=entity_ids)
        .only("id", "tag", "name")
        .prefetch_related(
            Prefetch(
                "owners",
                queryset=EntityOwner.objects.select_related("team").only(
                    "id", "entity_id", "kind", "name", "email", "team__id", "team__tag", "team__descriptor"
                ),
                to_attr="owner_list",
            )
        )
    }
    teams_by_tag = _unlinked_teams(entities.values())
    level_names = dict(Level.objects.filter(scorecard=scorecard).order_by().values_list("rank", "name"))
    failing = _failing_rules(scorecard_id=scorecard.pk, entity_ids=entity_ids)

    outgoing: list[Outgoing] = []
    # Deleted since the run: nothing left to tell anyone about.
    present = sorted((drop for drop in drops if drop.entity_id in entities), key=lambda d: entities[d.entity_id].tag)
    for drop in present:
        entity = entities[drop.entity_id]
        subject = _subject(entity=entity, scorecard=scorecard, drop=drop, level_names=level_names)
        rules = failing.get(entity.pk, [])
        recipients = recipients_of(entity, teams_by_tag=teams_by_tag)
        if not recipients:
            outgoing.append(
                Outgoing(
                    entity=entity,
                    recipient=None,
                    subject=subject,
                    body=_body(entity=entity, scorecard=scorecard, drop=drop, rules=rules, level_names=level_names),
                    error="no recipients: the entity has no email owners and its teams list no member emails",
                )
            )
            continue
        for recipient in recipients:
            body = _body(
                entity=entity, scorecard=scorecard, drop=drop, rules=rules, level_names=level_names, recipient=recipient
            )
            outgoing.append(
                Outgoing(
                    entity=entity,
                    recipient=recipient,
                    subject=subject,
                    body=body,
                    message=EmailMessage(
                        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient.email]
                    ),
                )
            )
    return outgoing


def _unlinked_teams(entities: Iterable[Entity]) -> dict[str, Entity]:
    """Team owners whose link to the team entity is missing (e.g. set in the admin by name): one query."""
    # `owner_list` comes from `_compose`'s Prefetch(to_attr=...), which the model's type cannot know.
    owner_lists: list[list[EntityOwner]] = [e.owner_list for e in entities]  # type: ignore[attr-defined]
    names = {o.name for owners in owner_lists for o in owners if o.kind == OwnerKind.GROUP and o.team_id is None}
    if not names:
        return {}
    return {
        team.tag: team for team in Entity.objects.filter(type="team", tag__in=names).only("id", "tag", "descriptor")
    }


def recipients_of(entity: Entity, *, teams_by_tag: dict[str, Entity] | None = None) -> list[Recipient]:
    """Email owners first, then the members of owner teams; lowercased and de-duplicated, so
    `Ana@Example.com` as an owner and `ana@example.com` as a team member get one email.

    Needs `entity.owner_list` (owners with `team` selected), as `_compose` prefetches it.
    """
    teams_by_tag = teams_by_tag or {}
    found: dict[str, Recipient] = {}
    owners: list[EntityOwner] = entity.owner_list  # type: ignore[attr-defined]
    for owner in owners:
        if owner.kind == OwnerKind.EMAIL and owner.email:
            email = owner.email.strip().lower()
            found.setdefault(email, Recipient(email, f"you are an owner of {entity.tag}"))
    for owner in owners:
        if owner.kind != OwnerKind.GROUP:
            continue
        team = owner.team or teams_by_tag.get(owner.name)
        if team is None:
            continue
        for email in team_member_emails(team.descriptor):
            found.setdefault(email, Recipient(email, f"you are a member of {team.tag}, which owns {entity.tag}"))
    return list(found.values())


def team_member_emails(descriptor: Any) -> list[str]:
    """`info.x-cortex-team.members[].email` of a team's descriptor, lowercased; tolerant of any shape,
    since descriptors are stored as written."""
    try:
        members = descriptor["info"]["x-cortex-team"]["members"]
    except (KeyError, TypeError):
        return []
    if not isinstance(members, list):
        return []
    emails = []
    for member in members:
        email = member.get("email") if isinstance(member, dict) else None
        if isinstance(email, str) and "@" in email:
            emails.append(email.strip().lower())
    return emails


def _failing_rules(*, scorecard_id: int, entity_ids: Sequence[int]) -> dict[int, list[FailingRule]]:
    """Failing rules per entity, in the scorecard's order, with their levels: one query."""
    by_entity: dict[int, list[FailingRule]] = {}
    results = (
        RuleResult.objects.filter(scorecard_id=scorecard_id, entity_id__in=entity_ids, state__in=FAILING_STATES)
        .select_related("rule__level")
        .only(
            "entity_id",
            "state",
            "message",
            "rule__id",
            "rule__title",
            "rule__failure_message",
            "rule__position",
            "rule__level__name",
            "rule__level__rank",
        )
    )
    for result in results:
        rule = result.rule
        level = rule.level
        by_entity.setdefault(result.entity_id, []).append(
            FailingRule(
                title=rule.title,
                state=result.state,
                level_rank=level.rank if level else None,
                level_name=level.name if level else None,
                message=result.message,
                failure_message=rule.failure_message,
                position=(rule.position, rule.pk),
            )
        )
    for rules in by_entity.values():
        rules.sort(key=lambda r: r.position)
    return by_entity


def _number(value: float) -> str:
    """7.0 -> "7", 2.5 -> "2.5": scores are sums of integer weights, shown without a stray ".0"."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _level_name(rank: int | None, level_names: dict[int, str]) -> str:
    if rank is None:
        return "no level"
    return level_names.get(rank, f"level {rank}")  # the ladder may have changed since the run


def _subject(*, entity: Entity, scorecard: Scorecard, drop: Drop, level_names: dict[int, str]) -> str:
    if drop.level_dropped:
        old, new = (_level_name(rank, level_names) for rank in drop.level)
        text = f"[Scorecards] {entity.tag} dropped from {old} to {new} on {scorecard.name}"
    else:
        old_score, new_score = (_number(score) for score in drop.score)
        text = f"[Scorecards] {entity.tag} score fell from {old_score} to {new_score} on {scorecard.name}"
    # A newline (from a name or level typed in the admin) in a header makes Django refuse the message.
    return " ".join(text.split())


def _body(
    *,
    entity: Entity,
    scorecard: Scorecard,
    drop: Drop,
    rules: list[FailingRule],
    level_names: dict[int, str],
    recipient: Recipient | None = None,
) -> str:
    old_score, new_score = (_number(score) for score in drop.score)
    lines = [f"{entity.name} ({entity.tag}) lost ground on the scorecard {scorecard.name} ({scorecard.tag}).", ""]
    if drop.level_dropped:
        old, new = (_level_name(rank, level_names) for rank in drop.level)
        lines.append(f"Level: {old} -> {new}")
    lines += [f"Score: {old_score} -> {new_score}", ""]

    if rules:
        lines.append("Failing rules:")
        for rule in rules:
            level = f", {rule.level_name}" if rule.level_name else ""
            detail = f": {rule.message}" if rule.message else ""
            lines.append(f"- {rule.title} ({rule.state}{level}){detail}")
    else:
        lines.append("No rule is failing any more: the score has recovered or the rules changed since.")
    lines.append("")

    ranks = sorted(level_names)
    current = drop.level[1]
    target = next_rank(current, ranks)
    # DESIGN §6 next steps: unsatisfied rules of the levels up to the next one.
    steps = [r for r in rules if r.level_rank is not None and target is not None and r.level_rank <= target]
    if steps:
        lines.append(f"Next steps to reach {_level_name(target, level_names)}:")
        for rule in steps:
            lines.append(f"- {rule.title}: {rule.failure_message or 'make this rule pass.'}")
    else:
        lines.append("Next steps: fix the failing rules above to win the points back.")
    report_card = reverse("evaluations:entity", args=[entity.tag]) + f"#scorecard-{scorecard.tag}"
    lines += ["", f"The report card: {settings.SITE_URL.rstrip('/')}{report_card}", ""]
    if recipient is not None:
        lines.append(f"You receive this email because {recipient.reason}.")
    lines.append(
        f"Score-drop emails are turned on for {scorecard.tag} (`notifications.scoreDropNotificationsEnabled`)."
    )
    return "\n".join(lines) + "\n"


# -- delivering -------------------------------------------------------------------------------------------------------


def _deliver(outgoing: Sequence[Outgoing]) -> None:
    """Send each message on one backend connection; record each one's outcome on it.

    Exceptions are caught per message (a refused address must not stop the batch). After a failure
    the connection is reset, since an SMTP error may leave it unusable for the next message.
    """
    messages = [(item, item.message) for item in outgoing if item.message is not None]
    if not messages:
        return
    connection: BaseEmailBackend = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:  # the server is down: every message fails the same way
        logger.exception("could not open the email connection")
        for item, _ in messages:
            item.status, item.error = NotificationStatus.FAILED, _error_text(exc)
        return
    try:
        for item, message in messages:
            try:
                sent = connection.send_messages([message])
            except Exception as exc:
                logger.warning("score-drop email to %s failed: %s", item.recipient and item.recipient.email, exc)
                item.status, item.error = NotificationStatus.FAILED, _error_text(exc)
                _reset(connection)
                continue
            if sent:
                item.status, item.sent_at = NotificationStatus.SENT, timezone.now()
            else:
                item.status, item.error = NotificationStatus.FAILED, "the email backend did not send the message"
    finally:
        _close_quietly(connection)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:4000]


def _close_quietly(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception:  # closing a broken connection must not hide the outcome of the sends
        logger.debug("closing the email connection failed", exc_info=True)


def _reset(connection: BaseEmailBackend) -> None:
    _close_quietly(connection)
    try:
        connection.open()
    except Exception:  # the next send reopens and reports the error against its own message
        logger.debug("reopening the email connection failed", exc_info=True)
