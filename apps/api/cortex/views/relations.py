"""Cortex v1 dependencies, entity relationship types and entity relationships, as cortexapps-cli calls them
(`cortex dependencies ...`, `cortex entity-relationship-types ...`, `cortex entity-relationships ...`).

Reading needs the Viewer's permissions, writing the Editor's. Lists page like the other v1 lists
(`page`, `pageSize`; `{<rows>, page, total, totalPages}`) with a fixed number of queries.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from apps.api.cortex import representations as rep
from apps.api.cortex.base import CortexView, Page
from apps.api.cortex.serializers import (
    DependencyBulkInput,
    DependencyInput,
    DestinationsInput,
    RelationshipsBulkInput,
    RelationshipTypeInput,
    SourcesInput,
)
from apps.api.cortex.views.catalog import CatalogEntityView
from apps.api.cortex.views.lookups import TAG, endpoint_of, entity_for
from apps.api.params import query_bool, query_int
from apps.catalog import relations as svc
from apps.catalog.models import EntityDependency, EntityRelationship, RelationshipType

DEPENDENCIES = RELATIONSHIPS = TAG
VIEW_DEPENDENCIES = "catalog.view_entitydependency"
EDIT_DEPENDENCIES = "catalog.change_entitydependency"
VIEW_TYPES = "catalog.view_relationshiptype"
EDIT_TYPES = "catalog.change_relationshiptype"
VIEW_LINKS = "catalog.view_entityrelationship"
EDIT_LINKS = "catalog.change_entityrelationship"
PAGING = [
    OpenApiParameter("page", int, description="0-based page, default 0."),
    OpenApiParameter("pageSize", int, description="1..1000, default 250."),
]
ENDPOINT = [
    OpenApiParameter("method", str, description="HTTP method of the endpoint depended on (with path)."),
    OpenApiParameter("path", str, description="Path of the endpoint depended on (with method)."),
]
FORCE = [OpenApiParameter("force", bool, description="Also remove links an entity descriptor declares.")]


def _endpoint(request) -> tuple[str, str]:
    return endpoint_of(request.query_params.get("method"), request.query_params.get("path"))


def _body(serializer_class, request):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _force(request) -> bool:
    return bool(query_bool(request, "force", default=False))


def _paged(request, queryset, key: str, shape) -> Response:
    page = Page.from_request(request)
    total = queryset.count()
    rows = list(page.slice(queryset))
    return Response(
        {key: [shape(row) for row in rows], "page": page.number, "total": total, "totalPages": page.total_pages(total)}
    )


# --- dependencies -------------------------------------------------------------------------------------------


def _with_ends(queryset):
    return queryset.select_related("caller", "callee")


class DependencyListView(CortexView):
    """`GET` lists an entity's dependencies; `DELETE` removes the outgoing ones made through the API."""

    required_permissions = {"GET": VIEW_DEPENDENCIES, "DELETE": EDIT_DEPENDENCIES}

    @extend_schema(
        tags=DEPENDENCIES,
        operation_id="listDependencies",
        summary="Retrieve all dependencies of an entity",
        parameters=[
            OpenApiParameter("includeOutgoing", bool, description="Its dependencies (default true)."),
            OpenApiParameter("includeIncoming", bool, description="Entities depending on it (default false)."),
            *PAGING,
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag_or_id: str):
        entity = entity_for(tag_or_id)
        condition = Q(pk__in=[])
        if query_bool(request, "includeOutgoing", default=True):
            condition |= Q(caller=entity)
        if query_bool(request, "includeIncoming", default=False):
            condition |= Q(callee=entity)
        rows = _with_ends(EntityDependency.objects.filter(condition)).order_by(
            "caller__tag", "callee_tag", "method", "path", "id"
        )
        return _paged(request, rows, "dependencies", rep.dependency_of)

    @extend_schema(
        tags=DEPENDENCIES,
        operation_id="deleteDependencies",
        summary="Delete an entity's outgoing dependencies made through the API",
        request=None,
        responses={200: None},
    )
    def delete(self, request, tag_or_id: str):
        svc.dependencies_delete_all(caller=entity_for(tag_or_id))
        return HttpResponse(status=200)


class DependencyView(CortexView):
    required_permissions = {
        "GET": VIEW_DEPENDENCIES,
        "POST": EDIT_DEPENDENCIES,
        "PUT": EDIT_DEPENDENCIES,
        "DELETE": EDIT_DEPENDENCIES,
    }

    @extend_schema(
        tags=DEPENDENCIES,
        operation_id="getDependency",
        summary="Retrieve the dependency between two entities",
        parameters=ENDPOINT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag_or_id: str, callee: str):
        method, path = _endpoint(request)
        row = svc.dependency_get(caller=entity_for(tag_or_id), callee_tag_or_id=callee, method=method, path=path)
        return Response(rep.dependency_of(row))

    @extend_schema(
        tags=DEPENDENCIES,
        operation_id="createDependency",
        summary="Create a dependency of one entity on another",
        parameters=ENDPOINT,
        request=DependencyInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, tag_or_id: str, callee: str):
        method, path = _endpoint(request)
        data = _body(DependencyInput, request)
        row = svc.dependency_create(
            caller=entity_for(tag_or_id),
            callee_tag_or_id=callee,
            method=method,
            path=path,
            description=data.get("description") or "",
            metadata=data.get("metadata") or {},
        )
        return Response(rep.dependency_of(row))

    @extend_schema(
        tags=DEPENDENCIES,
        operation_id="updateDependency",
        summary="Replace the description and metadata of a dependency made through the API",
        parameters=ENDPOINT,
        request=DependencyInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, tag_or_id: str, callee: str):
        method, path = _endpoint(request)
        data = _body(DependencyInput, request)
        row = svc.dependency_update(
            caller=entity_for(tag_or_id),
            callee_tag_or_id=callee,
            method=method,
            path=path,
            description=data.get("description") or "",
            metadata=data.get("metadata") or {},
        )
        return Response(rep.dependency_of(row))

    @extend_schema(
        tags=DEPENDENCIES,
        operation_id="deleteDependency",
        summary="Delete a dependency made through the API",
        parameters=ENDPOINT,
        request=None,
        responses={200: None},
    )
    def delete(self, request, tag_or_id: str, callee: str):
        method, path = _endpoint(request)
        svc.dependency_delete(caller=entity_for(tag_or_id), callee_tag_or_id=callee, method=method, path=path)
        return HttpResponse(status=200)


def _bulk_values(request) -> dict[str, list[dict]]:
    return _body(DependencyBulkInput, request)["values"]


class DependencyBulkView(CatalogEntityView):
    """`PUT` and `DELETE` work on many dependencies. The path also names an entity tagged "dependencies",
    which GET still reads (its DELETE is the bulk delete)."""

    required_permissions = {"GET": "catalog.view_entity", "PUT": EDIT_DEPENDENCIES, "DELETE": EDIT_DEPENDENCIES}

    @extend_schema(exclude=True)
    def get(self, request):
        return super().get(request, tag_or_id="dependencies")

    @extend_schema(
        tags=DEPENDENCIES,
        operation_id="upsertDependenciesInBulk",
        summary="Create or update dependencies of many entities: all of them, or none",
        request=DependencyBulkInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request):
        stored = svc.dependencies_bulk_upsert(values=_bulk_values(request))
        return Response({"values": {tag: [rep.dependency_of(row) for row in rows] for tag, rows in stored.items()}})

    @extend_schema(
        tags=DEPENDENCIES,
        operation_id="deleteDependenciesInBulk",
        summary="Delete dependencies of many entities made through the API: all of them, or none",
        request=DependencyBulkInput,
        responses={200: None},
    )
    def delete(self, request):
        svc.dependencies_bulk_delete(values=_bulk_values(request))
        return HttpResponse(status=200)


# --- relationship types -------------------------------------------------------------------------------------


class RelationshipTypeListView(CortexView):
    required_permissions = {"GET": VIEW_TYPES, "POST": EDIT_TYPES}

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="listRelationshipTypes",
        summary="List relationship types",
        parameters=PAGING,
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        return _paged(
            request, RelationshipType.objects.order_by("tag", "id"), "relationshipTypes", rep.relationship_type_of
        )

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="createRelationshipType",
        summary="Create a relationship type",
        request=RelationshipTypeInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        data = _body(RelationshipTypeInput, request)
        if not data["tag"]:
            raise exceptions.ValidationError({"tag": "This field is required."})
        return Response(rep.relationship_type_of(svc.relationship_type_create(tag=data["tag"], fields=data["fields"])))


class RelationshipTypeView(CortexView):
    required_permissions = {"GET": VIEW_TYPES, "PUT": EDIT_TYPES, "DELETE": "catalog.delete_relationshiptype"}

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="getRelationshipType",
        summary="Retrieve a relationship type",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, type_tag: str):
        return Response(rep.relationship_type_of(svc.relationship_type_for(type_tag)))

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="updateRelationshipType",
        summary="Replace a relationship type's definition",
        request=RelationshipTypeInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, type_tag: str):
        data = _body(RelationshipTypeInput, request)
        if data["tag"] and data["tag"] != type_tag:
            raise exceptions.ValidationError({"tag": f"cannot change from {type_tag!r} to {data['tag']!r}"})
        return Response(rep.relationship_type_of(svc.relationship_type_update(tag=type_tag, fields=data["fields"])))

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="deleteRelationshipType",
        summary="Delete a relationship type and all its relationships",
        request=None,
        responses={200: None},
    )
    def delete(self, request, type_tag: str):
        svc.relationship_type_delete(tag=type_tag)
        return HttpResponse(status=200)


# --- relationships ------------------------------------------------------------------------------------------


def _links():
    return EntityRelationship.objects.select_related("type", "source_entity", "destination_entity")


class RelationshipListView(CortexView):
    """All links of one type: `GET` pages them, `POST` adds, `PUT` replaces them all."""

    required_permissions = {"GET": VIEW_LINKS, "POST": EDIT_LINKS, "PUT": EDIT_LINKS}

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="listRelationships",
        summary="List the relationships of a type",
        parameters=PAGING,
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, type_tag: str):
        rtype = svc.relationship_type_for(type_tag)
        rows = _links().filter(type=rtype).order_by("source_tag", "destination_tag", "id")
        return _paged(request, rows, "relationships", rep.relationship_of)

    def _write(self, request, type_tag: str, *, replace: bool):
        rtype = svc.relationship_type_for(type_tag)
        pairs = [(p["source"], p["destination"]) for p in _body(RelationshipsBulkInput, request)["relationships"]]
        links = svc.relationships_bulk_set(rtype=rtype, pairs=pairs, replace=replace, force=_force(request))
        condition = Q(pk__in=[])
        for source, destination in links:
            condition |= Q(source_tag=source, destination_tag=destination)
        rows = _links().filter(type=rtype).filter(condition).order_by("source_tag", "destination_tag", "id")
        return Response({"relationships": [rep.relationship_of(row) for row in rows]})

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="addRelationships",
        summary="Add relationships of a type: all of them, or none",
        parameters=FORCE,
        request=RelationshipsBulkInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, type_tag: str):
        return self._write(request, type_tag, replace=False)

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="replaceRelationships",
        summary="Replace all relationships of a type",
        parameters=FORCE,
        request=RelationshipsBulkInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, type_tag: str):
        return self._write(request, type_tag, replace=True)


MAX_DEPTH = 10


def _walk(entity, rtype, *, side: str, depth: int, include_archived: bool) -> list[tuple[int, EntityRelationship]]:
    """Links followed from the entity, level by level (one query per level, at most `depth`), each other
    end once, at its smallest depth."""
    near, far = ("source_entity", "destination") if side == "destinations" else ("destination_entity", "source")
    seen = {entity.tag}
    frontier = [entity.pk]
    found: list[tuple[int, EntityRelationship]] = []
    for level in range(1, depth + 1):
        if not frontier:
            break
        rows = _links().filter(type=rtype, **{f"{near}_id__in": frontier}).order_by(f"{far}_tag", "id")
        if not include_archived:
            rows = rows.exclude(**{f"{far}_entity__archived": True})
        frontier = []
        for row in rows:
            tag = getattr(row, f"{far}_tag")
            if tag in seen:
                continue
            seen.add(tag)
            found.append((level, row))
            other = getattr(row, f"{far}_entity")
            if other is not None:
                frontier.append(other.pk)
    return found


class EntityRelationshipsView(CortexView):
    """One entity's destinations or sources of a type (`side` from the URL)."""

    side = "destinations"
    serializer_class = DestinationsInput
    required_permissions = {"GET": VIEW_LINKS, "POST": EDIT_LINKS, "PUT": EDIT_LINKS}

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="listEntityRelations",
        summary="List an entity's destinations (or sources) of a relationship type",
        parameters=[
            OpenApiParameter("depth", int, description=f"Levels to follow, 1..{MAX_DEPTH}; default 1."),
            OpenApiParameter("includeArchived", bool, description="Follow archived entities too; default false."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag_or_id: str, type_tag: str):
        entity = entity_for(tag_or_id)
        rtype = svc.relationship_type_for(type_tag)
        depth = query_int(request, "depth", default=1, low=1, high=MAX_DEPTH)
        include_archived = bool(query_bool(request, "includeArchived", default=False))
        far = "destination" if self.side == "destinations" else "source"
        found = _walk(entity, rtype, side=self.side, depth=depth, include_archived=include_archived)
        return Response(
            {
                self.side: [
                    {
                        **rep.relation_end_of(getattr(row, f"{far}_tag"), getattr(row, f"{far}_entity")),
                        "depth": level,
                        "providerType": "API" if row.origin == "api" else "YAML",
                    }
                    for level, row in found
                ]
            }
        )

    def _write(self, request, tag_or_id: str, type_tag: str, *, replace: bool):
        entity = entity_for(tag_or_id)
        rtype = svc.relationship_type_for(type_tag)
        serializer = DestinationsInput if self.side == "destinations" else SourcesInput
        others = _body(serializer, request)[self.side]
        svc.relationships_set_for_entity(
            entity=entity, rtype=rtype, side=self.side, others=others, replace=replace, force=_force(request)
        )
        return self.get(request, tag_or_id, type_tag)

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="addEntityRelations",
        summary="Add destinations (or sources) of a relationship type to an entity",
        parameters=FORCE,
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, tag_or_id: str, type_tag: str):
        return self._write(request, tag_or_id, type_tag, replace=False)

    @extend_schema(
        tags=RELATIONSHIPS,
        operation_id="replaceEntityRelations",
        summary="Replace an entity's destinations (or sources) of a relationship type",
        parameters=FORCE,
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, tag_or_id: str, type_tag: str):
        return self._write(request, tag_or_id, type_tag, replace=True)


class EntitySourcesView(EntityRelationshipsView):
    side = "sources"
    # For the schema, which cannot guess a body for a plain APIView.
    serializer_class = SourcesInput  # type: ignore[assignment]

    @extend_schema(operation_id="listEntitySources", tags=RELATIONSHIPS)
    def get(self, request, tag_or_id: str, type_tag: str):
        return super().get(request, tag_or_id, type_tag)

    @extend_schema(operation_id="addEntitySources", tags=RELATIONSHIPS, request=OpenApiTypes.OBJECT)
    def post(self, request, tag_or_id: str, type_tag: str):
        return super().post(request, tag_or_id, type_tag)

    @extend_schema(operation_id="replaceEntitySources", tags=RELATIONSHIPS, request=OpenApiTypes.OBJECT)
    def put(self, request, tag_or_id: str, type_tag: str):
        return super().put(request, tag_or_id, type_tag)
