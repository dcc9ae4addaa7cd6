from django.urls import path

from apps.reports import views

app_name = "reports"
urlpatterns: list = [
    path("reports/", views.ReportsIndexView.as_view(), name="index"),
]
