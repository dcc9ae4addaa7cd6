"""Addresses and ranges as the allowlist reads them (the standard library's `ipaddress`), and the address a
request came from."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Checked:
    """One entry as given, and either its normalised network or why it is not one."""

    address: str
    description: str | None
    network: Network | None
    error: str = ""

    @property
    def normalised(self) -> str:
        """`192.0.2.7` for one address (no `/32`), `10.0.0.0/8` for a range."""
        assert self.network is not None
        net = self.network
        return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def check_address(address: object, description: object = None) -> Checked:
    """An IPv4 or IPv6 address or CIDR range. A range with host bits set (`10.0.0.1/8`) is refused: it is
    probably a typing mistake, and which network was meant is for the person to say."""
    text = address.strip() if isinstance(address, str) else ""
    desc = description if isinstance(description, str) or description is None else str(description)
    if not isinstance(address, str) or not text:
        return Checked(str(address or ""), desc, None, "an address is required")
    if len(text) > 64:
        return Checked(text[:64], desc, None, "is not an IP address or CIDR range")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        message = str(exc)
        if "has host bits set" in message:
            return Checked(
                text, desc, None, f"has host bits set (did you mean {ipaddress.ip_network(text, strict=False)}?)"
            )
        return Checked(text, desc, None, "is not an IP address or CIDR range")
    return Checked(text, desc, network)


def parse_ip(text: str | None) -> Address | None:
    """An address from a header or REMOTE_ADDR: an IPv6 zone is dropped, an IPv4-mapped IPv6 address is
    read as its IPv4 address. None when it is not an address."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(request: HttpRequest) -> Address | None:
    """The address a request came from: REMOTE_ADDR, or, behind `API_TRUST_X_FORWARDED_FOR` proxies, the
    address the outermost trusted proxy saw (that many entries from the right of X-Forwarded-For). Entries left
    of it were written by the client and are never trusted. With fewer entries than trusted proxies the header
    was not written by them, so REMOTE_ADDR is used."""
    proxies: int = getattr(settings, "API_TRUST_X_FORWARDED_FOR", 0)
    if proxies > 0:
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in header.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return parse_ip(hops[-proxies])
    return parse_ip(request.META.get("REMOTE_ADDR"))


def allowed(address: Address | None, networks: tuple[Network, ...]) -> bool:
    """True when the list is empty (no restriction) or the address is in one of its networks."""
    if not networks:
        return True
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in networks)
