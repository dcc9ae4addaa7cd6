"""Entity tags ignore letter case: one stored form (`normalise_tag`) from descriptors, imports, the admin and
the lookup helper; the data migration that brings existing tags to it."""

from __future__ import annotations

import textwrap

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from apps.catalog.models import (
    Entity,
    EntityDependency,
    EntityOwner,
    EntityParent,
    EntityRelationship,
    RelationshipType,
    normalise_tag,
)
from apps.catalog.services import entity_apply_descriptor

MIXED = textwrap.dedent(
    """\
    openapi: 3.0.1
    info:
      title: Payments API
      x-cortex-tag: Payments-API
      x-cortex-owners:
        - {type: group, name: Payments-Team}
      x-cortex-parents: [{tag: Commerce}]
      x-cortex-dependency: [{tag: Billing}]
      x-cortex-relationships:
        - {type: Serves, destinations: [{tag: Checkout}]}
    """
)


def descriptor(tag: str, type_: str = "service") -> str:
    return f"openapi: 3.0.1\ninfo:\n  title: {tag}\n  x-cortex-tag: {tag}\n  x-cortex-type: {type_}\n"


def test_normalise_tag_folds_ascii_letters_only():
    assert normalise_tag("Payments-API_v2.X") == "payments-api_v2.x"
    assert normalise_tag("payments-api") == "payments-api"
    # The Kelvin sign lower-cases to "k" in Unicode; a look-alike must not reach the entity "k".
    assert normalise_tag("\u212a") == "\u212a"


@pytest.mark.django_db
def test_lookup_helper_finds_an_entity_by_any_case_of_its_tag_or_by_id():
    entity = entity_apply_descriptor(text=descriptor("billing"))[0]
    assert list(Entity.objects.by_tag_or_id("BILLING")) == [entity]
    assert list(Entity.objects.by_tags_or_ids(["Billing", entity.public_id.upper()])) == [entity]
    assert not Entity.objects.by_tag_or_id("\u212ailling").exists()


@pytest.mark.django_db
def test_descriptor_stores_every_entity_tag_in_lower_case_and_links_them():
    RelationshipType.objects.create(tag="Serves", name="Serves")  # a type's tag is not an entity's: kept as is
    for tag, type_ in (("payments-team", "team"), ("commerce", "domain"), ("billing", "service"), ("checkout", "x")):
        entity_apply_descriptor(text=descriptor(tag, type_))
    entity, action, _ = entity_apply_descriptor(text=MIXED)
    assert (entity.tag, action) == ("payments-api", "created")
    owner = EntityOwner.objects.get(entity=entity)
    assert (owner.name, owner.team.tag) == ("payments-team", "payments-team")
    parent = EntityParent.objects.get(entity=entity)
    assert (parent.tag, parent.parent.tag) == ("commerce", "commerce")
    dependency = EntityDependency.objects.get(caller=entity)
    assert (dependency.callee_tag, dependency.callee.tag) == ("billing", "billing")
    link = EntityRelationship.objects.get(type__tag="Serves")
    assert (link.source_tag, link.destination_tag, link.destination_entity.tag) == (
        "payments-api",
        "checkout",
        "checkout",
    )
    # The descriptor spelled in lower case updates the same entity.
    again, action, _ = entity_apply_descriptor(text=MIXED.lower().replace("serves", "Serves"))
    assert (again.pk, action) == (entity.pk, "updated")
    assert Entity.objects.filter(tag__iexact="payments-api").count() == 1


@pytest.mark.django_db
def test_a_parent_in_another_case_is_still_the_entity_itself():
    text = descriptor("Commerce", "domain") + "  x-cortex-parents: [{tag: COMMERCE}]\n"
    with pytest.raises(Exception, match="cannot be its own parent"):
        entity_apply_descriptor(text=text)


@pytest.mark.django_db
def test_import_of_a_mixed_case_file_updates_the_lower_case_entity(tmp_path, capsys):
    entity_apply_descriptor(text=descriptor("payments-api"))
    (tmp_path / "pay.yaml").write_text(descriptor("PAYMENTS-API").replace("title: PAYMENTS-API", "title: Renamed"))
    call_command("import_catalog", str(tmp_path))
    assert list(Entity.objects.values_list("tag", "name")) == [("payments-api", "Renamed")]


@pytest.mark.django_db
def test_the_database_refuses_a_tag_that_is_not_lower_case():
    with pytest.raises(IntegrityError), transaction.atomic():
        Entity.objects.create(tag="Payments-API", name="x")


@pytest.mark.django_db
def test_admin_stores_typed_tags_in_lower_case(admin_client):
    response = admin_client.post(
        reverse("admin:catalog_entity_add"),
        {
            "tag": "Payments-API",
            "name": "Payments",
            "type": "service",
            "description": "",
            "groups": "[]",
            "git": "null",
            "git_url": "",
            "oncall": "null",
            "slos": "[]",
            "owners-TOTAL_FORMS": "1",
            "owners-INITIAL_FORMS": "0",
            "owners-0-kind": "group",
            "owners-0-name": "Payments-Team",
            "parent_links-TOTAL_FORMS": "1",
            "parent_links-INITIAL_FORMS": "0",
            "parent_links-0-tag": "Commerce",
            **{f"{prefix}-{n}": v for prefix in ("links", "custom_data", "packages") for n, v in
               (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))},
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    entity = Entity.objects.get()
    assert entity.tag == "payments-api"
    assert list(entity.owners.values_list("name", flat=True)) == ["payments-team"]
    assert list(entity.parent_links.values_list("tag", flat=True)) == ["commerce"]
    # A second entity differing only by case is refused as a duplicate, not stored beside it.
    again = admin_client.post(reverse("admin:catalog_entity_add"), {"tag": "PAYMENTS-api", "name": "x"})
    assert again.status_code == 200 and Entity.objects.count() == 1


# --- the data migration ----------------------------------------------------------------------------------

BEFORE = [("catalog", "0003_resource_types")]
AFTER = [("catalog", "0005_entity_tags_lower_case_constraints")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_schema():
    apps = _migrate(BEFORE)
    yield apps
    _migrate(AFTER)


# Migrations run outside the test's transaction; serialized_rollback as the other transactional tests, so
# the data that migrations made is back for the tests after these.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migration_lowercases_tags_and_links_references(old_schema):
    apps = old_schema
    OldEntity = apps.get_model("catalog", "Entity")
    pay = OldEntity.objects.create(tag="Payments-API", name="Payments", public_id="en0000000000000001")
    team = OldEntity.objects.create(tag="Payments-Team", name="Team", type="team", public_id="en0000000000000002")
    apps.get_model("catalog", "EntityOwner").objects.create(entity=pay, kind="group", name="PAYMENTS-team")
    apps.get_model("catalog", "EntityParent").objects.create(entity=team, tag="payments-API")
    apps.get_model("catalog", "EntityDependency").objects.create(caller=team, callee_tag="PAYMENTS-API")
    _migrate(AFTER)
    assert sorted(Entity.objects.values_list("tag", flat=True)) == ["payments-api", "payments-team"]
    owner = EntityOwner.objects.get()
    assert (owner.name, owner.team.tag) == ("payments-team", "payments-team")
    assert EntityParent.objects.get().parent.tag == "payments-api"
    assert EntityDependency.objects.get().callee.tag == "payments-api"
    _migrate(AFTER)  # once more: nothing to do


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migration_refuses_tags_that_differ_only_by_case(old_schema):
    OldEntity = old_schema.get_model("catalog", "Entity")
    OldEntity.objects.create(tag="Payments-API", name="a", public_id="en0000000000000001")
    OldEntity.objects.create(tag="payments-api", name="b", public_id="en0000000000000002")
    with pytest.raises(RuntimeError, match=r"differ only by it:\n  entities \('Payments-API',\) / \('payments-api',\)"):
        _migrate(AFTER)
    assert sorted(OldEntity.objects.values_list("tag", flat=True)) == ["Payments-API", "payments-api"]
    OldEntity.objects.filter(tag="Payments-API").update(tag="payments-api-old")


@pytest.mark.django_db
def test_patch_and_delete_by_id_find_entities_in_any_letter_case():
    from apps.catalog.services import entity_delete_many, entity_patch_descriptor

    entity_apply_descriptor(text="openapi: 3.0.1\ninfo:\n  title: Cart\n  x-cortex-tag: cart\n")
    entity_apply_descriptor(text="openapi: 3.0.1\ninfo:\n  title: Shop\n  x-cortex-tag: shop\n")
    patched = entity_patch_descriptor(text="openapi: 3.0.1\ninfo:\n  x-cortex-tag: CART\n  description: Patched.\n")
    assert patched[0] == "cart"
    assert (Entity.objects.get(tag="cart").description, Entity.objects.count()) == ("Patched.", 2)
    assert entity_delete_many(ids=["Cart", "SHOP"]) == 2
    assert not Entity.objects.exists()
