"""Shields.io-style flat badges: the SVG and the endpoint JSON, built from plain values (no database)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils.html import escape

GREY = "#9f9f9f"
LABEL_COLOR = "#555"
LABEL_MAX = 64  # a not-found badge repeats the tag asked for; a README should not get a banner

# Approximate advance widths of Verdana 11px (what shields.io measures with), in pixels.
_NARROW = set("fijlrtI!|.,:;'`()[] ")
_WIDE = set("mwMW@%")
_UPPER = set("ABCDEFGHJKLNOPQRSTUVXYZ&#0123456789?")
_DEFAULT_WIDTH, _NARROW_WIDTH, _UPPER_WIDTH, _WIDE_WIDTH = 6.8, 3.9, 7.6, 10.4


def text_width(text: str) -> int:
    """The approximate rendered width of `text` in pixels."""
    total = 0.0
    for char in text:
        if char in _NARROW:
            total += _NARROW_WIDTH
        elif char in _WIDE:
            total += _WIDE_WIDTH
        elif char in _UPPER:
            total += _UPPER_WIDTH
        else:
            total += _DEFAULT_WIDTH
    return round(total)


@dataclass(frozen=True)
class Badge:
    label: str
    message: str
    color: str  # "#rrggbb"
    is_error: bool = False  # shields.io's `isError`: the README cannot recolour it

    @property
    def hex(self) -> str:
        """The colour without '#', as the shields.io endpoint schema wants it."""
        value = self.color.lstrip("#")
        if len(value) == 3:
            value = "".join(c * 2 for c in value)
        return value

    @property
    def etag(self) -> str:
        return hashlib.sha256(f"{self.label}\0{self.message}\0{self.color}".encode()).hexdigest()[:32]

    def as_json(self) -> dict:
        data = {"schemaVersion": 1, "label": self.label, "message": self.message, "color": self.hex}
        if self.is_error:
            data["isError"] = True
        return data

    @classmethod
    def not_found(cls, label: str, what: str) -> Badge:
        """Answered (with a 404) for an unknown scorecard or entity, so a README shows why instead of a broken image."""
        label = label.strip() or "scorecard"
        if len(label) > LABEL_MAX:
            label = label[: LABEL_MAX - 1] + "…"
        return cls(label=label, message=f"{what} not found", color=GREY, is_error=True)

    def as_svg(self) -> str:
        padding = 10
        label_w = text_width(self.label) + padding
        message_w = text_width(self.message) + padding
        total = label_w + message_w
        label, message = escape(self.label), escape(self.message)
        title = f"{label}: {message}"
        # Text is drawn at 10x scale (as shields.io does) for sub-pixel positioning.
        label_x, message_x = label_w * 5, (label_w + message_w / 2) * 10
        label_len, message_len = (label_w - padding) * 10, (message_w - padding) * 10
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
            f'aria-label="{title}">'
            f"<title>{title}</title>"
            '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
            '<stop offset="1" stop-opacity=".1"/></linearGradient>'
            f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
            f'<g clip-path="url(#r)"><rect width="{label_w}" height="20" fill="{LABEL_COLOR}"/>'
            f'<rect x="{label_w}" width="{message_w}" height="20" fill="{escape(self.color)}"/>'
            f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
            '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
            'text-rendering="geometricPrecision" font-size="110">'
            f'<text aria-hidden="true" x="{label_x:.0f}" y="150" fill="#010101" fill-opacity=".3" '
            f'transform="scale(.1)" textLength="{label_len}">{label}</text>'
            f'<text x="{label_x:.0f}" y="140" transform="scale(.1)" textLength="{label_len}">{label}</text>'
            f'<text aria-hidden="true" x="{message_x:.0f}" y="150" fill="#010101" fill-opacity=".3" '
            f'transform="scale(.1)" textLength="{message_len}">{message}</text>'
            f'<text x="{message_x:.0f}" y="140" transform="scale(.1)" textLength="{message_len}">{message}</text>'
            "</g></svg>"
        )
