"""Datadog-style credentials (DESIGN §9, API_CONTRACT §4).

`DD-APPLICATION-KEY` carries a user's API key and decides who acts; `DD-API-KEY` must also be a valid,
unrevoked key of this instance (it may be the same key). Without those headers, a Bearer key works too.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions

from apps.accounts.services import api_key_authenticate


class DatadogKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        api_key = request.META.get("HTTP_DD_API_KEY", "").strip()
        app_key = request.META.get("HTTP_DD_APPLICATION_KEY", "").strip()
        if not api_key and not app_key:
            return None
        if not api_key:
            raise exceptions.AuthenticationFailed("DD-APPLICATION-KEY was sent without DD-API-KEY.")
        if not app_key:
            raise exceptions.AuthenticationFailed("DD-API-KEY was sent without DD-APPLICATION-KEY.")
        key = api_key_authenticate(app_key)
        if key is None:
            raise exceptions.AuthenticationFailed("DD-APPLICATION-KEY is not a valid API key, or it was revoked.")
        if api_key != app_key and api_key_authenticate(api_key) is None:
            raise exceptions.AuthenticationFailed("DD-API-KEY is not a valid API key, or it was revoked.")
        return key.user, key

    # No WWW-Authenticate challenge: DRF then answers 403, as Datadog does.
    def authenticate_header(self, request):
        return None
