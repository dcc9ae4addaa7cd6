"""Where exemption pages and emails send people; one place, so a page and an email never disagree."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse


def report_card_path(entity_tag: str, scorecard_tag: str) -> str:
    """The entity's report card, scrolled to the scorecard's section (where a rule's exemption is shown)."""
    try:
        base = reverse("evaluations:entity", args=[entity_tag])
    except NoReverseMatch:  # the report card page is optional for this app; fall back to the list
        base = reverse("exemptions:list")
    return f"{base}#scorecard-{scorecard_tag}"
