"""Evaluation benchmark: 10,000 entities and a 30-rule scorecard.

Reports rule evaluations per second for the evaluator alone (in memory, one core) and for
`evaluate` end to end (loading facts, evaluating, writing results and scores), first run and a
second run with nothing changed. Runs in a throwaway test database, so it never touches real data:

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
    return scorecard_apply_descriptor(text=scorecard_yaml(rules)).scorecard, ids


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


if __name__ == "__main__":
    main()
