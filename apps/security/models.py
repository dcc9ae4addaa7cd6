"""The API's IP allowlist."""

from __future__ import annotations

from django.db import models


class IpAllowlistEntry(models.Model):
    """One address or CIDR range allowed to call the APIs, as Cortex shapes it: an address and an optional
    description. While the table holds any row, API requests from addresses outside every entry answer 403.

    `address` is stored normalised (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`): a single address without a
    prefix length, a range as `ipaddress` writes it. `position` keeps the order the list was given in."""

    address = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True, default="")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "IP allowlist entry"
        verbose_name_plural = "IP allowlist"
        permissions = [("configure_ip_allowlist", "Configure IP allowlist")]

    def __str__(self) -> str:
        return f"{self.address} ({self.description})" if self.description else self.address
