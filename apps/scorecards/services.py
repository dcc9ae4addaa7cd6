"""Writes to scorecard definitions: apply a descriptor (create or update by tag), delete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F

from apps.core.errors import NotFoundError, Problem, ValidationFailed
from apps.scorecards.descriptors import ScorecardSpec, parse_scorecard_descriptor
from apps.scorecards.models import Level, Rule, Scorecard

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


@transaction.atomic
def scorecard_apply(*, spec: ScorecardSpec, warnings: list[Problem] | None = None) -> ApplyResult:
    """Create or update the scorecard `spec.tag` to match the descriptor exactly.

    Rules keep their identifiers across updates (matched by identifier, then title, then
    expression); rules no longer in the descriptor are deleted with their results. The version is
    bumped when levels or rules change, so score history can mark the change.
    """
    scorecard = Scorecard.objects.select_for_update().filter(tag=spec.tag).first()
    created = scorecard is None
    result = ApplyResult(scorecard=None, action="created" if created else "updated", warnings=list(warnings or []))
    if created:
        scorecard = Scorecard(tag=spec.tag)
        old_levels: list[Level] = []
        old_rules: list[Rule] = []
    else:
        old_levels = list(scorecard.levels.all())
        old_rules = list(scorecard.rules.select_related("level").order_by("position", "id"))

    # A given identifier may not belong to another scorecard's rule.
    given = [r.identifier for r in spec.rules if r.identifier]
    if given:
        foreign = Rule.objects.filter(identifier__in=given).exclude(scorecard__tag=spec.tag)
        foreign_ids = {str(i) for i in foreign.values_list("identifier", flat=True)}
        if foreign_ids:
            raise ValidationFailed(
                problems=[
                    Problem(f"rule identifier {i} belongs to another scorecard", path="rules") for i in foreign_ids
                ]
            )

    old_definition = _definition(
        [(lv.name, lv.rank) for lv in old_levels],
        [_rule_tuple(r, r.level.name if r.level_id else None) for r in old_rules],
    )
    old_fields = {name: getattr(scorecard, name) for name in _SCORECARD_FIELDS} if not created else None

    for name in _SCORECARD_FIELDS:
        setattr(scorecard, name, getattr(spec, name))
    if created or old_fields != {name: getattr(spec, name) for name in _SCORECARD_FIELDS}:
        scorecard.save()

    # Levels: matched by name. Ranks move through a temporary range so swaps never collide.
    levels_by_name = {lv.name: lv for lv in old_levels}
    wanted_names = {lv.name for lv in spec.levels}
    temp_rank = 30000
    for level in old_levels:
        temp_rank += 1
        Level.objects.filter(pk=level.pk).update(rank=temp_rank)
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
    for rule in renamed:
        # Free the old title first: two rules may swap titles in one descriptor.
        Rule.objects.filter(pk=rule.pk).update(title=f"~renaming~{rule.pk}~{uuid.uuid4()}")

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
            _rule_tuple(r, r.level.name if r.level_id else None)
            for r in scorecard.rules.select_related("level").order_by("position", "id")
        ],
    )
    result.definition_changed = created or new_definition != old_definition
    if result.definition_changed and not created:
        Scorecard.objects.filter(pk=scorecard.pk).update(version=F("version") + 1)
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


def scorecard_apply_descriptor(*, text: str, source: str = "", dry_run: bool = False) -> ApplyResult:
    """Validate, then apply unless `dry_run`. Raises ValidationFailed (nothing written) on any error."""
    spec, warnings = parse_scorecard_descriptor(text, source=source)
    if dry_run:
        existing = Scorecard.objects.filter(tag=spec.tag).first()
        return ApplyResult(scorecard=existing, action="valid", warnings=warnings)
    return scorecard_apply(spec=spec, warnings=warnings)


@transaction.atomic
def scorecard_delete(*, tag: str) -> None:
    deleted, _ = Scorecard.objects.filter(tag=tag).delete()
    if not deleted:
        raise NotFoundError(f"scorecard {tag!r} does not exist")


def scorecard_definition_changed(*, scorecard_id: int) -> None:
    """Bump the version after levels or rules were edited outside a descriptor (e.g. in the admin)."""
    Scorecard.objects.filter(pk=scorecard_id).update(version=F("version") + 1)
