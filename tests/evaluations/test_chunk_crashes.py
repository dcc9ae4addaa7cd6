"""A chunk that stops its worker twice is not run a third time (issue #13): it is failed with the reason and
the run finishes. The crashes here are real: a separate process evaluates the chunk and is SIGKILLed while
a rule runs, as the kernel's OOM killer or a stuck-worker reaper would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from apps.catalog.models import CustomData, Entity
from apps.evaluations.models import ChunkStatus, EvaluationChunk, EvaluationRun, RunStatus
from apps.evaluations.runs import MAX_CRASHES, chunk_evaluate, chunk_release, run_start
from apps.scorecards.language import jq_sandbox
from apps.scorecards.services import scorecard_apply_descriptor

# serialized_rollback, as every transactional test here: a plain flush would re-create content types that
# the next serialized test then loads again.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]

SLOW = """\
tag: slow
name: Slow
rules:
  - title: Never ends
    expression: jq(custom("x"), "last(range(1e12))") = 1
    weight: 1
"""


def start_run():
    """A run in progress whose one chunk no delivery has claimed yet.

    Celery is eager here, so starting the run evaluates its chunk at once (the jq bound stops the rule);
    the run is then put back as a broker would hold it: running, its chunk pending.
    """
    card = scorecard_apply_descriptor(text=SLOW).scorecard
    entity = Entity.objects.create(tag="svc", name="Svc")
    CustomData.objects.create(entity=entity, key="x", value=1)
    saved, jq_sandbox.LIMITS = jq_sandbox.LIMITS, jq_sandbox.Limits(timeout_seconds=0.2)
    try:
        run = run_start(scorecard=card)
    finally:
        jq_sandbox.LIMITS = saved
    EvaluationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, done_chunks=0, finished_at=None)
    EvaluationChunk.objects.filter(run=run).update(status=ChunkStatus.PENDING, attempts=0, crashes=0)
    run.refresh_from_db()
    return run


def deliver_and_kill(run_id: int) -> None:
    """Evaluate chunk 0 in another process; kill it once it has claimed the chunk and is running the rule."""
    before = EvaluationChunk.objects.get(run_id=run_id, index=0).attempts
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scorecards_site.settings.test",
        "DATABASE_URL": f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
        f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}",
        "JQ_TIMEOUT_SECONDS": "600",
    }
    code = (
        "import django; django.setup(); from apps.evaluations.runs import chunk_evaluate; "
        f"chunk_evaluate(run_id={run_id}, index=0)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code + "; print('returned')"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while EvaluationChunk.objects.get(run_id=run_id, index=0).attempts == before:
        assert process.poll() is None, f"the delivery ended by itself: {process.stdout.read()}"
        assert time.monotonic() < deadline, "the delivery never claimed the chunk"
        time.sleep(0.1)
    time.sleep(1.0)  # inside the rule now (its jq program never ends)
    os.killpg(process.pid, signal.SIGKILL)  # the process and its jq child, as an OOM kill would
    process.wait()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second process needs a shared database")
def test_a_chunk_that_kills_its_worker_twice_is_failed_on_the_third_delivery():
    run = start_run()
    deliver_and_kill(run.id)
    deliver_and_kill(run.id)
    chunk = EvaluationChunk.objects.get(run=run)
    assert (chunk.status, chunk.attempts, chunk.crashes) == (ChunkStatus.RUNNING, 2, 1)

    assert chunk_evaluate(run_id=run.id, index=0) is False  # the third delivery runs nothing

    chunk.refresh_from_db()
    run.refresh_from_db()
    assert (chunk.status, chunk.crashes) == (ChunkStatus.FAILED, MAX_CRASHES)
    assert chunk.error == (
        "this chunk stopped its worker 2 times (the process was killed or ran out of memory), so it was not run again"
    )
    assert (run.status, run.failed_chunks, run.done_chunks) == (RunStatus.FAILED, 1, 0)


def test_a_chunk_released_after_an_error_is_not_counted_as_a_crash():
    card = scorecard_apply_descriptor(text=SLOW.replace('"last(range(1e12))"', '"."')).scorecard
    entity = Entity.objects.create(tag="svc", name="Svc")
    CustomData.objects.create(entity=entity, key="x", value=1)
    run = run_start(scorecard=card)
    # A delivery that raised released the chunk before its retry (the task does this).
    EvaluationChunk.objects.filter(run=run).update(status=ChunkStatus.RUNNING, attempts=1)
    chunk_release(run_id=run.id, index=0)
    assert chunk_evaluate(run_id=run.id, index=0) is True
    chunk = EvaluationChunk.objects.get(run=run)
    assert (chunk.status, chunk.attempts, chunk.crashes) == (ChunkStatus.DONE, 2, 0)
