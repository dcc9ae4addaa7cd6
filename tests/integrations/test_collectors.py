"""Collectors against real git repositories and a real local HTTP server."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from apps.integrations.collectors import collector_for
from apps.integrations.collectors import git as git_collector
from apps.integrations.collectors.git import MAX_FILE_BYTES, GitCollector, cache_path, cached_repository, read_facts
from apps.integrations.collectors.prometheus import PrometheusCollector
from apps.integrations.collectors.sonarqube import SonarQubeCollector
from tests.integrations.helpers import Reply, commit_files, git, make_repo
from tests.integrations.payloads import (
    PROMETHEUS_BAD_QUERY,
    prometheus_matrix,
    prometheus_scalar,
    prometheus_vector,
    sonar_measures,
)

pytestmark = pytest.mark.django_db

SERVICE_FILES = {
    "README.md": "# Payments API\n",
    "catalog-info.yaml": "openapi: 3.0.1\ninfo:\n  x-cortex-tag: payments-api\n",
    "docs/runbook.md": "Page the on-call.\n",
    ".github/workflows/ci.yml": "on: push\n",
}
GIT_KEYS = [
    "fileExists:README.md",
    "fileExists:docs/runbook.md",
    "fileExists:/docs/runbook.md",
    "fileExists:docs",
    "fileExists:CHANGELOG.md",
    "fileContents:README.md",
    "fileContents:CHANGELOG.md",
    "defaultBranch",
]
EXPECTED_SERVICE_FACTS = {
    "fileExists:README.md": (True, ""),
    "fileExists:docs/runbook.md": (True, ""),
    "fileExists:/docs/runbook.md": (True, ""),
    "fileExists:docs": (True, ""),
    "fileExists:CHANGELOG.md": (False, ""),
    "fileContents:README.md": ("# Payments API\n", ""),
    "fileContents:CHANGELOG.md": (None, ""),
    "defaultBranch": ("main", ""),
}


def test_registry_builds_one_collector_per_source():
    assert isinstance(collector_for("git"), GitCollector)
    assert isinstance(collector_for("sonarqube"), SonarQubeCollector)
    assert isinstance(collector_for("prometheus"), PrometheusCollector)
    assert collector_for("jira") is None


# --- git: reading in place ---------------------------------------------------------------------


def test_git_reads_a_local_checkout_on_main(tmp_path, make_entity):
    repo = make_repo(tmp_path / "payments", SERVICE_FILES)
    entity = make_entity("payments-api", git_url=str(repo))

    assert GitCollector().collect(entity, GIT_KEYS) == EXPECTED_SERVICE_FACTS


def test_git_reads_the_head_commit_not_the_working_tree(tmp_path, make_entity):
    repo = make_repo(tmp_path / "payments", SERVICE_FILES)
    (repo / "README.md").write_text("uncommitted edit\n")
    (repo / "UNTRACKED.md").write_text("never committed\n")
    entity = make_entity("payments-api", git_url=str(repo))

    facts = GitCollector().collect(entity, ["fileContents:README.md", "fileExists:UNTRACKED.md"])

    assert facts == {"fileContents:README.md": ("# Payments API\n", ""), "fileExists:UNTRACKED.md": (False, "")}


def test_git_default_branch_follows_the_repository(tmp_path, make_entity):
    repo = make_repo(tmp_path / "legacy", {"README.md": "legacy\n"}, branch="trunk")
    entity = make_entity("legacy", git_url=str(repo))

    assert GitCollector().collect(entity, ["defaultBranch", "fileExists:README.md"]) == {
        "defaultBranch": ("trunk", ""),
        "fileExists:README.md": (True, ""),
    }


def test_git_reads_a_bare_clone_in_place(tmp_path, make_entity):
    source = make_repo(tmp_path / "payments", SERVICE_FILES)
    git(tmp_path, "clone", "-q", "--bare", str(source), str(tmp_path / "payments.git"))
    entity = make_entity("payments-api", git_url=str(tmp_path / "payments.git"))

    assert GitCollector().collect(entity, GIT_KEYS) == EXPECTED_SERVICE_FACTS


def test_git_reads_a_file_url_in_place(tmp_path, make_entity, git_cache):
    repo = make_repo(tmp_path / "payments", SERVICE_FILES)
    entity = make_entity("payments-api", git_url=f"file://{repo}")

    assert GitCollector().collect(entity, GIT_KEYS) == EXPECTED_SERVICE_FACTS
    assert not git_cache.exists()


def test_git_detached_head_still_reads_files(tmp_path, make_entity):
    repo = make_repo(tmp_path / "payments", SERVICE_FILES)
    git(repo, "checkout", "-q", "--detach")
    entity = make_entity("payments-api", git_url=str(repo))

    facts = GitCollector().collect(entity, ["defaultBranch", "fileExists:README.md"])

    assert facts == {
        "defaultBranch": (None, "HEAD is detached, so there is no default branch"),
        "fileExists:README.md": (True, ""),
    }


def test_git_file_contents_are_capped_and_decoded_leniently(tmp_path, make_entity):
    big = b"x" * (MAX_FILE_BYTES + 512 * 1024)
    repo = make_repo(tmp_path / "blobs", {"big.txt": big, "latin1.txt": b"caf\xe9\n", "small.txt": "after\n"})
    entity = make_entity("blobs", git_url=str(repo))

    # The big file comes first: the one after it must still read correctly from the shared git pipe.
    facts = GitCollector().collect(
        entity, ["fileContents:big.txt", "fileContents:latin1.txt", "fileContents:small.txt"]
    )

    assert facts["fileContents:big.txt"] == ("x" * MAX_FILE_BYTES, "")
    assert facts["fileContents:latin1.txt"] == ("caf\ufffd\n", "")
    assert facts["fileContents:small.txt"] == ("after\n", "")


def test_git_paths_outside_the_repository_and_through_files_do_not_exist(tmp_path, make_entity):
    repo = make_repo(tmp_path / "payments", SERVICE_FILES)
    entity = make_entity("payments-api", git_url=str(repo))
    keys = ["fileExists:../payments/README.md", "fileExists:README.md/child", "fileExists:", "fileContents:docs"]

    facts = GitCollector().collect(entity, keys)

    assert facts == {
        "fileExists:../payments/README.md": (False, ""),
        "fileExists:README.md/child": (False, ""),
        "fileExists:": (None, "unknown git fact 'fileExists:'"),
        "fileContents:docs": (None, ""),
    }


def test_git_opens_the_repository_once_per_entity(tmp_path, make_entity, monkeypatch):
    repo = make_repo(tmp_path / "payments", SERVICE_FILES)
    entity = make_entity("payments-api", git_url=str(repo))
    opened: list[str] = []

    class CountingRepo(git_collector.Repo):
        def __init__(self, path, *args, **kwargs):
            opened.append(str(path))
            super().__init__(path, *args, **kwargs)

    monkeypatch.setattr(git_collector, "Repo", CountingRepo)
    GitCollector().collect(entity, GIT_KEYS)

    assert opened == [str(repo)]


# --- git: failures -----------------------------------------------------------------------------


def test_git_without_a_repository_configured(make_entity):
    entity = make_entity("payments-api")

    facts = GitCollector().collect(entity, ["fileExists:README.md", "defaultBranch"])

    message = "no git repository is configured for payments-api"
    assert facts == {"fileExists:README.md": (None, message), "defaultBranch": (None, message)}


def test_git_missing_repository_path(tmp_path, make_entity):
    missing = tmp_path / "gone"
    entity = make_entity("payments-api", git_url=str(missing))

    facts = GitCollector().collect(entity, ["fileExists:README.md", "defaultBranch"])

    message = f"the git repository {missing} does not exist"
    assert facts == {"fileExists:README.md": (None, message), "defaultBranch": (None, message)}


def test_git_folder_that_is_not_a_repository(tmp_path, make_entity):
    folder = tmp_path / "plain"
    folder.mkdir()
    entity = make_entity("payments-api", git_url=str(folder))

    facts = GitCollector().collect(entity, ["fileExists:README.md"])

    assert facts == {"fileExists:README.md": (None, f"{folder} is not a git repository")}


def test_git_repository_without_commits(tmp_path, make_entity):
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    entity = make_entity("empty", git_url=str(repo))

    facts = GitCollector().collect(entity, ["fileExists:README.md", "defaultBranch"])

    message = "the repository has no commits"
    assert facts == {"fileExists:README.md": (None, message), "defaultBranch": (None, message)}


def test_git_refuses_the_ext_transport(make_entity, git_cache):
    entity = make_entity("evil", git_url="ext::sh -c touch% /tmp/pwned")

    facts = GitCollector().collect(entity, ["defaultBranch"])

    assert facts == {"defaultBranch": (None, "refusing the unsafe git URL ext::sh -c touch% /tmp/pwned")}
    assert not git_cache.exists()


# --- git: remote repositories through the cache ------------------------------------------------


def test_cached_repository_clones_a_file_url_bare_and_shallow_then_fetches(tmp_path, git_cache):
    origin = make_repo(tmp_path / "origin", {"README.md": "v1\n"})
    commit_files(origin, {"CHANGELOG.md": "1.0\n"}, "second")
    url = f"file://{origin}"

    with cached_repository(url) as clone:
        assert clone.bare
        assert Path(clone.git_dir) == cache_path(url)
        assert Path(clone.git_dir).parent == git_cache
        assert (Path(clone.git_dir) / "shallow").exists()
        assert len(list(clone.iter_commits())) == 1
        assert read_facts(clone, ["fileExists:CHANGELOG.md", "fileExists:NEW.md"]) == {
            "fileExists:CHANGELOG.md": (True, ""),
            "fileExists:NEW.md": (False, ""),
        }

    commit_files(origin, {"NEW.md": "fresh\n"}, "third")

    with cached_repository(url) as clone:
        assert read_facts(clone, ["fileExists:NEW.md", "fileContents:NEW.md", "defaultBranch"]) == {
            "fileExists:NEW.md": (True, ""),
            "fileContents:NEW.md": ("fresh\n", ""),
            "defaultBranch": ("main", ""),
        }
    assert [p.name for p in git_cache.iterdir()] == [cache_path(url).name]


def test_git_remote_url_is_cloned_into_the_cache_and_fetched_on_the_next_run(
    tmp_path, make_entity, remote_host, git_cache
):
    host, folder = remote_host
    origin = make_repo(folder / "payments.git", SERVICE_FILES)
    entity = make_entity("payments-api", git_url=f"{host}/payments.git")

    assert GitCollector().collect(entity, GIT_KEYS) == EXPECTED_SERVICE_FACTS
    assert cache_path(entity.git_url).is_dir()
    assert cache_path(entity.git_url).name.startswith("git.example.test_payments.git-")

    commit_files(origin, {"CHANGELOG.md": "## 1.1\n"}, "release")

    facts = GitCollector().collect(entity, ["fileExists:CHANGELOG.md", "fileContents:CHANGELOG.md"])
    assert facts == {"fileExists:CHANGELOG.md": (True, ""), "fileContents:CHANGELOG.md": ("## 1.1\n", "")}


def test_git_remote_default_branch_rename_is_followed(make_entity, remote_host):
    host, folder = remote_host
    origin = make_repo(folder / "legacy.git", {"README.md": "legacy\n"}, branch="master")
    entity = make_entity("legacy", git_url=f"{host}/legacy.git")
    assert GitCollector().collect(entity, ["defaultBranch"]) == {"defaultBranch": ("master", "")}

    git(origin, "branch", "-m", "master", "main")
    commit_files(origin, {"MOVED.md": "renamed\n"}, "after the rename")

    facts = GitCollector().collect(entity, ["defaultBranch", "fileExists:MOVED.md"])
    assert facts == {"defaultBranch": ("main", ""), "fileExists:MOVED.md": (True, "")}


def test_git_remote_is_fetched_once_per_run_for_entities_sharing_it(make_entity, remote_host, monkeypatch):
    host, folder = remote_host
    make_repo(folder / "mono.git", {"svc-a/README.md": "a\n", "svc-b/README.md": "b\n"})
    first = make_entity("svc-a", git_url=f"{host}/mono.git")
    second = make_entity("svc-b", git_url=f"{host}/mono.git")
    calls: list[str] = []
    real_clone, real_fetch = git_collector._clone, git_collector._fetch
    monkeypatch.setattr(git_collector, "_clone", lambda url, path: calls.append("clone") or real_clone(url, path))
    monkeypatch.setattr(git_collector, "_fetch", lambda repo: calls.append("fetch") or real_fetch(repo))

    run = GitCollector()
    assert run.collect(first, ["fileExists:svc-a/README.md"]) == {"fileExists:svc-a/README.md": (True, "")}
    assert run.collect(second, ["fileExists:svc-b/README.md"]) == {"fileExists:svc-b/README.md": (True, "")}
    assert calls == ["clone"]

    next_run = GitCollector()
    next_run.collect(first, ["fileExists:svc-a/README.md"])
    next_run.collect(second, ["fileExists:svc-b/README.md"])
    assert calls == ["clone", "fetch"]


def test_git_clone_failure_is_the_error_of_every_key(make_entity, remote_host, git_cache):
    host, folder = remote_host
    entity = make_entity("ghost", git_url=f"{host}/ghost.git")

    facts = GitCollector().collect(entity, ["fileExists:README.md", "defaultBranch"])

    errors = {error for _value, error in facts.values()}
    assert len(errors) == 1
    (error,) = errors
    assert error.startswith("could not clone https://git.example.test/ghost.git: fatal: ")
    assert "does not appear to be a git repository" in error
    assert all(value is None for value, _error in facts.values())
    # The failed clone leaves nothing behind, so the next run tries again from scratch.
    assert list(git_cache.iterdir()) == []


def test_git_fetch_failure_after_the_remote_disappears(make_entity, remote_host):
    host, folder = remote_host
    origin = make_repo(folder / "payments.git", SERVICE_FILES)
    entity = make_entity("payments-api", git_url=f"{host}/payments.git")
    GitCollector().collect(entity, ["defaultBranch"])
    origin.rename(folder / "moved.git")

    facts = GitCollector().collect(entity, ["defaultBranch"])

    value, error = facts["defaultBranch"]
    assert value is None
    assert error.startswith("could not fetch https://git.example.test/payments.git: fatal: ")


def test_git_credentials_never_reach_errors_or_the_cache(make_entity, closed_port, git_cache):
    entity = make_entity("private", git_url=f"https://deploy:s3cr3t-token@127.0.0.1:{closed_port}/acme/private.git")

    facts = GitCollector().collect(entity, ["defaultBranch"])

    value, error = facts["defaultBranch"]
    assert value is None
    assert error.startswith(f"could not clone https://127.0.0.1:{closed_port}/acme/private.git: ")
    assert "s3cr3t" not in error
    assert "s3cr3t" not in cache_path(entity.git_url).name
    assert list(git_cache.iterdir()) == []


# --- SonarQube ---------------------------------------------------------------------------------

SONAR_DESCRIPTOR = {
    "openapi": "3.0.1",
    "info": {
        "title": "Payments API",
        "x-cortex-tag": "payments-api",
        "x-cortex-static-analysis": {"sonarqube": {"project": "acme_payments-api"}},
    },
}


@pytest.fixture
def sonarqube(http_service, settings):
    settings.SONARQUBE_URL = http_service.url + "/"
    settings.SONARQUBE_TOKEN = "squ_0123456789abcdef"
    http_service.route("/api/measures/component", sonar_measures)
    return http_service


def test_sonarqube_reads_all_metrics_in_one_request(sonarqube, make_entity):
    entity = make_entity("payments-api", descriptor=SONAR_DESCRIPTOR)
    keys = [
        "metric:coverage",
        "metric:ncloc",
        "metric:bugs",
        "metric:alert_status",
        "metric:sqale_rating",
        "metric:new_coverage",
        "metric:vulnerabilities",
    ]

    facts = SonarQubeCollector().collect(entity, keys)

    assert facts == {
        "metric:coverage": (81.3, ""),
        "metric:ncloc": (11482, ""),
        "metric:bugs": (0, ""),
        "metric:alert_status": ("OK", ""),
        "metric:sqale_rating": (1.0, ""),
        "metric:new_coverage": (92.5, ""),
        "metric:vulnerabilities": (None, ""),
    }
    (request,) = sonarqube.received
    assert request.path == "/api/measures/component"
    assert request.query == {
        "component": "acme_payments-api",
        "metricKeys": "coverage,ncloc,bugs,alert_status,sqale_rating,new_coverage,vulnerabilities",
    }
    token = base64.b64encode(b"squ_0123456789abcdef:").decode()
    assert request.headers["Authorization"] == f"Basic {token}"


def test_sonarqube_project_defaults_to_the_entity_tag(sonarqube, make_entity, settings):
    settings.SONARQUBE_TOKEN = ""
    entity = make_entity("checkout")

    assert SonarQubeCollector().collect(entity, ["metric:coverage"]) == {"metric:coverage": (45.0, "")}
    (request,) = sonarqube.received
    assert request.query["component"] == "checkout"
    assert "Authorization" not in request.headers


def test_sonarqube_unknown_metric_does_not_hide_the_others(sonarqube, make_entity):
    entity = make_entity("payments-api", descriptor=SONAR_DESCRIPTOR)

    facts = SonarQubeCollector().collect(entity, ["metric:coverage", "metric:coverage_typo", "metric:ncloc"])

    assert facts == {
        "metric:coverage": (81.3, ""),
        "metric:coverage_typo": (None, "SonarQube has no metric 'coverage_typo'"),
        "metric:ncloc": (11482, ""),
    }
    assert [r.query["metricKeys"] for r in sonarqube.received] == ["coverage,coverage_typo,ncloc", "coverage,ncloc"]


def test_sonarqube_unknown_project(sonarqube, make_entity):
    entity = make_entity("unknown-service")

    facts = SonarQubeCollector().collect(entity, ["metric:coverage", "metric:bugs"])

    message = "SonarQube returned HTTP 404: Component key 'unknown-service' not found"
    assert facts == {"metric:coverage": (None, message), "metric:bugs": (None, message)}


def test_sonarqube_server_error(http_service, settings, make_entity):
    settings.SONARQUBE_URL = http_service.url
    http_service.route("/api/measures/component", Reply(500, "<html><body>Internal Server Error</body></html>"))
    entity = make_entity("checkout")

    facts = SonarQubeCollector().collect(entity, ["metric:coverage"])

    assert facts == {"metric:coverage": (None, "SonarQube returned HTTP 500")}


def test_sonarqube_invalid_json(http_service, settings, make_entity):
    settings.SONARQUBE_URL = http_service.url
    http_service.route("/api/measures/component", Reply(200, "<html>Log in to SonarQube</html>"))
    entity = make_entity("checkout")

    facts = SonarQubeCollector().collect(entity, ["metric:coverage"])

    assert facts == {"metric:coverage": (None, "SonarQube returned invalid JSON (HTTP 200)")}


def test_sonarqube_unreachable(settings, closed_port, make_entity):
    settings.SONARQUBE_URL = f"http://127.0.0.1:{closed_port}"
    entity = make_entity("checkout")

    facts = SonarQubeCollector().collect(entity, ["metric:coverage", "metric:bugs"])

    message = f"SonarQube is unreachable at http://127.0.0.1:{closed_port}/api/measures/component: Connection refused"
    assert facts == {"metric:coverage": (None, message), "metric:bugs": (None, message)}


def test_sonarqube_timeout(http_service, settings, make_entity):
    settings.SONARQUBE_URL = http_service.url
    settings.INTEGRATION_TIMEOUT_SECONDS = 0.2
    http_service.route("/api/measures/component", lambda query: Reply(200, {"component": {}}, delay=1.5))
    entity = make_entity("checkout")

    facts = SonarQubeCollector().collect(entity, ["metric:coverage"])

    assert facts == {"metric:coverage": (None, "SonarQube did not answer within 0.2 s")}


def test_sonarqube_unconfigured(settings, make_entity):
    settings.SONARQUBE_URL = ""
    entity = make_entity("checkout")

    facts = SonarQubeCollector().collect(entity, ["metric:coverage", "bogus"])

    assert facts == {
        "metric:coverage": (None, "SonarQube is not configured (SONARQUBE_URL)"),
        "bogus": (None, "unknown sonarqube fact 'bogus'"),
    }


# --- Prometheus --------------------------------------------------------------------------------


@pytest.fixture
def prometheus(http_service, settings):
    settings.PROMETHEUS_URL = http_service.url
    return http_service


def test_prometheus_vector_gives_its_first_sample_and_tag_is_substituted(prometheus, make_entity):
    prometheus.route(
        "/api/v1/query",
        Reply(
            200,
            prometheus_vector(
                ({"__name__": "up", "job": "checkout", "instance": "10.0.3.7:9100"}, "1"),
                ({"__name__": "up", "job": "checkout", "instance": "10.0.3.8:9100"}, "0"),
            ),
        ),
    )
    entity = make_entity("checkout")

    facts = PrometheusCollector().collect(entity, ['query:up{job="{{tag}}"}'])

    assert facts == {'query:up{job="{{tag}}"}': (1.0, "")}
    (request,) = prometheus.received
    assert request.path == "/api/v1/query"
    assert request.query == {"query": 'up{job="checkout"}'}


def test_prometheus_one_request_per_query(prometheus, make_entity):
    nan = Reply(200, prometheus_vector(({}, "NaN")))
    answers = {
        "scalar(sum(up))": Reply(200, prometheus_scalar("3")),
        'sum(rate(http_requests_total{job="checkout",code=~"5.."}[5m]))': Reply(200, prometheus_vector(({}, "0.25"))),
        'up{job="nothing"}': Reply(200, prometheus_vector()),
        'histogram_quantile(0.99, rate(latency_bucket{job="checkout"}[5m]))': nan,
        "up[5m]": Reply(200, prometheus_matrix()),
        "up{": Reply(400, PROMETHEUS_BAD_QUERY),
    }
    prometheus.route("/api/v1/query", lambda query: answers[query["query"]])
    entity = make_entity("checkout")
    keys = [
        "query:scalar(sum(up))",
        'query:sum(rate(http_requests_total{job="{{tag}}",code=~"5.."}[5m]))',
        'query:up{job="nothing"}',
        'query:histogram_quantile(0.99, rate(latency_bucket{job="{{tag}}"}[5m]))',
        "query:up[5m]",
        "query:up{",
    ]

    facts = PrometheusCollector().collect(entity, keys)

    assert facts == {
        "query:scalar(sum(up))": (3.0, ""),
        'query:sum(rate(http_requests_total{job="{{tag}}",code=~"5.."}[5m]))': (0.25, ""),
        'query:up{job="nothing"}': (None, ""),
        'query:histogram_quantile(0.99, rate(latency_bucket{job="{{tag}}"}[5m]))': (
            None,
            "the query returned NaN, which is not a finite number",
        ),
        "query:up[5m]": (None, "the query returned a range vector; rules need an instant vector or a scalar"),
        "query:up{": (
            None,
            'Prometheus returned HTTP 400: invalid parameter "query": 1:9: parse error: unexpected end of input',
        ),
    }
    assert len(prometheus.received) == len(keys)


def test_prometheus_server_error_and_invalid_json(prometheus, make_entity):
    answers = {"a": Reply(503, "Service Unavailable"), "b": Reply(200, "not json {")}
    prometheus.route("/api/v1/query", lambda query: answers[query["query"]])
    entity = make_entity("checkout")

    facts = PrometheusCollector().collect(entity, ["query:a", "query:b"])

    assert facts == {
        "query:a": (None, "Prometheus returned HTTP 503"),
        "query:b": (None, "Prometheus returned invalid JSON (HTTP 200)"),
    }


def test_prometheus_timeout_only_fails_the_slow_query(prometheus, settings, make_entity):
    settings.INTEGRATION_TIMEOUT_SECONDS = 0.2
    answers = {"slow": Reply(200, prometheus_scalar("1"), delay=1.5), "fast": Reply(200, prometheus_scalar("2"))}
    prometheus.route("/api/v1/query", lambda query: answers[query["query"]])
    entity = make_entity("checkout")

    facts = PrometheusCollector().collect(entity, ["query:slow", "query:fast"])

    assert facts == {"query:slow": (None, "Prometheus did not answer within 0.2 s"), "query:fast": (2.0, "")}


def test_prometheus_unreachable_fails_fast_for_the_rest_of_the_run(settings, closed_port, make_entity):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{closed_port}"
    first, second = make_entity("checkout"), make_entity("payments-api")

    run = PrometheusCollector()
    facts = run.collect(first, ["query:up", "query:sum(up)"]) | run.collect(second, ["query:up{x='y'}"])

    message = f"Prometheus is unreachable at http://127.0.0.1:{closed_port}/api/v1/query: Connection refused"
    assert facts == {"query:up": (None, message), "query:sum(up)": (None, message), "query:up{x='y'}": (None, message)}


def test_prometheus_unconfigured(settings, make_entity):
    settings.PROMETHEUS_URL = ""
    entity = make_entity("checkout")

    facts = PrometheusCollector().collect(entity, ["query:up", "metric:up"])

    assert facts == {
        "query:up": (None, "Prometheus is not configured (PROMETHEUS_URL)"),
        "metric:up": (None, "unknown prometheus fact 'metric:up'"),
    }


def test_git_reads_a_monorepo_entity_under_its_basepath(tmp_path, make_entity):
    """`x-cortex-git.<provider>.basepath` (Cortex's monorepo folder): file facts are relative to it."""
    repo = make_repo(
        tmp_path / "mono",
        {
            "README.md": "the monorepo\n",
            "services/payments/README.md": "payments\n",
            "services/payments/Dockerfile": "FROM python\n",
            "services/ledger/README.md": "ledger\n",
        },
    )
    payments = make_entity("payments", git_url=str(repo))
    payments.git = {"github": {"repository": "acme/mono", "basepath": "services/payments/"}}
    keys = [
        "fileExists:Dockerfile",
        "fileContents:README.md",
        "fileExists:../ledger/README.md",
        "fileExists:/Dockerfile",
        "defaultBranch",
    ]

    facts = GitCollector().collect(payments, keys)

    assert facts == {
        "fileExists:Dockerfile": (True, ""),
        "fileContents:README.md": ("payments\n", ""),
        # A neighbour's folder is out of reach, as the repository's parent is without a basepath.
        "fileExists:../ledger/README.md": (False, ""),
        "fileExists:/Dockerfile": (True, ""),
        "defaultBranch": ("main", ""),
    }
    root = make_entity("mono-root", git_url=str(repo))
    root.git = {"github": {"repository": "acme/mono", "basepath": "."}}
    assert GitCollector().collect(root, ["fileContents:README.md"]) == {
        "fileContents:README.md": ("the monorepo\n", "")
    }


def test_sonarqube_project_says_whether_the_entity_has_one(http_service, settings, make_entity):
    """`sonarqube != null`: the project the descriptor names (or the tag) exists in SonarQube."""
    settings.SONARQUBE_URL = http_service.url

    def show(query):
        if query["component"] == "payments-api":
            return Reply(200, {"component": {"key": "payments-api", "name": "Payments API"}})
        return Reply(404, {"errors": [{"msg": f"Component key '{query['component']}' not found"}]})

    http_service.route("/api/components/show", show)

    found = SonarQubeCollector().collect(make_entity("payments-api"), ["project"])
    missing = SonarQubeCollector().collect(make_entity("no-project"), ["project"])

    assert found == {"project": ({"key": "payments-api", "name": "Payments API"}, "")}
    assert missing == {"project": (None, "")}


def test_git_code_search_finds_matching_lines_of_the_head_commit(tmp_path, make_entity):
    repo = make_repo(
        tmp_path / "repo",
        {
            "app/settings.py": "DEBUG = False\nAPI_TOKEN = 'x'\n",
            "app/main.go": "package main // token here\n",
            "docs/notes.md": "no secrets\n",
            "logo.png": b"\x89PNG\x00token\x00",
        },
    )
    entity = make_entity("searchable", git_url=str(repo))
    keys = ["codeSearch:token|secret", "codeSearch:token\x1ffileExtension=py", "codeSearch:log4j|struts2"]

    facts = GitCollector().collect(entity, keys)

    assert facts["codeSearch:token|secret"] == (
        [
            {"path": "app/main.go", "line": 1, "text": "package main // token here"},
            {"path": "docs/notes.md", "line": 1, "text": "no secrets"},
        ],
        "",
    )  # binary files are skipped; matching is case-sensitive, as git grep's
    assert facts["codeSearch:token\x1ffileExtension=py"] == ([], "")
    assert facts["codeSearch:log4j|struts2"] == ([], "")


def test_git_code_search_reports_a_bad_regex(tmp_path, make_entity):
    entity = make_entity("searchable", git_url=str(make_repo(tmp_path / "repo", {"a.txt": "a\n"})))

    value, error = GitCollector().collect(entity, ["codeSearch:(unclosed"])["codeSearch:(unclosed"]

    assert value is None and error.startswith("code search failed: fatal:")


def test_git_last_commit(tmp_path, make_entity):
    repo = make_repo(tmp_path / "repo", {"README.md": "# x\n"})
    commit_files(repo, {"CHANGELOG.md": "1.0\n"}, "release 1.0")
    entity = make_entity("committed", git_url=str(repo))

    value, error = GitCollector().collect(entity, ["lastCommit"])["lastCommit"]

    assert error == ""
    assert value["message"] == "release 1.0"
    assert len(value["sha"]) == 40 and value["sha"] == git(repo, "rev-parse", "HEAD").strip()
    assert value["date"][:4].isdigit() and "T" in value["date"]
