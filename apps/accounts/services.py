from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApiKey, User
from apps.accounts.roles import ADMIN, APPROVER, EDITOR, ROLES
from apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError


@transaction.atomic
def user_create_with_role(*, username: str, role: str, email: str = "", password: str | None = None) -> User:
    """Create (or fetch) a user and put them in one role; Editors and Admins may use the admin site."""
    if role not in ROLES:
        raise ApplicationError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
    user.is_staff = user.is_staff or role in (EDITOR, APPROVER, ADMIN)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    return user


KEY_PREFIX = "sck_"
# Writing last-used on every request would turn each API read into a write; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    # Keys are 256 random bits, so a fast hash is as safe as a slow one and keeps lookups cheap.
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, user: User, name: str) -> tuple[ApiKey, str]:
    """Create a key for `user`; returns (key, the raw key). The raw key is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("an API key needs a name", extra={"field": "name"})
    if len(name) > 100:
        raise ApplicationError("an API key's name has at most 100 characters", extra={"field": "name"})
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(user=user, name=name, prefix=raw[:12], last4=raw[-4:], digest=_digest(raw))
    return key, raw


def api_key_matches(*, key: ApiKey, raw: str) -> bool:
    """Whether `raw` is the clear text of `key` (compared in constant time)."""
    return hmac.compare_digest(key.digest, _digest(raw))


def api_key_revoke(*, key_id: int, by: User) -> ApiKey:
    """Revoke a key: its owner may, and so may anyone allowed to change API keys. Conditional, so idempotent."""
    key = ApiKey.objects.select_related("user").filter(pk=key_id).first()
    if key is None:
        raise NotFoundError("that API key does not exist")
    if key.user_id != by.pk and not by.has_perm("accounts.change_apikey"):
        raise PermissionDeniedError("you can only revoke your own API keys")
    ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def api_key_authenticate(raw: str, *, now=None) -> ApiKey | None:
    """The active key (with its user) for a raw key, or None. Records when it was last used."""
    if not raw or not raw.startswith(KEY_PREFIX):
        return None
    key = ApiKey.objects.active().select_related("user").filter(digest=_digest(raw)).first()
    if key is None or not key.user.is_active:
        return None
    now = now or timezone.now()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
