"""What happened to an entity, as Cortex records it: deploys, custom events and custom metric data points.

Machines send these through the Cortex v1 API (or `cortex deploys add ...`); rules read them through CQL
functions such as `deploys(lookback=duration("P7D"))`, `customEvents(types=[...])` and
`customMetrics(key="...")` (see `apps.activity.selectors.activity_bulk`). Each row belongs to one catalog
entity and goes with it. Timestamps are stored in UTC; rows are read newest first.
"""

from __future__ import annotations

import uuid

from django.core.validators import RegexValidator
from django.db import models

from apps.catalog.models import Entity

METRIC_KEY_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,253}[A-Za-z0-9])?$"
metric_key_validator = RegexValidator(
    METRIC_KEY_PATTERN, "A metric key is 1-255 letters, digits and hyphens, starting and ending alphanumeric."
)


class DeployType(models.TextChoices):
    DEPLOY = "DEPLOY", "Deploy"
    SCALE = "SCALE", "Scale"
    ROLLBACK = "ROLLBACK", "Rollback"
    RESTART = "RESTART", "Restart"


class Deploy(models.Model):
    """One deploy (or scale, rollback, restart) of an entity, as a CI pipeline reports it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="deploys")
    timestamp = models.DateTimeField()
    title = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=DeployType.choices, default=DeployType.DEPLOY)
    sha = models.CharField(max_length=255, blank=True)
    environment = models.CharField(max_length=255, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    deployer_name = models.CharField(max_length=255, blank=True)
    deployer_email = models.CharField(max_length=254, blank=True)
    custom_data = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["entity", "timestamp"], name="deploy_entity_time")]

    def __str__(self) -> str:
        return f"{self.type} {self.title}"


class CustomEvent(models.Model):
    """An event of any type (`POD_CREATION`, `LEARN_CORTEX`, ...) recorded against an entity."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="custom_events")
    timestamp = models.DateTimeField()
    title = models.CharField(max_length=255)
    type = models.CharField(max_length=255, db_index=True)
    description = models.TextField(blank=True)
    url = models.CharField(max_length=2048, blank=True)
    custom_data = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["entity", "timestamp"], name="custom_event_entity_time")]

    def __str__(self) -> str:
        return f"{self.type} {self.title}"


class Valence(models.TextChoices):
    POSITIVE = "POSITIVE", "Higher is better"
    NEGATIVE = "NEGATIVE", "Lower is better"
    NEUTRAL = "NEUTRAL", "Neutral"


class CustomMetric(models.Model):
    """A custom metric's definition (Cortex Eng Intelligence). Data points are recorded against its key."""

    key = models.CharField(max_length=255, unique=True, validators=[metric_key_validator])
    name = models.CharField(max_length=255)
    valence = models.CharField(max_length=16, choices=Valence.choices, default=Valence.NEUTRAL)
    category = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    is_draft = models.BooleanField(default=False, help_text="Accepts data, but is hidden from reports.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class CustomMetricPoint(models.Model):
    """One value of a custom metric for one entity at one time."""

    metric = models.ForeignKey(CustomMetric, on_delete=models.CASCADE, related_name="points")
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="custom_metric_points")
    timestamp = models.DateTimeField()
    value = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["entity", "timestamp"], name="metric_point_entity_time"),
            models.Index(fields=["metric", "entity", "timestamp"], name="metric_point_key_entity_time"),
        ]

    def __str__(self) -> str:
        return f"{self.value} at {self.timestamp:%Y-%m-%d %H:%M}"
