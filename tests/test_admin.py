"""The admin site: every page loads, changelists do a fixed number of queries, exemption actions go
through the services (and so keep their rules)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from apps.accounts.services import api_key_create, user_create_with_role
from apps.activity.models import CustomEvent, CustomMetric, CustomMetricPoint, Deploy
from apps.campaigns.models import CampaignSnapshot
from apps.campaigns.services import campaign_create
from apps.catalog.models import (
    CustomData,
    Entity,
    EntityDependency,
    EntityLink,
    EntityOwner,
    EntityPackage,
    EntityParent,
    EntityRelationship,
    RelationshipType,
)
from apps.evaluations.models import (
    EntityScore,
    EvaluationChunk,
    EvaluationRun,
    RuleOutcome,
    RuleResult,
    ScoreHistory,
)
from apps.exemptions.models import Exemption, ExemptionStatus
from apps.exemptions.services import exemption_approve, exemption_request
from apps.integrations.models import Fact
from apps.notifications.models import NotificationLog, NotificationRun
from apps.scorecards.models import Level, Rule, Scorecard

pytestmark = pytest.mark.django_db

ACTION_CHECKBOX = "_selected_action"


def populate(count: int, *, start: int = 0) -> None:
    """`count` rows of every admin-registered model, each with its related rows (owners, levels, events...)."""
    viewer = user_create_with_role(username="viewer", role="Viewer", password="viewer")
    approver = user_create_with_role(username="approver", role="Approver", password="approver")
    now = timezone.now()
    from apps.security.models import IpAllowlistEntry

    # Admin pages only: the allowlist guards the APIs, so entries here stop nothing these tests do.
    IpAllowlistEntry.objects.bulk_create(
        [IpAllowlistEntry(address=f"10.0.{i // 256}.{i % 256}", position=i) for i in range(start, start + count)]
    )
    for index in range(start, start + count):
        team = Entity.objects.create(tag=f"team-{index}", name=f"Team {index}", type="team")
        domain = Entity.objects.create(tag=f"domain-{index}", name=f"Domain {index}", type="domain")
        service = Entity.objects.create(
            tag=f"svc-{index}", name=f"Service {index}", groups=["tier-1", "python"], git_url="/nowhere"
        )
        EntityOwner.objects.create(entity=service, kind="group", name=team.tag, team=team)
        EntityOwner.objects.create(entity=service, kind="email", email=f"dev{index}@example.com")
        EntityParent.objects.create(entity=service, tag=domain.tag, parent=domain)
        EntityLink.objects.create(entity=service, name="Runbook", type="runbook", url="https://wiki.example.com/r")
        CustomData.objects.create(entity=service, key="tier", value=1)
        EntityPackage.objects.create(entity=service, name="django", version="4.2.1", manager="pip")
        EntityDependency.objects.create(caller=service, callee_tag=domain.tag, callee=domain, source="api")
        relationship_type = RelationshipType.objects.create(tag=f"rel-{index}", name=f"Relationship {index}")
        EntityRelationship.objects.create(
            type=relationship_type, source_tag=service.tag, source_entity=service, destination_tag=team.tag,
            destination_entity=team, declared_by=service,
        )  # fmt: skip

        scorecard = Scorecard.objects.create(tag=f"sc-{index}", name=f"Scorecard {index}")
        bronze = Level.objects.create(scorecard=scorecard, name="Bronze", rank=1, color="#c38b5f")
        Level.objects.create(scorecard=scorecard, name="Silver", rank=2, color="#8c9298")
        rule = Rule.objects.create(
            scorecard=scorecard, title="Has an owner", expression="ownership.allOwners().length > 0", level=bronze
        )
        pushed = Rule.objects.create(scorecard=scorecard, title="Deploys weekly", expression="", weight=2)

        EntityScore.objects.create(
            entity=service, scorecard=scorecard, score=1, total_possible=3, percentage=1 / 3, level=bronze,
            rules_passing=1, rules_total=2, evaluated_at=now,
        )  # fmt: skip
        RuleResult.objects.create(
            entity=service, scorecard=scorecard, rule=rule, state="pass", raw_state="pass", changed_at=now
        )
        RuleOutcome.objects.create(entity=service, rule=pushed, state="fail", remarks="last deploy 3 weeks ago")
        Fact.objects.create(entity=service, source="git", key="fileExists:README.md", value=True, collected_at=now)
        Deploy.objects.create(entity=service, timestamp=now, title=f"svc v{index}", sha="abc", environment="prod")
        CustomEvent.objects.create(entity=service, timestamp=now, title="Learned", type="LEARN_CORTEX")
        metric = CustomMetric.objects.create(key=f"metric-{index}", name=f"Metric {index} svc")
        CustomMetricPoint.objects.create(metric=metric, entity=service, timestamp=now, value=index)

        exemption = exemption_request(
            scorecard=scorecard, entity=service, rule=rule, reason="Being migrated", days=30, by=viewer
        )
        if index % 2:
            exemption_approve(exemption_id=exemption.pk, by=approver)

        run = EvaluationRun.objects.create(
            scorecard=scorecard, status="succeeded", total_chunks=1, done_chunks=1, entities_total=1,
            created_at=now, started_at=now, finished_at=now, lease_expires_at=now, requested_by=approver,
        )  # fmt: skip
        EvaluationChunk.objects.create(run=run, index=0, entity_ids=[service.pk], status="done")
        notification_run = NotificationRun.objects.create(
            kind="SCORECARD_SCORE_DROP", scorecard=scorecard, evaluation_run=run, delivered=1
        )
        NotificationLog.objects.create(
            notification_run=notification_run, recipient_email=f"dev{index}@example.com", recipient_entity=service,
            subject=f"[Scorecards] svc-{index} dropped from Silver to Bronze", status="sent", sent_at=now,
        )  # fmt: skip
        ScoreHistory.objects.create(
            entity=service, scorecard=scorecard, recorded_at=now, score=1, total_possible=3, level_rank=1,
            scorecard_version=1,
        )  # fmt: skip
        interval = IntervalSchedule.objects.create(every=index + 7, period="minutes")
        CrontabSchedule.objects.create(minute=str(index), hour="3")
        ClockedSchedule.objects.create(clocked_time=now + timedelta(days=index + 1))
        SolarSchedule.objects.create(event="sunrise", latitude=10 + index, longitude=20)
        api_key_create(user=viewer, name=f"key {index}")
        PeriodicTask.objects.create(
            name=f"probe {index}", task="apps.evaluations.tasks.expire_exemptions", interval=interval
        )
        campaign = campaign_create(
            key=f"campaign-{index}", name=f"Campaign {index} svc", owner=approver, rule_ids=[str(rule.identifier)],
            start_date=now, entity_scope='entity.type() = "service"', guidance="Do **this**.",
        )  # fmt: skip
        CampaignSnapshot.objects.create(campaign=campaign, day=now.date(), entities_total=1, recorded_at=now)
        # An owner UUID that names no user here (a Datadog user's), kept as an external owner.
        campaign_create(
            key=f"migrated-{index}", name=f"Migrated {index}", owner=uuid.UUID(int=index + 1),
            rule_ids=[str(rule.identifier)], start_date=now, entity_scope="kind:service",
        )  # fmt: skip


def changelist_urls() -> list[str]:
    return [f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist" for m in admin.site._registry]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "root")


@pytest.fixture
def root_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("url_name", changelist_urls())
def test_changelist_and_change_pages_load_with_data(root_client, superuser, rf, url_name):
    populate(2)
    changelist = reverse(url_name)
    assert root_client.get(changelist).status_code == 200
    assert root_client.get(changelist, {"q": "svc"}).status_code == 200
    model = next(m for m in admin.site._registry if url_name.endswith(f"_{m._meta.model_name}_changelist"))
    obj = model.objects.first()
    assert obj is not None, f"populate() makes no {model.__name__}"
    change = reverse(url_name.replace("_changelist", "_change"), args=[obj.pk])
    assert root_client.get(change).status_code == 200
    request = rf.get(changelist)
    request.user = superuser
    add = root_client.get(reverse(url_name.replace("_changelist", "_add")))
    assert add.status_code == (200 if admin.site._registry[model].has_add_permission(request) else 403)


@pytest.mark.parametrize("url_name", changelist_urls())
def test_changelist_queries_do_not_grow_with_rows(root_client, url_name):
    url = reverse(url_name)
    populate(2)
    root_client.get(url)  # warm caches (content types, permissions) so both counts compare like for like
    with CaptureQueriesContext(connection) as few:
        assert root_client.get(url).status_code == 200
    populate(18, start=2)
    with CaptureQueriesContext(connection) as many:
        assert root_client.get(url).status_code == 200
    assert 0 < len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


def test_filters_load(root_client):
    populate(2)
    scorecard = Scorecard.objects.first()
    pages = [
        ("admin:catalog_entity_changelist", {"type": "service", "archived__exact": "0"}, 2),
        ("admin:scorecards_rule_changelist", {"scorecard__id__exact": scorecard.pk, "level__name": "Bronze"}, 1),
        ("admin:scorecards_level_changelist", {"scorecard__id__exact": scorecard.pk}, 2),
        ("admin:exemptions_exemption_changelist", {"status__exact": "PENDING"}, 1),
        ("admin:exemptions_exemption_changelist", {"scorecard__id__exact": scorecard.pk}, 1),
        ("admin:evaluations_entityscore_changelist", {"level__name": "Bronze", "q": "svc-1"}, 1),
        ("admin:evaluations_ruleresult_changelist", {"state__exact": "pass"}, 2),
        ("admin:evaluations_ruleoutcome_changelist", {"state__exact": "fail"}, 2),
        ("admin:integrations_fact_changelist", {"source__exact": "git"}, 2),
    ]
    for name, params, expected in pages:
        response = root_client.get(reverse(name), params)
        assert response.status_code == 200, name
        assert response.context["cl"].result_count == expected, (name, params)


def test_entity_list_shows_owner_teams_and_groups(root_client):
    populate(1)
    response = root_client.get(reverse("admin:catalog_entity_changelist"), {"q": "svc-0"})
    assert b"team-0" in response.content
    assert b"tier-1, python" in response.content


def test_scorecard_list_counts_levels_and_rules(root_client):
    populate(1)
    row = root_client.get(reverse("admin:scorecards_scorecard_changelist")).context["cl"].result_list[0]
    assert (row.levels_total, row.rules_total) == (2, 2)


def test_scorecard_export_is_yaml_that_names_the_rules(root_client):
    populate(1)
    scorecard = Scorecard.objects.get()
    response = root_client.get(reverse("admin:scorecards_scorecard_export", args=[scorecard.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert b"title: Has an owner" in response.content
    page = root_client.get(reverse("admin:scorecards_scorecard_change", args=[scorecard.pk]))
    assert b"tag: sc-0" in page.content


def test_evaluate_now_starts_a_run_that_scores_the_selected_scorecard(root_client, django_capture_on_commit_callbacks):
    populate(1)
    EntityScore.objects.all().delete()
    scorecard = Scorecard.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = root_client.post(
            reverse("admin:scorecards_scorecard_changelist"),
            {"action": "evaluate_now", ACTION_CHECKBOX: [scorecard.pk]},
            follow=True,
        )
    run = EvaluationRun.objects.filter(trigger="manual").latest("id")
    texts = [m.message for m in get_messages(response.wsgi_request)]
    assert f"Scorecard 0: evaluation run {run.pk} started over 3 entities" in texts[0], texts
    assert (run.trigger, run.requested_by.username, run.status) == ("manual", "root", "succeeded")
    assert EntityScore.objects.filter(scorecard=scorecard, entity__tag="svc-0").exists()


def test_evaluate_now_needs_the_evaluate_permission(client):
    populate(1)
    approver = user_create_with_role(username="approver", role="Approver")
    client.force_login(approver)
    scorecard = Scorecard.objects.get()
    # Approvers may not even see scorecards' change list actions; the action is refused, nothing is scored.
    EntityScore.objects.all().delete()
    client.post(
        reverse("admin:scorecards_scorecard_changelist"), {"action": "evaluate_now", ACTION_CHECKBOX: [scorecard.pk]}
    )
    assert not EntityScore.objects.exists()


# -- exemption actions ---------------------------------------------------------------------------------------------


@pytest.fixture
def approver_client(client):
    populate(2)  # svc-0's exemption is PENDING, svc-1's APPROVED
    client.force_login(user_create_with_role(username="approver", role="Approver"))
    return client


def pending() -> Exemption:
    return Exemption.objects.get(entity__tag="svc-0")


def approved() -> Exemption:
    return Exemption.objects.get(entity__tag="svc-1")


def run_action(client, action: str, exemption: Exemption, **extra):
    data = {"action": action, ACTION_CHECKBOX: [exemption.pk], **extra}
    return client.post(reverse("admin:exemptions_exemption_changelist"), data, follow=True)


def texts(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def test_approver_is_offered_the_three_actions(approver_client):
    page = approver_client.get(reverse("admin:exemptions_exemption_changelist"))
    offered = {value for value, _label in page.context["action_form"].fields["action"].choices if value}
    assert offered == {"approve", "deny", "revoke"}


def test_approve_action_approves_a_pending_exemption(approver_client):
    response = run_action(approver_client, "approve", pending())
    assert texts(response) == ["1 exemption approved."]
    exemption = pending()
    assert exemption.status == ExemptionStatus.APPROVED
    assert exemption.decided_by.username == "approver"
    assert exemption.events.last().to_status == ExemptionStatus.APPROVED


def test_approve_action_refuses_an_approved_exemption(approver_client):
    response = run_action(approver_client, "approve", approved())
    assert texts(response) == ["svc-1 / Has an owner: the exemption is approved, not pending; nothing was changed"]
    assert approved().events.count() == 2


def test_deny_action_asks_for_a_reason_first(approver_client):
    response = run_action(approver_client, "deny", pending())
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "admin/exemptions/decision_reason.html"
    assert b'name="reason"' in response.content
    assert pending().status == ExemptionStatus.PENDING


def test_deny_action_with_reason_rejects(approver_client):
    response = run_action(approver_client, "deny", pending(), apply="1", reason="Fix it instead.")
    assert texts(response) == ["1 exemption denied."]
    exemption = pending()
    assert exemption.status == ExemptionStatus.REJECTED
    assert exemption.decision_reason == "Fix it instead."
    assert exemption.events.last().reason == "Fix it instead."


def test_deny_action_without_reason_shows_the_form_again(approver_client):
    response = run_action(approver_client, "deny", pending(), apply="1", reason="  ")
    assert response.status_code == 200
    assert b"This field is required." in response.content
    assert pending().status == ExemptionStatus.PENDING


def test_deny_action_refuses_an_approved_exemption(approver_client):
    response = run_action(approver_client, "deny", approved(), apply="1", reason="No.")
    assert texts(response) == ["svc-1 / Has an owner: the exemption is approved, not pending; nothing was changed"]
    assert approved().status == ExemptionStatus.APPROVED


def test_revoke_action_with_reason_revokes(approver_client):
    assert run_action(approver_client, "revoke", approved()).status_code == 200  # the reason page
    response = run_action(approver_client, "revoke", approved(), apply="1", reason="The migration is done.")
    assert texts(response) == ["1 exemption revoked."]
    exemption = approved()
    assert exemption.status == ExemptionStatus.REVOKED
    assert exemption.decision_reason == "The migration is done."


def test_revoke_action_refuses_a_pending_exemption(approver_client):
    response = run_action(approver_client, "revoke", pending(), apply="1", reason="No.")
    assert texts(response) == ["svc-0 / Has an owner: the exemption is pending, not approved; nothing was changed"]
    assert pending().status == ExemptionStatus.PENDING


def test_action_on_several_counts_successes_and_reports_each_refusal(approver_client):
    response = approver_client.post(
        reverse("admin:exemptions_exemption_changelist"),
        {"action": "approve", ACTION_CHECKBOX: [pending().pk, approved().pk]},
        follow=True,
    )
    assert sorted(texts(response)) == [
        "1 exemption approved.",
        "svc-1 / Has an owner: the exemption is approved, not pending; nothing was changed",
    ]


def test_requester_cannot_approve_own_request_through_the_admin(client):
    populate(1)
    viewer_turned_approver = user_create_with_role(username="viewer", role="Approver")
    client.force_login(viewer_turned_approver)
    response = run_action(client, "approve", pending())
    assert texts(response) == ["svc-0 / Has an owner: you cannot decide on your own exemption request"]
    assert pending().status == ExemptionStatus.PENDING


def test_editor_cannot_approve(client):
    populate(1)
    client.force_login(user_create_with_role(username="editor", role="Editor", password="editor"))
    page = client.get(reverse("admin:exemptions_exemption_changelist"))
    assert page.status_code == 200  # editors may look
    assert page.context["action_form"] is None  # no action offered at all
    run_action(client, "approve", pending())
    assert pending().status == ExemptionStatus.PENDING
    run_action(client, "deny", pending(), apply="1", reason="no")
    assert pending().status == ExemptionStatus.PENDING


def test_exemptions_cannot_be_added_changed_or_deleted_in_the_admin(root_client):
    populate(1)
    exemption = pending()
    assert root_client.get(reverse("admin:exemptions_exemption_add")).status_code == 403
    change = reverse("admin:exemptions_exemption_change", args=[exemption.pk])
    page = root_client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # read-only view
    root_client.post(change, {"status": "APPROVED", "reason": "sneaky"})
    assert pending().status == ExemptionStatus.PENDING
    assert root_client.get(reverse("admin:exemptions_exemption_delete", args=[exemption.pk])).status_code == 403


def test_expired_exemption_cannot_be_approved(approver_client):
    exemption = pending()
    Exemption.objects.filter(pk=exemption.pk).update(end_date=timezone.now() - timedelta(days=1))
    response = run_action(approver_client, "approve", exemption)
    assert texts(response) == ["svc-0 / Has an owner: this exemption's end date has passed; request a new one"]


def test_scorecard_change_page_queries_do_not_grow_with_rules(root_client):
    populate(1)
    scorecard = Scorecard.objects.get()
    url = reverse("admin:scorecards_scorecard_change", args=[scorecard.pk])
    root_client.get(url)
    with CaptureQueriesContext(connection) as few:
        root_client.get(url)
    bronze = scorecard.levels.get(name="Bronze")
    Rule.objects.bulk_create(
        Rule(scorecard=scorecard, title=f"Extra {n}", expression="true", level=bronze) for n in range(10)
    )
    with CaptureQueriesContext(connection) as many:
        page = root_client.get(url)
    assert len(many) == len(few)
    level_choices = page.context["inline_admin_formsets"][1].formset.forms[0].fields["level"].choices
    assert [label for _pk, label in level_choices] == ["---------", "Bronze", "Silver"]


def test_saving_an_entity_re_evaluates_it(root_client, django_capture_on_commit_callbacks):
    populate(1)
    service = Entity.objects.get(tag="svc-0")
    EntityScore.objects.all().delete()
    url = reverse("admin:catalog_entity_change", args=[service.pk])
    page = root_client.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in ("tag", "name", "type", "description")}
    data.update(groups='["tier-1"]', git="null", git_url="", oncall="null", slos="[]")
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[f"{management.prefix}-{name}"] = management[name].value()
        for index, inline_form in enumerate(inline.formset.forms):
            for field in inline_form.fields:
                value = inline_form[field].value()
                if value not in (None, False):
                    data[f"{inline.formset.prefix}-{index}-{field}"] = value
    with django_capture_on_commit_callbacks(execute=True):
        response = root_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert EntityScore.objects.filter(entity=service).count() == 1
