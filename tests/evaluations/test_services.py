import subprocess
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.models import EntityScore, RuleOutcome, RuleResult
from apps.evaluations.services import entity_rescore, scorecard_evaluate
from apps.exemptions.models import Exemption, ExemptionStatus
from apps.scorecards.models import Rule, Scorecard
from apps.scorecards.services import scorecard_apply_descriptor

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def entity(tag, *, groups=(), owners=True, custom=None, type_="service", git_url=None, extra=""):
    owner_block = "  x-cortex-owners: [{type: group, name: team-a}]\n" if owners else ""
    git = f"  x-cortex-git: {{url: {git_url}}}\n" if git_url else ""
    custom_block = ""
    if custom:
        custom_block = "  x-cortex-custom-metadata:\n" + "".join(f"    {k}: {v}\n" for k, v in custom.items())
    text = (
        "openapi: 3.0.1\ninfo:\n"
        f"  title: {tag}\n  x-cortex-tag: {tag}\n  x-cortex-type: {type_}\n"
        f"  x-cortex-groups: [{', '.join(groups)}]\n{owner_block}{custom_block}{git}{extra}"
    )
    return entity_apply_descriptor(text=text, source=tag)[0]


SCORECARD = textwrap.dedent(
    """\
    tag: readiness
    name: Readiness
    ladder:
      levels:
        - {name: Bronze, rank: 1}
        - {name: Silver, rank: 2}
        - {name: Gold, rank: 3}
    filter:
      types: {include: [service]}
      groups: {exclude: [deprecated]}
    rules:
      - title: Has an owner
        expression: ownership.allOwners().length > 0
        weight: 2
        level: Bronze
      - title: Tier set
        expression: custom("tier") != null
        weight: 1
        level: Silver
      - title: Tier one only
        expression: custom("tier") = 1
        weight: 1
        level: Gold
        filter: {groups: {include: [tier-1]}}
      - title: Points only
        expression: custom("tier") < 3
        weight: 3
      - title: Later
        expression: "false"
        weight: 5
        level: Bronze
        effectiveFrom: 2030-01-01T00:00:00Z
      - title: Disabled
        expression: "false"
        level: Bronze
        enabled: false
    """
)


def setup_scorecard(text=SCORECARD):
    return scorecard_apply_descriptor(text=text).scorecard


def rule(title):
    return Rule.objects.get(title=title)


def states(tag):
    return dict(RuleResult.objects.filter(entity__tag=tag).values_list("rule__title", "state"))


def test_full_evaluation_scores_levels_and_results():
    sc = setup_scorecard()
    entity("gold-svc", groups=["tier-1"], custom={"tier": 1})
    entity("silver-svc", custom={"tier": 2})
    entity("no-owner", owners=False, custom={"tier": 1})
    entity("old-svc", groups=["deprecated"], custom={"tier": 1})
    entity("a-team", type_="team")
    summary = scorecard_evaluate(scorecard=sc, now=NOW)
    assert (summary.entities_in_scope, summary.entities_out_of_scope) == (3, 2)

    gold = EntityScore.objects.get(entity__tag="gold-svc")
    assert (gold.score, gold.total_possible, gold.level.name) == (7, 7, "Gold")
    assert gold.percentage == 1.0 and gold.evaluated_at == NOW and gold.scorecard_version == 1
    assert states("gold-svc") == {
        "Has an owner": "pass",
        "Tier set": "pass",
        "Tier one only": "pass",
        "Points only": "pass",
    }

    silver = EntityScore.objects.get(entity__tag="silver-svc")
    # "Tier one only" does not apply (not tier-1): Gold is reached trivially above Silver.
    assert (silver.score, silver.total_possible, silver.level.name) == (6, 6, "Gold")
    assert "Tier one only" not in states("silver-svc")

    no_owner = EntityScore.objects.get(entity__tag="no-owner")
    assert no_owner.level is None
    assert (no_owner.score, no_owner.total_possible) == (4, 6)
    assert (no_owner.rules_passing, no_owner.rules_total) == (2, 3)
    assert not EntityScore.objects.filter(entity__tag__in=["old-svc", "a-team"]).exists()


def test_effective_from_and_disabled_rules_are_not_scored_until_they_apply():
    sc = setup_scorecard()
    entity("svc", custom={"tier": 2})
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert "Later" not in states("svc") and "Disabled" not in states("svc")
    scorecard_evaluate(scorecard=sc, now=datetime(2030, 6, 1, tzinfo=UTC))
    assert states("svc")["Later"] == "fail"
    assert EntityScore.objects.get().level is None


def test_runtime_type_error_becomes_an_error_result_and_does_not_stop_others():
    sc = setup_scorecard()
    entity("text-tier", custom={"tier": "'high'"})
    entity("ok", custom={"tier": 1})
    scorecard_evaluate(scorecard=sc, now=NOW)
    result = RuleResult.objects.get(entity__tag="text-tier", rule__title="Points only")
    assert result.state == "error"
    assert "cannot compare string with number using <" in result.message
    assert states("ok")["Points only"] == "pass"


def test_second_run_writes_nothing_when_nothing_changed():
    sc = setup_scorecard()
    entity("svc", custom={"tier": 2})
    first = scorecard_evaluate(scorecard=sc, now=NOW)
    ids = list(RuleResult.objects.order_by("id").values_list("id", "state", "changed_at"))
    second = scorecard_evaluate(scorecard=sc, now=NOW + timedelta(hours=4))
    assert first.results_written == 3 and second.results_written == 0
    assert list(RuleResult.objects.order_by("id").values_list("id", "state", "changed_at")) == ids
    assert EntityScore.objects.get().evaluated_at == NOW + timedelta(hours=4)


def test_entities_leaving_scope_lose_their_scores():
    sc = setup_scorecard()
    svc = entity("svc", custom={"tier": 2})
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert EntityScore.objects.filter(entity=svc).exists()
    entity("svc", groups=["deprecated"], custom={"tier": 2})
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert not EntityScore.objects.filter(entity=svc).exists()
    assert not RuleResult.objects.filter(entity=svc).exists()


def test_archived_entities_are_dropped():
    sc = setup_scorecard()
    entity("svc", custom={"tier": 2})
    scorecard_evaluate(scorecard=sc, now=NOW)
    entity("svc", custom={"tier": 2}, extra="  x-cortex-archived: true\n")
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert not EntityScore.objects.exists()


def test_pushed_rules_are_no_data_until_an_outcome_arrives_then_take_it():
    sc = setup_scorecard(SCORECARD + "  - title: From CI\n    weight: 4\n    level: Bronze\n")
    svc = entity("svc", custom={"tier": 2})
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert states("svc")["From CI"] == "no_data"
    assert EntityScore.objects.get().level is None
    RuleOutcome.objects.create(entity=svc, rule=rule("From CI"), state="skip")
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert states("svc")["From CI"] == "skip"
    score = EntityScore.objects.get()
    assert (score.score, score.total_possible, score.level.name) == (6, 6, "Gold")


def test_rescore_applies_exemptions_without_running_expressions():
    sc = setup_scorecard()
    svc = entity("svc", owners=False, custom={"tier": 2})
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert EntityScore.objects.get().level is None
    Exemption.objects.create(
        scorecard=sc,
        entity=svc,
        rule=rule("Has an owner"),
        status=ExemptionStatus.APPROVED,
        reason="r",
        requested_at=NOW,
    )
    # Change the expression: a rescore must not run it.
    Rule.objects.filter(title="Points only").update(expression="false")
    score = entity_rescore(entity_id=svc.id, scorecard_id=sc.id, now=NOW)
    assert score.level.name == "Gold"
    assert (score.score, score.total_possible) == (4, 4)
    assert states("svc") == {"Has an owner": "exempt", "Tier set": "pass", "Points only": "pass"}
    assert RuleResult.objects.get(rule__title="Has an owner").raw_state == "fail"


def test_expired_exemption_end_date_stops_exempting():
    sc = setup_scorecard()
    svc = entity("svc", owners=False, custom={"tier": 2})
    Exemption.objects.create(
        scorecard=sc,
        entity=svc,
        rule=rule("Has an owner"),
        status=ExemptionStatus.APPROVED,
        reason="r",
        requested_at=NOW,
        end_date=NOW + timedelta(days=1),
    )
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert states("svc")["Has an owner"] == "exempt"
    scorecard_evaluate(scorecard=sc, now=NOW + timedelta(days=2))
    assert states("svc")["Has an owner"] == "fail"


def test_a_stored_rule_that_no_longer_compiles_is_an_error_result():
    sc = setup_scorecard()
    entity("svc", custom={"tier": 2})
    Rule.objects.filter(title="Tier set").update(expression="custom(")
    scorecard_evaluate(scorecard=sc, now=NOW)
    result = RuleResult.objects.get(rule__title="Tier set")
    assert result.state == "error" and "does not compile" in result.message


def test_scorecard_filter_query_selects_entities():
    text = SCORECARD.replace("groups: {exclude: [deprecated]}", 'query: custom("tier") <= 2')
    sc = setup_scorecard(text)
    entity("in", custom={"tier": 2})
    entity("out", custom={"tier": 3})
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert list(EntityScore.objects.values_list("entity__tag", flat=True)) == ["in"]


def test_evaluation_of_selected_entities_only():
    sc = setup_scorecard()
    a = entity("a", custom={"tier": 2})
    entity("b", custom={"tier": 2})
    scorecard_evaluate(scorecard=sc, entity_ids=[a.id], now=NOW)
    assert list(EntityScore.objects.values_list("entity__tag", flat=True)) == ["a"]


def test_chunks_give_the_same_results_as_one_pass(settings):
    sc = setup_scorecard()
    for i in range(7):
        entity(f"svc-{i}", owners=i % 2 == 0, custom={"tier": i % 4})
    settings.EVALUATION_CHUNK_SIZE = 100
    scorecard_evaluate(scorecard=sc, now=NOW)
    one_pass = sorted(EntityScore.objects.values_list("entity__tag", "score", "total_possible", "level__name"))
    EntityScore.objects.all().delete()
    RuleResult.objects.all().delete()
    settings.EVALUATION_CHUNK_SIZE = 2
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert sorted(EntityScore.objects.values_list("entity__tag", "score", "total_possible", "level__name")) == one_pass


def test_chunk_query_count_does_not_grow_with_entities(django_assert_max_num_queries, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sc = setup_scorecard()
    settings.EVALUATION_CHUNK_SIZE = 1000
    for i in range(3):
        entity(f"svc-{i}", custom={"tier": 1})
    with CaptureQueriesContext(connection) as small:
        scorecard_evaluate(scorecard=sc, now=NOW)
    for i in range(3, 30):
        entity(f"svc-{i}", custom={"tier": 1})
    with CaptureQueriesContext(connection) as large:
        scorecard_evaluate(scorecard=sc, now=NOW + timedelta(hours=1))
    assert len(large.captured_queries) <= len(small.captured_queries) + 1


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_git_rules_read_a_real_repository(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "T")
    (repo / "README.md").write_text("# Service\n\nOwned by team-a.\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")
    text = textwrap.dedent(
        """\
        tag: git-card
        name: Git
        rules:
          - title: Readme
            expression: git.fileExists("README.md")
          - title: Dockerfile
            expression: git.fileExists("Dockerfile")
          - title: Readme names the team
            expression: git.fileContents("README.md").contains("team-a")
          - title: Main branch
            expression: git.defaultBranch() = "main"
        """
    )
    sc = setup_scorecard(text)
    entity("with-repo", git_url=str(repo))
    entity("without-repo")
    scorecard_evaluate(scorecard=sc, now=NOW)
    assert states("with-repo") == {
        "Readme": "pass",
        "Dockerfile": "fail",
        "Readme names the team": "pass",
        "Main branch": "pass",
    }
    without = RuleResult.objects.filter(entity__tag="without-repo")
    assert {r.state for r in without} == {"error"}
    assert all("no git repository" in r.message for r in without)


def test_evaluate_command(capsys):
    setup_scorecard()
    setup_scorecard(
        SCORECARD.replace("tag: readiness", "tag: drafty").replace("name: Readiness", "name: D\ndraft: true")
    )
    entity("svc", custom={"tier": 2})
    call_command("evaluate")
    out = capsys.readouterr().out
    assert "readiness: 1 entities in scope" in out and "drafty" not in out
    call_command("evaluate", "--scorecard", "drafty")
    assert "drafty: 1 entities in scope" in capsys.readouterr().out
    assert EntityScore.objects.filter(scorecard__tag="drafty").count() == 1
    assert Scorecard.objects.count() == 2
