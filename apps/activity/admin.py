"""Admin for deploys, custom events and custom metrics: for looking and quick fixes. Machines send this data
through the API; every save and delete here announces the entities it touched, as the API's writes do."""

from __future__ import annotations

from django.contrib import admin

from apps.activity.models import CustomEvent, CustomMetric, CustomMetricPoint, Deploy
from apps.activity.services import custom_metric_delete
from apps.catalog.admin import EntityPartAdmin


@admin.register(Deploy)
class DeployAdmin(EntityPartAdmin):
    list_display = ("timestamp", "entity", "type", "title", "environment", "sha", "deployer_email")
    list_filter = ("type", "environment")
    list_select_related = ("entity",)
    search_fields = ("entity__tag", "title", "sha", "deployer_email", "deployer_name")
    date_hierarchy = "timestamp"
    readonly_fields = ("uuid", "created_at")
    autocomplete_fields = ("entity",)


@admin.register(CustomEvent)
class CustomEventAdmin(EntityPartAdmin):
    list_display = ("timestamp", "entity", "type", "title")
    list_filter = ("type",)
    list_select_related = ("entity",)
    search_fields = ("entity__tag", "title", "type")
    date_hierarchy = "timestamp"
    readonly_fields = ("uuid", "created_at")
    autocomplete_fields = ("entity",)


@admin.register(CustomMetric)
class CustomMetricAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "valence", "category", "is_draft", "updated_at")
    list_filter = ("valence", "is_draft")
    search_fields = ("key", "name", "category")
    readonly_fields = ("created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        # The key never changes once defined (as in Cortex): data points are recorded against it.
        return (*self.readonly_fields, "key") if obj is not None else self.readonly_fields

    def delete_model(self, request, obj) -> None:
        custom_metric_delete(key=obj.key)

    def delete_queryset(self, request, queryset) -> None:
        for key in queryset.values_list("key", flat=True):
            custom_metric_delete(key=key)


@admin.register(CustomMetricPoint)
class CustomMetricPointAdmin(EntityPartAdmin):
    list_display = ("timestamp", "entity", "metric", "value")
    list_filter = ("metric",)
    list_select_related = ("entity", "metric")
    search_fields = ("entity__tag", "metric__key")
    date_hierarchy = "timestamp"
    readonly_fields = ("created_at",)
    autocomplete_fields = ("entity",)
