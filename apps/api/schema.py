"""How the OpenAPI schema (drf-spectacular) describes our authentication classes."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.BearerApiKeyAuthentication"
    name = "apiKeyBearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from your profile page or `manage.py create_api_key`.",
        }


class DatadogBearerScheme(OpenApiAuthenticationExtension):
    # Datadog's own name for its Bearer scheme, so the v2 part reads like Datadog's schema.
    target_class = "apps.api.datadog.base.BearerNoChallenge"
    name = "AuthZ"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key of this instance, as a Bearer token."}


class DatadogKeysScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.datadog.authentication.DatadogKeyAuthentication"
    name = ["apiKeyAuth", "appKeyAuth"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "DD-API-KEY",
                "description": "A valid API key of this instance.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "DD-APPLICATION-KEY",
                "description": "The API key of the user who acts (may be the same key).",
            },
        ]
