"""The catalog (DESIGN §3): entities with owners, parents, links, custom data and packages."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable

from django.core.validators import RegexValidator
from django.db import models

TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
tag_validator = RegexValidator(TAG_PATTERN, "A tag holds letters, digits, '.', '_' and '-', and starts alphanumeric.")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalise_tag(value: str) -> str:
    """The one stored form of an entity tag, or of a reference to one: ASCII letters in lower case.

    Every place an entity tag enters (descriptors, both APIs' paths and bodies, pushed outcomes, badge and
    dashboard URLs, the admin, imports) passes it through here, so `Payments-API` and `payments-api` name
    the same entity. Only A-Z are folded: a tag holds ASCII only, and folding other letters would let a
    look-alike (the Kelvin sign lower-cases to `k`) reach an entity. Lookups go through
    `EntityQuerySet.by_tags_or_ids`, which normalises too.
    """
    return value.translate(_ASCII_LOWER)


def lower_case_q(field: str) -> models.Q:
    """A check constraint's condition: the column holds only the normalised form (no A-Z). The letters are
    spelled out, not a range or LOWER(), which depend on the database's collation and treat non-ASCII
    letters differently from `normalise_tag`."""
    return ~models.Q(**{f"{field}__regex": f"[{string.ascii_uppercase}]"})


# An entity type is a slug (service, team, ai-agent) or, as Cortex names cloud resources, parts joined by
# `::` (AWS::S3::Bucket), which rules compare against (`dependency.type == "AWS::S3::Bucket"`).
TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*(::[A-Za-z0-9][A-Za-z0-9._-]*)*$"
type_validator = RegexValidator(
    TYPE_PATTERN, "A type is a slug such as service, or a resource type such as AWS::S3::Bucket."
)


def new_public_id() -> str:
    """Cortex-style opaque id: 'en' and 16 hex digits."""
    return "en" + secrets.token_hex(8)


class EntityType(models.TextChoices):
    SERVICE = "service", "Service"
    DOMAIN = "domain", "Domain"
    TEAM = "team", "Team"


def any_group_q(groups: Iterable[str], *, prefix: str = "") -> models.Q:
    """Entities in any of `groups` (`prefix` = "entity__" from a related model). A JSON-text match on the
    quoted group name, case-insensitive: works on SQLite and PostgreSQL alike."""
    condition = models.Q()
    for group in groups:
        condition |= models.Q(**{f"{prefix}groups__icontains": f'"{group}"'})
    return condition


def team_owned_ids(team_tags: Iterable[str]) -> models.QuerySet:
    """Ids of the entities any of these teams (by tag) owns, as a subquery."""
    if not isinstance(team_tags, models.QuerySet):
        team_tags = {normalise_tag(tag) for tag in team_tags}
    return EntityOwner.objects.filter(kind=OwnerKind.GROUP, name__in=team_tags).values("entity_id")


class EntityQuerySet(models.QuerySet):
    def active(self) -> EntityQuerySet:
        return self.filter(archived=False)

    def by_tags_or_ids(self, refs: Iterable[str]) -> EntityQuerySet:
        """The lookup helper: entities named by tag (any letter case) or by public id (`en...`)."""
        wanted = {normalise_tag(ref) for ref in refs}
        return self.filter(models.Q(tag__in=wanted) | models.Q(public_id__in=wanted))

    def by_tag_or_id(self, tag_or_id: str) -> EntityQuerySet:
        return self.by_tags_or_ids([tag_or_id])

    def in_any_group(self, groups: Iterable[str]) -> EntityQuerySet:
        return self.filter(any_group_q(groups))

    def owned_by_teams(self, team_tags: Iterable[str]) -> EntityQuerySet:
        return self.filter(pk__in=team_owned_ids(team_tags))


class Entity(models.Model):
    """A service, domain, team or custom-typed thing in the catalog, identified by its tag."""

    public_id = models.CharField(max_length=18, unique=True, default=new_public_id, editable=False)
    tag = models.CharField(max_length=255, unique=True, validators=[tag_validator])
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=64, default=EntityType.SERVICE, db_index=True, validators=[type_validator])
    description = models.TextField(blank=True)
    groups = models.JSONField(default=list, blank=True)
    git = models.JSONField(null=True, blank=True, help_text="x-cortex-git as declared.")
    git_url = models.CharField(
        max_length=1024, blank=True, help_text="Local path or clone URL git facts are collected from."
    )
    oncall = models.JSONField(null=True, blank=True)
    slos = models.JSONField(default=list, blank=True)
    archived = models.BooleanField(default=False, db_index=True)
    descriptor = models.JSONField(null=True, blank=True, help_text="The last descriptor applied, as parsed.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EntityQuerySet.as_manager()

    class Meta:
        ordering = ["tag"]
        verbose_name_plural = "entities"
        constraints = [models.CheckConstraint(condition=lower_case_q("tag"), name="entity_tag_lower_case")]

    def __str__(self) -> str:
        return self.tag


class EntityParent(models.Model):
    """A parent (domain) named by tag; linked to the entity once it exists, so import order does not matter."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="parent_links")
    tag = models.CharField(max_length=255)
    parent = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="child_links")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "tag"], name="parent_unique_tag"),
            models.CheckConstraint(condition=lower_case_q("tag"), name="parent_tag_lower_case"),
        ]

    def __str__(self) -> str:
        return self.tag


class OwnerKind(models.TextChoices):
    GROUP = "group", "Team"
    EMAIL = "email", "Email"


class EntityOwner(models.Model):
    """An owner: a team (by tag, linked once that team entity exists) or an individual email."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="owners")
    kind = models.CharField(max_length=8, choices=OwnerKind.choices)
    name = models.CharField(max_length=255, blank=True, help_text="Team tag for team owners.")
    team = models.ForeignKey(
        Entity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned",
        limit_choices_to={"type": "team"},
    )
    email = models.EmailField(blank=True)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="group") & ~models.Q(name=""))
                | (models.Q(kind="email") & ~models.Q(email="")),
                name="owner_has_name_or_email",
            ),
            models.CheckConstraint(condition=lower_case_q("name"), name="owner_team_tag_lower_case"),
        ]

    def __str__(self) -> str:
        return self.name if self.kind == OwnerKind.GROUP else self.email


class EntityLink(models.Model):
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="links")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=64, db_index=True)
    url = models.URLField(max_length=2048)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class CustomDataSource(models.TextChoices):
    DESCRIPTOR = "descriptor", "Descriptor"
    API = "api", "API"


class CustomData(models.Model):
    """One custom-data key of an entity; any JSON value. Keys from the descriptor and the API coexist."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="custom_data")
    key = models.CharField(max_length=255)
    value = models.JSONField(null=True, blank=True)
    description = models.CharField(max_length=1024, blank=True)
    source = models.CharField(max_length=16, choices=CustomDataSource.choices, default=CustomDataSource.DESCRIPTOR)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "custom data"
        constraints = [models.UniqueConstraint(fields=["entity", "key"], name="custom_data_unique_key")]

    def __str__(self) -> str:
        return self.key


class EntityPackage(models.Model):
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="packages")
    name = models.CharField(max_length=255)
    version = models.CharField(max_length=128, blank=True)
    manager = models.CharField(max_length=32, blank=True, help_text="pip, npm, maven, go, nuget ...")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["entity", "manager", "name"], name="package_unique")]

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


# --- dependencies and relationships -----------------------------------------------------------------------

# Where a dependency or relationship row came from: the entity's descriptor, or the API. Applying a
# descriptor replaces its own rows and keeps the API's (as custom data does).
RecordSource = CustomDataSource

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
DEPENDENCY_PATH_MAX = 512
DESCRIPTION_MAX = 4000
METADATA_MAX_BYTES = 64 * 1024


class EntityDependency(models.Model):
    """An outgoing dependency of `caller` on the entity tagged `callee_tag`, optionally on one endpoint
    (`method` and `path`, both or neither). Kept by tag so a dependency on an entity not yet in the catalog
    is stored, and linked (`callee`) once that entity exists, as parents are."""

    caller = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="dependencies_out")
    callee_tag = models.CharField(max_length=255, db_index=True)
    callee = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="dependencies_in")
    method = models.CharField(
        max_length=8, blank=True, choices=[(m, m) for m in HTTP_METHODS], help_text="Empty: the whole entity."
    )
    path = models.CharField(max_length=DEPENDENCY_PATH_MAX, blank=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=RecordSource.choices, default=RecordSource.DESCRIPTOR)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["callee_tag", "method", "path", "id"]
        verbose_name_plural = "entity dependencies"
        constraints = [
            models.UniqueConstraint(fields=["caller", "callee_tag", "method", "path"], name="dependency_unique"),
            models.CheckConstraint(condition=lower_case_q("callee_tag"), name="dependency_callee_tag_lower_case"),
            models.CheckConstraint(
                condition=(models.Q(method="") & models.Q(path="")) | (~models.Q(method="") & ~models.Q(path="")),
                name="dependency_method_with_path",
            ),
        ]

    def __str__(self) -> str:
        endpoint = f" {self.method} {self.path}" if self.method else ""
        return f"{self.caller_id} -> {self.callee_tag}{endpoint}"


class DefinitionLocation(models.TextChoices):
    SOURCE = "SOURCE", "Source"
    DESTINATION = "DESTINATION", "Destination"
    BOTH = "BOTH", "Both"


class RelationshipType(models.Model):
    """A kind of link between entities (Cortex's entity relationship types): what it means, which entity
    types may stand at each end, whether it may form cycles, and which descriptor may declare it."""

    tag = models.CharField(max_length=255, unique=True, validators=[tag_validator])
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    definition_location = models.CharField(
        max_length=16, choices=DefinitionLocation.choices, default=DefinitionLocation.SOURCE
    )
    allow_cycles = models.BooleanField(default=False)
    create_catalog = models.BooleanField(default=False)
    is_single_source = models.BooleanField(default=False, help_text="A destination has at most one source.")
    is_single_destination = models.BooleanField(default=False, help_text="A source has at most one destination.")
    sources_filter = models.JSONField(default=dict, blank=True, help_text='{"include": bool, "types": [...]}')
    destinations_filter = models.JSONField(default=dict, blank=True, help_text='{"include": bool, "types": [...]}')
    inheritances = models.JSONField(default=list, blank=True)
    source_label_singular = models.CharField(max_length=255, blank=True)
    source_label_plural = models.CharField(max_length=255, blank=True)
    destination_label_singular = models.CharField(max_length=255, blank=True)
    destination_label_plural = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tag"]

    def __str__(self) -> str:
        return self.tag


class EntityRelationship(models.Model):
    """One link of a relationship type, from a source entity to a destination entity. Both ends are kept
    by tag and linked once the entity exists: a descriptor names the other end by tag (its destinations,
    or its sources for a type defined on the destination), and that entity may come later."""

    type = models.ForeignKey(RelationshipType, on_delete=models.CASCADE, related_name="relationships")
    source_tag = models.CharField(max_length=255, db_index=True)
    source_entity = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="relationships_out"
    )
    destination_tag = models.CharField(max_length=255, db_index=True)
    destination_entity = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="relationships_in"
    )
    origin = models.CharField(
        max_length=16,
        choices=RecordSource.choices,
        default=RecordSource.DESCRIPTOR,
        help_text="Where the link was written: a descriptor or the API.",
    )
    declared_by = models.ForeignKey(
        Entity,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="declared_relationships",
        help_text="The entity whose descriptor declares the link; re-applying it replaces its links.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["type", "source_tag", "destination_tag"]
        constraints = [
            models.UniqueConstraint(fields=["type", "source_tag", "destination_tag"], name="relationship_unique"),
            models.CheckConstraint(
                condition=lower_case_q("source_tag") & lower_case_q("destination_tag"),
                name="relationship_tags_lower_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_tag} -[{self.type_id}]-> {self.destination_tag}"
