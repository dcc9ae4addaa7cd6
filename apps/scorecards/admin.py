"""Admin for scorecard definitions. YAML (scorecards as code) stays the main way to edit them; the admin
shows the export and can start an evaluation."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.score_inputs import score_inputs_changed
from apps.scorecards.descriptors import scorecard_export
from apps.scorecards.models import Level, Rule, Scorecard
from apps.scorecards.services import scorecard_definition_changed

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _ScorecardCounts(TypedDict):  # annotated by ScorecardAdmin.get_queryset
        levels_total: int
        rules_total: int

    class _LevelCounts(TypedDict):  # annotated by LevelAdmin.get_queryset
        rules_total: int

    # What DefinitionChangeMixin's super() resolves to: it is only ever mixed into a ModelAdmin.
    _ModelAdminBase = admin.ModelAdmin
else:
    _ModelAdminBase = object


EVALUATE_PERMISSION = "scorecards.evaluate_scorecard"


def _count(model: type[Level] | type[Rule]) -> Coalesce:
    # A correlated subquery per count: two Count() joins would multiply rows (levels x rules).
    counted = model.objects.filter(scorecard=OuterRef("pk")).order_by().values("scorecard").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n")), 0)


class LevelInline(admin.TabularInline):
    model = Level
    fields = ("name", "rank", "color", "description")
    extra = 0


class RuleInline(admin.TabularInline):
    model = Rule
    fields = ("title", "expression", "weight", "level", "enabled", "effective_from")
    show_change_link = True
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("level")
        if field is not None:
            # Only this scorecard's levels; evaluated once into a list, so each rule row does not query again.
            levels = Level.objects.filter(scorecard=obj) if obj is not None else Level.objects.none()
            field.queryset = levels
            field.choices = [("", "---------"), *((level.pk, str(level)) for level in levels)]
        return formset


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "tag",
        "draft",
        "levels_count",
        "rules_count",
        "evaluation_window_hours",
        "version",
        "updated_at",
    )
    list_filter = ("draft", "exemptions_enabled")
    search_fields = ("tag", "name", "description")
    readonly_fields = ("version", "created_at", "updated_at", "exported_yaml")
    fieldsets = (
        (None, {"fields": ("tag", "name", "description", "draft", "filter")}),
        ("Ladder", {"fields": ("ladder_name",)}),
        (
            "Settings",
            {
                "fields": (
                    "evaluation_window_hours",
                    ("exemptions_enabled", "exemptions_auto_approve"),
                    ("notifications_enabled", "score_drop_notifications_enabled"),
                )
            },
        ),
        ("Scorecard as code", {"classes": ("collapse",), "fields": ("exported_yaml",)}),
        ("History", {"fields": ("version", "created_at", "updated_at")}),
    )
    inlines = (LevelInline, RuleInline)
    actions = ("evaluate_now",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Scorecard]:
        return super().get_queryset(request).annotate(levels_total=_count(Level), rules_total=_count(Rule))

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # Levels, rules, the filter and publishing change scores; a new name or description does not.
        scope_changed = {"filter", "draft"} & set(form.changed_data)
        if not change:
            score_inputs_changed(scorecard_ids=[form.instance.pk], why=f"scorecard {form.instance.tag} created")
        elif scope_changed or any(formset.has_changed() for formset in formsets):
            scorecard_definition_changed(
                scorecard_id=form.instance.pk, why=f"scorecard {form.instance.tag} edited in the admin"
            )

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        return [path("<path:object_id>/export/", export, name=name), *super().get_urls()]

    @admin.display(description="Levels", ordering="levels_total")
    def levels_count(self, obj: WithAnnotations[Scorecard, _ScorecardCounts]) -> int:
        return obj.levels_total

    @admin.display(description="Rules", ordering="rules_total")
    def rules_count(self, obj: WithAnnotations[Scorecard, _ScorecardCounts]) -> int:
        return obj.rules_total

    @admin.display(description="Exported YAML")
    def exported_yaml(self, obj: Scorecard) -> str:
        if obj.pk is None:
            return "-"
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_export", args=[obj.pk])
        return format_html(
            '<p><a href="{}">Download {}.yaml</a> &mdash; apply changes with '
            "<code>manage.py apply_scorecard</code>.</p><pre>{}</pre>",
            url,
            obj.tag,
            scorecard_export(obj),
        )

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        scorecard = get_object_or_404(self.get_queryset(request), pk=object_id)
        response = HttpResponse(scorecard_export(scorecard), content_type="application/yaml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{scorecard.tag}.yaml"'
        return response

    def has_evaluate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EVALUATE_PERMISSION)

    @admin.action(description="Evaluate now", permissions=["evaluate"])
    def evaluate_now(self, request: HttpRequest, queryset: QuerySet[Scorecard]) -> None:
        # Imported here: evaluations sits above scorecards, and only this admin action needs it.
        from apps.evaluations.runs import RunInProgress, run_start

        for scorecard in queryset.order_by("tag"):
            try:
                run = run_start(scorecard=scorecard, trigger="manual", by=request.user)
            except RunInProgress as exc:
                self.message_user(
                    request,
                    f"{scorecard.name} is being evaluated already (run {exc.run and exc.run.pk}).",
                    messages.WARNING,
                )
                continue
            self.message_user(
                request,
                f"{scorecard.name}: evaluation run {run.pk} started over {run.entities_total} entities "
                f"in {run.total_chunks} chunks; the workers report progress on the run.",
                messages.SUCCESS,
            )


class DefinitionChangeMixin(_ModelAdminBase):
    """Editing a level or rule on its own page changes the scorecard's definition: bump its version."""

    def save_model(self, request, obj, form, change) -> None:
        previous = (
            type(obj).objects.filter(pk=obj.pk).values_list("scorecard_id", flat=True).first() if change else None
        )
        super().save_model(request, obj, form, change)
        if form.has_changed():
            why = f"{obj._meta.verbose_name} {obj} edited in the admin"
            for scorecard_id in {obj.scorecard_id, previous or obj.scorecard_id}:
                scorecard_definition_changed(scorecard_id=scorecard_id, why=why)

    def delete_model(self, request, obj) -> None:
        scorecard_id = obj.scorecard_id
        super().delete_model(request, obj)
        scorecard_definition_changed(scorecard_id=scorecard_id, why=f"{obj._meta.verbose_name} deleted in the admin")

    def delete_queryset(self, request, queryset) -> None:
        scorecard_ids = set(queryset.values_list("scorecard_id", flat=True))
        super().delete_queryset(request, queryset)
        for scorecard_id in sorted(scorecard_ids):
            scorecard_definition_changed(scorecard_id=scorecard_id, why="deleted in the admin")


@admin.register(Level)
class LevelAdmin(DefinitionChangeMixin, admin.ModelAdmin):
    list_display = ("name", "scorecard", "rank", "swatch", "rules_count")
    list_filter = ("scorecard",)
    list_select_related = ("scorecard",)
    search_fields = ("name", "scorecard__tag", "scorecard__name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Level]:
        return super().get_queryset(request).annotate(rules_total=Count("rules"))

    @admin.display(description="Colour")
    def swatch(self, obj: Level) -> str:
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;background:{};vertical-align:middle"></span> {}',
            obj.color,
            obj.color,
        )

    @admin.display(description="Rules", ordering="rules_total")
    def rules_count(self, obj: WithAnnotations[Level, _LevelCounts]) -> int:
        return obj.rules_total


@admin.register(Rule)
class RuleAdmin(DefinitionChangeMixin, admin.ModelAdmin):
    list_display = ("title", "scorecard", "level", "weight", "enabled", "effective_from", "updated_at")
    list_filter = ("scorecard", "level__name", "enabled")
    list_select_related = ("scorecard", "level")
    search_fields = ("title", "expression", "description", "scorecard__tag")
    readonly_fields = ("identifier", "created_at", "updated_at")
    fields = (
        "scorecard",
        "identifier",
        "title",
        "description",
        "expression",
        "weight",
        "level",
        "failure_message",
        "effective_from",
        "filter",
        "enabled",
        "position",
        "created_at",
        "updated_at",
    )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "level":
            # On a rule's page, offer only the levels of that rule's scorecard.
            rule_id = str(request.resolver_match.kwargs.get("object_id", "")) if request.resolver_match else ""
            levels = Level.objects.select_related("scorecard").order_by("scorecard__name", "rank")
            if rule_id.isdigit():
                levels = levels.filter(scorecard__rules=rule_id)
            kwargs["queryset"] = levels
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            # Every scorecard has a "Bronze": name the scorecard so the choice is unambiguous.
            field.label_from_instance = lambda level: f"{level.scorecard.name}: {level.name}"
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
