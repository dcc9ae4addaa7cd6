"""Pages that show scores: home, a scorecard, an entity's report card."""

from __future__ import annotations

from django.views.generic import TemplateView

from apps.core.views import ReadAccessMixin


class HomeView(ReadAccessMixin, TemplateView):
    template_name = "evaluations/home.html"
    extra_context = {"nav": "home"}
