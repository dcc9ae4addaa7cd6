"""Datadog v2 rules, outcomes and scorecards, included at `/api/v2/scorecard/` (no trailing slashes)."""

from django.urls import path

from apps.api.datadog.outcomes import OutcomesBatchView, OutcomesView
from apps.api.datadog.rules import RuleDetailView, RuleListView
from apps.api.datadog.scorecards import ScorecardListView

urlpatterns = [
    path("rules", RuleListView.as_view(), name="dd-rules"),
    path("rules/<str:rule_id>", RuleDetailView.as_view(), name="dd-rule"),
    path("outcomes", OutcomesView.as_view(), name="dd-outcomes"),
    path("outcomes/batch", OutcomesBatchView.as_view(), name="dd-outcomes-batch"),
    path("scorecards", ScorecardListView.as_view(), name="dd-scorecards"),
]
