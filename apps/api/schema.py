"""How the OpenAPI schema (drf-spectacular) describes our authentication classes and the error responses of
both APIs: every operation lists each error status it can answer, with its vendor's error body."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


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


# --- Error responses ---------------------------------------------------------------------------------------
# Serializers below only describe bodies for the schema; no view uses them to render anything.


class CortexViolationDoc(serializers.Serializer):
    class Meta:
        ref_name = "CortexViolation"

    title = serializers.CharField()
    description = serializers.CharField()
    pointer = serializers.CharField()
    violationType = serializers.ChoiceField(choices=["ERROR", "WARNING"])  # noqa: N815  (Cortex's name)


class CortexErrorDoc(serializers.Serializer):
    """Cortex's error body (apps.api.cortex.errors.cortex_body)."""

    type = serializers.CharField(help_text="BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, ...")
    message = serializers.CharField()
    details = serializers.CharField(help_text="Why, in words.")
    httpStatus = serializers.IntegerField()  # noqa: N815
    requestId = serializers.CharField()  # noqa: N815
    violations = CortexViolationDoc(many=True, required=False, help_text="Only when a document has findings.")

    class Meta:
        ref_name = "CortexError"


class CortexProblemDoc(CortexErrorDoc):
    """A Cortex 429: `application/problem+json`, RFC 9457's fields beside Cortex's own."""

    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()

    class Meta:
        ref_name = "CortexProblem"


class DatadogErrorStringsDoc(serializers.Serializer):
    """Datadog's `APIErrorResponse`: one string per problem, its place in front."""

    # Wire names that shadow Serializer attributes: harmless on a serializer that only documents.
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]

    class Meta:
        ref_name = "DatadogAPIErrorResponse"


class DatadogErrorSourceDoc(serializers.Serializer):
    """Where the error is: `pointer` into the body, or `parameter`, the query parameter (one of the two)."""

    pointer = serializers.CharField(
        required=False, help_text="JSON pointer to the attribute, e.g. /data/attributes/name."
    )
    parameter = serializers.CharField(required=False, help_text="The query parameter, e.g. filter[campaign][status].")


class DatadogErrorMetaDoc(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.IntegerField(allow_null=True)


class DatadogErrorObjectDoc(serializers.Serializer):
    status = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField()
    source = DatadogErrorSourceDoc(required=False)  # type: ignore[assignment]
    meta = DatadogErrorMetaDoc(required=False)


class DatadogErrorObjectsDoc(serializers.Serializer):
    """Datadog's JSON:API error objects (`JSONAPIErrorResponse`)."""

    errors = DatadogErrorObjectDoc(many=True)  # type: ignore[assignment]

    class Meta:
        ref_name = "DatadogJSONAPIErrorResponse"


ERROR_DESCRIPTIONS = {
    400: "Bad request: a parameter or the body is invalid; the body says which.",
    401: "No API key, or one that is unknown, expired or revoked.",
    403: "The key's user lacks the permission this operation needs.",
    404: "Something the request names does not exist.",
    409: "Conflicts with the current state (a duplicate, or a workflow step out of order).",
    413: "The request body is larger than the server accepts.",
    415: "The request body's content type is not one this operation reads.",
    429: "Too many requests for this API key; retry after Retry-After seconds.",
}
DATADOG_DESCRIPTIONS = {**ERROR_DESCRIPTIONS, 403: "No valid key, or its user lacks the permission needed."}

# Operations that can answer 409 (a service refuses with code="conflict"), by operation id.
CONFLICTS = {
    # Cortex v1
    "createDependency",
    "createRelationshipType",
    "createCustomMetric",
    "requestExemption",
    "approveExemption",
    "denyExemption",
    "revokeExemption",
    "evaluateEntityScorecard",
    # Datadog v2
    "CreateScorecardRule",
    "UpdateScorecardRule",
    "CreateScorecardCampaign",
    "UpdateScorecardCampaign",
    "UpdateScorecardOutcomesAsync",
    "CreateScorecardOutcomesBatch",
}
# Operations with neither a path parameter nor a body that still look something up by name.
NOT_FOUNDS = {"deleteEntitiesById"}


def error_statuses(operation: dict, *, cortex: bool) -> list[int]:
    """The error statuses an operation answers, from its shape: every operation can be refused for its key
    (Cortex 401, Datadog 403 as Datadog does) or its permissions (403) and rate limited (429); parameters
    and bodies can be invalid (400); a path names something that may not exist (404), and so does a body."""
    params = operation.get("parameters") or []
    has_body = "requestBody" in operation
    statuses = [403, 429]
    if cortex:
        statuses.append(401)
    if params or has_body:
        statuses.append(400)
    if has_body or any(p["in"] == "path" for p in params) or operation["operationId"] in NOT_FOUNDS:
        statuses.append(404)
    if operation["operationId"] in CONFLICTS:
        statuses.append(409)
    if has_body:
        statuses += [413, 415]
    return sorted(statuses)


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error responses of both APIs in their vendors' shapes."""

    _guess_serializer = True

    def _get_serializer(self):
        return super()._get_serializer() if self._guess_serializer else None

    def _get_request_body(self, direction="request"):
        # drf-spectacular documents bodies of POST, PUT and PATCH only; a DELETE that reads one (the bulk
        # deletes) declares it with extend_schema(request=...), and the schema shows it too.
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self._guess_serializer = False  # only a declared body counts
        try:
            if self.get_request_serializer() is None:
                return None
            self.method = "PUT"
            return super()._get_request_body(direction)
        finally:
            self.method, self._guess_serializer = "DELETE", True

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        from apps.api.cortex.base import CortexView
        from apps.api.datadog.base import DatadogView
        from apps.api.datadog.errors import STRINGS

        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        cortex = isinstance(self.view, CortexView)
        if operation is None or not (cortex or isinstance(self.view, DatadogView)):
            return operation
        responses = operation["responses"]
        for status in error_statuses(operation, cortex=cortex):
            if cortex:
                media = ("application/problem+json",) if status == 429 else ("application/json",)
                body, description = (CortexProblemDoc if status == 429 else CortexErrorDoc), ERROR_DESCRIPTIONS
            else:
                media = None  # the view's renderers: application/json and application/vnd.api+json
                strings = status == 429 or getattr(self.view, "error_shape", STRINGS) == STRINGS
                body, description = (
                    (DatadogErrorStringsDoc if strings else DatadogErrorObjectsDoc),
                    DATADOG_DESCRIPTIONS,
                )
            if str(status) not in responses:
                response = self._get_response_for_code(body, str(status), media)
                response["description"] = description[status]
                responses[str(status)] = response
        return operation
