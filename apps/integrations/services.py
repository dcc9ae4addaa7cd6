"""Collecting facts: ask each source for what the rules need and upsert the answers into the fact store."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from django.utils import timezone

from apps.catalog.models import Entity
from apps.integrations.collectors import COLLECTORS, Collector, FactResult, configured_sources
from apps.integrations.models import Fact
from apps.scorecards.language.functions import CATALOG

logger = logging.getLogger(__name__)

# Enough to show what went wrong without the summary growing with the catalog.
MAX_REPORTED_ERRORS = 50


class SourceSummary(TypedDict):
    facts: int
    errors: int


class CollectSummary(TypedDict):
    entities: int
    facts: int
    sources: dict[str, SourceSummary]
    errors: list[str]
    not_configured: list[str]


def _keys_by_source(
    required: Iterable[tuple[str, str]], problems: list[str], not_configured: set[str]
) -> dict[str, list[str]]:
    """Keys grouped by configured source; anything the fact table cannot hold is reported instead of stored.

    A source with no collector, or one this installation has not configured, is not asked: the rules
    that read it give "integration not configured" (apps/scorecards/language/integrations.py).
    """
    key_limit = Fact._meta.get_field("key").max_length
    grouped: dict[str, set[str]] = defaultdict(set)
    configured = configured_sources()
    for source, key in required:
        if source == CATALOG:
            continue  # the catalog's own data (deploys, dependencies...), read by the loader
        if source not in configured:
            not_configured.add(source)
        elif key_limit and len(key) > key_limit:
            problems.append(f"{source}:{key[:60]}...: keys longer than {key_limit} characters are not collected")
        else:
            grouped[source].add(key)
    return {source: sorted(keys) for source, keys in sorted(grouped.items())}


def _collect_entity(collector: Collector, entity: Entity, keys: list[str]) -> dict[str, FactResult]:
    try:
        return collector.collect(entity, keys)
    except Exception as exc:
        # Collectors turn expected failures into errors themselves; a bug must cost only its own facts.
        logger.exception("the %s collector failed for %s", collector.source, entity.tag)
        return {key: (None, f"{collector.source} collection failed: {type(exc).__name__}: {exc}") for key in keys}


def facts_collect(
    *, entity_ids: list[int], required: set[tuple[str, str]] | frozenset[tuple[str, str]], now: datetime | None = None
) -> CollectSummary:
    """Collect every required (source, key) fact for the entities and upsert them; running it again is harmless.

    Sources are asked one entity at a time with all of that entity's keys, so each repository is
    opened once and SonarQube is asked once per entity. A failure is stored as the fact's error.
    """
    now = now or timezone.now()
    problems: list[str] = []
    not_configured: set[str] = set()
    by_source = _keys_by_source(required, problems, not_configured)
    entities = list(Entity.objects.filter(id__in=entity_ids).only("id", "tag", "git_url", "git", "descriptor"))
    summary: CollectSummary = {
        "entities": len(entities),
        "facts": 0,
        "sources": {},
        "errors": sorted(set(problems)),
        "not_configured": sorted(not_configured),
    }
    facts: list[Fact] = []
    for source, keys in by_source.items():
        counts: SourceSummary = {"facts": 0, "errors": 0}
        # One collector per source and run, shared by all entities: it caches fetched clones and connections.
        collector = COLLECTORS[source]()
        for entity in entities:
            results = _collect_entity(collector, entity, keys)
            for key in keys:
                value, error = results.get(key, (None, "the collector returned no result"))
                facts.append(Fact(entity=entity, source=source, key=key, value=value, error=error, collected_at=now))
                counts["facts"] += 1
                if error:
                    counts["errors"] += 1
                    if len(summary["errors"]) < MAX_REPORTED_ERRORS:
                        summary["errors"].append(f"{entity.tag} {source}:{key}: {error}")
        summary["sources"][source] = counts
    Fact.objects.bulk_create(
        facts,
        update_conflicts=True,
        unique_fields=["entity", "source", "key"],
        update_fields=["value", "error", "collected_at"],
    )
    summary["facts"] = len(facts)
    return summary
