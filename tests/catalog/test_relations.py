"""Dependencies and relationships in entity descriptors (parsing, applying, export) and `relations_bulk`."""

from __future__ import annotations

import pytest
import yaml

from apps.catalog.descriptors import entity_to_document, parse_entity_descriptor
from apps.catalog.models import (
    DefinitionLocation,
    Entity,
    EntityDependency,
    EntityRelationship,
    RecordSource,
    RelationshipType,
)
from apps.catalog.relations import dependency_create, relationships_bulk_set
from apps.catalog.selectors import relations_bulk
from apps.catalog.services import entity_apply_descriptor
from apps.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def descriptor(tag: str, *, entity_type: str = "service", **info) -> str:
    body = {"title": tag.title(), "x-cortex-tag": tag, "x-cortex-type": entity_type, **info}
    return yaml.safe_dump({"openapi": "3.0.1", "info": body}, sort_keys=False)


def apply(tag: str, **info) -> Entity:
    return entity_apply_descriptor(text=descriptor(tag, **info))[0]


def problems_of(text: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_entity_descriptor(text)
    return [(p.path, p.message, p.line) for p in caught.value.problems]


# --- parsing -------------------------------------------------------------------------------------------------


def test_dependencies_parse_in_list_and_map_form():
    deps = [
        {
            "tag": "braavos",
            "method": "get",
            "path": "/2.0/users/{username}",
            "description": "pays",
            "metadata": {"a": 1},
        },
        {"tag": "billing"},
    ]
    spec, warnings = parse_entity_descriptor(descriptor("svc", **{"x-cortex-dependency": deps}))
    assert spec.dependencies == [
        {
            "tag": "braavos",
            "method": "GET",
            "path": "/2.0/users/{username}",
            "description": "pays",
            "metadata": {"a": 1},
        },
        {"tag": "billing", "method": "", "path": "", "description": "", "metadata": {}},
    ]
    assert warnings == []
    spec, warnings = parse_entity_descriptor(
        descriptor("svc", **{"x-cortex-dependency": {"cortex": [{"tag": "billing"}], "aws": {"tags": []}}})
    )
    assert [d["tag"] for d in spec.dependencies] == ["billing"]
    assert [w.path for w in warnings] == ["info.x-cortex-dependency.aws"]


def test_relationships_parse():
    block = [{"type": "ai-skill-service", "destinations": [{"tag": "svc-a"}, {"tag": "svc-b"}]}]
    spec, _ = parse_entity_descriptor(descriptor("skill", **{"x-cortex-relationships": block}))
    assert spec.relationships == [
        {
            "type": "ai-skill-service",
            "destinations": ["svc-a", "svc-b"],
            "sources": [],
            "path": "info.x-cortex-relationships[0]",
        }
    ]


def test_bad_dependencies_name_the_field_and_line():
    text = (
        "openapi: 3.0.1\n"
        "info:\n"
        "  title: Svc\n"
        "  x-cortex-tag: svc\n"
        "  x-cortex-dependency:\n"
        "    - tag: billing\n"
        "      method: FETCH\n"
        "      path: /x\n"
        "    - tag: billing\n"
        "      path: /y\n"
        "    - tag: 5\n"
        "    - tag: svc\n"
        "    - tag: ok\n"
        "      metadata: [1, 2]\n"
        "    - tag: ok2\n"
        '      description: "a\\0b"\n'
        "    - just-a-string\n"
    )
    found = problems_of(text)
    assert (
        "info.x-cortex-dependency[0].method",
        "method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, not 'FETCH'",
        7,
    ) in found
    assert ("info.x-cortex-dependency[1].method", "'method' is required when 'path' is given", 9) in found
    assert ("info.x-cortex-dependency[2].tag", "must be a string, not a number", 11) in found
    assert ("info.x-cortex-dependency[3].tag", "an entity cannot depend on itself", 12) in found
    assert ("info.x-cortex-dependency[4].metadata", "must be a mapping, not a list", 14) in found
    assert ("info.x-cortex-dependency[5].description", "must not hold NUL characters", 16) in found
    assert ("info.x-cortex-dependency[6]", "must be a mapping, not a string", 17) in found


def test_oversized_and_duplicate_dependencies_are_refused():
    big = {"blob": "x" * (65 * 1024)}
    found = problems_of(descriptor("svc", **{"x-cortex-dependency": [{"tag": "a", "metadata": big}]}))
    assert found[0][0] == "info.x-cortex-dependency[0].metadata" and "at most 64 KiB" in found[0][1]
    found = problems_of(
        descriptor("svc", **{"x-cortex-dependency": [{"tag": "a", "path": "/" + "p" * 600, "method": "GET"}]})
    )
    assert found[0][:2] == ("info.x-cortex-dependency[0].path", "must be at most 512 characters, not 601")
    found = problems_of(descriptor("svc", **{"x-cortex-dependency": [{"tag": "a"}, {"tag": "a"}]}))
    assert found[0][:2] == ("info.x-cortex-dependency[1]", "the dependency on 'a' is listed twice")
    found = problems_of(descriptor("svc", **{"x-cortex-dependency": "billing"}))
    assert found[0][:2] == ("info.x-cortex-dependency", "must be a list, not a string")


def test_bad_relationships_name_the_field():
    found = problems_of(descriptor("svc", **{"x-cortex-relationships": [{"tag": "x", "destinations": [{"tag": "a"}]}]}))
    assert ("info.x-cortex-relationships[0].type", "'type' is required") in [f[:2] for f in found]
    found = problems_of(descriptor("svc", **{"x-cortex-relationships": [{"type": "x"}]}))
    assert found[0][:2] == ("info.x-cortex-relationships[0]", "a relationship lists 'destinations' or 'sources'")
    found = problems_of(
        descriptor("svc", **{"x-cortex-relationships": [{"type": "x", "destinations": [{"tag": "a b"}]}]})
    )
    assert found[0][0] == "info.x-cortex-relationships[0].destinations[0].tag"
    found = problems_of(descriptor("svc", **{"x-cortex-relationships": [{"type": "x", "destinations": ["a"]}]}))
    assert found[0][:2] == ("info.x-cortex-relationships[0].destinations[0]", "must be a mapping, not a string")


# --- applying -------------------------------------------------------------------------------------------------


def test_applying_replaces_the_descriptors_dependencies_and_keeps_the_apis():
    billing = apply("billing")
    svc = apply("svc", **{"x-cortex-dependency": [{"tag": "billing"}, {"tag": "later", "method": "GET", "path": "/x"}]})
    dependency_create(caller=svc, callee_tag_or_id="billing", method="POST", path="/pay", metadata={"k": 1})
    rows = {(d.callee_tag, d.method, d.source, d.callee_id) for d in EntityDependency.objects.all()}
    assert rows == {
        ("billing", "", RecordSource.DESCRIPTOR, billing.pk),
        ("later", "GET", RecordSource.DESCRIPTOR, None),
        ("billing", "POST", RecordSource.API, billing.pk),
    }
    # The callee that comes later is linked when it is applied.
    later = apply("later")
    assert EntityDependency.objects.get(callee_tag="later").callee == later
    # Re-applying without them drops the descriptor's rows only.
    entity_apply_descriptor(text=descriptor("svc"))
    assert list(EntityDependency.objects.values_list("callee_tag", "method", "source")) == [
        ("billing", "POST", RecordSource.API)
    ]


def test_unchanged_descriptor_with_dependencies_is_unchanged():
    text = descriptor("svc", **{"x-cortex-dependency": [{"tag": "billing", "metadata": {"a": [1]}}]})
    assert entity_apply_descriptor(text=text)[1] == "created"
    assert entity_apply_descriptor(text=text)[1] == "unchanged"


def test_relationships_apply_check_their_type_and_link_later_entities():
    RelationshipType.objects.create(
        tag="ai-skill-service",
        name="AI skill of a service",
        definition_location=DefinitionLocation.SOURCE,
        destinations_filter={"include": True, "types": ["service"]},
    )
    block = [{"type": "ai-skill-service", "destinations": [{"tag": "svc-a"}]}]
    skill = apply("skill", entity_type="ai-skill", **{"x-cortex-relationships": block})
    link = EntityRelationship.objects.get()
    assert (link.source_entity, link.destination_tag, link.destination_entity, link.declared_by) == (
        skill,
        "svc-a",
        None,
        skill,
    )
    svc_a = apply("svc-a")
    link.refresh_from_db()
    assert link.destination_entity == svc_a

    # Unknown type, wrong side, a destination type the filter refuses: all refused, naming the block.
    with pytest.raises(ValidationFailed) as caught:
        apply("s2", **{"x-cortex-relationships": [{"type": "nope", "destinations": [{"tag": "svc-a"}]}]})
    assert caught.value.problems[0].path == "info.x-cortex-relationships[0].type"
    with pytest.raises(ValidationFailed) as caught:
        apply("s2", **{"x-cortex-relationships": [{"type": "ai-skill-service", "sources": [{"tag": "svc-a"}]}]})
    assert caught.value.problems[0].path == "info.x-cortex-relationships[0].sources"
    apply("team-x", entity_type="team")
    with pytest.raises(ValidationFailed) as caught:
        apply("s3", **{"x-cortex-relationships": [{"type": "ai-skill-service", "destinations": [{"tag": "team-x"}]}]})
    assert "cannot have destinations of type 'team'" in caught.value.problems[0].message
    assert not Entity.objects.filter(tag__in=["s2", "s3"]).exists()


def test_cycles_are_refused_unless_allowed():
    rtype = RelationshipType.objects.create(tag="contains", name="Contains")
    for tag in ("a", "b", "c"):
        apply(tag)
    relationships_bulk_set(rtype=rtype, pairs=[("a", "b"), ("b", "c")], replace=False)
    with pytest.raises(ValidationFailed) as caught:
        relationships_bulk_set(rtype=rtype, pairs=[("c", "a")], replace=False)
    assert "does not allow cycles: a -> b -> c -> a" in caught.value.problems[0].message
    rtype.allow_cycles = True
    rtype.save()
    relationships_bulk_set(rtype=rtype, pairs=[("c", "a")], replace=False)
    assert EntityRelationship.objects.count() == 3


def test_export_includes_the_descriptors_dependencies_and_relationships():
    RelationshipType.objects.create(tag="owns", name="Owns", definition_location=DefinitionLocation.BOTH)
    svc = apply(
        "svc",
        **{
            "x-cortex-dependency": [{"tag": "billing", "method": "GET", "path": "/x", "metadata": {"k": "v"}}],
            "x-cortex-relationships": [{"type": "owns", "destinations": [{"tag": "db"}], "sources": [{"tag": "up"}]}],
        },
    )
    info = entity_to_document(svc)["info"]
    assert info["x-cortex-dependency"] == [{"tag": "billing", "method": "GET", "path": "/x", "metadata": {"k": "v"}}]
    assert info["x-cortex-relationships"] == [
        {"type": "owns", "destinations": [{"tag": "db"}], "sources": [{"tag": "up"}]}
    ]


# --- relations_bulk --------------------------------------------------------------------------------------------


def test_relations_bulk_shapes_and_one_query_per_kind(django_assert_num_queries):
    RelationshipType.objects.create(tag="ai-skill-service", name="Skill", definition_location=DefinitionLocation.BOTH)
    bucket = Entity.objects.create(tag="bucket", name="Bucket", type="AWS::S3::Bucket")
    svc = apply(
        "svc",
        **{
            "x-cortex-dependency": [
                {"tag": "bucket", "description": "stores", "metadata": {"prod": True}},
                {"tag": "ghost", "method": "GET", "path": "/x"},
            ]
        },
    )
    other = apply("other", **{"x-cortex-dependency": [{"tag": "svc"}]})
    skill = apply(
        "skill",
        entity_type="ai-skill",
        **{"x-cortex-relationships": [{"type": "ai-skill-service", "destinations": [{"tag": "svc"}]}]},
    )
    lonely = apply("lonely")
    ids = [svc.pk, other.pk, skill.pk, lonely.pk, bucket.pk]
    with django_assert_num_queries(4):
        got = relations_bulk(ids, {"dependencies_out", "dependencies_in", "destinations", "sources"})
    assert got[svc.pk]["dependencies_out"] == [
        {"tag": "bucket", "name": "Bucket", "type": "AWS::S3::Bucket", "method": None, "path": None,
         "description": "stores", "metadata": {"prod": True}},
        {"tag": "ghost", "name": None, "type": None, "method": "GET", "path": "/x", "description": None,
         "metadata": {}},
    ]  # fmt: skip
    assert got[svc.pk]["dependencies_in"] == [
        {"tag": "other", "name": "Other", "type": "service", "method": None, "path": None, "description": None,
         "metadata": {}}
    ]  # fmt: skip
    assert got[svc.pk]["sources"] == [
        {"tag": "skill", "name": "Skill", "type": "ai-skill", "relationshipType": "ai-skill-service"}
    ]
    assert got[skill.pk]["destinations"] == [
        {"tag": "svc", "name": "Svc", "type": "service", "relationshipType": "ai-skill-service"}
    ]
    assert got[lonely.pk] == {"dependencies_out": [], "dependencies_in": [], "destinations": [], "sources": []}
    assert got[bucket.pk]["dependencies_in"][0]["tag"] == "svc"
    # Only the kinds asked for, one query each; nothing at all for no entities.
    with django_assert_num_queries(1):
        assert relations_bulk([lonely.pk], ["sources"]) == {lonely.pk: {"sources": []}}
    with django_assert_num_queries(0):
        assert relations_bulk([], ["sources"]) == {}
    with pytest.raises(ValueError):
        relations_bulk([svc.pk], ["siblings"])


def test_relations_bulk_leaves_archived_other_ends_out():
    apply("old", **{"x-cortex-archived": True})
    svc = apply("svc", **{"x-cortex-dependency": [{"tag": "old"}]})
    assert relations_bulk([svc.pk], ["dependencies_out"])[svc.pk]["dependencies_out"] == []


# --- re-scoring --------------------------------------------------------------------------------------------------


@pytest.fixture
def heard():
    from apps.core import score_inputs

    got: list = []
    listener = score_inputs.listen(got.append)
    yield got
    score_inputs._listeners.remove(listener)


def test_adding_a_dependency_schedules_a_rescore_of_both_ends(heard, django_capture_on_commit_callbacks):
    from apps.evaluations.models import EntityScore
    from apps.scorecards.services import scorecard_apply_descriptor

    card = scorecard_apply_descriptor(
        text="tag: deps-card\nname: Deps\nrules:\n  - title: Has a name\n"
        "    expression: entity.name() != null\n    weight: 1\n"
    ).scorecard
    with django_capture_on_commit_callbacks(execute=True):
        caller, callee, bystander = apply("caller"), apply("callee"), apply("bystander")
    EntityScore.objects.all().delete()
    heard.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dependency_create(caller=caller, callee_tag_or_id="callee", metadata={})
    assert heard == []  # announced after the commit, not before
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    [[change]] = heard
    assert change.entity_ids == {caller.pk, callee.pk}
    assert "dependency caller -> callee added" in change.why
    # The evaluation side's listener re-scored both ends (Celery is eager in tests), and only them.
    rescored = set(EntityScore.objects.filter(scorecard=card).values_list("entity_id", flat=True))
    assert rescored == {caller.pk, callee.pk}
    assert bystander.pk not in rescored


# --- races: real threads, each on its own connection, released together ----------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_creates_of_one_relationship_type_make_one_and_conflicts():
    from apps.catalog.relations import relationship_type_create
    from apps.core.errors import ApplicationError
    from tests.concurrency import race_same

    outcomes = race_same(lambda: relationship_type_create(tag="raced", fields={"name": "Raced"}), 6)
    assert sorted(o.kind for o in outcomes) == ["ApplicationError"] * 5 + ["ok"], [o.error for o in outcomes]
    assert {o.error.code for o in outcomes if isinstance(o.error, ApplicationError)} == {"conflict"}
    assert RelationshipType.objects.filter(tag="raced").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_creates_of_one_dependency_make_one_and_conflicts():
    from apps.core.errors import ApplicationError
    from tests.concurrency import race_same

    caller, callee = apply("caller-svc"), apply("callee-svc")
    outcomes = race_same(lambda: dependency_create(caller=caller, callee_tag_or_id="callee-svc", metadata={}), 6)
    assert sorted(o.kind for o in outcomes) == ["ApplicationError"] * 5 + ["ok"], [o.error for o in outcomes]
    assert {o.error.code for o in outcomes if isinstance(o.error, ApplicationError)} == {"conflict"}
    assert EntityDependency.objects.filter(caller=caller, callee=callee).count() == 1
