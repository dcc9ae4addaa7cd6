import pytest

from apps.accounts.models import User
from tests.campaigns.world import build_world


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def owner(db):
    return User.objects.create_user(username="olivia", email="olivia@example.com")
