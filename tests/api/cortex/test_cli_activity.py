"""The real Cortex CLI (cortexapps-cli) against the live server for `deploys`, `custom-events` and
`custom-metrics`: every subcommand, checking the exit code and the values printed (JSON from stdout).

`deploys update-by-uuid` works only with `-f` in cortexapps-cli 1.52.0 (without it the CLI refuses every
call itself), so that is how it is driven here.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from apps.accounts.roles import EDITOR, VIEWER
from tests.api.cortex.test_cli import cortex, write  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(240),
]

SVC, OTHER = "cli-pay-svc", "cli-ship-svc"
FORMAT = "%Y-%m-%dT%H:%M:%S"


@pytest.fixture
def entities(db):
    from apps.catalog.models import Entity

    return {tag: Entity.objects.create(tag=tag, name=tag.title()) for tag in (SVC, OTHER)}


@pytest.fixture
def keys(key_for):
    return key_for(VIEWER).key, key_for(EDITOR).key


def ago(days: float) -> str:
    return (datetime.now() - timedelta(days=days)).strftime(FORMAT)


# --- deploys ----------------------------------------------------------------------------------------------


def test_deploys_add_list_update_and_every_delete(cortex, write, keys, entities):  # noqa: F811
    from apps.activity.models import Deploy

    viewer, editor = keys
    added = cortex(
        editor, "deploys", "add", "-t", SVC, "--email", "ana@example.com", "--name", "Ana", "-e", "prod",
        "-s", "SHA-123456", "-ti", "my title", "-ty", "DEPLOY", "--url", "https://ci.example.com/1",
        "-c", "abc=123", "-c", "def=456", "-ts", "2025-03-01T12:00:00",
    ).json  # fmt: skip
    assert (added["title"], added["type"], added["sha"], added["environment"]) == (
        "my title", "DEPLOY", "SHA-123456", "prod",
    )  # fmt: skip
    assert added["deployer"] == {"name": "Ana", "email": "ana@example.com"}
    assert added["customData"] == {"abc": "123", "def": "456"}
    assert added["timestamp"].endswith(":00:00.000Z")
    first = added["uuid"]

    from_file = {"timestamp": "2025-03-02T12:00:00Z", "title": "from file", "type": "ROLLBACK", "sha": "SHA-9"}
    by_id = entities[SVC].public_id
    second = cortex(editor, "deploys", "add", "-t", by_id, "-f", write("deploy.json", json.dumps(from_file))).json
    assert (second["title"], second["type"], second["deployer"]) == ("from file", "ROLLBACK", None)
    cortex(editor, "deploys", "add", "-t", OTHER, "-ti", "other", "-ty", "SCALE", "-s", "SHA-123456").succeeded()

    # Without --page the CLI gathers every page; with it, one page.
    listed = cortex(viewer, "deploys", "list", "-t", SVC).json
    assert [d["uuid"] for d in listed["deployments"]] == [second["uuid"], first]  # newest first
    assert listed["total"] == 2
    page = cortex(viewer, "deploys", "list", "-t", SVC, "--page", "1", "--page-size", "1").json
    assert ([d["uuid"] for d in page["deployments"]], page["total"], page["totalPages"]) == ([first], 2, 2)

    update = {"sha": "SHA-456789", "title": "renamed"}
    updated = cortex(
        editor, "deploys", "update-by-uuid", "-t", SVC, "-u", first, "-f", write("update.json", json.dumps(update))
    ).json
    assert (updated["sha"], updated["title"], updated["environment"]) == ("SHA-456789", "renamed", "prod")

    # Refusals: a viewer may not write; a bad type, a missing title or an unknown uuid are refused.
    cortex(viewer, "deploys", "add", "-t", SVC, "-ti", "x", "-ty", "DEPLOY").failed_with("HTTP Error 403")
    bad = write("bad.json", json.dumps({"title": "x", "type": "LAUNCH", "timestamp": "2025-03-01T00:00:00Z"}))
    cortex(editor, "deploys", "add", "-t", SVC, "-f", bad).failed_with("HTTP Error 400").failed_with("type:")
    cortex(editor, "deploys", "add", "-t", SVC, "-ty", "DEPLOY").failed_with("HTTP Error 400").failed_with("title:")
    cortex(editor, "deploys", "add", "-t", "no-such-svc", "-ti", "x", "-ty", "DEPLOY").failed_with("HTTP Error 404")
    cortex(editor, "deploys", "delete-by-uuid", "-t", SVC, "-u", "not-a-uuid").failed_with("HTTP Error 404")
    assert Deploy.objects.count() == 3

    assert cortex(editor, "deploys", "delete-by-uuid", "-t", SVC, "-u", second["uuid"]).succeeded().stdout == ""
    assert [d["uuid"] for d in cortex(viewer, "deploys", "list", "-t", SVC).json["deployments"]] == [first]

    cortex(editor, "deploys", "delete", "-t", SVC, "-s", "SHA-456789").succeeded()
    assert cortex(viewer, "deploys", "list", "-t", SVC).json["deployments"] == []

    cortex(editor, "deploys", "add", "-t", SVC, "-ti", "again", "-ty", "DEPLOY").succeeded()
    cortex(editor, "deploys", "delete-by-filter", "-ty", "SCALE").succeeded()
    assert cortex(viewer, "deploys", "list", "-t", OTHER).json["deployments"] == []
    assert len(cortex(viewer, "deploys", "list", "-t", SVC).json["deployments"]) == 1

    cortex(viewer, "deploys", "delete-all").failed_with("HTTP Error 403")
    cortex(editor, "deploys", "delete-all").succeeded()
    assert not Deploy.objects.exists()


def test_deploys_list_fetches_every_page(cortex, keys, entities):  # noqa: F811
    from datetime import UTC

    from apps.activity.models import Deploy

    start = datetime(2025, 1, 1, tzinfo=UTC)
    Deploy.objects.bulk_create(
        Deploy(entity=entities[SVC], timestamp=start + timedelta(minutes=n), title=f"d{n:03}") for n in range(260)
    )
    listed = cortex(keys[0], "deploys", "list", "-t", SVC).json
    titles = [d["title"] for d in listed["deployments"]]
    assert len(titles) == 260 == len(set(titles)) == listed["total"]
    assert titles[0] == "d259" and titles[-1] == "d000"


# --- custom events ----------------------------------------------------------------------------------------


def test_custom_events_create_list_get_update_and_delete(cortex, write, keys, entities):  # noqa: F811
    from apps.activity.models import CustomEvent

    viewer, editor = keys
    created = cortex(
        editor, "custom-events", "create", "-t", SVC, "-ti", "Learned Cortex", "-y", "LEARN_CORTEX",
        "-d", "Finished the course", "-u", "https://learn.example.com", "-c", "score=9", "-ts", "2025-03-01T12:00:00",
    ).json  # fmt: skip
    assert (created["title"], created["type"], created["description"], created["url"]) == (
        "Learned Cortex", "LEARN_CORTEX", "Finished the course", "https://learn.example.com",
    )  # fmt: skip
    assert (created["timestamp"], created["customData"]) == ("2025-03-01T12:00:00.000Z", {"score": "9"})
    event = created["uuid"]
    cortex(editor, "custom-events", "create", "-t", SVC, "-ti", "Pod", "-y", "POD_CREATION", "-ts", "2025-03-05T00:00")
    from_file = {"title": "From a file", "type": "LEARN_CORTEX", "description": "d"}
    cortex(editor, "custom-events", "create", "-t", OTHER, "-f", write("e.json", json.dumps(from_file))).succeeded()

    listed = cortex(viewer, "custom-events", "list", "-t", SVC).json
    assert ([e["title"] for e in listed["events"]], listed["total"]) == (["Pod", "Learned Cortex"], 2)
    learned = cortex(viewer, "custom-events", "list", "-t", SVC, "-y", "LEARN_CORTEX").json["events"]
    assert [e["uuid"] for e in learned] == [event]
    since = cortex(viewer, "custom-events", "list", "-t", SVC, "-ts", "2025-03-02T00:00:00").json["events"]
    assert [e["title"] for e in since] == ["Pod"]
    one_page = cortex(viewer, "custom-events", "list", "-t", SVC, "--page", "0", "--page-size", "1").json
    assert ([e["title"] for e in one_page["events"]], one_page["totalPages"]) == (["Pod"], 2)

    got = cortex(viewer, "custom-events", "get-by-uuid", "-t", SVC, "-u", event).json
    assert (got["uuid"], got["title"]) == (event, "Learned Cortex")

    updated = cortex(
        editor, "custom-events", "update-by-uuid", "-t", SVC, "-u", event, "-ti", "Relearned", "-y", "LEARN_CORTEX",
        "-ts", "2025-03-01T13:00:00",
    ).json  # fmt: skip
    assert (updated["title"], updated["timestamp"], updated["description"]) == (
        "Relearned", "2025-03-01T13:00:00.000Z", "Finished the course",
    )  # fmt: skip

    cortex(viewer, "custom-events", "delete-by-uuid", "-t", SVC, "-u", event).failed_with("HTTP Error 403")
    cortex(editor, "custom-events", "create", "-t", SVC, "-ti", "x\x01", "-y", "T" * 300).failed_with(
        "HTTP Error 400"
    ).failed_with("type:")
    assert cortex(editor, "custom-events", "delete-by-uuid", "-t", SVC, "-u", event).succeeded().stdout == ""
    cortex(viewer, "custom-events", "get-by-uuid", "-t", SVC, "-u", event).failed_with("HTTP Error 404")

    cortex(editor, "custom-events", "create", "-t", SVC, "-ti", "Other", "-y", "DEPLOY_NOTE").succeeded()
    cortex(editor, "custom-events", "delete-all", "-t", SVC, "-y", "POD_CREATION").succeeded()
    assert [e["title"] for e in cortex(viewer, "custom-events", "list", "-t", SVC).json["events"]] == ["Other"]
    cortex(editor, "custom-events", "delete-all", "-t", SVC).succeeded()
    assert cortex(viewer, "custom-events", "list", "-t", SVC).json["events"] == []
    assert CustomEvent.objects.get().entity.tag == OTHER  # the other entity's event stays


# --- custom metrics ---------------------------------------------------------------------------------------


def test_custom_metric_definitions(cortex, write, keys, entities):  # noqa: F811
    viewer, editor = keys
    created = cortex(
        editor, "custom-metrics", "definition-create", "-k", "ai-spend", "-n", "AI spend", "-V", "NEGATIVE",
        "-c", "Cost", "-d", "Dollars spent on AI",
    ).json  # fmt: skip
    assert {k: created[k] for k in ("key", "name", "valence", "category", "isDraft", "type")} == {
        "key": "ai-spend", "name": "AI spend", "valence": "NEGATIVE", "category": "Cost", "isDraft": False,
        "type": "PUBLIC_API",
    }  # fmt: skip
    from_file = {"key": "coverage", "name": "Coverage", "valence": "POSITIVE", "isDraft": True}
    cortex(editor, "custom-metrics", "definition-create", "-f", write("m.json", json.dumps(from_file))).succeeded()
    cortex(editor, "custom-metrics", "definition-create", "-k", "ai-spend", "-n", "Again", "-V", "NEUTRAL").failed_with(
        "HTTP Error 409"
    )
    cortex(editor, "custom-metrics", "definition-create", "-k", "-bad-", "-n", "Bad", "-V", "UP").failed_with(
        "HTTP Error 400"
    ).failed_with("valence:")
    cortex(viewer, "custom-metrics", "definition-create", "-k", "x", "-n", "X", "-V", "NEUTRAL").failed_with(
        "HTTP Error 403"
    )

    listed = cortex(viewer, "custom-metrics", "definition-list").json
    assert ([m["key"] for m in listed["customMetrics"]], listed["total"]) == (["ai-spend", "coverage"], 2)
    # With --page the CLI asks once, sending only pageSize (cortexapps-cli 1.52.0 drops the page number).
    page = cortex(viewer, "custom-metrics", "definition-list", "--page", "1", "--page-size", "1").json
    assert ([m["key"] for m in page["customMetrics"]], page["total"], page["totalPages"]) == (["ai-spend"], 2, 2)
    assert cortex(viewer, "custom-metrics", "definition-get", "-k", "coverage").json["isDraft"] is True

    updated = cortex(editor, "custom-metrics", "definition-update", "-k", "ai-spend", "-n", "AI cost").json
    assert (updated["name"], updated["valence"], updated["category"]) == ("AI cost", "NEGATIVE", "Cost")
    assert cortex(editor, "custom-metrics", "definition-delete", "-k", "coverage").succeeded().stdout == ""
    cortex(viewer, "custom-metrics", "definition-get", "-k", "coverage").failed_with("HTTP Error 404")


def test_custom_metric_points_add_bulk_get_and_delete(cortex, write, keys, entities):  # noqa: F811
    from apps.activity.services import custom_metric_create

    viewer, editor = keys
    custom_metric_create(key="ai-spend", name="AI spend", valence="NEGATIVE")
    point = ["-t", SVC, "-k", "ai-spend"]

    assert cortex(editor, "custom-metrics", "add", *point, "-v", "3.0").succeeded().stdout == ""  # now
    got = cortex(viewer, "custom-metrics", "get", *point).json
    assert ([p["value"] for p in got["data"]], got["total"]) == ([3.0], 1)

    cortex(editor, "custom-metrics", "add-in-bulk", *point, "-v", f"{ago(3)}=1.0", "-v", f"{ago(2)}=2.0").succeeded()
    series = {"series": [{"timestamp": ago(10), "value": 7}]}
    cortex(editor, "custom-metrics", "add-in-bulk", *point, "-f", write("s.json", json.dumps(series))).succeeded()
    got = cortex(viewer, "custom-metrics", "get", *point).json
    assert ([p["value"] for p in got["data"]], got["total"]) == ([3.0, 2.0, 1.0, 7.0], 4)
    window = cortex(viewer, "custom-metrics", "get", *point, "--start-date", ago(4), "--end-date", ago(1)).json
    assert [p["value"] for p in window["data"]] == [2.0, 1.0]
    one = cortex(viewer, "custom-metrics", "get", *point, "--page", "0", "--page-size", "2").json
    assert ([p["value"] for p in one["data"]], one["totalPages"]) == ([3.0, 2.0], 2)
    assert cortex(viewer, "custom-metrics", "get", "-t", OTHER, "-k", "ai-spend").json["data"] == []

    # Refusals: too old, not a metric, an unknown key, a viewer.
    cortex(editor, "custom-metrics", "add", *point, "-s", ago(400), "-v", "1").failed_with("HTTP Error 400")
    cortex(editor, "custom-metrics", "add-in-bulk", *point, "-v", f"{ago(1)}=lots").failed_with(
        "HTTP Error 400"
    ).failed_with("value")
    cortex(editor, "custom-metrics", "add", "-t", SVC, "-k", "no-such", "-v", "1").failed_with("HTTP Error 404")
    cortex(viewer, "custom-metrics", "add", *point, "-v", "1").failed_with("HTTP Error 403")

    cortex(editor, "custom-metrics", "delete", *point, "-s", ago(4), "-e", ago(1)).succeeded()
    assert [p["value"] for p in cortex(viewer, "custom-metrics", "get", *point).json["data"]] == [3.0, 7.0]
    cortex(editor, "custom-metrics", "delete", *point).succeeded()
    assert cortex(viewer, "custom-metrics", "get", *point).json["data"] == []
