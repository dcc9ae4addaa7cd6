"""The IP allowlist, enforced for both APIs before authentication."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.api.errors import Failure, render_failure
from apps.security.addresses import allowed, client_address
from apps.security.selectors import allowed_networks

API_PREFIXES = ("/api/v1/", "/api/v2/")


class IpAllowlistMiddleware:
    """While the allowlist (apps.security) holds any entry, a request to either API from an address outside it
    answers 403 in that API's error shape, before any key is read. Pages are not restricted: people sign in to
    them, and an Admin locked out of the API can fix the list from the admin site."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIXES):
            address = client_address(request)
            if not allowed(address, allowed_networks()):
                shown = str(address) if address is not None else "unknown"
                failure = Failure(403, f"Your IP address ({shown}) is not in this workspace's IP allowlist.")
                response = render_failure(request, failure)
                if response is not None:
                    return response
        return self.get_response(request)
