"""The user's profile: API keys (created, shown once, revoked after a confirmation)."""

from __future__ import annotations

import base64
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create, api_key_matches, api_key_revoke
from apps.core.errors import ApplicationError

# A new key is shown once, on the page the creating POST redirects to (so a reload creates nothing), yet
# its clear text is kept nowhere on the server: the session (stored in the database) holds a one-time pad,
# a short-lived cookie holds the key XOR that pad, and the profile page joins them once and drops both.
NEW_KEY_SESSION = "accounts.new_api_key"
NEW_KEY_COOKIE = "new_api_key"
NEW_KEY_COOKIE_SECONDS = 300


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def _keep_new_key(request: HttpRequest, response: HttpResponse, key: ApiKey, raw: str) -> None:
    pad = secrets.token_bytes(len(raw.encode()))
    request.session[NEW_KEY_SESSION] = {"id": key.pk, "pad": base64.urlsafe_b64encode(pad).decode()}
    response.set_cookie(
        NEW_KEY_COOKIE,
        base64.urlsafe_b64encode(_xor(raw.encode(), pad)).decode(),
        max_age=NEW_KEY_COOKIE_SECONDS,
        path=reverse("accounts:profile"),
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


def _take_new_key(request: HttpRequest, keys: list[ApiKey]) -> tuple[ApiKey, str] | None:
    """The key created just before, and its clear text, once: the session's half is gone afterwards."""
    kept = request.session.pop(NEW_KEY_SESSION, None)
    sealed = request.COOKIES.get(NEW_KEY_COOKIE)
    if not kept or not sealed:
        return None
    key = next((k for k in keys if k.pk == kept.get("id") and k.is_active), None)
    try:
        raw = _xor(base64.urlsafe_b64decode(sealed), base64.urlsafe_b64decode(kept["pad"])).decode()
    except (KeyError, ValueError, TypeError):  # a tampered or stale cookie: show nothing
        return None
    if key is None or not api_key_matches(key=key, raw=raw):
        return None
    return key, raw


@login_required
def profile(request):
    keys = list(request.user.api_keys.all())
    new = _take_new_key(request, keys)
    context = {"keys": keys, "nav": "profile"}
    if new is not None:
        context.update(new=new[0], new_key=new[1])
    response = render(request, "accounts/profile.html", context)
    if NEW_KEY_COOKIE in request.COOKIES:
        response.delete_cookie(NEW_KEY_COOKIE, path=reverse("accounts:profile"), samesite="Strict")
    return response


@login_required
@require_POST
def api_key_new(request):
    """Create a key, then redirect (Post/Redirect/Get): the profile page shows the key once."""
    try:
        key, raw = api_key_create(user=request.user, name=request.POST.get("name", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:profile")
    response = redirect("accounts:profile")
    _keep_new_key(request, response, key, raw)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def api_key_revoke_view(request, key_id: int):
    """GET: ask to confirm (works without JavaScript). POST: revoke; htmx (after hx-confirm) is sent back too."""
    if request.method == "GET":
        key = get_object_or_404(request.user.api_keys, pk=key_id)
        if not key.is_active:
            messages.info(request, f"Key “{key.name}” is already revoked.")
            return redirect("accounts:profile")
        return render(request, "accounts/api_key_revoke.html", {"key": key, "nav": "profile"})
    try:
        key = api_key_revoke(key_id=key_id, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Key “{key.name}” revoked.")
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("accounts:profile")
        return response
    return redirect("accounts:profile")
