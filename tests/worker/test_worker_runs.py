"""The evaluation engine on a real worker (DESIGN §8): runs fan out in chunks over Redis, survive a
killed worker, start once when dispatchers race, re-run chunks harmlessly, follow exemptions, and
email owners when a score drops.

Every test starts `celery worker` subprocesses (see conftest.py) and checks the rows they write.
"""

from __future__ import annotations

import email
import textwrap
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from apps.accounts.roles import APPROVER, VIEWER
from apps.accounts.services import user_create_with_role
from apps.catalog.models import CustomData, Entity
from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.models import (
    ChunkStatus,
    EntityScore,
    EvaluationChunk,
    EvaluationRun,
    RuleResult,
    RunStatus,
    ScoreHistory,
)
from apps.evaluations.runs import RunInProgress, dispatch, run_start, runs_resume_stale
from apps.evaluations.tasks import chunk_chain, evaluate_run_chunk, expire_exemptions, run_finished
from apps.exemptions.models import Exemption, ExemptionEvent, ExemptionStatus
from apps.exemptions.services import exemption_approve, exemption_request
from apps.notifications.models import NotificationLog, NotificationRun, NotificationStatus
from apps.scorecards.descriptors import parse_scorecard_descriptor
from apps.scorecards.models import Rule, Scorecard
from apps.scorecards.services import scorecard_apply
from scorecards_site.celery import app
from tests.worker.harness import VISIBILITY_TIMEOUT, wait_for_other_sessions_to_end, wait_for_run, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(180),
]

SCORECARD = textwrap.dedent(
    """\
    tag: worker-readiness
    name: Worker readiness
    ladder:
      levels:
        - {name: Bronze, rank: 1}
        - {name: Silver, rank: 2}
        - {name: Gold, rank: 3}
    filter:
      types: {include: [service]}
      groups: {exclude: [deprecated]}
    rules:
      - title: Owner team set
        expression: custom("owner_team") != null
        weight: 1
        level: Bronze
      - title: Coverage of 80
        expression: custom("coverage") >= 80
        weight: 2
        level: Silver
      - title: Tier-1 SLO
        expression: custom("slo") >= 99.9
        weight: 3
        level: Gold
        filter: {groups: {include: [tier-1]}}
      - title: Low tier
        expression: custom("tier") < 3
        weight: 1
    """
)
LEVEL_RANKS = (1, 2, 3)


@dataclass(frozen=True)
class Spec:
    """What the test itself knows about one generated entity, to compute its score independently."""

    tag: str
    type: str
    groups: tuple[str, ...]
    owner_team: str | None
    coverage: int
    slo: float
    tier: int

    @property
    def in_scope(self) -> bool:
        return self.type == "service" and "deprecated" not in self.groups

    def rules(self) -> dict[str, tuple[float, int | None, bool]]:
        """Applicable rules: title -> (weight, level rank, passes)."""
        rules = {
            "Owner team set": (1, 1, self.owner_team is not None),
            "Coverage of 80": (2, 2, self.coverage >= 80),
            "Low tier": (1, None, self.tier < 3),
        }
        if "tier-1" in self.groups:
            rules["Tier-1 SLO"] = (3, 3, self.slo >= 99.9)
        return rules

    def expected(self) -> tuple[float, float, int | None, int]:
        """(score, total possible, level rank, rules passing): levels are climbed in order."""
        rules = self.rules().values()
        score = sum(weight for weight, _rank, ok in rules if ok)
        total = sum(weight for weight, _rank, _ok in rules)
        blocked = [rank for _weight, rank, ok in rules if rank is not None and not ok]
        reached = [rank for rank in LEVEL_RANKS if not blocked or rank < min(blocked)]
        return score, total, max(reached, default=None), sum(1 for *_, ok in rules if ok)


def make_entities(count: int) -> list[Spec]:
    """`count` entities with custom data, in bulk; every 20th is a team and every 20th deprecated (out of scope)."""
    specs = []
    for i in range(count):
        groups = ("deprecated",) if i % 20 == 7 else ("tier-1",) if i % 4 == 0 else ()
        specs.append(
            Spec(
                tag=f"svc-{i:05d}",
                type="team" if i % 20 == 19 else "service",
                groups=groups,
                owner_team=None if i % 5 == 1 else f"team-{i % 7}",
                coverage=(i * 37) % 101,
                slo=99.95 if i % 8 == 0 else 99.5,
                tier=1 + i % 3,
            )
        )
    entities = Entity.objects.bulk_create(
        Entity(tag=s.tag, name=s.tag.upper(), type=s.type, groups=list(s.groups)) for s in specs
    )
    rows = []
    for entity, spec in zip(entities, specs, strict=True):
        data = {"coverage": spec.coverage, "slo": spec.slo, "tier": spec.tier}
        if spec.owner_team is not None:
            data["owner_team"] = spec.owner_team
        rows.extend(CustomData(entity=entity, key=key, value=value) for key, value in data.items())
    CustomData.objects.bulk_create(rows, batch_size=2000)
    return specs


def apply_scorecard(text: str = SCORECARD) -> Scorecard:
    """Applied without announcing it: these tests start and count their runs themselves, and the run the
    announcement would start on the worker (tests/worker/test_rescoring_worker.py) would race theirs."""
    spec, _ = parse_scorecard_descriptor(text)
    result = scorecard_apply(spec=spec, announce=False)
    assert result.scorecard is not None
    return result.scorecard


def assert_scores_match(scorecard: Scorecard, specs: list[Spec], run: EvaluationRun) -> None:
    """Every in-scope entity has one score and one result per applicable rule, as the test computes them."""
    in_scope = {s.tag: s for s in specs if s.in_scope}
    titles = dict(Rule.objects.filter(scorecard=scorecard).values_list("id", "title"))
    scores = {
        row["entity__tag"]: row
        for row in EntityScore.objects.filter(scorecard=scorecard).values(
            "entity__tag", "score", "total_possible", "percentage", "level__rank", "rules_passing", "rules_total"
        )
    }
    assert set(scores) == set(in_scope)
    assert EntityScore.objects.filter(scorecard=scorecard).count() == len(in_scope)
    results: dict[str, dict[str, str]] = {}
    for tag, rule_id, state, raw_state in RuleResult.objects.filter(scorecard=scorecard).values_list(
        "entity__tag", "rule_id", "state", "raw_state"
    ):
        assert state == raw_state
        assert titles[rule_id] not in results.setdefault(tag, {}), f"two results for {tag} / {titles[rule_id]}"
        results[tag][titles[rule_id]] = state
    assert set(results) == set(in_scope)
    applicable = 0
    for tag, spec in in_scope.items():
        score, total, level, passing = spec.expected()
        row = scores[tag]
        assert (row["score"], row["total_possible"], row["level__rank"]) == (score, total, level), tag
        assert row["percentage"] == pytest.approx(score / total), tag
        assert (row["rules_passing"], row["rules_total"]) == (passing, len(spec.rules())), tag
        assert results[tag] == {title: "pass" if ok else "fail" for title, (_w, _r, ok) in spec.rules().items()}, tag
        applicable += len(spec.rules())
    assert RuleResult.objects.filter(scorecard=scorecard).count() == applicable
    # Each chunk counted once: the run's tally is exactly the rules evaluated over all entities.
    assert run.rule_evaluations == applicable
    history = Counter(ScoreHistory.objects.filter(scorecard=scorecard).values_list("entity__tag", flat=True))
    assert history == Counter(set(in_scope)), "one history point per entity"


def assert_chunks_done_once(run: EvaluationRun) -> list[EvaluationChunk]:
    chunks = list(run.chunks.order_by("index"))
    assert [c.index for c in chunks] == list(range(run.total_chunks))
    assert {c.status for c in chunks} == {ChunkStatus.DONE}
    assert all(c.started_at and c.finished_at and c.finished_at >= c.started_at for c in chunks)
    assert run.done_chunks == run.total_chunks and run.failed_chunks == 0
    assert sum(c.rule_evaluations for c in chunks) == run.rule_evaluations
    assert sum(c.results_written for c in chunks) == run.results_written
    return chunks


def test_a_run_fans_out_in_chunks_and_scores_every_entity(settings, start_worker):
    settings.EVALUATION_CHUNK_SIZE = 25
    worker = start_worker()
    specs = make_entities(200)
    assert Entity.objects.count() == 200
    scorecard = apply_scorecard()

    run = run_start(scorecard=scorecard)
    assert (run.status, run.total_chunks, run.entities_total) == (RunStatus.RUNNING, 8, 200)
    run = wait_for_run(run.pk, worker=worker)

    assert run.done_chunks == run.total_chunks == 8
    chunks = assert_chunks_done_once(run)
    assert all(c.attempts == 1 for c in chunks), "each chunk was claimed once"
    assert sorted(i for c in chunks for i in c.entity_ids) == sorted(Entity.objects.values_list("id", flat=True))
    assert_scores_match(scorecard, specs, run)
    # First run: every result row was new.
    assert run.results_written == run.rule_evaluations
    assert set(EntityScore.objects.filter(scorecard=scorecard).values_list("evaluated_at", flat=True)) == {
        run.started_at
    }
    assert run.started_at <= run.finished_at
    assert run.seconds is not None and 0 <= run.seconds < 60
    assert run.progress == 1.0
    # The run told the notifier it finished, on the worker.
    wait_until(lambda: worker.tasks("run_finished", "succeeded"), timeout=20, message=worker.log)


@pytest.mark.parametrize("recovery", ["redelivery", "resume"])
def test_a_run_survives_its_worker_being_killed_mid_run(settings, start_worker, celery_queue, recovery):
    """SIGKILL the worker while chunks are in flight; the run still finishes, and counts each chunk once.

    redelivery: the broker hands the killed worker's unacknowledged messages to a new worker once the
    visibility timeout has passed. resume: the queued messages are lost (purged) and the dispatcher's
    `runs_resume_stale` re-enqueues the unfinished chunks once the run's lease has passed.
    """
    settings.EVALUATION_CHUNK_SIZE = 50
    specs = make_entities(2000)
    scorecard = apply_scorecard()
    first = start_worker()

    run = run_start(scorecard=scorecard)
    assert run.total_chunks == 40

    def in_flight() -> bool:
        first.check_alive()
        current = EvaluationRun.objects.get(pk=run.pk)
        running = run.chunks.filter(status=ChunkStatus.RUNNING).exists()
        return running and 0 < current.done_chunks < current.total_chunks - 4

    wait_until(in_flight, timeout=60, interval=0.02, message=lambda: f"the run never got going:\n{first.log()}")
    first.kill()
    killed_at = time.monotonic()
    wait_for_other_sessions_to_end()
    killed = EvaluationRun.objects.get(pk=run.pk)
    assert killed.status == RunStatus.RUNNING and 0 < killed.done_chunks < killed.total_chunks
    interrupted = set(run.chunks.filter(status=ChunkStatus.RUNNING).values_list("index", flat=True))

    if recovery == "redelivery":
        # A worker restores, when it starts, the messages left unacknowledged for longer than the
        # visibility timeout; the killed worker took its last ones before `killed_at`.
        time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
        second = start_worker()
    else:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(celery_queue)
        assert runs_resume_stale(now=killed.lease_expires_at - timedelta(seconds=1)) == []
        assert runs_resume_stale(now=killed.lease_expires_at + timedelta(seconds=1)) == [run.pk]
        second = start_worker()

    run = wait_for_run(run.pk, worker=second, timeout=90)
    assert run.done_chunks == run.total_chunks == 40
    chunks = assert_chunks_done_once(run)
    assert_scores_match(scorecard, specs, run)
    assert run.resumes == (1 if recovery == "resume" else 0)
    attempts = {c.index: c.attempts for c in chunks}
    # A chunk that was running when the worker died was claimed again and finished by the new worker.
    assert all(attempts[index] >= 2 for index in interrupted), (interrupted, attempts)
    assert second.tasks("evaluate_run_chunk", "succeeded")


def race(function, count: int = 2) -> list[tuple[str, object]]:
    """Call `function` from `count` threads released together; each thread has its own connection."""
    barrier = threading.Barrier(count)
    outcomes: list[tuple[str, object]] = [("missing", None)] * count

    def target(slot: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[slot] = ("ok", function())
        except Exception as exc:
            outcomes[slot] = ("raised", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(slot,)) for slot in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_racing_dispatchers_start_one_run(settings, start_worker):
    settings.EVALUATION_CHUNK_SIZE = 25
    worker = start_worker()
    specs = make_entities(200)
    scorecard = apply_scorecard()
    now = timezone.now()

    outcomes = race(lambda: dispatch(now=now))
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    started = sorted((value for _, value in outcomes), key=len)
    runs = list(EvaluationRun.objects.filter(scorecard=scorecard))
    assert len(runs) == 1
    assert started == [[], [runs[0].pk]]
    run = wait_for_run(runs[0].pk, worker=worker)
    assert run.trigger == "schedule" and run.done_chunks == run.total_chunks == 8
    assert_scores_match(scorecard, specs, run)

    outcomes = race(lambda: run_start(scorecard=scorecard))
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["ok", "raised"], outcomes
    winner = next(value for kind, value in outcomes if kind == "ok")
    refused = next(value for kind, value in outcomes if kind == "raised")
    assert isinstance(refused, RunInProgress)
    assert refused.run is not None and refused.run.pk == winner.pk
    assert EvaluationRun.objects.filter(scorecard=scorecard).count() == 2
    second = wait_for_run(winner.pk, worker=worker)
    assert second.done_chunks == second.total_chunks == 8
    # Nothing changed between the runs: no result rewritten, scores as computed.
    assert second.results_written == 0
    assert_scores_match(scorecard, specs, second)  # history too: a point only on a change, or daily
    assert set(EntityScore.objects.filter(scorecard=scorecard).values_list("evaluated_at", flat=True)) == {
        second.started_at
    }


def snapshot(scorecard: Scorecard, run_id: int) -> dict:
    return {
        "results": list(
            RuleResult.objects.filter(scorecard=scorecard)
            .order_by("id")
            .values_list("id", "entity_id", "rule_id", "state", "raw_state", "message", "changed_at")
        ),
        "scores": list(
            EntityScore.objects.filter(scorecard=scorecard)
            .order_by("id")
            .values_list(
                "id",
                "entity_id",
                "score",
                "total_possible",
                "percentage",
                "level_id",
                "rules_passing",
                "rules_total",
                "scorecard_version",
                "evaluated_at",
                "history_at",
            )
        ),
        "history": list(
            ScoreHistory.objects.filter(scorecard=scorecard)
            .order_by("id")
            .values_list("id", "entity_id", "recorded_at", "score", "total_possible", "level_rank", "scorecard_version")
        ),
        "run": EvaluationRun.objects.filter(pk=run_id)
        .values(
            "status",
            "total_chunks",
            "done_chunks",
            "failed_chunks",
            "rule_evaluations",
            "results_written",
            "finished_at",
            "resumes",
        )
        .get(),
        "chunks": list(
            EvaluationChunk.objects.filter(run_id=run_id)
            .order_by("index")
            .values_list("index", "status", "attempts", "rule_evaluations", "results_written", "finished_at")
        ),
    }


def test_running_a_chunk_again_changes_nothing(settings, start_worker):
    settings.EVALUATION_CHUNK_SIZE = 25
    worker = start_worker()
    make_entities(100)
    scorecard = apply_scorecard()
    run = wait_for_run(run_start(scorecard=scorecard).pk, worker=worker)
    wait_until(lambda: worker.tasks("run_finished", "succeeded"), timeout=20, message=worker.log)
    before = snapshot(scorecard, run.pk)
    assert before["run"]["done_chunks"] == 4 and len(before["results"]) > 0

    # A finished chunk delivered again (its ack was lost): both halves, through the broker.
    again = [evaluate_run_chunk.delay(run.pk, 0).id, chunk_chain(run.pk, 0).apply_async().id]
    worker.wait_for_tasks(again)
    assert worker.tasks("collect_chunk_facts", "succeeded")
    assert snapshot(scorecard, run.pk) == before

    # The state a chunk is left in when its worker dies after claiming it but before its transaction
    # commits: running, not counted, run not finished. Its results are still there from before.
    chunk = EvaluationChunk.objects.get(run=run, index=0)
    EvaluationChunk.objects.filter(pk=chunk.pk).update(
        status=ChunkStatus.RUNNING, finished_at=None, rule_evaluations=0, results_written=0, drops=[]
    )
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        finished_at=None,
        done_chunks=run.done_chunks - 1,
        rule_evaluations=run.rule_evaluations - chunk.rule_evaluations,
        results_written=run.results_written - chunk.results_written,
    )
    worker.wait_for_tasks([chunk_chain(run.pk, 0).apply_async().id])
    rerun = wait_for_run(run.pk, worker=worker)
    after = snapshot(scorecard, run.pk)
    for key in ("results", "scores", "history"):
        assert after[key] == before[key], key
    redone = EvaluationChunk.objects.get(pk=chunk.pk)
    assert (redone.status, redone.attempts) == (ChunkStatus.DONE, chunk.attempts + 1)
    assert redone.rule_evaluations == chunk.rule_evaluations
    assert redone.results_written == 0, "same inputs: no result needed writing"
    assert (rerun.done_chunks, rerun.rule_evaluations) == (run.done_chunks, run.rule_evaluations)
    assert rerun.results_written == run.results_written - chunk.results_written


def descriptor(tag: str, *, custom: dict, owners: str = "[{type: group, name: team-a}]") -> str:
    return (
        "openapi: 3.0.1\ninfo:\n"
        f"  title: {tag}\n  x-cortex-tag: {tag}\n  x-cortex-type: service\n"
        f"  x-cortex-owners: {owners}\n"
        "  x-cortex-custom-metadata:\n" + "".join(f"    {key}: {value}\n" for key, value in custom.items())
    )


def test_an_expired_exemption_is_rescored_on_the_worker(start_worker):
    worker = start_worker()
    scorecard = apply_scorecard()
    entity = entity_apply_descriptor(
        text=descriptor("payments", custom={"owner_team": "team-a", "coverage": 40, "slo": 99.0, "tier": 1})
    )[0]
    run = wait_for_run(run_start(scorecard=scorecard).pk, worker=worker)
    coverage = Rule.objects.get(scorecard=scorecard, title="Coverage of 80")
    result = RuleResult.objects.filter(entity=entity, rule=coverage)
    assert result.values_list("state", flat=True).get() == "fail"
    score = EntityScore.objects.get(entity=entity, scorecard=scorecard)
    assert (score.score, score.total_possible, score.level.rank) == (2, 4, 1)

    requester = user_create_with_role(username="dev", role=VIEWER, email="dev@example.com")
    approver = user_create_with_role(username="boss", role=APPROVER, email="boss@example.com")
    exemption = exemption_request(
        scorecard=scorecard, entity=entity, rule=coverage, reason="migrating the test suite", days=30, by=requester
    )
    exemption_approve(exemption_id=exemption.pk, by=approver)
    # The approval's re-score runs on the worker: the rule is set aside, the entity climbs to Gold.
    wait_until(lambda: result.values_list("state", flat=True).get() == "exempt", timeout=20, message=worker.log)
    score.refresh_from_db()
    assert (score.score, score.total_possible, score.level.rank) == (2, 2, 3)

    # Time passes: the end date is behind us.
    Exemption.objects.filter(pk=exemption.pk).update(end_date=timezone.now() - timedelta(minutes=1))
    task = expire_exemptions.delay()
    worker.wait_for_tasks([task.id])
    assert Exemption.objects.get(pk=exemption.pk).status == ExemptionStatus.EXPIRED
    assert ExemptionEvent.objects.filter(
        exemption=exemption, to_status=ExemptionStatus.EXPIRED, actor_label="system"
    ).exists()
    # The expiry enqueued a re-score, which the worker ran: the rule counts (and fails) again.
    wait_until(lambda: result.values_list("state", flat=True).get() == "fail", timeout=20, message=worker.log)
    assert result.values_list("raw_state", flat=True).get() == "fail"
    score.refresh_from_db()
    assert (score.score, score.total_possible, score.level.rank) == (2, 4, 1)
    assert EvaluationRun.objects.filter(pk=run.pk, status=RunStatus.SUCCEEDED).exists()


def sent_mail(folder: Path) -> list[email.message.Message]:
    """The messages Django's file backend wrote: one file per connection, messages split by a dashed line."""
    messages = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk.strip()))
    return messages


def text_of(message: email.message.Message) -> str:
    parts = [str(make_header(decode_header(message.get("Subject", ""))))]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))
    return "\n".join(parts)


NOTIFYING_SCORECARD = SCORECARD.replace(
    "name: Worker readiness\n",
    "name: Worker readiness\nnotifications: {enabled: true, scoreDropNotificationsEnabled: true}\n",
)


def test_a_score_drop_emails_the_owners(start_worker, mail_dir):
    worker = start_worker()
    scorecard = apply_scorecard(NOTIFYING_SCORECARD)
    assert scorecard.score_drop_notifications_enabled
    owners = "[{type: email, email: ana@example.com}]"
    good = {"owner_team": "team-a", "coverage": 95, "slo": 99.0, "tier": 1}
    entity = entity_apply_descriptor(text=descriptor("checkout-api", custom=good, owners=owners))[0]
    first = wait_for_run(run_start(scorecard=scorecard).pk, worker=worker)
    wait_until(lambda: len(worker.tasks("run_finished").get("succeeded", ())) == 1, timeout=20, message=worker.log)
    assert EntityScore.objects.get(entity=entity).score == 4
    assert sent_mail(mail_dir) == [], "a first score is no drop"

    entity_apply_descriptor(text=descriptor("checkout-api", custom={**good, "coverage": 10}, owners=owners))
    second = wait_for_run(run_start(scorecard=scorecard).pk, worker=worker)
    assert EntityScore.objects.get(entity=entity).score == 2
    drops = [drop for chunk in second.chunks.all() for drop in chunk.drops]
    assert drops == [{"entity": entity.pk, "score": [4, 2], "level": [3, 1]}]
    wait_until(lambda: len(worker.tasks("run_finished").get("succeeded", ())) == 2, timeout=20, message=worker.log)

    messages = wait_until(lambda: sent_mail(mail_dir), timeout=10, message="no email was written")
    to_ana = [m for m in messages if "ana@example.com" in m.get("To", "")]
    assert len(to_ana) == 1, [m.get("To") for m in messages]
    assert "checkout-api" in text_of(to_ana[0])
    logs = NotificationLog.objects.filter(recipient_email="ana@example.com", recipient_entity=entity)
    assert list(logs.values_list("status", flat=True)) == [NotificationStatus.SENT]
    assert logs.get().notification_run.evaluation_run_id == second.pk
    assert not NotificationRun.objects.filter(evaluation_run=first).exists()

    # The run's notice delivered again (at least once): nobody is told twice.
    worker.wait_for_tasks([run_finished.delay(second.pk).id])
    assert len([m for m in sent_mail(mail_dir) if "ana@example.com" in m.get("To", "")]) == 1
    assert logs.count() == 1 and NotificationRun.objects.filter(evaluation_run=second).count() == 1
