"""SonarQube measures: one api/measures/component request per entity carries all of its metrics."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings

from apps.integrations.collectors.base import FactResult, SourceError, failed, unknown_key
from apps.integrations.collectors.http_json import HttpStatusError, JsonClient

if TYPE_CHECKING:
    from apps.catalog.models import Entity

SERVICE = "SonarQube"
_UNKNOWN_METRICS = re.compile(r"metric keys are not found: (.+)", re.IGNORECASE)


def project_key(entity: Entity) -> str:
    """`x-cortex-static-analysis.sonarqube.project` from the descriptor, else the entity tag (Cortex's default)."""
    info = (entity.descriptor or {}).get("info") if isinstance(entity.descriptor, dict) else None
    analysis = info.get("x-cortex-static-analysis") if isinstance(info, dict) else None
    sonarqube = analysis.get("sonarqube") if isinstance(analysis, dict) else None
    project = sonarqube.get("project") if isinstance(sonarqube, dict) else None
    return project if isinstance(project, str) and project else entity.tag


def _error_detail(body: Any) -> str:
    return "; ".join(str(error["msg"]) for error in body["errors"])


def _number(text: Any) -> Any:
    """SonarQube sends every value as a string; numbers become numbers, levels such as "OK" stay text."""
    if not isinstance(text, str):
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def _measure_value(measure: dict[str, Any]) -> Any:
    if "value" in measure:
        return _number(measure["value"])
    # new_* metrics only have a value for the new-code period; SonarQube < 8 sent a list of periods.
    period = measure.get("period") or next(iter(measure.get("periods") or []), None)
    return _number(period.get("value")) if isinstance(period, dict) else None


class SonarQubeCollector:
    source: ClassVar[str] = "sonarqube"

    def __init__(self) -> None:
        self._client = JsonClient(SERVICE)

    @classmethod
    def configured(cls) -> bool:
        return bool(settings.SONARQUBE_URL)

    def collect(self, entity: Entity, keys: list[str]) -> dict[str, FactResult]:
        results: dict[str, FactResult] = {}
        metric_keys: dict[str, str] = {}
        wants_project = False
        for key in keys:
            function, _, metric = key.partition(":")
            if function == "metric" and metric:
                metric_keys[metric] = key
            elif key == "project":
                wants_project = True
            else:
                results[key] = unknown_key(self.source, key)
        if not metric_keys and not wants_project:
            return results
        base_url = settings.SONARQUBE_URL.rstrip("/")
        if not base_url:
            wanted = [*metric_keys.values(), *(["project"] if wants_project else [])]
            return results | failed(wanted, "SonarQube is not configured (SONARQUBE_URL)")
        if wants_project:
            results["project"] = self._project(base_url, project_key(entity))
        if not metric_keys:
            return results
        try:
            values, unknown = self._measures(base_url, project_key(entity), list(metric_keys))
        except SourceError as exc:
            return results | failed(list(metric_keys.values()), str(exc))
        for metric, key in metric_keys.items():
            if metric in unknown:
                results[key] = (None, f"SonarQube has no metric {metric!r}")
            else:
                results[key] = (values.get(metric), "")
        return results

    def _project(self, base_url: str, project: str) -> FactResult:
        """`sonarqube != null`: the entity's project exists in SonarQube ({key, name}), or null."""
        try:
            body = self._client.get(
                f"{base_url}/api/components/show",
                params={"component": project},
                auth=(settings.SONARQUBE_TOKEN, "") if settings.SONARQUBE_TOKEN else None,
                detail=_error_detail,
            )
        except HttpStatusError as exc:
            return (None, "") if exc.status == 404 else (None, str(exc))
        except SourceError as exc:
            return None, str(exc)
        component = body.get("component") if isinstance(body, dict) else None
        if not isinstance(component, dict):
            return None, f"SonarQube returned an unexpected answer for project {project!r}: no component"
        return {"key": component.get("key", project), "name": component.get("name", project)}, ""

    def _measures(self, base_url: str, project: str, metrics: list[str]) -> tuple[dict[str, Any], set[str]]:
        """Values by metric (absent when the project has no such measure) and the metrics SonarQube does not know."""
        try:
            return self._request(base_url, project, metrics), set()
        except HttpStatusError as exc:
            # One unknown metric fails the whole request, which must not hide the project's other metrics.
            found = _UNKNOWN_METRICS.search(exc.detail) if exc.status in (400, 404) else None
            unknown = {name.strip() for name in found.group(1).split(",")} & set(metrics) if found else set()
            if not unknown:
                raise
        known = [metric for metric in metrics if metric not in unknown]
        return (self._request(base_url, project, known) if known else {}), unknown

    def _request(self, base_url: str, project: str, metrics: list[str]) -> dict[str, Any]:
        body = self._client.get(
            f"{base_url}/api/measures/component",
            params={"component": project, "metricKeys": ",".join(metrics)},
            auth=(settings.SONARQUBE_TOKEN, "") if settings.SONARQUBE_TOKEN else None,
            detail=_error_detail,
        )
        component = body.get("component") if isinstance(body, dict) else None
        measures = component.get("measures") if isinstance(component, dict) else None
        if not isinstance(measures, list):
            raise SourceError(f"SonarQube returned an unexpected answer for project {project!r}: no component measures")
        return {
            measure["metric"]: _measure_value(measure)
            for measure in measures
            if isinstance(measure, dict) and isinstance(measure.get("metric"), str)
        }
