"""Exemption pages: the request endpoint, the approver inbox and decisions, history, one's own requests.

Views stay thin: forms validate, services decide (and raise ApplicationError with a message a person
can act on), selectors read. Decisions work as htmx row swaps and, without JavaScript, as plain POSTs
that redirect back to the same tab with a flash message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from apps.accounts.access import DashboardAccessMixin, dashboard_access_required
from apps.catalog.models import Entity
from apps.core.errors import ApplicationError
from apps.core.pagination import paginate
from apps.exemptions.forms import ExemptionDecisionForm, ExemptionRequestForm, form_errors_text
from apps.exemptions.links import report_card_path
from apps.exemptions.models import Exemption, ExemptionStatus
from apps.exemptions.selectors import (
    exemption_event_list,
    exemption_get,
    exemption_in_force_list,
    exemption_inbox,
    exemption_list,
)
from apps.exemptions.services import (
    DECIDE_PERMISSION,
    exemption_approve,
    exemption_deny,
    exemption_request,
    exemption_revoke,
)
from apps.scorecards.models import Rule, Scorecard

if TYPE_CHECKING:
    from apps.accounts.models import User

    class AuthenticatedHttpRequest(HttpRequest):
        user: User  # what @dashboard_access_required() guarantees (signed in)


PAGE_SIZE = 50
TABS = {
    "inbox": "Inbox",
    "approved": "Approved",
    "history": "History",
    "mine": "My requests",
}


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def report_card_url(entity: Entity, scorecard: Scorecard) -> str:
    """The entity's report card, scrolled to the scorecard's section."""
    return report_card_path(entity.tag, scorecard.tag)


@require_POST
@dashboard_access_required()
def exemption_request_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ExemptionRequestForm(request.POST)
    form.is_valid()
    # Unknown or malformed targets are a 404; problems with the reason or days are told on the page.
    if any(name in form.errors for name in ("scorecard", "entity", "rule")):
        raise Http404("unknown scorecard, entity or rule")
    data = form.cleaned_data
    scorecard = get_object_or_404(Scorecard.objects.visible_to(request.user), tag=data["scorecard"])
    entity = get_object_or_404(Entity.objects.by_tag_or_id(data["entity"]))
    rule = get_object_or_404(Rule, identifier=data["rule"], scorecard=scorecard)
    back = report_card_url(entity, scorecard)
    if form.errors:
        messages.error(request, f"The exemption was not requested. {form_errors_text(form)}")
        return redirect(back)
    try:
        exemption = exemption_request(
            scorecard=scorecard, entity=entity, rule=rule, reason=data["reason"], days=data["days"], by=request.user
        )
    except ApplicationError as exc:
        messages.error(request, f"The exemption was not requested: {exc.message}")
        return redirect(back)
    if exemption.status == ExemptionStatus.APPROVED:
        messages.success(request, f"Exemption from “{rule.title}” approved automatically.")
    else:
        messages.success(request, f"Exemption from “{rule.title}” requested; an approver will decide.")
    return redirect(back)


class ExemptionListView(DashboardAccessMixin, TemplateView):
    """One page, four tabs: Inbox (approvers), Approved, History, Mine. PUBLIC_READ does not open it: it names
    people and their reasons, and "Mine" needs someone signed in."""

    public_read = False

    template_name = "exemptions/list.html"
    extra_context = {"nav": "exemptions"}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        can_decide = user.has_perm(DECIDE_PERMISSION)
        tabs = {key: label for key, label in TABS.items() if key != "inbox" or can_decide}
        tab = self.request.GET.get("tab") or ("inbox" if can_decide else "mine")
        if tab not in tabs:
            tab = "inbox" if can_decide else "mine"
        if tab == "inbox":
            queryset = exemption_inbox()
        elif tab == "approved":
            queryset = exemption_in_force_list()
        elif tab == "history":
            queryset = exemption_event_list()
        else:
            queryset = exemption_list(requested_by=user)
        page_obj = paginate(self.request, queryset, PAGE_SIZE)
        context.update(
            tabs=tabs,
            tab=tab,
            tab_label=tabs[tab],
            page_obj=page_obj,
            can_decide=can_decide,
            may_decide_own=can_decide and may_decide_own(user),
        )
        return context


def may_decide_own(user) -> bool:
    """Whether the services let this approver decide their own requests (DESIGN §7: only Admins, by setting)."""
    return bool(settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN and user.is_admin_role)


def _decide(request: HttpRequest, exemption_id: int, action: Callable[..., Exemption], done: str) -> HttpResponse:
    if not request.user.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied("you do not have permission to decide on exemptions")
    if not Exemption.objects.filter(pk=exemption_id).exists():
        raise Http404("no such exemption")
    form = ExemptionDecisionForm(request.POST)
    form.is_valid()
    reason = form.cleaned_data.get("reason", "")
    tab = form.cleaned_data.get("tab") or ""
    try:
        action(exemption_id=exemption_id, by=request.user, reason=reason)
    except ApplicationError as exc:
        level, text = "error", f"Nothing was changed: {exc.message}"
    else:
        level, text = "success", f"Exemption {done}."
    if is_htmx(request):
        exemption = exemption_get(exemption_id=exemption_id)
        if exemption is None:  # deleted meanwhile
            raise Http404("no such exemption")
        context = {
            "ex": exemption,
            "can_decide": True,
            "may_decide_own": may_decide_own(request.user),
            "tab": tab,
            "row_message": text,
            "row_message_level": level,
        }
        return render(request, "exemptions/partials/exemption_row.html", context)
    getattr(messages, level)(request, text)
    url = reverse("exemptions:list")
    return redirect(f"{url}?tab={tab}" if tab in TABS else url)


@require_POST
@dashboard_access_required()
def exemption_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, exemption_approve, "approved")


@require_POST
@dashboard_access_required()
def exemption_deny_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, exemption_deny, "denied")


@require_POST
@dashboard_access_required()
def exemption_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, exemption_revoke, "revoked")
