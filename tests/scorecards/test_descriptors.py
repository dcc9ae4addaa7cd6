import textwrap

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.core.errors import ValidationFailed
from apps.scorecards.descriptors import parse_scorecard_descriptor, scorecard_export
from apps.scorecards.models import Level, Rule, Scorecard
from apps.scorecards.services import scorecard_apply_descriptor, scorecard_delete

DESIGN_DESCRIPTOR = textwrap.dedent(
    """\
    tag: production-readiness
    name: Production Readiness
    description: What a tier-1 service needs before it takes traffic.
    draft: false
    evaluation: {window: 4}
    exemptions: {enabled: true, autoApprove: false}
    notifications: {enabled: true, scoreDropNotificationsEnabled: true}
    ladder:
      name: Default
      levels:
        - {name: Bronze, rank: 1, color: "#c38b5f"}
        - {name: Silver, rank: 2, color: "#8c9298"}
        - {name: Gold,   rank: 3, color: "#cda400"}
    filter:
      types: {include: [service]}
      groups: {exclude: [deprecated]}
    rules:
      - title: Has an owner
        expression: ownership.allOwners().length > 0
        weight: 2
        level: Bronze
        failureMessage: Add `x-cortex-owners` to the descriptor.
      - title: Coverage at least 80%
        expression: sonarqube.metric("coverage") >= 80
        weight: 1
        level: Gold
        effectiveFrom: 2027-01-01T00:00:00Z
        filter: {groups: {include: [tier-1]}}
    """
)

pytestmark = pytest.mark.django_db


def apply(text, **kwargs):
    return scorecard_apply_descriptor(text=text, source="test.yaml", **kwargs)


def problems_of(text):
    with pytest.raises(ValidationFailed) as info:
        parse_scorecard_descriptor(text, source="sc.yaml")
    return info.value.problems


def test_design_descriptor_applies_with_every_field():
    result = apply(DESIGN_DESCRIPTOR)
    assert result.action == "created"
    sc = Scorecard.objects.get(tag="production-readiness")
    assert (sc.name, sc.draft, sc.evaluation_window_hours) == ("Production Readiness", False, 4)
    assert (sc.exemptions_enabled, sc.exemptions_auto_approve) == (True, False)
    assert (sc.notifications_enabled, sc.score_drop_notifications_enabled) == (True, True)
    assert sc.filter == {"types": {"include": ["service"]}, "groups": {"exclude": ["deprecated"]}}
    assert list(sc.levels.values_list("name", "rank", "color")) == [
        ("Bronze", 1, "#c38b5f"),
        ("Silver", 2, "#8c9298"),
        ("Gold", 3, "#cda400"),
    ]
    owner, coverage = sc.rules.order_by("position")
    assert (owner.title, owner.weight, owner.level.name) == ("Has an owner", 2, "Bronze")
    assert owner.failure_message == "Add `x-cortex-owners` to the descriptor."
    assert coverage.effective_from.isoformat() == "2027-01-01T00:00:00+00:00"
    assert coverage.filter == {"groups": {"include": ["tier-1"]}}


def test_export_then_reapply_changes_nothing():
    apply(DESIGN_DESCRIPTOR)
    sc = Scorecard.objects.get(tag="production-readiness")
    before_rules = list(sc.rules.values_list("identifier", "title", "expression", "weight", "level__name"))
    exported = scorecard_export(sc)
    result = apply(exported)
    assert result.action == "unchanged"
    assert result.definition_changed is False
    sc.refresh_from_db()
    assert sc.version == 1
    assert list(sc.rules.values_list("identifier", "title", "expression", "weight", "level__name")) == before_rules
    assert scorecard_export(sc) == exported


def test_reapplying_the_same_descriptor_is_unchanged():
    apply(DESIGN_DESCRIPTOR)
    assert apply(DESIGN_DESCRIPTOR).action == "unchanged"


def test_rule_identifiers_survive_edits_and_renames():
    apply(DESIGN_DESCRIPTOR)
    ids = dict(Rule.objects.values_list("title", "identifier"))
    edited = DESIGN_DESCRIPTOR.replace("weight: 2", "weight: 5").replace(
        "title: Coverage at least 80%", "title: Coverage is high"
    )
    result = apply(edited)
    assert result.action == "updated"
    assert result.definition_changed
    after = dict(Rule.objects.values_list("title", "identifier"))
    assert after["Has an owner"] == ids["Has an owner"]
    # renamed, matched by its unchanged expression
    assert after["Coverage is high"] == ids["Coverage at least 80%"]
    assert Scorecard.objects.get().version == 2


def test_rules_can_swap_titles_in_one_apply():
    apply(DESIGN_DESCRIPTOR)
    exported = scorecard_export(Scorecard.objects.get())
    swapped = (
        exported.replace("title: Has an owner", "title: TMP")
        .replace("title: Coverage at least 80%", "title: Has an owner")
        .replace("title: TMP", "title: Coverage at least 80%")
    )
    apply(swapped)
    titles = dict(Rule.objects.values_list("expression", "title"))
    assert titles["ownership.allOwners().length > 0"] == "Coverage at least 80%"


def test_removed_rules_and_levels_are_deleted_and_levels_reordered():
    apply(DESIGN_DESCRIPTOR)
    text = DESIGN_DESCRIPTOR.replace('    - {name: Silver, rank: 2, color: "#8c9298"}\n', "")
    text = text.replace("rank: 3", "rank: 2")
    text = text.split("  - title: Coverage")[0]
    result = apply(text)
    assert result.rules_deleted == ["Coverage at least 80%"]
    assert list(Level.objects.values_list("name", "rank")) == [("Bronze", 1), ("Gold", 2)]
    assert Rule.objects.count() == 1


def test_levels_can_swap_ranks():
    apply(DESIGN_DESCRIPTOR)
    swapped = DESIGN_DESCRIPTOR.replace("name: Bronze, rank: 1", "name: Bronze, rank: 9").replace(
        "name: Gold,   rank: 3", "name: Gold,   rank: 1"
    )
    apply(swapped)
    assert dict(Level.objects.values_list("name", "rank")) == {"Bronze": 9, "Silver": 2, "Gold": 1}


def test_dry_run_validates_and_writes_nothing():
    result = apply(DESIGN_DESCRIPTOR, dry_run=True)
    assert result.action == "valid"
    assert Scorecard.objects.count() == 0


def test_given_identifier_is_kept_for_a_new_rule():
    text = DESIGN_DESCRIPTOR.replace(
        "  - title: Has an owner", "  - identifier: 0b8c2a52-54c1-4a77-a51b-6c0d2d5d5f10\n    title: Has an owner"
    )
    apply(text)
    assert str(Rule.objects.get(title="Has an owner").identifier) == "0b8c2a52-54c1-4a77-a51b-6c0d2d5d5f10"


def test_rule_identifier_may_be_shared_with_another_scorecard():
    apply(DESIGN_DESCRIPTOR)
    identifier = Rule.objects.get(title="Has an owner").identifier
    other = DESIGN_DESCRIPTOR.replace("tag: production-readiness", "tag: other").replace(
        "  - title: Has an owner", f"  - identifier: {identifier}\n    title: Has an owner"
    )
    assert apply(other).action == "created"
    assert set(Rule.objects.filter(identifier=identifier).values_list("scorecard__tag", flat=True)) == {
        "production-readiness",
        "other",
    }
    # Re-applying either one updates its own rule only.
    assert apply(other).action == "unchanged"
    assert apply(DESIGN_DESCRIPTOR).action == "unchanged"


def test_tenant_exported_scorecards_sharing_one_identifier_all_apply():
    identifier = "921bc595-5a12-3aa1-af45-e17d17e0d649"
    base = "/work/shared/realworld/cortexapps-learn-cortex/data/scorecards"
    for name in ("learn-circleci.yaml", "learn-jira.yaml", "learn-catalogs.yaml"):
        with open(f"{base}/{name}") as f:
            text = f.read()
        assert identifier in text
        apply(text)
    assert Rule.objects.filter(identifier=identifier).values("scorecard").distinct().count() == 3


def test_identifier_is_unique_within_one_scorecard_in_the_database():
    from django.db import IntegrityError, transaction

    apply(DESIGN_DESCRIPTOR)
    first, second = Rule.objects.order_by("position")
    with pytest.raises(IntegrityError), transaction.atomic():
        Rule.objects.filter(pk=second.pk).update(identifier=first.identifier)


@pytest.mark.parametrize(
    ("change", "path", "line", "message"),
    [
        (("tag: production-readiness", "tag: bad tag"), "tag", 1, "a tag holds"),
        (("name: Production Readiness\n", ""), "name", None, "'name' is required"),
        (("window: 4", "window: 0"), "evaluation.window", 5, "at least 1"),
        (("window: 4", "window: four"), "evaluation.window", 5, "must be an integer"),
        (("enabled: true, autoApprove", "enabled: yes please, autoApprove"), "exemptions.enabled", 6, "true or false"),
        (('color: "#c38b5f"', 'color: "brown"'), "ladder.levels[0].color", 11, "not a colour"),
        (("name: Silver, rank: 2", "name: Silver, rank: 1"), "ladder.levels[1].rank", 12, "used by two levels"),
        (("name: Silver, rank: 2", "name: Bronze, rank: 2"), "ladder.levels[1].name", 12, "defined twice"),
        (("name: Silver, rank: 2", "name: Silver, rank: 0"), "ladder.levels[1].rank", 12, "rank starts at 1"),
        (("weight: 2", "weight: -1"), "rules[0].weight", 20, "0 or more"),
        (("weight: 2", "weight: true"), "rules[0].weight", 20, "must be an integer"),
        (("level: Bronze", "level: Platinum"), "rules[0].level", 21, "not in the ladder"),
        (("title: Coverage at least 80%", "title: Has an owner"), "rules[1].title", 23, "titled"),
        (("effectiveFrom: 2027-01-01T00:00:00Z", "effectiveFrom: next year"), "rules[1].effectiveFrom", 27, "ISO-8601"),
        (("include: [tier-1]", "include: tier-1"), "rules[1].filter.groups.include", 28, "must be a list"),
        (("types: {include: [service]}", "types: [service]"), "filter.types", 15, "must be a mapping"),
        (("name: Gold,", f"name: {'G' * 65},"), "ladder.levels[2].name", 13, "at most 64 characters, not 65"),
        (("tag: production-readiness", f"tag: {'t' * 256}"), "tag", 1, "at most 255 characters"),
        (("title: Has an owner", f"title: {'T' * 300}"), "rules[0].title", 18, "at most 255 characters"),
    ],
)
def test_validation_errors_name_field_and_line(change, path, line, message):
    problems = problems_of(DESIGN_DESCRIPTOR.replace(*change))
    matching = [p for p in problems if p.path == path]
    assert matching, [str(p) for p in problems]
    assert message in matching[0].message
    if line is not None:
        assert matching[0].line == line
    assert matching[0].source == "sc.yaml"


def test_expression_syntax_error_gives_yaml_line_and_expression_column():
    text = DESIGN_DESCRIPTOR.replace("ownership.allOwners().length > 0", "ownership.allOwners().length >")
    (problem,) = problems_of(text)
    assert problem.path == "rules[0].expression"
    assert problem.line == 19
    assert problem.column == 31
    assert "expression column 31" in problem.message


def test_expression_error_in_a_block_scalar_points_at_the_right_line():
    text = DESIGN_DESCRIPTOR.replace(
        "    expression: ownership.allOwners().length > 0\n",
        "    expression: |\n      ownership.allOwners().length > 0\n        and bogus()\n",
    )
    (problem,) = problems_of(text)
    assert problem.path == "rules[0].expression"
    assert problem.line == 21
    assert "unknown function bogus()" in problem.message


def test_filter_query_is_compiled_at_validation():
    text = DESIGN_DESCRIPTOR.replace("groups: {exclude: [deprecated]}", 'query: entity.hasGroup("x") and')
    (problem,) = problems_of(text)
    assert problem.path == "filter.query"
    assert problem.line == 16


def test_every_error_is_reported_at_once():
    text = DESIGN_DESCRIPTOR.replace("weight: 2", "weight: -1").replace("level: Gold", "level: Mithril")
    assert {p.path for p in problems_of(text)} == {"rules[0].weight", "rules[1].level"}


def test_invalid_yaml_reports_line_and_column():
    problems = problems_of("tag: x\nname: [unclosed\nrules: []\n")
    assert problems[0].line is not None
    assert "invalid YAML" in problems[0].message


def test_duplicate_keys_are_refused():
    problems = problems_of("tag: a\ntag: b\nname: x\n")
    assert "invalid YAML" in problems[0].message


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "plain string"])
def test_non_mapping_documents_are_refused(text):
    assert problems_of(text)


def test_warnings_for_unknown_fields_and_pushed_rules():
    text = DESIGN_DESCRIPTOR + "  - title: Pushed from CI\n    weight: 1\n    colour: red\n"
    _, warnings = parse_scorecard_descriptor(text)
    messages = {(w.path, w.message) for w in warnings}
    assert ("rules[2].colour", "unknown field 'colour' is ignored") in messages
    assert any("pushed" in m for _, m in messages)


def test_apply_scorecard_command_reports_errors_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "sc.yaml"
    path.write_text(DESIGN_DESCRIPTOR.replace("level: Bronze", "level: Nope"))
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("apply_scorecard", str(path))
    assert f"{path}:21 rules[0].level" in capsys.readouterr().err
    assert Scorecard.objects.count() == 0


def test_apply_and_export_commands_round_trip(tmp_path, capsys):
    path = tmp_path / "sc.yaml"
    path.write_text(DESIGN_DESCRIPTOR)
    call_command("apply_scorecard", str(path), "--dry-run")
    assert Scorecard.objects.count() == 0
    call_command("apply_scorecard", str(path))
    capsys.readouterr()
    call_command("export_scorecard", "production-readiness")
    exported = capsys.readouterr().out
    path.write_text(exported)
    call_command("apply_scorecard", str(path))
    assert "production-readiness: unchanged" in capsys.readouterr().out
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_scorecard", "missing")


def test_delete_scorecard():
    apply(DESIGN_DESCRIPTOR)
    scorecard_delete(tag="production-readiness")
    assert not Scorecard.objects.exists() and not Rule.objects.exists()
    with pytest.raises(Exception, match="does not exist"):
        scorecard_delete(tag="production-readiness")


@pytest.mark.parametrize(
    ("written", "stored"),
    [("7cf376", "#7cf376"), ('"7CF376"', "#7CF376"), ("'#c38b5f'", "#c38b5f"), ("abc", "#abc"), ("123456", "#123456")],
)
def test_level_colours_without_hash_are_stored_with_it(written, stored):
    apply(DESIGN_DESCRIPTOR.replace('color: "#c38b5f"', f"color: {written}"))
    assert Level.objects.get(name="Bronze").color == stored


def test_cortex_exported_file_with_bare_hex_colour_applies():
    path = "/work/shared/realworld/cortexapps-cli/data/import/scorecards/cli-test-scorecard.yaml"
    with open(path) as f:
        text = f.read()
    assert "color: 7cf376" in text
    result = apply(text)
    assert result.scorecard is not None
    assert "#7cf376" in set(result.scorecard.levels.values_list("color", flat=True))
    # Export writes the normalised colour, and it applies back unchanged.
    assert apply(scorecard_export(result.scorecard)).action == "unchanged"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("7cf37", "not a colour"),
        ("'#7cf3766'", "not a colour"),
        ("zzzzzz", "not a colour"),
        ("12345", "quote it"),  # YAML read a number and may have dropped leading zeros
        ("[red]", "quote it"),
    ],
)
def test_invalid_level_colours_are_refused_with_path_and_line(written, message):
    problems = problems_of(DESIGN_DESCRIPTOR.replace('color: "#c38b5f"', f"color: {written}"))
    (problem,) = [p for p in problems if p.path == "ladder.levels[0].color"]
    assert problem.line == 11
    assert message in problem.message


def test_filter_category_and_kind_are_stored_and_applied():
    from apps.scorecards.filters import compile_filter
    from apps.scorecards.language import EntityFacts

    text = DESIGN_DESCRIPTOR.replace(
        "  groups: {exclude: [deprecated]}\n",
        "  groups: {exclude: [deprecated]}\n  kind: GENERIC\n  category: service\n",
    )
    scorecard = apply(text).scorecard
    assert scorecard.filter["category"] == "SERVICE"
    assert scorecard.filter["kind"] == "GENERIC"
    compiled = compile_filter({"category": "SERVICE"})
    assert compiled.matches(EntityFacts(tag="a", type="service"))
    assert not compiled.matches(EntityFacts(tag="b", type="domain"))
    resource = compile_filter({"category": "RESOURCE"})
    assert resource.matches(EntityFacts(tag="c", type="AWS::S3::Bucket"))
    assert not resource.matches(EntityFacts(tag="d", type="team"))
    assert apply(scorecard_export(scorecard)).action == "unchanged"


def test_filter_category_decides_which_entities_are_scored(entity_factory):
    from apps.evaluations.models import EntityScore
    from apps.evaluations.services import scorecard_evaluate

    service = entity_factory(tag="svc-one", type="service")
    domain = entity_factory(tag="dom-one", type="domain")
    text = DESIGN_DESCRIPTOR.replace("  types: {include: [service]}\n", "  category: DOMAIN\n")
    scorecard = apply(text).scorecard
    scorecard_evaluate(scorecard=scorecard, entity_ids=[service.pk, domain.pk])
    scored = set(EntityScore.objects.filter(scorecard=scorecard).values_list("entity_id", flat=True))
    assert scored == {domain.pk}
    assert service.pk not in scored


@pytest.mark.parametrize(
    ("change", "path", "line", "message"),
    [
        (("groups: {exclude: [deprecated]}", "category: WIDGET"), "filter.category", 16, "not one of SERVICE"),
        (("groups: {exclude: [deprecated]}", "kind: CQL"), "filter.kind", 16, "not a filter kind"),
        (("groups: {exclude: [deprecated]}", "owners: [team-a]"), "filter.owners", 16, "unknown filter key"),
        (
            ("filter: {groups: {include: [tier-1]}}", "filter: {category: [SERVICE]}"),
            "rules[1].filter.category",
            28,
            "",
        ),
        (("groups: {exclude: [deprecated]}", "groups: {only: [x]}"), "filter.groups.only", 16, "only include"),
    ],
)
def test_unknown_or_invalid_filter_keys_are_refused_with_key_and_line(change, path, line, message):
    problems = problems_of(DESIGN_DESCRIPTOR.replace(*change))
    matching = [p for p in problems if p.path == path]
    assert matching, [str(p) for p in problems]
    assert matching[0].line == line
    assert message in matching[0].message


def test_every_real_world_filter_key_is_understood():
    """The filter keys Cortex users write (kind, category, types, groups, query) all validate; the rule
    language's own gaps (the filter's query included) are another matter and not checked here."""
    from pathlib import Path

    texts = {str(p): p.read_text() for p in Path("/work/shared/realworld").rglob("*.y*ml")}
    scorecards = {path: text for path, text in texts.items() if "ladder" in text and "rules" in text}
    assert len(scorecards) >= 30
    bad = []
    for path, text in scorecards.items():
        try:
            parse_scorecard_descriptor(text, source=path)
        except ValidationFailed as exc:
            bad += [str(p) for p in exc.problems if ".filter." in f".{p.path}" and not p.path.endswith("query")]
    assert bad == []


# --- hostile descriptors (issue 13): refused fast, naming where, writing nothing -----------------------------------


def _row_counts() -> dict[str, int]:
    from apps.campaigns.models import Campaign
    from apps.catalog.models import Entity
    from apps.evaluations.models import RuleOutcome

    return {model.__name__: model.objects.count() for model in (Scorecard, Rule, Entity, Campaign, RuleOutcome)}


_NOTS = "not " * 20_000 + "true"
_DIGITS = "1" * 5_000 + " > 1"
_OWNER_RULE = "expression: ownership.allOwners().length > 0"


# (what the design descriptor becomes, path, line, message)
HOSTILE = {
    "nul-in-an-expression": (
        DESIGN_DESCRIPTOR.replace(_OWNER_RULE, 'expression: custom("\x00")'), "", 19, "holds a NUL character"
    ),
    "nul-in-a-name": (DESIGN_DESCRIPTOR.replace("name: Production", "name: Pro\x00duction"), "", 2, "NUL character"),
    "5mb": (DESIGN_DESCRIPTOR + "#" * (5 << 20), "", None, "characters long; at most 1,048,576"),
    "nested-1000-deep": (DESIGN_DESCRIPTOR + "x: " + "[" * 1_000 + "]" * 1_000 + "\n", "", 29, "nests more than 64"),
    "nested-1000-deep-block": (
        DESIGN_DESCRIPTOR + "".join("  " * i + f"k{i}:\n" for i in range(1_000)), "", 93, "nests more than 64"
    ),
    "20000-nots-in-a-rule": (
        DESIGN_DESCRIPTOR.replace(_OWNER_RULE, f"expression: {_NOTS}"), "rules[0].expression", 19,
        "expression column 1: the expression is 80,004 characters long",
    ),
    "5000-digits-in-a-rule": (
        DESIGN_DESCRIPTOR.replace(_OWNER_RULE, f"expression: {_DIGITS}"), "rules[0].expression", 19,
        "expression column 1: a number may have at most 100 digits",
    ),
    "20000-nots-in-the-filter": (
        DESIGN_DESCRIPTOR.replace("filter:\n", f"filter:\n  query: {_NOTS}\n", 1), "filter.query", 15,
        "the expression is 80,004 characters long",
    ),
    "5000-digits-in-a-rule-filter": (
        DESIGN_DESCRIPTOR.replace("filter: {groups:", f"filter: {{query: {_DIGITS}, groups:"), "rules[1].filter.query",
        28, "a number may have at most 100 digits",
    ),
}  # fmt: skip


@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
@pytest.mark.parametrize(("text", "path", "line", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_descriptors_are_refused_fast_naming_where_and_write_nothing(text, path, line, message, dry_run):
    import time

    before = _row_counts()
    started = time.monotonic()
    with pytest.raises(ValidationFailed) as raised:
        apply(text, dry_run=dry_run)
    elapsed = time.monotonic() - started
    problem = raised.value.problems[0]
    assert message in str(problem), raised.value.problems
    assert (problem.path, problem.line) == (path, line), problem
    assert elapsed < 5.0, elapsed  # milliseconds; the slack is for a loaded CI machine
    assert _row_counts() == before
