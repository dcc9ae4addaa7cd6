"""Reading the fact store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.integrations.models import Fact

FactMap = dict[tuple[str, str], tuple[Any, str]]


def facts_for_entities(entity_ids: Iterable[int]) -> dict[int, FactMap]:
    """Per entity, (source, key) -> (value, error), the shape `EntityFacts.facts` takes. One query.

    Every requested entity is present, with an empty map when nothing was collected for it.
    """
    ids = list(entity_ids)
    facts: dict[int, FactMap] = {entity_id: {} for entity_id in ids}
    rows = Fact.objects.filter(entity_id__in=ids).values_list("entity_id", "source", "key", "value", "error")
    for entity_id, source, key, value, error in rows.order_by():
        facts[entity_id][(source, key)] = (value, error)
    return facts
