import textwrap

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.catalog.models import CustomData, Entity, EntityLink, EntityOwner, EntityPackage, EntityParent
from apps.catalog.services import (
    catalog_import,
    custom_data_delete,
    custom_data_set,
    entity_apply_descriptor,
    entity_delete,
)
from apps.core.errors import NotFoundError, ValidationFailed

pytestmark = pytest.mark.django_db

PAYMENTS = textwrap.dedent(
    """\
    openapi: 3.0.1
    info:
      title: Payments API
      description: Charges cards.
      x-cortex-tag: payments-api
      x-cortex-type: service
      x-cortex-groups: [tier-1, python]
      x-cortex-owners:
        - {type: group, name: payments-team}
        - {type: email, email: ana@example.com}
      x-cortex-parents: [{tag: commerce}]
      x-cortex-custom-metadata:
        tier: 1
        runtime_info: {app_version: "2.4.1"}
        cost_center: {value: CC-12, description: Finance code}
      x-cortex-link: [{name: Runbook, type: runbook, url: https://wiki.example.com/payments}]
      x-cortex-git: {github: {repository: org/payments-api}}
      x-cortex-oncall: {pagerduty: {id: P123, type: SCHEDULE}}
      x-cortex-slos: [{name: availability, target: 99.9}]
      x-cortex-packages:
        - {name: django, version: "4.2.1", manager: pip}
    paths: {}
    """
)
TEAM = "openapi: 3.0.1\ninfo:\n  title: Payments Team\n  x-cortex-tag: payments-team\n  x-cortex-type: team\n"
DOMAIN = "openapi: 3.0.1\ninfo:\n  title: Commerce\n  x-cortex-tag: commerce\n  x-cortex-type: domain\n"


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_every_field_of_a_descriptor_is_stored():
    entity, action, warnings = entity_apply_descriptor(text=PAYMENTS, source="p.yaml")
    assert action == "created" and warnings == []
    assert entity.public_id.startswith("en") and len(entity.public_id) == 18
    assert (entity.tag, entity.name, entity.type, entity.description) == (
        "payments-api",
        "Payments API",
        "service",
        "Charges cards.",
    )
    assert entity.groups == ["tier-1", "python"]
    assert list(entity.owners.values_list("kind", "name", "email")) == [
        ("group", "payments-team", ""),
        ("email", "", "ana@example.com"),
    ]
    assert list(entity.parent_links.values_list("tag", "parent")) == [("commerce", None)]
    assert dict(entity.custom_data.values_list("key", "value")) == {
        "tier": 1,
        "runtime_info": {"app_version": "2.4.1"},
        "cost_center": "CC-12",
    }
    assert entity.custom_data.get(key="cost_center").description == "Finance code"
    assert list(entity.links.values_list("name", "type", "url")) == [
        ("Runbook", "runbook", "https://wiki.example.com/payments")
    ]
    assert entity.git == {"github": {"repository": "org/payments-api"}}
    assert entity.oncall == {"pagerduty": {"id": "P123", "type": "SCHEDULE"}}
    assert entity.slos == [{"name": "availability", "target": 99.9}]
    assert list(entity.packages.values_list("name", "version", "manager")) == [("django", "4.2.1", "pip")]
    assert entity.descriptor["info"]["x-cortex-tag"] == "payments-api"


def test_references_resolve_whatever_the_import_order():
    entity_apply_descriptor(text=PAYMENTS)
    team, _, _ = entity_apply_descriptor(text=TEAM)
    domain, _, _ = entity_apply_descriptor(text=DOMAIN)
    assert EntityOwner.objects.get(kind="group").team == team
    assert EntityParent.objects.get().parent == domain
    # and the other way round
    Entity.objects.all().delete()
    entity_apply_descriptor(text=TEAM)
    entity_apply_descriptor(text=DOMAIN)
    entity_apply_descriptor(text=PAYMENTS)
    assert EntityOwner.objects.get(kind="group").team.tag == "payments-team"
    assert EntityParent.objects.get().parent.tag == "commerce"


def test_import_is_idempotent(tmp_path):
    write(tmp_path, "payments.yaml", PAYMENTS)
    write(tmp_path, "teams/payments-team.yml", TEAM)
    write(tmp_path, "notes.txt", "not a descriptor")
    first = catalog_import(paths=[tmp_path])
    assert sorted(a for _, _, a in first.results) == ["created", "created"]
    snapshot = (
        list(EntityOwner.objects.values_list("id", "name", "team_id")),
        list(CustomData.objects.values_list("id", "key", "value")),
        list(EntityLink.objects.values_list("id", "url")),
        list(Entity.objects.values_list("id", "public_id", "updated_at")),
    )
    second = catalog_import(paths=[tmp_path])
    assert [a for _, _, a in second.results] == ["unchanged", "unchanged"]
    assert snapshot == (
        list(EntityOwner.objects.values_list("id", "name", "team_id")),
        list(CustomData.objects.values_list("id", "key", "value")),
        list(EntityLink.objects.values_list("id", "url")),
        list(Entity.objects.values_list("id", "public_id", "updated_at")),
    )


def test_reimport_replaces_lists_and_keeps_the_id(tmp_path):
    entity, _, _ = entity_apply_descriptor(text=PAYMENTS)
    changed = PAYMENTS.replace(
        "  x-cortex-link: [{name: Runbook, type: runbook, url: https://wiki.example.com/payments}]\n", ""
    )
    changed = changed.replace("    tier: 1\n", "")
    again, action, _ = entity_apply_descriptor(text=changed)
    assert action == "updated"
    assert again.pk == entity.pk and again.public_id == entity.public_id
    assert not EntityLink.objects.exists()
    assert set(CustomData.objects.values_list("key", flat=True)) == {"runtime_info", "cost_center"}


def test_custom_data_set_through_the_api_survives_reimport_and_cannot_override_the_descriptor():
    entity, _, _ = entity_apply_descriptor(text=PAYMENTS)
    custom_data_set(entity=entity, key="build", value={"green": True})
    entity_apply_descriptor(text=PAYMENTS.replace("tier: 1", "tier: 2"))
    assert CustomData.objects.get(key="build").value == {"green": True}
    with pytest.raises(ValidationFailed, match="defined in the entity's descriptor"):
        custom_data_set(entity=entity, key="tier", value=5)
    custom_data_delete(entity=entity, key="build")
    # A descriptor key is not deleted through the API without `force` (tests/catalog/test_custom_data_force.py).
    with pytest.raises(ValidationFailed, match="use force"):
        custom_data_delete(entity=entity, key="tier")
    with pytest.raises(NotFoundError):
        custom_data_delete(entity=entity, key="build")


BAD_CASES = [
    ("x-cortex-tag: payments-api", "x-cortex-tag: payments api", "info.x-cortex-tag", 5),
    ("  title: Payments API\n", "", "info.title", 3),
    ("email: ana@example.com", "email: ana", "info.x-cortex-owners[1].email", 10),
    ("{type: group, name: payments-team}", "{type: robot, name: x}", "info.x-cortex-owners[0].type", 9),
    ("{type: group, name: payments-team}", "{type: group}", "info.x-cortex-owners[0].name", 9),
    ("[{tag: commerce}]", "[{tag: payments-api}]", "info.x-cortex-parents[0].tag", 11),
    ("url: https://wiki.example.com/payments", "url: wiki", "info.x-cortex-link[0].url", 16),
    ("x-cortex-groups: [tier-1, python]", "x-cortex-groups: tier-1", "info.x-cortex-groups", 7),
    ("x-cortex-groups: [tier-1, python]", "x-cortex-groups: [tier-1, 3]", "info.x-cortex-groups[1]", 7),
    ("{github: {repository: org/payments-api}}", "{github: {repo: x}}", "info.x-cortex-git.github.repository", 17),
    ('{name: django, version: "4.2.1", manager: pip}', "{version: 1}", "info.x-cortex-packages[0].name", 21),
]


@pytest.mark.parametrize(("old", "new", "path", "line"), BAD_CASES)
def test_bad_descriptors_name_the_field_and_line_and_write_nothing(old, new, path, line):
    assert old in PAYMENTS
    with pytest.raises(ValidationFailed) as info:
        entity_apply_descriptor(text=PAYMENTS.replace(old, new), source="p.yaml")
    problem = next(p for p in info.value.problems if p.path == path)
    assert problem.line == line
    assert problem.source == "p.yaml"
    assert Entity.objects.count() == 0


def test_a_bad_file_does_not_stop_the_others_and_is_reported(tmp_path):
    write(tmp_path, "a-good.yaml", TEAM)
    write(tmp_path, "b-bad.yaml", "openapi: 3.0.1\ninfo:\n  title: X\n  x-cortex-tag: [not, a, tag]\n")
    write(tmp_path, "c-broken.yaml", "info: {title: [\n")
    report = catalog_import(paths=[tmp_path])
    assert [tag for _, tag, _ in report.results] == ["payments-team"]
    failures = {path.rsplit("/", 1)[-1]: exc.problems[0] for path, exc in report.failures}
    assert failures["b-bad.yaml"].path == "info.x-cortex-tag" and failures["b-bad.yaml"].line == 4
    assert "invalid YAML" in failures["c-broken.yaml"].message and failures["c-broken.yaml"].line == 2
    assert list(Entity.objects.values_list("tag", flat=True)) == ["payments-team"]


def test_unknown_cortex_fields_are_warnings():
    _, _, warnings = entity_apply_descriptor(text=PAYMENTS.replace("x-cortex-slos:", "x-cortex-slo:"))
    assert [(w.path, w.line) for w in warnings] == [("info.x-cortex-slo", 19)]


def test_relative_git_url_resolves_against_the_descriptor_folder(tmp_path):
    path = write(
        tmp_path, "svc/catalog.yaml", PAYMENTS.replace("x-cortex-git: {", "x-cortex-git: {url: ../repos/pay, ")
    )
    catalog_import(paths=[path])
    assert Entity.objects.get().git_url == str((tmp_path / "repos" / "pay").resolve())


def test_dry_run_writes_nothing(tmp_path):
    write(tmp_path, "p.yaml", PAYMENTS)
    report = catalog_import(paths=[tmp_path], dry_run=True)
    assert [a for _, _, a in report.results] == ["valid"]
    assert not Entity.objects.exists()


def test_missing_path():
    with pytest.raises(NotFoundError, match="no such file"):
        catalog_import(paths=["/no/such/folder"])


def test_import_catalog_command(tmp_path, capsys):
    write(tmp_path, "p.yaml", PAYMENTS)
    call_command("import_catalog", str(tmp_path))
    assert "1 imported: 1 created" in capsys.readouterr().out
    call_command("import_catalog", str(tmp_path / "p.yaml"))
    assert "1 unchanged" in capsys.readouterr().out
    write(tmp_path, "q.yaml", PAYMENTS.replace("payments-api", "q").replace("ana@example.com", "nope"))
    with pytest.raises(CommandError, match="1 failed"):
        call_command("import_catalog", str(tmp_path))
    assert "q.yaml:10 info.x-cortex-owners[1].email" in capsys.readouterr().err
    assert not Entity.objects.filter(tag="q").exists()


def test_delete_entity_by_tag_or_id():
    entity, _, _ = entity_apply_descriptor(text=PAYMENTS)
    entity_delete(tag_or_id=entity.public_id)
    assert not Entity.objects.exists() and not EntityPackage.objects.exists()
    with pytest.raises(NotFoundError):
        entity_delete(tag_or_id="payments-api")


def test_entity_delete_many_deletes_all_or_nothing(db):
    from apps.catalog.models import Entity
    from apps.catalog.services import entity_delete_many
    from apps.core.errors import NotFoundError

    a, b = (Entity.objects.create(tag=tag, name=tag) for tag in ("del-a", "del-b"))
    with pytest.raises(NotFoundError, match="en0000000000000000"):
        entity_delete_many(ids=[a.public_id, "en0000000000000000"])
    assert Entity.objects.count() == 2
    assert entity_delete_many(ids=[a.public_id, "del-b", a.public_id]) == 2
    assert not Entity.objects.filter(pk__in=[a.pk, b.pk]).exists()


def test_entity_patch_descriptor_merges_into_the_stored_descriptor(db):
    from apps.catalog.services import entity_apply_descriptor, entity_patch_descriptor

    entity_apply_descriptor(
        text="openapi: 3.0.1\ninfo:\n  title: Pay\n  x-cortex-tag: pay\n  x-cortex-groups: [a]\n", source="t"
    )
    tag, entity, action, warnings = entity_patch_descriptor(
        text="info:\n  x-cortex-tag: pay\n  x-cortex-groups: [b]\n", append_arrays=True
    )
    assert (tag, action, warnings) == ("pay", "updated", [])
    assert (entity.name, entity.groups) == ("Pay", ["a", "b"])
    tag, entity, action, _ = entity_patch_descriptor(text="info:\n  x-cortex-tag: pay\n  x-cortex-groups: [b]\n")
    assert (action, entity.groups) == ("updated", ["b"])


# --- races: real threads, each on its own connection, released together ----------------------------------


RACED = "openapi: 3.0.1\ninfo:\n  title: Raced\n  x-cortex-tag: Raced-Svc\n  x-cortex-type: service\n"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_applies_of_one_new_entity_create_it_once_and_all_succeed():
    from tests.concurrency import race_same

    outcomes = race_same(lambda: entity_apply_descriptor(text=RACED)[1], 6)
    # The loser of the insert applies again as an update of the same content: what it would do had it come second.
    assert sorted(o.value for o in outcomes) == ["created"] + ["unchanged"] * 5, [o.error for o in outcomes]
    assert list(Entity.objects.values_list("tag", flat=True)) == ["raced-svc"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_patches_creating_one_entity_each_merge_into_the_winner():
    from apps.catalog.services import entity_patch_descriptor
    from tests.concurrency import race

    def patch(group: str):
        text = f"openapi: 3.0.1\ninfo:\n  title: Cart\n  x-cortex-tag: cart\n  x-cortex-groups:\n    - {group}\n"
        return lambda: entity_patch_descriptor(text=text, append_arrays=True)[2]

    outcomes = race(*(patch(f"g{n}") for n in range(6)))
    assert sorted(o.value for o in outcomes) == ["created"] + ["updated"] * 5, [o.error for o in outcomes]
    assert sorted(Entity.objects.get(tag="cart").groups) == [f"g{n}" for n in range(6)]
