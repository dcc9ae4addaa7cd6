"""A small hand-built world with known answers, shared by the campaign and the scores tests.

Scorecards: sc-a (r1 weight 2 level rank 1, r2 weight 1), sc-b (r3 weight 1, pushed outcomes).
Entities and results (svc-5 is archived and never counts; svc-4 and lib-1 have no team):

    entity  team   type     r1       r2      r3
    svc-1   alpha  service  pass     pass    pass
    svc-2   alpha  service  fail     exempt  skip
    svc-3   beta   service  pass     error   no_data
    svc-4   -      service  pass     exempt  -
    lib-1   -      library  no_data  pass    fail
    svc-5   alpha  service  fail     -       -        (archived)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from apps.catalog.models import Entity, EntityOwner
from apps.evaluations.models import RuleResult
from apps.scorecards.models import Level, Rule, Scorecard


@dataclass
class World:
    sc_a: Scorecard
    sc_b: Scorecard
    r1: Rule
    r2: Rule
    r3: Rule
    entities: dict[str, Entity]


STATES = {
    "svc-1": {"r1": "pass", "r2": "pass", "r3": "pass"},
    "svc-2": {"r1": "fail", "r2": "exempt", "r3": "skip"},
    "svc-3": {"r1": "pass", "r2": "error", "r3": "no_data"},
    "svc-4": {"r1": "pass", "r2": "exempt"},
    "lib-1": {"r1": "no_data", "r2": "pass", "r3": "fail"},
    "svc-5": {"r1": "fail"},
}


def build_world() -> World:
    now = timezone.now()
    sc_a = Scorecard.objects.create(tag="sc-a", name="Scorecard A")
    sc_b = Scorecard.objects.create(tag="sc-b", name="Scorecard B")
    bronze = Level.objects.create(scorecard=sc_a, name="Bronze", rank=1)
    r1 = Rule.objects.create(
        scorecard=sc_a, title="Has a runbook", expression="true", weight=2, level=bronze, position=1,
        failure_message="Add a **runbook** link. <script>alert(1)</script>",
    )  # fmt: skip
    r2 = Rule.objects.create(scorecard=sc_a, title="Has on-call", expression="true", weight=1, position=2)
    r3 = Rule.objects.create(scorecard=sc_b, title="Deploys weekly", expression="", weight=1, position=1)
    rules = {"r1": r1, "r2": r2, "r3": r3}
    teams = {tag: Entity.objects.create(tag=tag, name=tag.title(), type="team") for tag in ("alpha", "beta")}
    entities = {}
    spec = {
        "svc-1": ("alpha", "service", ["tier-1"], False),
        "svc-2": ("alpha", "service", [], False),
        "svc-3": ("beta", "service", ["tier-1"], False),
        "svc-4": (None, "service", [], False),
        "lib-1": (None, "library", [], False),
        "svc-5": ("alpha", "service", ["tier-1"], True),
    }
    for tag, (team, kind, groups, archived) in spec.items():
        entity = Entity.objects.create(tag=tag, name=tag.upper(), type=kind, groups=groups, archived=archived)
        if team:
            EntityOwner.objects.create(entity=entity, kind="group", name=team, team=teams[team])
            # A second team later in tag order must not change the entity's team (first team owner by tag).
            EntityOwner.objects.create(entity=entity, kind="group", name="zeta")
        entities[tag] = entity
        for rule_key, state in STATES[tag].items():
            rule = rules[rule_key]
            RuleResult.objects.create(
                entity=entity, scorecard=rule.scorecard, rule=rule, state=state, raw_state=state,
                message=f"{tag} {rule_key} <b>{state}</b>", changed_at=now,
            )  # fmt: skip
    return World(sc_a=sc_a, sc_b=sc_b, r1=r1, r2=r2, r3=r3, entities=entities)


def add_entities(world: World, count: int, *, start: int) -> None:
    """More failing services of team alpha, for query-count tests."""
    now = timezone.now()
    for index in range(start, start + count):
        entity = Entity.objects.create(tag=f"extra-{index}", name=f"Extra {index}", groups=["tier-1"])
        EntityOwner.objects.create(entity=entity, kind="group", name="alpha")
        for rule in (world.r1, world.r2, world.r3):
            RuleResult.objects.create(
                entity=entity, scorecard=rule.scorecard, rule=rule, state="fail", raw_state="fail", changed_at=now
            )
