"""API authentication: `Authorization: Bearer <key>`, acting as the key's user with their permissions."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from apps.accounts.services import api_key_authenticate


class BearerApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw = raw.strip()
        if not raw:
            raise exceptions.AuthenticationFailed("No API key was given after 'Bearer'.")
        key = api_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is not valid or was revoked.")
        return key.user, key

    def authenticate_header(self, request) -> str:
        return self.keyword
