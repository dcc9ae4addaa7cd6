from django.urls import path

from apps.reports import views, views_badges

app_name = "reports"
urlpatterns: list = [
    path("badges/<str:scorecard_tag>/<str:entity_tag>.svg", views_badges.badge_svg, name="badge_svg"),
    path("badges/<str:scorecard_tag>/<str:entity_tag>.json", views_badges.badge_json, name="badge_json"),
    path("reports/", views.ReportsIndexView.as_view(), name="index"),
    path("reports/birds-eye/<str:scorecard_tag>/", views.BirdsEyeView.as_view(), name="birds_eye"),
    path("reports/executive/", views.ExecutiveView.as_view(), name="executive"),
    path("reports/progress/", views.ProgressView.as_view(), name="progress"),
    path("reports/report-card/", views.ReportCardView.as_view(), name="report_card"),
    path("reports/all-scorecards/", views.AllScorecardsView.as_view(), name="all_scorecards"),
]
