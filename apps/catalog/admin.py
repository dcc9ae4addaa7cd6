"""Admin for the catalog. Entities normally come from descriptors; the admin is for looking and quick fixes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin
from django.db import models
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest

from apps.catalog.models import (
    CustomData,
    Entity,
    EntityLink,
    EntityOwner,
    EntityPackage,
    EntityParent,
    OwnerKind,
)
from apps.core.score_inputs import score_inputs_changed

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _TeamOwners(TypedDict):  # EntityAdmin.get_queryset's Prefetch(to_attr="team_owners")
        team_owners: list[EntityOwner]


class EntityOwnerInline(admin.TabularInline):
    model = EntityOwner
    fk_name = "entity"  # EntityOwner also points at Entity through `team`
    fields = ("kind", "name", "team", "email", "description")
    autocomplete_fields = ("team",)
    extra = 0


class EntityParentInline(admin.TabularInline):
    model = EntityParent
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
    list_display = ("entity", "kind", "name", "team", "email")
    list_filter = ("kind",)
    list_select_related = ("entity", "team")
    search_fields = ("entity__tag", "name", "email")
    autocomplete_fields = ("entity", "team")


@admin.register(EntityParent)
class EntityParentAdmin(EntityPartAdmin):
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
