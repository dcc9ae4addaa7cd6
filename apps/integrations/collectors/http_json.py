"""GET-and-parse-JSON for the HTTP collectors: every failure becomes a SourceError that names its cause."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings

from apps.integrations.collectors.base import SourceError, redact_url

_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


class HttpStatusError(SourceError):
    def __init__(self, service: str, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"{service} returned HTTP {status}" + (f": {detail}" if detail else ""))


def _no_detail(body: Any) -> str:
    return ""


def _connection_reason(exc: requests.ConnectionError) -> str:
    # requests nests the OS error several exceptions deep; the errno text is what a person needs.
    found = _ERRNO_REASON.search(str(exc))
    return found.group(1).strip() if found else type(exc).__name__


class JsonClient:
    """One per collector run: keeps connections alive and, once the service is unreachable, fails fast.

    Without the fast failure a dead server would cost one timeout per key of every entity.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._session = requests.Session()
        self._unreachable = ""

    def get(
        self,
        url: str,
        *,
        params: dict[str, str],
        auth: tuple[str, str] | None = None,
        detail: Callable[[Any], str] = _no_detail,
    ) -> Any:
        """The decoded JSON body of a 2xx answer; `detail` pulls the service's own message out of an error body."""
        if self._unreachable:
            raise SourceError(self._unreachable)
        timeout = settings.INTEGRATION_TIMEOUT_SECONDS
        try:
            response = self._session.get(
                url, params=params, auth=auth, timeout=timeout, headers={"Accept": "application/json"}
            )
        except requests.ConnectionError as exc:
            reason = "connection timed out" if isinstance(exc, requests.ConnectTimeout) else _connection_reason(exc)
            self._unreachable = f"{self.service} is unreachable at {redact_url(url)}: {reason}"
            raise SourceError(self._unreachable) from None
        except requests.Timeout:
            # Only this request was slow (an expensive query, say); the next one may well be fast.
            raise SourceError(f"{self.service} did not answer within {timeout} s") from None
        except requests.RequestException as exc:
            raise SourceError(f"{self.service} request failed: {type(exc).__name__}") from None
        return self._decode(response, detail)

    def _decode(self, response: requests.Response, detail: Callable[[Any], str]) -> Any:
        try:
            body = response.json()
        except ValueError:
            if response.ok:
                raise SourceError(f"{self.service} returned invalid JSON (HTTP {response.status_code})") from None
            body = None
        if response.ok:
            return body
        try:
            message = detail(body) if body is not None else ""
        except (KeyError, IndexError, TypeError, AttributeError):
            message = ""
        raise HttpStatusError(self.service, response.status_code, message)
