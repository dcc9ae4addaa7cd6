"""Evaluation benchmark: 10,000 entities and a 30-rule scorecard, and list-heavy rules.

Reports rule evaluations per second for the evaluator alone (in memory, one core) and for
`evaluate` end to end (loading facts, evaluating, writing results and scores), first run and a
second run with nothing changed. Then the list-heavy case: 10 rules, each a lambda over a 100-item
list in custom data (`custom("items").filter(x => x.score > 50).length > 40`), over 2,000 entities.
Runs in a throwaway test database, so it never touches real data:

    .venv/bin/python benchmarks/evaluation.py [--entities 10000] [--rules 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scorecards .venv/bin/python benchmarks/evaluation.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scorecards_site.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

GROUPS = ["tier-1", "tier-2", "tier-3", "python", "go", "java", "node", "payments", "search", "platform"]


def scorecard_yaml(rules: int) -> str:
    lines = [
        "tag: bench",
        "name: Benchmark",
        "ladder:",
        "  levels:",
        "    - {name: Bronze, rank: 1}",
        "    - {name: Silver, rank: 2}",
        "    - {name: Gold, rank: 3}",
        "rules:",
    ]
    levels = ["Bronze", "Silver", "Gold"]
    for i in range(rules):
        # A comparison plus a group check: the "simple rule" of the target.
        lines += [
            f"  - title: Rule {i}",
            f'    expression: custom("score") >= {i * 3} and entity.hasGroup("{GROUPS[i % len(GROUPS)]}")',
            f"    weight: {1 + i % 3}",
            f"    level: {levels[i % 3]}",
        ]
    return "\n".join(lines) + "\n"


LIST_RULES = [
    'custom("items").filter(x => x.score > 50).length > 40',
    'custom("items").any(x => x.name == "item-99")',
    'custom("items").all(x => x.score >= 0)',
    'custom("items").map(x => x.score).average() >= 45',
    'custom("items").none(x => x.owner == null)',
    'custom("items").count(x => x.name.startsWith("item-1")) >= 10',
    'custom("items").map(x => x.score).max() > 90',
    'custom("items").filter((x) => x.tags.any(t => t == "pci")).length < 50',
    'custom("items").map(x => x.owner).distinct().length <= 5',
    'custom("items").map(x => x.score).sum() > 4000',
]


def list_scorecard_yaml() -> str:
    lines = ["tag: bench-lists", "name: Benchmark lists", "rules:"]
    for i, expression in enumerate(LIST_RULES):
        lines += [f"  - title: List rule {i}", f"    expression: '{expression}'", "    weight: 1"]
    return "\n".join(lines) + "\n"


def build_lists(entities: int):
    """2,000 entities each with a 100-item list of objects, and the 10-rule list scorecard."""
    from apps.catalog.models import CustomData, Entity
    from apps.scorecards.services import scorecard_apply_descriptor

    rng = random.Random(11)
    Entity.objects.bulk_create(
        [Entity(tag=f"lst-{i:05d}", name=f"List service {i}", groups=["lists"]) for i in range(entities)],
        batch_size=2000,
    )
    ids = list(Entity.objects.filter(tag__startswith="lst-").order_by("id").values_list("id", flat=True))
    owners = ["ana", "bo", "cy", "dee", "eli"]
    CustomData.objects.bulk_create(
        [
            CustomData(
                entity_id=entity_id,
                key="items",
                value=[
                    {
                        "name": f"item-{j}",
                        "score": rng.randint(0, 100),
                        "owner": rng.choice(owners),
                        "tags": rng.sample(["pci", "public", "internal", "beta"], 2),
                    }
                    for j in range(100)
                ],
            )
            for entity_id in ids
        ],
        batch_size=500,
    )
    return scorecard_apply_descriptor(text=list_scorecard_yaml()).scorecard, ids


def build(entities: int, rules: int):
    from apps.catalog.models import CustomData, Entity
    from apps.scorecards.services import scorecard_apply_descriptor

    rng = random.Random(7)
    Entity.objects.bulk_create(
        [Entity(tag=f"svc-{i:05d}", name=f"Service {i}", groups=rng.sample(GROUPS, 4)) for i in range(entities)],
        batch_size=2000,
    )
    ids = list(Entity.objects.order_by("id").values_list("id", flat=True))
    CustomData.objects.bulk_create(
        [CustomData(entity_id=i, key="score", value=rng.randint(0, 100)) for i in ids], batch_size=5000
    )
    scorecard = scorecard_apply_descriptor(text=scorecard_yaml(rules)).scorecard
    _forget_scores()
    return scorecard, ids


def _forget_scores() -> None:
    """Applying a scorecard re-scores at once (Celery is eager here); the first run measured must start empty."""
    from apps.evaluations.models import EntityScore, RuleResult, ScoreHistory

    RuleResult.objects.all().delete()
    ScoreHistory.objects.all().delete()
    EntityScore.objects.all().delete()


def bench_evaluator(scorecard, ids) -> tuple[float, int]:
    from apps.evaluations.engine import evaluate_entity
    from apps.evaluations.selectors import entity_facts_bulk
    from apps.evaluations.services import plan_for

    now = timezone.now()
    plan = plan_for(scorecard)
    facts = list(entity_facts_bulk(ids, now=now).values())
    started = time.perf_counter()
    evaluations = 0
    for ctx in facts:
        evaluations += len(evaluate_entity(plan, ctx, now=now).results)
    return time.perf_counter() - started, evaluations


@contextmanager
def throwaway_database():
    """A test database created for the benchmark and destroyed after it, so real data is never touched."""
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=30)
    parser.add_argument("--list-entities", type=int, default=2_000)
    args = parser.parse_args()

    with throwaway_database():
        from apps.evaluations.services import scorecard_evaluate

        started = time.perf_counter()
        scorecard, ids = build(args.entities, args.rules)
        print(f"database: {connection.vendor}; built {len(ids)} entities in {time.perf_counter() - started:.1f}s")

        seconds, evaluations = bench_evaluator(scorecard, ids)
        print(f"evaluator alone: {evaluations:,} rule evaluations in {seconds:.2f}s = {evaluations / seconds:,.0f}/s")
        for label in ("evaluate end to end, first run", "evaluate end to end, nothing changed"):
            summary = scorecard_evaluate(scorecard=scorecard)
            print(
                f"{label}: {summary.rule_evaluations:,} rule evaluations, {summary.results_written:,} rows written, "
                f"{summary.seconds:.2f}s = {summary.rule_evaluations / summary.seconds:,.0f}/s"
            )

        list_scorecard, list_ids = build_lists(args.list_entities)
        seconds, evaluations = bench_evaluator(list_scorecard, list_ids)
        print(
            f"list-heavy rules (a lambda over 100 items), evaluator alone: {evaluations:,} rule evaluations in "
            f"{seconds:.2f}s = {evaluations / seconds:,.0f}/s ({evaluations * 100 / seconds:,.0f} items/s)"
        )


if __name__ == "__main__":
    main()
