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
    """An owner UUID that names no user here yet, such as a Datadog user's UUID that a migration script sends as a
    campaign's `owner_id`. It is kept as sent, and an Admin links it to a user later (admin; see
    apps.campaigns.services.owner_ref_link). A user's own owner UUID is `User.uuid`, not a row here."""

    uuid = models.UUIDField(unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owner_refs",
        help_text="The user this owner UUID stands for; empty until an Admin links one.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "external owner UUID"
        verbose_name_plural = "external owner UUIDs"

    def __str__(self) -> str:
        return f"{self.user} ({self.uuid})" if self.user_id else f"unlinked owner {self.uuid}"


class CampaignQuerySet(models.QuerySet):
    def for_api(self):
        """The owner and an external owner UUID joined in, so rendering a list takes no query per row."""
        return self.select_related("owner", "owner_ref")


class Campaign(models.Model):
    """Rules (from any scorecards) that the entities matching `entity_scope` should pass by `due_date`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=255, unique=True, validators=[key_validator])
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    # The owner as Datadog's API names it: a user here (their `uuid`), or an external owner UUID (`owner_ref`)
    # whose user, once an Admin links one, is copied to `owner`.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    owner_ref = models.ForeignKey(
        OwnerRef, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns",
        help_text="Set when the owner was named by a UUID that is no user's here.",
    )  # fmt: skip
    rules = models.ManyToManyField("scorecards.Rule", related_name="campaigns", blank=True)
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.NOT_STARTED)
    start_date = models.DateTimeField()
    due_date = models.DateTimeField(null=True, blank=True)
    entity_scope = models.TextField(
        blank=True,
        help_text="A catalog query (kind:service AND team:platform) or a rule-language boolean expression, kept "
        "verbatim; empty = every entity.",
    )
    guidance = models.TextField(blank=True, help_text="Markdown, rendered sanitised.")
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status"], name="campaign_status")]

    def __str__(self) -> str:
        return self.name

    @property
    def owner_uuid(self):
        """The UUID Datadog's API shows as `owner` (needs `owner` and `owner_ref` joined: CampaignQuerySet.for_api)."""
        if self.owner_ref_id is not None:
            return self.owner_ref.uuid
        return self.owner.uuid if self.owner_id is not None else None

    @property
    def owner_label(self) -> str:
        return str(self.owner) if self.owner_id is not None else str(self.owner_ref or "")


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
