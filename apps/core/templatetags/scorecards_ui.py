"""Small presentation helpers for templates. None of them touches the database."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from apps.core.markdown import render_markdown

register = template.Library()


@register.filter
def readable_on(color: str) -> str:
    """Black or white, whichever reads better on `color` (#rgb or #rrggbb), for WCAG contrast."""
    value = (color or "").lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    try:
        r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    except ValueError:
        return "#000"

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return "#000" if luminance > 0.179 else "#fff"


@register.filter
def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


@register.filter
def markdown(text: str) -> SafeString:
    return render_markdown(text)


@register.simple_tag(takes_context=True)
def url_with(context, **changes) -> str:
    """The current query string with some parameters replaced (sorting, filters, paging)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    if "page" not in changes:
        query.pop("page", None)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"
