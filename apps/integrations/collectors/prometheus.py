"""Prometheus instant queries: one api/v1/query request per key, reduced to a single number."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings

from apps.integrations.collectors.base import FactResult, SourceError, failed, unknown_key
from apps.integrations.collectors.http_json import JsonClient

if TYPE_CHECKING:
    from apps.catalog.models import Entity

SERVICE = "Prometheus"


def _error_detail(body: Any) -> str:
    return str(body["error"])


def _sample_value(sample: Any) -> float:
    """A sample is `[unix_time, "value"]`; non-finite values cannot be stored as JSON, so they are errors."""
    try:
        number = float(sample[1])
    except (TypeError, ValueError, IndexError):
        raise SourceError(f"Prometheus returned a malformed sample: {sample!r}") from None
    if not math.isfinite(number):
        raise SourceError(f"the query returned {sample[1]}, which is not a finite number")
    return number


def scalar(body: Any) -> float | str | None:
    """The first sample of a vector, a scalar as is, null for an empty vector."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or body.get("status") != "success":
        raise SourceError("Prometheus returned an unexpected answer: no successful data")
    result_type, result = data.get("resultType"), data.get("result")
    if result_type == "vector" and isinstance(result, list):
        if not result:
            return None
        return _sample_value(result[0].get("value") if isinstance(result[0], dict) else None)
    if result_type == "scalar":
        return _sample_value(result)
    if result_type == "string" and isinstance(result, list) and len(result) == 2:
        return str(result[1])
    if result_type == "matrix":
        raise SourceError("the query returned a range vector; rules need an instant vector or a scalar")
    raise SourceError(f"Prometheus returned an unexpected result type {result_type!r}")


class PrometheusCollector:
    source: ClassVar[str] = "prometheus"

    def __init__(self) -> None:
        self._client = JsonClient(SERVICE)

    @classmethod
    def configured(cls) -> bool:
        return bool(settings.PROMETHEUS_URL)

    def collect(self, entity: Entity, keys: list[str]) -> dict[str, FactResult]:
        queries = {key: key.partition(":")[2] for key in keys if key.startswith("query:") and key != "query:"}
        results = {key: unknown_key(self.source, key) for key in keys if key not in queries}
        base_url = settings.PROMETHEUS_URL.rstrip("/")
        if not base_url:
            return results | failed(list(queries), "Prometheus is not configured (PROMETHEUS_URL)")
        for key, promql in queries.items():
            results[key] = self._query(base_url, promql.replace("{{tag}}", entity.tag))
        return results

    def _query(self, base_url: str, promql: str) -> FactResult:
        try:
            body = self._client.get(
                f"{base_url}/api/v1/query",
                params={"query": promql},
                detail=_error_detail,
            )
            return scalar(body), ""
        except SourceError as exc:
            return None, str(exc)
