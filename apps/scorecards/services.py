"""Writes to scorecard definitions: apply a descriptor (create or update by tag), delete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import DataError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import ApplicationError, NotFoundError, Problem, ValidationFailed
from apps.core.races import insert_or_lose_race, retry_lost_races
from apps.core.rule_moves import rule_moved
from apps.core.score_inputs import score_inputs_changed
from apps.scorecards.descriptors import ScorecardSpec, parse_scorecard_descriptor
from apps.scorecards.models import Level, Rule, Scorecard
from apps.scorecards.selectors import rule_by_identifier

_SCORECARD_FIELDS = (
    "name",
    "description",
    "draft",
    "evaluation_window_hours",
    "exemptions_enabled",
    "exemptions_auto_approve",
    "notifications_enabled",
    "score_drop_notifications_enabled",
    "ladder_name",
    "filter",
)


@dataclass
class ApplyResult:
    """What applying a descriptor did (or, for a dry run, would do)."""

    scorecard: Scorecard | None
    action: str  # created | updated | unchanged | valid
    warnings: list[Problem] = field(default_factory=list)
    rules_created: list[str] = field(default_factory=list)
    rules_updated: list[str] = field(default_factory=list)
    rules_deleted: list[str] = field(default_factory=list)
    definition_changed: bool = False
    # A dry run that would create the scorecard: it, its levels and its rules (level loaded) as the apply
    # made them before the rollback. In memory only: none of these rows exists.
    would_create: tuple[Scorecard, list[Level], list[Rule]] | None = None


def _definition(levels: list[tuple], rules: list[tuple]) -> tuple:
    """What scoring depends on; a change bumps the scorecard's version."""
    return tuple(sorted(levels)), tuple(rules)


def _rule_tuple(rule: Rule | Any, level_name: str | None) -> tuple:
    return (
        str(rule.identifier) if rule.identifier else None,
        rule.title,
        rule.expression,
        rule.weight,
        level_name,
        rule.effective_from.isoformat() if rule.effective_from else None,
        repr(sorted(rule.filter.items())) if rule.filter else "",
        rule.enabled,
    )


def _match_rules(spec: ScorecardSpec, existing: list[Rule]) -> list[Rule | None]:
    """Pair each descriptor rule with a stored one: by identifier, then title, then expression."""
    unmatched = {rule.pk: rule for rule in existing}
    matches: list[Rule | None] = [None] * len(spec.rules)
    by_identifier = {rule.identifier: rule for rule in existing}
    for index, rule_spec in enumerate(spec.rules):
        found = by_identifier.get(rule_spec.identifier) if rule_spec.identifier else None
        if found is not None and found.pk in unmatched:
            matches[index] = unmatched.pop(found.pk)
    for attribute in ("title", "expression"):
        for index, rule_spec in enumerate(spec.rules):
            # A rule that names its identifier is that rule or a new one, never a look-alike.
            if matches[index] is not None or rule_spec.identifier:
                continue
            wanted = getattr(rule_spec, attribute)
            if not wanted:
                continue
            for pk, rule in list(unmatched.items()):
                if getattr(rule, attribute) == wanted:
                    matches[index] = unmatched.pop(pk)
                    break
    return matches


def scorecard_apply(
    *, spec: ScorecardSpec, warnings: list[Problem] | None = None, announce: bool = True
) -> ApplyResult:
    """Create or update the scorecard `spec.tag` to match the descriptor exactly.

    Rules keep their identifiers across updates (matched by identifier, then title, then
    expression); rules no longer in the descriptor are deleted with their results. The version is
    bumped when levels or rules change, so score history can mark the change. `announce` False
    (dry runs) makes no re-scoring announcement.

    Idempotent under concurrency: when two applies create the same new tag at once, the tag's unique
    constraint picks the winner and the loser applies again as an update (apps.core.races), so both succeed.
    """
    return retry_lost_races(lambda: _scorecard_apply(spec=spec, warnings=warnings, announce=announce))


@transaction.atomic
def _scorecard_apply(*, spec: ScorecardSpec, warnings: list[Problem] | None, announce: bool) -> ApplyResult:
    """One attempt of `scorecard_apply`; raises LostCreateRace when a concurrent apply created the tag first."""
    scorecard = Scorecard.objects.select_for_update().filter(tag=spec.tag).first()
    created = scorecard is None
    result = ApplyResult(scorecard=None, action="created" if created else "updated", warnings=list(warnings or []))
    old_levels: list[Level]
    old_rules: list[Rule]
    if scorecard is None:
        values = {name: getattr(spec, name) for name in _SCORECARD_FIELDS}
        scorecard = insert_or_lose_race(
            lambda: Scorecard.objects.create(tag=spec.tag, **values),
            exists=Scorecard.objects.filter(tag=spec.tag).exists,
        )
        old_levels = []
        old_rules = []
    else:
        old_levels = list(scorecard.levels.all())
        old_rules = list(scorecard.rules.select_related("level").order_by("position", "id"))

    # Identifiers are unique per scorecard only: a descriptor may reuse one another scorecard has
    # (Cortex's tenant exports do); within this descriptor, duplicates were refused by validation.

    old_definition = _definition(
        [(lv.name, lv.rank) for lv in old_levels],
        [_rule_tuple(r, r.level.name if r.level is not None else None) for r in old_rules],
    )
    old_fields = {name: getattr(scorecard, name) for name in _SCORECARD_FIELDS} if not created else None

    if not created and old_fields != {name: getattr(spec, name) for name in _SCORECARD_FIELDS}:
        for name in _SCORECARD_FIELDS:
            setattr(scorecard, name, getattr(spec, name))
        scorecard.save()

    # Levels: matched by name. Ranks move through a temporary range so swaps never collide.
    levels_by_name = {lv.name: lv for lv in old_levels}
    wanted_names = {lv.name for lv in spec.levels}
    temp_rank = 30000
    for old_level in old_levels:
        temp_rank += 1
        Level.objects.filter(pk=old_level.pk).update(rank=temp_rank)
    levels_changed_meta = False
    for level_spec in spec.levels:
        level = levels_by_name.get(level_spec.name)
        if level is None:
            levels_by_name[level_spec.name] = Level.objects.create(
                scorecard=scorecard,
                name=level_spec.name,
                rank=level_spec.rank,
                color=level_spec.color or "#8c9298",
                description=level_spec.description,
            )
            continue
        new_color = level_spec.color or level.color
        if (new_color, level_spec.description) != (level.color, level.description):
            levels_changed_meta = True
        level.rank, level.color, level.description = level_spec.rank, new_color, level_spec.description
        level.save(update_fields=["rank", "color", "description"])

    # Rules.
    matches = _match_rules(spec, old_rules)
    matched_pks = {rule.pk for rule in matches if rule is not None}
    removed = [rule for rule in old_rules if rule.pk not in matched_pks]
    result.rules_deleted = [rule.title for rule in removed]
    Rule.objects.filter(pk__in=[rule.pk for rule in removed]).delete()
    renamed = [
        rule for rule, rs in zip(matches, spec.rules, strict=True) if rule is not None and rule.title != rs.title
    ]
    for renamed_rule in renamed:
        # Free the old title first: two rules may swap titles in one descriptor.
        Rule.objects.filter(pk=renamed_rule.pk).update(title=f"~renaming~{renamed_rule.pk}~{uuid.uuid4()}")

    for position, (rule, rule_spec) in enumerate(zip(matches, spec.rules, strict=True)):
        values = {
            "title": rule_spec.title,
            "description": rule_spec.description,
            "expression": rule_spec.expression,
            "weight": rule_spec.weight,
            "level": levels_by_name[rule_spec.level] if rule_spec.level else None,
            "failure_message": rule_spec.failure_message,
            "effective_from": rule_spec.effective_from,
            "filter": rule_spec.filter,
            "enabled": rule_spec.enabled,
            "position": position,
        }
        if rule is None:
            Rule.objects.create(scorecard=scorecard, identifier=rule_spec.identifier or uuid.uuid4(), **values)
            result.rules_created.append(rule_spec.title)
            continue
        before = {k: getattr(rule, k if k != "level" else "level_id") for k in values}
        for key, value in values.items():
            setattr(rule, key, value)
        after = {k: getattr(rule, k if k != "level" else "level_id") for k in values}
        if before != after or rule in renamed:
            rule.save()
            result.rules_updated.append(rule_spec.title)

    for level in old_levels:
        if level.name not in wanted_names:
            level.delete()

    new_definition = _definition(
        [(lv.name, lv.rank) for lv in spec.levels],
        [
            _rule_tuple(r, r.level.name if r.level is not None else None)
            for r in scorecard.rules.select_related("level").order_by("position", "id")
        ],
    )
    result.definition_changed = created or new_definition != old_definition
    if result.definition_changed and not created:
        Scorecard.objects.filter(pk=scorecard.pk).update(version=F("version") + 1)
    scope_changed = old_fields is None or any(old_fields[name] != getattr(spec, name) for name in ("filter", "draft"))
    # Drafts are scored only when someone names them; dry runs announce nothing.
    if announce and not spec.draft and (result.definition_changed or scope_changed):
        score_inputs_changed(scorecard_ids=[scorecard.pk], why=f"scorecard {scorecard.tag} applied")
    scorecard.refresh_from_db()
    result.scorecard = scorecard
    if (
        not created
        and not result.definition_changed
        and not result.rules_updated
        and not levels_changed_meta
        and old_fields == {name: getattr(spec, name) for name in _SCORECARD_FIELDS}
    ):
        result.action = "unchanged"
    return result


def _apply_or_refuse(*, spec: ScorecardSpec, warnings: list[Problem], source: str, announce: bool) -> ApplyResult:
    """`scorecard_apply`, with what the database refuses (a constraint, a value out of range) reported as
    a ValidationFailed like any other descriptor error; the apply's transaction has rolled back by then."""
    try:
        return scorecard_apply(spec=spec, warnings=warnings, announce=announce)
    except (IntegrityError, DataError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationFailed(
            problems=[Problem(f"the database refused the descriptor: {detail}", source=source)], warnings=warnings
        ) from exc


def scorecard_apply_descriptor(*, text: str, source: str = "", dry_run: bool = False) -> ApplyResult:
    """Validate, then apply unless `dry_run`. Raises ValidationFailed (nothing written) on any error.

    A dry run is the real apply, run inside a transaction that is then rolled back: it makes every
    check applying makes, those that need the database included, and refuses exactly what applying
    refuses. It writes nothing and announces nothing (no re-scoring; on-commit callbacks registered
    inside are discarded with the rollback). Its result has action "valid", the scorecard as stored
    before (None when the descriptor would create it; `would_create` then holds the scorecard, levels and rules
    the apply made, read before the rollback), and the rules that would be created, updated and deleted.
    """
    spec, warnings = parse_scorecard_descriptor(text, source=source)
    if not dry_run:
        return _apply_or_refuse(spec=spec, warnings=warnings, source=source, announce=True)
    existing = Scorecard.objects.filter(tag=spec.tag).first()
    would_create = None
    with transaction.atomic():
        try:
            planned = _apply_or_refuse(spec=spec, warnings=warnings, source=source, announce=False)
            if existing is None and planned.scorecard is not None:
                would_create = (
                    planned.scorecard,
                    list(Level.objects.filter(scorecard=planned.scorecard).order_by("rank")),
                    list(
                        Rule.objects.filter(scorecard=planned.scorecard)
                        .select_related("level")
                        .order_by("position", "id")
                    ),
                )
        finally:
            transaction.set_rollback(True)
    return ApplyResult(
        scorecard=existing,
        action="valid",
        warnings=planned.warnings,
        rules_created=planned.rules_created,
        rules_updated=planned.rules_updated,
        rules_deleted=planned.rules_deleted,
        definition_changed=planned.definition_changed,
        would_create=would_create,
    )


@transaction.atomic
def scorecard_delete(*, tag: str) -> None:
    deleted, _ = Scorecard.objects.filter(tag=tag).delete()
    if not deleted:
        raise NotFoundError(f"scorecard {tag!r} does not exist")


def scorecard_definition_changed(*, scorecard_id: int, why: str = "scorecard definition changed") -> None:
    """After levels, rules or the filter were edited outside a descriptor (the admin, the Datadog API):
    bump the version, so score history can mark the change, and have every entity on it re-scored."""
    Scorecard.objects.filter(pk=scorecard_id).update(version=F("version") + 1)
    score_inputs_changed(scorecard_ids=[scorecard_id], why=why)


# --- Datadog-style rules (API_CONTRACT §3, §4) -------------------------------------------------------

DATADOG_LADDER = (("Bronze", 1, "#c38b5f"), ("Silver", 2, "#8c9298"), ("Gold", 3, "#cda400"))
DATADOG_DEFAULT_LEVEL = 3


def _scorecard_by_name(name: str) -> Scorecard | None:
    """The scorecard a Datadog `scorecard_name` names. Names are not unique in our model, so an
    ambiguous name is refused rather than guessed."""
    found = list(Scorecard.objects.filter(name=name).order_by("id")[:2])
    if len(found) > 1:
        raise ApplicationError(
            f"failed scorecard lookup: more than one scorecard is named {name!r}; rename one of them"
        )
    return found[0] if found else None


def _tag_candidates(name: str):
    from django.utils.text import slugify

    base = (slugify(name) or "scorecard")[:240].strip("-_.") or "scorecard"
    yield base
    for n in range(2, 1000):
        yield f"{base}-{n}"


def scorecard_get_or_create_by_name(*, name: str) -> tuple[Scorecard, bool]:
    """Find the scorecard named `name`, or create it with a Bronze/Silver/Gold ladder (ranks 1/2/3).

    Race-safe: the tag (a slug of the name) is unique, so two requests creating the same new name
    collide on the insert; the loser looks the name up again and finds the winner's scorecard.
    Must run inside a transaction (each attempt uses a savepoint).
    """
    for tag in _tag_candidates(name):
        existing = _scorecard_by_name(name)
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                scorecard = Scorecard.objects.create(tag=tag, name=name)
        except IntegrityError:
            continue  # the tag is taken (maybe by a concurrent create of this very name): look again
        Level.objects.bulk_create(
            [Level(scorecard=scorecard, name=n, rank=rank, color=color) for n, rank, color in DATADOG_LADDER]
        )
        return scorecard, True
    raise ApplicationError(f"failed scorecard lookup: no free tag for a scorecard named {name!r}")


def _level_of_rank(scorecard: Scorecard, rank: int) -> Level:
    level = Level.objects.filter(scorecard=scorecard, rank=rank).first()
    if level is None:
        raise ApplicationError(f"level: scorecard {scorecard.name!r} has no level of rank {rank}")
    return level


def _with_scope_query(current: dict | None, scope_query: str) -> dict:
    """The rule filter with its query replaced; types and groups set by a descriptor are kept."""
    result = {k: v for k, v in (current or {}).items() if k != "query"}
    if scope_query.strip():
        result["query"] = scope_query  # verbatim: the API returns what the client sent
    return result


def _check_scope_query(scope_query: str) -> None:
    from apps.scorecards.filters import compile_scope
    from apps.scorecards.language import RuleSyntaxError

    if scope_query.strip():
        try:
            compile_scope(scope_query)
        except RuleSyntaxError as exc:
            raise ApplicationError(f"scope_query: {exc}") from None


def _duplicate_title(title: str, scorecard: Scorecard) -> ApplicationError:
    return ApplicationError(f"a rule named {title!r} already exists in scorecard {scorecard.name!r}", code="conflict")


def _parse_rule_identifier(rule_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(rule_id))
    except ValueError:
        return None


@transaction.atomic
def rule_create_custom(
    *,
    name: str,
    scorecard_name: str,
    enabled: bool = True,
    level: int | None = None,
    owner: str = "",
    description: str = "",
    scope_query: str = "",
) -> Rule:
    """Create a rule without an expression (its state comes from pushed outcomes) in the scorecard
    named `scorecard_name`, creating that scorecard (Bronze/Silver/Gold) when it does not exist.

    Datadog level 1/2/3 is the ladder rank 1/2/3 (3 when omitted). A duplicate name in the scorecard
    is a conflict (409). Bumps the scorecard's version. Not idempotent: each call adds a rule.
    """
    _check_scope_query(scope_query)
    scorecard, _ = scorecard_get_or_create_by_name(name=scorecard_name)
    # Lock the scorecard so concurrent creates in it get distinct positions.
    scorecard = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
    rank = DATADOG_DEFAULT_LEVEL if level is None else level
    level_obj = _level_of_rank(scorecard, rank)
    if Rule.objects.filter(scorecard=scorecard, title=name).exists():
        raise _duplicate_title(name, scorecard)
    last = Rule.objects.filter(scorecard=scorecard).order_by("-position").values_list("position", flat=True).first()
    try:
        with transaction.atomic():
            # The identifier is always a fresh UUID (the model default): rules created through the
            # Datadog API never reuse one, so their bare ids stay unambiguous.
            rule = Rule.objects.create(
                scorecard=scorecard,
                title=name,
                description=description,
                expression="",
                enabled=enabled,
                level=level_obj,
                owner=owner,
                filter=_with_scope_query({}, scope_query),
                position=(last + 1) if last is not None else 0,
            )
    except IntegrityError:
        raise _duplicate_title(name, scorecard) from None
    scorecard_definition_changed(scorecard_id=scorecard.pk, why=f"rule {rule.identifier} created")
    return Rule.objects.select_related("scorecard", "level").get(pk=rule.pk)


@transaction.atomic
def rule_update(
    *,
    rule_id: str,
    name: str,
    scorecard_name: str | None = None,
    enabled: bool = True,
    level: int | None = None,
    owner: str = "",
    description: str = "",
    scope_query: str = "",
) -> Rule:
    """Replace a rule's Datadog attributes (PUT semantics: omitted ones take their defaults).

    The expression, weight, failure message and the filter's types/groups are not Datadog
    attributes and are kept. Another `scorecard_name` moves the rule to that scorecard (created with
    a Bronze/Silver/Gold ladder when none has the name), at its end, on the level of the same rank; a
    name or id already used there is a conflict (409). Its pushed outcomes follow it (they name only
    the rule), and `rule_moved` has its stored results and exemptions follow too; both scorecards are
    re-scored. The rule and the target scorecard are locked (select_for_update) for the read and write.
    """
    identifier = _parse_rule_identifier(rule_id)
    # A bare rule id: resolved when one scorecard has it, 409 when several do (AmbiguousRuleError).
    rule = rule_by_identifier(identifier, queryset=Rule.objects.select_for_update()) if identifier else None
    if rule is None:
        raise NotFoundError(f"rule not found: {rule_id}")
    _check_scope_query(scope_query)
    source = rule.scorecard
    scorecard = source
    moves: dict = {}
    if scorecard_name is not None and scorecard_name != source.name:
        scorecard, _ = scorecard_get_or_create_by_name(name=scorecard_name)
        scorecard = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
        if Rule.objects.filter(scorecard=scorecard, identifier=rule.identifier).exists():
            raise ApplicationError(
                f"scorecard_name: scorecard {scorecard.name!r} already has a rule with the id {rule.identifier}",
                code="conflict",
            )
        last = Rule.objects.filter(scorecard=scorecard).order_by("-position").values_list("position", flat=True)
        top = last.first()
        moves = {"scorecard": scorecard, "position": (top + 1) if top is not None else 0}
    rank = DATADOG_DEFAULT_LEVEL if level is None else level
    level_obj = _level_of_rank(scorecard, rank)
    if Rule.objects.filter(scorecard=scorecard, title=name).exclude(pk=rule.pk).exists():
        raise _duplicate_title(name, scorecard)
    try:
        with transaction.atomic():
            Rule.objects.filter(pk=rule.pk).update(
                title=name,
                description=description,
                enabled=enabled,
                level=level_obj,
                owner=owner,
                filter=_with_scope_query(rule.filter, scope_query),
                updated_at=timezone.now(),
                **moves,
            )
    except IntegrityError:
        raise _duplicate_title(name, scorecard) from None
    if moves:
        rule_moved(rule_id=rule.pk, from_scorecard_id=source.pk, to_scorecard_id=scorecard.pk)
        why = f"rule {rule.identifier} moved from {source.tag} to {scorecard.tag}"
        scorecard_definition_changed(scorecard_id=source.pk, why=why)
        scorecard_definition_changed(scorecard_id=scorecard.pk, why=why)
    else:
        scorecard_definition_changed(scorecard_id=scorecard.pk, why=f"rule {rule.identifier} updated")
    return Rule.objects.select_related("scorecard", "level").get(pk=rule.pk)


@transaction.atomic
def rule_delete(*, rule_id: str) -> None:
    """Delete a rule with its results, outcomes and exemptions. Unknown id: NotFoundError
    `rule not found: <id>` (the real server's words)."""
    identifier = _parse_rule_identifier(rule_id)
    # A bare rule id: resolved when one scorecard has it, 409 when several do (AmbiguousRuleError).
    rule = rule_by_identifier(identifier, queryset=Rule.objects.select_for_update()) if identifier else None
    if rule is None:
        raise NotFoundError(f"rule not found: {rule_id}")
    scorecard_id = rule.scorecard_id
    deleted = Rule.objects.filter(pk=rule.pk).delete()[0]
    if not deleted:
        raise NotFoundError(f"rule not found: {rule_id}")
    scorecard_definition_changed(scorecard_id=scorecard_id, why=f"rule {rule_id} deleted")
