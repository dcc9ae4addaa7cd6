"""Notification runs and logs (DESIGN §8, Cortex "Notification Logs"): who was told what, and when.

A run is one batch (e.g. the score drops found by one evaluation run); a log is one message of it.
Both are an audit trail, so they outlive what they talk about: deleting a scorecard, an evaluation run
or an entity nulls the link and keeps the rows (the subject and body still say what was sent).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class NotificationKind(models.TextChoices):
    SCORECARD_SCORE_DROP = "SCORECARD_SCORE_DROP", "Scorecard score or level drop"


class NotificationRunQuerySet(models.QuerySet):
    def delivered(self):
        """Runs that reached at least one person (Cortex's `deliveredOnly`)."""
        return self.filter(delivered__gt=0)


class NotificationRun(models.Model):
    """One batch of notifications of one kind, e.g. every score-drop email of one evaluation run.

    At most one run per (kind, evaluation run): creating the run is what claims the right to send,
    so a task delivered twice sends nothing the second time.
    """

    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    scorecard = models.ForeignKey(
        "scorecards.Scorecard", null=True, blank=True, on_delete=models.SET_NULL, related_name="notification_runs"
    )
    evaluation_run = models.ForeignKey(
        "evaluations.EvaluationRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notification_runs",
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When every message had been tried.")
    delivered = models.PositiveIntegerField(default=0, help_text="Messages the email backend accepted.")
    failed = models.PositiveIntegerField(default=0, help_text="Messages the email backend refused.")
    skipped = models.PositiveIntegerField(default=0, help_text="Entities nobody could be told about.")

    objects = NotificationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "evaluation_run"], name="notification_run_once_per_evaluation")
        ]
        indexes = [
            models.Index(fields=["created_at"], name="notification_run_created"),
            models.Index(fields=["scorecard", "created_at"], name="notification_run_scorecard"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class NotificationStatus(models.TextChoices):
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class NotificationLog(models.Model):
    """One message of a run: to one recipient, about one entity.

    A `skipped` row (empty recipient) records an entity that had nobody to tell, so admins can see why
    no email went out for it.
    """

    notification_run = models.ForeignKey(NotificationRun, on_delete=models.CASCADE, related_name="logs")
    recipient_email = models.EmailField(blank=True, help_text="Lowercased; empty for skipped rows.")
    recipient_entity = models.ForeignKey(
        "catalog.Entity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notification_logs",
        help_text="The entity the notification is about.",
    )
    recipient_channel = models.CharField(max_length=255, blank=True, help_text="Slack / Teams channel; unused yet.")
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=NotificationStatus.choices)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One message per (entity, recipient) in a run: a second send would be a duplicate email.
            models.UniqueConstraint(
                fields=["notification_run", "recipient_entity", "recipient_email"], name="notification_log_unique"
            )
        ]
        # The filters of Cortex's "Retrieve notification logs": recipient email, entity, time range.
        indexes = [
            models.Index(fields=["recipient_email", "created_at"], name="notification_log_email"),
            models.Index(fields=["recipient_entity", "created_at"], name="notification_log_entity"),
            models.Index(fields=["created_at"], name="notification_log_created"),
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.recipient_email or '(nobody)'} – {self.subject}"
