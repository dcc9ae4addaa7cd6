from django.urls import path

from apps.api.datadog import campaigns, scores

urlpatterns: list = [
    path("campaigns", campaigns.CampaignListView.as_view(), name="dd-campaigns"),
    path("campaigns/<str:campaign_id>", campaigns.CampaignDetailView.as_view(), name="dd-campaign"),
    path("scores/<str:aggregation>", scores.ScoreListView.as_view(), name="dd-scores"),
]
