"""What every Datadog-style view shares: DD keys or Bearer, permissions, throttling with Datadog's rate-limit headers,
errors in the shape the seed gives each operation, paging."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apps.accounts.authentication import BearerApiKeyAuthentication
from apps.api.datadog.authentication import DatadogKeyAuthentication
from apps.api.datadog.errors import STRINGS, ErrorShape, datadog_exception_handler
from apps.api.params import MAX_QUERY_INT, query_int
from apps.api.parsers import BoundedJsonApiParser, BoundedJSONParser
from apps.api.permissions import RequiresPermission
from apps.api.throttling import ApiKeyRateThrottle


class JsonApiRenderer(JSONRenderer):
    media_type = "application/vnd.api+json"


class BearerNoChallenge(BearerApiKeyAuthentication):
    # Without a challenge header DRF answers 403 for bad credentials, as Datadog does.
    def authenticate_header(self, request):
        return None


class DatadogView(APIView):
    authentication_classes = [DatadogKeyAuthentication, BearerNoChallenge, authentication.SessionAuthentication]
    permission_classes = [RequiresPermission]
    throttle_classes = [ApiKeyRateThrottle]
    # The SDK sends and expects application/json; JSON:API's own media type is accepted as well.
    renderer_classes = [JSONRenderer, JsonApiRenderer]
    parser_classes = [BoundedJSONParser, BoundedJsonApiParser]
    required_permissions: dict[str, str] = {}
    # The shape seed 003 gives this operation's errors (apps.api.datadog.errors); 429s are always strings.
    error_shape: ErrorShape = STRINGS

    def get_exception_handler(self):
        return datadog_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        # Datadog's rate-limit headers on every answer the limit counted, 429s included: its SDK's retry
        # (enable_retry) sleeps X-RateLimit-Reset seconds before trying again.
        state = getattr(request, "rate_limit", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return super().finalize_response(request, response, *args, **kwargs)


@dataclass(frozen=True)
class OffsetPage:
    """`page[offset]` and a size parameter (`page[size]` for rules and outcomes, `page[limit]` for scores and
    campaigns). Past the end the page is empty, which is how the SDK's pagination helpers stop."""

    offset: int
    size: int

    @classmethod
    def from_request(cls, request, *, size_param: str, default: int, maximum: int) -> OffsetPage:
        return cls(
            offset=query_int(request, "page[offset]", default=0, low=0),
            size=query_int(request, size_param, default=default, low=1, high=maximum),
        )

    def slice(self, queryset):
        if self.offset > MAX_QUERY_INT - self.size:
            return queryset.none()  # past any table, and past what an SQL OFFSET may be
        return queryset[self.offset : self.offset + self.size]

    def meta(self, total: int) -> dict:
        return {
            "count": max(0, min(self.size, total - self.offset)),
            "limit": self.size,
            "offset": self.offset,
            "total": total,
        }
