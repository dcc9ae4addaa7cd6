import pytest
from django.contrib.auth.models import Group

from apps.accounts.roles import ROLE_PERMISSIONS
from apps.accounts.services import user_create_with_role
from apps.core.errors import ApplicationError

pytestmark = pytest.mark.django_db


def perms(group_name):
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_migration_creates_the_four_roles_with_their_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Viewer", "Editor", "Approver", "Admin"}
    for role in ("Viewer", "Editor", "Approver"):
        assert perms(role) == set(ROLE_PERMISSIONS[role])


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (
            "Viewer",
            ["scorecards.view_scorecard", "exemptions.request_exemption", "campaigns.view_campaign"],
            ["scorecards.change_scorecard", "campaigns.add_campaign", "campaigns.change_campaign"],
        ),
        (
            "Editor",
            [
                "scorecards.change_scorecard",
                "catalog.add_entity",
                "campaigns.add_campaign",
                "campaigns.change_campaign",
                "campaigns.delete_campaign",
            ],
            ["exemptions.configure_exemptions"],
        ),
        ("Approver", ["exemptions.configure_exemptions", "catalog.view_entity"], ["catalog.change_entity"]),
        (
            "Admin",
            [
                "exemptions.configure_exemptions",
                "scorecards.delete_scorecard",
                "accounts.add_user",
                "campaigns.delete_campaign",
            ],
            [],
        ),
    ],
)
def test_each_role_can_do_what_it_should_and_no_more(role, allowed, denied):
    user = user_create_with_role(username=f"u-{role}", role=role)
    for perm in allowed:
        assert user.has_perm(perm), perm
    for perm in denied:
        assert not user.has_perm(perm), perm


def test_staff_flag_follows_the_role():
    assert not user_create_with_role(username="v", role="Viewer").is_staff
    assert user_create_with_role(username="e", role="Editor").is_staff


def test_unknown_role_is_refused():
    with pytest.raises(ApplicationError, match="unknown role"):
        user_create_with_role(username="x", role="Overlord")
