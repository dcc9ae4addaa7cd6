"""`entity_to_document`: the descriptor of a stored entity, which applies back without changing it."""

from __future__ import annotations

import json

import pytest

from apps.catalog.descriptors import entity_descriptor_document, entity_to_document
from apps.catalog.models import (
    CustomData,
    CustomDataSource,
    Entity,
    EntityLink,
    EntityOwner,
    EntityPackage,
    EntityParent,
    OwnerKind,
)
from apps.catalog.services import entity_apply_descriptor
from apps.core.yamlio import dump_yaml

pytestmark = pytest.mark.django_db


def state(entity: Entity) -> dict:
    entity = Entity.objects.get(pk=entity.pk)
    return {
        **{
            name: getattr(entity, name)
            for name in ("public_id", "tag", "name", "type", "description", "groups", "git", "oncall", "slos")
        },
        "archived": entity.archived,
        "owners": list(entity.owners.order_by("id").values_list("kind", "name", "email", "description", "team_id")),
        "parents": list(entity.parent_links.order_by("id").values_list("tag", "parent_id")),
        "links": list(entity.links.order_by("id").values_list("name", "type", "url")),
        "custom": sorted(entity.custom_data.values_list("key", "value", "description", "source")),
        "packages": sorted(entity.packages.values_list("name", "version", "manager")),
    }


@pytest.fixture
def stored():
    """An entity with every field filled in, written without a descriptor (as the admin or an outcome push)."""
    team = Entity.objects.create(tag="team-pay", name="Team Pay", type="team")
    domain = Entity.objects.create(tag="money", name="Money", type="domain")
    entity = Entity.objects.create(
        tag="card-api",
        name="Card API",
        type="service",
        description="Charges cards.\nSecond line: with a colon.",
        groups=["payments", "tier-1"],
        git={"github": {"repository": "acme/card-api", "basepath": "svc"}},
        oncall={"pagerduty": {"id": "P123", "type": "SERVICE"}},
        slos=[{"name": "latency", "target": 99.9}],
        archived=True,
    )
    EntityOwner.objects.create(entity=entity, kind=OwnerKind.GROUP, name="team-pay", team=team)
    EntityOwner.objects.create(entity=entity, kind=OwnerKind.EMAIL, email="ann@example.com", description="Lead")
    EntityParent.objects.create(entity=entity, tag="money", parent=domain)
    EntityLink.objects.create(entity=entity, name="Docs", type="documentation", url="https://docs.example.com/card")
    EntityLink.objects.create(entity=entity, name="Runbook", type="runbook", url="https://rb.example.com/card")
    for key, value, description in (
        ("tier", 1, ""),
        ("cost", {"center": 42}, "Finance code"),
        ("shape", {"value": "looks long", "description": "but is a value"}, ""),
        ("flags", [True, None, 1.5], ""),
    ):
        CustomData.objects.create(entity=entity, key=key, value=value, description=description)
    CustomData.objects.create(entity=entity, key="set-by-api", value="x", source=CustomDataSource.API)
    EntityPackage.objects.create(entity=entity, name="requests", version="2.32.0", manager="pip")
    EntityPackage.objects.create(entity=entity, name="left-pad", version="", manager="")
    return entity


def test_document_holds_every_stored_field(stored):
    info = entity_to_document(stored)["info"]
    assert info["x-cortex-tag"] == "card-api" and info["title"] == "Card API"
    assert info["x-cortex-owners"] == [
        {"type": "group", "name": "team-pay"},
        {"type": "email", "email": "ann@example.com", "description": "Lead"},
    ]
    assert info["x-cortex-parents"] == [{"tag": "money"}]
    assert info["x-cortex-custom-metadata"] == {
        "cost": {"value": {"center": 42}, "description": "Finance code"},
        "flags": [True, None, 1.5],
        "shape": {"value": {"value": "looks long", "description": "but is a value"}, "description": ""},
        "tier": 1,
    }
    assert "set-by-api" not in info["x-cortex-custom-metadata"]  # API keys are not part of a descriptor
    assert info["x-cortex-packages"] == [
        {"name": "left-pad"},
        {"name": "requests", "version": "2.32.0", "manager": "pip"},
    ]
    assert info["x-cortex-archived"] is True


@pytest.mark.parametrize("as_yaml", [False, True])
def test_applying_the_document_back_leaves_the_entity_unchanged(stored, as_yaml):
    before = state(stored)
    document = entity_to_document(stored)
    text = dump_yaml(document) if as_yaml else json.dumps(document)
    entity, action, warnings = entity_apply_descriptor(text=text, source="export")
    assert (entity.pk, warnings) == (stored.pk, [])
    assert action == "updated"  # only the stored descriptor is new
    assert state(stored) == before
    # Now the descriptor is stored: what the API answers is that document, and applying it again is a no-op.
    assert entity_descriptor_document(Entity.objects.get(pk=stored.pk)) == document
    assert entity_apply_descriptor(text=text, source="export")[1] == "unchanged"


def test_minimal_entity_round_trips(db):
    entity = Entity.objects.create(tag="bare", name="Bare")
    assert entity_to_document(entity) == {
        "openapi": "3.0.1",
        "info": {"title": "Bare", "x-cortex-tag": "bare", "x-cortex-type": "service"},
    }
    before = state(entity)
    entity_apply_descriptor(text=dump_yaml(entity_to_document(entity)), source="export")
    assert state(entity) == before
