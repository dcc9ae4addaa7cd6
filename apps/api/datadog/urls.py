from django.urls import include, path

urlpatterns = [
    path("", include("apps.api.datadog.rules_urls")),
    path("", include("apps.api.datadog.campaigns_urls")),
]
