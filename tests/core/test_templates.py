"""Templates never read through a relation in a filter argument (issue 10).

Django forgives `{{ event.actor.username }}` when `actor` is None, but not `{{ x|default:event.actor.username }}`:
a filter's argument is resolved strictly (in `{% if %}` and `{% with %}` too), and a failed lookup raises
VariableDoesNotExist, a 500. That is how `/exemptions/?tab=history` broke on every system event (an expiry has
no actor). A filter argument may name a context variable or one attribute of it; anything deeper goes through
a model property or `{% firstof %}`, which forgive.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

TEMPLATE_DIRS = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
# `|filter:var.attr.attr…`: an unquoted argument with two lookups or more past the variable.
DEEP_ARGUMENT = re.compile(r"\|\s*\w+\s*:\s*([A-Za-z_]\w*(?:\.\w+){2,})")


def deep_filter_arguments(source: str) -> list[str]:
    return DEEP_ARGUMENT.findall(source)


def test_the_check_finds_a_deep_filter_argument():
    source = '<td>{{ e.actor_label|default:e.actor.username|default:"system" }}</td>{% if a|add:b.c.d %}{% endif %}'
    assert deep_filter_arguments(source) == ["e.actor.username", "b.c.d"]
    forgiving = '{{ e.actor.username|default:e.label }}{% firstof e.actor.username "x" %}{{ d|date:"Y.m.d" }}'
    assert deep_filter_arguments(forgiving) == []


def test_no_template_reads_through_a_relation_in_a_filter_argument():
    offenders = {}
    for directory in TEMPLATE_DIRS:
        for path in sorted(directory.rglob("*.html")):
            found = deep_filter_arguments(path.read_text(encoding="utf-8"))
            if found:
                offenders[str(path.relative_to(directory))] = found
    assert offenders == {}
