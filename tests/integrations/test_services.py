"""facts_collect writes what the collectors find; facts_for_entities reads it back in the evaluator's shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.integrations.models import Fact
from apps.integrations.selectors import facts_for_entities
from apps.integrations.services import facts_collect
from tests.integrations.helpers import Reply, commit_files, make_repo
from tests.integrations.payloads import prometheus_vector, sonar_measures

pytestmark = pytest.mark.django_db

FIRST_RUN = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
SECOND_RUN = datetime(2025, 3, 2, 6, 0, tzinfo=UTC)
REQUIRED = frozenset(
    {
        ("git", "fileExists:README.md"),
        ("git", "fileContents:README.md"),
        ("git", "defaultBranch"),
        ("sonarqube", "metric:coverage"),
        ("sonarqube", "metric:ncloc"),
        ("prometheus", 'query:sum(up{job="{{tag}}"})'),
    }
)


@pytest.fixture
def services(http_service, settings):
    """SonarQube and Prometheus on one local server; Prometheus counts the entity's up targets."""
    settings.SONARQUBE_URL = http_service.url
    settings.PROMETHEUS_URL = http_service.url
    http_service.route("/api/measures/component", sonar_measures)
    up = {'sum(up{job="payments-api"})': "3", 'sum(up{job="checkout"})': "2"}
    http_service.route("/api/v1/query", lambda query: Reply(200, prometheus_vector(({}, up[query["query"]]))))
    return http_service


@pytest.fixture
def catalog(tmp_path, make_entity):
    repo = make_repo(tmp_path / "payments", {"README.md": "# Payments\n"})
    payments = make_entity(
        "payments-api",
        git_url=str(repo),
        descriptor={"info": {"x-cortex-static-analysis": {"sonarqube": {"project": "acme_payments-api"}}}},
    )
    checkout = make_entity("checkout")
    return repo, payments, checkout


def _rows() -> dict[tuple[str, str, str], tuple]:
    return {(f.entity.tag, f.source, f.key): (f.value, f.error) for f in Fact.objects.select_related("entity")}


def test_collect_stores_every_fact_with_its_value_or_error(services, catalog):
    _repo, payments, checkout = catalog

    summary = facts_collect(entity_ids=[payments.id, checkout.id], required=REQUIRED, now=FIRST_RUN)

    no_git = "no git repository is configured for checkout"
    assert _rows() == {
        ("payments-api", "git", "defaultBranch"): ("main", ""),
        ("payments-api", "git", "fileContents:README.md"): ("# Payments\n", ""),
        ("payments-api", "git", "fileExists:README.md"): (True, ""),
        ("payments-api", "sonarqube", "metric:coverage"): (81.3, ""),
        ("payments-api", "sonarqube", "metric:ncloc"): (11482, ""),
        ("payments-api", "prometheus", 'query:sum(up{job="{{tag}}"})'): (3.0, ""),
        ("checkout", "git", "defaultBranch"): (None, no_git),
        ("checkout", "git", "fileContents:README.md"): (None, no_git),
        ("checkout", "git", "fileExists:README.md"): (None, no_git),
        ("checkout", "sonarqube", "metric:coverage"): (45.0, ""),
        ("checkout", "sonarqube", "metric:ncloc"): (None, ""),
        ("checkout", "prometheus", 'query:sum(up{job="{{tag}}"})'): (2.0, ""),
    }
    assert set(Fact.objects.values_list("collected_at", flat=True)) == {FIRST_RUN}
    assert summary == {
        "entities": 2,
        "facts": 12,
        "sources": {
            "git": {"facts": 6, "errors": 3},
            "prometheus": {"facts": 2, "errors": 0},
            "sonarqube": {"facts": 4, "errors": 0},
        },
        "errors": [
            f"checkout git:defaultBranch: {no_git}",
            f"checkout git:fileContents:README.md: {no_git}",
            f"checkout git:fileExists:README.md: {no_git}",
        ],
        "not_configured": [],
    }
    # SonarQube is asked once per entity, Prometheus once per query and entity.
    assert [r.path for r in services.received].count("/api/measures/component") == 2
    assert [r.path for r in services.received].count("/api/v1/query") == 2


def test_collect_twice_updates_the_same_rows(services, catalog):
    repo, payments, checkout = catalog
    facts_collect(entity_ids=[payments.id, checkout.id], required=REQUIRED, now=FIRST_RUN)
    first = {(f.entity_id, f.source, f.key): (f.pk, f.value, f.error) for f in Fact.objects.all()}

    facts_collect(entity_ids=[payments.id, checkout.id], required=REQUIRED, now=SECOND_RUN)

    second = {(f.entity_id, f.source, f.key): (f.pk, f.value, f.error) for f in Fact.objects.all()}
    assert second == first
    assert set(Fact.objects.values_list("collected_at", flat=True)) == {SECOND_RUN}


def test_collect_overwrites_changed_values_and_cleared_errors(services, catalog, settings):
    repo, payments, _checkout = catalog
    settings.SONARQUBE_URL = ""
    summary = facts_collect(entity_ids=[payments.id], required=REQUIRED, now=FIRST_RUN)
    # Not configured: SonarQube is not asked, and its rules say "integration not configured: sonarqube".
    assert summary["not_configured"] == ["sonarqube"]
    assert not Fact.objects.filter(source="sonarqube").exists()

    settings.SONARQUBE_URL = services.url
    commit_files(repo, {"README.md": "# Payments v2\n"}, "rewrite")
    facts_collect(entity_ids=[payments.id], required=REQUIRED, now=SECOND_RUN)

    coverage = Fact.objects.get(source="sonarqube", key="metric:coverage")
    assert (coverage.value, coverage.error, coverage.collected_at) == (81.3, "", SECOND_RUN)
    assert Fact.objects.get(key="fileContents:README.md").value == "# Payments v2\n"
    assert Fact.objects.count() == 6


def test_collect_keeps_facts_no_longer_required_and_ignores_unknown_entities(services, catalog):
    _repo, payments, _checkout = catalog
    facts_collect(entity_ids=[payments.id], required=REQUIRED, now=FIRST_RUN)

    summary = facts_collect(entity_ids=[payments.id, 987654], required={("git", "defaultBranch")}, now=SECOND_RUN)

    assert summary["entities"] == 1
    assert summary["facts"] == 1
    assert Fact.objects.count() == 6
    assert Fact.objects.get(key="defaultBranch").collected_at == SECOND_RUN
    assert Fact.objects.get(key="metric:coverage").collected_at == FIRST_RUN


def test_collect_turns_a_crashing_collector_into_errors(catalog, monkeypatch):
    _repo, payments, _checkout = catalog

    def explode(self, entity, keys):
        raise RuntimeError("boom")

    monkeypatch.setattr("apps.integrations.collectors.git.GitCollector.collect", explode)

    summary = facts_collect(entity_ids=[payments.id], required={("git", "defaultBranch")}, now=FIRST_RUN)

    assert _rows() == {("payments-api", "git", "defaultBranch"): (None, "git collection failed: RuntimeError: boom")}
    assert summary["sources"] == {"git": {"facts": 1, "errors": 1}}


def test_collect_reports_what_the_fact_table_cannot_hold(catalog, settings):
    _repo, payments, _checkout = catalog
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # configured, so its keys are checked; none is sent
    long_query = "query:" + "sum(up) + " * 120 + "1"
    required = {("jira", "issues:open"), ("prometheus", long_query), ("git", "defaultBranch"), ("catalog", "deploys")}

    summary = facts_collect(entity_ids=[payments.id], required=required, now=FIRST_RUN)

    assert _rows() == {("payments-api", "git", "defaultBranch"): ("main", "")}
    assert summary["sources"] == {"git": {"facts": 1, "errors": 0}}
    assert summary["errors"] == [
        "prometheus:query:sum(up) + sum(up) + sum(up) + sum(up) + sum(up) + sum(...: "
        "keys longer than 1024 characters are not collected",
    ]
    assert summary["not_configured"] == ["jira"]


def test_collect_uses_one_query_to_load_and_one_to_write(catalog, django_assert_num_queries):
    _repo, payments, checkout = catalog
    required = {("git", "defaultBranch"), ("git", "fileExists:README.md")}

    with django_assert_num_queries(2):
        facts_collect(entity_ids=[payments.id, checkout.id], required=required, now=FIRST_RUN)


def test_collect_with_nothing_required_writes_nothing(catalog, django_assert_num_queries):
    _repo, payments, _checkout = catalog

    with django_assert_num_queries(1):
        summary = facts_collect(entity_ids=[payments.id], required=frozenset())

    assert summary == {"entities": 1, "facts": 0, "sources": {}, "errors": [], "not_configured": []}
    assert not Fact.objects.exists()


def test_facts_for_entities_reads_every_entity_in_one_query(services, catalog, make_entity, django_assert_num_queries):
    _repo, payments, checkout = catalog
    never_collected = make_entity("billing")
    facts_collect(entity_ids=[payments.id, checkout.id], required=REQUIRED, now=FIRST_RUN)

    with django_assert_num_queries(1):
        facts = facts_for_entities([payments.id, checkout.id, never_collected.id])

    assert facts[payments.id] == {
        ("git", "defaultBranch"): ("main", ""),
        ("git", "fileContents:README.md"): ("# Payments\n", ""),
        ("git", "fileExists:README.md"): (True, ""),
        ("sonarqube", "metric:coverage"): (81.3, ""),
        ("sonarqube", "metric:ncloc"): (11482, ""),
        ("prometheus", 'query:sum(up{job="{{tag}}"})'): (3.0, ""),
    }
    assert facts[checkout.id][("git", "defaultBranch")] == (None, "no git repository is configured for checkout")
    assert facts[checkout.id][("sonarqube", "metric:ncloc")] == (None, "")
    assert facts[never_collected.id] == {}
    assert set(facts) == {payments.id, checkout.id, never_collected.id}
