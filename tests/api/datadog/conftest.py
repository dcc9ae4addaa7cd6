"""The real `datadog-api-client` SDK pointed at pytest-django's live server (API_CONTRACT §1)."""

from __future__ import annotations

import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.v2.api.scorecards_api import ScorecardsApi


def sdk_for(live_server, holder, *, bearer: bool = False) -> ApiClient:
    """An ApiClient acting as `holder`: DD-API-KEY + DD-APPLICATION-KEY (or a Bearer token), as users set it up."""
    config = Configuration(host=live_server.url)
    if bearer:
        config.access_token = holder.key
    else:
        config.api_key = {"apiKeyAuth": holder.key, "appKeyAuth": holder.key}
    # The short key: the "v2."-prefixed one trips an SDK bug (API_CONTRACT §3).
    config.unstable_operations["create_scorecard_outcomes_batch"] = True
    return ApiClient(config)


@pytest.fixture
def scorecards_api(live_server, admin):
    """ScorecardsApi for an Admin key. Tests using it need `django_db(transaction=True, serialized_rollback=True)`:
    the live server reads committed rows, and the role groups made by migrations must survive the flush."""
    with sdk_for(live_server, admin) as client:
        yield ScorecardsApi(client)
