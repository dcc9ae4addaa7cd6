"""The real Cortex CLI (cortexapps-cli, installed in the venv) against the live server, command by command.

Each test runs `cortex ...` as a subprocess pointed at pytest-django's live server with an API key of a
given role (CORTEX_BASE_URL / CORTEX_API_KEY, HOME in tmp_path so no ~/.cortex/config is read), and checks
its exit code and the values it prints (JSON parsed from stdout), as the CLI's own tests do
(API_CONTRACT §2, "cortexapps-cli tests/test_scorecards.py"). Celery is eager, so descriptor changes,
custom data changes and exemption decisions re-score inside the live server's request.

The data: a Bronze/Silver/Gold scorecard and two services. `GOOD` passes every rule (Gold, 6/6);
`BAD` has no owner, so it fails the Bronze rule "Has an owner" (weight 3): no level, 3/6. Exempting that
rule removes it from both sides of the score, lifting `BAD` to Gold at 3/3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from apps.accounts.roles import ADMIN, APPROVER, EDITOR, VIEWER
from tests.api.cortex.conftest import (
    DESCRIPTION,
    DESCRIPTION_RULE,
    OWNER_RULE,
    TIER_ONE_RULE,
    TIER_SET_RULE,
    entity_yaml,
    scorecard_yaml,
)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(180),
]

CORTEX = Path(sys.executable).parent / "cortex"

TAG = "cli-test-scorecard"
NAME = "CLI Test Scorecard"
GOOD, BAD = "cli-good-svc", "cli-bad-svc"
# The same scorecard and services as the request-level tests, under the CLI tests' own tags.
SCORECARD = scorecard_yaml(TAG, NAME)


def draft_scorecard(tag: str, name: str) -> str:
    return textwrap.dedent(
        f"""\
        tag: {tag}
        name: {name}
        description: A draft nobody sees without --show-drafts.
        draft: true
        ladder:
          levels:
            - name: Bronze
              rank: 1
        rules:
          - title: Has a description
            expression: entity.description().length > 5
            weight: 1
            level: Bronze
        """
    )


def entity_descriptor(tag: str, *, owned: bool, tier: int | None = 1) -> str:
    return entity_yaml(tag, owned=owned, tier=tier)


# --- running the CLI ---------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self):
        assert self.code == 0, f"exit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"
        return json.loads(self.stdout)

    def failed_with(self, text: str) -> Run:
        assert self.code == 1, f"expected exit 1, got {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"
        assert text in self.stdout, f"{text!r} not in stdout: {self.stdout}\nstderr: {self.stderr}"
        return self

    def succeeded(self) -> Run:
        assert self.code == 0, f"exit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"
        return self


@pytest.fixture
def cortex(live_server, tmp_path):
    """`cortex(key, "scorecards", "get", "-s", TAG)`: run the CLI with that API key against the live server."""
    if not CORTEX.is_file():
        pytest.fail(f"{CORTEX} is missing: `make install` installs cortexapps-cli into the venv", pytrace=False)
    env = {name: value for name, value in os.environ.items() if not name.startswith("CORTEX_")}
    env.update(
        CORTEX_BASE_URL=live_server.url, HOME=str(tmp_path), COLUMNS="400", NO_COLOR="1", TERM="dumb", LC_ALL="C.UTF-8"
    )

    def run(key: str, *args: str, stdin: str | None = None) -> Run:
        done = subprocess.run(
            [str(CORTEX), *args],
            env={**env, "CORTEX_API_KEY": key},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        if os.environ.get("CLI_TEST_ECHO"):  # to see what the CLI printed: CLI_TEST_ECHO=1 pytest -s ...
            sys.stdout.write(f"\n$ cortex {' '.join(args)}  -> exit {done.returncode}\n{done.stdout}{done.stderr}\n")
        return Run(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def write(tmp_path):
    """`write("name.yaml", text)` -> the file's path as a string."""

    def make(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return make


@pytest.fixture
def services(db):
    """GOOD and BAD in the catalog (through the service, as a descriptor push would)."""
    from apps.catalog.services import entity_apply_descriptor

    return {tag: entity_apply_descriptor(text=entity_descriptor(tag, owned=tag == GOOD))[0] for tag in (GOOD, BAD)}


@pytest.fixture
def scorecard(services):
    """The scorecard, applied and evaluated through the services (the CLI's `create` is tested on its own)."""
    from apps.evaluations.services import scorecard_evaluate
    from apps.scorecards.services import scorecard_apply_descriptor

    made = scorecard_apply_descriptor(text=SCORECARD).scorecard
    scorecard_evaluate(scorecard=made)
    return made


def rule_ids(scorecard_json: dict) -> dict[str, str]:
    return {rule["title"]: rule["identifier"] for rule in scorecard_json["rules"]}


def summary_of(cortex, key: str, entity_tag: str) -> dict:
    """`scorecards scores -s TAG -t ENT`: the one service score's summary and level names."""
    body = cortex(key, "scorecards", "scores", "-s", TAG, "-t", entity_tag).json
    assert body["scorecardTag"] == TAG
    [service_score] = body["serviceScores"]
    assert service_score["service"]["tag"] == entity_tag
    return {
        **service_score["score"]["summary"],
        "levels": [level["level"]["name"] for level in service_score["score"]["ladderLevels"]],
        "exemptions": service_score["ruleExemptions"],
    }


# --- scorecards --------------------------------------------------------------------------------------


def test_create_dry_run_invalid_file_and_stdin(cortex, write, key_for, services):
    from apps.evaluations.models import EntityScore
    from apps.scorecards.models import Scorecard

    editor = key_for(EDITOR)
    path = write("cli-test-scorecard.yaml", SCORECARD)

    # --dry-run validates and writes nothing.
    cortex(editor.key, "scorecards", "create", "-f", path, "--dry-run").succeeded()
    assert not Scorecard.objects.filter(tag=TAG).exists()

    # An invalid descriptor: 400, the CLI prints each violation with where it is.
    broken = SCORECARD.replace("level: Gold", "level: Platinum")
    run = cortex(editor.key, "scorecards", "create", "-f", write("broken.yaml", broken))
    run.failed_with("HTTP Error 400").failed_with("Platinum")
    assert "Location: /rules/3/level" in run.stdout
    assert "(line " in run.stdout
    # --dry-run finds the same violation.
    cortex(editor.key, "scorecards", "create", "-f", "-", "--dry-run", stdin=broken).failed_with("Platinum")
    assert not Scorecard.objects.filter(tag=TAG).exists()

    # The real thing prints nothing and exits 0; the scorecard is evaluated at once (eager Celery).
    run = cortex(editor.key, "scorecards", "create", "-f", path).succeeded()
    assert run.stdout.strip() == ""
    scorecard = Scorecard.objects.get(tag=TAG)
    assert scorecard.name == NAME and not scorecard.draft
    assert EntityScore.objects.filter(scorecard=scorecard).count() == 2

    # `-f -` reads the descriptor from stdin.
    cortex(editor.key, "scorecards", "create", "-f", "-", stdin=draft_scorecard("cli-draft", "CLI Draft")).succeeded()
    assert Scorecard.objects.get(tag="cli-draft").draft is True


def test_list_drafts_and_pages(cortex, key_for, scorecard):
    from apps.scorecards.services import scorecard_apply_descriptor

    scorecard_apply_descriptor(text=draft_scorecard("cli-draft", "CLI Draft"))
    scorecard_apply_descriptor(text=SCORECARD.replace(TAG, "cli-zeta").replace(NAME, "CLI Zeta"))
    viewer = key_for(VIEWER)

    listed = cortex(viewer.key, "scorecards", "list").json
    assert [s["tag"] for s in listed["scorecards"]] == [TAG, "cli-zeta"]  # by name; the draft is hidden
    assert listed["total"] == 2

    # Drafts are shown to people who may edit scorecards, and only when asked for.
    editor = key_for(EDITOR)
    with_drafts = cortex(editor.key, "scorecards", "list", "-s").json
    assert [s["tag"] for s in with_drafts["scorecards"]] == ["cli-draft", TAG, "cli-zeta"]
    assert [s["isDraft"] for s in with_drafts["scorecards"]] == [True, False, False]
    assert [s["tag"] for s in cortex(editor.key, "scorecards", "list").json["scorecards"]] == [TAG, "cli-zeta"]
    assert [s["tag"] for s in cortex(viewer.key, "scorecards", "list", "-s").json["scorecards"]] == [TAG, "cli-zeta"]

    first = cortex(viewer.key, "scorecards", "list", "--page", "0", "--page-size", "1").json
    assert (first["page"], first["total"], first["totalPages"]) == (0, 2, 2)
    assert [s["tag"] for s in first["scorecards"]] == [TAG]
    second = cortex(editor.key, "scorecards", "list", "-s", "--page", "2", "--page-size", "1").json
    assert (second["page"], second["total"], second["totalPages"]) == (2, 3, 3)
    assert [s["tag"] for s in second["scorecards"]] == ["cli-zeta"]


def test_list_fetches_every_page(cortex, key_for, scorecard):
    """Without --page the CLI pages itself, always with pageSize=250: 260 scorecards take two requests."""
    from apps.scorecards.models import Scorecard

    Scorecard.objects.bulk_create(Scorecard(tag=f"bulk-{n:03}", name=f"Bulk {n:03}") for n in range(259))
    listed = cortex(key_for(VIEWER).key, "scorecards", "list").json
    tags = [s["tag"] for s in listed["scorecards"]]
    assert len(tags) == 260 == len(set(tags)) == listed["total"]
    assert set(tags) == {TAG, *(f"bulk-{n:03}" for n in range(259))}


def test_get_descriptor_shield_next_steps_and_scores(cortex, write, key_for, scorecard):
    viewer = key_for(VIEWER)

    got = cortex(viewer.key, "scorecards", "get", "-s", TAG).json["scorecard"]
    assert (got["tag"], got["name"], got["description"]) == (TAG, NAME, DESCRIPTION)
    assert [r["title"] for r in got["rules"]] == [OWNER_RULE, DESCRIPTION_RULE, TIER_SET_RULE, TIER_ONE_RULE]
    assert [r["levelName"] for r in got["rules"]] == ["Bronze", "Bronze", "Silver", "Gold"]
    assert [lv["level"]["name"] for lv in got["levels"]] == ["Bronze", "Silver", "Gold"]
    ids = rule_ids(got)
    assert len(set(ids.values())) == 4 and all(ids.values())

    # The descriptor is YAML text holding the description; posting it back keeps every rule identifier.
    descriptor = cortex(viewer.key, "scorecards", "descriptor", "-s", TAG)
    assert DESCRIPTION in descriptor.succeeded().stdout
    assert f"tag: {TAG}" in descriptor.stdout
    cortex(key_for(EDITOR).key, "scorecards", "create", "-f", write("exported.yaml", descriptor.stdout)).succeeded()
    assert rule_ids(cortex(viewer.key, "scorecards", "get", "-s", TAG).json["scorecard"]) == ids
    # The original file names no identifiers: rules are matched by title, so they keep theirs too.
    cortex(key_for(EDITOR).key, "scorecards", "create", "-f", "-", stdin=SCORECARD).succeeded()
    assert rule_ids(cortex(viewer.key, "scorecards", "get", "-s", TAG).json["scorecard"]) == ids

    shield = cortex(viewer.key, "scorecards", "shield", "-s", TAG, "-t", BAD).json
    assert "img.shields.io" in shield["value"]
    assert NAME in shield["value"]

    # BAD has no level: to reach Bronze it must complete "Has an owner".
    steps = cortex(viewer.key, "scorecards", "next-steps", "-s", TAG, "-t", BAD).json["nextSteps"]
    assert len(steps) == 1
    assert steps[0]["currentLevel"] is None
    assert steps[0]["nextLevel"]["level"] == {"name": "Bronze", "number": 1}
    assert [(r["title"], r["identifier"]) for r in steps[0]["rulesToComplete"]] == [(OWNER_RULE, ids[OWNER_RULE])]
    # GOOD is at the top of the ladder: nothing left.
    assert cortex(viewer.key, "scorecards", "next-steps", "-s", TAG, "-t", GOOD).json == {"nextSteps": []}

    scores = cortex(viewer.key, "scorecards", "scores", "-s", TAG).json
    assert (scores["scorecardTag"], scores["scorecardName"]) == (TAG, NAME)
    by_tag = {s["service"]["tag"]: s for s in scores["serviceScores"]}
    assert set(by_tag) == {GOOD, BAD}
    assert by_tag[GOOD]["score"]["summary"] == {"score": 6, "totalPossibleScore": 6, "percentage": 1.0}
    assert [lv["level"]["name"] for lv in by_tag[GOOD]["score"]["ladderLevels"]] == ["Gold"]
    assert by_tag[BAD]["score"]["summary"] == {"score": 3, "totalPossibleScore": 6, "percentage": 0.5}
    assert by_tag[BAD]["score"]["ladderLevels"] == []
    bad_rules = {r["identifier"]: r["score"] for r in by_tag[BAD]["score"]["rules"]}
    assert bad_rules == {ids[OWNER_RULE]: 0, ids[DESCRIPTION_RULE]: 1, ids[TIER_SET_RULE]: 1, ids[TIER_ONE_RULE]: 1}
    assert by_tag[BAD]["service"]["groups"] == ["payments"]
    assert by_tag[GOOD]["service"]["owners"]["individuals"][0]["email"] == "owner@example.com"

    one = cortex(viewer.key, "scorecards", "scores", "-s", TAG, "-t", GOOD).json
    assert [s["service"]["tag"] for s in one["serviceScores"]] == [GOOD]

    # The entity's side: every scorecard score of one entity.
    [entity_score] = cortex(viewer.key, "catalog", "scorecard-scores", "-t", BAD).json
    assert entity_score["scorecardName"] == NAME
    assert (entity_score["score"], entity_score["totalPossibleScore"], entity_score["scorePercentage"]) == (3, 6, 0.5)
    assert entity_score["ladderLevels"] == []


def test_trigger_evaluation_and_delete(cortex, key_for, scorecard, services):
    from django.utils import timezone

    from apps.evaluations.models import EntityScore, EvaluationRun, RunStatus
    from apps.scorecards.models import Scorecard

    editor, viewer, admin = key_for(EDITOR), key_for(VIEWER), key_for(ADMIN)
    before = EntityScore.objects.get(scorecard=scorecard, entity=services[BAD]).evaluated_at

    run = cortex(editor.key, "scorecards", "trigger-evaluation", "-s", TAG, "-e", BAD).succeeded()
    assert f"Scorecard evaluation triggered successfully for entity '{BAD}' in scorecard '{TAG}'" in run.stdout
    assert EntityScore.objects.get(scorecard=scorecard, entity=services[BAD]).evaluated_at > before
    assert EvaluationRun.objects.filter(scorecard=scorecard, status=RunStatus.SUCCEEDED).exists()

    # While a run is going, another is refused with 409.
    now = timezone.now()
    EvaluationRun.objects.create(
        scorecard=scorecard, status=RunStatus.RUNNING, created_at=now, started_at=now, lease_expires_at=now
    )
    cortex(editor.key, "scorecards", "trigger-evaluation", "-s", TAG, "-e", BAD).failed_with(
        "HTTP Error 409"
    ).failed_with("Already evaluating scorecard")

    # A viewer may not delete; an admin may, after which the scorecard is gone.
    cortex(viewer.key, "scorecards", "delete", "-s", TAG).failed_with("HTTP Error 403")
    assert Scorecard.objects.filter(tag=TAG).exists()
    assert cortex(admin.key, "scorecards", "delete", "-s", TAG).succeeded().stdout.strip() == ""
    assert TAG not in [s["tag"] for s in cortex(viewer.key, "scorecards", "list", "-s").json["scorecards"]]
    cortex(viewer.key, "scorecards", "get", "-s", TAG).failed_with("HTTP Error 404")
    cortex(admin.key, "scorecards", "delete", "-s", TAG).failed_with("HTTP Error 404")


# --- exemptions --------------------------------------------------------------------------------------


def test_exemption_request_approve_revoke_deny(cortex, key_for, scorecard):
    viewer, approver = key_for(VIEWER), key_for(APPROVER)
    ids = rule_ids(cortex(viewer.key, "scorecards", "get", "-s", TAG).json["scorecard"])
    rule = ids[OWNER_RULE]
    exemption = ["-s", TAG, "-t", BAD, "-ri", rule]

    before = summary_of(cortex, viewer.key, BAD)
    assert (before["score"], before["totalPossibleScore"], before["percentage"]) == (3, 6, 0.5)
    assert (before["levels"], before["exemptions"]) == ([], [])

    requested = cortex(viewer.key, "scorecards", "exemptions", "request", *exemption, "-r", "Owned elsewhere").json
    assert requested["exemptionStatus"]["status"] == "PENDING"
    assert requested["requestingReason"] == "Owned elsewhere"
    assert requested["requestedBy"]["email"] == viewer.user.email
    assert requested["endDate"] is None  # no -d: until revoked

    # Nothing changes until someone approves; a viewer cannot.
    assert summary_of(cortex, viewer.key, BAD)["score"] == 3
    cortex(viewer.key, "scorecards", "exemptions", "approve", *exemption).failed_with("HTTP Error 403")

    approved = cortex(approver.key, "scorecards", "exemptions", "approve", *exemption).json
    assert approved["exemptions"][0]["exemptionStatus"]["status"] == "APPROVED"
    assert approved["exemptions"][0]["exemptionStatus"]["handledBy"]["email"] == approver.user.email
    # The exempt rule leaves both sides of the score: 3/3, Gold.
    after = summary_of(cortex, viewer.key, BAD)
    assert (after["score"], after["totalPossibleScore"], after["percentage"], after["levels"]) == (3, 3, 1.0, ["Gold"])
    [shown] = after["exemptions"]
    assert (shown["ruleIdentifier"], shown["exemptionStatus"]["status"]) == (rule, "APPROVED")
    assert cortex(viewer.key, "scorecards", "next-steps", "-s", TAG, "-t", BAD).json == {"nextSteps": []}

    # Approving again: nothing is pending.
    cortex(approver.key, "scorecards", "exemptions", "approve", *exemption).failed_with("HTTP Error 400")

    revoked = cortex(approver.key, "scorecards", "exemptions", "revoke", *exemption, "-r", "Owner found").json
    assert revoked["exemptions"][0]["exemptionStatus"]["status"] == "REJECTED"
    assert revoked["exemptions"][0]["exemptionStatus"]["reason"] == "Owner found"
    after = summary_of(cortex, viewer.key, BAD)
    assert (after["score"], after["totalPossibleScore"], after["levels"], after["exemptions"]) == (3, 6, [], [])

    cortex(viewer.key, "scorecards", "exemptions", "request", *exemption, "-r", "Please").succeeded()
    denied = cortex(approver.key, "scorecards", "exemptions", "deny", *exemption, "-r", "No").json
    assert denied["exemptions"][0]["exemptionStatus"]["status"] == "REJECTED"
    assert denied["exemptions"][0]["exemptionStatus"]["reason"] == "No"
    assert summary_of(cortex, viewer.key, BAD)["score"] == 3
    # Nothing pending or approved any more.
    cortex(approver.key, "scorecards", "exemptions", "deny", *exemption, "-r", "No").failed_with("HTTP Error 400")
    cortex(approver.key, "scorecards", "exemptions", "revoke", *exemption, "-r", "No").failed_with("HTTP Error 400")


def test_exemption_for_days_and_unknown_rule(cortex, key_for, scorecard):
    viewer, admin = key_for(VIEWER), key_for(ADMIN)
    ids = rule_ids(cortex(viewer.key, "scorecards", "get", "-s", TAG).json["scorecard"])

    requested = cortex(
        viewer.key, "scorecards", "exemptions", "request", "-s", TAG, "-t", BAD, "-ri", ids[OWNER_RULE],
        "-r", "A week", "-d", "7",
    ).json  # fmt: skip
    assert requested["exemptionStatus"]["status"] == "PENDING"
    start = datetime.fromisoformat(requested["requestedDate"])
    end = datetime.fromisoformat(requested["endDate"])
    assert end - start == timedelta(days=7)
    approved = cortex(
        admin.key, "scorecards", "exemptions", "approve", "-s", TAG, "-t", BAD, "-ri", ids[OWNER_RULE]
    ).json
    assert approved["exemptions"][0]["exemptionStatus"]["status"] == "APPROVED"
    assert approved["exemptions"][0]["endDate"] == requested["endDate"]

    unknown = ["-s", TAG, "-t", BAD, "-ri", "00000000-0000-0000-0000-000000000000", "-r", "x"]
    cortex(viewer.key, "scorecards", "exemptions", "request", *unknown).failed_with("HTTP Error 404")


# --- catalog and custom data -------------------------------------------------------------------------


def test_catalog_create_details_and_delete(cortex, write, key_for):
    from apps.catalog.models import Entity

    editor, viewer = key_for(EDITOR), key_for(VIEWER)
    tag = "cli-catalog-svc"
    path = write("descriptor.yaml", entity_descriptor(tag, owned=True, tier=2))

    dry = cortex(editor.key, "catalog", "create", "-f", path, "--dry-run").json
    assert (dry["ok"], dry["action"], dry["tag"], dry["violations"]) == (True, "would create", tag, [])
    assert not Entity.objects.filter(tag=tag).exists()

    broken = entity_descriptor(tag, owned=False).replace("x-cortex-type: service", "x-cortex-type: Not A Slug")
    cortex(editor.key, "catalog", "create", "-f", write("broken.yaml", broken)).failed_with(
        "HTTP Error 400"
    ).failed_with("a type is a slug")
    assert not Entity.objects.filter(tag=tag).exists()

    created = cortex(editor.key, "catalog", "create", "-f", path).json
    assert created["ok"] is True and created["tag"] == tag
    assert Entity.objects.filter(tag=tag).exists()

    details = cortex(viewer.key, "catalog", "details", "-t", tag).json
    assert (details["tag"], details["type"], details["name"]) == (tag, "service", "Cli Catalog Svc")
    assert details["groups"] == [{"tag": "payments"}]
    assert details["metadata"] == [{"key": "tier", "value": 2}]
    assert details["owners"]["individuals"] == [{"email": "owner@example.com", "description": None}]
    assert cortex(viewer.key, "catalog", "details", "-t", details["id"]).json["tag"] == tag

    # No scorecard yet: no scores.
    assert cortex(viewer.key, "catalog", "scorecard-scores", "-t", tag).json == []

    cortex(viewer.key, "catalog", "delete", "-t", tag).failed_with("HTTP Error 403")
    assert cortex(editor.key, "catalog", "delete", "-t", tag).succeeded().stdout.strip() == ""
    assert not Entity.objects.filter(tag=tag).exists()
    cortex(viewer.key, "catalog", "details", "-t", tag).failed_with("HTTP Error 404")
    cortex(viewer.key, "catalog", "scorecard-scores", "-t", tag).failed_with("HTTP Error 404")


def test_custom_data_add_get_delete_and_force(cortex, key_for, scorecard):
    editor, viewer = key_for(EDITOR), key_for(VIEWER)

    added = cortex(
        editor.key, "custom-data", "add", "-t", GOOD, "-k", "ci-tool", "-v", "Jenkins", "-d", "The CI tool"
    ).json
    assert (added["key"], added["value"], added["description"]) == ("ci-tool", "Jenkins", "The CI tool")
    got = cortex(viewer.key, "custom-data", "get", "-t", GOOD, "-k", "ci-tool").json
    assert (got["key"], got["value"], got["description"]) == ("ci-tool", "Jenkins", "The CI tool")

    assert cortex(editor.key, "custom-data", "delete", "-t", GOOD, "-k", "ci-tool").succeeded().stdout.strip() == ""
    cortex(viewer.key, "custom-data", "get", "-t", GOOD, "-k", "ci-tool").failed_with("HTTP Error 404")
    cortex(editor.key, "custom-data", "delete", "-t", GOOD, "-k", "ci-tool").failed_with("HTTP Error 404")

    # "tier" comes from GOOD's descriptor: the API may override it only with --force (-o).
    cortex(editor.key, "custom-data", "add", "-t", GOOD, "-k", "tier", "-v", "2").failed_with(
        "HTTP Error 400"
    ).failed_with("defined in the entity's descriptor")
    assert cortex(viewer.key, "custom-data", "get", "-t", GOOD, "-k", "tier").json["value"] == 1
    forced = cortex(editor.key, "custom-data", "add", "-t", GOOD, "-k", "tier", "-v", "2", "-o").json
    assert (forced["key"], forced["value"]) == ("tier", "2")
    assert cortex(viewer.key, "custom-data", "get", "-t", GOOD, "-k", "tier").json["value"] == "2"
    # The CLI sends the value as a string: custom("tier") = 1 now fails, and GOOD re-scores at once.
    after = summary_of(cortex, viewer.key, GOOD)
    assert (after["score"], after["totalPossibleScore"], after["levels"]) == (5, 6, ["Silver"])


def test_custom_data_list_and_bulk(cortex, write, key_for, scorecard):
    editor, viewer = key_for(EDITOR), key_for(VIEWER)
    bulk = {
        "values": {
            GOOD: [{"key": "ci", "value": "Jenkins"}, {"key": "cost", "value": {"center": 42}}],
            BAD: [{"key": "ci", "value": "GitHub Actions", "description": "CI system"}],
        }
    }
    done = cortex(editor.key, "custom-data", "bulk", "-f", write("bulk.json", json.dumps(bulk))).json
    assert [(r["key"], r["value"]) for r in done["values"][GOOD]] == [("ci", "Jenkins"), ("cost", {"center": 42})]

    # Without --page the CLI pages until an empty array comes back; with it, one page.
    listed = cortex(viewer.key, "custom-data", "list", "-t", GOOD).json
    assert [(r["key"], r["value"], r["source"]) for r in listed] == [
        ("ci", "Jenkins", "API"),
        ("cost", {"center": 42}, "API"),
        ("tier", 1, "YAML"),
    ]
    page = cortex(viewer.key, "custom-data", "list", "-t", GOOD, "--page", "1", "--page-size", "2").json
    assert [r["key"] for r in page] == ["tier"]
    assert cortex(viewer.key, "custom-data", "get", "-t", BAD, "-k", "ci").json["description"] == "CI system"

    # All or nothing: a descriptor's key without --force refuses the whole file.
    refused = {"values": {BAD: [{"key": "owner-note", "value": "x"}], GOOD: [{"key": "tier", "value": 3}]}}
    cortex(editor.key, "custom-data", "bulk", "-f", write("refused.json", json.dumps(refused))).failed_with(
        "HTTP Error 400"
    )
    cortex(viewer.key, "custom-data", "get", "-t", BAD, "-k", "owner-note").failed_with("HTTP Error 404")
    cortex(viewer.key, "custom-data", "bulk", "-f", write("viewer.json", json.dumps(bulk))).failed_with(
        "HTTP Error 403"
    )


# --- authentication ----------------------------------------------------------------------------------


def test_bad_key_and_missing_permission(cortex, key_for, scorecard):
    cortex("not-a-real-key", "scorecards", "list").failed_with("HTTP Error 401")
    cortex("not-a-real-key", "scorecards", "get", "-s", TAG).failed_with("HTTP Error 401")
    viewer = key_for(VIEWER)
    cortex(viewer.key, "scorecards", "delete", "-s", TAG).failed_with("HTTP Error 403")
    cortex(viewer.key, "scorecards", "create", "-f", "-", stdin=SCORECARD).failed_with("HTTP Error 403")
    cortex(viewer.key, "scorecards", "trigger-evaluation", "-s", TAG, "-e", BAD).failed_with("HTTP Error 403")


# --- catalog list, descriptor, archive -------------------------------------------------------------------


def test_catalog_list_descriptor_archive_and_unarchive(cortex, write, key_for, scorecard):
    from apps.catalog.models import Entity
    from apps.evaluations.models import EntityScore

    viewer, editor = key_for(VIEWER), key_for(EDITOR)
    team = "openapi: 3.0.1\ninfo:\n  title: Team Pay\n  x-cortex-tag: cli-team-pay\n  x-cortex-type: team\n"
    cortex(editor.key, "catalog", "create", "-f", write("team.yaml", team)).succeeded()
    owned = entity_descriptor("cli-owned-svc", owned=False, tier=3).replace(
        "  x-cortex-type: service\n",
        "  x-cortex-type: service\n  x-cortex-owners:\n    - type: group\n      name: cli-team-pay\n"
        "  x-cortex-git:\n    github:\n      repository: acme/owned\n",
    )
    cortex(editor.key, "catalog", "create", "-f", write("owned.yaml", owned)).succeeded()

    # Without --page the CLI pages through everything (pageSize 250) and prints what it gathered.
    listed = cortex(viewer.key, "catalog", "list").json
    assert [e["tag"] for e in listed["entities"]] == [BAD, GOOD, "cli-owned-svc", "cli-team-pay"]
    assert (listed["total"], listed["totalPages"]) == (4, 1)
    assert listed["entities"][0]["groups"] == ["payments"] and "metadata" not in listed["entities"][0]
    page = cortex(viewer.key, "catalog", "list", "--page", "0", "--page-size", "1").json
    assert ([e["tag"] for e in page["entities"]], page["page"], page["total"], page["totalPages"]) == ([BAD], 0, 4, 4)
    last = cortex(viewer.key, "catalog", "list", "-p", "3", "-z", "1").json
    assert [e["tag"] for e in last["entities"]] == ["cli-team-pay"]
    grouped = cortex(viewer.key, "catalog", "list", "-g", "payments", "-t", "service", "-m").json
    assert [(e["tag"], e["metadata"]) for e in grouped["entities"]] == [
        (BAD, [{"key": "tier", "value": 1}]),
        (GOOD, [{"key": "tier", "value": 1}]),
        ("cli-owned-svc", [{"key": "tier", "value": 3}]),
    ]
    by_team = cortex(viewer.key, "catalog", "list", "-o", "cli-team-pay", "-io").json["entities"]
    assert [(e["tag"], e["owners"]["teams"][0]["name"]) for e in by_team] == [("cli-owned-svc", "Team Pay")]
    assert [e["tag"] for e in cortex(viewer.key, "catalog", "list", "-r", "acme/owned").json["entities"]] == [
        "cli-owned-svc"
    ]
    assert cortex(viewer.key, "catalog", "list", "-g", "no-such-group").json["entities"] == []

    # The descriptor: JSON, or YAML text with -y, which applies back unchanged.
    described = cortex(viewer.key, "catalog", "descriptor", "-t", "cli-owned-svc").json
    assert described["info"]["x-cortex-owners"] == [{"type": "group", "name": "cli-team-pay"}]
    assert described["info"]["x-cortex-custom-metadata"] == {"tier": 3}
    text = cortex(viewer.key, "catalog", "descriptor", "-t", GOOD, "--yaml").succeeded().stdout
    assert f"x-cortex-tag: {GOOD}\n" in text and "      email: owner@example.com\n" in text
    assert cortex(editor.key, "catalog", "create", "-f", write("back.yaml", text)).json["action"] == "unchanged"
    assert "title: Cli Bad Svc" in cortex(viewer.key, "catalog", "descriptor", "-y", "-t", BAD).succeeded().stdout
    cortex(viewer.key, "catalog", "descriptor", "-t", "no-such-svc").failed_with("HTTP Error 404")

    # Archive: prints nothing; the entity leaves the list and the scorecard. Unarchive prints the entity.
    cortex(viewer.key, "catalog", "archive", "-t", GOOD).failed_with("HTTP Error 403")
    assert cortex(editor.key, "catalog", "archive", "-t", GOOD).succeeded().stdout.strip() == ""
    assert cortex(editor.key, "catalog", "archive", "-t", GOOD).succeeded().stdout.strip() == ""  # idempotent
    assert Entity.objects.get(tag=GOOD).archived is True
    assert not EntityScore.objects.filter(entity__tag=GOOD).exists()
    assert GOOD not in [e["tag"] for e in cortex(viewer.key, "catalog", "list").json["entities"]]
    archived = cortex(viewer.key, "catalog", "list", "-a", "-g", "payments").json["entities"]
    assert [(e["tag"], e["isArchived"]) for e in archived][:2] == [(BAD, False), (GOOD, True)]
    assert cortex(viewer.key, "catalog", "descriptor", "-t", GOOD).json["info"]["x-cortex-archived"] is True

    restored = cortex(editor.key, "catalog", "unarchive", "-t", GOOD).json
    assert (restored["tag"], restored["isArchived"]) == (GOOD, False)
    assert summary_of(cortex, viewer.key, GOOD)["levels"] == ["Gold"]  # evaluated again (eager Celery)
    cortex(editor.key, "catalog", "unarchive", "-t", "no-such-svc").failed_with("HTTP Error 404")
