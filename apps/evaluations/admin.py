"""Admin for evaluation results: machine-written, so read-only; filters and search for finding a result."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.evaluations.models import (
    EntityScore,
    EvaluationChunk,
    EvaluationRun,
    RuleOutcome,
    RuleResult,
    ScoreHistory,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by evaluation (or pushed through the API): viewable and deletable, never hand-edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(EntityScore)
class EntityScoreAdmin(ReadOnlyAdmin):
    list_display = (
        "entity",
        "scorecard",
        "level",
        "score",
        "total_possible",
        "percent",
        "rules_passing",
        "rules_total",
        "evaluated_at",
    )
    list_filter = ("scorecard", "level__name")
    list_select_related = ("entity", "scorecard", "level")
    search_fields = ("entity__tag", "entity__name")
    date_hierarchy = "evaluated_at"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description="Percentage", ordering="percentage")
    def percent(self, obj: EntityScore) -> str:
        return f"{obj.percentage:.0%}"


@admin.register(RuleResult)
class RuleResultAdmin(ReadOnlyAdmin):
    list_display = ("entity", "scorecard", "rule", "level", "state", "raw_state", "short_message", "changed_at")
    list_filter = ("state", "raw_state", "scorecard", "rule__level__name")
    list_select_related = ("entity", "scorecard", "rule__level")
    search_fields = ("entity__tag", "rule__title", "message")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description="Level", ordering="rule__level__rank")
    def level(self, obj: RuleResult) -> str:
        return obj.rule.level.name if obj.rule.level is not None else "-"

    @admin.display(description="Message")
    def short_message(self, obj: RuleResult) -> str:
        return obj.message if len(obj.message) <= 80 else obj.message[:79] + "…"


@admin.register(RuleOutcome)
class RuleOutcomeAdmin(ReadOnlyAdmin):
    list_display = ("entity", "scorecard", "rule", "state", "remarks", "updated_at")
    list_filter = ("state", "rule__scorecard")
    list_select_related = ("entity", "rule__scorecard")
    search_fields = ("entity__tag", "rule__title", "remarks")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description="Scorecard", ordering="rule__scorecard__name")
    def scorecard(self, obj: RuleOutcome) -> str:
        return obj.rule.scorecard.name


class EvaluationChunkInline(admin.TabularInline):
    model = EvaluationChunk
    fields = (
        "index",
        "status",
        "attempts",
        "entities",
        "rule_evaluations",
        "results_written",
        "started_at",
        "finished_at",
        "error",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Entities")
    def entities(self, obj: EvaluationChunk) -> int:
        return len(obj.entity_ids)


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "scorecard",
        "status",
        "trigger",
        "progress_display",
        "entities_total",
        "rule_evaluations",
        "duration",
        "created_at",
    )
    list_filter = ("status", "trigger", "scorecard")
    list_select_related = ("scorecard", "requested_by")
    search_fields = ("scorecard__tag", "scorecard__name")
    date_hierarchy = "created_at"
    inlines = (EvaluationChunkInline,)

    @admin.display(description="Progress")
    def progress_display(self, obj: EvaluationRun) -> str:
        return f"{obj.done_chunks + obj.failed_chunks}/{obj.total_chunks} chunks ({obj.progress:.0%})" + (
            f", {obj.failed_chunks} failed" if obj.failed_chunks else ""
        )

    @admin.display(description="Duration")
    def duration(self, obj: EvaluationRun) -> str:
        return f"{obj.seconds:.1f}s" if obj.seconds is not None else "-"


@admin.register(ScoreHistory)
class ScoreHistoryAdmin(ReadOnlyAdmin):
    list_display = ("recorded_at", "entity", "scorecard", "score", "total_possible", "level_rank", "scorecard_version")
    list_filter = ("scorecard", "scorecard_version")
    list_select_related = ("entity", "scorecard")
    search_fields = ("entity__tag",)
    date_hierarchy = "recorded_at"
    # Counting a large history table is slow on PostgreSQL; the changelist does not need the total.
    show_full_result_count = False
