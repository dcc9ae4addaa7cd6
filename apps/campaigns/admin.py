from django.contrib import admin

from apps.campaigns.models import Campaign, CampaignSnapshot, OwnerRef
from apps.campaigns.services import owner_ref_link


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "status", "owner_label", "start_date", "due_date", "modified_at"]
    list_filter = ["status"]
    search_fields = ["name", "key", "description"]
    list_select_related = ["owner", "owner_ref"]
    filter_horizontal = ["rules"]
    readonly_fields = ["id", "owner_ref", "created_at", "modified_at"]

    @admin.display(description="owner")
    def owner_label(self, obj):
        return obj.owner_label

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "rules":
            from apps.scorecards.models import Rule

            kwargs["queryset"] = Rule.objects.select_related("scorecard")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(OwnerRef)
class OwnerRefAdmin(admin.ModelAdmin):
    """External owner UUIDs (named by a client, no user here yet): an Admin links each to a user by choosing one."""

    list_display = ["uuid", "user", "created_at"]
    list_filter = [("user", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "user__email", "uuid"]
    list_select_related = ["user"]
    fields = ["uuid", "user", "created_at"]
    readonly_fields = ["uuid", "created_at"]

    def has_add_permission(self, request):
        return False  # made by the API when an owner_id names no user

    def save_model(self, request, obj, form, change):
        # Through the service, so the UUID's campaigns are owned by the linked user too.
        owner_ref_link(ref_id=obj.pk, user=obj.user)


@admin.register(CampaignSnapshot)
class CampaignSnapshotAdmin(admin.ModelAdmin):
    list_display = ["campaign", "day", "entities_passing", "entities_total", "recorded_at"]
    list_filter = ["day"]
    search_fields = ["campaign__name", "campaign__key"]
    list_select_related = ["campaign"]
