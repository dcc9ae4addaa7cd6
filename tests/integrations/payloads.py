"""Answers shaped like the real SonarQube api/measures/component and Prometheus api/v1/query responses."""

from __future__ import annotations

from typing import Any

from tests.integrations.helpers import Reply

# What a SonarQube 10.x server holds per project; values are strings on the wire, as in the real API.
SONAR_PROJECTS: dict[str, dict[str, Any]] = {
    "acme_payments-api": {
        "name": "Payments API",
        "measures": [
            {"metric": "coverage", "value": "81.3", "bestValue": False},
            {"metric": "ncloc", "value": "11482"},
            {"metric": "bugs", "value": "0", "bestValue": True},
            {"metric": "alert_status", "value": "OK"},
            {"metric": "sqale_rating", "value": "1.0", "bestValue": True},
            {"metric": "new_coverage", "period": {"index": 1, "value": "92.5", "bestValue": False}},
        ],
    },
    "checkout": {
        "name": "Checkout",
        "measures": [{"metric": "coverage", "value": "45.0", "bestValue": False}],
    },
}
SONAR_METRICS = {"coverage", "ncloc", "bugs", "alert_status", "sqale_rating", "new_coverage", "vulnerabilities"}


def sonar_measures(query: dict[str, str]) -> Reply:
    """Behaves like SonarQube: 404 for an unknown component or metric, only the requested measures otherwise."""
    project = SONAR_PROJECTS.get(query.get("component", ""))
    if project is None:
        return Reply(404, {"errors": [{"msg": f"Component key '{query.get('component')}' not found"}]})
    wanted = [key.strip() for key in query.get("metricKeys", "").split(",") if key.strip()]
    unknown = [key for key in wanted if key not in SONAR_METRICS]
    if unknown:
        return Reply(404, {"errors": [{"msg": f"The following metric keys are not found: {', '.join(unknown)}"}]})
    return Reply(
        200,
        {
            "component": {
                "key": query["component"],
                "name": project["name"],
                "qualifier": "TRK",
                "measures": [m for m in project["measures"] if m["metric"] in wanted],
            }
        },
    )


def prometheus_vector(*samples: tuple[dict[str, str], str]) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": labels, "value": [1716300000.781, value]} for labels, value in samples],
        },
    }


def prometheus_scalar(value: str) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "scalar", "result": [1716300000.781, value]}}


def prometheus_matrix() -> dict[str, Any]:
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"__name__": "up", "job": "checkout"},
                    "values": [[1716299940.781, "1"], [1716300000.781, "1"]],
                }
            ],
        },
    }


PROMETHEUS_BAD_QUERY = {
    "status": "error",
    "errorType": "bad_data",
    "error": 'invalid parameter "query": 1:9: parse error: unexpected end of input',
}
