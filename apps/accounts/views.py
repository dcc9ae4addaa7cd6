"""The user's profile: API keys (created, shown once, revoked)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.services import api_key_create, api_key_revoke
from apps.core.errors import ApplicationError


@login_required
def profile(request):
    keys = request.user.api_keys.all()
    return render(request, "accounts/profile.html", {"keys": keys, "nav": "profile"})


@login_required
@require_POST
def api_key_new(request):
    try:
        key, raw = api_key_create(user=request.user, name=request.POST.get("name", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:profile")
    # Rendered, not redirected: the raw key exists only in this response.
    return render(request, "accounts/profile.html", {"keys": request.user.api_keys.all(), "new_key": raw, "new": key})


@login_required
@require_POST
def api_key_revoke_view(request, key_id: int):
    try:
        key = api_key_revoke(key_id=key_id, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Key “{key.name}” revoked.")
    return redirect("accounts:profile")
