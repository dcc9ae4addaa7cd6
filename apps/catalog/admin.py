"""Admin for the catalog. Entities normally come from descriptors; the admin is for looking and quick fixes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest

from apps.catalog.models import (
    CustomData,
    Entity,
    EntityDependency,
    EntityLink,
    EntityOwner,
    EntityPackage,
    EntityParent,
    EntityRelationship,
    OwnerKind,
    RelationshipType,
    normalise_tag,
)
from apps.core.score_inputs import score_inputs_changed

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _TeamOwners(TypedDict):  # EntityAdmin.get_queryset's Prefetch(to_attr="team_owners")
        team_owners: list[EntityOwner]


class TagsNormalisedForm(forms.ModelForm):
    """Entity tags typed in the admin are stored in `normalise_tag`'s form, as from every other entry, before
    the uniqueness and constraint checks run: `Payments-API` edits or names the entity `payments-api`."""

    tag_fields: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        for name in self.tag_fields:
            if isinstance(cleaned.get(name), str):
                cleaned[name] = normalise_tag(cleaned[name])
        return cleaned


def tags_normalised(*fields: str) -> type[TagsNormalisedForm]:
    return type("TagsNormalisedForm", (TagsNormalisedForm,), {"tag_fields": fields})


class EntityOwnerInline(admin.TabularInline):
    model = EntityOwner
    form = tags_normalised("name")
    fk_name = "entity"  # EntityOwner also points at Entity through `team`
    fields = ("kind", "name", "team", "email", "description")
    autocomplete_fields = ("team",)
    extra = 0


class EntityParentInline(admin.TabularInline):
    model = EntityParent
    form = tags_normalised("tag")
    fk_name = "entity"  # and `parent` is the other foreign key to Entity
    fields = ("tag", "parent")
    autocomplete_fields = ("parent",)
    extra = 0
    verbose_name = "parent"
    verbose_name_plural = "parents"


# Links without a scheme are https; also what Django 6 will assume.
_URL_FIELDS: dict[type[models.Field], dict[str, str]] = {models.URLField: {"assume_scheme": "https"}}


class EntityLinkInline(admin.TabularInline):
    model = EntityLink
    formfield_overrides = _URL_FIELDS
    fields = ("name", "type", "url")
    extra = 0


class CustomDataInline(admin.TabularInline):
    model = CustomData
    fields = ("key", "value", "description", "source", "updated_at")
    readonly_fields = ("updated_at",)
    extra = 0


class EntityPackageInline(admin.TabularInline):
    model = EntityPackage
    fields = ("name", "version", "manager")
    extra = 0


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    form = tags_normalised("tag")
    list_display = ("tag", "name", "type", "groups_list", "owner_teams", "archived", "updated_at")
    list_filter = ("type", "archived")
    search_fields = ("tag", "name", "description")
    readonly_fields = ("public_id", "descriptor", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("tag", "public_id", "name", "type", "description", "groups", "archived")}),
        ("Integrations", {"fields": ("git", "git_url", "oncall", "slos")}),
        (
            "Descriptor",
            {
                "classes": ("collapse",),
                "description": "The last descriptor applied, as parsed. Re-applying it overwrites admin edits.",
                "fields": ("descriptor", "created_at", "updated_at"),
            },
        ),
    )
    inlines = (EntityOwnerInline, EntityParentInline, EntityLinkInline, CustomDataInline, EntityPackageInline)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # Fields and inlines (owners, links, custom data, packages) were written directly: announce them.
        score_inputs_changed(entity_ids=[form.instance.pk], why=f"entity {form.instance.tag} edited in the admin")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entity]:
        # One extra query for the whole page's owner teams, instead of one per row.
        team_owners = EntityOwner.objects.filter(kind=OwnerKind.GROUP).order_by("name")
        return super().get_queryset(request).prefetch_related(Prefetch("owners", team_owners, to_attr="team_owners"))

    @admin.display(description="Groups")
    def groups_list(self, obj: Entity) -> str:
        return ", ".join(obj.groups or [])

    @admin.display(description="Owner teams")
    def owner_teams(self, obj: WithAnnotations[Entity, _TeamOwners]) -> str:
        return ", ".join(owner.name for owner in obj.team_owners)


class EntityPartAdmin(admin.ModelAdmin):
    """Owners, parents, links, custom data and packages edited on their own pages are inputs of their
    entity's scores: every save and delete (one or a selection) announces the entities it touched."""

    def save_model(self, request, obj, form, change) -> None:
        previous = type(obj).objects.filter(pk=obj.pk).values_list("entity_id", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        score_inputs_changed(entity_ids={obj.entity_id, previous or obj.entity_id}, why="catalog edited in the admin")

    def delete_model(self, request, obj) -> None:
        entity_id = obj.entity_id
        super().delete_model(request, obj)
        score_inputs_changed(entity_ids=[entity_id], why="catalog edited in the admin")

    def delete_queryset(self, request, queryset) -> None:
        entity_ids = set(queryset.values_list("entity_id", flat=True))
        super().delete_queryset(request, queryset)
        score_inputs_changed(entity_ids=entity_ids, why="catalog edited in the admin")


@admin.register(EntityOwner)
class EntityOwnerAdmin(EntityPartAdmin):
    form = tags_normalised("name")
    list_display = ("entity", "kind", "name", "team", "email")
    list_filter = ("kind",)
    list_select_related = ("entity", "team")
    search_fields = ("entity__tag", "name", "email")
    autocomplete_fields = ("entity", "team")


@admin.register(EntityParent)
class EntityParentAdmin(EntityPartAdmin):
    form = tags_normalised("tag")
    list_display = ("entity", "tag", "parent")
    list_select_related = ("entity", "parent")
    search_fields = ("entity__tag", "tag")
    autocomplete_fields = ("entity", "parent")


@admin.register(EntityLink)
class EntityLinkAdmin(EntityPartAdmin):
    formfield_overrides = _URL_FIELDS
    list_display = ("entity", "name", "type", "url")
    list_filter = ("type",)
    list_select_related = ("entity",)
    search_fields = ("entity__tag", "name", "url")
    autocomplete_fields = ("entity",)


@admin.register(CustomData)
class CustomDataAdmin(EntityPartAdmin):
    list_display = ("entity", "key", "value", "source", "updated_at")
    list_filter = ("source", "key")
    list_select_related = ("entity",)
    search_fields = ("entity__tag", "key")
    readonly_fields = ("updated_at",)
    autocomplete_fields = ("entity",)


@admin.register(EntityPackage)
class EntityPackageAdmin(EntityPartAdmin):
    """Also answers "who still runs Django 3.2?": filter by name, search by version."""

    list_display = ("entity", "name", "version", "manager")
    list_filter = ("manager", "name")
    list_select_related = ("entity",)
    search_fields = ("entity__tag", "name", "version")
    autocomplete_fields = ("entity",)


class _EndsAnnounced(admin.ModelAdmin):
    """Dependencies and relationships are inputs of the scores of the entities at both ends: every save and
    delete announces them (before and after an edit)."""

    ends: tuple[str, str] = ("", "")

    def _end_ids(self, rows) -> set[int]:
        return {pk for row in rows for pk in (getattr(row, f"{self.ends[0]}_id"), getattr(row, f"{self.ends[1]}_id"))}

    def save_model(self, request, obj, form, change) -> None:
        before = self._end_ids(type(obj).objects.filter(pk=obj.pk)) if change else set()
        super().save_model(request, obj, form, change)
        ids = (before | self._end_ids([obj])) - {None}
        score_inputs_changed(entity_ids=ids, why="dependencies or relationships edited in the admin")

    def delete_model(self, request, obj) -> None:
        ids = self._end_ids([obj]) - {None}
        super().delete_model(request, obj)
        score_inputs_changed(entity_ids=ids, why="dependencies or relationships edited in the admin")

    def delete_queryset(self, request, queryset) -> None:
        ids = self._end_ids(queryset) - {None}
        super().delete_queryset(request, queryset)
        score_inputs_changed(entity_ids=ids, why="dependencies or relationships edited in the admin")


@admin.register(EntityDependency)
class EntityDependencyAdmin(_EndsAnnounced):
    form = tags_normalised("callee_tag")
    ends = ("caller", "callee")
    list_display = ("caller", "callee_tag", "callee", "method", "path", "source", "updated_at")
    list_filter = ("source", "method")
    list_select_related = ("caller", "callee")
    search_fields = ("caller__tag", "callee_tag", "path", "description")
    autocomplete_fields = ("caller", "callee")
    readonly_fields = ("created_at", "updated_at")


@admin.register(RelationshipType)
class RelationshipTypeAdmin(admin.ModelAdmin):
    """Deleting a type deletes its links: that goes through the service, which re-scores their ends."""

    list_display = ("tag", "name", "definition_location", "allow_cycles", "is_single_source", "is_single_destination")
    list_filter = ("definition_location", "allow_cycles")
    search_fields = ("tag", "name", "description")
    readonly_fields = ("created_at", "updated_at")

    def delete_model(self, request, obj) -> None:
        from apps.catalog.relations import relationship_type_delete

        relationship_type_delete(tag=obj.tag)

    def delete_queryset(self, request, queryset) -> None:
        from apps.catalog.relations import relationship_type_delete

        for tag in queryset.values_list("tag", flat=True):
            relationship_type_delete(tag=tag)


@admin.register(EntityRelationship)
class EntityRelationshipAdmin(_EndsAnnounced):
    form = tags_normalised("source_tag", "destination_tag")
    ends = ("source_entity", "destination_entity")
    list_display = ("type", "source_tag", "destination_tag", "origin", "declared_by", "created_at")
    list_filter = ("type", "origin")
    list_select_related = ("type", "declared_by")
    search_fields = ("source_tag", "destination_tag", "type__tag")
    autocomplete_fields = ("source_entity", "destination_entity", "declared_by")
    readonly_fields = ("created_at",)
