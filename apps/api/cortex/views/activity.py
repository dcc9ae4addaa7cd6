"""Cortex v1 deploys, custom events and custom metrics, as cortexapps-cli's `deploys`, `custom-events` and
`custom-metrics` commands call them. Entities are named by tag or id; uuids that do not parse are unknown
(404). Lists are newest first, paged like Cortex's (`page`, `pageSize`; `total`, `totalPages`), with a
fixed number of queries. Writes go through apps.activity.services, which announce the re-scoring.

Updates (PUT) change what the body names: a field absent or null keeps its value, "" clears a text field.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from apps.activity import selectors, services
from apps.activity.models import CustomEvent, CustomMetric, DeployType
from apps.api.cortex import representations as rep
from apps.api.cortex.base import CortexView, Page
from apps.api.cortex.serializers import (
    CustomEventInput,
    CustomMetricInput,
    DeployInput,
    MetricPointInput,
    MetricPointsInput,
)
from apps.api.cortex.views.catalog import CatalogEntityView
from apps.api.cortex.views.lookups import TAG, entity_for
from apps.api.params import query_datetime
from apps.core.errors import NotFoundError

PAGING = [
    OpenApiParameter("page", int, description="0-based page, default 0."),
    OpenApiParameter("pageSize", int, description="1..1000, default 250."),
]
VIEW_DEPLOYS, ADD_DEPLOYS, CHANGE_DEPLOYS, DELETE_DEPLOYS = (
    f"activity.{verb}_deploy" for verb in ("view", "add", "change", "delete")
)
VIEW_EVENTS, ADD_EVENTS, CHANGE_EVENTS, DELETE_EVENTS = (
    f"activity.{verb}_customevent" for verb in ("view", "add", "change", "delete")
)
VIEW_METRICS, ADD_METRICS, CHANGE_METRICS, DELETE_METRICS = (
    f"activity.{verb}_custommetric" for verb in ("view", "add", "change", "delete")
)
VIEW_POINTS, ADD_POINTS, DELETE_POINTS = (f"activity.{verb}_custommetricpoint" for verb in ("view", "add", "delete"))


def _page_of(request, rows, key: str, shape) -> Response:
    """`{key: [...], page, total, totalPages}`: two queries (count and page), whatever the number of rows."""
    page = Page.from_request(request)
    total = rows.count()
    return Response(
        {
            key: [shape(row) for row in page.slice(rows)],
            "page": page.number,
            "total": total,
            "totalPages": page.total_pages(total),
        }
    )


def _validated(serializer_class, request, *, partial: bool = False):
    data = request.data
    if partial and isinstance(data, dict):
        data = {name: value for name, value in data.items() if value is not None}
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer


def _filter_param(request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value not in (None, "") else None


# --- deploys ----------------------------------------------------------------------------------------------


class DeployListView(CortexView):
    required_permissions = {"GET": VIEW_DEPLOYS, "POST": ADD_DEPLOYS, "DELETE": DELETE_DEPLOYS}

    @extend_schema(
        tags=TAG,
        operation_id="listDeploys",
        summary="List an entity's deploys, newest first",
        parameters=PAGING,
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag_or_id: str):
        entity = entity_for(tag_or_id)
        return _page_of(request, selectors.deploy_list(entity_id=entity.pk), "deployments", rep.deploy_of)

    @extend_schema(
        tags=TAG,
        operation_id="addDeploy",
        summary="Add a deploy to an entity",
        request=DeployInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, tag_or_id: str):
        entity = entity_for(tag_or_id)
        data = _validated(DeployInput, request)
        return Response(rep.deploy_of(services.deploy_add(entity=entity, **data.model_fields())))

    @extend_schema(
        tags=TAG,
        operation_id="deleteDeploysOfEntity",
        summary="Delete an entity's deploys: those matching every filter given, or all",
        parameters=[OpenApiParameter(name, str) for name in ("sha", "environment", "type")],
        request=None,
        responses={200: None},
    )
    def delete(self, request, tag_or_id: str):
        entity = entity_for(tag_or_id)
        services.deploys_delete(entity=entity, **_deploy_filters(request))
        return HttpResponse(status=200)


def _deploy_filters(request) -> dict:
    filters = {name: _filter_param(request, name) for name in ("sha", "environment", "type")}
    if filters["type"] is not None and filters["type"] not in DeployType.values:
        raise exceptions.ValidationError({"type": f"must be one of {', '.join(DeployType.values)}"})
    return filters


class DeployDetailView(CortexView):
    required_permissions = {"GET": VIEW_DEPLOYS, "PUT": CHANGE_DEPLOYS, "DELETE": DELETE_DEPLOYS}

    @extend_schema(
        tags=TAG, operation_id="getDeploy", summary="Retrieve a deploy", responses={200: OpenApiTypes.OBJECT}
    )
    def get(self, request, tag_or_id: str, uuid: str):
        entity = entity_for(tag_or_id)
        deploy = selectors.deploy_list(entity_id=entity.pk).filter(uuid=_uuid(uuid, "deploy")).first()
        if deploy is None:
            raise NotFoundError(f"entity {entity.tag!r} has no deploy {uuid!r}")
        return Response(rep.deploy_of(deploy))

    @extend_schema(
        tags=TAG,
        operation_id="updateDeploy",
        summary="Update a deploy by uuid (fields absent or null stay as they are)",
        request=DeployInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, tag_or_id: str, uuid: str):
        entity = entity_for(tag_or_id)
        data = _validated(DeployInput, request, partial=True)
        return Response(rep.deploy_of(services.deploy_update(entity=entity, uuid=uuid, changes=data.model_fields())))

    @extend_schema(
        tags=TAG, operation_id="deleteDeploy", summary="Delete a deploy by uuid", request=None, responses={200: None}
    )
    def delete(self, request, tag_or_id: str, uuid: str):
        services.deploy_delete(entity=entity_for(tag_or_id), uuid=uuid)
        return HttpResponse(status=200)


class DeploysByFilterView(CatalogEntityView):
    """DELETE deletes every entity's deploys matching the filters. The path also names an entity tagged
    "deploys", which GET reads."""

    required_permissions = {"GET": CatalogEntityView.required_permissions["GET"], "DELETE": DELETE_DEPLOYS}

    @extend_schema(exclude=True)
    def get(self, request):
        return super().get(request, tag_or_id="deploys")

    @extend_schema(
        tags=TAG,
        operation_id="deleteDeploysByFilter",
        summary="Delete the deploys of every entity matching every filter given (at least one)",
        parameters=[OpenApiParameter(name, str) for name in ("sha", "environment", "type")],
        request=None,
        responses={200: None},
    )
    def delete(self, request):
        filters = _deploy_filters(request)
        if all(value is None for value in filters.values()):
            raise exceptions.ValidationError({"sha": "give at least one of sha, environment or type"})
        services.deploys_delete(entity=None, **filters)
        return HttpResponse(status=200)


class DeploysAllView(CortexView):
    required_permissions = {"DELETE": DELETE_DEPLOYS}

    @extend_schema(
        tags=TAG,
        operation_id="deleteAllDeploys",
        summary="Delete the deploys of every entity",
        request=None,
        responses={200: None},
    )
    def delete(self, request):
        services.deploys_delete_all()
        return HttpResponse(status=200)


def _uuid(value: str, what: str):
    import uuid as uuid_lib

    try:
        return uuid_lib.UUID(value)
    except ValueError:
        raise NotFoundError(f"{what} {value!r} does not exist") from None


# --- custom events ----------------------------------------------------------------------------------------


def _event_window(request) -> dict:
    """`startTime` (or the older `timestamp`) and `endTime`, inclusive; zone-less times are UTC."""
    start = query_datetime(request, "startTime") or query_datetime(request, "timestamp")
    return {"type": _filter_param(request, "type"), "start": start, "end": query_datetime(request, "endTime")}


EVENT_FILTERS = [
    OpenApiParameter("type", str, description="Only events of this type."),
    OpenApiParameter("startTime", OpenApiTypes.DATETIME, description="At or after this time."),
    OpenApiParameter("timestamp", OpenApiTypes.DATETIME, description="Deprecated: startTime."),
    OpenApiParameter("endTime", OpenApiTypes.DATETIME, description="At or before this time."),
]


class CustomEventListView(CortexView):
    required_permissions = {"GET": VIEW_EVENTS, "POST": ADD_EVENTS, "DELETE": DELETE_EVENTS}

    @extend_schema(
        tags=TAG,
        operation_id="listCustomEvents",
        summary="List an entity's custom events, newest first",
        parameters=EVENT_FILTERS + PAGING,
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag_or_id: str):
        entity = entity_for(tag_or_id)
        rows = selectors.custom_event_list(entity_id=entity.pk, **_event_window(request))
        return _page_of(request, rows, "events", rep.custom_event_of)

    @extend_schema(
        tags=TAG,
        operation_id="createCustomEvent",
        summary="Add a custom event to an entity",
        request=CustomEventInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, tag_or_id: str):
        entity = entity_for(tag_or_id)
        data = _validated(CustomEventInput, request)
        return Response(rep.custom_event_of(services.custom_event_add(entity=entity, **data.model_fields())))

    @extend_schema(
        tags=TAG,
        operation_id="deleteCustomEvents",
        summary="Delete an entity's custom events (of a type, in a time window, or all)",
        parameters=EVENT_FILTERS,
        request=None,
        responses={200: None},
    )
    def delete(self, request, tag_or_id: str):
        services.custom_events_delete(entity=entity_for(tag_or_id), **_event_window(request))
        return HttpResponse(status=200)


class CustomEventDetailView(CortexView):
    required_permissions = {"GET": VIEW_EVENTS, "PUT": CHANGE_EVENTS, "DELETE": DELETE_EVENTS}

    @extend_schema(
        tags=TAG, operation_id="getCustomEvent", summary="Retrieve a custom event", responses={200: OpenApiTypes.OBJECT}
    )
    def get(self, request, tag_or_id: str, uuid: str):
        entity = entity_for(tag_or_id)
        event = CustomEvent.objects.filter(entity=entity, uuid=_uuid(uuid, "custom event")).first()
        if event is None:
            raise NotFoundError(f"entity {entity.tag!r} has no custom event {uuid!r}")
        return Response(rep.custom_event_of(event))

    @extend_schema(
        tags=TAG,
        operation_id="updateCustomEvent",
        summary="Update a custom event by uuid (fields absent or null stay as they are)",
        request=CustomEventInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, tag_or_id: str, uuid: str):
        entity = entity_for(tag_or_id)
        data = _validated(CustomEventInput, request, partial=True)
        event = services.custom_event_update(entity=entity, uuid=uuid, changes=data.model_fields())
        return Response(rep.custom_event_of(event))

    @extend_schema(
        tags=TAG,
        operation_id="deleteCustomEvent",
        summary="Delete a custom event by uuid",
        request=None,
        responses={200: None},
    )
    def delete(self, request, tag_or_id: str, uuid: str):
        services.custom_event_delete(entity=entity_for(tag_or_id), uuid=uuid)
        return HttpResponse(status=200)


# --- custom metrics ---------------------------------------------------------------------------------------


class CustomMetricListView(CortexView):
    required_permissions = {"GET": VIEW_METRICS, "POST": ADD_METRICS}

    @extend_schema(
        tags=TAG,
        operation_id="listCustomMetrics",
        summary="List custom metric definitions, by key",
        parameters=PAGING,
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        return _page_of(request, CustomMetric.objects.order_by("key"), "customMetrics", rep.custom_metric_of)

    @extend_schema(
        tags=TAG,
        operation_id="createCustomMetric",
        summary="Define a custom metric (409 when the key exists)",
        request=CustomMetricInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        data = _validated(CustomMetricInput, request)
        return Response(rep.custom_metric_of(services.custom_metric_create(**data.model_fields())))


class CustomMetricDetailView(CortexView):
    required_permissions = {"GET": VIEW_METRICS, "PUT": CHANGE_METRICS, "DELETE": DELETE_METRICS}

    @extend_schema(
        tags=TAG,
        operation_id="getCustomMetric",
        summary="Retrieve a custom metric definition",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, key: str):
        return Response(rep.custom_metric_of(services.custom_metric_for(key)))

    @extend_schema(
        tags=TAG,
        operation_id="updateCustomMetric",
        summary="Update a custom metric definition (the key never changes)",
        request=CustomMetricInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, key: str):
        data = _validated(CustomMetricInput, request, partial=True)
        changes = data.model_fields()
        if changes.pop("key", key) != key:
            raise exceptions.ValidationError({"key": "cannot change; define a new metric instead"})
        return Response(rep.custom_metric_of(services.custom_metric_update(key=key, changes=changes)))

    @extend_schema(
        tags=TAG,
        operation_id="deleteCustomMetric",
        summary="Delete a custom metric definition and all its data points",
        request=None,
        responses={200: None},
    )
    def delete(self, request, key: str):
        services.custom_metric_delete(key=key)
        return HttpResponse(status=200)


METRIC_WINDOW = [
    OpenApiParameter("startDate", OpenApiTypes.DATETIME, description="At or after (reading: default 6 months ago)."),
    OpenApiParameter("endDate", OpenApiTypes.DATETIME, description="At or before."),
]


class CustomMetricPointsView(CortexView):
    required_permissions = {"GET": VIEW_POINTS, "POST": ADD_POINTS, "DELETE": DELETE_POINTS}

    @extend_schema(
        tags=TAG,
        operation_id="listCustomMetricPoints",
        summary="List an entity's data points of a custom metric, newest first",
        parameters=METRIC_WINDOW + PAGING,
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, key: str, tag_or_id: str):
        entity = entity_for(tag_or_id)
        metric = services.custom_metric_for(key)
        start = query_datetime(request, "startDate") or timezone.now() - services.METRIC_POINT_MAX_AGE
        rows = selectors.custom_metric_point_list(
            metric_id=metric.pk, entity_id=entity.pk, start=start, end=query_datetime(request, "endDate")
        )
        return _page_of(request, rows, "data", rep.custom_metric_point_of)

    @extend_schema(
        tags=TAG,
        operation_id="addCustomMetricPoint",
        summary="Add one data point of a custom metric for an entity",
        request=MetricPointInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, key: str, tag_or_id: str):
        entity = entity_for(tag_or_id)
        data = _validated(MetricPointInput, request).validated_data
        [point] = services.custom_metric_points_add(
            entity=entity, key=key, points=[(data["timestamp"], data["value"])], path=""
        )
        return Response(rep.custom_metric_point_of(point))

    @extend_schema(
        tags=TAG,
        operation_id="deleteCustomMetricPoints",
        summary="Delete an entity's data points of a custom metric (in a window, or all)",
        parameters=METRIC_WINDOW,
        request=None,
        responses={200: None},
    )
    def delete(self, request, key: str, tag_or_id: str):
        services.custom_metric_points_delete(
            entity=entity_for(tag_or_id),
            key=key,
            start=query_datetime(request, "startDate"),
            end=query_datetime(request, "endDate"),
        )
        return HttpResponse(status=200)


class CustomMetricPointsBulkView(CortexView):
    required_permissions = {"POST": ADD_POINTS}

    @extend_schema(
        tags=TAG,
        operation_id="addCustomMetricPointsInBulk",
        summary="Add many data points of a custom metric for an entity: all of them, or none",
        request=MetricPointsInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, key: str, tag_or_id: str):
        entity = entity_for(tag_or_id)
        series = _validated(MetricPointsInput, request).validated_data["series"]
        points = services.custom_metric_points_add(
            entity=entity, key=key, points=[(item["timestamp"], item["value"]) for item in series]
        )
        return Response({"series": [rep.custom_metric_point_of(point) for point in points]})
