"""Both APIs and their OpenAPI schema. No path ends in '/': the vendors' clients never send one."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("api/v1/", include("apps.api.cortex.urls")),
    path("api/v2/scorecard/", include("apps.api.datadog.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from /api/docs?script, not inline: the page keeps the
    # site's Content-Security-Policy (templates/drf_spectacular/swagger_ui.html).
    path("api/docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
