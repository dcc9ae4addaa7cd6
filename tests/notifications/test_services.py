"""Score-drop emails: built from real catalog descriptors, a real scorecard and real evaluation runs."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.catalog.models import EntityOwner
from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.models import ChunkStatus, EvaluationChunk, EvaluationRun, RunStatus
from apps.evaluations.runs import run_start
from apps.evaluations.services import scorecard_evaluate
from apps.evaluations.tasks import run_finished
from apps.notifications.models import NotificationKind, NotificationLog, NotificationRun, NotificationStatus
from apps.notifications.services import notify_score_drops, team_member_emails
from apps.scorecards.models import Scorecard
from apps.scorecards.services import scorecard_apply_descriptor

pytestmark = pytest.mark.django_db

SCORECARD = """\
tag: {tag}
name: {name}
notifications: {{enabled: {enabled}, scoreDropNotificationsEnabled: {drops}}}
ladder:
  levels:
    - {{name: Bronze, rank: 1}}
    - {{name: Silver, rank: 2}}
    - {{name: Gold, rank: 3}}
filter:
  types: {{include: [service]}}
  groups: {{include: [{group}]}}
rules:
  - title: Has an owner
    expression: ownership.allOwners().length > 0
    weight: 2
    level: Bronze
    failureMessage: Add `x-cortex-owners` to the descriptor.
  - title: Has a runbook
    expression: links("runbook").length > 0
    weight: 2
    level: Silver
    failureMessage: Link a runbook under `x-cortex-link`.
  - title: Tier declared
    expression: custom("tier") != null
    weight: 3
    level: Gold
    failureMessage: Set `tier` in `x-cortex-custom-metadata`.
  - title: Has a description
    expression: entity.description().length > 0
    weight: 1
"""


def scorecard(*, tag="production-readiness", name="Production Readiness", enabled=True, drops=True, group="svc"):
    text = SCORECARD.format(tag=tag, name=name, enabled=str(enabled).lower(), drops=str(drops).lower(), group=group)
    return scorecard_apply_descriptor(text=text).scorecard


def team(tag="payments-team", members=(("Ana", "ana@example.com"), ("Bo", "bo@example.com"))):
    member_lines = "".join(f"      - {{name: {name}, email: {email}}}\n" for name, email in members)
    text = (
        f"openapi: 3.0.1\ninfo:\n  title: {tag}\n  x-cortex-tag: {tag}\n  x-cortex-type: team\n"
        f"  x-cortex-team:\n    members:\n{member_lines}"
    )
    return entity_apply_descriptor(text=text)[0]


def service(
    tag="payments-api",
    *,
    owners=(("group", "payments-team"), ("email", "Ana@Example.com"), ("email", "lead@example.com")),
    tier=True,
    runbook=True,
    description=True,
    group="svc",
):
    """A service that reaches Gold with 8 points when every flag is on; turn one off to make it drop."""
    lines = [
        "openapi: 3.0.1",
        "info:",
        f"  title: {tag.replace('-', ' ').title()}",
        f"  x-cortex-tag: {tag}",
        "  x-cortex-type: service",
        f"  x-cortex-groups: [{group}]",
    ]
    if description:
        lines.append("  description: Charges cards.")
    if owners:
        lines.append("  x-cortex-owners:")
        for kind, value in owners:
            key = "name" if kind == "group" else "email"
            lines.append(f"    - {{type: {kind}, {key}: {value}}}")
    if tier:
        lines += ["  x-cortex-custom-metadata:", "    tier: 1"]
    if runbook:
        lines.append(f"  x-cortex-link: [{{name: Runbook, type: runbook, url: https://wiki.example.com/{tag}}}]")
    return entity_apply_descriptor(text="\n".join(lines) + "\n")[0]


@pytest.fixture
def production_readiness():
    """Payments API at Gold (8 points), owned by a team (Ana, Bo) and two emails (Ana again, the lead)."""
    card = scorecard()
    team()
    service()
    service("ledger-api", owners=(("email", "ledger@example.com"),))
    scorecard_evaluate(scorecard=card)
    return card


def start_run(card: Scorecard, capture) -> EvaluationRun:
    with capture(execute=True):
        run = run_start(scorecard=card)
    run.refresh_from_db()
    return run


def outbox_by_recipient() -> dict[str, mail.EmailMessage]:
    assert all(len(message.to) == 1 for message in mail.outbox)
    return {message.to[0]: message for message in mail.outbox}


def test_level_drop_emails_owners_and_team_members_once_each(
    production_readiness, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://scorecards.example.com"
    service(tier=False)

    run = start_run(production_readiness, django_capture_on_commit_callbacks)

    assert run.status == RunStatus.SUCCEEDED
    sent = outbox_by_recipient()
    # Ana is an owner and a team member: one email, lowercased. Ledger did not drop: no email.
    assert sorted(sent) == ["ana@example.com", "bo@example.com", "lead@example.com"]
    message = sent["bo@example.com"]
    assert message.subject == "[Scorecards] payments-api dropped from Gold to Silver on Production Readiness"
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Level: Gold -> Silver" in message.body
    assert "Score: 8 -> 5" in message.body
    assert "- Tier declared (fail, Gold)" in message.body
    assert "Next steps to reach Gold:\n- Tier declared: Set `tier` in `x-cortex-custom-metadata`." in message.body
    assert "you are a member of payments-team, which owns payments-api" in message.body
    # The owner acts on the report card: an absolute link to the entity's section of this scorecard.
    report_card = f"https://scorecards.example.com/entities/payments-api/#scorecard-{production_readiness.tag}"
    assert f"\nThe report card: {report_card}\n" in message.body
    assert "you are an owner of payments-api" in sent["ana@example.com"].body

    notification_run = NotificationRun.objects.get()
    assert notification_run.evaluation_run == run
    assert notification_run.kind == NotificationKind.SCORECARD_SCORE_DROP
    assert notification_run.scorecard == production_readiness
    assert (notification_run.delivered, notification_run.failed, notification_run.skipped) == (3, 0, 0)
    assert notification_run.finished_at is not None
    logs = NotificationLog.objects.order_by("recipient_email")
    assert [(log.recipient_email, log.recipient_entity.tag, log.status) for log in logs] == [
        ("ana@example.com", "payments-api", "sent"),
        ("bo@example.com", "payments-api", "sent"),
        ("lead@example.com", "payments-api", "sent"),
    ]
    assert all(log.sent_at is not None and log.subject == message.subject for log in logs)
    assert logs[1].body == message.body


def test_score_drop_without_level_change_says_how_far_it_fell(production_readiness, django_capture_on_commit_callbacks):
    service(description=False)

    start_run(production_readiness, django_capture_on_commit_callbacks)

    message = outbox_by_recipient()["lead@example.com"]
    assert message.subject == "[Scorecards] payments-api score fell from 8 to 7 on Production Readiness"
    assert "Level:" not in message.body
    assert "- Has a description (fail)" in message.body
    # Gold is the top level: no next level, so the email asks for the points back.
    assert "Next steps: fix the failing rules above" in message.body


def test_notifying_twice_for_the_same_run_sends_once(production_readiness, django_capture_on_commit_callbacks):
    service(tier=False)
    run = start_run(production_readiness, django_capture_on_commit_callbacks)
    first = NotificationRun.objects.get()
    assert len(mail.outbox) == 3

    again = notify_score_drops(run_id=run.pk)
    run_finished(run.pk)  # a re-delivered task

    assert again == first
    assert len(mail.outbox) == 3
    assert NotificationRun.objects.count() == 1
    assert NotificationLog.objects.count() == 3


@pytest.mark.parametrize("enabled, drops", [(False, True), (True, False)])
def test_disabled_notifications_send_nothing(enabled, drops, django_capture_on_commit_callbacks):
    card = scorecard(enabled=enabled, drops=drops)
    team()
    service()
    scorecard_evaluate(scorecard=card)
    service(tier=False)

    run = start_run(card, django_capture_on_commit_callbacks)

    assert EvaluationChunk.objects.filter(run=run).exclude(drops=[]).exists()  # there was a drop to tell about
    assert notify_score_drops(run_id=run.pk) is None
    assert mail.outbox == []
    assert not NotificationRun.objects.exists()


def test_runs_without_drops_or_not_finished_send_nothing(production_readiness, django_capture_on_commit_callbacks):
    assert notify_score_drops(run_id=987654) is None

    calm = start_run(production_readiness, django_capture_on_commit_callbacks)
    assert calm.status == RunStatus.SUCCEEDED
    assert notify_score_drops(run_id=calm.pk) is None

    service(tier=False)
    running = run_start(scorecard=production_readiness)  # chunks not executed: still running
    EvaluationChunk.objects.filter(run=running).update(drops=[{"entity": 1, "score": [8, 5], "level": [3, 2]}])
    assert notify_score_drops(run_id=running.pk) is None

    assert mail.outbox == []
    assert not NotificationRun.objects.exists()


class RefusingBackend(LocmemBackend):
    """The locmem backend, except that the server refuses bo@example.com."""

    def send_messages(self, messages):
        for message in messages:
            if "bo@example.com" in message.to:
                raise smtplib.SMTPRecipientsRefused({"bo@example.com": (550, b"mailbox unavailable")})
        return super().send_messages(messages)


class DownBackend(LocmemBackend):
    def open(self):
        raise ConnectionRefusedError("mail server down")


def test_a_refused_address_is_logged_failed_and_the_others_are_sent(
    production_readiness, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    service(tier=False)

    start_run(production_readiness, django_capture_on_commit_callbacks)

    assert sorted(outbox_by_recipient()) == ["ana@example.com", "lead@example.com"]
    statuses = dict(NotificationLog.objects.values_list("recipient_email", "status"))
    assert statuses == {"ana@example.com": "sent", "bo@example.com": "failed", "lead@example.com": "sent"}
    failed = NotificationLog.objects.get(status=NotificationStatus.FAILED)
    assert failed.error.startswith("SMTPRecipientsRefused")
    assert failed.sent_at is None
    run = NotificationRun.objects.get()
    assert (run.delivered, run.failed) == (2, 1)


def test_a_mail_server_that_is_down_fails_every_message(
    production_readiness, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.DownBackend"
    service(tier=False)

    start_run(production_readiness, django_capture_on_commit_callbacks)

    assert mail.outbox == []
    assert set(NotificationLog.objects.values_list("status", "error")) == {
        ("failed", "ConnectionRefusedError: mail server down")
    }
    assert NotificationRun.objects.get().failed == 3


def test_an_entity_nobody_owns_gets_a_skipped_row(production_readiness, django_capture_on_commit_callbacks):
    service(owners=())  # losing its owners fails the Bronze rule: Gold -> no level
    service("ledger-api", owners=(("email", "ledger@example.com"),), tier=False)

    start_run(production_readiness, django_capture_on_commit_callbacks)

    assert list(outbox_by_recipient()) == ["ledger@example.com"]
    skipped = NotificationLog.objects.get(status=NotificationStatus.SKIPPED)
    assert skipped.recipient_email == ""
    assert skipped.recipient_entity.tag == "payments-api"
    assert skipped.subject == "[Scorecards] payments-api dropped from Gold to no level on Production Readiness"
    assert "no recipients" in skipped.error
    assert "- Has an owner (fail, Bronze)" in skipped.body
    assert "Next steps to reach Bronze:\n- Has an owner: Add `x-cortex-owners`" in skipped.body
    run = NotificationRun.objects.get()
    assert (run.delivered, run.failed, run.skipped) == (1, 0, 1)


def test_a_team_owner_is_found_by_tag_when_its_link_is_missing(
    production_readiness, django_capture_on_commit_callbacks
):
    service(owners=(("group", "payments-team"),), tier=False)
    EntityOwner.objects.filter(entity__tag="payments-api").update(team=None)  # e.g. edited in the admin

    start_run(production_readiness, django_capture_on_commit_callbacks)

    assert sorted(outbox_by_recipient()) == ["ana@example.com", "bo@example.com"]


@pytest.mark.parametrize(
    "descriptor, expected",
    [
        (None, []),
        ({"info": {}}, []),
        ({"info": {"x-cortex-team": {"members": "ana@example.com"}}}, []),
        ({"info": {"x-cortex-team": {"members": [{"name": "No email"}, "ana", {"email": 3}]}}}, []),
        (
            {"info": {"x-cortex-team": {"members": [{"name": "Ana", "email": " Ana@Example.COM "}]}}},
            ["ana@example.com"],
        ),
    ],
)
def test_team_member_emails_tolerate_any_descriptor_shape(descriptor, expected):
    assert team_member_emails(descriptor) == expected


def finished_run_with_drops(card: Scorecard) -> EvaluationRun:
    """A run row with the drops a real evaluation found, as the run machinery would leave it."""
    now = timezone.now()
    summary = scorecard_evaluate(scorecard=card, now=now)
    run = EvaluationRun.objects.create(
        scorecard=card,
        status=RunStatus.SUCCEEDED,
        created_at=now,
        started_at=now,
        finished_at=now,
        lease_expires_at=now + timedelta(minutes=10),
        total_chunks=1,
        done_chunks=1,
    )
    ids = sorted(drop["entity"] for drop in summary.drops)
    EvaluationChunk.objects.create(run=run, index=0, entity_ids=ids, status=ChunkStatus.DONE, drops=summary.drops)
    return run


def test_queries_do_not_grow_with_the_dropped_entities(django_assert_max_num_queries):
    team()
    counts = {}
    for size in (2, 20):
        group = f"batch-{size}"
        card = scorecard(tag=group, name=f"Batch {size}", group=group)
        tags = [f"{group}-svc-{index}" for index in range(size)]
        for index, tag in enumerate(tags):
            owners = (("group", "payments-team"), ("email", f"owner-{index}@example.com"))
            service(tag, owners=owners, group=group)
        scorecard_evaluate(scorecard=card)
        for tag in tags:
            service(tag, owners=(("group", "payments-team"), ("email", f"{tag}@example.com")), tier=False, group=group)
        run = finished_run_with_drops(card)
        with django_assert_max_num_queries(12), CaptureQueriesContext(connection) as queries:
            notification_run = notify_score_drops(run_id=run.pk)
        assert notification_run.delivered == size * 3
        counts[size] = len(queries)
    assert counts[2] == counts[20], counts
