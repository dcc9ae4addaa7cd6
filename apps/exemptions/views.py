"""Exemption pages: the approver inbox, decisions, the requester's own requests."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class ExemptionListView(LoginRequiredMixin, TemplateView):
    template_name = "exemptions/list.html"
    extra_context = {"nav": "exemptions"}
