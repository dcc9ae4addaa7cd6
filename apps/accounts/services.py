from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.roles import ADMIN, APPROVER, EDITOR, ROLES
from apps.core.errors import ApplicationError


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
