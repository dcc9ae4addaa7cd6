from django.core.management.base import BaseCommand, CommandError

from apps.catalog.services import catalog_import
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Import catalog descriptors (OpenAPI-style YAML files, or folders of them). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="descriptor files or folders")
        parser.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
        parser.add_argument("--no-evaluate", action="store_true", help="do not re-evaluate changed entities")

    def handle(self, *args, paths, dry_run, no_evaluate=False, **options):
        try:
            report = catalog_import(paths=paths, dry_run=dry_run)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for problem in report.warnings:
            self.stderr.write(f"warning: {problem}")
        for path, failure in report.failures:
            for problem in failure.problems:
                self.stderr.write(
                    self.style.ERROR(f"error: {problem}" if problem.source else f"error: {path}: {problem}")
                )
        verb = "valid" if dry_run else "imported"
        summary = (
            f"{len(report.results)} {verb}: {report.count('created')} created, {report.count('updated')} updated, "
            f"{report.count('unchanged')} unchanged; {len(report.failures)} failed"
        )
        changed = [tag for _, tag, action in report.results if action in ("created", "updated")]
        if changed and not dry_run and not no_evaluate:
            # The command is an interface, like a view: it may start work in the layer above.
            from apps.catalog.models import Entity
            from apps.evaluations.tasks import evaluate_entity

            for entity_id in Entity.objects.filter(tag__in=changed).values_list("id", flat=True):
                evaluate_entity.delay(entity_id)
            summary += f"; {len(changed)} entities queued for evaluation"
        if report.failures:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
