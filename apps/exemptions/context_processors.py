"""What every page's navigation needs from exemptions: how many requests wait for the signed-in approver."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from apps.exemptions.selectors import exemption_inbox_count


def exemption_inbox(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """`exemptions_waiting`: a callable the template calls (once, in a `{% with %}`) when it draws the nav.

    Lazy because every template rendered with a request runs the context processors, htmx row partials
    included: only a page that shows the count pays its one query, and none for anonymous visitors.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"exemptions_waiting": lambda: exemption_inbox_count(user=user)}
