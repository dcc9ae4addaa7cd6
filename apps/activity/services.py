"""Writes of deploys, custom events and custom metrics. Each write announces, after commit, that the
entities it touched must be re-scored (`score_inputs_changed`): rules read this data through CQL.

Every function is all-or-nothing (one transaction) and refuses with an ApplicationError: NotFoundError for
an unknown uuid or metric key, ValidationFailed (naming the field) for data Cortex would refuse.
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.activity.models import CustomEvent, CustomMetric, CustomMetricPoint, Deploy, DeployType
from apps.catalog.models import Entity
from apps.core.errors import ApplicationError, NotFoundError, Problem, ValidationFailed
from apps.core.score_inputs import score_inputs_changed

# Cortex ignores custom metric data points older than this; here they are refused, so nobody is misled.
METRIC_POINT_MAX_AGE = timedelta(days=183)

DEPLOY_FIELDS = (
    "timestamp",
    "title",
    "type",
    "sha",
    "environment",
    "url",
    "deployer_name",
    "deployer_email",
    "custom_data",
)
EVENT_FIELDS = ("timestamp", "title", "type", "description", "url", "custom_data")
METRIC_FIELDS = ("name", "valence", "category", "description", "is_draft")


def _parse_uuid(value: str | uuid_lib.UUID, what: str) -> uuid_lib.UUID:
    if isinstance(value, uuid_lib.UUID):
        return value
    try:
        return uuid_lib.UUID(str(value))
    except ValueError:
        raise NotFoundError(f"{what} {value!r} does not exist") from None


def _delete_announcing(rows: QuerySet, *, why: str) -> int:
    """Delete `rows` and announce the entities they belonged to; the number deleted."""
    entity_ids = set(rows.values_list("entity_id", flat=True).distinct())
    deleted, _ = rows.delete()
    if deleted:
        score_inputs_changed(entity_ids=entity_ids, why=why)
    return deleted


def _checked_changes(changes: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    return changes


# --- deploys ---------------------------------------------------------------------------------------------


@transaction.atomic
def deploy_add(
    *,
    entity: Entity,
    timestamp: datetime,
    title: str,
    type: str = DeployType.DEPLOY,  # noqa: A002 (Cortex's field name)
    sha: str = "",
    environment: str = "",
    url: str = "",
    deployer_name: str = "",
    deployer_email: str = "",
    custom_data: dict | None = None,
) -> Deploy:
    """Record a deploy of `entity`; its scores are re-computed after commit."""
    deploy = Deploy.objects.create(
        entity=entity,
        timestamp=timestamp,
        title=title,
        type=type,
        sha=sha,
        environment=environment,
        url=url,
        deployer_name=deployer_name,
        deployer_email=deployer_email,
        custom_data=custom_data,
    )
    score_inputs_changed(entity_ids=[entity.pk], why=f"deploy added to {entity.tag}")
    return deploy


@transaction.atomic
def deploy_update(*, entity: Entity, uuid: str | uuid_lib.UUID, changes: dict[str, Any]) -> Deploy:
    """Change the given fields (model names, from DEPLOY_FIELDS) of one deploy of `entity`; others stay."""
    _checked_changes(changes, DEPLOY_FIELDS)
    key = _parse_uuid(uuid, "deploy")
    deploy = Deploy.objects.select_for_update().filter(entity=entity, uuid=key).first()
    if deploy is None:
        raise NotFoundError(f"entity {entity.tag!r} has no deploy {str(uuid)!r}")
    for name, value in changes.items():
        setattr(deploy, name, value)
    deploy.save(update_fields=list(changes) or None)
    score_inputs_changed(entity_ids=[entity.pk], why=f"deploy updated on {entity.tag}")
    return deploy


@transaction.atomic
def deploy_delete(*, entity: Entity, uuid: str | uuid_lib.UUID) -> None:
    key = _parse_uuid(uuid, "deploy")
    if not _delete_announcing(Deploy.objects.filter(entity=entity, uuid=key), why=f"deploy deleted from {entity.tag}"):
        raise NotFoundError(f"entity {entity.tag!r} has no deploy {str(uuid)!r}")


@transaction.atomic
def deploys_delete(
    *,
    entity: Entity | None,
    sha: str | None = None,
    environment: str | None = None,
    type: str | None = None,  # noqa: A002
) -> int:
    """Delete the deploys matching every filter given, of one entity or (entity None) of all; the count."""
    rows = Deploy.objects.all() if entity is None else Deploy.objects.filter(entity=entity)
    if sha is not None:
        rows = rows.filter(sha=sha)
    if environment is not None:
        rows = rows.filter(environment=environment)
    if type is not None:
        rows = rows.filter(type=type)
    where = "every entity" if entity is None else entity.tag
    return _delete_announcing(rows, why=f"deploys deleted from {where}")


@transaction.atomic
def deploys_delete_all() -> int:
    """Every deploy of every entity (Cortex's "dangerous endpoint")."""
    return _delete_announcing(Deploy.objects.all(), why="all deploys deleted")


# --- custom events ---------------------------------------------------------------------------------------


@transaction.atomic
def custom_event_add(
    *,
    entity: Entity,
    timestamp: datetime,
    title: str,
    type: str,  # noqa: A002
    description: str = "",
    url: str = "",
    custom_data: dict | None = None,
) -> CustomEvent:
    event = CustomEvent.objects.create(
        entity=entity,
        timestamp=timestamp,
        title=title,
        type=type,
        description=description,
        url=url,
        custom_data=custom_data,
    )
    score_inputs_changed(entity_ids=[entity.pk], why=f"custom event added to {entity.tag}")
    return event


@transaction.atomic
def custom_event_update(*, entity: Entity, uuid: str | uuid_lib.UUID, changes: dict[str, Any]) -> CustomEvent:
    """Change the given fields (model names, from EVENT_FIELDS) of one event of `entity`; others stay."""
    _checked_changes(changes, EVENT_FIELDS)
    key = _parse_uuid(uuid, "custom event")
    event = CustomEvent.objects.select_for_update().filter(entity=entity, uuid=key).first()
    if event is None:
        raise NotFoundError(f"entity {entity.tag!r} has no custom event {str(uuid)!r}")
    for name, value in changes.items():
        setattr(event, name, value)
    event.save(update_fields=list(changes) or None)
    score_inputs_changed(entity_ids=[entity.pk], why=f"custom event updated on {entity.tag}")
    return event


@transaction.atomic
def custom_event_delete(*, entity: Entity, uuid: str | uuid_lib.UUID) -> None:
    key = _parse_uuid(uuid, "custom event")
    rows = CustomEvent.objects.filter(entity=entity, uuid=key)
    if not _delete_announcing(rows, why=f"custom event deleted from {entity.tag}"):
        raise NotFoundError(f"entity {entity.tag!r} has no custom event {str(uuid)!r}")


@transaction.atomic
def custom_events_delete(
    *,
    entity: Entity,
    type: str | None = None,  # noqa: A002
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Delete the entity's events of that type (any type: None) between start and end, inclusive."""
    rows = CustomEvent.objects.filter(entity=entity)
    if type is not None:
        rows = rows.filter(type=type)
    if start is not None:
        rows = rows.filter(timestamp__gte=start)
    if end is not None:
        rows = rows.filter(timestamp__lte=end)
    return _delete_announcing(rows, why=f"custom events deleted from {entity.tag}")


# --- custom metrics --------------------------------------------------------------------------------------


def custom_metric_for(key: str) -> CustomMetric:
    metric = CustomMetric.objects.filter(key=key).first()
    if metric is None:
        raise NotFoundError(f"custom metric {key!r} does not exist")
    return metric


def custom_metric_create(
    *,
    key: str,
    name: str,
    valence: str,
    category: str = "",
    description: str = "",
    is_draft: bool = False,
) -> CustomMetric:
    """Define a metric; its key never changes afterwards. Defining an existing key is a conflict (409)."""
    try:
        with transaction.atomic():
            return CustomMetric.objects.create(
                key=key, name=name, valence=valence, category=category, description=description, is_draft=is_draft
            )
    except IntegrityError:
        raise ApplicationError(f"custom metric {key!r} already exists", code="conflict") from None


@transaction.atomic
def custom_metric_update(*, key: str, changes: dict[str, Any]) -> CustomMetric:
    """Change a definition's name, valence, category, description or draft flag. Scores do not depend on
    these, so nothing is re-scored."""
    _checked_changes(changes, METRIC_FIELDS)
    metric = CustomMetric.objects.select_for_update().filter(key=key).first()
    if metric is None:
        raise NotFoundError(f"custom metric {key!r} does not exist")
    for name, value in changes.items():
        setattr(metric, name, value)
    metric.save()
    return metric


@transaction.atomic
def custom_metric_delete(*, key: str) -> None:
    """Delete a definition and every data point recorded against it; the entities that had some re-score."""
    metric = custom_metric_for(key)
    _delete_announcing(CustomMetricPoint.objects.filter(metric=metric), why=f"custom metric {key} deleted")
    metric.delete()


@transaction.atomic
def custom_metric_points_add(
    *, entity: Entity, key: str, points: Sequence[tuple[datetime, float]], path: str = "series"
) -> list[CustomMetricPoint]:
    """Record (timestamp, value) points of metric `key` for `entity`: all of them, or none when any is older
    than six months (Cortex would drop it). `path` names the list in the problems reported."""
    metric = custom_metric_for(key)
    oldest = timezone.now() - METRIC_POINT_MAX_AGE
    problems = [
        Problem(
            "is more than 6 months ago; Cortex accepts no older data points",
            path=f"{path}[{index}].timestamp" if path else "timestamp",
        )
        for index, (timestamp, _) in enumerate(points)
        if timestamp < oldest
    ]
    if problems:
        raise ValidationFailed(problems=problems)
    made = CustomMetricPoint.objects.bulk_create(
        CustomMetricPoint(metric=metric, entity=entity, timestamp=timestamp, value=value) for timestamp, value in points
    )
    if made:
        score_inputs_changed(entity_ids=[entity.pk], why=f"custom metric {key} recorded for {entity.tag}")
    return made


@transaction.atomic
def custom_metric_points_delete(
    *, entity: Entity, key: str, start: datetime | None = None, end: datetime | None = None
) -> int:
    """Delete the entity's points of metric `key` between start and end (inclusive; open when None)."""
    metric = custom_metric_for(key)
    rows = CustomMetricPoint.objects.filter(metric=metric, entity=entity)
    if start is not None:
        rows = rows.filter(timestamp__gte=start)
    if end is not None:
        rows = rows.filter(timestamp__lte=end)
    return _delete_announcing(rows, why=f"custom metric {key} data deleted from {entity.tag}")
