"""`POST /api/v1/queries` and `GET /api/v1/queries/{jobId}` at request level, and `cortex queries run -w` / `get`
end to end. Celery is eager, so a job has finished by the time its POST answers."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from apps.accounts.roles import VIEWER
from apps.catalog.models import CustomData, Entity
from apps.evaluations.models import QueryJob
from tests.api.cortex.test_cli import cortex, write  # noqa: F401 (fixtures)

RUN = "/api/v1/queries"


def tiers():
    for tag, tier in (("q-one", 1), ("q-two", 2), ("q-none", None)):
        entity = Entity.objects.create(tag=tag, name=tag.upper(), description=f"The {tag} service.")
        if tier is not None:
            CustomData.objects.create(entity=entity, key="tier", value=tier)


@pytest.mark.django_db
def test_a_viewer_runs_a_query_and_reads_its_matches(bearer, viewer, django_capture_on_commit_callbacks):
    tiers()
    client = bearer(viewer)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(RUN, {"query": 'custom("tier") >= 1\n'}, format="json")
    assert started.status_code == 200, started.json()
    body = started.json()
    assert body["query"] == 'custom("tier") >= 1' and body["initiatedAt"].endswith("Z")

    got = client.get(f"{RUN}/{body['jobId']}")
    assert got.status_code == 200
    job = got.json()
    assert job["status"] == "DONE" and job["progress"] == 1
    assert job["queryDetails"] == body
    one = Entity.objects.get(tag="q-one")
    assert job["result"][0] == {
        "id": one.public_id,
        "tag": "q-one",
        "name": "Q-ONE",
        "type": "service",
        "description": "The q-one service.",
    }
    assert [e["tag"] for e in job["result"]] == ["q-one", "q-two"]


@pytest.mark.django_db
def test_a_pending_job_is_in_progress(bearer, viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        started = bearer(viewer).post(RUN, {"query": "true"}, format="json").json()
    job = bearer(viewer).get(f"{RUN}/{started['jobId']}").json()
    assert (job["status"], job["progress"], job["result"]) == ("IN_PROGRESS", 0, [])


@pytest.mark.django_db
def test_a_syntax_error_answers_400_with_the_column_and_stores_nothing(bearer, viewer):
    answer = bearer(viewer).post(RUN, {"query": 'custom("tier") =='}, format="json")
    assert answer.status_code == 400
    assert "column" in answer.json()["details"]
    assert bearer(viewer).post(RUN, {}, format="json").status_code == 400
    assert not QueryJob.objects.exists()


@pytest.mark.django_db
def test_unknown_malformed_and_other_peoples_jobs_answer_404(
    bearer, viewer, key_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = bearer(viewer).post(RUN, {"query": "true"}, format="json").json()["jobId"]
    assert bearer(viewer).get(f"{RUN}/{uuid.uuid4()}").status_code == 404
    assert bearer(viewer).get(f"{RUN}/not-a-job").json()["httpStatus"] == 404
    assert bearer(key_for(VIEWER)).get(f"{RUN}/{job_id}").status_code == 404


@pytest.mark.django_db
def test_permissions(bearer, key_for):
    assert bearer(None).post(RUN, {"query": "true"}, format="json").status_code == 401
    no_role = key_for(None)
    assert bearer(no_role).post(RUN, {"query": "true"}, format="json").status_code == 403
    assert bearer(no_role).get(f"{RUN}/{uuid.uuid4()}").status_code == 403
    assert reverse("cortex-queries") == RUN


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.timeout(180)
def test_the_cli_runs_waits_for_and_gets_a_query(cortex, write, key_for):  # noqa: F811
    tiers()
    viewer = key_for(VIEWER)
    path = write("query.txt", 'custom("tier") = 2\n')

    done = cortex(viewer.key, "queries", "run", "-f", path, "-w", "-t", "10").json
    assert done["status"] == "DONE"
    assert [e["tag"] for e in done["result"]] == ["q-two"]

    started = cortex(viewer.key, "queries", "run", "-f", "-", stdin='entity.name() = "Q-NONE"').json
    got = cortex(viewer.key, "queries", "get", "-j", started["jobId"]).json
    assert [e["tag"] for e in got["result"]] == ["q-none"]

    cortex(viewer.key, "queries", "run", "-f", "-", stdin="custom(").failed_with("HTTP Error 400")
    cortex(viewer.key, "queries", "get", "-j", str(uuid.uuid4())).failed_with("HTTP Error 404")
