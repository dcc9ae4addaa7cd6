"""Schemathesis fuzzes every operation of both APIs through the WSGI app, as an Admin and as a Viewer: no answer
is a server error, and every answer's status, content type and body are the ones the schema documents.

Bounded for CI: a few examples per operation (SCHEMATHESIS_EXAMPLES, default 5 for the Admin and 2 for the
Viewer), derandomized so a run is repeatable, no shrinking. Half the examples aim at rows that exist (the
path parameters are swapped for a real entity, scorecard, rule, ...) so the fuzzed queries and bodies reach
the code behind the lookups, not only the 404.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.media_types import YAML_MEDIA_TYPES
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.roles import ADMIN, VIEWER
from tests.api.openapi import api_schema

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@schemathesis.deserializer(*YAML_MEDIA_TYPES)
def _yaml_is_text(ctx, response):
    """A descriptor answers YAML *text*, documented as a string: validate the text, not the data it parses to."""
    return response.content.decode(response.encoding or "utf-8")


# Built at import: generating the schema needs Django set up (pytest-django does that first), not a database.
schema = schemathesis.openapi.from_dict(api_schema())
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """The WSGI handler closes the database connection after each request; the test's transaction must
    outlive it, so do as Django's test client does and keep the connection open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(db):
    """A scorecard with rules, two entities, custom data, a metric, a relationship type and a
    campaign: what the real path parameters below name."""
    from apps.catalog.services import custom_data_set
    from tests.api.cortex.conftest import make_entity, make_scorecard

    scorecard = make_scorecard()
    entity = make_entity("good-svc")
    make_entity("bad-svc", owned=False)
    custom_data_set(entity=entity, key="tier-note", value="gold", description="", force=False)
    rule = scorecard.rules.order_by("id").first()
    cache.clear()
    return {
        "tag_or_id": entity.tag,
        "entity_tag": entity.tag,
        "tag": scorecard.tag,
        "key": "tier-note",
        "callee": "bad-svc",
        "type_tag": "dependency",
        "rule_id": str(rule.identifier) if rule is not None else "x",
        "aggregation": "by-rule",
    }


def _call(case, world: dict, key: str, counter: list[int]) -> None:
    counter[0] += 1
    if counter[0] % 2 and case.path_parameters:
        # Every other example names rows that exist.
        case.path_parameters = {name: world.get(name, value) for name, value in case.path_parameters.items()}
    cache.clear()  # the rate limit is not what is fuzzed here
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)


@pytest.fixture
def admin_key(key_for) -> str:
    return key_for(ADMIN, "fuzz-admin").key


@pytest.fixture
def viewer_key(key_for) -> str:
    return key_for(VIEWER, "fuzz-viewer").key


@pytest.fixture
def counter() -> list[int]:
    return [0]


@schema.parametrize()
@FUZZ
def test_admin_gets_no_server_error_and_schema_conformant_answers(case, fuzz_world, admin_key, counter):
    _call(case, fuzz_world, admin_key, counter)


@schema.parametrize()
@settings(FUZZ, max_examples=max(1, EXAMPLES // 2))
def test_viewer_gets_no_server_error_and_schema_conformant_answers(case, fuzz_world, viewer_key, counter):
    _call(case, fuzz_world, viewer_key, counter)
