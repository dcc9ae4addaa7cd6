"""Demo campaigns for `manage.py load_demo`, built on the demo scorecards, with a few weeks of progress history.

Campaigns are created through `campaign_create`. The progress history is synthetic: the demo has no past, so
the daily snapshots the beat task would have recorded are made up here, anchored on today's real figure (the
rules run in memory with the evaluator, as `manage.py evaluate` will run them right after) and lower going back,
so the progress chart shows a plausible rising line ending where the live figure starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from apps.accounts.models import User
from apps.campaigns.models import Campaign, CampaignSnapshot, CampaignStatus
from apps.campaigns.selectors import SATISFIED, scope_members
from apps.campaigns.services import campaign_create
from apps.catalog.models import Entity
from apps.evaluations.engine import evaluate_entity
from apps.evaluations.selectors import entity_facts_bulk, exempt_rules_bulk
from apps.evaluations.services import plan_for
from apps.scorecards.models import Rule, Scorecard

HISTORY_DAYS = 21  # days of synthetic snapshots before today


@dataclass(frozen=True)
class DemoCampaign:
    key: str
    name: str
    owner: str  # a demo username
    rules: tuple[tuple[str, str], ...]  # (scorecard tag, rule title)
    status: str
    started_days_ago: int
    due: str  # "q1": the next 31 March at least a month away; "+N": N days from now
    description: str
    guidance: str
    entity_scope: str = ""
    history_start: float = 0.0  # passing share of today's figure HISTORY_DAYS ago; 0 = no history


DEMO_CAMPAIGNS = (
    DemoCampaign(
        key="tier1-runbook-oncall",
        name="Every tier-1 service has a runbook and on-call by Q1",
        owner="editor",
        rules=(
            ("production-readiness", "Has a runbook"),
            ("production-readiness", "On-call is declared"),
            ("production-readiness", "Has a dashboard"),
        ),
        status=CampaignStatus.IN_PROGRESS,
        started_days_ago=HISTORY_DAYS + 3,
        due="q1",
        entity_scope='entity.hasGroup("tier-1")',
        description="Tier-1 services page a human at 3 a.m.; that human needs a runbook, a dashboard and a rotation.",
        guidance="""\
After the **March incident review**, every tier-1 service must be operable by whoever is on call:

1. link a runbook, written from the [template](https://wiki.example.com/runbooks/template), as a `runbook` link;
2. declare the PagerDuty schedule in `x-cortex-oncall`;
3. link the service's Grafana dashboard as a `dashboard` link.

Questions go to **#sre-help**; a service that cannot make it by the due date can request an exemption.
""",
        history_start=0.55,
    ),
    DemoCampaign(
        key="security-baseline",
        name="Security baseline: supported frameworks and a security contact",
        owner="admin",
        rules=(
            ("security", "Django 4.2 or newer"),
            ("security", "Spring Boot 3 or newer"),
            ("security", "Has a security contact"),
        ),
        status=CampaignStatus.IN_PROGRESS,
        started_days_ago=HISTORY_DAYS + 10,
        due="+75",
        description="Every service runs a framework that still gets security fixes and names someone to call.",
        guidance="""\
Frameworks past their end of life get **no security fixes**. Upgrade:

- Django to **4.2 LTS** or later ([upgrade guide](https://docs.djangoproject.com/en/stable/howto/upgrade-version/));
- Spring Boot to **3.x** (mind the `jakarta.*` namespaces).

Also add an `email` owner to `x-cortex-owners`, so the security team can reach a person directly.
""",
        history_start=0.7,
    ),
    DemoCampaign(
        key="finops-cost-centers",
        name="Cost centers for FinOps",
        owner="approver",
        rules=(("ownership-documentation", "Has a cost center"),),
        status=CampaignStatus.NOT_STARTED,
        started_days_ago=-14,
        due="+100",
        description="Cloud spend is split by cost center from next quarter; services without one land on Platform.",
        guidance="Set `cost_center` in `x-cortex-custom-metadata` to your department's code (ask Finance).",
    ),
)


def _due(spec: str, now: datetime) -> datetime:
    if spec == "q1":
        year = now.year if now.month < 3 else now.year + 1
        due = now.replace(year=year, month=3, day=31, hour=17, minute=0, second=0, microsecond=0)
        return due if due - now >= timedelta(days=30) else due.replace(year=year + 1)
    return (now + timedelta(days=int(spec))).replace(hour=17, minute=0, second=0, microsecond=0)


def _rules(spec: DemoCampaign, scorecards: dict[str, Scorecard]) -> list[Rule]:
    return [scorecards[tag].rules.get(title=title) for tag, title in spec.rules]


def progress_now(campaign: Campaign, rules: list[Rule], *, now: datetime) -> tuple[int, int]:
    """(entities in scope, passing) as the campaign page will show them once `evaluate` has stored results.

    The same definition as `campaign_progress` (an active entity with a result for at least one campaign rule,
    matching the scope; passing when every result is pass, exempt or skip), with the results computed in memory
    by the evaluator instead of read from the database, which has none yet.
    """
    entity_ids = list(Entity.objects.active().order_by("id").values_list("id", flat=True))
    plans = {pk: plan_for(Scorecard.objects.get(pk=pk)) for pk in sorted({rule.scorecard_id for rule in rules})}
    required = frozenset().union(*(plan.required_facts for plan in plans.values()))
    facts = entity_facts_bulk(entity_ids, now=now, required=required)
    states: dict[int, list[str]] = {}
    for scorecard_id, plan in plans.items():
        wanted = {rule.id for rule in rules if rule.scorecard_id == scorecard_id}
        exempt = exempt_rules_bulk(scorecard_id=scorecard_id, entity_ids=entity_ids, now=now)
        for entity_id in entity_ids:
            ctx = facts.get(entity_id)
            evaluation = ctx and evaluate_entity(plan, ctx, now=now, exempt_rule_ids=exempt.get(entity_id, set()))
            for result in evaluation.results if evaluation else ():
                if result.rule_id in wanted:
                    states.setdefault(entity_id, []).append(result.state)
    if campaign.entity_scope and states:
        members = scope_members(campaign=campaign, entity_ids=list(states), now=now)
        states = {entity_id: found for entity_id, found in states.items() if entity_id in members}
    passing = sum(all(state in SATISFIED for state in found) for found in states.values())
    return len(states), passing


def synthetic_history(*, total: int, passing: int, start: float, days: int, today: date) -> list[tuple[date, int]]:
    """(day, passing) for each of the `days` days before `today`: from `start` × today's figure up to it,
    a steady climb with flat spells (nobody fixes things at weekends), never above today's figure."""
    first = round(passing * start)
    points: list[tuple[date, int]] = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        share = (days - back) / days
        value = first + round((passing - first) * share)
        if day.weekday() >= 5 and points:  # the weekend keeps Friday's figure
            value = points[-1][1]
        points.append((day, min(max(value, 0), passing, total)))
    return points


def demo_campaigns(*, scorecards: dict[str, Scorecard], users: dict[str, User], now: datetime) -> tuple[int, int]:
    """Create the demo campaigns that do not exist yet (by key), each with its synthetic history.

    Returns (created, snapshots recorded). Campaigns already there, demo or edited, are left alone.
    """
    created = snapshots = 0
    for spec in DEMO_CAMPAIGNS:
        if Campaign.objects.filter(key=spec.key).exists():
            continue
        rules = _rules(spec, scorecards)
        campaign = campaign_create(
            key=spec.key,
            name=spec.name,
            owner=users[spec.owner],
            rule_ids=[str(rule.identifier) for rule in rules],
            start_date=now - timedelta(days=spec.started_days_ago),
            due_date=_due(spec.due, now),
            status=spec.status,
            description=spec.description,
            entity_scope=spec.entity_scope,
            guidance=spec.guidance,
        )
        created += 1
        if not spec.history_start:
            continue
        total, passing = progress_now(campaign, rules, now=now)
        rows = [
            CampaignSnapshot(
                campaign=campaign,
                day=day,
                entities_total=total,
                entities_passing=value,
                recorded_at=datetime.combine(day, time(21, 0), tzinfo=UTC),  # the evening task's time
            )
            for day, value in synthetic_history(
                total=total, passing=passing, start=spec.history_start, days=HISTORY_DAYS, today=now.date()
            )
        ]
        CampaignSnapshot.objects.bulk_create(rows)
        snapshots += len(rows)
    return created, snapshots
