"""Pages that show scores: home, a scorecard, an entity's report card; and the evaluate-now action."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.generic import ListView, TemplateView, View

from apps.accounts.access import DashboardAccessMixin, dashboard_access_required
from apps.core.pagination import NearestPageMixin
from apps.evaluations import dashboard
from apps.evaluations.models import RunTrigger
from apps.evaluations.rescoring import pending_rescores
from apps.evaluations.runs import run_request

EVALUATE_PERMISSION = "scorecards.evaluate_scorecard"


class HomeView(DashboardAccessMixin, TemplateView):
    template_name = "evaluations/home.html"
    extra_context = {"nav": "home"}

    def get_context_data(self, **kwargs):
        return super().get_context_data(cards=dashboard.home_cards(user=self.request.user), **kwargs)


class ScorecardView(DashboardAccessMixin, NearestPageMixin, ListView):
    template_name = "evaluations/scorecard.html"
    paginate_by = 50
    context_object_name = "scores"

    def get_queryset(self):
        self.scorecard = dashboard.scorecard_get_for_user(tag=self.kwargs["tag"], user=self.request.user)
        params = self.request.GET
        self.filters = {
            "search": params.get("q", "").strip(),
            "entity_type": params.get("type", ""),
            "group": params.get("group", ""),
            "team": params.get("team", ""),
            "level": params.get("level", ""),
            "sort": params.get("sort", "entity"),
        }
        return dashboard.scorecard_scores(scorecard=self.scorecard, **self.filters)

    def get_context_data(self, **kwargs):
        sort = self.filters["sort"]
        levels = list(self.scorecard.levels.all())
        rules = list(dashboard.scorecard_rules(scorecard=self.scorecard))
        return super().get_context_data(
            nav="home",
            scorecard=self.scorecard,
            levels=levels,
            ladder=[(level, [r for r in rules if r.level_id == level.pk]) for level in levels],
            unlevelled=[r for r in rules if r.level_id is None],
            choices=dashboard.scorecard_filter_choices(scorecard=self.scorecard),
            filters=self.filters,
            sort=sort,
            run=dashboard.latest_run(scorecard=self.scorecard),
            pending=pending_rescores(scorecard_id=self.scorecard.pk),
            poll_url=reverse("evaluations:progress", args=[self.scorecard.tag]),
            can_evaluate=self.request.user.has_perm(EVALUATE_PERMISSION),
            now=timezone.now(),
            **kwargs,
        )


def _progress(request: HttpRequest, scorecard, run) -> HttpResponse:
    return render(
        request,
        "evaluations/partials/progress.html",
        {
            "run": run,
            "scorecard": scorecard,
            "poll_url": reverse("evaluations:progress", args=[scorecard.tag]),
            "pending": pending_rescores(scorecard_id=scorecard.pk),
        },
    )


class ProgressView(DashboardAccessMixin, View):
    """The run progress partial, polled by htmx while a run is going."""

    def get(self, request, *args, **kwargs):
        scorecard = dashboard.scorecard_get_for_user(tag=kwargs["tag"], user=request.user)
        return _progress(request, scorecard, dashboard.latest_run(scorecard=scorecard))


@require_POST
@dashboard_access_required()
def evaluate_view(request: HttpRequest, tag: str) -> HttpResponse:
    """Start a run of the scorecard (or join the one going) and answer with its progress partial."""
    if not request.user.has_perm(EVALUATE_PERMISSION):
        raise PermissionDenied("You may not start evaluations.")
    scorecard = dashboard.scorecard_get_for_user(tag=tag, user=request.user)
    run = run_request(scorecard=scorecard, trigger=RunTrigger.MANUAL, by=request.user)
    if request.headers.get("HX-Request") == "true":
        return _progress(request, scorecard, run)
    # Without JavaScript: back to the scorecard page, which shows the same progress.
    messages.success(request, f"Evaluation of {scorecard.name} started.")
    return redirect("evaluations:scorecard", tag=scorecard.tag)


class EntityView(DashboardAccessMixin, TemplateView):
    template_name = "evaluations/entity.html"

    def get_context_data(self, **kwargs):
        entity = dashboard.entity_get(tag=self.kwargs["tag"])
        now = timezone.now()
        return super().get_context_data(
            entity=entity,
            cards=dashboard.entity_report_cards(entity=entity, user=self.request.user, now=now),
            can_request=self.request.user.has_perm("exemptions.request_exemption"),
            now=now,
            **kwargs,
        )
