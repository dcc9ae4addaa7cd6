"""Cortex users' own scorecards and expressions (../shared/realworld/) load, compile and evaluate.

The numbers the issue set are held here: every descriptor applies (through `scorecard_apply_descriptor`,
as `apply_scorecard` and the v1 API do), a dry run agrees with the apply, evaluating every one finishes
without a crash, and at least 95% of the distinct expressions compile — each one that does not names
the construct it does not support.
"""

from __future__ import annotations

import pytest

from apps.core.errors import ValidationFailed
from apps.scorecards.language import RuleSyntaxError, compile_expression
from apps.scorecards.services import scorecard_apply_descriptor
from tests.realworld.corpus import descriptor_files, expressions, relative, require_corpus

FILES = descriptor_files()


def test_the_corpus_is_all_there():
    corpus = require_corpus()
    assert len(descriptor_files()) == 45, [relative(p) for p in descriptor_files()]
    assert len(expressions()) == 110
    assert corpus.is_dir()


def test_at_least_95_percent_of_the_distinct_expressions_compile():
    require_corpus()
    refused = {}
    for source in expressions():
        try:
            compile_expression(source)
        except RuleSyntaxError as exc:
            refused[source] = str(exc)
    compiled = len(expressions()) - len(refused)
    assert compiled / len(expressions()) >= 0.95, refused
    for message in refused.values():
        assert "unexpected" not in message, message  # a refusal names the construct, not a token


@pytest.mark.django_db
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_descriptor_applies_and_a_dry_run_agrees(path):
    require_corpus()
    text = path.read_text()
    try:
        dry = scorecard_apply_descriptor(text=text, source=relative(path), dry_run=True)
    except ValidationFailed as exc:
        pytest.fail(f"dry run refused {relative(path)}: {[str(p) for p in exc.problems]}")
    applied = scorecard_apply_descriptor(text=text, source=relative(path))
    assert dry.action == "valid"
    assert applied.action == "created"
    assert applied.scorecard.rules.count() == len(dry.rules_created)


ENTITIES = {
    # Declares everything the corpus reads from a descriptor: a repository, on-call, owners, links, groups.
    "corpus-full": """\
openapi: 3.0.1
info:
  title: Corpus Full
  description: Everything declared.
  x-cortex-tag: corpus-full
  x-cortex-type: service
  x-cortex-groups: [ai-spend-demo, ai-model:gpt, tier-1, learn-cortex, demo-github-actions-deploys,
    demo-harness-deploys]
  x-cortex-owners:
    - {type: email, email: owner@example.com}
    - {type: group, name: platform}
  x-cortex-link:
    - {name: Runbook, type: runbook, url: https://wiki.example.com/runbook}
    - {name: Docs, type: documentation, url: https://docs.example.com}
    - {name: Dynatrace, type: dynatrace, url: https://abc.live.dynatrace.com/dash}
  x-cortex-git: {github: {repository: org/corpus-full}}
  x-cortex-oncall: {pagerduty: {id: P123, type: SCHEDULE}}
  x-cortex-custom-metadata:
    ai-budget-weekly: "100"
""",
    # Declares nothing: every rule must still end in a state, never a crash.
    "corpus-bare": """\
openapi: 3.0.1
info:
  title: Corpus Bare
  x-cortex-tag: corpus-bare
  x-cortex-type: service
""",
}
# One bare entity of each other type the corpus's filters name, so every scorecard has someone in scope.
for _tag, _type in (
    ("cli-test-service", "service"),
    ("corpus-team", "team"),
    ("corpus-agent", "ai-agent"),
    ("corpus-skill", "ai-skill"),
):
    ENTITIES[_tag] = (
        f"openapi: 3.0.1\ninfo:\n  title: {_tag}\n  x-cortex-tag: {_tag}\n  x-cortex-type: {_type}\n"
        "  x-cortex-groups: [ai-spend-demo]\n"
    )


@pytest.mark.django_db
def test_evaluating_every_scorecard_of_the_corpus_finishes_with_a_state_for_every_rule():
    from apps.catalog.services import entity_apply_descriptor
    from apps.evaluations.models import RuleResult, RuleState
    from apps.evaluations.services import scorecard_evaluate
    from apps.scorecards.models import Rule, Scorecard

    require_corpus()
    for text in ENTITIES.values():
        entity_apply_descriptor(text=text, source="corpus-test")
    for path in FILES:
        scorecard_apply_descriptor(text=path.read_text(), source=relative(path))

    for scorecard in Scorecard.objects.order_by("tag"):
        scorecard_evaluate(scorecard=scorecard)

    results = list(RuleResult.objects.select_related("rule", "entity"))
    assert results
    assert {r.state for r in results} <= set(RuleState.values)
    by_expression = {}
    for result in results:
        by_expression.setdefault(result.rule.expression.strip(), {})[result.entity.tag] = (result.state, result.message)
    for outcome in by_expression.values():
        for _state, message in outcome.values():
            # A rule's own error is a sentence about the rule, never a Python exception's text.
            assert "Traceback" not in message and "object has no attribute" not in message, message

    def main_two(expression):
        return {tag: found for tag, found in by_expression[expression].items() if tag in ("corpus-full", "corpus-bare")}

    assert main_two("git != null") == {"corpus-full": ("pass", ""), "corpus-bare": ("fail", "")}
    assert by_expression["jira.numOfIssues() == 0"]["corpus-bare"] == (
        "not_configured",
        "integration not configured: jira",
    )
    # Every scorecard has someone in scope, and every rule a state for them (rule filters aside).
    unevaluated = [r.expression for r in Rule.objects.all() if r.expression.strip() not in by_expression]
    assert len(unevaluated) <= 3, unevaluated
    placeholder = "/* Replace with your chaos engineering experiment tracking metric */"
    assert by_expression[placeholder]["corpus-full"] == (
        "not_configured",
        "not configured: the expression is only a comment, not a check yet",
    )
    assert main_two('links("dynatrace").anyMatch("https://.*.live.dynatrace.com/.*")') == {
        "corpus-full": ("pass", ""),
        "corpus-bare": ("fail", ""),
    }


@pytest.mark.django_db
def test_the_corpus_deploy_and_metric_rules_read_the_catalog_data():
    """`deploys(lookback=...)` and `customMetrics(key=..., lookback=...)` rules of the CLI's solutions pass
    once the data is there, through the same services the v1 API uses."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.activity.services import custom_metric_create, custom_metric_points_add, deploy_add
    from apps.catalog.models import Entity
    from apps.catalog.services import entity_apply_descriptor
    from apps.evaluations.models import RuleResult
    from apps.evaluations.services import scorecard_evaluate
    from apps.scorecards.models import Scorecard

    require_corpus()
    entity_apply_descriptor(text=ENTITIES["corpus-full"], source="corpus-test")
    entity = Entity.objects.get(tag="corpus-full")
    deploy_file = next(p for p in FILES if "github-actions-deploy" in str(p))
    scorecard = scorecard_apply_descriptor(text=deploy_file.read_text(), source=relative(deploy_file)).scorecard

    def states():
        scorecard_evaluate(scorecard=Scorecard.objects.get(pk=scorecard.pk))
        return {
            r.rule.expression: r.state
            for r in RuleResult.objects.filter(entity=entity, rule__scorecard=scorecard).select_related("rule")
        }

    before = states()
    assert before['deploys(lookback=duration("P7D")).length > 0'] == "fail"
    assert before['deploys(lookback=duration("P1Y")).length > 0'] == "fail"

    now = timezone.now()
    deploy_add(entity=entity, title="v1", timestamp=now - timedelta(days=40))
    after_old = states()
    assert after_old['deploys(lookback=duration("P1Y")).length > 0'] == "pass"
    assert after_old['deploys(lookback=duration("P7D")).length > 0'] == "fail"

    deploy_add(entity=entity, title="v2", timestamp=now - timedelta(days=1))
    assert states()['deploys(lookback=duration("P7D")).length > 0'] == "pass"

    # The AI-spend solution: teams in the ai-spend-demo group, a weekly budget as custom data.
    entity_apply_descriptor(
        text=(
            "openapi: 3.0.1\ninfo:\n  title: AI team\n  x-cortex-tag: ai-team\n  x-cortex-type: team\n"
            "  x-cortex-groups: [ai-spend-demo]\n  x-cortex-custom-metadata:\n    ai-budget-weekly: '100'\n"
        ),
        source="corpus-test",
    )
    team = Entity.objects.get(tag="ai-team")
    spend_file = next(p for p in FILES if "ai-spend" in str(p))
    spend = scorecard_apply_descriptor(text=spend_file.read_text(), source=relative(spend_file)).scorecard
    tracked = 'customMetrics(key="ai-spend", lookback = duration("P1Y")).length > 0'
    within = (
        'customMetrics(key="ai-spend", lookback=duration("P8D")).map((m) => m.value).average() '
        '<= jq(custom("ai-budget-weekly"), ". | tonumber")'
    )

    def team_states():
        scorecard_evaluate(scorecard=Scorecard.objects.get(pk=spend.pk))
        return {
            r.rule.expression: r.state
            for r in RuleResult.objects.filter(entity=team, rule__scorecard=spend).select_related("rule")
        }

    assert (team_states()[tracked], team_states()[within]) == ("fail", "fail")
    custom_metric_create(key="ai-spend", name="AI spend", valence="DECREASING")
    custom_metric_points_add(entity=team, key="ai-spend", points=[(now - timedelta(days=2), 80.0)])
    assert (team_states()[tracked], team_states()[within]) == ("pass", "pass")
    custom_metric_points_add(entity=team, key="ai-spend", points=[(now - timedelta(days=1), 160.0)])
    assert team_states()[within] == "fail"  # the average, 120, is over the budget


@pytest.mark.django_db
def test_the_corpus_dependency_and_relationship_rules_read_the_catalog():
    from apps.catalog.models import Entity
    from apps.catalog.relations import relationship_type_create
    from apps.catalog.services import entity_apply_descriptor
    from apps.evaluations.tester import rule_test

    require_corpus()
    relationship_type_create(tag="ai-skill-service", fields={"name": "Skill used by a service"})

    def apply(tag, kind, extra=""):
        text = f"openapi: 3.0.1\ninfo:\n  title: {tag}\n  x-cortex-tag: {tag}\n  x-cortex-type: {kind}\n{extra}"
        entity_apply_descriptor(text=text, source="corpus-test")
        return Entity.objects.get(tag=tag)

    apply("uploads-bucket", "AWS::S3::Bucket")
    apply("checkout", "service")
    skill = apply(
        "pdf-skill",
        "ai-skill",
        "  x-cortex-dependency:\n    - tag: uploads-bucket\n"
        "  x-cortex-relationships:\n    - type: ai-skill-service\n      destinations: [{tag: checkout}]\n",
    )
    bucket, checkout = Entity.objects.get(tag="uploads-bucket"), Entity.objects.get(tag="checkout")

    def value(entity, expression):
        result = rule_test(entity=entity, expression=expression, collect=False)
        assert result.syntax_error is None and result.state in ("pass", "fail"), result.message
        return result.value

    out = 'dependencies.out().any((dependency) => dependency.type == "AWS::S3::Bucket")'
    assert (value(skill, out), value(checkout, out)) == (True, False)
    assert (value(bucket, "dependencies.in().length > 0"), value(skill, "dependencies.in().length > 0")) == (
        True,
        False,
    )
    destinations = 'entity.destinations(relationshipType = "ai-skill-service").length > 0'
    assert (value(skill, destinations), value(checkout, destinations)) == (True, False)
    sources = 'entity.sources(relationshipType = "ai-skill-service").length > 0'
    assert (value(checkout, sources), value(skill, sources)) == (True, False)
    assert value(checkout, 'entity.sources(relationshipType = "other").length > 0') is False


@pytest.mark.django_db
def test_every_descriptor_applies_through_the_v1_api(key_for):
    """`POST /api/v1/scorecards/descriptor`, as `cortex scorecards create -f FILE` sends it: dry run, then apply."""
    from rest_framework.test import APIClient

    from apps.accounts.roles import EDITOR
    from apps.scorecards.models import Scorecard

    require_corpus()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(EDITOR, 'corpus-editor').key}")
    tags = set()
    for path in FILES:
        text = path.read_text()
        dry = client.post("/api/v1/scorecards/descriptor?dryRun=true", data=text, content_type="application/yaml")
        assert dry.status_code == 200, (relative(path), dry.content[:500])
        applied = client.post("/api/v1/scorecards/descriptor", data=text, content_type="application/yaml")
        assert applied.status_code == 200, (relative(path), applied.content[:500])
        tags.add(applied.json()["scorecard"]["tag"])
    assert Scorecard.objects.filter(tag__in=tags).count() == len(tags) == 45


@pytest.mark.django_db
def test_the_corpus_team_rules_read_the_owning_teams_members_and_identity_provider_groups():
    from apps.catalog.models import Entity
    from apps.catalog.services import entity_apply_descriptor
    from apps.evaluations.tester import rule_test

    require_corpus()
    entity_apply_descriptor(
        text="""\
openapi: 3.0.1
info:
  title: UI Team
  x-cortex-tag: ui-team
  x-cortex-type: team
  x-cortex-team:
    groups:
      - {name: ENG-UI-TEAM, provider: WORKDAY}
      - {name: Learn Cortex - Okta Team, provider: OKTA}
    members:
      - {name: Sophia Jenkins, email: sophia@example.com}
""",
        source="corpus-test",
    )
    for tag, owner in (("web-app", "ui-team"), ("orphan-app", "nobody-team")):
        entity_apply_descriptor(
            text=(
                f"openapi: 3.0.1\ninfo:\n  title: {tag}\n  x-cortex-tag: {tag}\n"
                f"  x-cortex-owners:\n    - {{type: group, name: {owner}}}\n"
            ),
            source="corpus-test",
        )
    okta = next(e for e in expressions() if "Learn Cortex - Okta Team" in e and e.startswith("ownership.teams()"))
    workday = next(e for e in expressions() if "ENG-UI-TEAM" in e)

    def state(tag, expression):
        return rule_test(entity=Entity.objects.get(tag=tag), expression=expression, collect=False).state

    assert (state("web-app", okta), state("orphan-app", okta)) == ("pass", "fail")
    assert (state("web-app", workday), state("orphan-app", workday)) == ("pass", "fail")
    assert state("web-app", 'ownership.teams().map(t => t.tag) == ["ui-team"]') == "pass"


@pytest.mark.django_db
def test_a_rule_that_is_only_a_comment_applies_with_a_warning():
    require_corpus()
    path = next(p for p in FILES if p.name == "incident-preparedness.yaml")
    result = scorecard_apply_descriptor(text=path.read_text(), source=relative(path), dry_run=True)
    warnings = [str(w) for w in result.warnings if "only a comment" in str(w)]
    assert len(warnings) == 4, [str(w) for w in result.warnings]
    assert all("every entity is not_configured until the check is written" in w for w in warnings)
