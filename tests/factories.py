import factory
from django.utils import timezone

from apps.accounts.models import User
from apps.catalog.models import Entity
from apps.scorecards.models import Level, Rule, Scorecard


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pw")


class EntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entity

    tag = factory.Sequence(lambda n: f"service-{n}")
    name = factory.LazyAttribute(lambda o: o.tag.replace("-", " ").title())
    type = "service"
    groups = factory.LazyFunction(list)


class ScorecardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scorecard

    tag = factory.Sequence(lambda n: f"scorecard-{n}")
    name = factory.LazyAttribute(lambda o: o.tag.replace("-", " ").title())


class LevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Level

    scorecard = factory.SubFactory(ScorecardFactory)
    name = factory.Sequence(lambda n: f"Level {n}")
    rank = factory.Sequence(lambda n: n + 1)


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    scorecard = factory.SubFactory(ScorecardFactory)
    title = factory.Sequence(lambda n: f"Rule {n}")
    expression = "true"
    weight = 1
    effective_from = None
    created_at = factory.LazyFunction(timezone.now)
