"""What every Cortex-style view shares: Bearer keys, permissions, throttling, JSON, Cortex errors, paging."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rest_framework import authentication
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apps.accounts.authentication import BearerApiKeyAuthentication
from apps.api.cortex.errors import cortex_exception_handler
from apps.api.params import MAX_QUERY_INT, query_int
from apps.api.parsers import BoundedJSONParser
from apps.api.permissions import RequiresPermission
from apps.api.throttling import ApiKeyRateThrottle

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 250


class CortexView(APIView):
    # Bearer first: its WWW-Authenticate makes a missing key a 401 rather than a 403.
    authentication_classes = [BearerApiKeyAuthentication, authentication.SessionAuthentication]
    permission_classes = [RequiresPermission]
    throttle_classes = [ApiKeyRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [BoundedJSONParser]
    required_permissions: dict[str, str] = {}

    def get_exception_handler(self):
        return cortex_exception_handler


@dataclass(frozen=True)
class Page:
    """A 0-based page of `size` rows, as Cortex pages: the page, the total and the number of pages."""

    number: int
    size: int | None  # None: everything in one page

    @classmethod
    def from_request(cls, request, *, default_size: int | None = DEFAULT_PAGE_SIZE) -> Page:
        size = query_int(request, "pageSize", default=default_size, low=1, high=MAX_PAGE_SIZE)
        return cls(number=query_int(request, "page", default=0, low=0), size=size)

    def slice(self, queryset):
        if self.size is None:
            return queryset if self.number == 0 else queryset.none()
        start = self.number * self.size
        if start > MAX_QUERY_INT - self.size:
            return queryset.none()  # past any table, and past what an SQL OFFSET may be
        return queryset[start : start + self.size]

    def total_pages(self, total: int) -> int:
        if self.size is None:
            return 1 if total else 0
        return math.ceil(total / self.size)
