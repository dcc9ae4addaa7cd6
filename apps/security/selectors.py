"""Reads of the IP allowlist."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db.models import QuerySet

from apps.security.addresses import Network, check_address
from apps.security.models import IpAllowlistEntry

_lock = threading.Lock()
_cached: tuple[float, tuple[Network, ...]] | None = None


def ip_allowlist_list() -> QuerySet[IpAllowlistEntry]:
    return IpAllowlistEntry.objects.order_by("position", "pk")


def allowed_networks() -> tuple[Network, ...]:
    """The allowlist's networks, read with one query and kept in this process for `IP_ALLOWLIST_CACHE_SECONDS`
    (every API request asks). A replace clears this process's copy at once; other processes see it when their
    copy expires, so a change takes at most that long to apply everywhere."""
    global _cached
    ttl = getattr(settings, "IP_ALLOWLIST_CACHE_SECONDS", 5)
    now = time.monotonic()
    cached = _cached
    if cached is not None and cached[0] > now:
        return cached[1]
    addresses = IpAllowlistEntry.objects.values_list("address", flat=True)
    networks = tuple(n for n in (check_address(a).network for a in addresses) if n is not None)
    with _lock:
        _cached = (now + ttl, networks) if ttl > 0 else None
    return networks


def allowed_networks_forget() -> None:
    """Drop this process's copy, so the next request reads the table."""
    global _cached
    with _lock:
        _cached = None
