from django.contrib import admin

from apps.security.models import IpAllowlistEntry


@admin.register(IpAllowlistEntry)
class IpAllowlistEntryAdmin(admin.ModelAdmin):
    """Entries are added through the API, which validates the list and refuses a lockout; they may be deleted
    here, which is the way back in for an Admin locked out of the API."""

    list_display = ("address", "description", "position")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
