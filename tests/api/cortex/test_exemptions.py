"""Cortex v1 exemptions: request, approve, deny and revoke, as `cortex scorecards exemptions ...` sends them
(API_CONTRACT §2, DESIGN §7). Each flow checks what the database holds afterwards, not only the answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.evaluations.models import EntityScore
from apps.exemptions.models import Exemption, ExemptionStatus
from apps.scorecards.models import Rule
from tests.api.cortex.conftest import (
    BAD,
    DESCRIPTION_RULE,
    GOOD,
    OWNER_RULE,
    TAG,
    assert_cortex_error,
    make_scorecard,
)

pytestmark = pytest.mark.django_db

BASE = f"/api/v1/scorecards/{TAG}/entity/{BAD}/exemption"


def post_json(client, path, body, content_type="application/json"):
    import json

    data = json.dumps(body) if not isinstance(body, str | bytes) else body
    return client.post(path, data=data, content_type=content_type)


def put_json(client, path, body):
    import json

    return client.put(path, data=json.dumps(body), content_type="application/json")


def request_exemption(client, world, *, title=OWNER_RULE, days=0, reason="Owner is on leave", path=BASE):
    """As the CLI sends it: `days` always present, 0 when the user gave none."""
    return post_json(
        client, path, {"days": days, "reason": reason, "ruleIdentifier": str(world.rule(title).identifier)}
    )


class TestRequest:
    def test_viewer_request_is_pending_until_revoked(self, world, viewer, bearer):
        before = timezone.now()
        response = request_exemption(bearer(viewer), world)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["requestedBy"] == {"type": "USER", "email": viewer.user.email, "name": viewer.user.username}
        assert body["requestingReason"] == "Owner is on leave"
        assert body["endDate"] is None  # days: 0 means no end date
        assert body["exemptionStatus"] == {"status": "PENDING", "date": None, "handledBy": None, "reason": None}
        assert body["requestedDate"].endswith("Z")
        exemption = Exemption.objects.get()
        assert (exemption.status, exemption.entity, exemption.rule) == (
            ExemptionStatus.PENDING,
            world.bad,
            world.rule(OWNER_RULE),
        )
        assert exemption.requested_by == viewer.user
        assert exemption.end_date is None
        assert exemption.requested_at >= before

    def test_days_sets_the_end_date(self, world, viewer, bearer):
        body = request_exemption(bearer(viewer), world, days=10).json()
        exemption = Exemption.objects.get()
        assert exemption.end_date == exemption.requested_at + timedelta(days=10)
        assert body["endDate"] == exemption.end_date.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def test_rule_by_title_works_too(self, world, viewer, bearer):
        response = post_json(bearer(viewer), BASE, {"days": 0, "reason": "r", "ruleIdentifier": DESCRIPTION_RULE})
        assert response.status_code == 200
        assert Exemption.objects.get().rule == world.rule(DESCRIPTION_RULE)

    def test_rule_identifier_shared_with_another_scorecard_resolves_inside_this_one(self, world, viewer, bearer):
        # The Cortex API always names the scorecard, so a shared identifier is never ambiguous here.
        other = make_scorecard("other-scorecard", "Other")
        Rule.objects.filter(scorecard=other, title=OWNER_RULE).update(identifier=world.rule(OWNER_RULE).identifier)
        response = request_exemption(bearer(viewer), world)
        assert response.status_code == 200, response.content
        assert Exemption.objects.get().rule == world.rule(OWNER_RULE)

    def test_auto_approve_scorecard_answers_approved_and_rescores(
        self, db, viewer, bearer, django_capture_on_commit_callbacks
    ):
        from apps.evaluations.services import scorecard_evaluate
        from tests.api.cortex.conftest import World, make_entity, rule_of

        card = make_scorecard(auto_approve=True)
        bad = make_entity(BAD, owned=False)
        scorecard_evaluate(scorecard=card)
        world = World(scorecard=card, good=bad, bad=bad)
        with django_capture_on_commit_callbacks(execute=True):
            response = request_exemption(bearer(viewer), world)
        assert response.status_code == 200
        status = response.json()["exemptionStatus"]
        assert status["status"] == "APPROVED"
        assert status["handledBy"] == {"type": "SYSTEM", "name": "auto-approve"}
        assert status["date"] is not None
        assert Exemption.objects.get().status == ExemptionStatus.APPROVED
        score = EntityScore.objects.get(scorecard=card, entity=bad)
        assert (score.score, score.total_possible) == (3, 3)
        assert rule_of(card, OWNER_RULE).pk  # the exempted rule still exists

    def test_second_active_request_is_409(self, world, viewer, bearer):
        client = bearer(viewer)
        assert request_exemption(client, world).status_code == 200
        body = assert_cortex_error(request_exemption(client, world), 409, "CONFLICT")
        assert BAD in body["details"]
        assert Exemption.objects.count() == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"days": 0, "ruleIdentifier": "x"}, "reason"),
            ({"days": 0, "reason": "r"}, "ruleIdentifier"),
            ({"days": -1, "reason": "r", "ruleIdentifier": "x"}, "days"),
            ({"days": "many", "reason": "r", "ruleIdentifier": "x"}, "days"),
        ],
    )
    def test_bad_bodies_are_400(self, world, viewer, bearer, body, field):
        response = post_json(bearer(viewer), BASE, body)
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains=f"{field}:")
        assert Exemption.objects.count() == 0

    def test_malformed_json_is_400(self, world, viewer, bearer):
        response = post_json(bearer(viewer), BASE, '{"reason": "r", ')
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="JSON")
        assert Exemption.objects.count() == 0

    def test_non_utf8_and_non_object_bodies_are_400(self, world, viewer, bearer):
        client = bearer(viewer)
        not_utf8 = post_json(client, BASE, b'{"days": 0, "reason": "\xff", "ruleIdentifier": "x"}')
        assert_cortex_error(not_utf8, 400, "BAD_REQUEST", details_contains="JSON parse error")
        a_list = post_json(client, BASE, "[]")
        assert_cortex_error(a_list, 400, "BAD_REQUEST", details_contains="Expected a dictionary")
        assert Exemption.objects.count() == 0

    def test_text_plain_is_415(self, world, viewer, bearer):
        response = post_json(bearer(viewer), BASE, "reason=r", content_type="text/plain")
        assert_cortex_error(response, 415, "UNSUPPORTED_MEDIA_TYPE", details_contains="text/plain")
        assert Exemption.objects.count() == 0

    def test_unknown_rule_entity_or_scorecard_is_404(self, world, viewer, bearer):
        client = bearer(viewer)
        unknown_rule = post_json(client, BASE, {"days": 0, "reason": "r", "ruleIdentifier": "No such rule"})
        assert_cortex_error(unknown_rule, 404, "NOT_FOUND", details_contains="No such rule")
        other_uuid = post_json(
            client, BASE, {"days": 0, "reason": "r", "ruleIdentifier": "00000000-0000-0000-0000-000000000000"}
        )
        assert_cortex_error(other_uuid, 404, "NOT_FOUND")
        assert_cortex_error(
            request_exemption(client, world, path=f"/api/v1/scorecards/{TAG}/entity/ghost/exemption"), 404, "NOT_FOUND"
        )
        assert_cortex_error(
            request_exemption(client, world, path=f"/api/v1/scorecards/nope/entity/{BAD}/exemption"), 404, "NOT_FOUND"
        )
        assert Exemption.objects.count() == 0

    def test_rule_of_another_scorecard_is_404(self, world, viewer, bearer):
        from tests.api.cortex.conftest import rule_of

        other = make_scorecard("other-card", "Other Card")
        foreign = rule_of(other, OWNER_RULE)
        response = post_json(
            bearer(viewer), BASE, {"days": 0, "reason": "r", "ruleIdentifier": str(foreign.identifier)}
        )
        assert_cortex_error(response, 404, "NOT_FOUND")
        assert Exemption.objects.count() == 0

    def test_disabled_exemptions_are_400(self, db, viewer, bearer):
        from tests.api.cortex.conftest import World, make_entity

        card = make_scorecard(exemptions=False)
        bad = make_entity(BAD, owned=False)
        response = request_exemption(bearer(viewer), World(card, bad, bad))
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="disabled")
        assert Exemption.objects.count() == 0

    def test_auth_failures(self, world, key_for, bearer):
        assert_cortex_error(request_exemption(bearer(None), world), 401, "UNAUTHORIZED")
        assert_cortex_error(request_exemption(bearer(key_for(None)), world), 403, "FORBIDDEN")
        assert Exemption.objects.count() == 0


@pytest.fixture
def pending(world, viewer, bearer):
    response = request_exemption(bearer(viewer), world)
    assert response.status_code == 200
    return Exemption.objects.get()


def decide(client, world, action, *, reason=None, title=OWNER_RULE, entity=BAD):
    body = {"ruleIdentifier": str(world.rule(title).identifier)}
    if reason is not None:
        body["reason"] = reason
    return put_json(client, f"/api/v1/scorecards/{TAG}/entity/{entity}/exemption/{action}", body)


class TestApprove:
    def test_approver_approves_and_the_entity_is_rescored(
        self, world, pending, approver, bearer, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = decide(bearer(approver), world, "approve")
        assert response.status_code == 200, response.content
        [shown] = response.json()["exemptions"]
        assert shown["exemptionStatus"]["status"] == "APPROVED"
        assert shown["exemptionStatus"]["handledBy"] == {
            "type": "USER",
            "email": approver.user.email,
            "name": approver.user.username,
        }
        assert shown["exemptionStatus"]["reason"] is None
        pending.refresh_from_db()
        assert (pending.status, pending.decided_by) == (ExemptionStatus.APPROVED, approver.user)
        score = EntityScore.objects.get(scorecard=world.scorecard, entity=world.bad)
        assert (score.score, score.total_possible, score.level.name) == (3, 3, "Gold")

    def test_approve_with_a_reason_records_it_in_the_history(self, world, pending, approver, bearer):
        from apps.exemptions.models import ExemptionEvent

        shown = decide(bearer(approver), world, "approve", reason="fine by me").json()["exemptions"][0]
        assert shown["exemptionStatus"]["status"] == "APPROVED"
        event = ExemptionEvent.objects.filter(exemption=pending).order_by("-id").first()
        assert (event.to_status, event.reason, event.actor) == (ExemptionStatus.APPROVED, "fine by me", approver.user)

    def test_requester_may_not_approve_their_own(self, world, approver, bearer):
        client = bearer(approver)
        assert request_exemption(client, world).status_code == 200
        body = assert_cortex_error(decide(client, world, "approve"), 403, "FORBIDDEN")
        assert "own" in body["details"]
        assert Exemption.objects.get().status == ExemptionStatus.PENDING

    def test_viewer_and_editor_may_not_approve(self, world, pending, viewer, editor, bearer):
        for holder in (viewer, editor):
            response = decide(bearer(holder), world, "approve")
            assert_cortex_error(response, 403, "FORBIDDEN", details_contains="exemptions.configure_exemptions")
        pending.refresh_from_db()
        assert pending.status == ExemptionStatus.PENDING

    def test_nothing_pending_is_400(self, world, approver, bearer):
        body = assert_cortex_error(decide(bearer(approver), world, "approve"), 400, "BAD_REQUEST")
        assert body["details"] == "No pending exemptions to approve found"

    def test_missing_rule_identifier_is_400(self, world, pending, approver, bearer):
        response = put_json(bearer(approver), f"{BASE}/approve", {})
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="ruleIdentifier:")

    def test_unknown_rule_entity_scorecard_are_404(self, world, pending, approver, bearer):
        client = bearer(approver)
        assert_cortex_error(put_json(client, f"{BASE}/approve", {"ruleIdentifier": "nope"}), 404, "NOT_FOUND")
        assert_cortex_error(decide(client, world, "approve", entity="ghost"), 404, "NOT_FOUND")
        response = put_json(
            client,
            f"/api/v1/scorecards/nope/entity/{BAD}/exemption/approve",
            {"ruleIdentifier": str(world.rule(OWNER_RULE).identifier)},
        )
        assert_cortex_error(response, 404, "NOT_FOUND")
        pending.refresh_from_db()
        assert pending.status == ExemptionStatus.PENDING

    def test_post_is_405(self, world, pending, approver, bearer):
        response = post_json(bearer(approver), f"{BASE}/approve", {"ruleIdentifier": "x"})
        assert_cortex_error(response, 405, "METHOD_NOT_ALLOWED")


class TestDeny:
    def test_deny_answers_rejected(self, world, pending, approver, bearer):
        response = decide(bearer(approver), world, "deny", reason="Add an owner instead")
        assert response.status_code == 200
        status = response.json()["exemptions"][0]["exemptionStatus"]
        assert (status["status"], status["reason"]) == ("REJECTED", "Add an owner instead")
        pending.refresh_from_db()
        assert (pending.status, pending.decision_reason) == (ExemptionStatus.REJECTED, "Add an owner instead")

    def test_deny_needs_a_reason(self, world, pending, approver, bearer):
        assert_cortex_error(decide(bearer(approver), world, "deny"), 400, "BAD_REQUEST", details_contains="reason")
        pending.refresh_from_db()
        assert pending.status == ExemptionStatus.PENDING

    def test_viewer_may_not_deny(self, world, pending, viewer, bearer):
        assert_cortex_error(decide(bearer(viewer), world, "deny", reason="no"), 403, "FORBIDDEN")
        pending.refresh_from_db()
        assert pending.status == ExemptionStatus.PENDING

    def test_nothing_pending_is_400(self, world, approver, bearer):
        body = assert_cortex_error(decide(bearer(approver), world, "deny", reason="no"), 400, "BAD_REQUEST")
        assert body["details"] == "No pending exemptions to deny found"


class TestRevoke:
    def test_revoke_stores_revoked_and_answers_rejected(
        self, world, pending, approver, admin, bearer, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert decide(bearer(approver), world, "approve").status_code == 200
        assert EntityScore.objects.get(scorecard=world.scorecard, entity=world.bad).total_possible == 3
        with django_capture_on_commit_callbacks(execute=True):
            response = decide(bearer(admin), world, "revoke", reason="Owner is back")
        assert response.status_code == 200
        status = response.json()["exemptions"][0]["exemptionStatus"]
        assert (status["status"], status["reason"]) == ("REJECTED", "Owner is back")
        assert status["handledBy"]["email"] == admin.user.email
        pending.refresh_from_db()
        assert (pending.status, pending.decided_by) == (ExemptionStatus.REVOKED, admin.user)
        score = EntityScore.objects.get(scorecard=world.scorecard, entity=world.bad)
        assert (score.score, score.total_possible, score.level_id) == (3, 6, None)
        # A revoked exemption is over: a new request is allowed again.
        assert request_exemption(bearer(admin), world).status_code == 200

    def test_revoke_needs_a_reason(self, world, pending, approver, admin, bearer):
        decide(bearer(approver), world, "approve")
        assert_cortex_error(decide(bearer(admin), world, "revoke"), 400, "BAD_REQUEST", details_contains="reason")
        pending.refresh_from_db()
        assert pending.status == ExemptionStatus.APPROVED

    def test_only_approved_ones_are_revoked(self, world, pending, approver, bearer):
        body = assert_cortex_error(decide(bearer(approver), world, "revoke", reason="x"), 400, "BAD_REQUEST")
        assert body["details"] == "No approved exemptions to revoke found"
        pending.refresh_from_db()
        assert pending.status == ExemptionStatus.PENDING

    def test_viewer_may_not_revoke(self, world, pending, approver, viewer, bearer):
        decide(bearer(approver), world, "approve")
        assert_cortex_error(decide(bearer(viewer), world, "revoke", reason="x"), 403, "FORBIDDEN")
        pending.refresh_from_db()
        assert pending.status == ExemptionStatus.APPROVED

    def test_approved_exemption_blocks_a_new_request(self, world, pending, approver, viewer, bearer):
        decide(bearer(approver), world, "approve")
        assert_cortex_error(request_exemption(bearer(viewer), world), 409, "CONFLICT")
        assert Exemption.objects.count() == 1

    def test_other_entity_is_untouched(self, world, pending, approver, bearer):
        response = decide(bearer(approver), world, "approve", entity=GOOD)
        assert_cortex_error(response, 400, "BAD_REQUEST")
        pending.refresh_from_db()
        assert pending.status == ExemptionStatus.PENDING
