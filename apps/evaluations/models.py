"""Evaluation results: per-rule results and the score of each (entity, scorecard)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class RuleState(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    ERROR = "error", "Error"
    NO_DATA = "no_data", "No data"
    # The rule reads an integration this installation has not set up ("integration not configured: jira").
    NOT_CONFIGURED = "not_configured", "Not configured"
    SKIP = "skip", "Skip"
    EXEMPT = "exempt", "Exempt"


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
    # When the last ScoreHistory point was written, so a chunk needs no extra query to decide.
    history_at = models.DateTimeField(null=True, blank=True)

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
    state = models.CharField(max_length=16, choices=RuleState.choices)
    raw_state = models.CharField(max_length=16, choices=RuleState.choices)
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


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    DESCRIPTOR = "descriptor", "Descriptor applied"
    MANUAL = "manual", "Manual"
    API = "api", "API"
    CHANGE = "change", "Inputs changed"


class EvaluationRunQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_RUN_STATUSES)


class EvaluationRun(models.Model):
    """One evaluation of one scorecard over the entities in scope, split into chunks.

    Progress counters move only by conditional updates when a chunk finishes, so each chunk counts
    once however often its task is delivered. The database allows one active run per scorecard.
    """

    scorecard = models.ForeignKey("scorecards.Scorecard", on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scorecard_version = models.PositiveIntegerField(default=1)
    total_chunks = models.PositiveIntegerField(default=0)
    done_chunks = models.PositiveIntegerField(default=0)
    failed_chunks = models.PositiveIntegerField(default=0)
    entities_total = models.PositiveIntegerField(default=0)
    rule_evaluations = models.PositiveBigIntegerField(default=0)
    results_written = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A run whose lease passes with chunks unfinished is resumed (or failed) by the dispatcher.
    lease_expires_at = models.DateTimeField()
    resumes = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    objects = EvaluationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard"],
                condition=models.Q(status__in=["queued", "running"]),
                name="run_one_active_per_scorecard",
            )
        ]
        indexes = [models.Index(fields=["scorecard", "-created_at"], name="run_scorecard_created")]

    def __str__(self) -> str:
        return f"{self.scorecard} run {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        """Finished share of chunks, 0..1."""
        if not self.total_chunks:
            return 1.0 if self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) else 0.0
        return (self.done_chunks + self.failed_chunks) / self.total_chunks

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class EvaluationChunk(models.Model):
    """A slice of a run's entities, processed by one task (facts, then evaluation)."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    entity_ids = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Deliveries that found the chunk still running: a delivery before it stopped its worker (killed, out
    # of memory) without finishing or releasing it. Two, and it is not run a third time.
    crashes = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rule_evaluations = models.PositiveIntegerField(default=0)
    results_written = models.PositiveIntegerField(default=0)
    # Score and level drops seen by this chunk: [{"entity": id, "score": [old, new], "level": [old, new]}].
    drops = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="chunk_unique_index")]

    def __str__(self) -> str:
        return f"run {self.run_id} chunk {self.index} ({self.status})"


class ScoreHistory(models.Model):
    """A point of an entity's score on a scorecard: written when the score or level changes, and daily.

    Kept compact (no foreign key to the level, no derived percentage) since it grows with time.
    """

    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="+")
    scorecard = models.ForeignKey("scorecards.Scorecard", on_delete=models.CASCADE, related_name="+")
    recorded_at = models.DateTimeField()
    score = models.FloatField()
    total_possible = models.FloatField()
    level_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    scorecard_version = models.PositiveIntegerField()

    class Meta:
        ordering = ["scorecard", "entity", "recorded_at"]
        verbose_name_plural = "score history"
        indexes = [
            models.Index(fields=["scorecard", "entity", "recorded_at"], name="history_pair_time"),
            models.Index(fields=["scorecard", "recorded_at"], name="history_scorecard_time"),
            models.Index(fields=["recorded_at"], name="history_time"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_id}/{self.scorecard_id} @ {self.recorded_at:%Y-%m-%d %H:%M}: {self.score}"

    @property
    def percentage(self) -> float:
        return self.score / self.total_possible if self.total_possible else 0.0


class PendingRescore(models.Model):
    """A change to a score's inputs not yet re-scored: written by the listener of `score_inputs_changed`,
    taken (locked and deleted) by the coalescing flush, which turns many of them into a few tasks.

    No entity means every entity on the scorecard; no scorecard means every published scorecard.
    `rerun` False: only exemptions changed, so stored results are re-scored without running expressions.
    """

    entity = models.ForeignKey("catalog.Entity", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    scorecard = models.ForeignKey(
        "scorecards.Scorecard", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    rerun = models.BooleanField(default=True)
    why = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["scorecard"], name="pending_rescore_scorecard")]

    def __str__(self) -> str:
        return f"re-score {self.entity_id or 'all'} on {self.scorecard_id or 'all'}: {self.why}"


class QueryState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class QueryJob(models.Model):
    """One rule-language query over the whole catalog, run on the workers (`cortex queries run`).

    The expression compiled when the job was created; the task evaluates it against every entity that is
    not archived and keeps the ids of those for which it is true. Moves PENDING -> RUNNING -> DONE | FAILED
    only by conditional updates (apps.evaluations.queries).
    """

    job_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    expression = models.TextField()
    state = models.CharField(max_length=16, choices=QueryState.choices, default=QueryState.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    entities_total = models.PositiveIntegerField(default=0)
    entities_done = models.PositiveIntegerField(default=0)
    # Ids of the matching entities (ordered by tag when the job finished); an entity deleted since drops out.
    result_entity_ids = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="queryjob_requester_created")]

    def __str__(self) -> str:
        return f"query {self.job_id} ({self.state})"

    @property
    def progress(self) -> float:
        """Share of the catalog evaluated, 0..1 (1 once finished)."""
        if self.state in (QueryState.DONE, QueryState.FAILED):
            return 1.0
        if not self.entities_total:
            return 0.0
        return self.entities_done / self.entities_total
