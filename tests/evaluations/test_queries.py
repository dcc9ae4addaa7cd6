"""Catalog queries as jobs: compile first, run on the workers in chunks, match only where the expression is true."""

from __future__ import annotations

import pytest

from apps.catalog.models import CustomData
from apps.core.errors import ApplicationError, NotFoundError
from apps.evaluations import queries
from apps.evaluations.models import QueryJob, QueryState
from apps.evaluations.queries import query_job_get, query_job_run, query_matches, query_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(entity_factory):
    """Three services with tiers 1, 2 and none, plus an archived tier-1 one."""
    made = {}
    for tag, tier in (("alpha", 1), ("beta", 2), ("gamma", None)):
        made[tag] = entity_factory(tag=tag)
        if tier is not None:
            CustomData.objects.create(entity=made[tag], key="tier", value=tier)
    archived = entity_factory(tag="old", archived=True)
    CustomData.objects.create(entity=archived, key="tier", value=1)
    return made


def run(expression: str, user, django_capture_on_commit_callbacks) -> QueryJob:
    with django_capture_on_commit_callbacks(execute=True):
        job = query_start(expression=expression, by=user)
    job.refresh_from_db()
    return job


def test_a_query_matches_the_entities_for_which_it_is_true(catalog, user, django_capture_on_commit_callbacks):
    job = run('custom("tier") <= 2\n', user, django_capture_on_commit_callbacks)

    assert job.state == QueryState.DONE
    assert job.expression == 'custom("tier") <= 2'
    assert [m.tag for m in query_matches(job)] == ["alpha", "beta"]  # not the archived one
    assert (job.entities_total, job.entities_done, job.progress) == (3, 3, 1.0)
    assert job.started_at and job.finished_at and job.error == ""


def test_a_syntax_error_is_refused_with_its_column_and_nothing_is_stored(
    catalog, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ApplicationError) as refused:
        query_start(expression='custom("tier") ==', by=user)
    assert "column" in refused.value.message
    assert not QueryJob.objects.exists()
    assert callbacks == []


def test_an_empty_query_is_refused(user):
    with pytest.raises(ApplicationError):
        query_start(expression="  \n", by=user)
    assert not QueryJob.objects.exists()


def test_an_integration_not_configured_or_an_error_is_no_match(catalog, user, django_capture_on_commit_callbacks):
    job = run("jira.numOfIssues() == 0", user, django_capture_on_commit_callbacks)
    assert job.state == QueryState.DONE
    assert query_matches(job) == []

    # A runtime error on one entity (no tier: null + 1 fails? a string compared) leaves the others matching.
    job = run('custom("tier") = 1 or custom("tier").length > 0', user, django_capture_on_commit_callbacks)
    assert job.state == QueryState.DONE
    assert [m.tag for m in query_matches(job)] == ["alpha"]


def test_the_job_is_enqueued_after_commit_and_runs_once(catalog, user, django_capture_on_commit_callbacks, tasks_run):
    with django_capture_on_commit_callbacks() as callbacks:
        job = query_start(expression='custom("tier") = 1', by=user)
    assert job.state == QueryState.PENDING and tasks_run == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert tasks_run == [("run_query", (job.pk,))]
    job.refresh_from_db()
    assert job.state == QueryState.DONE
    finished = job.finished_at

    # A redelivered task leaves a finished job alone.
    query_job_run(job_pk=job.pk)
    job.refresh_from_db()
    assert (job.state, job.finished_at) == (QueryState.DONE, finished)


def test_a_crash_marks_the_job_failed_with_the_reason(catalog, user, monkeypatch, django_capture_on_commit_callbacks):
    def boom(*args, **kwargs):
        raise RuntimeError("the facts store is down")

    monkeypatch.setattr(queries, "entity_facts_bulk", boom)
    job = run('custom("tier") = 1', user, django_capture_on_commit_callbacks)
    assert job.state == QueryState.FAILED
    assert job.error == "RuntimeError: the facts store is down"
    assert query_matches(job) == []


def test_chunks_cost_the_same_queries_whatever_their_size(entity_factory, user, settings, django_assert_num_queries):
    settings.EVALUATION_CHUNK_SIZE = 5
    entity_factory.create_batch(5)
    job = QueryJob.objects.create(
        expression='entity.type() = "service"', requested_by=user, created_at=user.date_joined
    )
    # claim, load, list ids, store the total, finish; per chunk: the six bulk loaders and the progress.
    with django_assert_num_queries(12) as one_chunk:
        query_job_run(job_pk=job.pk)
    entity_factory.create_batch(5)
    job = QueryJob.objects.create(
        expression='entity.type() = "service"', requested_by=user, created_at=user.date_joined
    )
    per_chunk = len(one_chunk.captured_queries) - 5
    with django_assert_num_queries(5 + 2 * per_chunk):
        query_job_run(job_pk=job.pk)
    assert len(QueryJob.objects.get(pk=job.pk).result_entity_ids) == 10


def test_a_job_is_visible_to_its_requester_only(user_factory, user, django_capture_on_commit_callbacks):
    job = run("true", user, django_capture_on_commit_callbacks)
    assert query_job_get(job_id=str(job.job_id), viewer=user) == job
    with pytest.raises(NotFoundError):
        query_job_get(job_id=str(job.job_id), viewer=user_factory())
    with pytest.raises(NotFoundError):
        query_job_get(job_id="not-a-uuid", viewer=user)
    assert query_job_get(job_id=str(job.job_id), viewer=user_factory(is_superuser=True)) == job
