"""Reads of deploys, custom events and custom metric points, for the rule language and the API.

`activity_bulk(entity_ids, kinds)` loads what CQL's `deploys(...)`, `customEvents(...)` and
`customMetrics(...)` read, for many entities at once: one query per kind asked for, whatever the number of
entities. The answer has every requested entity id, each with one list per requested kind (empty when it
has none), rows newest first (by timestamp, then by insertion). Lookback windows, type and key filters are
the caller's to apply.

Row shapes (Cortex's CQL field names; "timestamp" is an aware `datetime` in UTC; text fields that were not
given are None):

    "deploys":        {"uuid": str, "title": str, "type": "DEPLOY" | "SCALE" | "ROLLBACK" | "RESTART",
                       "sha": str | None, "environment": str | None, "url": str | None,
                       "timestamp": datetime, "deployer": {"name": str | None, "email": str | None} | None,
                       "customData": dict | None}
    "custom_events":  {"uuid": str, "title": str, "type": str, "description": str | None, "url": str | None,
                       "timestamp": datetime, "customData": dict | None}
    "custom_metrics": {"key": str, "timestamp": datetime, "value": float}

For example `activity_bulk([7, 9], {"deploys"})` ->
`{7: {"deploys": [{"uuid": "...", "title": "v1.2", "type": "DEPLOY", ...}]}, 9: {"deploys": []}}`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from django.db.models import QuerySet

from apps.activity.models import CustomEvent, CustomMetricPoint, Deploy

KINDS = frozenset({"deploys", "custom_events", "custom_metrics"})


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _text(value: str) -> str | None:
    return value or None


def deploy_row(
    *,
    uuid,
    title: str,
    type: str,  # noqa: A002
    sha: str,
    environment: str,
    url: str,
    timestamp: datetime,
    deployer_name: str,
    deployer_email: str,
    custom_data,
) -> dict:
    deployer = (
        {"name": _text(deployer_name), "email": _text(deployer_email)} if deployer_name or deployer_email else None
    )
    return {
        "uuid": str(uuid),
        "title": title,
        "type": type,
        "sha": _text(sha),
        "environment": _text(environment),
        "url": _text(url),
        "timestamp": _utc(timestamp),
        "deployer": deployer,
        "customData": custom_data,
    }


def custom_event_row(
    *,
    uuid,
    title: str,
    type: str,
    description: str,
    url: str,
    timestamp: datetime,
    custom_data,  # noqa: A002
) -> dict:
    return {
        "uuid": str(uuid),
        "title": title,
        "type": type,
        "description": _text(description),
        "url": _text(url),
        "timestamp": _utc(timestamp),
        "customData": custom_data,
    }


_DEPLOY_COLUMNS = ("uuid", "title", "type", "sha", "environment", "url", "timestamp", "deployer_name",
                   "deployer_email", "custom_data")  # fmt: skip
_EVENT_COLUMNS = ("uuid", "title", "type", "description", "url", "timestamp", "custom_data")


def activity_bulk(entity_ids: Sequence[int], kinds: Collection[str]) -> dict[int, dict[str, list[dict]]]:
    """Deploys, custom events and/or custom metric points of these entities (see the module docstring)."""
    wanted = set(kinds)
    unknown = wanted - KINDS
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; expected some of {sorted(KINDS)}")
    ids = list(dict.fromkeys(int(pk) for pk in entity_ids))
    result: dict[int, dict[str, list[dict]]] = {pk: {kind: [] for kind in wanted} for pk in ids}
    if not ids:
        return result
    if "deploys" in wanted:
        rows = Deploy.objects.filter(entity_id__in=ids).order_by("-timestamp", "-id")
        for entity_id, *values in rows.values_list("entity_id", *_DEPLOY_COLUMNS):
            result[entity_id]["deploys"].append(deploy_row(**dict(zip(_DEPLOY_COLUMNS, values, strict=True))))
    if "custom_events" in wanted:
        events = CustomEvent.objects.filter(entity_id__in=ids).order_by("-timestamp", "-id")
        for entity_id, *values in events.values_list("entity_id", *_EVENT_COLUMNS):
            result[entity_id]["custom_events"].append(
                custom_event_row(**dict(zip(_EVENT_COLUMNS, values, strict=True)))
            )
    if "custom_metrics" in wanted:
        points = CustomMetricPoint.objects.filter(entity_id__in=ids).order_by("-timestamp", "-id")
        for entity_id, key, timestamp, value in points.values_list("entity_id", "metric__key", "timestamp", "value"):
            result[entity_id]["custom_metrics"].append({"key": key, "timestamp": _utc(timestamp), "value": value})
    return result


def deploy_row_of(deploy: Deploy) -> dict:
    return deploy_row(**{name: getattr(deploy, name) for name in _DEPLOY_COLUMNS})


def custom_event_row_of(event: CustomEvent) -> dict:
    return custom_event_row(**{name: getattr(event, name) for name in _EVENT_COLUMNS})


# --- lists for the API: newest first, filtered; the caller pages them -------------------------------------


def deploy_list(*, entity_id: int) -> QuerySet[Deploy]:
    return Deploy.objects.filter(entity_id=entity_id).order_by("-timestamp", "-id")


def custom_event_list(
    *,
    entity_id: int,
    type: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,  # noqa: A002
) -> QuerySet[CustomEvent]:
    rows = CustomEvent.objects.filter(entity_id=entity_id)
    if type is not None:
        rows = rows.filter(type=type)
    if start is not None:
        rows = rows.filter(timestamp__gte=start)
    if end is not None:
        rows = rows.filter(timestamp__lte=end)
    return rows.order_by("-timestamp", "-id")


def custom_metric_point_list(
    *, metric_id: int, entity_id: int, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[CustomMetricPoint]:
    rows = CustomMetricPoint.objects.filter(metric_id=metric_id, entity_id=entity_id)
    if start is not None:
        rows = rows.filter(timestamp__gte=start)
    if end is not None:
        rows = rows.filter(timestamp__lte=end)
    return rows.order_by("-timestamp", "-id")
