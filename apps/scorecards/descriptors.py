"""Scorecards as code (DESIGN §4): parse and validate a descriptor into a ScorecardSpec, and export one.

Validation reports every problem with its field path and YAML line; expression errors also give
the column inside the expression. Nothing here writes to the database.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import isodate

from apps.catalog.models import TAG_PATTERN
from apps.core.errors import Problem
from apps.core.validation import Checker
from apps.core.yamlio import dump_yaml, line_of, load_yaml, plain
from apps.scorecards.filters import FILTER_KEYS, category_problems, kind_problems
from apps.scorecards.language import RuleSyntaxError, compile_expression

_TAG_RE = re.compile(TAG_PATTERN)
_COLOR_RE = re.compile(r"^#?(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_TOP_KEYS = {
    "tag",
    "name",
    "description",
    "draft",
    "evaluation",
    "exemptions",
    "notifications",
    "ladder",
    "filter",
    "rules",
}
_RULE_KEYS = {
    "identifier",
    "title",
    "description",
    "expression",
    "weight",
    "level",
    "failureMessage",
    "effectiveFrom",
    "filter",
    "enabled",
}


@dataclass
class LevelSpec:
    name: str
    rank: int
    color: str = ""
    description: str = ""


@dataclass
class RuleSpec:
    title: str
    expression: str = ""
    description: str = ""
    weight: int = 1
    level: str | None = None
    failure_message: str = ""
    effective_from: datetime | None = None
    filter: dict = field(default_factory=dict)
    enabled: bool = True
    identifier: uuid.UUID | None = None


@dataclass
class ScorecardSpec:
    tag: str
    name: str
    description: str = ""
    draft: bool = False
    evaluation_window_hours: int = 4
    exemptions_enabled: bool = True
    exemptions_auto_approve: bool = False
    notifications_enabled: bool = True
    score_drop_notifications_enabled: bool = False
    ladder_name: str = "Default"
    levels: list[LevelSpec] = field(default_factory=list)
    filter: dict = field(default_factory=dict)
    rules: list[RuleSpec] = field(default_factory=list)


def _expression_problem(check: Checker, node: dict, key: str, path: str, exc: RuleSyntaxError) -> None:
    """Place an expression error on the YAML line it sits on, with the column inside the expression."""
    line = None
    try:
        # ruamel's CommentedMap carries line info; a plain dict raises AttributeError, handled below.
        value_line, _ = node.lc.value(key)  # type: ignore[attr-defined]
        source_line = value_line + 1
        text = node[key]
        style = getattr(text, "style", None) if hasattr(text, "style") else None
        block = style in ("|", ">") or type(text).__name__ in ("LiteralScalarString", "FoldedScalarString")
        line = source_line + (exc.line or 1) if block else source_line + (exc.line or 1) - 1
    except (AttributeError, KeyError, TypeError):
        line = line_of(node, key)
    check.error(f"expression column {exc.column}: {exc.message}", path, line, exc.column)


def _check_expression(check: Checker, node: dict, key: str, path: str, *, required: bool) -> str:
    text = check.field(node, key, (str,), path, required=required, default="")
    text = text.strip() if text else ""
    if text:
        try:
            compiled = compile_expression(text)
        except RuleSyntaxError as exc:
            _expression_problem(check, node, key, f"{path}.{key}" if path else key, exc)
        else:
            if compiled.placeholder:
                check.warn(
                    "the expression is only a comment: every entity is not_configured until the check is written",
                    f"{path}.{key}" if path else key,
                    line_of(node, key),
                )
    return text


def _check_filter(check: Checker, node: dict, key: str, path: str) -> dict:
    raw = check.field(node, key, (dict,), path, default=None)
    if raw is None:
        return {}
    fp = f"{path}.{key}" if path else key
    result: dict[str, Any] = {}
    # A filter key that were ignored would widen the scope silently: unknown ones are errors, not warnings.
    for unknown in [k for k in raw if k not in FILTER_KEYS]:
        check.error(
            f"unknown filter key '{unknown}' (known: {', '.join(sorted(FILTER_KEYS))})",
            f"{fp}.{unknown}",
            line_of(raw, unknown),
        )
    for part in ("types", "groups"):
        block = check.field(raw, part, (dict,), fp, default=None)
        if block is None:
            continue
        entry = {}
        for direction in ("include", "exclude"):
            values = check.string_list(block, direction, f"{fp}.{part}")
            if values:
                entry[direction] = values
        for unknown in [k for k in block if k not in ("include", "exclude")]:
            check.error(
                f"unknown key '{unknown}': only include and exclude are allowed",
                f"{fp}.{part}.{unknown}",
                line_of(block, unknown),
            )
        if entry:
            result[part] = entry
    query = _check_expression(check, raw, "query", fp, required=False)
    if query:
        result["query"] = query
    for extra, problems_of in (("kind", kind_problems), ("category", category_problems)):
        value = raw.get(extra)
        if value is None:
            continue
        problems = problems_of(plain(value))
        for problem in problems:
            check.error(problem, f"{fp}.{extra}", line_of(raw, extra))
        if not problems:
            result[extra] = str(value).upper()
    return result


def _check_length(check: Checker, node: dict, key: str, path: str, value: Any, limit: int) -> None:
    """The column holds at most `limit` characters: say so here, with the line, not as a database error."""
    if isinstance(value, str) and len(value) > limit:
        full = f"{path}.{key}" if path else key
        check.error(f"at most {limit} characters, not {len(value)}", full, line_of(node, key))


def _check_color(check: Checker, raw: dict, path: str) -> str:
    """A level colour, stored as `#rrggbb` / `#rgb`. Cortex's exported files write it without the `#`
    (`color: 7cf376`), which is accepted. Unquoted all-digit colours are read by YAML as numbers:
    six digits are taken as written; fewer (YAML dropped leading zeros, or `123` is ambiguous) are refused."""
    value = raw.get("color")
    if value is None or value == "":
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 6:
        value = str(value)
    if not isinstance(value, str):
        check.error(
            f'{plain(value)!r} is not a colour like #cda400 (quote it: color: "#cda400")',
            f"{path}.color",
            line_of(raw, "color"),
        )
        return ""
    text = value.strip()
    if not _COLOR_RE.match(text):
        check.error(f"{value!r} is not a colour like #cda400", f"{path}.color", line_of(raw, "color"))
        return ""
    return text if text.startswith("#") else f"#{text}"


def _parse_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = isodate.parse_datetime(value) if "T" in value else isodate.parse_date(value)
        except (ValueError, isodate.ISO8601Error):
            return None
        if not isinstance(parsed, datetime):
            parsed = datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _bool_block(check: Checker, doc: dict, block: str, keys: dict[str, bool]) -> dict[str, bool]:
    node = check.field(doc, block, (dict,), "", default={})
    result = {}
    for key, default in keys.items():
        result[key] = check.field(node, key, (bool,), block, default=default)
    check.unknown_keys(node, {*keys, "userSpecificNotifications"}, block)
    return result


def parse_scorecard_descriptor(text: str, *, source: str = "") -> tuple[ScorecardSpec, list[Problem]]:
    """Validate a scorecard descriptor. Returns (spec, warnings); raises ValidationFailed with every error."""
    doc = load_yaml(text, source=source)
    check = Checker(source)
    if not isinstance(doc, dict):
        check.error("a scorecard descriptor must be a mapping with tag, name and rules", "", 1)
        check.raise_if_errors()
    tag = check.field(doc, "tag", (str,), "", required=True)
    if tag and not _TAG_RE.match(tag):
        check.error(
            "a tag holds letters, digits, '.', '_' and '-', and starts alphanumeric", "tag", line_of(doc, "tag")
        )
    name = check.field(doc, "name", (str,), "", required=True)
    _check_length(check, doc, "tag", "", tag, 255)
    _check_length(check, doc, "name", "", name, 255)
    description = check.field(doc, "description", (str,), "", default="")
    draft = check.field(doc, "draft", (bool,), "", default=False)

    evaluation = check.field(doc, "evaluation", (dict,), "", default={})
    window = check.field(evaluation, "window", (int,), "evaluation", default=4)
    if window is not None and window < 1:
        check.error(
            "the evaluation window is a number of hours, at least 1", "evaluation.window", line_of(evaluation, "window")
        )
    check.unknown_keys(evaluation, {"window"}, "evaluation")
    exemptions = _bool_block(check, doc, "exemptions", {"enabled": True, "autoApprove": False})
    notifications = _bool_block(check, doc, "notifications", {"enabled": True, "scoreDropNotificationsEnabled": False})

    ladder = check.field(doc, "ladder", (dict,), "", default={})
    ladder_name = check.field(ladder, "name", (str,), "ladder", default="Default")
    _check_length(check, ladder, "name", "ladder", ladder_name, 255)
    levels: list[LevelSpec] = []
    seen_names: set[str] = set()
    seen_ranks: set[int] = set()
    for lp, raw in check.mappings(ladder, "levels", "ladder"):
        level_name = check.field(raw, "name", (str,), lp, required=True)
        _check_length(check, raw, "name", lp, level_name, 64)
        rank = check.field(raw, "rank", (int,), lp, required=True)
        color = _check_color(check, raw, lp)
        if rank is not None and rank < 1:
            check.error("rank starts at 1 (the lowest level)", f"{lp}.rank", line_of(raw, "rank"))
        if level_name in seen_names:
            check.error(f"level {level_name!r} is defined twice", f"{lp}.name", line_of(raw, "name"))
        if rank in seen_ranks:
            check.error(f"rank {rank} is used by two levels", f"{lp}.rank", line_of(raw, "rank"))
        check.unknown_keys(raw, {"name", "rank", "color", "description"}, lp)
        if level_name and rank is not None:
            seen_names.add(level_name)
            seen_ranks.add(rank)
            levels.append(
                LevelSpec(level_name, rank, color or "", check.field(raw, "description", (str,), lp, default="") or "")
            )
    check.unknown_keys(ladder, {"name", "levels"}, "ladder")

    scorecard_filter = _check_filter(check, doc, "filter", "")

    rules: list[RuleSpec] = []
    titles: set[str] = set()
    identifiers: set[uuid.UUID] = set()
    for rp, raw in check.mappings(doc, "rules", ""):
        title = check.field(raw, "title", (str,), rp, required=True)
        _check_length(check, raw, "title", rp, title, 255)
        if title and title in titles:
            check.error(f"two rules are titled {title!r}; titles identify rules", f"{rp}.title", line_of(raw, "title"))
        titles.add(title)
        expression = _check_expression(check, raw, "expression", rp, required=False)
        weight = check.field(raw, "weight", (int,), rp, default=1)
        if weight is not None and weight < 0:
            check.error("weight must be 0 or more", f"{rp}.weight", line_of(raw, "weight"))
        level = check.field(raw, "level", (str,), rp, default=None)
        if level is not None and level not in seen_names:
            known = ", ".join(sorted(seen_names)) or "none: the ladder has no levels"
            check.error(f"level {level!r} is not in the ladder (levels: {known})", f"{rp}.level", line_of(raw, "level"))
        effective_from = None
        if raw.get("effectiveFrom") is not None:
            effective_from = _parse_datetime(raw["effectiveFrom"])
            if effective_from is None:
                check.error(
                    "effectiveFrom must be an ISO-8601 date-time such as 2027-01-01T00:00:00Z",
                    f"{rp}.effectiveFrom",
                    line_of(raw, "effectiveFrom"),
                )
        identifier = None
        if raw.get("identifier") is not None:
            try:
                identifier = uuid.UUID(str(raw["identifier"]))
            except ValueError:
                check.error("identifier must be a UUID", f"{rp}.identifier", line_of(raw, "identifier"))
            else:
                if identifier in identifiers:
                    check.error("two rules share this identifier", f"{rp}.identifier", line_of(raw, "identifier"))
                identifiers.add(identifier)
        if not expression and raw.get("expression") is None:
            check.warn("no expression: this rule's outcomes must be pushed through the API", rp, line_of(raw))
        if weight == 0 and level is None:
            check.warn("weight 0 and no level: this rule changes nothing", f"{rp}.weight", line_of(raw, "weight"))
        rule_filter = _check_filter(check, raw, "filter", rp)
        enabled = check.field(raw, "enabled", (bool,), rp, default=True)
        check.unknown_keys(raw, _RULE_KEYS, rp)
        if title:
            rules.append(
                RuleSpec(
                    title=title,
                    expression=expression,
                    description=check.field(raw, "description", (str,), rp, default="") or "",
                    weight=weight if weight is not None else 1,
                    level=level,
                    failure_message=check.field(raw, "failureMessage", (str,), rp, default="") or "",
                    effective_from=effective_from,
                    filter=rule_filter,
                    enabled=enabled,
                    identifier=identifier,
                )
            )
    if not doc.get("rules"):
        check.warn("the scorecard has no rules", "rules", line_of(doc, "rules") or 1)
    check.unknown_keys(doc, _TOP_KEYS, "")
    check.raise_if_errors()

    spec = ScorecardSpec(
        tag=tag,
        name=name,
        description=description or "",
        draft=draft,
        evaluation_window_hours=window or 4,
        exemptions_enabled=exemptions["enabled"],
        exemptions_auto_approve=exemptions["autoApprove"],
        notifications_enabled=notifications["enabled"],
        score_drop_notifications_enabled=notifications["scoreDropNotificationsEnabled"],
        ladder_name=ladder_name or "Default",
        levels=sorted(levels, key=lambda lv: lv.rank),
        filter=scorecard_filter,
        rules=rules,
    )
    return spec, check.warnings


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def scorecard_to_document(scorecard) -> dict:
    """The descriptor of a stored scorecard, as plain data (see `scorecard_export` for YAML)."""
    levels = list(scorecard.levels.order_by("rank"))
    doc: dict[str, Any] = {
        "tag": scorecard.tag,
        "name": scorecard.name,
        "description": scorecard.description,
        "draft": scorecard.draft,
        "evaluation": {"window": scorecard.evaluation_window_hours},
        "exemptions": {"enabled": scorecard.exemptions_enabled, "autoApprove": scorecard.exemptions_auto_approve},
        "notifications": {
            "enabled": scorecard.notifications_enabled,
            "scoreDropNotificationsEnabled": scorecard.score_drop_notifications_enabled,
        },
        "ladder": {
            "name": scorecard.ladder_name,
            "levels": [
                {
                    k: v
                    for k, v in {
                        "name": lv.name,
                        "rank": lv.rank,
                        "color": lv.color,
                        "description": lv.description,
                    }.items()
                    if v not in ("", None)
                }
                for lv in levels
            ],
        },
    }
    if scorecard.filter:
        doc["filter"] = scorecard.filter
    rules = []
    for rule in scorecard.rules.select_related("level").order_by("position", "id"):
        item: dict[str, Any] = {"identifier": str(rule.identifier), "title": rule.title}
        if rule.description:
            item["description"] = rule.description
        item["expression"] = rule.expression
        item["weight"] = rule.weight
        if rule.level_id:
            item["level"] = rule.level.name
        if rule.failure_message:
            item["failureMessage"] = rule.failure_message
        if rule.effective_from:
            item["effectiveFrom"] = _iso(rule.effective_from)
        if rule.filter:
            item["filter"] = rule.filter
        if not rule.enabled:
            item["enabled"] = False
        rules.append(item)
    doc["rules"] = rules
    return doc


def scorecard_export(scorecard) -> str:
    """YAML that applies back to the same scorecard unchanged (round trip)."""
    return dump_yaml(scorecard_to_document(scorecard))
