"""Who may read the dashboard (DESIGN §9): at least the Viewer role, or anyone when PUBLIC_READ is on.

The API refuses a user without a role (every read needs a Viewer permission); the pages do the same here, in
one place: class-based pages take `DashboardAccessMixin`, function views `dashboard_access_required`. A user
without a role gets a 403 page that says which role they need and whom to ask for it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from apps.accounts.models import User
from apps.accounts.roles import ADMIN, VIEWER

# Held by every role (Viewer, Editor, Approver, Admin) and by superusers: "has at least the Viewer role".
DASHBOARD_PERMISSION = "scorecards.view_scorecard"
ADMINS_LISTED = 5


def has_viewer_role(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm(DASHBOARD_PERMISSION))


def access_contacts() -> tuple[str, list[User]]:
    """Whom to ask for a role: ACCESS_REQUEST_CONTACT when set, else (also) the first active Admins."""
    admins = list(
        User.objects.filter(Q(groups__name=ADMIN) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("username")[:ADMINS_LISTED]
    )
    return settings.ACCESS_REQUEST_CONTACT, admins


def no_role_response(request: HttpRequest) -> HttpResponse:
    """403: signed in, but without the Viewer role this page needs."""
    contact, admins = access_contacts()
    body = render_to_string(
        "accounts/no_role.html",
        {"role": VIEWER, "contact": contact, "admins": admins, "path": request.path},
        request=request,
    )
    return HttpResponse(body, status=403)


def dashboard_denial(request: HttpRequest, *, public: bool = True) -> HttpResponse | None:
    """None when the request may read the dashboard; else the answer: sign in, or 403 without a role.

    `public` pages are open to everyone (anonymous or without a role, reading as a Viewer would) when
    PUBLIC_READ is on; the others (the exemption pages and actions) always need a signed-in Viewer.
    """
    if public and settings.PUBLIC_READ:
        return None
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_viewer_role(user):
        return no_role_response(request)
    return None


class DashboardAccessMixin(AccessMixin):
    """A dashboard page: needs at least the Viewer role; with `public_read` (the default) PUBLIC_READ opens it."""

    public_read = True

    def dispatch(self, request, *args, **kwargs):
        denial = dashboard_denial(request, public=self.public_read)
        if denial is not None:
            return denial
        return super().dispatch(request, *args, **kwargs)


def dashboard_access_required(
    *, public: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """The function-view form of DashboardAccessMixin; actions that write are not opened by PUBLIC_READ."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            denial = dashboard_denial(request, public=public)
            if denial is not None:
                return denial
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
