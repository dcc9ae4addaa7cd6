"""Rate limiting per API key (per user for browser sessions), counted in the cache (Redis in production)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts.models import ApiKey


@dataclass(frozen=True)
class RateLimitState:
    """Where a caller stands after this request, as Datadog's `X-RateLimit-*` headers say it: `limit` requests
    per `period` seconds, `remaining` of them left, the window frees a request in `reset` seconds (at least 1,
    so a client that sleeps that long is let in), under the limit `name`."""

    limit: int
    period: int
    remaining: int
    reset: int
    name: str

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Period": str(self.period),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Name": self.name,
        }


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self) -> str | None:
        # Read at request time, not import time, so the setting can change without a restart of the class.
        return settings.API_RATE_LIMIT or None

    def allow_request(self, request, view) -> bool:
        # DRF parses the rate once in __init__; re-read it so the setting is honoured as it is now.
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        allowed = super().allow_request(request, view)
        limit, period = int(self.num_requests or 0), int(self.duration or 0)
        # The oldest request still in the window (history is newest first) leaves it after `reset` seconds.
        oldest = self.history[-1] if self.history else self.now
        reset = max(1, math.ceil(period - (self.now - oldest)))
        # Kept on the request for the protocol's view to turn into headers (the Datadog-style API does).
        request.rate_limit = RateLimitState(
            limit=limit,
            period=period,
            remaining=max(0, limit - len(self.history)),
            reset=reset,
            name=self.scope,
        )
        return allowed

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
