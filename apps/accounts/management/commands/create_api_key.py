from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.accounts.roles import ROLES
from apps.accounts.services import api_key_create, user_create_with_role
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an API key for USERNAME (creating the user with --role if missing) and print only the key."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="what the key is for (default: cli)")
        parser.add_argument(
            "--role", choices=ROLES, help="role for a new user (default Viewer); added to an existing one"
        )

    def handle(self, *args, username, name, role=None, **options):
        try:
            user = User.objects.filter(username=username).first()
            if user is None or role:
                user = user_create_with_role(username=username, role=role or "Viewer")
            _, raw = api_key_create(user=user, name=name)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw)
