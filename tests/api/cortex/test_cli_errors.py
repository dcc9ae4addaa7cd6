"""Every refusal reaches the terminal with its reason: the real Cortex CLI against the live server, one status
at a time, checking what it prints.

cortexapps-cli prints a body with a `violations` list as "Validation failed" followed by each violation's title
and description (and nothing else), and any other error body as "HTTP Error <status>: <message> - <details>".
So a refusal carries its reason in `details`, and `violations` only when there are findings to list.
"""

from __future__ import annotations

import time

import pytest

from apps.accounts.roles import EDITOR, VIEWER
from apps.api.throttling import ApiKeyRateThrottle
from apps.catalog.models import Entity
from tests.api.cortex.test_cli import BAD, GOOD, cortex, entity_descriptor, services, write  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(240),
]


def test_400_prints_each_finding_or_the_reason(cortex, write, key_for, services):  # noqa: F811
    editor = key_for(EDITOR).key
    # A refused descriptor: each finding, with where it is.
    broken = entity_descriptor("cli-broken", owned=True).replace("type: service", "type: 'not a type!'")
    run = cortex(editor, "catalog", "create", "-f", write("broken.yaml", broken)).failed_with("HTTP Error 400")
    run.failed_with("Invalid descriptor: a type is a slug").failed_with("Location: /info/x-cortex-type")
    # A refused request that is not a document: the finding, titled as such.
    run = cortex(editor, "custom-data", "delete", "-t", GOOD, "-k", "tier").failed_with("HTTP Error 400")
    run.failed_with("Invalid request: custom data key 'tier' is defined in the entity's descriptor; use force")
    # A bad parameter: no findings, so the reason comes as details.
    run = cortex(editor, "catalog", "delete-by-id", "-i", "").failed_with("HTTP Error 400")
    run.failed_with("Bad Request - ids: is required")
    run = cortex(editor, "scorecards", "list", "--page", "0", "--page-size", "5000").failed_with("HTTP Error 400")
    run.failed_with("Bad Request - pageSize: must be between 1 and 1000, not 5000")
    assert "Validation failed" not in run.stdout


def test_401_prints_why_the_key_is_refused(cortex, services):  # noqa: F811
    run = cortex("sck_not-a-key", "catalog", "details", "-t", GOOD).failed_with("HTTP Error 401")
    run.failed_with("Unauthorized - ")
    assert "Request ID: " in run.stdout


def test_403_names_the_missing_permission_even_for_a_descriptor(cortex, write, key_for, services):  # noqa: F811
    viewer = key_for(VIEWER).key
    path = write("new.yaml", entity_descriptor("cli-new-svc", owned=True))
    for args in (
        ("catalog", "create", "-f", path),
        ("catalog", "create", "-f", path, "--dry-run"),
        ("catalog", "patch", "-f", path),
    ):
        run = cortex(viewer, *args).failed_with("HTTP Error 403")
        run.failed_with("Forbidden - Your API key's user lacks the permission 'catalog.change_entity'")
        assert "Validation failed" not in run.stdout
    run = cortex(viewer, "catalog", "delete-by-id", "-i", services[GOOD].public_id).failed_with("HTTP Error 403")
    run.failed_with("lacks the permission 'catalog.delete_entity'")
    assert not Entity.objects.filter(tag="cli-new-svc").exists()
    assert Entity.objects.filter(tag=GOOD).exists()


def test_404_names_what_is_missing(cortex, write, key_for, services):  # noqa: F811
    viewer, editor = key_for(VIEWER).key, key_for(EDITOR).key
    cortex(viewer, "catalog", "details", "-t", "cli-nope").failed_with("Not Found - entity 'cli-nope' does not exist")
    cortex(viewer, "scorecards", "get", "-s", "cli-nope").failed_with("scorecard 'cli-nope' does not exist")
    path = write("missing.yaml", entity_descriptor("cli-missing", owned=True))
    cortex(editor, "catalog", "patch", "-f", path, "--fail-if-not-exist").failed_with(
        "HTTP Error 404: Not Found - entity 'cli-missing' does not exist"
    )
    cortex(editor, "catalog", "delete-by-id", "-i", "en0000000000000000").failed_with(
        "no entity has the id or tag 'en0000000000000000'; nothing was deleted"
    )


def test_409_says_what_conflicts(cortex, key_for, services):  # noqa: F811
    editor = key_for(EDITOR).key
    create = ("dependencies", "create", "-r", GOOD, "-e", BAD, "-m", "GET", "-p", "/users")
    cortex(editor, *create).succeeded()
    run = cortex(editor, *create).failed_with("HTTP Error 409: Conflict - ")
    assert GOOD in run.stdout and BAD in run.stdout


def test_413_says_how_large_a_body_may_be(cortex, write, key_for, services, settings):  # noqa: F811
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    big = entity_descriptor("cli-big", owned=True) + "  description: " + "x" * 3000 + "\n"
    run = cortex(key_for(EDITOR).key, "catalog", "create", "-f", write("big.yaml", big))
    run.failed_with("HTTP Error 413: Content Too Large - The request body is larger than the 2000 bytes")
    assert not Entity.objects.filter(tag="cli-big").exists()


def test_429_is_waited_out_as_retry_after_says(cortex, key_for, services, settings):  # noqa: F811
    # The CLI retries a 429 itself (three times), sleeping as Retry-After says: a burst past the limit is slowed
    # down, not failed.
    settings.API_RATE_LIMIT = "1/second"
    viewer = key_for(VIEWER).key
    cortex(viewer, "catalog", "details", "-t", GOOD).succeeded()
    started = time.monotonic()
    cortex(viewer, "catalog", "details", "-t", GOOD).succeeded()
    assert time.monotonic() - started >= 0.5


def test_429_that_lasts_ends_the_cli_with_the_status(cortex, key_for, services, monkeypatch):  # noqa: F811
    # When every retry is refused too, the CLI (its HTTP library, before reading the body) gives up with
    # "too many 429 error responses": the body's reason cannot reach the terminal, its status does.
    monkeypatch.setattr(ApiKeyRateThrottle, "allow_request", lambda self, request, view: False)
    monkeypatch.setattr(ApiKeyRateThrottle, "wait", lambda self: None)
    run = cortex(key_for(VIEWER).key, "catalog", "details", "-t", GOOD)
    assert run.code != 0
    assert "too many 429 error responses" in run.stdout + run.stderr


def test_500_says_the_error_was_logged(cortex, key_for, services, monkeypatch):  # noqa: F811
    from apps.api.cortex import representations

    def explode(*args, **kwargs):
        raise RuntimeError("representation bug")

    monkeypatch.setattr(representations, "entity_of", explode)
    run = cortex(key_for(VIEWER).key, "catalog", "details", "-t", GOOD)
    run.failed_with("HTTP Error 500: Internal Server Error - The server failed to handle this request")
    assert "representation bug" not in run.stdout
