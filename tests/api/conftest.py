"""Fixtures shared by both APIs' tests: users of each role holding an API key, and clients that send it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.roles import ADMIN, APPROVER, EDITOR, VIEWER
from apps.accounts.services import api_key_create, user_create_with_role


@dataclass
class KeyHolder:
    user: User
    key: str


@pytest.fixture
def key_for(db):
    """`key_for("Editor")` makes a user with that role (or no role: None) and an API key for them."""
    made = {}

    def make(role: str | None, username: str | None = None) -> KeyHolder:
        name = username or f"{(role or 'norole').lower()}-{len(made)}"
        if role is None:
            user = User.objects.create_user(username=name, email=f"{name}@example.com")
        else:
            user = user_create_with_role(username=name, role=role, email=f"{name}@example.com")
        _, raw = api_key_create(user=user, name=f"{name} key")
        made[name] = KeyHolder(user=user, key=raw)
        return made[name]

    return make


@pytest.fixture
def viewer(key_for) -> KeyHolder:
    return key_for(VIEWER, "viewer")


@pytest.fixture
def editor(key_for) -> KeyHolder:
    return key_for(EDITOR, "editor")


@pytest.fixture
def approver(key_for) -> KeyHolder:
    return key_for(APPROVER, "approver")


@pytest.fixture
def admin(key_for) -> KeyHolder:
    return key_for(ADMIN, "admin")


@pytest.fixture
def bearer():
    """`bearer(holder)` is an APIClient sending `Authorization: Bearer <key>`; `bearer(None)` sends nothing."""

    def make(holder: KeyHolder | None) -> APIClient:
        client = APIClient()
        if holder is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {holder.key}")
        return client

    return make
