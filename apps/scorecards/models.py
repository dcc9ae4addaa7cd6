"""Scorecard definitions (DESIGN §4): a ladder of levels and weighted rules, with filters."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from apps.catalog.models import TAG_PATTERN

scorecard_tag_validator = RegexValidator(TAG_PATTERN, "A tag holds letters, digits, '.', '_' and '-'.")


class ScorecardQuerySet(models.QuerySet):
    def published(self):
        return self.filter(draft=False)

    def visible_to(self, user):
        """Drafts are shown only to people who may edit scorecards."""
        if user.has_perm("scorecards.change_scorecard"):
            return self
        return self.filter(draft=False)


class Scorecard(models.Model):
    """A ladder of levels and the rules that decide which level each entity in scope reaches."""

    tag = models.CharField(max_length=255, unique=True, validators=[scorecard_tag_validator])
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    draft = models.BooleanField(default=False)
    ladder_name = models.CharField(max_length=255, default="Default")
    filter = models.JSONField(default=dict, blank=True, help_text="types / groups include-exclude and a query.")
    evaluation_window_hours = models.PositiveIntegerField(default=4, validators=[MinValueValidator(1)])
    exemptions_enabled = models.BooleanField(default=True)
    exemptions_auto_approve = models.BooleanField(default=False)
    notifications_enabled = models.BooleanField(default=True)
    score_drop_notifications_enabled = models.BooleanField(default=False)
    # Bumped whenever the rules or ladder change, so score history can mark definition changes.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScorecardQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("evaluate_scorecard", "Can start an evaluation of a scorecard")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        check_filter(self.filter, "filter")


def check_filter(value, field: str) -> None:
    """The stored filter must have the descriptor's shape and a query that compiles."""
    from apps.scorecards.filters import filter_problems

    problems = filter_problems(value)
    if problems:
        raise ValidationError({field: problems})


class Level(models.Model):
    """One rung of a scorecard's ladder; rank 1 is the lowest."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="levels")
    name = models.CharField(max_length=64)
    rank = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    color = models.CharField(max_length=16, blank=True, default="#8c9298")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["scorecard", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "rank"], name="level_unique_rank"),
            models.UniqueConstraint(fields=["scorecard", "name"], name="level_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    """A weighted check. An empty expression means its outcome is pushed from outside (Datadog-style)."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="rules")
    # Unique within its scorecard, not across scorecards: Cortex accepts one identifier in several
    # scorecards (tenant exports do that). APIs that address a rule by identifier alone use
    # `apps.scorecards.selectors.rule_by_identifier`, which refuses an ambiguous one.
    identifier = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    expression = models.TextField(blank=True)
    weight = models.PositiveIntegerField(default=1)
    level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.RESTRICT, related_name="rules")
    failure_message = models.TextField(blank=True, help_text="Markdown, rendered sanitised.")
    effective_from = models.DateTimeField(null=True, blank=True)
    filter = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    # Datadog-style rules carry a free-text owner (API_CONTRACT §3); descriptor rules leave it empty.
    owner = models.CharField(max_length=255, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scorecard", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "title"], name="rule_unique_title"),
            models.UniqueConstraint(fields=["scorecard", "identifier"], name="rule_unique_identifier"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        from apps.scorecards.language import RuleSyntaxError, compile_expression

        errors: dict[str, str] = {}
        if self.expression.strip():
            try:
                compile_expression(self.expression.strip())
            except RuleSyntaxError as exc:
                errors["expression"] = str(exc)
        if (
            self.level_id
            and self.scorecard_id
            and self.level is not None
            and self.level.scorecard_id != self.scorecard_id
        ):
            errors["level"] = "the level must belong to this rule's scorecard"
        if errors:
            raise ValidationError(errors)
        check_filter(self.filter, "filter")
