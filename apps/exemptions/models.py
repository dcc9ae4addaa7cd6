"""Exemptions (DESIGN §7): a rule set aside for one entity, requested and decided with a full history."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExemptionStatus(models.TextChoices):
    """The workflow's states. Values are the vendors' wire values; labels are what people read everywhere
    (pages, emails, admin, messages). A request is *denied* (the UI's verb), stored as REJECTED as Cortex does."""

    PENDING = "PENDING", "Pending"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Denied"
    REVOKED = "REVOKED", "Revoked"
    EXPIRED = "EXPIRED", "Expired"


ACTIVE_STATUSES = (ExemptionStatus.PENDING, ExemptionStatus.APPROVED)
FINAL_STATUSES = (ExemptionStatus.REJECTED, ExemptionStatus.REVOKED, ExemptionStatus.EXPIRED)


def time_left_label(end_date: datetime | None, *, now: datetime | None = None) -> str:
    """How long an exemption still holds, in calendar days of the site's time zone, as every page says it.

    "30 days left" the day a 30-day exemption starts, ..., "1 day left" the day before it ends,
    "expires today" on its last day, "expired" from its end on; "until revoked" without an end date.
    Calendar days, not elapsed 24-hour periods, so the first day reads 30 and never 29 (or "29 days, 23 hours").
    """
    if end_date is None:
        return "until revoked"
    now = now or timezone.now()
    if end_date <= now:
        return "expired"
    days = (timezone.localdate(end_date) - timezone.localdate(now)).days
    if days == 0:
        return "expires today"
    return "1 day left" if days == 1 else f"{days} days left"


class ExemptionQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def in_force(self, now):
        """Approved and not past their end date: these make a rule `exempt`."""
        return self.filter(status=ExemptionStatus.APPROVED).filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__gt=now)
        )


class Exemption(models.Model):
    """A request to set one rule of one scorecard aside for one entity, and its decision."""

    scorecard = models.ForeignKey("scorecards.Scorecard", on_delete=models.CASCADE, related_name="exemptions")
    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="exemptions")
    rule = models.ForeignKey("scorecards.Rule", on_delete=models.CASCADE, related_name="exemptions")
    status = models.CharField(max_length=16, choices=ExemptionStatus.choices, default=ExemptionStatus.PENDING)
    reason = models.TextField()
    days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: until revoked.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    end_date = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, help_text="Why it was denied or revoked.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ExemptionQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("request_exemption", "Can request an exemption"),
            ("configure_exemptions", "Can approve, deny and revoke exemptions"),
        ]
        constraints = [
            # The database, not a read-then-write check, refuses a second active exemption.
            models.UniqueConstraint(
                fields=["scorecard", "entity", "rule"],
                condition=models.Q(status__in=["PENDING", "APPROVED"]),
                name="exemption_one_active",
            ),
        ]
        indexes = [models.Index(fields=["status", "end_date"], name="exemption_status_end")]

    def __str__(self) -> str:
        return f"{self.entity} / {self.rule} ({self.get_status_display()})"

    @property
    def time_left(self) -> str:
        """What is left of an approved exemption ("30 days left", "expires today", "until revoked", ...)."""
        return time_left_label(self.end_date)


class ExemptionEvent(models.Model):
    """One transition of an exemption: who, when, from which state to which, and why."""

    exemption = models.ForeignKey(Exemption, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=ExemptionStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ExemptionStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=255, blank=True, help_text="'system' for automatic transitions.")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_from_status_display() or 'new'} → {self.get_to_status_display()}"

    @property
    def actor_name(self) -> str:
        """Who made the transition, for people: the recorded label, else the user, else "system".

        Automatic transitions (expiry, auto-approval) have no user, and a user may have been deleted since.
        """
        if self.actor_label:
            return self.actor_label
        return self.actor.get_username() if self.actor is not None else "system"
