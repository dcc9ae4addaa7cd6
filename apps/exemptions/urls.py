from django.urls import path

from apps.exemptions import views

app_name = "exemptions"
urlpatterns = [
    path("exemptions/", views.ExemptionListView.as_view(), name="list"),
]
