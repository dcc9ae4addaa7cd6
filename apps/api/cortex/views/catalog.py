"""Cortex v1 catalog operations the CLI uses: list, apply an entity descriptor, get, descriptor, archive,
unarchive, delete, custom data."""

from __future__ import annotations

from django.db.models import Prefetch, Q
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from apps.api.cortex import representations as rep
from apps.api.cortex.base import CortexView, Page
from apps.api.cortex.docs import CustomDataDoc
from apps.api.cortex.errors import cortex_exception_handler, violation
from apps.api.cortex.serializers import CustomDataBulkInput, CustomDataInput
from apps.api.cortex.views.lookups import (
    TAG,
    YAML_BODY,
    entity_for,
    text_body,
)
from apps.api.params import query_bool, query_list
from apps.catalog.descriptors import entity_descriptor_document, parse_entity_descriptor
from apps.catalog.models import CustomData, Entity, EntityOwner, EntityRelationship
from apps.catalog.services import (
    custom_data_bulk_set,
    custom_data_delete,
    custom_data_set,
    entity_apply_descriptor,
    entity_archive,
    entity_delete,
    entity_delete_many,
    entity_patch_descriptor,
    entity_unarchive,
)
from apps.core.errors import NotFoundError
from apps.core.yamlio import dump_yaml


def _with_ok_false(exc, context):
    """`ok: false` on a refused descriptor, as Cortex answers. No empty `violations`: the CLI would print
    "Validation failed" and nothing else (a Viewer would never learn that a permission is missing)."""
    response = cortex_exception_handler(exc, context)
    if isinstance(response.data, dict):
        response.data = {"ok": False, **response.data}
    return response


def _applied(*, tag: str, entity: Entity | None, action: str, warnings: list, dry_run: bool) -> Response:
    if dry_run:
        action = "would update" if entity is not None else "would create"
    return Response(
        {
            "ok": True,
            "violations": [violation(w) for w in warnings],
            "action": action,
            "tag": tag,
            "id": entity.public_id if entity is not None else None,
        }
    )


class CatalogDescriptorView(CortexView):
    required_permissions = {"POST": "catalog.change_entity", "PATCH": "catalog.change_entity"}

    def get_exception_handler(self):
        return _with_ok_false

    @extend_schema(
        tags=TAG,
        operation_id="createOrUpdateEntity",
        summary="Create or update an entity from its OpenAPI-style descriptor",
        parameters=[OpenApiParameter("dryRun", bool, description="Validate only; write nothing.")],
        request={"application/openapi": {"type": "string"}, **YAML_BODY},
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        text = text_body(request)
        if query_bool(request, "dryRun", default=False):
            spec, warnings = parse_entity_descriptor(text, source="descriptor")
            existing = Entity.objects.filter(tag=spec.tag).only("public_id").first()
            return _applied(tag=spec.tag, entity=existing, action="valid", warnings=warnings, dry_run=True)
        entity, action, warnings = entity_apply_descriptor(text=text, source="descriptor")
        assert entity is not None  # set by every apply that did not raise
        return _applied(tag=entity.tag, entity=entity, action=action, warnings=warnings, dry_run=False)

    @extend_schema(
        tags=TAG,
        operation_id="patchEntity",
        summary="Create or patch an entity: merge a partial descriptor into the one it has",
        parameters=[
            OpenApiParameter("dryRun", bool, description="Validate the merged descriptor only; write nothing."),
            OpenApiParameter("appendArrays", bool, description="Append the patch's list items; default replace."),
            OpenApiParameter(
                "deleteMarkerValue", str, description="Keys with this value are removed, e.g. __delete__."
            ),
            OpenApiParameter("failIfEntityDoesNotExist", bool, description="404 instead of creating the entity."),
        ],
        request={"application/openapi": {"type": "string"}, **YAML_BODY},
        responses={200: OpenApiTypes.OBJECT},
    )
    def patch(self, request):
        dry_run = bool(query_bool(request, "dryRun", default=False))
        tag, entity, action, warnings = entity_patch_descriptor(
            text=text_body(request),
            source="descriptor",
            append_arrays=bool(query_bool(request, "appendArrays", default=False)),
            delete_marker=request.query_params.get("deleteMarkerValue") or None,
            fail_if_missing=bool(query_bool(request, "failIfEntityDoesNotExist", default=False)),
            dry_run=dry_run,
        )
        return _applied(tag=tag, entity=entity, action=action, warnings=warnings, dry_run=dry_run)


def _entity_details(tag_or_id: str) -> Entity:
    return entity_for(
        tag_or_id,
        Entity.objects.prefetch_related(
            Prefetch("owners", queryset=EntityOwner.objects.select_related("team").order_by("kind", "name", "email")),
            "links",
            "custom_data",
            "parent_links",
        ),
    )


class CatalogEntityView(CortexView):
    required_permissions = {"GET": "catalog.view_entity", "DELETE": "catalog.delete_entity"}

    @extend_schema(
        tags=TAG,
        operation_id="getEntity",
        summary="Retrieve an entity",
        parameters=[OpenApiParameter("hierarchyDepth", str), OpenApiParameter("includeHierarchyFields", str)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag_or_id: str):
        return Response(rep.entity_of(_entity_details(tag_or_id)))

    @extend_schema(
        tags=TAG, operation_id="deleteEntity", summary="Delete an entity", request=None, responses={200: None}
    )
    def delete(self, request, tag_or_id: str):
        entity_delete(tag_or_id=tag_or_id)
        return HttpResponse(status=200)


class CustomDataView(CortexView):
    required_permissions = {
        "GET": "catalog.view_customdata",
        "POST": "catalog.change_customdata",
        "DELETE": "catalog.delete_customdata",
    }

    @extend_schema(
        tags=TAG,
        operation_id="listCustomData",
        summary="List an entity's custom data",
        parameters=[
            OpenApiParameter("page", int, description="0-based page, default 0."),
            OpenApiParameter("pageSize", int, description="1..1000, default 250."),
        ],
        responses={200: CustomDataDoc(many=True)},
    )
    def get(self, request, tag_or_id: str):
        # As Cortex: a bare array, paged by page/pageSize, empty past the end (how the CLI's pager stops).
        entity = entity_for(tag_or_id)
        rows = Page.from_request(request).slice(CustomData.objects.filter(entity=entity).order_by("key", "id"))
        return Response([rep.custom_data_of(row) for row in rows])

    @extend_schema(
        tags=TAG,
        operation_id="addCustomData",
        summary="Add or update one custom data key",
        parameters=[OpenApiParameter("force", bool, description="Override a key the descriptor defines.")],
        request=CustomDataInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, tag_or_id: str):
        entity = entity_for(tag_or_id)
        data = CustomDataInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = custom_data_set(
            entity=entity,
            key=data.validated_data["key"],
            value=data.validated_data["value"],
            description=data.validated_data.get("description") or "",
            force=bool(query_bool(request, "force", default=False)),
        )
        return Response(rep.custom_data_of(row))

    @extend_schema(
        tags=TAG,
        operation_id="deleteCustomData",
        summary="Delete one custom data key",
        parameters=[OpenApiParameter("key", str, required=True), OpenApiParameter("force", bool)],
        request=None,
        responses={200: None},
    )
    def delete(self, request, tag_or_id: str):
        entity = entity_for(tag_or_id)
        key = request.query_params.get("key", "")
        if not key:
            raise exceptions.ValidationError({"key": "is required"})
        custom_data_delete(entity=entity, key=key, force=bool(query_bool(request, "force", default=False)))
        return HttpResponse(status=200)


class CustomDataBulkView(CatalogEntityView):
    """PUT sets keys on many entities at once. The path also names an entity tagged "custom-data" for GET/DELETE."""

    required_permissions = {**CatalogEntityView.required_permissions, "PUT": "catalog.change_customdata"}

    @extend_schema(exclude=True)
    def get(self, request):
        return super().get(request, tag_or_id="custom-data")

    @extend_schema(exclude=True)
    def delete(self, request):
        return super().delete(request, tag_or_id="custom-data")

    @extend_schema(
        tags=TAG,
        operation_id="addCustomDataInBulk",
        summary="Add or update custom data of many entities: all of it, or nothing",
        parameters=[OpenApiParameter("force", bool, description="Override keys the descriptors define.")],
        request=CustomDataBulkInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request):
        data = CustomDataBulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        stored = custom_data_bulk_set(
            values={
                tag: [(item["key"], item["value"], item.get("description") or "") for item in items]
                for tag, items in data.validated_data["values"].items()
            },
            force=bool(query_bool(request, "force", default=False)),
        )
        return Response({"values": {tag: [rep.custom_data_of(row) for row in rows] for tag, rows in stored.items()}})


class CustomDataKeyView(CortexView):
    required_permissions = {"GET": "catalog.view_customdata"}

    @extend_schema(
        tags=TAG,
        operation_id="getCustomData",
        summary="Retrieve one custom data key",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag_or_id: str, key: str):
        entity = entity_for(tag_or_id)
        row = CustomData.objects.filter(entity=entity, key=key).first()
        if row is None:
            raise NotFoundError(f"entity {entity.tag!r} has no custom data key {key!r}")
        return Response(rep.custom_data_of(row))


# --- list, descriptor, archive ---------------------------------------------------------------------------

_GIT_PREFIXES = {"github": "github", "gitlab": "gitlab", "bitbucket": "bitbucket", "azure-devops": "azure"}


def _git_repository_q(value: str) -> Q:
    """`org/repo` (GitHub, as Cortex), or `github:`, `gitlab:`, `bitbucket:`, `azure-devops:` prefixed."""
    prefix, _, rest = value.partition(":")
    if rest and prefix.lower() in _GIT_PREFIXES:
        return Q(**{f"git__{_GIT_PREFIXES[prefix.lower()]}__repository": rest})
    return Q(git__github__repository=value)


class CatalogListView(CortexView):
    required_permissions = {"GET": "catalog.view_entity", "DELETE": "catalog.delete_entity"}

    @extend_schema(
        tags=TAG,
        operation_id="listEntities",
        summary="List entities",
        parameters=[
            OpenApiParameter("groups", str, description="Comma-separated groups (x-cortex-groups); any matches."),
            OpenApiParameter("owners", str, description="Comma-separated owner team tags; any matches."),
            OpenApiParameter("types", str, description="Comma-separated entity types."),
            OpenApiParameter("gitRepositories", str, description="Comma-separated org/repo (GitHub) or provider:repo."),
            OpenApiParameter("includeArchived", bool, description="Archived entities too; default false."),
            OpenApiParameter("includeOwners", bool),
            OpenApiParameter("includeLinks", bool),
            OpenApiParameter("includeMetadata", bool, description="Custom data as metadata [{key, value}]."),
            OpenApiParameter("hierarchyDepth", str),
            OpenApiParameter("includeHierarchyFields", str),
            OpenApiParameter("includeNestedFields", str),
            OpenApiParameter("page", int, description="0-based page, default 0."),
            OpenApiParameter("pageSize", int, description="1..1000, default 250."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        page = Page.from_request(request)
        with_owners, with_links, with_metadata = (
            bool(query_bool(request, name, default=False))
            for name in ("includeOwners", "includeLinks", "includeMetadata")
        )
        entities = Entity.objects.all()
        if not query_bool(request, "includeArchived", default=False):
            entities = entities.filter(archived=False)
        groups, owners, types, repositories = (
            query_list(request, name) for name in ("groups", "owners", "types", "gitRepositories")
        )
        if groups:
            entities = entities.in_any_group(groups)
        if owners:
            entities = entities.owned_by_teams(owners)
        if types:
            entities = entities.filter(type__in=[t.lower() for t in types])
        if repositories:
            any_repository = Q()
            for repository in repositories:
                any_repository |= _git_repository_q(repository)
            entities = entities.filter(any_repository)
        total = entities.count()
        prefetch = []
        if with_owners:
            prefetch.append(
                Prefetch(
                    "owners", queryset=EntityOwner.objects.select_related("team").order_by("kind", "name", "email")
                )
            )
        if with_links:
            prefetch.append("links")
        if with_metadata:
            prefetch.append("custom_data")
        rows = list(page.slice(entities.order_by("tag", "id").prefetch_related(*prefetch)))
        return Response(
            {
                "entities": [
                    rep.entity_summary_of(e, owners=with_owners, links=with_links, metadata=with_metadata) for e in rows
                ],
                "page": page.number,
                "total": total,
                "totalPages": page.total_pages(total),
            }
        )

    @extend_schema(
        tags=TAG,
        operation_id="deleteEntitiesById",
        summary="Delete entities by id: all of them, or none when one is unknown",
        parameters=[
            OpenApiParameter("ids", str, many=True, required=True, description="Entity ids (en...) or tags."),
        ],
        request=None,
        responses={200: None},
    )
    def delete(self, request):
        ids = query_list(request, "ids")
        if not ids:
            raise exceptions.ValidationError({"ids": "is required: the ids (en...) of the entities to delete"})
        entity_delete_many(ids=ids)
        return HttpResponse(status=200)


# Everything `entity_to_document` reads, for entities never applied from a descriptor.
_DOCUMENT_PREFETCH = (
    "owners",
    "parent_links",
    "links",
    "custom_data",
    "packages",
    "dependencies_out",
    Prefetch("declared_relationships", queryset=EntityRelationship.objects.select_related("type")),
)


class CatalogDescriptorsView(CatalogEntityView):
    """GET lists descriptors, a page at a time. The path also names an entity tagged "descriptors" for DELETE
    (read it by its id, or at /catalog/descriptors/openapi)."""

    @extend_schema(
        tags=TAG,
        operation_id="listEntityDescriptors",
        summary="List entity descriptors (those applied, not custom data or dependencies set through the API)",
        parameters=[
            OpenApiParameter("yaml", bool, description="Each descriptor as YAML text instead of JSON."),
            OpenApiParameter("types", str, description="Comma-separated entity types."),
            OpenApiParameter("includeArchived", bool, description="Archived entities too; default false."),
            OpenApiParameter("page", int, description="0-based page, default 0."),
            OpenApiParameter("pageSize", int, description="1..1000, default 250."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        page = Page.from_request(request)
        as_yaml = bool(query_bool(request, "yaml", default=False))
        entities = Entity.objects.all()
        if not query_bool(request, "includeArchived", default=False):
            entities = entities.filter(archived=False)
        types = query_list(request, "types")
        if types:
            entities = entities.filter(type__in=[t.lower() for t in types])
        total = entities.count()
        rows = page.slice(entities.order_by("tag", "id").prefetch_related(*_DOCUMENT_PREFETCH))
        documents = [entity_descriptor_document(entity) for entity in rows]
        return Response(
            {
                "descriptors": [dump_yaml(d) for d in documents] if as_yaml else documents,
                "page": page.number,
                "total": total,
                "totalPages": page.total_pages(total),
            }
        )

    @extend_schema(exclude=True)
    def delete(self, request):
        return super().delete(request, tag_or_id="descriptors")


class EntityDescriptorView(CortexView):
    required_permissions = {"GET": "catalog.view_entity"}

    def perform_content_negotiation(self, request, force=False):
        # JSON or YAML text whatever the client accepts: `Accept: application/yaml` must not be a 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=TAG,
        operation_id="getEntityDescriptor",
        summary="Retrieve an entity's descriptor (JSON, or YAML text with yaml=true)",
        parameters=[OpenApiParameter("yaml", bool, description="YAML text instead of JSON; default false.")],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "application/yaml"): str},
    )
    def get(self, request, tag_or_id: str):
        as_yaml = bool(query_bool(request, "yaml", default=False))
        entity = entity_for(
            tag_or_id,
            Entity.objects.prefetch_related("owners", "parent_links", "links", "custom_data", "packages"),
        )
        document = entity_descriptor_document(entity)
        if as_yaml:
            return HttpResponse(dump_yaml(document), content_type="application/yaml; charset=utf-8")
        return Response(document)


class EntityArchiveView(CortexView):
    required_permissions = {"PUT": "catalog.change_entity"}

    @extend_schema(
        tags=TAG,
        operation_id="archiveEntity",
        summary="Archive an entity (it leaves every scorecard)",
        request=None,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, tag_or_id: str):
        entity, _ = entity_archive(tag_or_id=tag_or_id)
        return Response(rep.entity_of(_entity_details(entity.public_id)))


class EntityUnarchiveView(CortexView):
    required_permissions = {"PUT": "catalog.change_entity"}

    @extend_schema(
        tags=TAG,
        operation_id="unarchiveEntity",
        summary="Unarchive an entity (it is evaluated again)",
        request=None,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, tag_or_id: str):
        entity, _ = entity_unarchive(tag_or_id=tag_or_id)
        return Response(rep.entity_of(_entity_details(entity.public_id)))
