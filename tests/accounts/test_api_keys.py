import re
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.accounts.authentication import BearerApiKeyAuthentication
from apps.accounts.models import ApiKey, User
from apps.accounts.services import (
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    user_create_with_role,
)
from apps.accounts.views import NEW_KEY_COOKIE
from apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer():
    return user_create_with_role(username="ana", role="Viewer", password="pw-12345678")


def test_a_key_is_stored_only_as_a_hash(viewer):
    key, raw = api_key_create(user=viewer, name="ci")
    assert raw.startswith("sck_") and len(raw) > 40
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert raw not in [str(v) for v in stored.values()]
    assert (key.prefix, key.last4) == (raw[:12], raw[-4:])
    assert len(key.digest) == 64 and key.digest != raw


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_key_needs_a_sensible_name(viewer, name):
    with pytest.raises(ApplicationError):
        api_key_create(user=viewer, name=name)
    assert not ApiKey.objects.exists()


def test_authentication_finds_the_user_and_records_use(viewer):
    key, raw = api_key_create(user=viewer, name="ci")
    now = timezone.now()
    found = api_key_authenticate(raw, now=now)
    assert found.user == viewer and ApiKey.objects.get().last_used_at == now
    # within a minute, no write
    api_key_authenticate(raw, now=now + timedelta(seconds=30))
    assert ApiKey.objects.get().last_used_at == now
    api_key_authenticate(raw, now=now + timedelta(minutes=2))
    assert ApiKey.objects.get().last_used_at == now + timedelta(minutes=2)


@pytest.mark.parametrize("raw", ["", "nope", "sck_wrong", "Bearer x"])
def test_unknown_keys_do_not_authenticate(viewer, raw):
    api_key_create(user=viewer, name="ci")
    assert api_key_authenticate(raw) is None


def test_revoked_keys_and_inactive_users_do_not_authenticate(viewer):
    key, raw = api_key_create(user=viewer, name="ci")
    User.objects.filter(pk=viewer.pk).update(is_active=False)
    assert api_key_authenticate(raw) is None
    User.objects.filter(pk=viewer.pk).update(is_active=True)
    api_key_revoke(key_id=key.pk, by=viewer)
    assert api_key_authenticate(raw) is None
    first_revocation = ApiKey.objects.get().revoked_at
    api_key_revoke(key_id=key.pk, by=viewer)  # idempotent
    assert ApiKey.objects.get().revoked_at == first_revocation


def test_only_the_owner_or_an_admin_revokes(viewer):
    key, _ = api_key_create(user=viewer, name="ci")
    other = user_create_with_role(username="bo", role="Editor")
    with pytest.raises(PermissionDeniedError):
        api_key_revoke(key_id=key.pk, by=other)
    admin = user_create_with_role(username="root", role="Admin")
    assert api_key_revoke(key_id=key.pk, by=admin).revoked_at is not None
    with pytest.raises(NotFoundError):
        api_key_revoke(key_id=999999, by=admin)


class Probe(APIView):
    authentication_classes = [BearerApiKeyAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user": request.user.username, "key": request.auth.name})


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("Bearer", 401), ("Bearer sck_not-a-key", 401), ("Basic abc", 401), ("Token x", 401)],
)
def test_bearer_authentication_refuses_bad_credentials(viewer, header, status):
    api_key_create(user=viewer, name="ci")
    request = (
        APIRequestFactory().get("/probe", HTTP_AUTHORIZATION=header) if header else APIRequestFactory().get("/probe")
    )
    response = Probe.as_view()(request)
    assert response.status_code == status
    assert response["WWW-Authenticate"] == "Bearer"


def test_bearer_authentication_acts_as_the_keys_user(viewer):
    _, raw = api_key_create(user=viewer, name="ci")
    response = Probe.as_view()(APIRequestFactory().get("/probe", HTTP_AUTHORIZATION=f"Bearer {raw}"))
    assert response.status_code == 200 and response.data == {"user": "ana", "key": "ci"}


def test_create_api_key_command_prints_only_the_key_and_creates_the_user(capsys):
    call_command("create_api_key", "robot", "--name", "deploy", "--role", "Editor")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("sck_") and "\n" not in raw
    key = api_key_authenticate(raw)
    assert (key.user.username, key.name) == ("robot", "deploy")
    assert key.user.has_perm("scorecards.change_scorecard")
    call_command("create_api_key", "robot")
    second = capsys.readouterr().out.strip()
    assert api_key_authenticate(second).name == "cli" and second != raw
    assert User.objects.filter(username="robot").count() == 1


def test_create_api_key_command_for_a_new_user_defaults_to_viewer(capsys):
    call_command("create_api_key", "reader")
    user = api_key_authenticate(capsys.readouterr().out.strip()).user
    assert list(user.groups.values_list("name", flat=True)) == ["Viewer"]
    with pytest.raises(CommandError):
        call_command("create_api_key", "reader", "--name", " ")


def new_key_on_the_page(html):
    match = re.search(r'data-testid="new-api-key">([^<]+)<', html)
    return match.group(1) if match else None


def test_creating_a_key_redirects_and_the_next_page_shows_it_once(client, viewer):
    client.force_login(viewer)
    created = client.post(reverse("accounts:api_key_new"), {"name": "laptop"})
    assert created.status_code == 302 and created["Location"] == reverse("accounts:profile")
    shown = client.get(created["Location"])
    html = shown.content.decode()
    raw = new_key_on_the_page(html)
    assert raw and raw == shown.context["new_key"] and "“laptop”" in html
    assert api_key_authenticate(raw).name == "laptop"
    # A reload neither shows the key again nor creates another one.
    again = client.get(reverse("accounts:profile")).content.decode()
    assert new_key_on_the_page(again) is None and raw not in again
    assert raw[:12] in again and "active" in again
    assert ApiKey.objects.count() == 1


def test_the_clear_key_is_kept_nowhere_on_the_server(client, viewer):
    client.force_login(viewer)
    created = client.post(reverse("accounts:api_key_new"), {"name": "ci"})
    cookie = created.cookies[NEW_KEY_COOKIE]
    assert cookie["httponly"] and cookie["path"] == reverse("accounts:profile") and cookie["max-age"] == 300
    waiting = [(s.session_data, str(s.get_decoded())) for s in Session.objects.all()]  # before the redirected GET
    raw = new_key_on_the_page(client.get(reverse("accounts:profile")).content.decode())
    assert raw and raw not in cookie.value
    # Neither while waiting for the redirected GET nor afterwards: the session holds only a random pad.
    assert any("accounts.new_api_key" in decoded for _, decoded in waiting)
    after = [(s.session_data, str(s.get_decoded())) for s in Session.objects.all()]
    for data, decoded in waiting + after:
        assert raw not in data and raw not in decoded
    assert not any("accounts.new_api_key" in decoded for _, decoded in after)
    stored = ApiKey.objects.filter(name="ci").values().get()
    assert raw not in [str(value) for value in stored.values()]


def test_the_key_is_shown_only_with_both_halves_and_only_to_its_creator(client, viewer):
    client.force_login(viewer)
    created = client.post(reverse("accounts:api_key_new"), {"name": "ci"})
    sealed = created.cookies[NEW_KEY_COOKIE].value
    # A tampered cookie shows nothing (and does not fail the page).
    client.cookies[NEW_KEY_COOKIE] = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 200 and new_key_on_the_page(response.content.decode()) is None
    assert response.cookies[NEW_KEY_COOKIE].value == ""  # and the cookie is dropped
    # The cookie alone, once the session's pad is used up, shows nothing either.
    client.post(reverse("accounts:api_key_new"), {"name": "ci-2"})
    replay = client.cookies[NEW_KEY_COOKIE].value
    assert new_key_on_the_page(client.get(reverse("accounts:profile")).content.decode())
    client.cookies[NEW_KEY_COOKIE] = replay
    assert new_key_on_the_page(client.get(reverse("accounts:profile")).content.decode()) is None


def test_a_key_without_a_name_is_refused_with_a_message(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("accounts:api_key_new"), {"name": " "}, follow=True)
    assert "an API key needs a name" in response.content.decode()
    assert new_key_on_the_page(response.content.decode()) is None and not ApiKey.objects.exists()


def test_revoking_asks_for_confirmation_first(client, viewer):
    key, raw = api_key_create(user=viewer, name="laptop")
    client.force_login(viewer)
    profile = client.get(reverse("accounts:profile")).content.decode()
    confirm_url = reverse("accounts:api_key_revoke", args=[key.pk])
    assert f'<a href="{confirm_url}" role="button"' in profile and "Revoke…</a>" in profile
    assert f'hx-post="{confirm_url}"' in profile and 'hx-confirm="Revoke the key “laptop”?' in profile
    page = client.get(confirm_url)
    html = page.content.decode()
    assert page.status_code == 200 and "Revoke the key “laptop”?" in html
    assert f'<form method="post" action="{confirm_url}">' in html and "Revoke key</button>" in html
    assert f'href="{reverse("accounts:profile")}"' in html  # cancel
    assert ApiKey.objects.get().revoked_at is None and api_key_authenticate(raw) is not None  # a GET changes nothing
    done = client.post(confirm_url, follow=True)
    assert done.redirect_chain == [(reverse("accounts:profile"), 302)]
    content = done.content.decode()
    assert "Key “laptop” revoked." in content and "revoked " in content
    assert api_key_authenticate(raw) is None


def test_revoking_through_htmx_sends_the_page_back_to_the_profile(client, viewer):
    key, raw = api_key_create(user=viewer, name="laptop")
    client.force_login(viewer)
    response = client.post(reverse("accounts:api_key_revoke", args=[key.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("accounts:profile")
    assert api_key_authenticate(raw) is None
    assert "Key “laptop” revoked." in client.get(reverse("accounts:profile")).content.decode()


def test_the_confirmation_page_is_only_for_ones_own_active_keys(client, viewer):
    other = user_create_with_role(username="bo", role="Viewer")
    theirs, _ = api_key_create(user=other, name="bos-key")
    mine, _ = api_key_create(user=viewer, name="mine")
    api_key_revoke(key_id=mine.pk, by=viewer)
    client.force_login(viewer)
    assert client.get(reverse("accounts:api_key_revoke", args=[theirs.pk])).status_code == 404
    response = client.get(reverse("accounts:api_key_revoke", args=[mine.pk]), follow=True)
    assert response.redirect_chain == [(reverse("accounts:profile"), 302)]
    assert "Key “mine” is already revoked." in response.content.decode()
    assert client.post(reverse("accounts:api_key_revoke", args=[theirs.pk])).status_code == 302
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None  # refused by the service, told as a message


def test_profile_page_needs_login_and_lists_only_own_keys(client, viewer):
    assert client.get(reverse("accounts:profile")).status_code == 302
    other = user_create_with_role(username="bo", role="Viewer")
    api_key_create(user=other, name="bos-key")
    client.force_login(viewer)
    assert "bos-key" not in client.get(reverse("accounts:profile")).content.decode()


def test_profile_query_count_does_not_grow_with_keys(client, viewer):
    client.force_login(viewer)
    api_key_create(user=viewer, name="one")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("accounts:profile"))
    for index in range(15):
        api_key_create(user=viewer, name=f"k{index}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("accounts:profile"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_admin_creates_a_key_and_shows_it_once(client, viewer):
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    response = client.post(reverse("admin:accounts_apikey_add"), {"user": viewer.pk, "name": "from-admin"}, follow=True)
    message = next(str(m) for m in response.context["messages"])
    raw = message.split(": ", 1)[1].split(" ")[0]
    assert api_key_authenticate(raw).user == viewer
    page = client.get(reverse("admin:accounts_apikey_change", args=[ApiKey.objects.get().pk])).content.decode()
    assert raw not in page
