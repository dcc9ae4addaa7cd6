from django.core.management.base import BaseCommand, CommandError

from apps.catalog.services import catalog_import
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Import catalog descriptors (OpenAPI-style YAML files, or folders of them). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="descriptor files or folders")
        parser.add_argument("--dry-run", action="store_true", help="validate only; write nothing")

    def handle(self, *args, paths, dry_run, **options):
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
        changed = report.count("created") + report.count("updated")
        if changed and not dry_run:
            summary += f"; {changed} entities queued for re-scoring"
        if report.failures:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
