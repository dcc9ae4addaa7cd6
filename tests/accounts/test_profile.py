"""The profile page shows the user's own owner UUID (Datadog's API names campaign owners by it)."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_profile_shows_the_users_own_stable_owner_uuid(client, django_user_model):
    user = django_user_model.objects.create_user("ana", password="pw")
    other = django_user_model.objects.create_user("bo", password="pw")
    assert isinstance(user.uuid, uuid.UUID) and user.uuid != other.uuid
    client.force_login(user)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert f'<code data-testid="owner-uuid">{user.uuid}</code>' in page
    again = client.get(reverse("accounts:profile")).content.decode()
    assert str(user.uuid) in again and str(other.uuid) not in again
    user.refresh_from_db()
    assert f"{user.uuid}" in page  # stable: the stored value is what the page showed
