from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Scorecards administration"
admin.site.site_title = "Scorecards"
admin.site.index_title = "Catalog, scorecards, exemptions and results"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
