"""The dashboard needs at least the Viewer role (issue 13), like the API; PUBLIC_READ opens its read pages.

Every dashboard URL comes from the crawl's URL discovery (`tests/test_crawl.py`), so a page routed later is
checked here too: a user without a role gets the 403 page that names the role and whom to ask, a Viewer reads
the page, and with PUBLIC_READ anonymous and role-less users read what a Viewer reads.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.access import DASHBOARD_PERMISSION
from apps.accounts.models import ApiKey
from apps.accounts.roles import ADMIN, ROLES, VIEWER
from apps.accounts.services import api_key_create, user_create_with_role
from apps.campaigns.models import Campaign
from apps.exemptions.services import exemption_request
from tests.factories import EntityFactory, LevelFactory, RuleFactory, ScorecardFactory, UserFactory
from tests.test_crawl import NO_ROLE, Route, World, dashboard_routes, route_urls

# Not dashboard pages: signing in and out and passwords (Django's own), one's own account and API keys (a user
# without a role may still see who they are), and badges, public by design (READMEs show them).
AUTH_ROUTES = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
OWN_ACCOUNT_ROUTES = {"accounts:profile", "accounts:api_key_new", "accounts:api_key_revoke"}
PUBLIC_ROUTES = {"reports:badge_svg", "reports:badge_json"}
# Pages PUBLIC_READ does not open: the exemptions page names people and their reasons, and its actions write.
SIGNED_IN_ROUTES = {
    "exemptions:list",
    "exemptions:request",
    "exemptions:approve",
    "exemptions:deny",
    "exemptions:revoke",
    "evaluations:evaluate",
}
POST_ONLY = {"evaluations:evaluate", "exemptions:request", "exemptions:approve", "exemptions:deny", "exemptions:revoke"}


def dashboard() -> list[Route]:
    return [r for r in dashboard_routes() if r.name not in AUTH_ROUTES | OWN_ACCOUNT_ROUTES | PUBLIC_ROUTES]


@pytest.fixture
def world(db) -> World:
    users = {role: user_create_with_role(username=role.lower(), role=role) for role in ROLES}
    users[NO_ROLE] = UserFactory(username="norole")
    scorecard = ScorecardFactory(tag="sc", name="Sc", exemptions_enabled=True)
    level = LevelFactory(scorecard=scorecard, name="Bronze", rank=1)
    rule = RuleFactory(scorecard=scorecard, title="Fails", expression="false", level=level)
    entity = EntityFactory(tag="svc")
    exemption = exemption_request(scorecard=scorecard, entity=entity, rule=rule, reason="r", by=users[VIEWER])
    campaign = Campaign.objects.create(key="camp", name="Camp", owner=users[ADMIN], start_date=timezone.now())
    api_key_create(user=users[VIEWER], name="k")
    return World(
        name="access",
        users=users,
        scorecards=[scorecard.tag],
        entities=[entity.tag],
        campaigns=[campaign.key],
        exemptions=[exemption.pk],
        api_keys=list(ApiKey.objects.values_list("pk", flat=True)),
    )


def url_of(world: World, route: Route) -> str:
    return route_urls(world, route)[0][0]  # the first real object's URL


def request(client: Client, route: Route, url: str):
    return client.post(url, {"reason": "x"}) if route.name in POST_ONLY else client.get(url)


def client_as(world: World, who: str | None) -> Client:
    client = Client()
    if who is not None:
        client.force_login(world.users[who])
    return client


def is_no_role_page(response) -> bool:
    return response.status_code == 403 and b'data-testid="no-role"' in response.content


def test_the_dashboard_routes_are_all_classified():
    names = {r.name for r in dashboard_routes()}
    assert AUTH_ROUTES | OWN_ACCOUNT_ROUTES | PUBLIC_ROUTES | SIGNED_IN_ROUTES <= names
    assert len(dashboard()) >= 15  # pages, reports, campaigns, exemptions, actions


def test_every_role_holds_the_dashboard_permission(world):
    for role in ROLES:
        assert world.users[role].has_perm(DASHBOARD_PERMISSION), role
    assert not world.users[NO_ROLE].has_perm(DASHBOARD_PERMISSION)


def test_a_user_without_a_role_gets_403_on_every_dashboard_url(world, settings):
    settings.PUBLIC_READ = False
    settings.ACCESS_REQUEST_CONTACT = "#platform on chat"
    client = client_as(world, NO_ROLE)
    wrong = {}
    for route in dashboard():
        url = url_of(world, route)
        response = request(client, route, url)
        if not is_no_role_page(response):
            wrong[url] = response.status_code
    assert not wrong, f"these answered a user without a role with something else than the 403 page: {wrong}"
    html = client.get("/").content.decode()
    assert "You need the Viewer role to see this page" in html
    assert '<strong data-testid="access-contact">#platform on chat</strong>' in html


def test_the_403_page_names_the_admins_to_ask(world, settings):
    settings.PUBLIC_READ = False
    settings.ACCESS_REQUEST_CONTACT = ""
    world.users[ADMIN].email = "lead@example.com"
    world.users[ADMIN].save()
    response = client_as(world, NO_ROLE).get("/reports/")
    assert is_no_role_page(response)
    admins = response.content.decode().split('data-testid="admins"')[1].split("</ul>")[0]
    assert "lead@example.com" in admins and "mailto:lead@example.com" in admins
    assert "viewer" not in admins  # only Admins


def test_a_viewer_reads_every_dashboard_page(world, settings):
    settings.PUBLIC_READ = False
    client = client_as(world, VIEWER)
    wrong = {}
    for route in dashboard():
        url = url_of(world, route)
        if route.name in POST_ONLY:
            response = request(client, route, url)
            if is_no_role_page(response):  # a Viewer may still lack the action's own permission (403)
                wrong[url] = response.status_code
            continue
        for suffix in ("", "?format=csv") if route.name.startswith("reports:") else ("",):
            response = client.get(url + suffix)
            if response.status_code != 200:
                wrong[url + suffix] = response.status_code
    assert not wrong, f"a Viewer could not read: {wrong}"


@pytest.mark.parametrize("who", [None, NO_ROLE], ids=["anonymous", "no role"])
def test_public_read_lets_anyone_read_as_a_viewer(world, settings, who):
    settings.PUBLIC_READ = True
    client = client_as(world, who)
    wrong = {}
    for route in dashboard():
        url = url_of(world, route)
        response = request(client, route, url)
        if route.name in SIGNED_IN_ROUTES:
            expected = "login" if who is None else "403"
            ok = response.status_code == 302 if who is None else is_no_role_page(response)
            if not ok:
                wrong[url] = f"{response.status_code}, expected {expected}"
        elif response.status_code != 200:
            wrong[url] = response.status_code
    assert not wrong, f"with PUBLIC_READ: {wrong}"


def test_without_public_read_anonymous_users_are_sent_to_sign_in(world, settings):
    settings.PUBLIC_READ = False
    client = Client()
    for route in dashboard():
        url = url_of(world, route)
        response = request(client, route, url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_a_user_without_a_role_still_reaches_their_profile_and_public_badges(world, settings):
    settings.PUBLIC_READ = False
    client = client_as(world, NO_ROLE)
    assert client.get("/accounts/profile/").status_code == 200
    assert client.get("/badges/sc/svc.svg").status_code in (200, 404)  # public: never the 403 page
    assert not is_no_role_page(client.get("/badges/sc/svc.json"))
