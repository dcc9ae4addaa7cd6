"""`manage.py test_rule --entity TAG 'EXPRESSION'`: what the expression gives for one entity, and why."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from apps.catalog.models import Entity
from apps.evaluations.tester import rule_test
from apps.scorecards.language import SemVer


def _show(value) -> str:
    """JSON where it can be, so lists and objects read as they would in the API."""

    def default(item):
        if isinstance(item, datetime):
            return item.isoformat()
        if isinstance(item, timedelta):
            return f"{item.total_seconds():g}s"
        if isinstance(item, SemVer):
            return str(item)
        return repr(item)

    text = json.dumps(value, default=default, ensure_ascii=False)
    return text if len(text) <= 400 else text[:400] + f"... ({len(text)} characters)"


class Command(BaseCommand):
    help = "Evaluate one rule expression against one entity: its value, state, facts read and errors."

    def add_arguments(self, parser):
        parser.add_argument("expression", help="the rule expression, quoted for the shell")
        parser.add_argument("--entity", required=True, metavar="TAG", help="the entity's tag")
        parser.add_argument(
            "--no-collect", action="store_true", help="use the stored integration facts instead of collecting them"
        )

    def handle(self, *args, expression: str, entity: str, no_collect: bool = False, **options):
        found = Entity.objects.by_tag_or_id(entity.strip()).first()
        if found is None:
            raise CommandError(f"no entity with the tag {entity!r}")
        result = rule_test(entity=found, expression=expression, collect=not no_collect)
        if result.syntax_error is not None:
            error = result.syntax_error
            lines = expression.splitlines() or [""]
            if error.line is not None and error.column is not None and error.line <= len(lines):
                self.stderr.write(lines[error.line - 1])
                self.stderr.write(" " * (error.column - 1) + "^")
            raise CommandError(f"does not compile: {error}")
        self.stdout.write(f"entity: {found.tag}")
        if result.state in ("error", "not_configured") and not result.value_type:
            self.stdout.write(f"value: none ({result.message})")
        else:
            self.stdout.write(f"value: {_show(result.value)} ({result.value_type})")
        self.stdout.write(f"as a rule: {result.state}" + (f" ({result.message})" if result.message else ""))
        if result.reads:
            self.stdout.write("read:")
            for read in result.reads:
                shown = f"error: {read.error}" if read.error else _show(read.value)
                self.stdout.write(f"  {read.label} = {shown}")
        else:
            self.stdout.write("read: nothing outside the entity itself")
