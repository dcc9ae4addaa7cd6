"""Page latency benchmark: p50/p95 of every dashboard page at 10,000 entities.

Builds a throwaway test database with 10,000 entities (owners, groups, custom data), a 30-rule
scorecard evaluated over all of them, score history, and exemptions; then requests each page
repeatedly through Django's test client (full request/response cycle, templates included, no
network) and prints p50 / p95 per page:

    .venv/bin/python benchmarks/pages.py [--entities 10000] [--requests 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scorecards .venv/bin/python benchmarks/pages.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scorecards_site.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from evaluation import build, throwaway_database  # noqa: E402


def populate(entities: int):
    from apps.accounts.services import user_create_with_role
    from apps.catalog.models import Entity, EntityOwner
    from apps.evaluations.services import scorecard_evaluate

    scorecard, ids = build(entities, 30)
    teams = Entity.objects.bulk_create([Entity(tag=f"team-{i}", name=f"Team {i}", type="team") for i in range(40)])
    EntityOwner.objects.bulk_create(
        [
            EntityOwner(entity_id=entity_id, kind="group", name=teams[i % 40].tag, team=teams[i % 40])
            for i, entity_id in enumerate(ids)
        ],
        batch_size=5000,
    )
    now = timezone.now()
    for days in (60, 30, 0):
        scorecard_evaluate(scorecard=scorecard, now=now - timedelta(days=days))
    admin = user_create_with_role(username="bench-admin", role="Admin", password="x")
    return scorecard, admin


def pages(scorecard) -> dict[str, str]:
    entity = "svc-00042"
    wanted = {
        "home": ("evaluations:home", []),
        "scorecard": ("evaluations:scorecard", [scorecard.tag]),
        "scorecard, last page": ("evaluations:scorecard", [scorecard.tag]),
        "scorecard, search": ("evaluations:scorecard", [scorecard.tag]),
        "report card": ("evaluations:entity", [entity]),
        "exemptions": ("exemptions:list", []),
        "badge": ("reports:badge_svg", [scorecard.tag, entity]),
    }
    urls = {}
    for label, (name, args) in wanted.items():
        try:
            urls[label] = reverse(name, args=args)
        except NoReverseMatch:
            continue
    if "scorecard, last page" in urls:
        urls["scorecard, last page"] += "?page=200"
    if "scorecard, search" in urls:
        urls["scorecard, search"] += "?q=svc-0999&sort=-score"
    for label, path in (
        ("birds-eye", f"/reports/birds-eye/{scorecard.tag}/"),
        ("executive", "/reports/executive/"),
        ("progress", "/reports/progress/"),
        ("report-card report", f"/reports/report-card/?scorecard={scorecard.tag}"),
        ("all scorecards", "/reports/all-scorecards/"),
    ):
        urls[label] = path
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    with throwaway_database():
        started = time.perf_counter()
        scorecard, admin = populate(args.entities)
        print(f"database: {connection.vendor}; {args.entities} entities built in {time.perf_counter() - started:.1f}s")
        client = Client()
        client.force_login(admin)
        print(f"{'page':24} {'status':>6} {'p50 ms':>8} {'p95 ms':>8}")
        for label, url in pages(scorecard).items():
            status = client.get(url).status_code  # warm-up, and skip pages that do not exist yet
            if status == 404:
                print(f"{label:24} {status:>6} {'-':>8} {'-':>8}")
                continue
            timings = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - t0) * 1000)
            p95 = statistics.quantiles(timings, n=20)[18]
            print(f"{label:24} {status:>6} {statistics.median(timings):8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
