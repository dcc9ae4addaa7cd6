import textwrap
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection

from apps.accounts.services import user_create_with_role
from apps.catalog.services import entity_apply_descriptor
from apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from apps.evaluations.models import EntityScore, RuleResult
from apps.evaluations.services import scorecard_evaluate
from apps.exemptions.models import Exemption, ExemptionEvent, ExemptionStatus
from apps.exemptions.services import (
    exemption_approve,
    exemption_deny,
    exemption_request,
    exemption_revoke,
    exemptions_expire,
)
from apps.scorecards.models import Rule
from apps.scorecards.services import scorecard_apply_descriptor

S = ExemptionStatus

SCORECARD = textwrap.dedent(
    """\
    tag: ownership
    name: Ownership
    exemptions: {enabled: true, autoApprove: false}
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


def make_world(scorecard_text=SCORECARD):
    scorecard = scorecard_apply_descriptor(text=scorecard_text).scorecard
    entity = entity_apply_descriptor(text="openapi: 3.0.1\ninfo: {title: Svc, x-cortex-tag: svc}\n")[0]
    rule = Rule.objects.get(title="Has an owner")
    viewer = user_create_with_role(username="viewer", role="Viewer", email="viewer@example.com")
    approver = user_create_with_role(username="approver", role="Approver", email="approver@example.com")
    return scorecard, entity, rule, viewer, approver


@pytest.fixture
def world(db):
    return make_world()


def request(world, **kwargs):
    scorecard, entity, rule, viewer, _ = world
    values = {"scorecard": scorecard, "entity": entity, "rule": rule, "reason": "legacy service", "by": viewer}
    values.update(kwargs)
    return exemption_request(**values)


def events(exemption):
    return list(exemption.events.values_list("from_status", "to_status", "actor__username", "actor_label", "reason"))


def test_request_creates_a_pending_exemption_with_its_first_event(world, django_capture_on_commit_callbacks):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        exemption = request(world, days=30, now=now)
    assert exemption.status == S.PENDING
    assert exemption.end_date == now + timedelta(days=30)
    assert events(exemption) == [("", "PENDING", "viewer", "viewer", "legacy service")]
    # approvers are told
    assert [m.to for m in mail.outbox] == [["approver@example.com"]]
    assert "svc" in mail.outbox[0].subject


@pytest.mark.parametrize("days", [None, 0])
def test_no_days_means_until_revoked(world, days):
    exemption = request(world, days=days)
    assert exemption.end_date is None and exemption.days is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"reason": "  "}, "a reason is required"),
        ({"days": -1}, "0 or more"),
        ({"days": "7"}, "whole number"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(world, kwargs, error):
    with pytest.raises(ApplicationError, match=error):
        request(world, **kwargs)
    assert not Exemption.objects.exists() and not ExemptionEvent.objects.exists()


def test_request_needs_exemptions_enabled(db):
    world = make_world(SCORECARD.replace("enabled: true", "enabled: false"))
    with pytest.raises(ApplicationError, match="disabled"):
        request(world)


def test_request_needs_the_rule_in_the_scorecard(world):
    other = scorecard_apply_descriptor(text=SCORECARD.replace("tag: ownership", "tag: other")).scorecard
    with pytest.raises(NotFoundError, match="is not in scorecard"):
        request(world, scorecard=other)


def test_request_needs_permission(world):
    nobody = user_create_with_role(username="x", role="Viewer")
    nobody.groups.clear()
    with pytest.raises(PermissionDeniedError):
        request(world, by=nobody)
    with pytest.raises(PermissionDeniedError):
        request(world, by=None)


def test_a_second_active_exemption_is_refused_but_a_new_one_after_a_final_state_is_not(world):
    first = request(world)
    with pytest.raises(ApplicationError, match="already has a pending or approved"):
        request(world)
    exemption_deny(exemption_id=first.id, by=world[4], reason="no")
    second = request(world)
    assert second.status == S.PENDING
    assert Exemption.objects.count() == 2


def test_auto_approve(db):
    world = make_world(SCORECARD.replace("autoApprove: false", "autoApprove: true"))
    exemption = request(world)
    assert exemption.status == S.APPROVED
    assert [e[:2] for e in events(exemption)] == [("", "PENDING"), ("PENDING", "APPROVED")]
    assert events(exemption)[1][3] == "auto-approve"


def test_approve_records_who_and_rescores_the_entity(world, django_capture_on_commit_callbacks, tasks_run):
    scorecard, entity, *_ = world
    scorecard_evaluate(scorecard=scorecard)
    assert EntityScore.objects.get().level is None
    exemption = request(world)
    with django_capture_on_commit_callbacks(execute=True):
        approved = exemption_approve(exemption_id=exemption.id, by=world[4], reason="fine")
    # Exemptions only: stored results are re-scored, no expression runs again.
    assert tasks_run == [("rescore_flush", ()), ("rescore_exemptions", ([[entity.pk, scorecard.pk]],))]
    assert approved.status == S.APPROVED and approved.decided_by == world[4] and approved.decided_at
    assert EntityScore.objects.get().level.name == "Bronze"
    assert RuleResult.objects.get(rule__title="Has an owner").state == "exempt"
    assert events(approved)[-1] == ("PENDING", "APPROVED", "approver", "approver", "fine")
    assert mail.outbox[-1].to == ["viewer@example.com"]


def test_deny_needs_a_reason_and_is_final(world):
    exemption = request(world)
    with pytest.raises(ApplicationError, match="reason is required"):
        exemption_deny(exemption_id=exemption.id, by=world[4], reason="")
    denied = exemption_deny(exemption_id=exemption.id, by=world[4], reason="fix it instead")
    assert (denied.status, denied.decision_reason) == (S.REJECTED, "fix it instead")
    with pytest.raises(ApplicationError, match="is denied, not pending"):
        exemption_approve(exemption_id=exemption.id, by=world[4])
    with pytest.raises(ApplicationError, match="is denied, not approved"):
        exemption_revoke(exemption_id=exemption.id, by=world[4], reason="x")


def test_revoke_only_approved_with_reason_and_rule_counts_again(world, django_capture_on_commit_callbacks):
    scorecard = world[0]
    scorecard_evaluate(scorecard=scorecard)
    exemption = request(world)
    with pytest.raises(ApplicationError, match="is pending, not approved"):
        exemption_revoke(exemption_id=exemption.id, by=world[4], reason="x")
    with django_capture_on_commit_callbacks(execute=True):
        exemption_approve(exemption_id=exemption.id, by=world[4])
    with pytest.raises(ApplicationError, match="reason is required"):
        exemption_revoke(exemption_id=exemption.id, by=world[4], reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        revoked = exemption_revoke(exemption_id=exemption.id, by=world[4], reason="owner found")
    assert revoked.status == S.REVOKED and revoked.decision_reason == "owner found"
    assert RuleResult.objects.get(rule__title="Has an owner").state == "fail"
    assert EntityScore.objects.get().level is None
    assert [e[:2] for e in events(revoked)] == [("", "PENDING"), ("PENDING", "APPROVED"), ("APPROVED", "REVOKED")]


def test_deciding_needs_the_configure_permission(world):
    exemption = request(world)
    editor = user_create_with_role(username="editor", role="Editor")
    for action in (exemption_approve, exemption_deny):
        with pytest.raises(PermissionDeniedError):
            action(exemption_id=exemption.id, by=editor, reason="r")
    assert Exemption.objects.get().status == S.PENDING


def test_no_one_decides_their_own_request_by_default(world, settings):
    admin = user_create_with_role(username="boss", role="Admin")
    exemption = request(world, by=admin)
    with pytest.raises(PermissionDeniedError, match="your own"):
        exemption_approve(exemption_id=exemption.id, by=admin)
    settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN = True
    assert exemption_approve(exemption_id=exemption.id, by=admin).status == S.APPROVED


def test_the_setting_does_not_let_non_admins_approve_their_own(world, settings):
    settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN = True
    approver = world[4]
    exemption = request(world, by=approver)
    with pytest.raises(PermissionDeniedError):
        exemption_approve(exemption_id=exemption.id, by=approver)


def test_an_approver_may_revoke_their_own_exemption(world, settings):
    """Decided (README, Exemptions): revoking only takes an exemption away, so the four-eyes rule does not apply."""
    settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN = False
    approver = world[4]
    colleague = user_create_with_role(username="colleague", role="Approver")
    exemption = request(world, by=approver)
    with pytest.raises(PermissionDeniedError, match="your own"):
        exemption_approve(exemption_id=exemption.id, by=approver)
    exemption_approve(exemption_id=exemption.id, by=colleague)
    revoked = exemption_revoke(exemption_id=exemption.id, by=approver, reason="fixed it myself")
    assert (revoked.status, revoked.decided_by, revoked.decision_reason) == (S.REVOKED, approver, "fixed it myself")
    assert events(revoked)[-1] == ("APPROVED", "REVOKED", "approver", "approver", "fixed it myself")


def test_an_admin_may_revoke_an_exemption_they_approved_for_themselves(world, settings):
    settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN = True
    admin = user_create_with_role(username="boss", role="Admin")
    exemption = request(world, by=admin)
    exemption_approve(exemption_id=exemption.id, by=admin)
    settings.EXEMPTIONS_ADMINS_MAY_APPROVE_OWN = False  # the setting governs approving only
    assert exemption_revoke(exemption_id=exemption.id, by=admin, reason="done").status == S.REVOKED


def test_requesters_without_the_configure_permission_cannot_revoke_their_own(world):
    viewer, approver = world[3], world[4]
    exemption = request(world, by=viewer)
    exemption_approve(exemption_id=exemption.id, by=approver)
    with pytest.raises(PermissionDeniedError):
        exemption_revoke(exemption_id=exemption.id, by=viewer, reason="done")
    assert Exemption.objects.get().status == S.APPROVED


def test_unknown_exemption(world):
    with pytest.raises(NotFoundError):
        exemption_approve(exemption_id=999999, by=world[4])


def test_approving_after_the_end_date_is_refused(world):
    past = datetime(2020, 1, 1, tzinfo=UTC)
    exemption = request(world, days=1, now=past)
    with pytest.raises(ApplicationError, match="end date has passed"):
        exemption_approve(exemption_id=exemption.id, by=world[4])


def test_expiry_marks_only_approved_exemptions_past_their_end(world, django_capture_on_commit_callbacks):
    scorecard, entity, rule, viewer, approver = world
    scorecard_evaluate(scorecard=scorecard)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    short = request(world, days=1, now=start)
    exemption_approve(exemption_id=short.id, by=approver, now=start)
    runbook = Rule.objects.get(title="Has a runbook")
    forever = request(world, rule=runbook, now=start)
    exemption_approve(exemption_id=forever.id, by=approver, now=start)
    assert exemptions_expire(now=start + timedelta(hours=23)) == []
    with django_capture_on_commit_callbacks(execute=True):
        expired = exemptions_expire(now=start + timedelta(days=2))
    assert expired == [short.id]
    assert Exemption.objects.get(pk=short.id).status == S.EXPIRED
    assert Exemption.objects.get(pk=forever.id).status == S.APPROVED
    assert events(Exemption.objects.get(pk=short.id))[-1][:4] == ("APPROVED", "EXPIRED", None, "system")
    assert exemptions_expire(now=start + timedelta(days=3)) == []
    # the entity was re-scored: the rule counts again
    assert RuleResult.objects.get(rule=rule).state == "fail"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_approvers_racing_exactly_one_wins(postgres_only):
    world = make_world()
    second_approver = user_create_with_role(username="approver2", role="Approver")
    exemption = request(world)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(user):
        try:
            barrier.wait(timeout=10)
            exemption_approve(exemption_id=exemption.id, by=user, reason=f"by {user.username}")
            result = "won"
        except ApplicationError as exc:
            result = f"lost: {exc.message}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    for _ in range(5):  # several rounds make an accidental pass unlikely
        Exemption.objects.filter(pk=exemption.id).update(status=S.PENDING, decided_by=None)
        ExemptionEvent.objects.filter(exemption=exemption, to_status=S.APPROVED).delete()
        outcomes.clear()
        threads = [threading.Thread(target=approve, args=(u,)) for u in (world[4], second_approver)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(o.split(":")[0] for o in outcomes) == ["lost", "won"], outcomes
        assert "is approved, not pending" in next(o for o in outcomes if o.startswith("lost"))
        assert ExemptionEvent.objects.filter(exemption=exemption, to_status=S.APPROVED).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_requests_racing_exactly_one_is_created(postgres_only):
    world = make_world()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask():
        try:
            barrier.wait(timeout=10)
            request(world)
            outcomes.append("created")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["created", "refused"]
    assert Exemption.objects.count() == 1


def test_expire_exemptions_command(world, capsys):
    from django.core.management import call_command

    start = datetime(2020, 1, 1, tzinfo=UTC)
    exemption = request(world, days=1, now=start)
    exemption_approve(exemption_id=exemption.id, by=world[4], now=start)
    call_command("expire_exemptions")
    assert "1 exemption(s) expired" in capsys.readouterr().out
    assert Exemption.objects.get().status == S.EXPIRED


# --- emails: each links to the page where its reader acts ------------------------------------------------------


SITE = "https://scorecards.example.com"


def test_the_request_email_links_approvers_to_their_inbox(world, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = SITE
    with django_capture_on_commit_callbacks(execute=True):
        request(world, reason="legacy service, retiring in Q3", days=30)
    [message] = mail.outbox
    assert message.to == ["approver@example.com"]
    assert message.subject == "[Scorecards] svc: exemption from 'Has an owner' requested"
    assert "Reason: legacy service, retiring in Q3" in message.body
    assert f"Approve or deny it in your inbox: {SITE}/exemptions/?tab=inbox\n" in message.body
    assert f"The entity's report card: {SITE}/entities/svc/#scorecard-ownership\n" in message.body


@pytest.mark.parametrize(
    ("decide", "label"),
    [
        (lambda ex, by: exemption_approve(exemption_id=ex.pk, by=by), "Approved"),
        (lambda ex, by: exemption_deny(exemption_id=ex.pk, by=by, reason="Add an owner instead."), "Denied"),
    ],
)
def test_the_decision_email_links_the_requester_to_the_report_card_and_their_requests(
    world, settings, django_capture_on_commit_callbacks, decide, label
):
    settings.SITE_URL = SITE + "/"  # a trailing slash in the setting makes no double slash
    exemption = request(world)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        decide(exemption, world[4])
    [message] = mail.outbox
    assert message.to == ["viewer@example.com"]
    assert message.subject == f"[Scorecards] svc: exemption from 'Has an owner': {label}"
    assert f"is now: {label}." in message.body
    assert ("Reason: Add an owner instead." in message.body) == (label == "Denied")
    assert f"See the rule on the entity's report card: {SITE}/entities/svc/#scorecard-ownership\n" in message.body
    assert f"Your requests: {SITE}/exemptions/?tab=mine\n" in message.body
    assert "REJECTED" not in message.subject + message.body and "rejected" not in message.body


def test_the_revocation_and_expiry_emails_say_the_state_as_the_pages_do(world, django_capture_on_commit_callbacks):
    exemption = request(world, days=1)
    exemption_approve(exemption_id=exemption.pk, by=world[4])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        exemption_revoke(exemption_id=exemption.pk, by=world[4], reason="owner found")
    assert mail.outbox[0].subject.endswith(": Revoked") and "is now: Revoked." in mail.outbox[0].body
    other = request(world, rule=Rule.objects.get(title="Has a runbook"), days=1)
    exemption_approve(exemption_id=other.pk, by=world[4])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        exemptions_expire(now=other.end_date + timedelta(seconds=1))
    assert mail.outbox[0].subject.endswith(": Expired") and "is now: Expired." in mail.outbox[0].body
