from django.core.management.base import BaseCommand, CommandError

from apps.scorecards.descriptors import scorecard_export
from apps.scorecards.models import Scorecard


class Command(BaseCommand):
    help = "Print a scorecard's YAML descriptor; applying it back changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("tag")

    def handle(self, *args, tag, **options):
        scorecard = Scorecard.objects.filter(tag=tag).first()
        if scorecard is None:
            raise CommandError(f"scorecard {tag!r} does not exist")
        self.stdout.write(scorecard_export(scorecard), ending="")
