"""`manage.py load_demo`: a realistic catalog, three scorecards, role users, exemptions in every state, campaigns.

Everything goes through the services (descriptor parser, scorecards-as-code, the exemption workflow),
so the demo also shows those paths working. A command is an interface and may call every app; the
catalog part lives in `apps.catalog.demo`, the campaigns in `apps.campaigns.demo`, the rest is here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

import apps.scorecards as scorecards_app
from apps.accounts.models import User
from apps.accounts.roles import ADMIN, APPROVER, EDITOR, VIEWER
from apps.accounts.services import user_create_with_role
from apps.campaigns.demo import DEMO_CAMPAIGNS, demo_campaigns
from apps.catalog.demo import DemoCatalog, DemoEntity, demo_repos_dir, generate_catalog, load_demo_catalog
from apps.catalog.models import Entity
from apps.core.errors import ApplicationError
from apps.core.score_inputs import score_inputs_batch
from apps.exemptions.models import Exemption
from apps.exemptions.services import (
    exemption_approve,
    exemption_deny,
    exemption_request,
    exemption_revoke,
    exemptions_expire,
)
from apps.scorecards.models import Scorecard
from apps.scorecards.services import scorecard_apply_descriptor

SCORECARDS_DIR = Path(scorecards_app.__file__).resolve().parent / "demo"
SCORECARD_FILES = ("production-readiness.yaml", "security.yaml", "ownership-documentation.yaml")

# (username, role); each password is the username. `admin` is also made a superuser.
DEMO_USERS = (("admin", ADMIN), ("viewer", VIEWER), ("editor", EDITOR), ("approver", APPROVER))


def demo_users() -> dict[str, User]:
    users = {}
    for username, role in DEMO_USERS:
        user = user_create_with_role(username=username, role=role, email=f"{username}@example.com", password=username)
        users[username] = user
    User.objects.filter(username="admin").update(is_superuser=True, is_staff=True)
    return users


def demo_scorecards() -> dict[str, Scorecard]:
    scorecards: dict[str, Scorecard] = {}
    for name in SCORECARD_FILES:
        path = SCORECARDS_DIR / name
        result = scorecard_apply_descriptor(text=path.read_text(encoding="utf-8"), source=str(path))
        assert result.scorecard is not None  # set by every apply that did not raise
        scorecards[result.scorecard.tag] = result.scorecard
    return scorecards


@dataclass(frozen=True)
class _Plan:
    """One demo exemption: which rule, for which kind of service, and the story of its decision."""

    status: str
    scorecard: str
    rule: str
    reason: str
    wants: str  # a predicate name from _PREDICATES: services that fail the rule
    decision: str = ""
    days: int | None = None


def _in_scope(item: DemoEntity) -> bool:
    return item.type == "service" and "deprecated" not in item.groups and not item.info.get("x-cortex-archived")


def _older(item: DemoEntity, package: str, minimum: tuple[int, ...]) -> bool:
    version = item.package_version(package)
    if version is None:
        return False
    return tuple(int(part) for part in version.lstrip("v").split(".")[: len(minimum)]) < minimum


_PREDICATES = {
    "no_runbook": lambda e: "runbook" not in e.link_types(),
    "old_django": lambda e: _older(e, "django", (4, 2)),
    "no_oncall": lambda e: "x-cortex-oncall" not in e.info,
    "no_cost_center": lambda e: "cost_center" not in e.custom,
    "no_owner": lambda e: "x-cortex-owners" not in e.info,
    "no_app_version": lambda e: "app_version" not in (e.custom.get("runtime_info") or {}),
    "old_spring": lambda e: _older(e, "spring-boot", (3,)) or _older(e, "express", (4, 19, 2)),
    "no_dashboard": lambda e: "dashboard" not in e.link_types(),
}

EXEMPTION_PLANS = (
    _Plan(
        "PENDING",
        "production-readiness",
        "Has a runbook",
        "Internal batch job with no user-facing traffic; the team's general runbook covers it.",
        "no_runbook",
    ),
    _Plan(
        "PENDING",
        "security",
        "Django 4.2 or newer",
        "The upgrade is blocked on django-oscar; planned for next quarter.",
        "old_django",
        days=90,
    ),
    _Plan(
        "APPROVED",
        "production-readiness",
        "On-call is declared",
        "Tier-3 back-office tool supported in business hours only.",
        "no_oncall",
        days=180,
    ),
    _Plan(
        "APPROVED",
        "ownership-documentation",
        "Has a cost center",
        "Shared platform cost, billed through the platform budget.",
        "no_cost_center",
    ),
    _Plan(
        "REJECTED",
        "production-readiness",
        "Has an owner",
        "Nobody knows who owns this any more.",
        "no_owner",
        decision="Every service needs an owner. Ask in #platform and we will help find one.",
    ),
    _Plan(
        "REVOKED",
        "production-readiness",
        "Reports its running version",
        "The service has no release process yet.",
        "no_app_version",
        decision="The service deploys through the standard pipeline now; please publish the version.",
    ),
    _Plan(
        "EXPIRED",
        "security",
        "Spring Boot 3 or newer",
        "Migration to Spring Boot 3 in progress; a week to finish the rollout.",
        "old_spring",
        days=7,
    ),
    _Plan(
        "EXPIRED",
        "production-readiness",
        "Has a dashboard",
        "Dashboards are being moved to the new Grafana.",
        "no_dashboard",
        days=7,
    ),
)


def _pick(catalog: DemoCatalog, plan: _Plan, taken: set[tuple[str, str]]) -> Entity:
    """The first in-scope service failing the rule (any in-scope service when the catalog has none)."""
    candidates = [e for e in catalog.services if _in_scope(e) and (plan.rule, e.tag) not in taken]
    matching = [e for e in candidates if _PREDICATES[plan.wants](e)] or candidates
    if not matching:
        raise CommandError("the demo catalog is too small for the demo exemptions; use more --services")
    tag = matching[0].tag
    taken.add((plan.rule, tag))
    return Entity.objects.get(tag=tag)


def demo_exemptions(catalog: DemoCatalog, scorecards: dict[str, Scorecard], users: dict[str, User]) -> dict[str, int]:
    """Request as `viewer`, decide as `approver`, with timestamps spread over the past weeks."""
    now = timezone.now().replace(microsecond=0)
    viewer, approver = users["viewer"], users["approver"]
    taken: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    for index, plan in enumerate(EXEMPTION_PLANS):
        scorecard = scorecards[plan.scorecard]
        rule = scorecard.rules.get(title=plan.rule)
        entity = _pick(catalog, plan, taken)
        # Older stories first: final states were requested weeks ago, pending ones this week.
        requested = now - timedelta(days={"PENDING": 2, "APPROVED": 20, "REJECTED": 12}.get(plan.status, 40) + index)
        exemption = exemption_request(
            scorecard=scorecard, entity=entity, rule=rule, reason=plan.reason, days=plan.days, by=viewer, now=requested
        )
        decided = requested + timedelta(days=1)
        if plan.status == "REJECTED":
            exemption_deny(exemption_id=exemption.pk, by=approver, reason=plan.decision, now=decided)
        elif plan.status in ("APPROVED", "REVOKED", "EXPIRED"):
            exemption_approve(exemption_id=exemption.pk, by=approver, now=decided)
        if plan.status == "REVOKED":
            exemption_revoke(exemption_id=exemption.pk, by=approver, reason=plan.decision, now=now - timedelta(days=3))
        if plan.status == "EXPIRED":
            # What the periodic expiry task would have done on the end date.
            exemptions_expire(now=requested + timedelta(days=plan.days or 0))
        counts[plan.status] = counts.get(plan.status, 0) + 1
    return counts


@contextmanager
def _quiet_eager_tasks() -> Iterator[None]:
    """Eager Celery logs every re-score task the exemption services queue; a line each is noise here."""
    trace_logger = logging.getLogger("celery.app.trace")
    previous = trace_logger.level
    trace_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        trace_logger.setLevel(previous)


class Command(BaseCommand):
    help = "Load a realistic demo: catalog with git repositories, three scorecards, users, exemptions and campaigns."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the catalog has entities")
        parser.add_argument("--seed", type=int, default=42, help="random seed; the same seed gives the same demo")
        parser.add_argument("--services", type=int, default=300, help="number of services (default 300)")
        parser.add_argument("--repos", type=int, default=15, help="services that get a local git repository")

    def handle(self, *args, if_empty: bool, seed: int, services: int, repos: int, **options) -> None:
        if if_empty and Entity.objects.exists():
            self.stdout.write("The catalog already has entities; demo data not loaded (--if-empty).")
            return
        if services < 8:
            raise CommandError("--services must be at least 8, so every demo exemption finds a service")
        started = time.perf_counter()
        catalog = generate_catalog(seed=seed, services=services, repos=repos)
        # One transaction: a failure leaves no half-loaded catalog behind (which --if-empty would then keep).
        # Demo notifications would go to example.com people; the dummy backend drops them. What changed is
        # announced for re-scoring once, after the commit.
        with (
            score_inputs_batch(),
            _quiet_eager_tasks(),
            override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
            transaction.atomic(),
        ):
            users = demo_users()
            loaded = load_demo_catalog(catalog, repos_dir=demo_repos_dir())
            scorecards = demo_scorecards()
            if Exemption.objects.exists():
                exemptions: dict[str, int] = {}
                self.stdout.write("Exemptions exist already; demo exemptions not added.")
            else:
                try:
                    exemptions = demo_exemptions(catalog, scorecards, users)
                except ApplicationError as exc:
                    raise CommandError(f"could not create the demo exemptions: {exc.message}") from exc
            # After the exemptions: the campaigns' synthetic history is anchored on today's figures, which count
            # exempt rules as met. Demo campaigns that exist already (by key) are left as they are.
            try:
                campaigns, snapshots = demo_campaigns(scorecards=scorecards, users=users, now=timezone.now())
            except ApplicationError as exc:
                raise CommandError(f"could not create the demo campaigns: {exc.message}") from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded in {elapsed:.1f}s: {len(catalog.teams)} teams, {len(catalog.domains)} domains, "
                f"{len(catalog.services)} services ({loaded.created} created, {loaded.updated} updated, "
                f"{loaded.unchanged} unchanged), {len(loaded.repos)} git repositories in {demo_repos_dir()}, "
                f"{len(scorecards)} scorecards, {len(users)} users, exemptions: "
                + (", ".join(f"{count} {status.lower()}" for status, count in exemptions.items()) or "none")
                + f"; campaigns: {campaigns} created ({snapshots} progress snapshots), "
                f"{len(DEMO_CAMPAIGNS) - campaigns} already there"
            )
        )
        self.stdout.write("Next: `manage.py evaluate` scores every entity; `manage.py demo_login` shows the logins.")
