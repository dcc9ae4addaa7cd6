"""Per-operation permissions: each API view names the Django permission every HTTP method needs."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


class RequiresPermission(BasePermission):
    """Authenticated, and holding `view.required_permissions[method]` (DESIGN §9: View / Edit / Configure).

    A method missing from the map is refused, so a new method cannot be left open by mistake.
    """

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        method = request.method.lower()
        if method not in view.http_method_names or not hasattr(view, method):
            # No such operation here: let the view answer 405 rather than a misleading 403.
            return True
        needed = getattr(view, "required_permissions", {}).get(request.method)
        if needed is None:
            # HEAD and OPTIONS read what GET reads.
            needed = view.required_permissions.get("GET") if request.method in ("HEAD", "OPTIONS") else None
        if needed is None:
            return False
        self.message = f"Your API key's user lacks the permission {needed!r} for this operation."
        return user.has_perm(needed)
