"""`manage.py demo_login`: where to log in after `make run`, and with which demo accounts."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from apps.accounts.models import User

# Kept in step with load_demo's DEMO_USERS: (username, what the role may do). Passwords equal usernames.
ROLE_USERS = (
    ("viewer", "Viewer: browses scores, requests exemptions"),
    ("editor", "Editor: edits the catalog and scorecards"),
    ("approver", "Approver: approves, denies and revokes exemptions"),
)


class Command(BaseCommand):
    help = "Print the admin URL and the demo logins created by load_demo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host: str, port: str, **options) -> None:
        url = f"http://{host}:{port}/admin/"
        existing = set(
            User.objects.filter(username__in=["admin", *(u for u, _ in ROLE_USERS)]).values_list("username", flat=True)
        )
        if "admin" not in existing:
            self.stdout.write(f"Admin: {url}  (no demo users: run `manage.py load_demo` or `createsuperuser`)")
            return
        self.stdout.write(self.style.SUCCESS(f"Admin: {url}  user admin / password admin"))
        for username, label in ROLE_USERS:
            if username in existing:
                self.stdout.write(f"  {label}: user {username} / password {username}")
