"""Campaigns and scores through the real datadog-api-client 2.62.0 against the live server: every response must
parse fully (no `_unparsed` anywhere) and carry the right values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from datadog_api_client.exceptions import ApiException, ForbiddenException, NotFoundException
from datadog_api_client.model_utils import OpenApiModel
from datadog_api_client.v2.api.scorecards_api import ScorecardsApi
from datadog_api_client.v2.model.campaign_status import CampaignStatus
from datadog_api_client.v2.model.campaign_type import CampaignType
from datadog_api_client.v2.model.create_campaign_request import CreateCampaignRequest
from datadog_api_client.v2.model.create_campaign_request_attributes import CreateCampaignRequestAttributes
from datadog_api_client.v2.model.create_campaign_request_data import CreateCampaignRequestData
from datadog_api_client.v2.model.scorecard_scores_aggregation import ScorecardScoresAggregation
from datadog_api_client.v2.model.update_campaign_request import UpdateCampaignRequest
from datadog_api_client.v2.model.update_campaign_request_attributes import UpdateCampaignRequestAttributes
from datadog_api_client.v2.model.update_campaign_request_data import UpdateCampaignRequestData

from apps.campaigns.services import owner_uuid_for
from tests.api.datadog.conftest import sdk_for
from tests.campaigns.world import build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def assert_parsed(value, where="response"):
    """No model anywhere in the tree fell back to UnparsedObject."""
    if isinstance(value, OpenApiModel):
        assert not value._unparsed, f"{where} is unparsed: {value}"
        for name, child in value._data_store.items():
            assert_parsed(child, f"{where}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_parsed(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_parsed(item, f"{where}.{key}")


def create_body(world, owner_id: str, key: str = "q1-security") -> CreateCampaignRequest:
    return CreateCampaignRequest(
        data=CreateCampaignRequestData(
            type=CampaignType.CAMPAIGN,
            attributes=CreateCampaignRequestAttributes(
                key=key,
                name="Q1 Security Campaign",
                owner_id=owner_id,
                rule_ids=[str(world.r1.identifier), str(world.r2.identifier)],
                start_date=datetime(2030, 1, 1, tzinfo=UTC),
                due_date=datetime(2030, 3, 31, 23, 59, 59),  # naive: the SDK sends ...000Z
                status=CampaignStatus.IN_PROGRESS,
                description="Security posture.",
                entity_scope='entity.type() = "service"',
                guidance="Please **pass**.",
            ),
        )
    )


def test_campaign_lifecycle_through_the_sdk(scorecards_api: ScorecardsApi, admin):
    world = build_world()
    owner_id = str(owner_uuid_for(user=admin.user))

    created = scorecards_api.create_scorecard_campaign(create_body(world, owner_id))
    assert_parsed(created)
    data = created.data
    attrs = data.attributes
    assert (attrs.key, attrs.name, attrs.owner, attrs.status) == ("q1-security", "Q1 Security Campaign", owner_id,
                                                                  "in_progress")  # fmt: skip
    assert attrs.start_date == datetime(2030, 1, 1, tzinfo=UTC)
    assert attrs.due_date == datetime(2030, 3, 31, 23, 59, 59, tzinfo=UTC)
    assert attrs.entity_scope == 'entity.type() = "service"' and attrs.guidance == "Please **pass**."

    by_id = scorecards_api.get_scorecard_campaign(data.id)
    by_key = scorecards_api.get_scorecard_campaign("q1-security", include="rules", include_meta=True)
    assert_parsed(by_id)
    assert_parsed(by_key)
    assert by_id.data.id == by_key.data.id == data.id
    assert by_key.data.attributes.name == "Q1 Security Campaign"

    scorecards_api.create_scorecard_campaign(create_body(world, owner_id, key="second"))
    listed = scorecards_api.list_scorecard_campaigns(page_limit=1, page_offset=1, filter_campaign_owner=owner_id)
    assert_parsed(listed)
    assert [c.attributes.key for c in listed.data] == ["second"]
    meta = listed.meta
    assert (meta.count, meta.limit, meta.offset, meta.total) == (1, 1, 1, 2)
    named = scorecards_api.list_scorecard_campaigns(
        filter_campaign_name="security", filter_campaign_status="in_progress"
    )
    assert [c.attributes.key for c in named.data] == ["q1-security", "second"]

    updated = scorecards_api.update_scorecard_campaign(
        "q1-security",
        UpdateCampaignRequest(
            data=UpdateCampaignRequestData(
                type=CampaignType.CAMPAIGN,
                attributes=UpdateCampaignRequestAttributes(
                    name="Renamed",
                    owner_id=owner_id,
                    rule_ids=[str(world.r3.identifier)],
                    start_date=datetime(2030, 2, 1, tzinfo=UTC),
                    status="completed",
                ),  # fmt: skip
            )
        ),
    )
    assert_parsed(updated)
    assert (updated.data.attributes.name, updated.data.attributes.status) == ("Renamed", "completed")
    assert updated.data.attributes.key == "q1-security"  # optional key omitted: kept

    with pytest.raises(ApiException) as conflict:
        scorecards_api.create_scorecard_campaign(create_body(world, owner_id, key="second"))
    assert conflict.value.status == 409

    assert scorecards_api.delete_scorecard_campaign(data.id) is None
    with pytest.raises(NotFoundException):
        scorecards_api.get_scorecard_campaign("q1-security")
    with pytest.raises(NotFoundException):
        scorecards_api.delete_scorecard_campaign("q1-security")


def test_viewer_cannot_create_through_the_sdk(live_server, viewer):
    world = build_world()
    with sdk_for(live_server, viewer) as client:
        api = ScorecardsApi(client)
        with pytest.raises(ForbiddenException):
            api.create_scorecard_campaign(create_body(world, str(owner_uuid_for(user=viewer.user))))
        assert api.list_scorecard_campaigns().meta.total == 0


EXPECTED = {
    # aggregation: {id: (score, numerator, denominator, total_entities, pass, fail, skip, no_data)}
    "by-scorecard": {"sc-a": (8 / 13, 8, 13, 5, 5, 2, 2, 1), "sc-b": (1 / 3, 1, 3, 4, 1, 1, 1, 1)},
    "by-team": {"alpha": (4 / 6, 4, 6, 2, 3, 1, 2, 0), "beta": (0.5, 2, 4, 1, 1, 1, 0, 1)},
    "by-kind": {"library": (0.25, 1, 4, 1, 1, 1, 0, 1), "service": (8 / 12, 8, 12, 4, 5, 2, 3, 1)},
}


def _numbers(item):
    a = item.attributes
    return (round(a.score, 6), a.numerator, a.denominator, a.total_entities, a.total_pass, a.total_fail,
            a.total_skip, a.total_no_data)  # fmt: skip


def _rounded(expected):
    return {k: (round(v[0], 6), *v[1:]) for k, v in expected.items()}


@pytest.mark.parametrize("aggregation", ["by-entity", "by-rule", "by-scorecard", "by-team", "by-kind"])
def test_list_scores_for_every_aggregation(scorecards_api: ScorecardsApi, aggregation):
    world = build_world()
    e = {tag: entity.public_id for tag, entity in world.entities.items()}
    r1, r2, r3 = (str(r.identifier) for r in (world.r1, world.r2, world.r3))
    expected = {
        "by-entity": {
            e["lib-1"]: (0.25, 1, 4, 1, 1, 1, 0, 1), e["svc-1"]: (1.0, 4, 4, 1, 3, 0, 0, 0),
            e["svc-2"]: (0.0, 0, 2, 1, 0, 1, 2, 0), e["svc-3"]: (0.5, 2, 4, 1, 1, 1, 0, 1),
            e["svc-4"]: (1.0, 2, 2, 1, 1, 0, 1, 0),
        },
        "by-rule": {
            r1: (0.6, 6, 10, 5, 3, 1, 0, 1), r2: (2 / 3, 2, 3, 5, 2, 1, 2, 0), r3: (1 / 3, 1, 3, 4, 1, 1, 1, 1),
        },
        **EXPECTED,
    }[aggregation]  # fmt: skip

    response = scorecards_api.list_scorecard_scores(ScorecardScoresAggregation(aggregation), page_limit=2)
    assert_parsed(response)
    assert response.meta.total == len(expected) and response.meta.limit == 2
    items = list(response.data)
    offset = 2
    while offset < response.meta.total:
        page = scorecards_api.list_scorecard_scores(ScorecardScoresAggregation(aggregation), page_limit=2,
                                                    page_offset=offset)  # fmt: skip
        assert_parsed(page)
        items.extend(page.data)
        offset += 2
    assert {item.id: _numbers(item) for item in items} == _rounded(expected)
    assert all(item.type.value == "score" and item.attributes.aggregation.value == aggregation for item in items)
    if aggregation == "by-rule":
        levels = {item.id: item.attributes.get("level") for item in items}
        assert levels == {r1: 1, r2: None, r3: None}
        assert items[0].relationships.scorecard.data.id == "sc-a"


def test_list_scores_filters_and_sort_through_the_sdk(scorecards_api: ScorecardsApi):
    world = build_world()
    response = scorecards_api.list_scorecard_scores(
        ScorecardScoresAggregation.BY_RULE,
        filter_rule_scorecard_id="sc-a",
        filter_rule_is_custom=False,
        filter_rule_is_enabled=True,
        filter_rule_level="1,2,3",
        sort="-score",
    )
    assert_parsed(response)
    assert [item.id for item in response.data] == [str(world.r1.identifier)]
    with pytest.raises(ApiException) as bad:
        scorecards_api.list_scorecard_scores(ScorecardScoresAggregation.BY_ENTITY, page_limit=1001)
    assert bad.value.status == 400
