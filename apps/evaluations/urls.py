from django.urls import path

from apps.evaluations import views

app_name = "evaluations"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("scorecards/<str:tag>/", views.ScorecardView.as_view(), name="scorecard"),
    path("scorecards/<str:tag>/evaluate", views.evaluate_view, name="evaluate"),
    path("scorecards/<str:tag>/progress", views.ProgressView.as_view(), name="progress"),
    path("entities/<str:tag>/", views.EntityView.as_view(), name="entity"),
]
