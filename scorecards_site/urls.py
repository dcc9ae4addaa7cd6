from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Scorecards administration"
admin.site.site_title = "Scorecards"
admin.site.index_title = "Catalog, scorecards, exemptions and results"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.evaluations.urls")),
    path("", include("apps.exemptions.urls")),
    path("", include("apps.reports.urls")),
    path("", include("apps.campaigns.urls")),
    path("", include("apps.api.urls")),
]

# API paths answer unknown routes and crashes in their vendor's JSON shape; other paths get Django's pages.
handler400 = "apps.api.errors.bad_request"
handler404 = "apps.api.errors.page_not_found"
handler500 = "apps.api.errors.server_error"
