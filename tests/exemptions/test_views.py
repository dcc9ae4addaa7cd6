import re
import textwrap

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.services import user_create_with_role
from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.models import EntityScore
from apps.evaluations.services import scorecard_evaluate
from apps.exemptions.models import Exemption, ExemptionEvent, ExemptionStatus
from apps.exemptions.services import exemption_approve, exemption_deny, exemption_request
from apps.scorecards.models import Rule
from apps.scorecards.services import scorecard_apply_descriptor

S = ExemptionStatus

SCORECARD = textwrap.dedent(
    """\
    tag: ownership
    name: Ownership
    exemptions: {enabled: true}
    ladder:
      levels:
        - {name: Bronze, rank: 1}
    rules:
      - title: Has an owner
        expression: ownership.allOwners().length > 0
        level: Bronze
      - title: Has a runbook
        expression: links("runbook").length > 0
    """
)


def make_entity(tag):
    return entity_apply_descriptor(text=f"openapi: 3.0.1\ninfo: {{title: {tag.title()}, x-cortex-tag: {tag}}}\n")[0]


class World:
    def __init__(self, scorecard_text=SCORECARD):
        self.scorecard = scorecard_apply_descriptor(text=scorecard_text).scorecard
        self.entity = make_entity("svc")
        self.rule = Rule.objects.get(title="Has an owner")
        self.other_rule = Rule.objects.get(title="Has a runbook")
        self.viewer = user_create_with_role(username="viewer", role="Viewer", password="pw")
        self.approver = user_create_with_role(username="approver", role="Approver", password="pw")
        self.approver2 = user_create_with_role(username="approver2", role="Approver", password="pw")

    def request(self, *, entity=None, rule=None, by=None, reason="legacy service", days=None):
        return exemption_request(
            scorecard=self.scorecard,
            entity=entity or self.entity,
            rule=rule or self.rule,
            reason=reason,
            days=days,
            by=by or self.viewer,
        )


@pytest.fixture
def world(db):
    return World()


def report_card(entity_tag, scorecard_tag="ownership"):
    return reverse("evaluations:entity", args=[entity_tag]) + f"#scorecard-{scorecard_tag}"


def flashed(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def post_request(client, world, **overrides):
    data = {
        "scorecard": world.scorecard.tag,
        "entity": world.entity.tag,
        "rule": str(world.rule.identifier),
        "reason": "legacy service, retiring in Q3",
        "days": "30",
    }
    data.update(overrides)
    return client.post(reverse("exemptions:request"), {k: v for k, v in data.items() if v is not None})


def row(html, exemption_id):
    match = re.search(rf'<tr data-testid="exemption-{exemption_id}".*?</tr>', html, re.S)
    assert match, f"no row for exemption {exemption_id}"
    return match.group(0)


# --- request ---------------------------------------------------------------------------------------------


def test_request_url_is_exactly_the_documented_path():
    assert reverse("exemptions:request") == "/exemptions/request"


def test_request_creates_a_pending_exemption_and_returns_to_the_report_card(client, world):
    client.force_login(world.viewer)
    response = post_request(client, world)
    assert response.status_code == 302
    assert response["Location"] == report_card("svc") == "/entities/svc/#scorecard-ownership"
    exemption = Exemption.objects.get()
    assert exemption.status == S.PENDING
    assert (exemption.entity, exemption.rule, exemption.days) == (world.entity, world.rule, 30)
    assert exemption.requested_by == world.viewer
    assert any("requested" in m for m in flashed(response))


def test_request_without_days_lasts_until_revoked(client, world):
    client.force_login(world.viewer)
    post_request(client, world, days="")
    exemption = Exemption.objects.get()
    assert exemption.days is None and exemption.end_date is None


def test_request_needs_login(client, world):
    response = post_request(client, world)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Exemption.objects.exists()


def test_request_is_post_only(client, world):
    client.force_login(world.viewer)
    assert client.get(reverse("exemptions:request")).status_code == 405


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"reason": ""}, "Reason: This field is required."),
        ({"reason": None}, "Reason: This field is required."),
        ({"reason": "   "}, "Reason"),
        ({"days": "-1"}, "Days: Ensure this value is greater than or equal to 0."),
        ({"days": "soon"}, "Days: Enter a whole number."),
    ],
)
def test_bad_request_input_is_told_on_the_report_card(client, world, overrides, text):
    client.force_login(world.viewer)
    response = post_request(client, world, **overrides)
    assert response.status_code == 302
    assert response["Location"] == report_card("svc")
    assert any(text in m for m in flashed(response))
    assert not Exemption.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"entity": "nope"},
        {"entity": None},
        {"scorecard": "nope"},
        {"rule": "00000000-0000-0000-0000-000000000000"},
        {"rule": "not-a-uuid"},
        {"rule": None},
    ],
)
def test_request_for_unknown_things_is_404(client, world, overrides):
    client.force_login(world.viewer)
    assert post_request(client, world, **overrides).status_code == 404
    assert not Exemption.objects.exists()


def test_request_for_a_rule_of_another_scorecard_is_404(client, world):
    other = scorecard_apply_descriptor(text=SCORECARD.replace("tag: ownership", "tag: other")).scorecard
    client.force_login(world.viewer)
    assert post_request(client, world, scorecard=other.tag).status_code == 404


def test_request_when_exemptions_are_disabled_is_refused_with_a_message(client, db):
    world = World(SCORECARD.replace("enabled: true", "enabled: false"))
    client.force_login(world.viewer)
    response = post_request(client, world)
    assert response["Location"] == report_card("svc")
    assert any("disabled" in m for m in flashed(response))
    assert not Exemption.objects.exists()


def test_a_second_active_request_is_refused_with_a_message(client, world):
    world.request()
    client.force_login(world.viewer)
    response = post_request(client, world)
    assert response["Location"] == report_card("svc")
    assert any("already has a pending or approved exemption" in m for m in flashed(response))
    assert Exemption.objects.count() == 1


def test_request_with_auto_approve_says_so(client, db):
    world = World(SCORECARD.replace("enabled: true", "enabled: true, autoApprove: true"))
    client.force_login(world.viewer)
    response = post_request(client, world)
    assert Exemption.objects.get().status == S.APPROVED
    assert any("approved automatically" in m for m in flashed(response))


def test_request_without_a_role_is_the_403_page_not_a_500(client, world):
    world.viewer.groups.clear()
    client.force_login(world.viewer)
    response = post_request(client, world)
    assert response.status_code == 403
    assert "You need the Viewer role" in response.content.decode()
    assert not Exemption.objects.exists()


def test_request_without_the_request_permission_is_a_message_not_a_500(client, world):
    """A role whose permissions were narrowed in the admin: the service refuses, the page says why."""
    from django.contrib.auth.models import Permission

    world.viewer.groups.clear()
    world.viewer.user_permissions.add(Permission.objects.get(codename="view_scorecard"))
    client.force_login(world.viewer)
    response = post_request(client, world)
    assert response.status_code == 302
    assert any("permission" in m for m in flashed(response))
    assert not Exemption.objects.exists()


# --- the exemptions page -----------------------------------------------------------------------------------


def get_tab(client, tab=None, **params):
    if tab:
        params["tab"] = tab
    return client.get(reverse("exemptions:list"), params)


def test_list_needs_login(client, world):
    response = get_tab(client)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_inbox_shows_pending_requests_with_actions_to_approvers(client, world):
    exemption = world.request(days=14)
    client.force_login(world.approver)
    response = get_tab(client)  # the inbox is an approver's default tab
    assert response.status_code == 200
    assert response.context["tab"] == "inbox"
    html = row(response.content.decode(), exemption.pk)
    for text in ("Svc", "Ownership", "Has an owner", "legacy service", "viewer", "14 days", "Pending"):
        assert text in html
    assert 'href="/entities/svc/#scorecard-ownership"' in html
    assert "Approve" in html and "Deny" in html and "Revoke" not in html
    assert f'hx-post="/exemptions/{exemption.pk}/approve"' in html
    assert 'hx-target="closest tr"' in html
    assert f'action="/exemptions/{exemption.pk}/deny"' in html
    # The reason belongs to Deny alone: Approve is a form of its own, Deny a group holding its reason.
    approve_form = re.search(rf'<form[^>]*action="/exemptions/{exemption.pk}/approve".*?</form>', html, re.S).group(0)
    assert "<textarea" not in approve_form and "Approve</button>" in approve_form
    deny_group = re.search(rf'<details class="deny" data-testid="deny-{exemption.pk}">.*?</details>', html, re.S)
    assert deny_group, "Deny has its own group"
    deny_group = deny_group.group(0)
    assert "<summary>Deny…</summary>" in deny_group
    assert f'<label for="deny-reason-{exemption.pk}">Reason for denying</label>' in deny_group
    assert re.search(rf'<textarea id="deny-reason-{exemption.pk}" name="reason"[^>]* required>', deny_group)
    assert f'action="/exemptions/{exemption.pk}/deny"' in deny_group and "Deny</button>" in deny_group


def test_inbox_offers_no_decision_on_an_approvers_own_request(client, world, settings):
    own = world.request(by=world.approver)
    theirs = world.request(rule=world.other_rule)
    client.force_login(world.approver)
    html = get_tab(client).content.decode()
    mine = row(html, own.pk)
    assert "Your own request: another approver decides." in mine
    assert "/approve" not in mine and "/deny" not in mine
    assert f"/exemptions/{theirs.pk}/approve" in row(html, theirs.pk)
    client.force_login(world.approver2)
    assert f"/exemptions/{own.pk}/approve" in row(get_tab(client).content.decode(), own.pk)
    # Admins may decide their own when the setting allows it; approvers still may not.
    settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN = True
    client.force_login(world.approver)
    assert "Your own request" in row(get_tab(client).content.decode(), own.pk)


def test_inbox_lists_only_pending_ones(client, world):
    pending = world.request()
    denied = world.request(rule=world.other_rule)
    exemption_deny(exemption_id=denied.pk, by=world.approver, reason="no")
    client.force_login(world.approver)
    content = get_tab(client, "inbox").content.decode()
    assert f"exemption-{pending.pk}" in content and f"exemption-{denied.pk}" not in content


def test_inbox_is_hidden_from_viewers(client, world):
    exemption = world.request()
    client.force_login(world.viewer)
    response = get_tab(client, "inbox")
    assert response.status_code == 200
    assert "inbox" not in response.context["tabs"]
    assert response.context["tab"] == "mine"
    html = row(response.content.decode(), exemption.pk)
    assert "Approve" not in html and "Deny" not in html
    assert "?tab=inbox" not in response.content.decode()


def test_approved_tab_shows_exemptions_in_force_with_revoke_for_approvers(client, world):
    lasting = world.request()
    timed = world.request(rule=world.other_rule, days=10)
    pending = world.request(entity=make_entity("other"))
    for exemption in (lasting, timed):
        exemption_approve(exemption_id=exemption.pk, by=world.approver)
    client.force_login(world.approver)
    content = get_tab(client, "approved").content.decode()
    assert f"exemption-{pending.pk}" not in content
    assert "until revoked" in row(content, lasting.pk)
    timed_row = row(content, timed.pk)
    assert "10 days left" in timed_row and "Approved" in timed_row and "Revoke" in timed_row
    assert f'<label for="revoke-reason-{timed.pk}">Reason for revoking</label>' in timed_row


def test_approved_tab_is_read_only_for_viewers(client, world):
    exemption = world.request()
    exemption_approve(exemption_id=exemption.pk, by=world.approver)
    client.force_login(world.viewer)
    html = row(get_tab(client, "approved").content.decode(), exemption.pk)
    assert "Approved" in html and "Revoke" not in html


def test_history_tab_lists_every_transition(client, world):
    exemption = world.request()
    exemption_deny(exemption_id=exemption.pk, by=world.approver, reason="fix it instead")
    client.force_login(world.viewer)
    response = get_tab(client, "history")
    content = response.content.decode()
    events = list(ExemptionEvent.objects.order_by("id"))
    assert len(events) == 2
    for event in events:
        assert f'data-testid="event-{event.pk}"' in content
    denial = re.search(rf'<tr data-testid="event-{events[1].pk}".*?</tr>', content, re.S).group(0)
    assert "approver" in denial and "Pending → Denied" in denial and "fix it instead" in denial
    request_row = re.search(rf'<tr data-testid="event-{events[0].pk}".*?</tr>', content, re.S).group(0)
    assert "viewer" in request_row and "new → Pending" in request_row


def test_mine_tab_shows_only_my_requests_and_their_status(client, world):
    mine = world.request()
    theirs = world.request(rule=world.other_rule, by=world.approver)
    exemption_deny(exemption_id=mine.pk, by=world.approver, reason="fix it instead")
    client.force_login(world.viewer)
    content = get_tab(client, "mine").content.decode()
    assert f"exemption-{theirs.pk}" not in content
    html = row(content, mine.pk)
    assert "Denied" in html and "fix it instead" in html


def test_unknown_tab_falls_back_to_the_default(client, world):
    client.force_login(world.approver)
    assert get_tab(client, "nope").context["tab"] == "inbox"


def test_lists_are_paginated_by_50(client, world):
    entities = [make_entity(f"svc-{i}") for i in range(51)]
    for entity in entities:
        world.request(entity=entity)
    client.force_login(world.approver)
    first = get_tab(client, "inbox")
    assert len(first.context["page_obj"].object_list) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = get_tab(client, "inbox", page=2)
    assert len(second.context["page_obj"].object_list) == 1
    assert get_tab(client, "inbox", page="junk").status_code == 200


# --- decisions -----------------------------------------------------------------------------------------------

HTMX = {"HTTP_HX_REQUEST": "true"}


def decide(client, action, exemption, htmx=False, **data):
    extra = HTMX if htmx else {}
    return client.post(reverse(f"exemptions:{action}", args=[exemption.pk]), data, **extra)


def test_approve_by_plain_post_redirects_back_to_the_tab(client, world):
    exemption = world.request()
    client.force_login(world.approver)
    response = decide(client, "approve", exemption, tab="inbox")
    assert response.status_code == 302 and response["Location"] == "/exemptions/?tab=inbox"
    exemption.refresh_from_db()
    assert exemption.status == S.APPROVED and exemption.decided_by == world.approver
    assert flashed(response) == ["Exemption approved."]


def test_deny_by_plain_post_records_the_reason(client, world):
    exemption = world.request()
    client.force_login(world.approver)
    response = decide(client, "deny", exemption, tab="inbox", reason="add an owner instead")
    assert response["Location"] == "/exemptions/?tab=inbox"
    exemption.refresh_from_db()
    assert exemption.status == S.REJECTED and exemption.decision_reason == "add an owner instead"
    assert flashed(response) == ["Exemption denied."]


def test_revoke_by_plain_post(client, world):
    exemption = world.request()
    exemption_approve(exemption_id=exemption.pk, by=world.approver)
    client.force_login(world.approver2)
    response = decide(client, "revoke", exemption, tab="approved", reason="owner found")
    assert response["Location"] == "/exemptions/?tab=approved"
    exemption.refresh_from_db()
    assert exemption.status == S.REVOKED and exemption.decision_reason == "owner found"


def test_plain_post_without_a_known_tab_goes_to_the_default_tab(client, world):
    exemption = world.request()
    client.force_login(world.approver)
    assert decide(client, "approve", exemption, tab="<script>")["Location"] == "/exemptions/"


@pytest.mark.parametrize(
    ("action", "data", "status", "text"),
    [
        ("approve", {}, "Approved", "Exemption approved."),
        ("deny", {"reason": "add an owner"}, "Denied", "Exemption denied."),
    ],
)
def test_htmx_decision_returns_the_updated_row(client, world, action, data, status, text):
    exemption = world.request()
    client.force_login(world.approver)
    response = decide(client, action, exemption, htmx=True, tab="inbox", **data)
    assert response.status_code == 200
    html = response.content.decode()
    assert row(html, exemption.pk)
    assert status in html and text in html and "by approver" in html
    assert "<html" not in html  # a partial, not the page
    assert "Approve</button>" not in html and "Deny</button>" not in html  # no longer pending
    assert ("Revoke</button>" in html) == (action == "approve")


def test_htmx_revoke_returns_the_updated_row(client, world):
    exemption = world.request()
    exemption_approve(exemption_id=exemption.pk, by=world.approver)
    client.force_login(world.approver)
    response = decide(client, "revoke", exemption, htmx=True, tab="approved", reason="owner found")
    html = row(response.content.decode(), exemption.pk)
    assert "Revoked" in html and "owner found" in html and "Exemption revoked." in html
    assert "Revoke</button>" not in html


def test_htmx_refusal_is_shown_inline_in_the_row(client, world):
    exemption = world.request()
    client.force_login(world.approver)
    response = decide(client, "deny", exemption, htmx=True, tab="inbox", reason="")
    assert response.status_code == 200
    html = row(response.content.decode(), exemption.pk)
    assert "message-error" in html and "a reason is required to deny" in html
    assert "Pending" in html and "Deny" in html  # still decidable
    exemption.refresh_from_db()
    assert exemption.status == S.PENDING


@pytest.mark.parametrize("action", ["approve", "deny", "revoke"])
@pytest.mark.parametrize("htmx", [False, True])
def test_viewers_may_not_decide(client, world, action, htmx):
    exemption = world.request(by=world.approver)
    client.force_login(world.viewer)
    assert decide(client, action, exemption, htmx=htmx, reason="x").status_code == 403
    exemption.refresh_from_db()
    assert exemption.status == S.PENDING


def test_decisions_need_login_and_post(client, world):
    exemption = world.request()
    response = decide(client, "approve", exemption)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(world.approver)
    assert client.get(reverse("exemptions:approve", args=[exemption.pk])).status_code == 405
    exemption.refresh_from_db()
    assert exemption.status == S.PENDING


def test_deciding_an_unknown_exemption_is_404(client, world):
    client.force_login(world.approver)
    assert client.post(reverse("exemptions:approve", args=[999999])).status_code == 404


@pytest.mark.parametrize(
    ("action", "setup", "data", "text"),
    [
        ("approve", "own", {}, "you cannot decide on your own exemption request"),
        ("deny", "pending", {"reason": ""}, "a reason is required to deny"),
        ("deny", "pending", {"reason": "   "}, "a reason is required to deny"),
        ("revoke", "pending", {"reason": "done"}, "the exemption is pending, not approved"),
        ("approve", "approved", {}, "the exemption is approved, not pending"),
        ("revoke", "approved", {"reason": ""}, "a reason is required to revoke"),
    ],
)
def test_refusals_are_shown_as_messages(client, world, action, setup, data, text):
    exemption = world.request(by=world.approver if setup == "own" else world.viewer)
    if setup == "approved":
        exemption_approve(exemption_id=exemption.pk, by=world.approver2)
    before = Exemption.objects.get(pk=exemption.pk).status
    client.force_login(world.approver)
    response = decide(client, action, exemption, tab="inbox", **data)
    assert response.status_code == 302 and response["Location"] == "/exemptions/?tab=inbox"
    assert [m for m in flashed(response) if text in m]
    assert Exemption.objects.get(pk=exemption.pk).status == before


def test_approval_rescores_the_entity(client, world, django_capture_on_commit_callbacks):
    scorecard_evaluate(scorecard=world.scorecard)
    assert EntityScore.objects.get(entity=world.entity).level is None
    exemption = world.request()
    client.force_login(world.approver)
    with django_capture_on_commit_callbacks(execute=True):
        decide(client, "approve", exemption, htmx=True)
    assert EntityScore.objects.get(entity=world.entity).level.name == "Bronze"


def test_the_page_shows_the_flash_message_after_a_plain_post(client, world):
    exemption = world.request()
    client.force_login(world.approver)
    response = client.post(reverse("exemptions:approve", args=[exemption.pk]), {"tab": "approved"}, follow=True)
    content = response.content.decode()
    assert "Exemption approved." in content
    assert "Approved" in row(content, exemption.pk)


# --- query counts ----------------------------------------------------------------------------------------------


def populate(world, n):
    """n exemptions: pending, approved, denied in turn; each with its events."""
    for i in range(n):
        exemption = world.request(entity=make_entity(f"e{len(Exemption.objects.all())}-{i}"))
        if i % 3 == 1:
            exemption_approve(exemption_id=exemption.pk, by=world.approver2, reason="ok")
        elif i % 3 == 2:
            exemption_deny(exemption_id=exemption.pk, by=world.approver2, reason="no")


@pytest.mark.parametrize(
    ("tab", "user"),
    [
        ("inbox", "approver"),
        ("approved", "approver"),
        ("approved", "viewer"),
        ("history", "viewer"),
        ("mine", "viewer"),
    ],
)
def test_each_tab_costs_the_same_queries_whatever_its_rows(client, world, django_assert_max_num_queries, tab, user):
    populate(world, 2)
    client.force_login(getattr(world, user))
    with CaptureQueriesContext(connection) as small:
        assert len(get_tab(client, tab).context["page_obj"].object_list) >= 1
    populate(world, 23)
    with CaptureQueriesContext(connection) as large:
        response = get_tab(client, tab)
    assert len(response.context["page_obj"].object_list) >= 8
    assert len(large.captured_queries) == len(small.captured_queries)
    with django_assert_max_num_queries(8):
        get_tab(client, tab)


# --- the navigation's count of requests waiting for an approver ---------------------------------------------------


def waiting_badge(html):
    match = re.search(r'data-testid="exemptions-waiting">(\d+)<', html)
    return int(match.group(1)) if match else None


def exemption_queries(queries):
    return [q["sql"] for q in queries.captured_queries if '"exemptions_exemption"' in q["sql"]]


@pytest.mark.parametrize("page", ["evaluations:home", "accounts:profile", "exemptions:list"])
def test_approvers_see_how_many_requests_wait_for_them_on_every_page(client, world, page):
    world.request()
    world.request(rule=world.other_rule)
    world.request(entity=make_entity("mine"), by=world.approver)  # their own: not theirs to decide
    decided = world.request(entity=make_entity("done"))
    exemption_deny(exemption_id=decided.pk, by=world.approver2, reason="no")
    client.force_login(world.approver)
    html = client.get(reverse(page)).content.decode()
    assert waiting_badge(html) == 2
    assert '2<span class="visually-hidden"> waiting for your decision</span>' in html
    client.force_login(world.approver2)  # asked for nothing, so all three pending ones wait for them
    assert waiting_badge(client.get(reverse(page)).content.decode()) == 3


@pytest.mark.parametrize("page", ["evaluations:home", "accounts:profile"])
def test_viewers_and_approvers_with_nothing_waiting_see_no_count(client, world, page):
    world.request()
    client.force_login(world.viewer)
    html = client.get(reverse(page)).content.decode()
    assert waiting_badge(html) is None and 'href="/exemptions/"' in html
    world.request(rule=world.other_rule, by=world.approver)
    Exemption.objects.exclude(requested_by=world.approver).delete()
    client.force_login(world.approver)  # only their own request is pending
    assert waiting_badge(client.get(reverse(page)).content.decode()) is None


@pytest.mark.parametrize("page", ["evaluations:home", "accounts:profile"])
def test_admins_count_their_own_requests_when_the_setting_lets_them_decide_them(client, world, settings, page):
    admin = user_create_with_role(username="boss", role="Admin", password="pw")
    world.request(by=admin)
    world.request(rule=world.other_rule)
    world.request(entity=make_entity("approvers-own"), by=world.approver)
    client.force_login(admin)
    assert waiting_badge(client.get(reverse(page)).content.decode()) == 2
    settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN = True
    assert waiting_badge(client.get(reverse(page)).content.decode()) == 3
    client.force_login(world.approver)  # an Approver is no Admin: their own request still is not theirs to decide
    assert waiting_badge(client.get(reverse(page)).content.decode()) == 2


def test_the_count_costs_approvers_one_query_and_viewers_none(client, world):
    world.request()
    counts = {}
    for user in (world.viewer, world.approver):
        client.force_login(user)
        client.get(reverse("evaluations:home"))  # warm up (session, content types)
        with CaptureQueriesContext(connection) as queries:
            html = client.get(reverse("evaluations:home")).content.decode()
        counts[user.username] = (len(queries.captured_queries), exemption_queries(queries), waiting_badge(html))
    viewer_total, viewer_exemption_queries, viewer_badge = counts["viewer"]
    approver_total, approver_exemption_queries, approver_badge = counts["approver"]
    assert (viewer_exemption_queries, viewer_badge) == ([], None)
    assert len(approver_exemption_queries) == 1 and "COUNT(" in approver_exemption_queries[0]
    assert approver_badge == 1
    assert approver_total == viewer_total + 1


@pytest.mark.parametrize("user", ["viewer", "approver"])
def test_the_count_is_one_query_at_most_where_no_permission_was_checked_yet(client, world, user):
    world.request(by=world.approver2)
    client.force_login(getattr(world, user))
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("accounts:profile")).content.decode()
    assert len(exemption_queries(queries)) == 1
    assert not [q for q in queries.captured_queries if '"auth_permission"' in q["sql"] and "COUNT(" not in q["sql"]]
    assert waiting_badge(html) == (1 if user == "approver" else None)


def test_htmx_rows_do_not_pay_for_the_count(client, world):
    exemption = world.request()
    client.force_login(world.approver)
    with CaptureQueriesContext(connection) as queries:
        decide(client, "approve", exemption, htmx=True, tab="inbox")
    assert not [sql for sql in exemption_queries(queries) if "COUNT(" in sql]
