"""Evaluation results: per-rule results and the score of each (entity, scorecard)."""

from __future__ import annotations

from django.db import models


class RuleState(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    ERROR = "error", "Error"
    NO_DATA = "no_data", "No data"
    SKIP = "skip", "Skip"
    EXEMPT = "exempt", "Exempt"


class EntityScoreQuerySet(models.QuerySet):
    def for_dashboard(self):
        return self.select_related("entity", "scorecard", "level").order_by("entity__tag")


class EntityScore(models.Model):
    """Where one entity stands on one scorecard after its last evaluation."""

    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="scores")
    scorecard = models.ForeignKey("scorecards.Scorecard", on_delete=models.CASCADE, related_name="scores")
    score = models.FloatField(default=0)
    total_possible = models.FloatField(default=0)
    percentage = models.FloatField(default=0, help_text="score / total possible, 0..1.")
    level = models.ForeignKey("scorecards.Level", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rules_passing = models.PositiveIntegerField(default=0)
    rules_total = models.PositiveIntegerField(default=0)
    scorecard_version = models.PositiveIntegerField(default=1)
    evaluated_at = models.DateTimeField()

    objects = EntityScoreQuerySet.as_manager()

    class Meta:
        ordering = ["scorecard", "entity"]
        constraints = [models.UniqueConstraint(fields=["entity", "scorecard"], name="score_unique_pair")]
        indexes = [models.Index(fields=["scorecard", "level"], name="score_scorecard_level")]

    def __str__(self) -> str:
        return f"{self.entity} on {self.scorecard}: {self.score}/{self.total_possible}"


class RuleResult(models.Model):
    """The state of one applicable rule for one entity. `raw_state` is before exemptions are applied,
    so an exemption change re-scores without re-running the expression."""

    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="rule_results")
    scorecard = models.ForeignKey("scorecards.Scorecard", on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey("scorecards.Rule", on_delete=models.CASCADE, related_name="results")
    state = models.CharField(max_length=8, choices=RuleState.choices)
    raw_state = models.CharField(max_length=8, choices=RuleState.choices)
    message = models.TextField(blank=True)
    # When the state last changed; the evaluation time itself is EntityScore.evaluated_at.
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["entity", "rule"]
        constraints = [models.UniqueConstraint(fields=["entity", "rule"], name="result_unique_pair")]
        indexes = [models.Index(fields=["scorecard", "entity"], name="result_scorecard_entity")]

    def __str__(self) -> str:
        return f"{self.entity} / {self.rule}: {self.state}"


class RuleOutcome(models.Model):
    """A state pushed from outside for a rule without an expression (pass / fail / skip)."""

    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="outcomes")
    rule = models.ForeignKey("scorecards.Rule", on_delete=models.CASCADE, related_name="outcomes")
    state = models.CharField(max_length=8, choices=[(s, s) for s in ("pass", "fail", "skip")])
    remarks = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule", "entity"]
        constraints = [models.UniqueConstraint(fields=["entity", "rule"], name="outcome_unique_pair")]

    def __str__(self) -> str:
        return f"{self.entity} / {self.rule}: {self.state}"
