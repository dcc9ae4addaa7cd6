"""Campaigns (Cortex "initiatives", Datadog "campaigns"): a set of rules a group of entities should pass by a date."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
key_validator = RegexValidator(KEY_PATTERN, "A key holds letters, digits, '.', '_' and '-', and starts alphanumeric.")


class CampaignStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class OwnerRef(models.Model):
    """A stable UUID for a user. Datadog's API names campaign owners by UUID (`owner_id` / `owner`) and
    accounts.User has none, so the UUID lives here, one row per user, made on first use."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owner_ref")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        ordering = ["user"]
        verbose_name = "owner UUID"
        verbose_name_plural = "owner UUIDs"

    def __str__(self) -> str:
        return f"{self.user} = {self.uuid}"


class CampaignQuerySet(models.QuerySet):
    def for_api(self):
        """The owner's UUID joined in, so rendering a list takes no query per row."""
        return self.select_related("owner__owner_ref")


class Campaign(models.Model):
    """Rules (from any scorecards) that the entities matching `entity_scope` should pass by `due_date`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=255, unique=True, validators=[key_validator])
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="campaigns")
    rules = models.ManyToManyField("scorecards.Rule", related_name="campaigns", blank=True)
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.NOT_STARTED)
    start_date = models.DateTimeField()
    due_date = models.DateTimeField(null=True, blank=True)
    entity_scope = models.TextField(blank=True, help_text="A rule-language boolean expression; empty = every entity.")
    guidance = models.TextField(blank=True, help_text="Markdown, rendered sanitised.")
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status"], name="campaign_status")]

    def __str__(self) -> str:
        return self.name


class CampaignSnapshot(models.Model):
    """A campaign's progress on one UTC day, recorded daily (the rule results themselves keep no history)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    entities_total = models.PositiveIntegerField(default=0)
    entities_passing = models.PositiveIntegerField(default=0)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["campaign", "day"]
        constraints = [models.UniqueConstraint(fields=["campaign", "day"], name="snapshot_unique_day")]

    def __str__(self) -> str:
        return f"{self.campaign} {self.day}: {self.entities_passing}/{self.entities_total}"

    @property
    def fraction(self) -> float:
        return self.entities_passing / self.entities_total if self.entities_total else 0.0
