import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.scorecards.models import Level, Rule, Scorecard

pytestmark = pytest.mark.django_db


def test_rule_clean_refuses_an_expression_that_does_not_compile(rule_factory):
    rule = rule_factory.build(scorecard=Scorecard.objects.create(tag="s", name="S"), expression="custom(")
    with pytest.raises(ValidationError) as info:
        rule.full_clean()
    assert "line 1, column 8" in info.value.message_dict["expression"][0]


def test_rule_clean_refuses_a_level_of_another_scorecard():
    a = Scorecard.objects.create(tag="a", name="A")
    b = Scorecard.objects.create(tag="b", name="B")
    level = Level.objects.create(scorecard=b, name="Bronze", rank=1)
    rule = Rule(scorecard=a, title="t", expression="true", level=level)
    with pytest.raises(ValidationError, match="belong to this rule's scorecard"):
        rule.full_clean()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "a filter is a mapping"),
        ({"types": ["service"]}, "types must be a mapping"),
        ({"groups": {"inside": ["x"]}}, "only include and exclude"),
        ({"groups": {"include": "x"}}, "list of strings"),
        ({"query": "entity.tag( ="}, "query: line 1"),
    ],
)
def test_scorecard_clean_checks_the_filter(value, message):
    scorecard = Scorecard(tag="s", name="S", filter=value)
    with pytest.raises(ValidationError, match=message):
        scorecard.full_clean()


def test_valid_filter_passes():
    Scorecard(tag="s", name="S", filter={"types": {"include": ["service"]}, "query": "true"}).full_clean()


def test_editing_a_rule_in_the_admin_bumps_the_scorecard_version(admin_client):
    scorecard = Scorecard.objects.create(tag="s", name="S")
    rule = Rule.objects.create(scorecard=scorecard, title="t", expression="true")
    url = reverse("admin:scorecards_rule_change", args=[rule.pk])
    form = {
        "scorecard": scorecard.pk,
        "title": "t",
        "description": "",
        "expression": "false",
        "weight": 1,
        "level": "",
        "failure_message": "",
        "effective_from_0": "",
        "effective_from_1": "",
        "filter": "{}",
        "enabled": "on",
        "position": 0,
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Scorecard.objects.get().version == 2
    form["expression"] = "custom("
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "line 1, column 8" in response.content.decode()
    assert Rule.objects.get().expression == "false"
