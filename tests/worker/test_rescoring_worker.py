"""Scores follow every write, on a real worker: each path that changes a score's inputs announces it,
and the worker re-scores the affected pairs within seconds (apps.evaluations.rescoring). A bulk
import is re-scored by a handful of tasks, not one per entity.

The test process writes (through the services, the APIs and the admin, as people and clients do) and
publishes to a Redis queue of its own; a `celery worker` subprocess does the re-scoring.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.accounts.services import api_key_create, user_create_with_role
from apps.catalog.models import Entity
from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.models import EntityScore, EvaluationRun, PendingRescore, RunStatus
from apps.scorecards.models import Rule, Scorecard
from apps.scorecards.services import scorecard_apply_descriptor
from tests.evaluations.test_rescoring import SCORECARD as CARD
from tests.evaluations.test_rescoring import admin_form, descriptor
from tests.worker.harness import Worker, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(180),
]

SCORECARD = CARD.format(tag="follow", draft="false")
SECONDS = 20  # "within seconds": the debounce is 1 s here, the rest is the worker's own pace


def score_of(tag: str, scorecard: Scorecard) -> tuple | None:
    row = EntityScore.objects.select_related("level").filter(entity__tag=tag, scorecard=scorecard).first()
    return None if row is None else (row.score, row.total_possible, row.level.name if row.level else None)


def expect(tag: str, scorecard: Scorecard, wanted: tuple | None, worker: Worker) -> None:
    wait_until(
        lambda: score_of(tag, scorecard) == wanted,
        timeout=SECONDS,
        message=lambda: f"{tag} on {scorecard.tag}: {score_of(tag, scorecard)}, wanted {wanted}\n{worker.log()}",
        interval=0.2,
    )


def settle(worker: Worker) -> None:
    """Until nothing waits to be re-scored and no run is going."""
    wait_until(
        lambda: not PendingRescore.objects.exists() and not EvaluationRun.objects.active().exists(),
        timeout=SECONDS,
        message=worker.log,
        interval=0.2,
    )


@pytest.fixture
def world(settings, start_worker):
    settings.RESCORE_DEBOUNCE_SECONDS = 1
    worker = start_worker()
    scorecard = scorecard_apply_descriptor(text=SCORECARD).scorecard
    entity_apply_descriptor(text=descriptor("svc"))
    # Both writes are re-scored by the worker: the scorecard by a run, the entity by the flush.
    expect("svc", scorecard, (3, 4, "Gold"), worker)
    settle(worker)
    return worker, scorecard


def client_with_key(role: str, *, datadog: bool = False) -> APIClient:
    _, key = api_key_create(user=user_create_with_role(username=f"{role.lower()}-key", role=role), name="k")
    client = APIClient()
    if datadog:
        client.credentials(HTTP_DD_API_KEY=key, HTTP_DD_APPLICATION_KEY=key)
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_catalog_writes_rescore_on_the_worker(world, tmp_path):
    worker, card = world
    # A descriptor re-applied as archived (import_catalog): it leaves the scorecard, its badge and `scores`.
    (tmp_path / "svc.yaml").write_text(descriptor("svc", archived=True))
    call_command("import_catalog", str(tmp_path))
    expect("svc", card, None, worker)
    cortex = client_with_key("Editor")
    scores = cortex.get(f"/api/v1/scorecards/{card.tag}/scores").json()
    assert [s["service"]["tag"] for s in scores["serviceScores"]] == []
    # Re-applied without the flag, through `POST /api/v1/open-api`, with a package: back, and the package counts.
    response = cortex.post(
        "/api/v1/open-api", descriptor("svc", django=True), content_type="application/openapi;charset=UTF-8"
    )
    assert response.status_code == 200, response.content
    expect("svc", card, (4, 4, "Gold"), worker)
    # Archived through the same endpoint: gone again.
    response = cortex.post(
        "/api/v1/open-api", descriptor("svc", archived=True), content_type="application/openapi;charset=UTF-8"
    )
    assert response.status_code == 200, response.content
    expect("svc", card, None, worker)
    cortex.post("/api/v1/open-api", descriptor("svc"), content_type="application/openapi;charset=UTF-8")
    expect("svc", card, (3, 4, "Gold"), worker)
    # Custom data through the Cortex API (forced over the descriptor's key).
    response = cortex.post(
        "/api/v1/catalog/svc/custom-data?force=true", {"key": "coverage", "value": 10}, format="json"
    )
    assert response.status_code == 200, response.content
    expect("svc", card, (1, 4, "Bronze"), worker)
    assert response.status_code == 200
    assert worker.tasks("rescore_entities", "succeeded")
    assert not worker.tasks("rescore_entities", "raised")


def test_definition_edits_through_the_datadog_api_and_the_admin_rescore_on_the_worker(world, client):
    worker, card = world
    datadog = client_with_key("Editor", datadog=True)
    created = datadog.post(
        "/api/v2/scorecard/rules",
        {"data": {"type": "rule", "attributes": {"name": "Pushed", "scorecard_name": card.name, "level": 1}}},
        format="json",
    )
    assert created.status_code == 201, created.content
    expect("svc", card, (3, 5, None), worker)  # no outcome yet: no_data, below Bronze
    rule_id = created.json()["data"]["id"]
    disabled = datadog.put(
        f"/api/v2/scorecard/rules/{rule_id}",
        {"data": {"type": "rule", "attributes": {"name": "Pushed", "enabled": False, "level": 1}}},
        format="json",
    )
    assert disabled.status_code == 200, disabled.content
    expect("svc", card, (3, 4, "Gold"), worker)
    datadog.put(
        f"/api/v2/scorecard/rules/{rule_id}",
        {"data": {"type": "rule", "attributes": {"name": "Pushed", "enabled": True, "level": 2}}},
        format="json",
    )
    expect("svc", card, (3, 5, "Bronze"), worker)  # now a Gold rule: Bronze holds
    settle(worker)
    assert datadog.delete(f"/api/v2/scorecard/rules/{rule_id}").status_code == 204
    expect("svc", card, (3, 4, "Gold"), worker)
    settle(worker)

    from apps.accounts.models import User

    client.force_login(User.objects.create_superuser("root", "root@example.com", "x"))
    coverage = Rule.objects.get(scorecard=card, title="Coverage of 80")
    response = client.post(f"/admin/scorecards/rule/{coverage.pk}/change/", admin_form(client, coverage, weight=5))
    assert response.status_code == 302, response.content.decode()[:2000]
    expect("svc", card, (6, 7, "Gold"), worker)
    settle(worker)
    # The failing package rule, given the Gold level: Gold is out of reach.
    package = Rule.objects.get(scorecard=card, title="Runs Django")
    gold = card.levels.get(name="Gold")
    response = client.post(f"/admin/scorecards/rule/{package.pk}/change/", admin_form(client, package, level=gold.pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    expect("svc", card, (6, 7, "Bronze"), worker)
    settle(worker)
    response = client.post(
        f"/admin/scorecards/scorecard/{card.pk}/change/",
        admin_form(client, card, filter='{"types": {"include": ["domain"]}}'),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    expect("svc", card, None, worker)
    runs = EvaluationRun.objects.filter(scorecard=card, trigger="change")
    assert runs.count() >= 5 and not runs.exclude(status=RunStatus.SUCCEEDED).exclude(status=RunStatus.RUNNING).exists()


def test_pushed_outcomes_rescore_and_a_bulk_import_coalesces_on_the_worker(world, tmp_path):
    worker, card = world
    datadog = client_with_key("Editor", datadog=True)
    created = datadog.post(
        "/api/v2/scorecard/rules",
        {"data": {"type": "rule", "attributes": {"name": "Deployed", "scorecard_name": card.name, "level": 1}}},
        format="json",
    )
    rule_id = created.json()["data"]["id"]
    expect("svc", card, (3, 5, None), worker)
    settle(worker)
    body = {
        "data": {
            "type": "batched-outcome",
            "attributes": {"results": [{"rule_id": rule_id, "entity_reference": "service:svc", "state": "pass"}]},
        }
    }
    response = datadog.post("/api/v2/scorecard/outcomes", body, format="json")
    assert response.status_code == 202, response.content
    expect("svc", card, (4, 5, "Gold"), worker)
    settle(worker)

    # Every task already received counts as "before", even if its "succeeded" line is not logged yet: a
    # busy machine logs the outcome push's own flush after `settle` returns.
    flushes_before = set().union(*worker.tasks("rescore_flush").values())
    chunks_before = set().union(*worker.tasks("rescore_entities").values())
    for i in range(120):
        (tmp_path / f"svc-{i:03d}.yaml").write_text(descriptor(f"bulk-{i:03d}", coverage=i))
    call_command("import_catalog", str(tmp_path))
    wait_until(
        lambda: EntityScore.objects.filter(scorecard=card, entity__tag__startswith="bulk-").count() == 120,
        timeout=60,
        message=worker.log,
        interval=0.5,
    )
    settle(worker)
    scores = dict(
        EntityScore.objects.filter(scorecard=card, entity__tag__startswith="bulk-").values_list("entity__tag", "score")
    )
    assert scores["bulk-079"] == 1 and scores["bulk-080"] == 3
    flushes = len(worker.tasks("rescore_flush", "succeeded").get("succeeded", set()) - flushes_before)
    chunks = len(worker.tasks("rescore_entities", "succeeded").get("succeeded", set()) - chunks_before)
    # 120 entities on one scorecard, chunks of EVALUATION_CHUNK_SIZE (500): one flush, one task.
    assert (flushes, chunks) == (1, 1), worker.log()
    assert Entity.objects.filter(tag__startswith="bulk-").count() == 120
