"""Exemptions (DESIGN §7): a rule set aside for one entity, requested and decided with a full history."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExemptionStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"
    REVOKED = "REVOKED", "Revoked"
    EXPIRED = "EXPIRED", "Expired"


ACTIVE_STATUSES = (ExemptionStatus.PENDING, ExemptionStatus.APPROVED)
FINAL_STATUSES = (ExemptionStatus.REJECTED, ExemptionStatus.REVOKED, ExemptionStatus.EXPIRED)


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
        return f"{self.entity} / {self.rule} ({self.status})"


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
        return f"{self.from_status or '-'} -> {self.to_status}"
