from django.urls import path

from apps.campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("campaigns/", views.CampaignListView.as_view(), name="list"),
    path("campaigns/<str:key>/", views.CampaignDetailView.as_view(), name="detail"),
]
