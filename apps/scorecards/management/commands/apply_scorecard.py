from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ValidationFailed
from apps.scorecards.services import scorecard_apply_descriptor


class Command(BaseCommand):
    help = "Create or update a scorecard from its YAML descriptor (scorecards as code)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="descriptor file, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")

    def handle(self, *args, path, dry_run, **options):
        if path == "-":
            import sys

            text, source = sys.stdin.read(), "<stdin>"
        else:
            try:
                text, source = Path(path).read_text(encoding="utf-8"), path
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: cannot read: {exc}") from exc
        try:
            result = scorecard_apply_descriptor(text=text, source=source, dry_run=dry_run)
        except ValidationFailed as exc:
            for problem in exc.warnings:
                self.stderr.write(f"warning: {problem}")
            for problem in exc.problems:
                self.stderr.write(self.style.ERROR(f"error: {problem}"))
            raise CommandError(f"{len(exc.problems)} error(s); nothing was written") from exc
        for problem in result.warnings:
            self.stderr.write(f"warning: {problem}")
        if dry_run:
            target = f"would update {result.scorecard.tag}" if result.scorecard else "would create a new scorecard"
            self.stdout.write(self.style.SUCCESS(f"valid: {target}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"{result.scorecard.tag}: {result.action}"))
        for label, titles in (
            ("created", result.rules_created),
            ("updated", result.rules_updated),
            ("deleted", result.rules_deleted),
        ):
            for title in titles:
                self.stdout.write(f"  rule {'would be ' if dry_run else ''}{label}: {title}")
        if dry_run:
            return
        if result.action != "unchanged" and not result.scorecard.draft:
            self.stdout.write("every entity on it is being re-scored on the workers")
