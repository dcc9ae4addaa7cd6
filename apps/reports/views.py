from django.views.generic import TemplateView

from apps.core.views import ReadAccessMixin


class ReportsIndexView(ReadAccessMixin, TemplateView):
    template_name = "reports/index.html"
    extra_context = {"nav": "reports"}
