"""Campaign pages: the list and one campaign's progress (overall, per team, over time) and action items."""

from __future__ import annotations

from django.http import Http404
from django.views.generic import ListView, TemplateView

from apps.accounts.access import DashboardAccessMixin
from apps.campaigns.models import Campaign
from apps.campaigns.selectors import (
    ROW_FAILING,
    action_items_attach,
    campaign_history,
    campaign_progress_rows,
    campaigns_for_dashboard,
    entity_progress,
    progress_summary,
)
from apps.core.markdown import render_markdown
from apps.core.pagination import NearestPageMixin, paginate

ENTITIES_PER_PAGE = 50


class CampaignListView(DashboardAccessMixin, NearestPageMixin, ListView):
    template_name = "campaigns/list.html"
    context_object_name = "campaigns"
    paginate_by = 50
    extra_context = {"nav": "campaigns"}

    def get_queryset(self):
        return campaigns_for_dashboard()


class CampaignDetailView(DashboardAccessMixin, TemplateView):
    template_name = "campaigns/detail.html"
    extra_context = {"nav": "campaigns"}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = Campaign.objects.select_related("owner", "owner_ref").filter(key=kwargs["key"]).first()
        if campaign is None:
            raise Http404("No such campaign.")
        rules = list(campaign.rules.select_related("scorecard", "level").order_by("scorecard__name", "position"))
        # campaign_progress's figures, but EntityProgress objects (labels, team, action items) only for the page
        # shown: `progress.entities` stays empty, the template reads the page.
        rows = campaign_progress_rows(campaign=campaign)
        progress = progress_summary(rows)
        show = self.request.GET.get("show", "failing")
        shown = [row for row in rows if row[ROW_FAILING]] if show == "failing" else rows
        page = paginate(self.request, shown, ENTITIES_PER_PAGE)
        page.object_list = entity_progress(page.object_list)
        action_items_attach(campaign=campaign, entities=page.object_list)
        # Each rule's failure message is rendered once, not once per failing entity.
        failure_html = {rule.pk: render_markdown(rule.failure_message) for rule in rules if rule.failure_message}
        for item in page.object_list:
            for result in item.action_items:
                result.failure_html = failure_html.get(result.rule_id, "")
        history = campaign_history(campaign=campaign, today=progress)
        context.update(
            campaign=campaign,
            rules=rules,
            progress=progress,
            page_obj=page,
            show=show,
            history=history,
            chart={
                "labels": [p.day.isoformat() for p in history],
                "progress": [round(p.fraction * 100, 1) for p in history],
            },
        )
        return context
