"""API keys on the profile page, in a browser: a new key is shown once (a reload neither shows it again nor
creates another), and revoking asks first: a confirm dialog with JavaScript, a confirmation page without."""

from __future__ import annotations

import re

import pytest

from tests.e2e.helpers import expect, login

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(120),
]

PROFILE = "/accounts/profile/"


def create_key(page, name: str) -> str:
    page.goto(PROFILE)
    page.get_by_label("Name of a new key").fill(name)
    page.get_by_role("button", name="Create key").click()
    expect(page).to_have_url(re.compile(rf"{PROFILE}$"))  # redirected: a reload re-sends nothing
    shown = page.get_by_test_id("new-api-key")
    expect(shown).to_have_text(re.compile(r"^sck_"))
    return shown.text_content()


def test_a_new_key_is_shown_once_and_a_reload_creates_no_other(new_page, world):
    from apps.accounts.models import ApiKey
    from apps.accounts.services import api_key_authenticate

    page = new_page()
    login(page, "viewer")
    raw = create_key(page, "ci-pipeline")
    assert api_key_authenticate(raw).name == "ci-pipeline"
    page.reload()
    expect(page.get_by_test_id("new-api-key")).to_have_count(0)
    expect(page.get_by_role("cell", name="ci-pipeline")).to_have_count(1)
    assert ApiKey.objects.count() == 1


def test_revoking_asks_with_a_dialog_when_javascript_runs(new_page, world):
    from apps.accounts.services import api_key_authenticate

    page = new_page()
    login(page, "viewer")
    raw = create_key(page, "laptop")
    revoke = page.get_by_role("button", name="Revoke…")
    page.once("dialog", lambda dialog: dialog.dismiss())
    revoke.click()
    expect(page.get_by_text("Key “laptop” revoked.")).to_have_count(0)
    assert api_key_authenticate(raw) is not None  # dismissed: nothing changed
    page.once("dialog", lambda dialog: dialog.accept())
    revoke.click()
    expect(page.get_by_role("status")).to_contain_text("Key “laptop” revoked.")
    expect(page).to_have_url(re.compile(rf"{PROFILE}$"))
    assert api_key_authenticate(raw) is None


def test_revoking_asks_on_a_page_of_its_own_without_javascript(new_page, world):
    from apps.accounts.services import api_key_authenticate

    page = new_page(java_script_enabled=False)
    login(page, "viewer")
    raw = create_key(page, "laptop")
    page.get_by_role("button", name="Revoke…").click()
    expect(page.get_by_role("heading", name="Revoke the key “laptop”?")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"{PROFILE}$"))
    assert api_key_authenticate(raw) is not None
    page.get_by_role("button", name="Revoke…").click()
    page.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status")).to_contain_text("Key “laptop” revoked.")
    assert api_key_authenticate(raw) is None
