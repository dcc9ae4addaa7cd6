from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from apps.accounts.models import ApiKey, User
from apps.accounts.services import api_key_create, api_key_revoke


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "roles")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Roles")
    def roles(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.groups.all())


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here for any user; the key itself is shown once, in the message after saving."""

    list_display = ("name", "user", "prefix", "last4", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("user",)
    search_fields = ("name", "user__username", "prefix")
    fields = ("user", "name")
    actions = ("revoke",)

    def get_readonly_fields(self, request, obj=None):
        return ("user", "name", "prefix", "last4", "created_at", "last_used_at", "revoked_at") if obj else ()

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) if obj else self.fields

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        key, raw = api_key_create(user=form.cleaned_data["user"], name=form.cleaned_data["name"])
        obj.pk = key.pk
        self.message_user(
            request,
            f"API key created for {key.user}: {raw} — copy it now, it will not be shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset) -> None:
        for key in queryset:
            api_key_revoke(key_id=key.pk, by=request.user)
        self.message_user(request, f"{queryset.count()} key(s) revoked.")
