"""Cortex v1 queries (`cortex queries run` / `get`): a rule-language expression over the whole catalog, run as
a job on the workers and read back by its job id.

Cortex's statuses: a job not finished yet is IN_PROGRESS (ours: pending or running), then DONE or FAILED.
`result` lists the matching entities once DONE; a FAILED job says why in `error`.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apps.api.cortex.base import CortexView
from apps.api.cortex.serializers import QueryRunInput
from apps.api.cortex.views.lookups import TAG
from apps.evaluations.models import QueryJob, QueryState
from apps.evaluations.queries import query_job_get, query_matches, query_start

STATUS = {
    QueryState.PENDING: "IN_PROGRESS",
    QueryState.RUNNING: "IN_PROGRESS",
    QueryState.DONE: "DONE",
    QueryState.FAILED: "FAILED",
}


def _details(job: QueryJob) -> dict:
    return {
        "initiatedAt": job.created_at.isoformat().replace("+00:00", "Z"),
        "jobId": str(job.job_id),
        "query": job.expression,
    }


def _job_body(job: QueryJob) -> dict:
    body = {
        "jobId": str(job.job_id),
        "status": STATUS[QueryState(job.state)],
        "progress": round(job.progress, 4),
        "queryDetails": _details(job),
        "result": [
            {"id": m.id, "tag": m.tag, "name": m.name, "type": m.type, "description": m.description or None}
            for m in query_matches(job)
        ],
    }
    if job.state == QueryState.FAILED:
        body["error"] = job.error
    return body


class QueryRunView(CortexView):
    required_permissions = {"POST": "evaluations.add_queryjob"}

    @extend_schema(
        tags=TAG,
        operation_id="runQuery",
        summary="Run a query over the catalog",
        request=QueryRunInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        data = QueryRunInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = query_start(expression=data.validated_data["query"], by=request.user)
        return Response(_details(job))


class QueryJobView(CortexView):
    required_permissions = {"GET": "evaluations.view_queryjob"}

    @extend_schema(
        tags=TAG,
        operation_id="getQueryResults",
        summary="Retrieve the status and results of a query",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, job_id: str):
        return Response(_job_body(query_job_get(job_id=job_id, viewer=request.user)))
