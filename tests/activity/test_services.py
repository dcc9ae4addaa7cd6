"""Writes of deploys, events and metrics announce a re-score of the entities they touched, after commit."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.activity import services
from apps.catalog.services import entity_apply_descriptor
from apps.core.score_inputs import ScoreInputsChange, listen
from apps.evaluations.models import EntityScore
from apps.scorecards.services import scorecard_apply_descriptor

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def heard():
    got: list[ScoreInputsChange] = []
    listener = listen(lambda changes: got.extend(changes))
    yield got
    from apps.core import score_inputs

    score_inputs._listeners.remove(listener)


def test_adding_a_deploy_schedules_a_re_score_of_its_entity(entity_factory, heard, django_capture_on_commit_callbacks):
    entity = entity_factory()
    with django_capture_on_commit_callbacks(execute=True):
        services.deploy_add(entity=entity, timestamp=T0, title="v1")
        assert heard == []  # not before the commit
    assert [(c.entity_ids, c.scorecard_ids) for c in heard] == [(frozenset({entity.pk}), None)]
    assert "deploy added" in heard[0].why


def test_adding_a_deploy_re_scores_the_entity_end_to_end(django_capture_on_commit_callbacks):
    """Eager Celery: the listener's flush runs on commit and the entity is evaluated again."""
    card = textwrap.dedent(
        """\
        tag: deploy-card
        name: Deploy card
        ladder:
          levels:
            - {name: Bronze, rank: 1}
        rules:
          - title: Has a description
            expression: entity.description().length > 0
            weight: 1
            level: Bronze
        """
    )
    descriptor = "openapi: 3.0.1\ninfo:\n  title: Svc\n  description: Pays\n  x-cortex-tag: svc\n"
    with django_capture_on_commit_callbacks(execute=True):
        scorecard = scorecard_apply_descriptor(text=card).scorecard
        entity = entity_apply_descriptor(text=descriptor)[0]
    before = EntityScore.objects.get(entity=entity, scorecard=scorecard).evaluated_at
    with django_capture_on_commit_callbacks(execute=True):
        services.deploy_add(entity=entity, timestamp=timezone.now(), title="v2")
    assert EntityScore.objects.get(entity=entity, scorecard=scorecard).evaluated_at > before


def test_every_write_announces_the_entities_it_touched(entity_factory, heard, django_capture_on_commit_callbacks):
    a, b = entity_factory.create_batch(2)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        deploy = services.deploy_add(entity=a, timestamp=T0, title="v1", sha="s")
        services.deploy_add(entity=b, timestamp=T0, title="v1", sha="s")
        services.deploy_update(entity=a, uuid=deploy.uuid, changes={"title": "v1.1"})
        services.deploys_delete(entity=None, sha="s")
        event = services.custom_event_add(entity=b, timestamp=T0, title="e", type="T")
        services.custom_event_update(entity=b, uuid=str(event.uuid), changes={"title": "f"})
        services.custom_event_delete(entity=b, uuid=event.uuid)
        services.custom_metric_create(key="m", name="M", valence="NEUTRAL")
        services.custom_metric_points_add(entity=a, key="m", points=[(now, 1.0)])
        services.custom_metric_delete(key="m")
    assert [set(c.entity_ids) for c in heard] == [
        {a.pk},
        {b.pk},
        {a.pk},
        {a.pk, b.pk},
        {b.pk},
        {b.pk},
        {b.pk},
        {a.pk},
        {a.pk},
    ]


def test_nothing_deleted_announces_nothing(entity_factory, heard, django_capture_on_commit_callbacks):
    entity = entity_factory()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deploys_delete(entity=entity) == 0
        assert services.deploys_delete_all() == 0
        assert services.custom_events_delete(entity=entity, type="X", start=T0, end=T0 + timedelta(days=1)) == 0
    assert heard == []
