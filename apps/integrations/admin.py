"""Admin for the fact store: collected values are machine-written, so read-only here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.integrations.models import Fact


@admin.register(Fact)
class FactAdmin(admin.ModelAdmin):
    list_display = ("entity", "source", "key", "short_value", "failed", "collected_at")
    list_filter = ("source", "collected_at")
    list_select_related = ("entity",)
    search_fields = ("entity__tag", "key")
    readonly_fields = ("entity", "source", "key", "value", "error", "collected_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Fact | None = None) -> bool:
        return False

    @admin.display(description="Value")
    def short_value(self, obj: Fact) -> str:
        text = repr(obj.value) if not isinstance(obj.value, str) else obj.value
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description="Failed", boolean=True)
    def failed(self, obj: Fact) -> bool:
        return bool(obj.error)
