"""Admin for notification runs and logs: an audit trail written only by the services, so fully read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.notifications.models import NotificationLog, NotificationRun


class ReadOnlyMixin:
    """What was sent stays as it was sent: no add, no change, no delete (not even in bulk)."""

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


class NotificationLogInline(ReadOnlyMixin, admin.TabularInline):
    model = NotificationLog
    fields = ("created_at", "recipient_email", "recipient_entity", "status", "subject", "error", "sent_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationLog]:
        return super().get_queryset(request).select_related("recipient_entity")


@admin.register(NotificationRun)
class NotificationRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "scorecard", "evaluation_run", "created_at", "delivered", "failed", "skipped")
    list_filter = ("kind", "scorecard")
    # evaluation_run's __str__ names its scorecard: join it too, or each row costs a query.
    list_select_related = ("scorecard", "evaluation_run__scorecard")
    search_fields = ("scorecard__tag", "scorecard__name")
    date_hierarchy = "created_at"
    fields = ("kind", "scorecard", "evaluation_run", "created_at", "finished_at", "delivered", "failed", "skipped")
    readonly_fields = fields
    inlines = (NotificationLogInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationRun]:
        return super().get_queryset(request).select_related(*self.list_select_related)


@admin.register(NotificationLog)
class NotificationLogAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "sent_at", "recipient_email", "recipient_entity", "status", "kind", "subject")
    list_filter = ("status", "notification_run__kind")
    list_select_related = ("recipient_entity", "notification_run")
    search_fields = ("recipient_email", "recipient_entity__tag")
    date_hierarchy = "created_at"
    fields = (
        "notification_run",
        "recipient_email",
        "recipient_entity",
        "recipient_channel",
        "status",
        "error",
        "subject",
        "body",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationLog]:
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description="Kind", ordering="notification_run__kind")
    def kind(self, obj: NotificationLog) -> str:
        return obj.notification_run.get_kind_display()
