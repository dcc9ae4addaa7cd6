from django.core.management.base import BaseCommand, CommandError

from apps.evaluations.services import scorecard_evaluate
from apps.scorecards.models import Scorecard


class Command(BaseCommand):
    help = "Evaluate scorecards now, synchronously, and store the results (drafts only when named)."

    def add_arguments(self, parser):
        parser.add_argument("--scorecard", metavar="TAG", help="evaluate only this scorecard (drafts too)")

    def handle(self, *args, scorecard=None, **options):
        if scorecard:
            scorecards = list(Scorecard.objects.filter(tag=scorecard))
            if not scorecards:
                raise CommandError(f"scorecard {scorecard!r} does not exist")
        else:
            scorecards = list(Scorecard.objects.published().order_by("tag"))
        for item in scorecards:
            summary = scorecard_evaluate(scorecard=item)
            rate = summary.rule_evaluations / summary.seconds if summary.seconds else 0
            self.stdout.write(
                f"{item.tag}: {summary.entities_in_scope} entities in scope, {summary.rule_evaluations} rule "
                f"evaluations, {summary.results_written} results changed, {summary.seconds:.2f}s ({rate:,.0f}/s)"
            )
