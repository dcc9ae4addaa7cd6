from django.contrib import admin

from apps.campaigns.models import Campaign, CampaignSnapshot, OwnerRef
from apps.campaigns.services import owner_uuid_for


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "status", "owner", "start_date", "due_date", "modified_at"]
    list_filter = ["status"]
    search_fields = ["name", "key", "description"]
    list_select_related = ["owner"]
    filter_horizontal = ["rules"]
    readonly_fields = ["id", "created_at", "modified_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        owner_uuid_for(user=obj.owner)  # the API shows owners by UUID

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "rules":
            from apps.scorecards.models import Rule

            kwargs["queryset"] = Rule.objects.select_related("scorecard")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(OwnerRef)
class OwnerRefAdmin(admin.ModelAdmin):
    list_display = ["user", "uuid"]
    search_fields = ["user__username", "user__email", "uuid"]
    list_select_related = ["user"]
    readonly_fields = ["uuid"]


@admin.register(CampaignSnapshot)
class CampaignSnapshotAdmin(admin.ModelAdmin):
    list_display = ["campaign", "day", "entities_passing", "entities_total", "recorded_at"]
    list_filter = ["day"]
    search_fields = ["campaign__name", "campaign__key"]
    list_select_related = ["campaign"]
