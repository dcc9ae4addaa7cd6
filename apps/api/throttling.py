"""Rate limiting per API key (per user for browser sessions), counted atomically.

The count is a sliding window over the last `period` seconds, kept as a sorted set of request times in Redis
(`REDIS_URL`) and updated by one Lua script: dropping the times that left the window, counting, and admitting
the request happen as one step, so concurrent requests on one key (on any number of web processes) can never
let more than the limit through. DRF's SimpleRateThrottle reads and writes its history without a lock, which
let 16 concurrent clients through at 2.4 times the limit.

Without `REDIS_URL` (a single-machine `make run`, where the Django cache is per process anyway) the same window
is kept in process memory behind a lock, which makes it exact for that process; so it is, with a warning
logged, while Redis cannot be reached (each process then counts on its own).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from redis.commands.core import Script
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts.models import ApiKey

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Hit:
    """One counted request: whether it was admitted, how many requests the window holds now (this one
    included when admitted), and the microseconds until its oldest request leaves it."""

    allowed: bool
    count: int
    reset_us: int


# KEYS[1]: the window's sorted set; ARGV: limit, period in microseconds, a unique member for this request.
# The time is Redis's own, so web servers whose clocks differ still share one window.
_SLIDING_WINDOW = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now, ARGV[3])
  count = count + 1
  allowed = 1
end
local reset = period
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
if oldest[2] then
  reset = tonumber(oldest[2]) + period - now
end
redis.call('PEXPIRE', key, math.ceil(period / 1000))
return {allowed, count, reset}
"""

_scripts: dict[str, Script] = {}
_scripts_lock = threading.Lock()


def _script(url: str) -> Script:
    """The window's script on a client for `url` (its connection pool is shared by threads), made on first use."""
    with _scripts_lock:
        script = _scripts.get(url)
        if script is None:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            script = _scripts[url] = client.register_script(_SLIDING_WINDOW)
        return script


def _hit_in_redis(url: str, key: str, *, limit: int, period_us: int) -> Hit:
    allowed, count, reset_us = _script(url)(keys=[key], args=[limit, period_us, uuid.uuid4().hex])
    return Hit(allowed=bool(allowed), count=int(count), reset_us=int(reset_us))


# Windows kept in this process (entries expire with their window), and the lock that makes each step atomic.
_process_windows = LocMemCache("api-rate-limit", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
_process_lock = threading.Lock()


def _hit_in_process(key: str, *, limit: int, period_us: int) -> Hit:
    """The same sliding window in this process's memory, read and written under a lock: exact for one process."""
    now = time.monotonic_ns() // 1000
    with _process_lock:
        window = [t for t in _process_windows.get(key, []) if t > now - period_us]
        allowed = len(window) < limit
        if allowed:
            window.append(now)
        _process_windows.set(key, window, timeout=math.ceil(period_us / 1_000_000))
    reset_us = window[0] + period_us - now if window else period_us
    return Hit(allowed=allowed, count=len(window), reset_us=reset_us)


def rate_limit_hit(key: str, *, limit: int, period: int) -> Hit:
    """Count one request against `key`'s window of `limit` requests per `period` seconds, atomically."""
    period_us = period * 1_000_000
    key = f"{settings.API_RATE_LIMIT_KEY_PREFIX}:{key}"
    url = settings.REDIS_URL
    if url:
        try:
            return _hit_in_redis(url, key, limit=limit, period_us=period_us)
        except redis.RedisError as exc:
            # Better a per-process limit than refusing or crashing every API request while Redis is away.
            logger.warning("rate limit: Redis unavailable (%s); counting in this process", exc)
    return _hit_in_process(key, limit=limit, period_us=period_us)


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api"

    state: RateLimitState | None = None

    def get_rate(self) -> str | None:
        # Read at request time, not import time, so the setting can change without a restart of the class.
        return settings.API_RATE_LIMIT or None

    def allow_request(self, request, view) -> bool:
        # DRF parses the rate once in __init__; re-read it so the setting is honoured as it is now.
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        num_requests, duration = self.parse_rate(self.rate)
        limit, period = int(num_requests or 0), int(duration or 0)
        hit = rate_limit_hit(self.get_cache_key(request, view), limit=limit, period=period)
        self.state = RateLimitState(
            limit=limit,
            period=period,
            remaining=max(0, limit - hit.count),
            # The oldest request in the window leaves it after `reset` seconds, freeing a place.
            reset=max(1, math.ceil(hit.reset_us / 1_000_000)),
            name=self.scope,
        )
        # Kept on the request for the protocol's view to turn into headers (the Datadog-style API does).
        request.rate_limit = self.state
        return hit.allowed

    def wait(self) -> float | None:
        """Seconds until the window admits a request again (Retry-After): the same as X-RateLimit-Reset."""
        return float(self.state.reset) if self.state is not None else None

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
