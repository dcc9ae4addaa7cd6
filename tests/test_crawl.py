"""No page answers 5xx, whatever the state of the data (issue 10).

Every dashboard URL is discovered from the URL conf (everything outside `admin/` and `api/`), its kwargs
filled from the world's objects (plus unknown values: a missing tag, an id past 64 bits, a NUL character),
and requested as each role, a user with no role, anonymous and anonymous with PUBLIC_READ: pages, tabs,
htmx partials, CSV exports, badges (SVG and JSON). An Admin also sends query strings: paging (`?page=99`,
`0`, `abc`, past 64 bits), filters, sorts, odd values. POST-only URLs are posted to. Each request runs in a
rolled-back savepoint, so the world stays as built. The admin's changelists and change pages are crawled as
an Admin (see `crawl_dashboard` and `admin_urls` for exactly what goes where).

Three worlds, each built once per module: the demo (`load_demo` with its smallest catalog, then evaluated),
a world of edge states built with the factories (no owner, no team, no score, no git, archived, scorecards
with no rules / no levels / drafts / nothing scored, exemptions in every state, events without an actor,
campaigns without scope or rules, runs in every state), and an empty catalog.

A URL pattern whose kwargs cannot be filled fails the crawl, and so does a pattern that answers 404 to
every request in a world with data: a new page is crawled as soon as it is routed, or the test says why not.
"""

from __future__ import annotations

import copy
import io
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from apps.accounts.models import ApiKey, User
from apps.accounts.roles import ADMIN, ROLES
from apps.accounts.services import api_key_create, user_create_with_role
from apps.campaigns.models import Campaign, CampaignSnapshot, CampaignStatus
from apps.campaigns.services import campaign_create
from apps.catalog.models import CustomData, Entity, EntityLink, EntityOwner, EntityPackage, EntityParent
from apps.evaluations.models import (
    ChunkStatus,
    EvaluationChunk,
    EvaluationRun,
    RuleOutcome,
    RunStatus,
    RunTrigger,
    ScoreHistory,
)
from apps.evaluations.services import scorecard_evaluate
from apps.exemptions.models import Exemption, ExemptionEvent, ExemptionStatus
from apps.exemptions.services import (
    exemption_approve,
    exemption_deny,
    exemption_request,
    exemption_revoke,
    exemptions_expire,
)
from apps.integrations.models import Fact
from apps.notifications.models import NotificationKind, NotificationLog, NotificationRun, NotificationStatus
from apps.scorecards.models import Rule, Scorecard
from tests.factories import EntityFactory, LevelFactory, RuleFactory, ScorecardFactory, UserFactory

NO_ROLE = "no role"
ANONYMOUS = "anonymous"
PUBLIC = "anonymous, PUBLIC_READ"
WHO = (*ROLES, NO_ROLE, ANONYMOUS, PUBLIC)

MISSING = "does-not-exist"
HTMX = {"HX-Request": "true"}
HUGE = "99999999999999999999999"  # past 64 bits
NUL_TAG = "nul\x00tag"  # PostgreSQL text cannot hold NUL
UNKNOWN = (MISSING, HUGE, NUL_TAG)
EXCLUDED_PREFIXES = ("admin/", "api/")  # the admin is crawled on its own; the APIs have their own tests

# Query strings an Admin sends to every page that renders: paging out of range and malformed, the CSV export,
# and NUL characters (which PostgreSQL refuses in text) in every parameter some page reads.
READ_PARAMS = ("q", "type", "group", "team", "level", "sort", "tab", "show", "scorecard", "days", "team_page")
NUL_QUERY = "?" + "&".join(f"{name}=%00" for name in READ_PARAMS)
GENERIC_QUERIES = ("?page=99", "?page=0", "?page=abc", f"?page={HUGE}", "?format=csv", NUL_QUERY)
# What an Admin sends to the first object's page where it is not thorough (the demo), and to every other object's
# page in the world of edge states.
FEW_QUERIES = ("?page=99", "?format=csv")
# Query strings that make another page of a route: tabs, the chosen scorecard of a report, CSV exports. Every
# role crawls them like the bare URL. `{scorecard}` stands for the first scorecard (for an Admin, each one).
PAGE_VIEWS: dict[str, tuple[str, ...]] = {
    "exemptions:list": ("?tab=inbox", "?tab=approved", "?tab=history", "?tab=mine"),
    "reports:birds_eye": ("?format=csv",),
    "reports:executive": ("?scorecard={scorecard}", "?scorecard={scorecard}&format=csv"),
    "reports:progress": ("?format=csv",),
    "reports:report_card": ("?scorecard={scorecard}", "?scorecard={scorecard}&format=csv"),
    "reports:all_scorecards": ("?format=csv",),
    "campaigns:detail": ("?show=all",),
}
# Filters, sorts and odd values of particular pages, for an Admin; `{scorecard}` stands for each scorecard.
PAGE_QUERIES: dict[str, tuple[str, ...]] = {
    "evaluations:scorecard": (
        "?sort=-level",
        "?sort=-score",
        "?sort=nonsense",
        "?level=none",
        "?level=Gold&type=service&group=tier-1&team=team-edge&q=svc",
        "?q=" + "x" * 500,
        "?sort=-score&page=99",
    ),
    "exemptions:list": ("?tab=nope", *(f"?tab={tab}&page=99" for tab in ("inbox", "approved", "history", "mine"))),
    "reports:executive": ("?scorecard={scorecard}&team_page=99", "?scorecard={scorecard}&team_page=abc&page=0"),
    "reports:progress": (
        "?team=team-edge&days=7",
        "?team=nobody",
        "?days=-5",
        "?days=abc",
        f"?days={HUGE}",
        "?format=csv&days=3660",
    ),
    "reports:report_card": (
        "?scorecard={scorecard}&days=1",
        f"?scorecard={{scorecard}}&days={HUGE}",
        "?scorecard={scorecard}&days=abc&format=csv",
    ),
    "reports:all_scorecards": ("?q=svc", "?q=svc&format=csv", "?q=nothing-matches"),
    "campaigns:detail": ("?show=all&page=99", "?show=failing&page=0", "?show=nonsense"),
}


# --- worlds ----------------------------------------------------------------------------------------------------


@dataclass
class World:
    name: str
    users: dict[str, User]
    scorecards: list[str] = field(default_factory=list)  # tags
    entities: list[str] = field(default_factory=list)  # tags, a sample covering each kind of entity
    campaigns: list[str] = field(default_factory=list)  # keys
    exemptions: list[int] = field(default_factory=list)
    api_keys: list[int] = field(default_factory=list)
    has_data: bool = True
    odd_objects: bool = False  # each object is an edge case: an Admin sends query strings to each one's pages
    thorough: bool = True  # an Admin sends every query string (else a few): the demo's states are all in "edge"

    def kwarg_values(self, route: Route, kwarg: str) -> list[str] | None:
        """Values for one URL kwarg: every (sampled) object of the world, and one that does not exist.
        None when nothing knows how to fill it, which fails the crawl."""
        pk_values = {"pk": self.exemptions, "key_id": self.api_keys}
        if kwarg in pk_values:
            return [str(pk) for pk in pk_values[kwarg]] + [HUGE]
        by_name = {
            "scorecard_tag": self.scorecards,
            "entity_tag": self.entities,
            "key": self.campaigns,
            # A `tag` is a scorecard's under /scorecards/ and an entity's under /entities/.
            "tag": {"scorecards": self.scorecards, "entities": self.entities}.get(route.route.split("/")[0]),
            # Password reset links: a well-formed user id with a wrong token (and, below, both unknown).
            "uidb64": ["MQ"],
            "token": ["set-password"],
        }
        values = by_name.get(kwarg)
        return None if values is None else [*values, MISSING, NUL_TAG]


def role_users(prefix: str) -> dict[str, User]:
    users = {role: user_create_with_role(username=f"{prefix}-{role.lower()}", role=role) for role in ROLES}
    users[NO_ROLE] = UserFactory(username=f"{prefix}-norole")
    return users


@pytest.fixture(scope="module", params=["demo", "edge", "empty"])
def world(request, django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    """One world at a time (a parametrized module fixture is torn down before its next parameter is built), each
    in a transaction rolled back at the end: each test's own transaction nests in it as a savepoint, and nothing
    is left behind for the other test modules."""
    django_db_blocker.unblock()
    try:
        with transaction.atomic():
            if request.param == "demo":
                with override_settings(DEMO_REPOS_DIR=tmp_path_factory.mktemp("demo-repos")):
                    built = build_demo_world()
            elif request.param == "edge":
                built = build_edge_world()
            else:
                built = World(name="empty", users=role_users("empty"), has_data=False)
            yield built
            transaction.set_rollback(True)
    finally:
        django_db_blocker.restore()
        cache.clear()  # campaign scopes and the like, cached for ids that no longer exist


def build_demo_world() -> World:
    """`load_demo` with its smallest catalog, evaluated, as `make run` does."""
    call_command("load_demo", services=8, repos=2, stdout=io.StringIO())
    for scorecard in Scorecard.objects.all():
        scorecard_evaluate(scorecard=scorecard)
    entities = Entity.objects.order_by("tag")
    sample = {
        *entities.filter(type="service", archived=False).values_list("tag", flat=True)[:2],
        *entities.filter(type="team").values_list("tag", flat=True)[:1],
        *entities.filter(type="domain").values_list("tag", flat=True)[:1],
        *entities.filter(archived=True).values_list("tag", flat=True)[:1],
        *entities.filter(git_url__gt="").values_list("tag", flat=True)[:1],
        *Exemption.objects.values_list("entity__tag", flat=True)[:2],
    }
    user = User.objects.get(username="viewer")
    api_key_create(user=user, name="crawl")
    return World(
        name="demo",
        thorough=False,
        users=role_users("crawl"),
        scorecards=list(Scorecard.objects.order_by("tag").values_list("tag", flat=True)),
        entities=sorted(sample),
        campaigns=list(Campaign.objects.order_by("key").values_list("key", flat=True)),
        exemptions=list(Exemption.objects.order_by("pk").values_list("pk", flat=True)[:3]),
        api_keys=list(ApiKey.objects.values_list("pk", flat=True)[:1]),
    )


def first(tag: str, tags) -> list[str]:
    return [tag, *sorted(set(tags) - {tag})]


def build_edge_world() -> World:
    """One of each awkward state the dashboard must survive."""
    now = timezone.now()
    users = role_users("edge")
    requester = users["Viewer"]
    approver = users["Approver"]

    # Catalog: a full service, and services missing each optional part.
    team = EntityFactory(tag="team-edge", name="Edge team", type="team")
    domain = EntityFactory(tag="domain-edge", type="domain")
    full = EntityFactory(
        tag="svc-full",
        groups=["tier-1", "python"],
        git={"github": {"repository": "org/svc-full"}},
        git_url="/nonexistent/repository",
        oncall={"pagerduty": {"id": "P1", "type": "SCHEDULE"}},
        slos=[{"name": "availability", "target": 99.9}],
        description="A service with every optional part.",
    )
    EntityOwner.objects.create(entity=full, kind="group", name=team.tag, team=team)
    EntityOwner.objects.create(entity=full, kind="email", email="owner@example.com")
    EntityParent.objects.create(entity=full, tag=domain.tag, parent=domain)
    EntityLink.objects.create(entity=full, name="Runbook", type="runbook", url="https://wiki.example.com/runbook")
    CustomData.objects.create(entity=full, key="tier", value=1)
    CustomData.objects.create(entity=full, key="nested", value={"a": [1, None, {"b": "c"}]})
    EntityPackage.objects.create(entity=full, name="django", version="5.2", manager="pip")
    EntityFactory(tag="svc-no-owner")  # no owner, no team, no git, no links
    email_only = EntityFactory(tag="svc-no-team")
    EntityOwner.objects.create(entity=email_only, kind="email", email="solo@example.com")
    dangling = EntityFactory(tag="svc-dangling", groups="not-a-list")  # groups of the wrong JSON type
    EntityOwner.objects.create(entity=dangling, kind="group", name="ghost-team")  # team never imported
    EntityParent.objects.create(entity=dangling, tag="ghost-domain")  # parent never imported
    EntityFactory(tag="lib-unscored", type="library")  # in no scorecard's scope: no score at all
    archived = EntityFactory(tag="svc-archived")
    EntityFactory(
        tag="svc-odd-text",
        name='<script>alert("x")</script> {{ x }} %s',
        description='=HYPERLINK("http://evil")',
        groups=["=SUM(1)", "<b>"],
    )

    # Scorecards: a full ladder; no rules; no levels; nothing at all; a draft; nothing scored.
    scoped = {"types": {"include": ["service"]}}
    full_card = ScorecardFactory(
        tag="edge-full", name="Edge full", filter=scoped, score_drop_notifications_enabled=True
    )
    bronze = LevelFactory(scorecard=full_card, name="Bronze", rank=1, color="#c38b5f")
    silver = LevelFactory(scorecard=full_card, name="Silver", rank=2, color="")
    LevelFactory(scorecard=full_card, name="Gold", rank=3, color="not-a-colour")
    passing = RuleFactory(scorecard=full_card, title="Passes", expression="true", level=bronze, weight=2)
    failing = RuleFactory(
        scorecard=full_card,
        title="Fails",
        expression="false",
        level=silver,
        failure_message="Fix **this**: <script>alert(1)</script> [link](javascript:alert(1))",
    )
    RuleFactory(scorecard=full_card, title="Errors", expression='"a" < 3', level=silver)
    pushed = RuleFactory(scorecard=full_card, title="Pushed", expression="", level=None, weight=0)
    RuleFactory(scorecard=full_card, title="Later", expression="true", effective_from=now + timedelta(days=30))
    RuleFactory(scorecard=full_card, title="Disabled", expression="false", enabled=False)
    RuleFactory(
        scorecard=full_card, title="Tier one only", expression="false", filter={"groups": {"include": ["tier-1"]}}
    )
    no_rules = ScorecardFactory(tag="edge-no-rules", name="Edge no rules")
    LevelFactory(scorecard=no_rules, name="Only", rank=1)
    no_levels = ScorecardFactory(tag="edge-no-levels", name="Edge no levels", filter=scoped)
    RuleFactory(scorecard=no_levels, title="Points only", expression='entity.tag().startsWith("svc-full")')
    ScorecardFactory(tag="edge-empty", name="Edge empty", filter={"query": 'custom("nested") > 1'})
    draft = ScorecardFactory(tag="edge-draft", name="Edge draft", draft=True, filter=scoped)
    draft_level = LevelFactory(scorecard=draft, name="Draft level", rank=1)
    RuleFactory(scorecard=draft, title="Draft rule", expression="true", level=draft_level)
    nothing = ScorecardFactory(tag="edge-nothing-scored", name="Edge nothing scored", filter=scoped)
    nothing_level = LevelFactory(scorecard=nothing, name="Someday", rank=1)
    RuleFactory(scorecard=nothing, title="Not yet", expression="false", effective_from=now + timedelta(days=9))
    skipped = RuleFactory(scorecard=nothing, title="Skipped", expression="", level=nothing_level)
    for entity in Entity.objects.filter(type="service"):
        RuleOutcome.objects.create(entity=entity, rule=skipped, state="skip", remarks="not relevant")
    RuleOutcome.objects.create(entity=full, rule=pushed, state="pass", remarks="pushed by CI")

    # Scores, twice, with history (and, on the nothing-scored card, history points of total 0).
    for scorecard in Scorecard.objects.all():
        scorecard_evaluate(scorecard=scorecard, now=now - timedelta(days=3))
    Rule.objects.filter(pk=passing.pk).update(expression='entity.hasGroup("tier-1")')
    Scorecard.objects.filter(pk=full_card.pk).update(version=2)
    for scorecard in Scorecard.objects.all():
        scorecard_evaluate(scorecard=scorecard, now=now - timedelta(hours=1))
    # Archived after scoring: its stale score stays until the next full run.
    Entity.objects.filter(pk=archived.pk).update(archived=True)
    ScoreHistory.objects.create(
        entity=full, scorecard=full_card, recorded_at=now - timedelta(days=2), score=0, total_possible=0,
        level_rank=None, scorecard_version=1,
    )  # fmt: skip

    # Exemptions in every state, events without an actor, a requester deleted since.
    def request(entity, rule, *, days=None, by=requester):
        return exemption_request(
            scorecard=rule.scorecard, entity=entity, rule=rule, reason="Crawl", days=days, by=by, now=now
        )

    errors = Rule.objects.get(title="Errors")
    pending = request(full, failing)
    approved = request(email_only, failing, days=30)
    exemption_approve(exemption_id=approved.pk, by=approver, now=now)
    forever = request(full, errors)
    exemption_approve(exemption_id=forever.pk, by=approver, now=now)
    denied = request(dangling, failing)
    exemption_deny(exemption_id=denied.pk, by=approver, reason="No.", now=now)
    revoked = request(dangling, errors)
    exemption_approve(exemption_id=revoked.pk, by=approver, now=now)
    exemption_revoke(exemption_id=revoked.pk, by=approver, reason="Not any more.", now=now)
    expired = request(Entity.objects.get(tag="svc-no-owner"), failing, days=1)
    exemption_approve(exemption_id=expired.pk, by=approver, now=now)
    exemptions_expire(now=now + timedelta(days=2))  # a system event: no actor
    gone = UserFactory(username="edge-gone")
    gone.groups.add(*requester.groups.all())
    orphan = request(Entity.objects.get(tag="svc-odd-text"), errors, by=gone)
    exemption_approve(exemption_id=orphan.pk, by=approver, now=now)
    ExemptionEvent.objects.create(
        exemption=orphan, from_status="", to_status=ExemptionStatus.PENDING, actor=None, actor_label="", created_at=now
    )
    gone.delete()  # requested_by and the events' actor become NULL

    # Campaigns: no scope, a scope, no rules, no due date, with history.
    campaign_create(
        key="edge-no-scope", name="No scope", owner=users["Editor"], rule_ids=[str(failing.identifier)],
        start_date=now - timedelta(days=3), due_date=None, status=CampaignStatus.IN_PROGRESS,
    )  # fmt: skip
    scoped_campaign = campaign_create(
        key="edge-scoped", name="Scoped", owner=users["Editor"],
        rule_ids=[str(failing.identifier), str(passing.identifier), str(skipped.identifier)],
        start_date=now - timedelta(days=9), due_date=now - timedelta(days=1), entity_scope='entity.hasGroup("tier-1")',
        guidance="**Do** <script>alert(1)</script>",
    )  # fmt: skip
    CampaignSnapshot.objects.create(
        campaign=scoped_campaign, day=(now - timedelta(days=2)).date(), entities_total=0, entities_passing=0,
        recorded_at=now,
    )  # fmt: skip
    Campaign.objects.create(
        key="edge-no-rules", name="No rules", owner=users["Editor"], start_date=now, status=CampaignStatus.COMPLETED
    )
    # A scope that compiles but fails on some entities (a list compared with a number), saved past the checks.
    odd_scope = Campaign.objects.create(
        key="edge-odd-scope", name="Odd scope", owner=users["Editor"], start_date=now,
        entity_scope='custom("nested") > 1',
    )  # fmt: skip
    odd_scope.rules.set([failing, skipped])

    # Evaluation runs in every state, one requested by nobody.
    for scorecard, status in (
        (full_card, RunStatus.RUNNING),
        (no_rules, RunStatus.FAILED),
        (no_levels, RunStatus.QUEUED),
    ):
        run = EvaluationRun.objects.create(
            scorecard=scorecard, status=status, trigger=RunTrigger.SCHEDULE, created_at=now, lease_expires_at=now,
            total_chunks=2 if status == RunStatus.RUNNING else 0, done_chunks=1 if status == RunStatus.RUNNING else 0,
            started_at=now if status != RunStatus.QUEUED else None,
            finished_at=now if status == RunStatus.FAILED else None, error="boom" if status == RunStatus.FAILED else "",
        )  # fmt: skip
        EvaluationChunk.objects.create(run=run, index=0, status=ChunkStatus.FAILED, drops=[{"entity": "x"}], error="x")
    EvaluationRun.objects.create(
        scorecard=nothing, status=RunStatus.SUCCEEDED, trigger=RunTrigger.MANUAL, created_at=now - timedelta(hours=2),
        lease_expires_at=now, started_at=now - timedelta(hours=2), finished_at=None,
    )  # fmt: skip

    # Notifications about nobody, facts, API keys.
    notification = NotificationRun.objects.create(kind=NotificationKind.SCORECARD_SCORE_DROP)
    NotificationLog.objects.create(
        notification_run=notification, subject="About nobody", status=NotificationStatus.SKIPPED
    )
    Fact.objects.create(
        entity=full, source="git", key="fileExists:README.md", value=None, error="unreachable", collected_at=now
    )
    _, _ = api_key_create(user=users["Viewer"], name="edge key")
    revoked_key, _ = api_key_create(user=users["Viewer"], name="edge revoked")
    ApiKey.objects.filter(pk=revoked_key.pk).update(revoked_at=now)

    return World(
        name="edge",
        odd_objects=True,
        users=users,
        # The full ones first: the roles that crawl only the first object's pages see a published, scored one.
        scorecards=first(full_card.tag, Scorecard.objects.values_list("tag", flat=True)),
        entities=first(full.tag, Entity.objects.values_list("tag", flat=True)),
        campaigns=first(scoped_campaign.key, Campaign.objects.values_list("key", flat=True)),
        exemptions=[pending.pk, approved.pk, expired.pk],
        api_keys=list(ApiKey.objects.order_by("pk").values_list("pk", flat=True)),
    )


# --- URL discovery -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    route: str  # "scorecards/<str:tag>/"
    kwargs: tuple[str, ...]


def dashboard_routes() -> list[Route]:
    """Every named URL pattern outside admin/ and api/, from the URL conf itself."""
    routes: list[Route] = []
    unnamed: list[str] = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(EXCLUDED_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace
                walk(pattern.url_patterns, route, f"{namespace}:{inner}" if namespace and inner else inner or namespace)
            elif isinstance(pattern, URLPattern):
                if not pattern.name:
                    unnamed.append(route)
                    continue
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                routes.append(Route(name, route, tuple(pattern.pattern.regex.groupindex)))

    walk(get_resolver().url_patterns, "", None)
    assert not unnamed, f"URL patterns without a name cannot be crawled: {unnamed}"
    return routes


def route_urls(world: World, route: Route) -> list[tuple[str, bool]]:
    """The URLs of the route in this world; fails when a kwarg cannot be filled.

    Every value of every kwarg appears (the unknown one included); with several kwargs (a badge's scorecard and
    entity), values are paired in turn rather than multiplied out, plus every pair of the first two of each.
    Each URL comes with whether it is a key one: the first real object's, or one naming an unknown object.
    """
    choices = []
    for kwarg in route.kwargs:
        values = world.kwarg_values(route, kwarg)
        assert values, f"no values to fill <{kwarg}> of {route.name} ({route.route}): teach World.kwarg_values"
        choices.append(values)
    longest = max((len(values) for values in choices), default=1)
    combos = [tuple(values[i % len(values)] for values in choices) for i in range(longest)]
    combos += [combo for combo in itertools.product(*(values[:2] for values in choices)) if combo not in combos]
    return [
        (
            reverse(route.name, kwargs=dict(zip(route.kwargs, combo, strict=True))),
            index == 0 or any(value in UNKNOWN for value in combo),
        )
        for index, combo in enumerate(combos)
    ]


def expand(world: World, queries, *, every_scorecard: bool) -> list[str]:
    """The queries with `{scorecard}` replaced by each scorecard of the world and an unknown one, or by the first."""
    tags = [*world.scorecards, MISSING] if every_scorecard else world.scorecards[:1]
    out: list[str] = []
    for query in queries:
        out += [query.replace("{scorecard}", tag) for tag in tags] if "{scorecard}" in query else [query]
    return out


def admin_queries(world: World, route: Route, *, first: bool) -> list[str]:
    """What an Admin sends to a page that rendered, besides its views. To the first object's page: in a thorough
    world, the generic query strings and the page's own filters and sorts (`{scorecard}` becoming each scorecard
    and an unknown one), else a few. To another object's page: a few where each object is an edge case."""
    if first and world.thorough:
        return [*GENERIC_QUERIES, *expand(world, PAGE_QUERIES.get(route.name, ()), every_scorecard=True)]
    return list(FEW_QUERIES) if first or world.odd_objects else []


def test_page_queries_name_real_routes():
    names = {route.name for route in dashboard_routes()}
    assert set(PAGE_QUERIES) | set(PAGE_VIEWS) <= names


# --- crawling ------------------------------------------------------------------------------------------------------


@dataclass
class Crawl:
    failures: list[str] = field(default_factory=list)
    answered: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # route name -> statuses
    requests: int = 0

    def check(self, client: Client, method: str, url: str, *, route: str, who: str, data=None, headers=None):
        # A savepoint per request: a view that breaks the transaction (or writes) leaves the world as it was.
        # The cookies too: a POST to log out (or to log in) must not change who crawls the next URL.
        cookies = copy.deepcopy(client.cookies)
        with transaction.atomic():
            response = getattr(client, method)(url, data=data, headers=headers)
            transaction.set_rollback(True)
        client.cookies = cookies
        self.requests += 1
        self.answered[route].add(response.status_code)
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            detail = f"{exc[0].__name__}: {exc[1]}" if exc else ""
            self.failures.append(f"{who}: {method.upper()} {url} -> {response.status_code} {detail}"[:400])
        return response


def client_for(world: World, who: str) -> Client:
    client = Client(raise_request_exception=False)
    if who in world.users:
        client.force_login(world.users[who])
    return client


def crawl_dashboard(world: World, who: str) -> Crawl:
    """Every route, bare, then with query strings on the pages that render; POST-only routes are posted to.

    Every role crawls the first object's and unknown objects' URLs, bare and with the query strings that make
    other pages of them (tabs, a report's chosen scorecard, CSV exports). An Admin, who sees everything (drafts
    too), crawls every object's URLs and sends the first one's every query string: paging out of range, filters,
    sorts, odd values. So each role's code paths and each object's data meet the crawl, and it stays short
    enough to run with the suite.
    """
    thorough = who == ADMIN
    crawl = Crawl()
    client = client_for(world, who)
    post_data = {
        "reason": "crawl",
        "days": "abc",
        "tab": "nope",
        "name": "crawl key",
        "scorecard": (world.scorecards or [MISSING])[0],
        "entity": (world.entities or [MISSING])[0],
        "rule": str(Rule.objects.values_list("identifier", flat=True).first() or MISSING),
    }
    with override_settings(PUBLIC_READ=who == PUBLIC):
        for route in dashboard_routes():
            for url, key in route_urls(world, route):
                if not (key or thorough):
                    continue
                response = crawl.check(client, "get", url, route=route.name, who=who)
                if response.status_code == 405:  # POST only: empty, then plausible but wrong (as htmx sends it)
                    crawl.check(client, "post", url, route=route.name, who=who, data={})
                    crawl.check(client, "post", url, route=route.name, who=who, data=post_data, headers=HTMX)
                    continue
                content_type = response.get("Content-Type", "")
                if response.status_code != 200 or not content_type.startswith(("text/html", "text/csv")):
                    continue
                views = expand(world, PAGE_VIEWS.get(route.name, ()), every_scorecard=thorough)
                more = admin_queries(world, route, first=key) if thorough else []
                for query in [*views, *more]:
                    crawl.check(client, "get", url + query, route=route.name, who=who)
    return crawl


@pytest.mark.django_db
def test_no_dashboard_page_answers_5xx(world):
    failures, answered = [], defaultdict(set)
    for who in WHO:
        crawl = crawl_dashboard(world, who)
        failures += crawl.failures
        for name, statuses in crawl.answered.items():
            answered[name] |= statuses
    assert not failures, f"{len(failures)} requests answered 5xx:\n" + "\n".join(failures)
    routes = dashboard_routes()
    assert set(answered) == {route.name for route in routes}  # every route was requested
    if world.has_data:
        # Filled with real objects, every route shows something to someone (POST-only ones answer GET with 405).
        only_404 = sorted(name for name, statuses in answered.items() if statuses == {404})
        assert not only_404, (
            f"these routes answered only 404: their kwargs were not filled with real objects: {only_404}"
        )


def admin_urls(world: World) -> Iterator[tuple[str, str]]:
    """(label, url): each registered model's changelist and its last object's change page; in the world of edge
    states also a searched and sorted changelist and the last two objects' change pages."""
    per_model = 2 if world.odd_objects else 1
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        label = f"{model._meta.label}"
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        yield label, changelist
        if not world.has_data:
            continue
        if world.odd_objects:
            yield label, changelist + "?q=svc&o=-1"
        for pk in model._default_manager.order_by("-pk").values_list("pk", flat=True)[:per_model]:
            yield label, reverse("admin:{}_{}_change".format(*info), args=[pk])


@pytest.mark.django_db
def test_no_admin_page_answers_5xx(world):
    crawl = Crawl()
    client = client_for(world, "Admin")
    crawl.check(client, "get", reverse("admin:index"), route="admin", who="Admin")
    for label, url in admin_urls(world):
        crawl.check(client, "get", url, route=label, who="Admin")
    assert not crawl.failures, f"{len(crawl.failures)} admin requests answered 5xx:\n" + "\n".join(crawl.failures)
    assert crawl.answered["admin"] == {200}


def test_an_unfillable_route_fails_the_crawl():
    world = World(name="none", users={})
    with pytest.raises(AssertionError, match="no values to fill <widget_id>"):
        route_urls(world, Route("reports:widget", "widgets/<int:widget_id>/", ("widget_id",)))
