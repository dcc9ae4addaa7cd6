"""Scores endpoint benchmark: `GET /api/v2/scorecard/scores/{aggregation}` at 10,000 entities x 30 rules.

Three published scorecards of 10 rules each (levels 1..3), 10,000 entities of three kinds owned by 40 teams,
one stored result per (entity, rule) = 300,000 rule results with mixed states. Each request goes through the
whole stack (Bearer auth, permission check, DRF, JSON) with the test client, 30 times after one warm-up; prints
p50 / p95 per page. Runs in a throwaway test database, so it never touches real data:

    .venv/bin/python benchmarks/scores.py [--entities 10000] [--rules 30] [--repeat 30] [--only campaign] [--explain]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scorecards .venv/bin/python benchmarks/scores.py
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scorecards_site.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.evaluation import throwaway_database  # noqa: E402

STATES = ["pass"] * 6 + ["fail"] * 2 + ["error", "no_data", "skip", "exempt"]
KINDS = ["service"] * 8 + ["library", "website"]


def build(entities: int, rules: int):
    from apps.catalog.models import Entity, EntityOwner
    from apps.evaluations.models import RuleResult
    from apps.scorecards.models import Level, Rule, Scorecard

    rng = random.Random(11)
    now = timezone.now()
    teams = [Entity(tag=f"team-{t:02d}", name=f"Team {t}", type="team") for t in range(40)]
    Entity.objects.bulk_create(teams)
    Entity.objects.bulk_create(
        [Entity(tag=f"svc-{i:05d}", name=f"Service {i}", type=rng.choice(KINDS)) for i in range(entities)],
        batch_size=2000,
    )
    ids = list(Entity.objects.exclude(type="team").order_by("id").values_list("id", flat=True))
    owners = [EntityOwner(entity_id=i, kind="group", name=f"team-{rng.randrange(40):02d}") for i in ids]
    owners += [EntityOwner(entity_id=i, kind="email", email="dev@example.com") for i in ids[::3]]
    EntityOwner.objects.bulk_create(owners, batch_size=5000)

    all_rules = []
    per_card = max(1, rules // 3)
    for s in range(3):
        scorecard = Scorecard.objects.create(tag=f"card-{s}", name=f"Scorecard {s}")
        levels = [Level.objects.create(scorecard=scorecard, name=n, rank=r + 1) for r, n in
                  enumerate(["Bronze", "Silver", "Gold"])]  # fmt: skip
        for r in range(per_card):
            all_rules.append(
                Rule.objects.create(
                    scorecard=scorecard,
                    title=f"Rule {s}.{r}",
                    expression="" if r % 5 == 0 else "true",
                    weight=1 + r % 3,
                    level=levels[r % 3],
                    position=r,
                )  # fmt: skip
            )
    batch = []
    for entity_id in ids:
        for rule in all_rules:
            state = rng.choice(STATES)
            batch.append(RuleResult(entity_id=entity_id, scorecard_id=rule.scorecard_id, rule_id=rule.pk, state=state,
                                    raw_state=state, changed_at=now))  # fmt: skip
            if len(batch) >= 20000:
                RuleResult.objects.bulk_create(batch)
                batch = []
    RuleResult.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return len(ids), len(all_rules)


def timed(client, url: str, repeat: int) -> tuple[float, float]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]
    return statistics.median(samples), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", choices=("scores", "campaign"), help="time only the scores pages or campaign pages")
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the campaign progress queries"
    )
    args = parser.parse_args()

    with throwaway_database():
        from rest_framework.test import APIClient

        from apps.accounts.services import api_key_create, user_create_with_role

        started = time.perf_counter()
        entities, rules = build(args.entities, args.rules)
        print(f"database: {connection.vendor}; {entities:,} entities x {rules} rules = {entities * rules:,} results "
              f"built in {time.perf_counter() - started:.1f}s")  # fmt: skip
        user = user_create_with_role(username="bench", role="Viewer")
        _, key = api_key_create(user=user, name="bench")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        base = "/api/v2/scorecard/scores/"
        pages = {}
        for aggregation in ("by-entity", "by-rule", "by-scorecard", "by-team", "by-kind"):
            pages[f"{aggregation}, first page (100)"] = f"{base}{aggregation}"
        pages["by-entity, page[limit]=1000"] = f"{base}by-entity?page%5Blimit%5D=1000"
        pages["by-entity, last page, sort=-score"] = f"{base}by-entity?sort=-score&page%5Boffset%5D={entities - 100}"
        pages["by-entity, one scorecard, levels 1,2"] = (
            f"{base}by-entity?filter%5Brule%5D%5Bscorecard_id%5D=card-1&filter%5Brule%5D%5Blevel%5D=1,2"
        )
        pages["by-team, sort=-score"] = f"{base}by-team?sort=-score"
        print("| page | p50 | p95 |\n| --- | --- | --- |")
        for label, url in pages.items() if args.only != "campaign" else ():
            p50, p95 = timed(client, url, args.repeat)
            print(f"| {label} | {p50:.1f} ms | {p95:.1f} ms |")

        # The campaign dashboard page over the same data: 10 rules of one scorecard, with and without a scope.
        from django.test import Client

        from apps.campaigns.services import campaign_create
        from apps.scorecards.models import Rule

        rule_ids = [str(i) for i in Rule.objects.filter(scorecard__tag="card-0").values_list("identifier", flat=True)]
        start = timezone.now()
        campaign_create(key="all", name="All", owner=user, rule_ids=rule_ids, start_date=start)
        campaign_create(key="scoped", name="Scoped", owner=user, rule_ids=rule_ids, start_date=start,
                        entity_scope='entity.type() = "service"')  # fmt: skip
        browser = Client()
        browser.force_login(user)
        for key in ("all", "scoped") if args.only != "scores" else ():
            p50, p95 = timed(browser, f"/campaigns/{key}/", args.repeat)
            print(f"| campaign page /campaigns/{key}/ | {p50:.1f} ms | {p95:.1f} ms |")
        if args.explain:
            explain_progress()


def explain_progress() -> None:
    """The plan of each query `campaign_progress` runs for the unscoped campaign, with timings and buffers."""
    from django.test.utils import CaptureQueriesContext

    from apps.campaigns.models import Campaign
    from apps.campaigns.selectors import campaign_progress

    campaign = Campaign.objects.get(key="all")
    with CaptureQueriesContext(connection) as captured:
        campaign_progress(campaign=campaign)
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            print(f"\n-- {query['time']}s: {query['sql'][:2000]}")
            cursor.execute(prefix + query["sql"])
            print("\n".join(str(row[-1]) for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
