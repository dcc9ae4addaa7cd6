"""Access rules shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.mixins import AccessMixin


class ReadAccessMixin(AccessMixin):
    """Pages that only read: open to everyone when PUBLIC_READ is on, else to signed-in users."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.PUBLIC_READ and not request.user.is_authenticated:
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)
