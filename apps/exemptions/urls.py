from django.urls import path

from apps.exemptions import views

app_name = "exemptions"
urlpatterns = [
    path("exemptions/", views.ExemptionListView.as_view(), name="list"),
    path("exemptions/request", views.exemption_request_view, name="request"),
    path("exemptions/<int:pk>/approve", views.exemption_approve_view, name="approve"),
    path("exemptions/<int:pk>/deny", views.exemption_deny_view, name="deny"),
    path("exemptions/<int:pk>/revoke", views.exemption_revoke_view, name="revoke"),
]
