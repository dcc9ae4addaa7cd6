"""Admin for exemptions: read-only records, with approve / deny / revoke actions that call the services.

The services hold the workflow's rules (permissions, who may decide, valid transitions, audit events,
re-scoring), so the admin never writes an exemption itself: no add, no change, no delete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.exemptions.models import Exemption, ExemptionEvent, ExemptionStatus
from apps.exemptions.services import DECIDE_PERMISSION, exemption_approve, exemption_deny, exemption_revoke


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Shown to the requester and kept in the exemption's history.",
    )


class ExemptionEventInline(admin.TabularInline):
    model = ExemptionEvent
    fields = ("created_at", "from_status", "to_status", "actor_label", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Exemption | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Exemption | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Exemption | None = None) -> bool:
        return False


@admin.register(Exemption)
class ExemptionAdmin(admin.ModelAdmin):
    list_display = (
        "entity",
        "scorecard",
        "rule",
        "status",
        "requested_by",
        "requested_at",
        "end_date",
        "decided_by",
    )
    list_filter = ("status", "scorecard")
    list_select_related = ("entity", "scorecard", "rule", "requested_by", "decided_by")
    search_fields = ("entity__tag", "rule__title", "reason")
    date_hierarchy = "requested_at"
    fields = (
        "scorecard",
        "entity",
        "rule",
        "status",
        "reason",
        "days",
        "requested_by",
        "requested_at",
        "end_date",
        "decided_by",
        "decided_at",
        "decision_reason",
        "updated_at",
    )
    readonly_fields = fields
    inlines = (ExemptionEventInline,)
    actions = ("approve", "deny", "revoke")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Exemption]:
        # The change page shows these too; one join instead of a query per foreign key.
        return super().get_queryset(request).select_related(*self.list_select_related)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Exemption | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Exemption | None = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DECIDE_PERMISSION)

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Exemption],
        verb: str,
        transition: Callable[[Exemption], object],
    ) -> None:
        """Run one service call per exemption; a refusal is reported and does not stop the others."""
        done = 0
        for exemption in queryset.order_by("pk"):
            try:
                transition(exemption)
            except ApplicationError as exc:
                self.message_user(request, f"{exemption.entity} / {exemption.rule}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            noun = "exemption" if done == 1 else "exemptions"
            self.message_user(request, f"{done} {noun} {verb}.", messages.SUCCESS)

    @admin.action(description="Approve selected exemptions", permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Exemption]) -> None:
        user = cast(User, request.user)  # the admin site only lets active staff users in
        self._apply(request, queryset, "approved", lambda e: exemption_approve(exemption_id=e.pk, by=user))

    @admin.action(description="Deny selected exemptions…", permissions=["decide"])
    def deny(self, request: HttpRequest, queryset: QuerySet[Exemption]) -> TemplateResponse | None:
        return self._with_reason(request, queryset, "deny", "denied", exemption_deny)

    @admin.action(description="Revoke selected exemptions…", permissions=["decide"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Exemption]) -> TemplateResponse | None:
        return self._with_reason(request, queryset, "revoke", "revoked", exemption_revoke)

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet[Exemption],
        action: str,
        verb: str,
        service: Callable[..., Exemption],
    ) -> TemplateResponse | None:
        """Django's intermediate-page pattern: first show a reason form, then act on its POST ("apply")."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._apply(
                request,
                queryset,
                verb,
                lambda e: service(exemption_id=e.pk, by=request.user, reason=reason),
            )
            return None
        expected = ExemptionStatus.PENDING if action == "deny" else ExemptionStatus.APPROVED
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.capitalize()} exemptions",
            "opts": self.opts,
            "action": action,
            "verb": verb,
            "form": form,
            "exemptions": queryset.order_by("pk"),
            "expected_status": expected.label.lower(),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/exemptions/decision_reason.html", context)


@admin.register(ExemptionEvent)
class ExemptionEventAdmin(admin.ModelAdmin):
    """The audit trail, searchable across exemptions; written only by the services."""

    list_display = ("created_at", "exemption", "from_status", "to_status", "actor_label", "reason")
    list_filter = ("to_status", "exemption__scorecard")
    list_select_related = ("exemption__entity", "exemption__rule")
    search_fields = ("exemption__entity__tag", "exemption__rule__title", "actor_label", "reason")
    readonly_fields = ("exemption", "from_status", "to_status", "actor", "actor_label", "reason", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ExemptionEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ExemptionEvent | None = None) -> bool:
        return False
