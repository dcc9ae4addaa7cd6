"""activity_bulk: what the rule language's deploys(), customEvents() and customMetrics() read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.activity.selectors import activity_bulk
from apps.activity.services import custom_event_add, custom_metric_create, custom_metric_points_add, deploy_add

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_rows_per_entity_newest_first_in_cql_shapes(entity_factory, django_assert_num_queries):
    from django.utils import timezone

    a, b, empty = entity_factory.create_batch(3)
    first = deploy_add(entity=a, timestamp=T0, title="v1", sha="s1", deployer_email="ana@example.com")
    deploy_add(entity=a, timestamp=T0 + timedelta(days=1), title="v2", type="ROLLBACK", custom_data={"k": 1})
    deploy_add(entity=b, timestamp=T0, title="b1", environment="prod")
    event = custom_event_add(entity=b, timestamp=T0, title="Learned", type="LEARN_CORTEX", url="https://x")
    custom_metric_create(key="ai-spend", name="AI spend", valence="NEGATIVE")
    now = timezone.now().replace(microsecond=0)
    custom_metric_points_add(entity=a, key="ai-spend", points=[(now - timedelta(days=2), 5.0), (now, 7.5)])

    with django_assert_num_queries(3):
        got = activity_bulk([a.pk, b.pk, empty.pk], {"deploys", "custom_events", "custom_metrics"})

    assert set(got) == {a.pk, b.pk, empty.pk}
    assert got[empty.pk] == {"deploys": [], "custom_events": [], "custom_metrics": []}
    assert [d["title"] for d in got[a.pk]["deploys"]] == ["v2", "v1"]
    assert got[a.pk]["deploys"][1] == {
        "uuid": str(first.uuid),
        "title": "v1",
        "type": "DEPLOY",
        "sha": "s1",
        "environment": None,
        "url": None,
        "timestamp": T0,
        "deployer": {"name": None, "email": "ana@example.com"},
        "customData": None,
    }
    assert (got[a.pk]["deploys"][0]["type"], got[a.pk]["deploys"][0]["deployer"]) == ("ROLLBACK", None)
    assert got[a.pk]["deploys"][0]["customData"] == {"k": 1}
    assert got[b.pk]["custom_events"] == [
        {
            "uuid": str(event.uuid),
            "title": "Learned",
            "type": "LEARN_CORTEX",
            "description": None,
            "url": "https://x",
            "timestamp": T0,
            "customData": None,
        }
    ]
    assert got[a.pk]["custom_metrics"] == [
        {"key": "ai-spend", "timestamp": now, "value": 7.5},
        {"key": "ai-spend", "timestamp": now - timedelta(days=2), "value": 5.0},
    ]
    stamp = got[a.pk]["custom_metrics"][0]["timestamp"]
    assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)


def test_one_query_per_kind_whatever_the_number_of_entities(entity_factory, django_assert_num_queries):
    entities = entity_factory.create_batch(30)
    for entity in entities:
        deploy_add(entity=entity, timestamp=T0, title="d")
    ids = [e.pk for e in entities]
    with django_assert_num_queries(1):
        got = activity_bulk(ids, ["deploys"])
    assert all(list(rows) == ["deploys"] and len(rows["deploys"]) == 1 for rows in got.values())
    with django_assert_num_queries(2):
        activity_bulk(ids, ("custom_events", "custom_metrics"))
    with django_assert_num_queries(0):
        assert activity_bulk([], {"deploys"}) == {}
        assert activity_bulk(ids[:2], set()) == {ids[0]: {}, ids[1]: {}}


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="deployments"):
        activity_bulk([1], {"deployments"})
