"""Scores follow every write: the announcement (apps.core.score_inputs), the listener and the coalescing
flush (apps.evaluations.rescoring), and each write path that changes a score's inputs.

Celery is eager here, so the flush and the tasks it enqueues run in-process on commit; the same paths
on a real worker are in tests/worker/test_rescoring_worker.py.
"""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Entity
from apps.catalog.services import custom_data_set, entity_apply_descriptor
from apps.core.score_inputs import ScoreInputsChange, listen, score_inputs_batch, score_inputs_changed
from apps.evaluations.models import EntityScore, EvaluationRun, PendingRescore, RuleResult, RunStatus, RunTrigger
from apps.evaluations.rescoring import entities_rescore, on_score_inputs_changed, rescore_pending
from apps.scorecards.models import Rule, Scorecard
from apps.scorecards.services import scorecard_apply_descriptor

pytestmark = pytest.mark.django_db

SCORECARD = textwrap.dedent(
    """\
    tag: {tag}
    name: {tag}
    draft: {draft}
    ladder:
      levels:
        - {{name: Bronze, rank: 1}}
        - {{name: Gold, rank: 2}}
    filter:
      types: {{include: [service]}}
    rules:
      - title: Has an owner
        expression: ownership.allOwners().length > 0
        weight: 1
        level: Bronze
      - title: Coverage of 80
        expression: custom("coverage") >= 80
        weight: 2
        level: Gold
      - title: Runs Django
        expression: package("django") != null
        weight: 1
    """
)


def apply_card(tag: str = "card", *, draft: bool = False) -> Scorecard:
    result = scorecard_apply_descriptor(text=SCORECARD.format(tag=tag, draft="true" if draft else "false"))
    assert result.scorecard is not None
    return result.scorecard


def descriptor(tag: str, *, coverage: int = 90, owned: bool = True, archived: bool = False, django: bool = False):
    lines = ["openapi: 3.0.1", "info:", f"  title: {tag}", f"  x-cortex-tag: {tag}", "  x-cortex-type: service"]
    if owned:
        lines.append("  x-cortex-owners: [{type: email, email: ana@example.com}]")
    if archived:
        lines.append("  x-cortex-archived: true")
    if django:
        lines.append("  x-cortex-packages: [{name: django, version: 5.2.1, manager: pip}]")
    lines.append(f"  x-cortex-custom-metadata: {{coverage: {coverage}}}")
    return "\n".join(lines) + "\n"


def apply_entity(tag: str, **kwargs) -> Entity:
    return entity_apply_descriptor(text=descriptor(tag, **kwargs))[0]


def score_of(entity: Entity, scorecard: Scorecard) -> tuple | None:
    row = EntityScore.objects.select_related("level").filter(entity=entity, scorecard=scorecard).first()
    return None if row is None else (row.score, row.total_possible, row.level.name if row.level else None)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the block's commit would run, nested callbacks included."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# --- The announcement ----------------------------------------------------------------------------------


@pytest.fixture
def heard():
    got: list[list[ScoreInputsChange]] = []
    listener = listen(got.append)
    yield got
    from apps.core import score_inputs

    score_inputs._listeners.remove(listener)


def test_an_announcement_is_delivered_after_the_commit_and_never_after_a_rollback(heard, committed):
    with committed():
        with transaction.atomic():
            score_inputs_changed(entity_ids=[3, 1], why="kept")
            assert heard == []  # not before the commit
    assert heard == [[ScoreInputsChange(entity_ids=frozenset({1, 3}), scorecard_ids=None, why="kept")]]
    heard.clear()
    with committed():
        try:
            with transaction.atomic():
                score_inputs_changed(entity_ids=[1], why="rolled back")
                raise RuntimeError
        except RuntimeError:
            pass
    assert heard == []


def test_a_failing_listener_is_logged_and_does_not_undo_or_fail_the_write(committed, caplog):
    from apps.core import score_inputs

    def broken(changes):
        raise RuntimeError("listener down")

    listen(broken)
    try:
        with committed():
            entity = Entity.objects.create(tag="kept", name="Kept")
            score_inputs_changed(entity_ids=[entity.pk], why="write")
    finally:
        score_inputs._listeners.remove(broken)
    assert Entity.objects.filter(tag="kept").exists()
    assert "listener down" in caplog.text


def test_empty_collections_announce_nothing(heard, committed):
    with committed():
        score_inputs_changed(entity_ids=[], why="nothing")
        score_inputs_changed(scorecard_ids=set(), why="nothing")
    assert heard == []


def test_a_batch_delivers_what_it_collected_once(heard, committed):
    with committed():
        with score_inputs_batch():
            for pk in range(3):
                with transaction.atomic():
                    score_inputs_changed(entity_ids=[pk], why=f"file {pk}")
            with score_inputs_batch():  # nested: joins the outer batch
                score_inputs_changed(scorecard_ids=[7], why="card", rerun=False)
            assert heard == []
    assert len(heard) == 1
    assert [(c.entity_ids, c.scorecard_ids, c.rerun) for c in heard[0]] == [
        (frozenset({0}), None, True),
        (frozenset({1}), None, True),
        (frozenset({2}), None, True),
        (None, frozenset({7}), False),
    ]


# --- The listener and the flush ---------------------------------------------------------------------------


def test_the_listener_records_pairs_and_skips_what_was_deleted(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # record only; nothing may run yet
    card = apply_card()
    a, b = apply_entity("a"), apply_entity("b")
    gone = b.pk
    b.delete()
    from django.core.cache import cache

    from apps.evaluations.rescoring import FLUSH_FLAG

    cache.set(FLUSH_FLAG, 1)  # a flush is scheduled already: the listener must not publish another
    try:
        on_score_inputs_changed(
            [
                ScoreInputsChange(entity_ids=frozenset({a.pk, gone}), scorecard_ids=None, why="edit"),
                ScoreInputsChange(entity_ids=None, scorecard_ids=frozenset({card.pk, 999_999}), why="card"),
                ScoreInputsChange(
                    entity_ids=frozenset({a.pk}), scorecard_ids=frozenset({card.pk}), why="ex", rerun=False
                ),
            ]
        )
    finally:
        cache.delete(FLUSH_FLAG)
    rows = set(PendingRescore.objects.values_list("entity_id", "scorecard_id", "rerun", "why"))
    assert rows == {(a.pk, None, True, "edit"), (None, card.pk, True, "card"), (a.pk, card.pk, False, "ex")}


def test_the_flush_coalesces_many_changes_into_one_task_per_scorecard_and_chunk(settings, committed, tasks_run):
    settings.EVALUATION_CHUNK_SIZE = 25
    cards = [apply_card("one"), apply_card("two")]
    apply_card("draft-card", draft=True)
    entities = Entity.objects.bulk_create(Entity(tag=f"svc-{i:02d}", name=f"S{i}") for i in range(60))
    ids = sorted(e.pk for e in entities)
    with committed():
        for start in range(0, 60, 6):  # ten separate writes, as ten descriptors would be
            score_inputs_changed(entity_ids=ids[start : start + 6], why="import")
    # Eager: every delivery flushed at once. The deliveries of one commit batch, though, coalesce:
    tasks_run.clear()
    with committed():
        with score_inputs_batch():
            for start in range(0, 60, 6):
                score_inputs_changed(entity_ids=ids[start : start + 6], why="import")
    assert [name for name, _ in tasks_run] == ["rescore_flush"] + ["rescore_entities"] * 6
    chunks = [(args[0], args[1]) for name, args in tasks_run if name == "rescore_entities"]
    assert chunks == [
        (card.pk, ids[start : start + 25]) for card in sorted(cards, key=lambda c: c.pk) for start in (0, 25, 50)
    ]
    assert EntityScore.objects.filter(scorecard__in=cards).count() == 120  # draft-card is not scored
    assert not PendingRescore.objects.exists()


def test_a_scorecard_change_starts_one_run_that_covers_its_entity_changes(committed, tasks_run):
    card = apply_card()
    EvaluationRun.objects.all().delete()
    entity = Entity.objects.create(tag="svc", name="Svc")
    now = timezone.now()
    PendingRescore.objects.bulk_create(
        [
            PendingRescore(scorecard=card, why="rule edited", created_at=now),
            PendingRescore(scorecard=card, why="filter edited", created_at=now),
            PendingRescore(entity=entity, why="descriptor", created_at=now),
        ]
    )
    with committed():
        result = rescore_pending()
    run = EvaluationRun.objects.get()
    assert (result.taken, result.runs, result.deferred, result.tasks) == (3, [run.pk], 0, [])
    assert (run.trigger, run.status, run.entities_total) == (RunTrigger.CHANGE, RunStatus.SUCCEEDED, 1)
    assert score_of(entity, card) == (0, 4, None)
    assert not PendingRescore.objects.exists()


def test_a_scorecard_change_waits_for_a_run_that_started_before_it(committed):
    card = apply_card()
    Entity.objects.create(tag="svc", name="Svc")  # a run over no entity would finish as it starts
    before = timezone.now() - timedelta(minutes=5)
    EvaluationRun.objects.all().delete()
    older = EvaluationRun.objects.create(
        scorecard=card, status=RunStatus.RUNNING, created_at=before, started_at=before, lease_expires_at=before
    )
    PendingRescore.objects.create(scorecard=card, why="rule edited", created_at=timezone.now())
    with committed():
        result = rescore_pending()
    assert (result.taken, result.deferred, result.runs) == (1, 1, [])
    assert PendingRescore.objects.count() == 1  # kept for the run's end
    EvaluationRun.objects.filter(pk=older.pk).update(status=RunStatus.SUCCEEDED, finished_at=timezone.now())
    with committed():
        result = rescore_pending()
    assert (result.deferred, len(result.runs)) == (0, 1)
    assert not PendingRescore.objects.exists()


def test_a_run_started_after_a_change_covers_it():
    card = apply_card()
    PendingRescore.objects.all().delete()
    PendingRescore.objects.create(scorecard=card, why="applied", created_at=timezone.now() - timedelta(seconds=5))
    runs = EvaluationRun.objects.count()
    EvaluationRun.objects.create(
        scorecard=card, status=RunStatus.SUCCEEDED, created_at=timezone.now(), lease_expires_at=timezone.now()
    )
    result = rescore_pending()
    assert (result.taken, result.runs, result.deferred) == (1, [], 0)
    assert EvaluationRun.objects.count() == runs + 1


def test_exemption_changes_reapply_exemptions_unless_the_pair_is_evaluated_anyway(committed):
    card = apply_card()
    a, b = Entity.objects.create(tag="a", name="A"), Entity.objects.create(tag="b", name="B")
    now = timezone.now()
    PendingRescore.objects.all().delete()
    PendingRescore.objects.bulk_create(
        [
            PendingRescore(entity=a, scorecard=card, rerun=False, why="exemption", created_at=now),
            PendingRescore(entity=b, scorecard=card, rerun=False, why="exemption", created_at=now),
            PendingRescore(entity=b, why="descriptor", created_at=now),
        ]
    )
    result = rescore_pending()
    assert result.tasks == [("rescore_entities", (card.pk, [b.pk])), ("rescore_exemptions", ([[a.pk, card.pk]],))]


def test_rescoring_an_archived_entity_removes_its_score():
    card = apply_card()
    entity = apply_entity("svc")
    assert entities_rescore(scorecard_id=card.pk, entity_ids=[entity.pk]) == 1
    assert score_of(entity, card) == (3, 4, "Gold")
    Entity.objects.filter(pk=entity.pk).update(archived=True)
    assert entities_rescore(scorecard_id=card.pk, entity_ids=[entity.pk]) == 0
    assert score_of(entity, card) is None
    assert not RuleResult.objects.filter(entity=entity).exists()
    assert entities_rescore(scorecard_id=card.pk + 1000, entity_ids=[entity.pk]) == 0  # a deleted scorecard


# --- Every write path, end to end (eager) -----------------------------------------------------------------


@pytest.fixture
def scored(committed):
    """A published scorecard and an entity scored on it: Bronze and Gold pass, the package rule fails."""
    with committed():
        card = apply_card()
        entity = apply_entity("svc")
    assert score_of(entity, card) == (3, 4, "Gold")
    return card, entity


def test_a_descriptor_reapplied_as_archived_leaves_the_scorecard_at_once(scored, committed, tmp_path):
    card, entity = scored
    (tmp_path / "svc.yaml").write_text(descriptor("svc", archived=True))
    from django.core.management import call_command

    with committed():
        call_command("import_catalog", str(tmp_path))
    assert score_of(entity, card) is None
    (tmp_path / "svc.yaml").write_text(descriptor("svc"))
    with committed():
        call_command("import_catalog", str(tmp_path))
    assert score_of(entity, card) == (3, 4, "Gold")


def test_descriptor_fields_custom_data_and_packages_rescore_the_entity(scored, committed):
    card, entity = scored
    with committed():
        apply_entity("svc", coverage=10)
    assert score_of(entity, card) == (1, 4, "Bronze")
    with committed():
        apply_entity("svc", coverage=10, owned=False, django=True)
    assert score_of(entity, card) == (1, 4, None)
    with committed():
        custom_data_set(entity=entity, key="coverage", value=95, force=True)
    assert score_of(entity, card) == (3, 4, None)


def test_an_edit_through_the_datadog_rule_api_rescores_the_scorecard(scored, committed):
    from rest_framework.test import APIClient

    from apps.accounts.services import api_key_create, user_create_with_role

    card, entity = scored
    _, key = api_key_create(user=user_create_with_role(username="ed", role="Editor"), name="ci")
    client = APIClient()
    client.credentials(HTTP_DD_API_KEY=key, HTTP_DD_APPLICATION_KEY=key)
    with committed():
        created = client.post(
            "/api/v2/scorecard/rules",
            {"data": {"type": "rule", "attributes": {"name": "Pushed", "scorecard_name": card.name, "level": 1}}},
            format="json",
        )
    assert created.status_code == 201, created.content
    # A pushed rule with no outcome yet is no_data: it counts, and keeps the entity below Bronze.
    assert score_of(entity, card) == (3, 5, None)
    rule_id = created.json()["data"]["id"]
    with committed():
        disabled = client.put(
            f"/api/v2/scorecard/rules/{rule_id}",
            {"data": {"type": "rule", "attributes": {"name": "Pushed", "enabled": False, "level": 1}}},
            format="json",
        )
    assert disabled.status_code == 200, disabled.content
    assert score_of(entity, card) == (3, 4, "Gold")
    with committed():
        client.put(
            f"/api/v2/scorecard/rules/{rule_id}",
            {"data": {"type": "rule", "attributes": {"name": "Pushed", "enabled": True, "level": 1}}},
            format="json",
        )
    assert score_of(entity, card) == (3, 5, None)
    with committed():
        assert client.delete(f"/api/v2/scorecard/rules/{rule_id}").status_code == 204
    assert score_of(entity, card) == (3, 4, "Gold")


def test_admin_edits_of_a_rule_level_and_scorecard_rescore(scored, committed, admin_client):
    card, entity = scored
    rule = Rule.objects.get(scorecard=card, title="Coverage of 80")
    with committed():
        response = admin_client.post(
            f"/admin/scorecards/rule/{rule.pk}/change/", admin_form(admin_client, rule, weight=5)
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert score_of(entity, card) == (6, 7, "Gold")
    with committed():
        response = admin_client.post(
            f"/admin/scorecards/rule/{rule.pk}/change/", admin_form(admin_client, rule, enabled=False)
        )
    assert response.status_code == 302
    assert score_of(entity, card) == (1, 2, "Gold")
    package_rule = Rule.objects.get(scorecard=card, title="Runs Django")
    with committed():
        response = admin_client.post(f"/admin/scorecards/rule/{package_rule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert score_of(entity, card) == (1, 1, "Gold")
    with committed():
        response = admin_client.post(
            f"/admin/scorecards/scorecard/{card.pk}/change/",
            admin_form(admin_client, card, filter='{"types": {"include": ["domain"]}}'),
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert score_of(entity, card) is None  # out of the new filter's scope


def test_admin_edits_of_an_entity_and_its_custom_data_rescore(scored, committed, admin_client):
    card, entity = scored
    from apps.catalog.models import CustomData

    row = CustomData.objects.get(entity=entity, key="coverage")
    with committed():
        response = admin_client.post(
            f"/admin/catalog/customdata/{row.pk}/change/", admin_form(admin_client, row, value="10")
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert score_of(entity, card) == (1, 4, "Bronze")
    with committed():
        response = admin_client.post(
            f"/admin/catalog/entity/{entity.pk}/change/", admin_form(admin_client, entity, archived="on")
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert score_of(entity, card) is None


def admin_form(client, obj, **changes) -> dict:
    """The admin change form of `obj` as the browser would send it, with `changes` applied."""
    from html.parser import HTMLParser

    url = f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200

    class Form(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.data: dict[str, str | list[str]] = {}
            self.select: str | None = None
            self.textarea: str | None = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            name = a.get("name")
            if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
                if a.get("type") in ("checkbox", "radio"):
                    if "checked" in a:
                        self.data[name] = a.get("value") or "on"
                else:
                    self.data[name] = a.get("value") or ""
            elif tag == "select" and name:
                self.select = name
                self.data.setdefault(name, "")
            elif tag == "option" and self.select and "selected" in a:
                self.data[self.select] = a.get("value") or ""
            elif tag == "textarea" and name:
                self.textarea = name
                self.data[name] = ""

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None
            elif tag == "textarea":
                self.textarea = None

        def handle_data(self, data):
            if self.textarea:
                self.data[self.textarea] = str(self.data[self.textarea]) + data

    form = Form()
    form.feed(page.content.decode())
    data = form.data
    for key, value in changes.items():
        if value is False:
            data.pop(key, None)
        else:
            data[key] = str(value)
    data.pop("_addanother", None)
    data.pop("_continue", None)
    data["_save"] = "Save"
    return data
