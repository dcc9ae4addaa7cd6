from django.core.management.base import BaseCommand

from apps.exemptions.services import exemptions_expire


class Command(BaseCommand):
    help = "Mark approved exemptions past their end date as expired (and re-score their entities)."

    def handle(self, *args, **options):
        expired = exemptions_expire()
        self.stdout.write(f"{len(expired)} exemption(s) expired")
