"""Cortex CQL compatibility of the rule language, against the README's spec ("## The rule language").

Pure unit tests, no database: each builds an `EntityFacts` and evaluates compiled expressions over it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.scorecards.language import (
    EntityFacts,
    IntegrationNotConfigured,
    RuleRuntimeError,
    RuleSyntaxError,
    compile_expression,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def deploy(uuid: str, *, days: float, type: str = "DEPLOY", environment: str = "prod") -> dict:
    return {
        "uuid": uuid,
        "title": f"deploy {uuid}",
        "type": type,
        "sha": f"sha-{uuid}",
        "environment": environment,
        "url": f"https://ci.example.com/{uuid}",
        "timestamp": ago(days=days),
        "deployer": "ana@example.com",
        "customData": {"pipeline": "main"},
    }


def event(uuid: str, *, days: float, type: str) -> dict:
    return {
        "uuid": uuid,
        "title": f"event {uuid}",
        "type": type,
        "description": "",
        "url": None,
        "timestamp": ago(days=days),
        "customData": {},
    }


def metric(key: str, *, days: float, value: float) -> dict:
    return {"key": key, "timestamp": ago(days=days), "value": value}


def dependency(tag: str, type: str) -> dict:
    return {
        "tag": tag,
        "name": tag.title(),
        "type": type,
        "method": None,
        "path": None,
        "description": "",
        "metadata": {},
    }


def relation(tag: str, relationship_type: str) -> dict:
    return {"tag": tag, "name": tag.title(), "type": "service", "relationshipType": relationship_type}


def make_entity() -> EntityFacts:
    """A service with everything a Cortex rule may read: links, on-call, a repository, catalog data."""
    return EntityFacts(
        tag="payments-api",
        name="Payments API",
        type="service",
        description="Charges cards.",
        groups=("tier-1", "ai-model:fraud-score"),
        owners=[
            {"type": "group", "name": "payments-team"},
            {"type": "email", "email": "ana@example.com"},
        ],
        links=[
            {"name": "Runbook", "type": "runbook", "url": "https://wiki.example.com/payments"},
            {"name": "Grafana", "type": "dashboard", "url": "https://grafana.example.com/d/payments"},
            {"name": "API docs", "type": "documentation", "url": "https://docs.example.com/payments"},
        ],
        custom={"runtime": "python3", "tier": 1, "tags": ["pci", "public"], "nothing": None},
        oncall={"provider": "PagerDuty", "id": "P123", "type": "SCHEDULE"},
        facts={("sonarqube", "project"): ("payments-api", ""), ("sonarqube", "metric:coverage"): (82.5, "")},
        now=NOW,
        repository="https://github.com/example/payments-api",
        descriptor={
            "openapi": "3.0.1",
            "info": {
                "title": "Payments API",
                "x-cortex-tag": "payments-api",
                "x-cortex-type": "service",
                "x-cortex-custom-metadata": {"tier": 1, "pii": True},
            },
        },
        data={
            "deploys": [
                deploy("d1", days=1),
                deploy("d2", days=3, environment="staging"),
                deploy("d3", days=6, type="ROLLBACK"),
                deploy("d4", days=12),
                deploy("d5", days=25, environment="staging"),
                deploy("d6", days=45),
            ],
            "custom_events": [
                event("e1", days=2, type="INCIDENT"),
                event("e2", days=10, type="INCIDENT"),
                event("e3", days=4, type="AUDIT"),
            ],
            "custom_metrics": [
                metric("latency", days=1, value=120.0),
                metric("latency", days=3, value=80.0),
                metric("latency", days=20, value=400.0),
                metric("errors", days=1, value=2.0),
            ],
            "dependencies_out": [dependency("orders-bucket", "AWS::S3::Bucket"), dependency("ledger", "service")],
            "dependencies_in": [dependency("checkout", "service"), dependency("mobile-app", "service")],
            "destinations": [relation("ledger", "writes-to"), relation("audit-log", "emits-to")],
            "sources": [relation("checkout", "calls"), relation("scheduler", "triggers")],
        },
    )


@pytest.fixture
def ctx() -> EntityFacts:
    return make_entity()


@pytest.fixture
def bare() -> EntityFacts:
    """An entity with nothing declared and no facts collected (only empty catalog data)."""
    return EntityFacts(
        tag="bare",
        now=NOW,
        oncall=None,
        data={
            "deploys": [],
            "custom_events": [],
            "custom_metrics": [],
            "dependencies_out": [],
            "dependencies_in": [],
            "destinations": [],
            "sources": [],
        },
    )


def run(source: str, ctx: EntityFacts):
    return compile_expression(source).evaluate(ctx)


def runtime_error(source: str, ctx: EntityFacts) -> str:
    expression = compile_expression(source)  # compiles fine: the problem only shows when evaluated
    with pytest.raises(RuleRuntimeError) as info:
        expression.evaluate(ctx)
    assert not isinstance(info.value, IntegrationNotConfigured), info.value
    return str(info.value)


def syntax_error(source: str) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as info:
        compile_expression(source)
    return info.value


def not_configured(source: str, ctx: EntityFacts) -> IntegrationNotConfigured:
    expression = compile_expression(source)  # such rules compile: the outcome is "not configured"
    with pytest.raises(IntegrationNotConfigured) as info:
        expression.evaluate(ctx)
    return info.value


# ------------------------------------------------------------------------------ 1. missing values
# One case per row of the README's "Missing values" table; `{x}` is the missing value.
MISSING_VALUE_ROWS = [
    pytest.param([("{x} = null", True), ("{x} == null", True)], id="x = null, x == null: true"),
    pytest.param([("{x} != null", False)], id="x != null: false"),
    pytest.param([('{x} = "a"', False)], id="x = 'a': false"),
    pytest.param(
        [('{x} != "a"', True), ('custom("runtime_missing") != "python2"', True)],
        id="x != 'a': true",
    ),
    pytest.param(
        [("{x} < 1", False), ("{x} <= 1", False), ("{x} > 1", False), ("{x} >= 1", False), ("not ({x} < 1)", True)],
        id="x < 1, x <= 1, x > 1, x >= 1: false",
    ),
    pytest.param(
        [
            ("not {x}", True),
            ("{x} and true", False),
            ("true and {x}", False),
            ("{x} or false", False),
            ("false or {x}", False),
            ("{x} or true", True),
        ],
        id="not x, x and y, x or y: null counts as false",
    ),
    pytest.param(
        [("{x} + 1", None), ("{x}.field", None), ("{x}.trim()", None), ("{x}.length", None), ("{x}[0]", None)],
        id="x + 1, x.field, x.method(), x.length, x[0]: null",
    ),
    pytest.param([("{x} ?? 5", 5), ('{x} ?? "d"', "d")], id="x ?? d: d"),
    pytest.param([("1 in {x}", None), ('"a" in {x}', None)], id="v in x: null"),
    pytest.param([("{x}", "rule fails"), ("{x} + 1", "rule fails"), ("{x}.length", "rule fails")], id="null rule"),
]


@pytest.mark.parametrize("missing", ['custom("missing")', 'custom("nothing")', "entity.description()"])
@pytest.mark.parametrize("cases", MISSING_VALUE_ROWS)
def test_missing_values_table(ctx, cases, missing):
    ctx.description = ""  # an empty description is null
    for template, expected in cases:
        source = template.replace("{x}", missing)
        if expected == "rule fails":
            compiled = compile_expression(source)
            assert compiled.evaluate(ctx) is None, source
            assert compiled.check(ctx) is False, source  # fails, and raises nothing
        else:
            assert run(source, ctx) == expected, source
            assert type(run(source, ctx)) is type(expected), source


def test_a_missing_runtime_is_not_python2(ctx):
    del ctx.custom["runtime"]
    assert compile_expression('custom("runtime") != "python2"').check(ctx) is True
    both = 'custom("runtime") != null and custom("runtime") != "python2"'
    assert compile_expression(both).check(ctx) is False
    ctx.custom["runtime"] = "python2"
    assert compile_expression('custom("runtime") != "python2"').check(ctx) is False
    ctx.custom["runtime"] = "python3"
    assert compile_expression(both).check(ctx) is True


# ---------------------------------------------------------------------------- 2. named arguments
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("deploys().length", 6),
        ('deploys(lookback = duration("P7D")).length', 3),
        ('deploys(lookback=duration("P30D")).map(d => d.uuid)', ["d1", "d2", "d3", "d4", "d5"]),
        ('deploys(lookback = duration("P7D"), types = ["DEPLOY"]).map(d => d.uuid)', ["d1", "d2"]),
        ('deploys(types = "ROLLBACK").map(d => d.uuid)', ["d3"]),
        ('deploys(environments = "staging").map(d => d.uuid)', ["d2", "d5"]),
        ('deploys(environments = ["staging", "prod"]).length', 6),
        ('deploys(lookback = duration("P7D"), environments = "prod", types = "DEPLOY").map(d => d.uuid)', ["d1"]),
        ('deploys(lookback = duration("P1D")).length', 1),  # exactly at the boundary: included
        ('deploys(lookback = duration("PT1H")).length', 0),
        ('deploys(\n  lookback = duration("P7D")\n).length', 3),
        ('deploys(lookback = duration("P7D")).first().customData.pipeline', "main"),
        # positional arguments in order lookback, types, environments
        ('deploys(duration("P7D")).length', 3),
        ('deploys(duration("P7D"), "DEPLOY").map(d => d.uuid)', ["d1", "d2"]),
        ('deploys(duration("P30D"), ["DEPLOY"], "staging").map(d => d.uuid)', ["d2", "d5"]),
        ('deploys(duration("P30D"), types = ["DEPLOY"], environments = "staging").map(d => d.uuid)', ["d2", "d5"]),
        # customEvents(lookback=, types=)
        ("customEvents().length", 3),
        ('customEvents(lookback = duration("P7D")).map(e => e.uuid)', ["e1", "e3"]),
        ('customEvents(types = "INCIDENT").map(e => e.uuid)', ["e1", "e2"]),
        ('customEvents(lookback = duration("P7D"), types = ["INCIDENT"]).map(e => e.uuid)', ["e1"]),
        ('customEvents(duration("P7D"), "AUDIT").map(e => e.uuid)', ["e3"]),
        # customMetrics(key=, lookback=)
        ('customMetrics(key = "latency").length', 3),
        ('customMetrics(key = "latency", lookback = duration("P7D")).map(m => m.value).average()', 100.0),
        ('customMetrics(lookback = duration("P7D"), key = "latency").map(m => m.value).max()', 120.0),
        ('customMetrics("latency", duration("P7D")).length', 2),
        ('customMetrics("errors").first().value', 2.0),
        ('customMetrics(key = "unknown").length', 0),
    ],
)
def test_named_arguments_over_catalog_data(ctx, source, expected):
    assert run(source, ctx) == expected


def test_positional_and_named_arguments_agree(ctx):
    named = run('deploys(lookback = duration("P30D"), types = "DEPLOY", environments = "prod")', ctx)
    positional = run('deploys(duration("P30D"), "DEPLOY", "prod")', ctx)
    assert named == positional == [row for row in ctx.data["deploys"] if row["uuid"] in ("d1", "d4")]


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ('deploys(lookback = duration("P7D"))', "deploys"),
        ('customEvents(types = "X")', "custom_events"),
        ('customMetrics(key = "latency")', "custom_metrics"),
        ("deploys.frequency", "deploys"),
        ("dependencies.out()", "dependencies_out"),
        ("dependencies.in()", "dependencies_in"),
        ('entity.destinations(relationshipType = "x")', "destinations"),
        ("entity.sources()", "sources"),
    ],
)
def test_catalog_data_is_a_required_fact(source, kind):
    assert compile_expression(source).required_facts == {("catalog", kind)}


@pytest.mark.parametrize(
    ("source", "column", "fragments"),
    [
        ("deploys(foo = 1)", 9, ["'foo'", "lookback=", "types=", "environments="]),
        ('deploys(lookback = duration("P7D"), environment = "prod")', 37, ["'environment'", "environments="]),
        ('customEvents(environments = "prod")', 14, ["'environments'", "lookback=", "types="]),
        ('customMetrics(name = "latency")', 15, ["'name'", "key=", "lookback="]),
        ('entity.destinations(type = "x")', 21, ["'type'", "relationshipType="]),
        ('git.codeSearch(query = "x", foo = "y")', 29, ["'foo'", "query=", "fileExtension=", "path="]),
    ],
)
def test_unknown_named_argument(source, column, fragments):
    error = syntax_error(source)
    assert (error.line, error.column) == (1, column), error
    for fragment in fragments:
        assert fragment in error.message, error.message


@pytest.mark.parametrize(
    ("source", "column"),
    [
        ('deploys(lookback = duration("P7D"), lookback = duration("P1D"))', 37),
        ('deploys(duration("P7D"), lookback = duration("P1D"))', 26),
        ('customEvents(types = "A", types = "B")', 27),
        ('customMetrics(key = "a", key = "b")', 26),
    ],
)
def test_repeated_argument(source, column):
    error = syntax_error(source)
    assert (error.line, error.column) == (1, column), error
    assert "twice" in error.message


@pytest.mark.parametrize(
    "source",
    ["customMetrics()", 'customMetrics(lookback = duration("P7D"))', "customMetrics().length > 0"],
)
def test_custom_metrics_needs_a_key(source):
    error = syntax_error(source)
    assert "customMetrics() needs key=" in error.message
    assert (error.line, error.column) == (1, 1)


@pytest.mark.parametrize(
    ("source", "column", "fragment"),
    [
        ('custom(key = "x")', 8, "custom() takes no named argument 'key'"),
        ('custom("a", key = "b")', 13, "custom() takes no named argument 'key'"),
        ("now(x = 1)", 5, "now() takes no named argument 'x'"),
        ('tag(x = "a")', 5, "tag() takes no named argument 'x'"),
        ('hasGroup(name = "x")', 10, "hasGroup() takes no named argument 'name'"),
        ("entity.tag(x = 1)", 12, "entity.tag() takes no named argument 'x'"),
        ('git.fileExists(path = "README.md")', 16, "git.fileExists() takes no named argument 'path'"),
        ("[1].any(x = 1)", 9, "any() takes no named argument 'x'"),
    ],
)
def test_named_argument_to_a_function_that_takes_none(source, column, fragment):
    error = syntax_error(source)
    assert (error.line, error.column) == (1, column), error
    assert fragment in error.message


def test_positional_after_named_and_too_many_arguments():
    assert "positional argument after a named one" in syntax_error('deploys(types = "A", duration("P7D"))').message
    assert "at most 3 arguments" in syntax_error('deploys(duration("P7D"), "A", "prod", 1)').message
    assert "no function argument" in syntax_error("deploys(x => true)").message


@pytest.mark.parametrize(
    "source",
    [
        "deploys(lookback = (x) => x)",
        "customEvents(types = x => x)",
        "customMetrics(key = x => x)",
        "entity.destinations(relationshipType = x => x)",
        "git.codeSearch(query = x => x)",
    ],
)
def test_a_function_given_as_a_named_argument_is_a_syntax_error(source):
    # A lambda as the value of a named argument must be refused like a positional one, not crash.
    error = syntax_error(source)
    assert "function" in error.message


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("deploys(lookback = 7)", "lookback needs a duration"),
        ("deploys(types = 1)", "types needs a string or a list of strings"),
        ('customMetrics(key = custom("tier"))', "customMetrics() needs key= a string"),
    ],
)
def test_named_argument_type_errors_are_runtime_errors(ctx, source, fragment):
    assert fragment in runtime_error(source, ctx)


def test_catalog_data_on_an_entity_without_any(bare):
    assert run('deploys(lookback = duration("P7D")).length', bare) == 0
    assert run('customMetrics(key = "latency").map(m => m.value).average()', bare) is None
    assert run('customEvents(types = "INCIDENT").isEmpty()', bare) is True


# -------------------------------------------------------------------------------------- 3. lambdas
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[1, 2, 3].filter((x) => x > 1)", [2, 3]),
        ("[1, 2, 3].filter(x => x > 1)", [2, 3]),
        ("[1, 2, 3].filter( ( x ) =>x>1 )", [2, 3]),
        ("[[1, 2], [3]].any(x => x.any(x => x > 2))", True),
        ("[[1, 2], [2]].any(x => x.any(x => x > 2))", False),
        ("[[1, 2], [3]].map(x => [x.any(x => x > 2), x.length])", [[False, 2], [True, 1]]),
        ("[[1]].any(x => x.any(x => x == 1) and x.length == 1)", True),
        ("[[1, 2], [3, 4]].map(x => x.map(y => y * x.length).sum())", [6, 14]),
        ("[[1, 5], [3]].filter((x) => x.any(y => y > x.length))", [[1, 5], [3]]),
        ("[1, 2].map((a) => [10, 20].map(b => a + b))", [[11, 21], [12, 22]]),
        ("[1, 2, 3].filter(x => x > 1).map(x => x * 10)", [20, 30]),
        # parameter names that are also names of the language: the parameter wins inside the lambda
        ("[1, 2].filter(custom => custom > 1)", [2]),
        ("[1, 2].filter(tag => tag > 1)", [2]),
        ("[1, 2].map(now => now + 1)", [2, 3]),
        ("[1].map(jira => jira + 1)", [2]),
        ('[" a "].map(git => git.trim())', ["a"]),
        ('[{"x": 1}].map(entity => entity.x)', [1]),
        ('["d"].map(description => description)', ["d"]),
        ('[{"frequency": 3}].any(deploys => deploys.frequency > 1)', True),
        ('[{"enabled": false}].any(git => git.enabled)', False),
        ("[1].map(ownership => ownership)", [1]),
        # the name is a parameter only inside its lambda
        ("[1].map(tag => tag) + [tag()]", [1, "payments-api"]),
        ("[1].any(description => description == 1) and description != null", True),
    ],
)
def test_lambdas(ctx, source, expected):
    assert run(source, ctx) == expected


def test_a_lambda_reads_the_element_and_the_entity(ctx):
    assert run('ownership.allOwners().any(o => o.type == "group" and o.name == "payments-team")', ctx) is True
    assert run('["payments-api", "x"].filter(t => t == entity.tag())', ctx) == ["payments-api"]


@pytest.mark.parametrize("source", ["[1].any((x, x) => x > 0)", "[1].any((a, b, a) => true)"])
def test_duplicate_parameter_names_are_refused(source):
    assert "different names" in syntax_error(source).message


@pytest.mark.parametrize(
    "source",
    ["x => x", "(x) => x > 1", "[x => x]", "{a: x => 1}", 'custom("a") == (x => x)', "[1].map((x => x))"],
)
def test_a_lambda_outside_a_call_is_refused(source):
    syntax_error(source)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("[1, 2].filter(x => x + 1)", "the function given to filter() must give true or false, got number"),
        ('[1].filter(x => "yes")', "the function given to filter() must give true or false, got string"),
        ("[1].any(x => 1)", "the function given to any() must give true or false, got number"),
        ('[1].all(x => "a")', "the function given to all() must give true or false, got string"),
        ("[1].none(x => [])", "the function given to none() must give true or false, got list"),
        ("[1].count(x => 2)", "the function given to count() must give true or false, got number"),
    ],
)
def test_a_predicate_that_is_not_boolean_is_a_runtime_error(ctx, source, fragment):
    message = runtime_error(source, ctx)
    assert fragment in message
    assert "(at column" in message


def test_a_null_predicate_counts_as_false(ctx):
    assert run("[null, true].filter(x => x)", ctx) == [True]
    assert run('[1, 2].map(x => custom("missing")).any(v => v)', ctx) is False


def test_a_lambda_with_the_wrong_number_of_parameters(ctx):
    assert "takes 2 arguments, got 1" in runtime_error("[1].any((a, b) => true)", ctx)


# -------------------------------------------------------------------------- 4. list and string methods
# Every method of the README's "lists" row: (source on a list, expected), (on an empty list, expected),
# and a receiver of the wrong type.
LIST_METHODS = [
    ("any", "[1, 2].any(x => x > 1)", True, "[].any(x => true)", False),
    ("all", "[1, 2].all(x => x > 1)", False, "[].all(x => false)", True),
    ("none", "[1, 2].none(x => x > 5)", True, "[].none(x => true)", True),
    ("filter", "[1, 2, 3].filter(x => x != 2)", [1, 3], "[].filter(x => true)", []),
    ("map", "[1, 2].map(x => x * 2)", [2, 4], "[].map(x => x)", []),
    ("count", "[1, 2, 3].count()", 3, "[].count()", 0),
    ("count", "[1, 2, 3].count(x => x > 1)", 2, "[].count(x => true)", 0),
    ("sum", "[1, 2, 3].sum()", 6, "[].sum()", 0),
    ("sum", "[1, 2, 3].sum(x => x * 2)", 12, "[].sum(x => x)", 0),
    ("average", "[1, 2, 3, 4].average()", 2.5, "[].average()", None),
    ("average", "[1, 2].average(x => x * 2)", 3.0, "[].average(x => x)", None),
    ("min", "[3, 1, 2].min()", 1, "[].min()", None),
    ("min", "[3, 1, 2].min(x => -x)", -3, "[].min(x => x)", None),
    ("max", "[3, 1, 2].max()", 3, "[].max()", None),
    ("max", "[1, 2].max(x => x * 10)", 20, "[].max(x => x)", None),
    ("anyMatch", '["ab", "cd"].anyMatch("c.")', True, '[].anyMatch("x")', False),
    ("allMatch", '["ab", "cd"].allMatch("[a-d]+")', True, '[].allMatch("x")', True),
    ("noneMatch", '["ab", "cd"].noneMatch("x.*")', True, '[].noneMatch("x")', True),
    ("flatten", "[1, [2, 3], [[4]]].flatten()", [1, 2, 3, [4]], "[].flatten()", []),
    ("distinct", "[1, 2, 1, 3, 2].distinct()", [1, 2, 3], "[].distinct()", []),
    ("first", "[1, 2].first()", 1, "[].first()", None),
    ("last", "[1, 2].last()", 2, "[].last()", None),
    ("sort", '["b", "c", "a"].sort()', ["a", "b", "c"], "[].sort()", []),
    ("reverse", "[1, 2, 3].reverse()", [3, 2, 1], "[].reverse()", []),
    ("take", "[1, 2, 3].take(2)", [1, 2], "[].take(2)", []),
    ("join", '["a", "b"].join("-")', "a-b", '[].join("-")', ""),
    ("isEmpty", "[1].isEmpty()", False, "[].isEmpty()", True),
    ("contains", "[1, 2].contains(2)", True, "[].contains(1)", False),
    ("length", "[1, 2].length", 2, "[].length", 0),
]


@pytest.mark.parametrize(
    ("source", "expected"),
    [pytest.param(source, expected, id=source) for _, source, expected, _, _ in LIST_METHODS]
    + [pytest.param(source, expected, id=source) for _, _, _, source, expected in LIST_METHODS],
)
def test_list_methods(ctx, source, expected):
    value = run(source, ctx)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("method", "source"), [(method, source) for method, source, _, _, _ in LIST_METHODS])
def test_list_methods_on_null_give_null(ctx, method, source):
    receiver = source.split(f".{method}", 1)[0]
    null_source = source.replace(receiver, 'custom("missing")', 1)
    assert null_source.startswith('custom("missing").')
    assert run(null_source, ctx) is None


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ('custom("tier").any(x => true)', "any() works on lists, got number"),
        ('custom("tier").all(x => true)', "all() works on lists, got number"),
        ('custom("tier").none(x => true)', "none() works on lists, got number"),
        ('"abc".filter(x => true)', "filter() works on lists, got string"),
        ('"abc".map(x => x)', "map() works on lists, got string"),
        ('custom("tier").count()', "count() works on lists, got number"),
        ('"abc".count(x => true)', "count() works on lists, got string"),
        ('"abc".sum()', "sum() works on lists, got string"),
        ('["a", "b"].sum()', "sum() needs numbers, got string"),
        ('"abc".average()', "average() works on lists, got string"),
        ('["a"].average()', "average() needs numbers, got string"),
        ('"abc".min()', "min() works on lists, got string"),
        ('"abc".max()', "max() works on lists, got string"),
        ('"abc".anyMatch("a")', "anyMatch() works on lists, got string"),
        ('"abc".allMatch("a")', "allMatch() works on lists, got string"),
        ('"abc".noneMatch("a")', "noneMatch() works on lists, got string"),
        ('"abc".flatten()', "flatten() works on lists, got string"),
        ('"abc".distinct()', "distinct() works on lists, got string"),
        ('"abc".first()', "first() works on lists, got string"),
        ('"abc".last()', "last() works on lists, got string"),
        ('"abc".sort()', "sort() works on lists, got string"),
        ('custom("tier").reverse()', "reverse() works on lists, got number"),
        ('"abc".take(1)', "take() works on lists, got string"),
        ('[1, 2].take("a")', "take() needs a whole number, got string"),
        ('"abc".join(",")', "join() works on lists, got string"),
        ("[1].join(1)", "join() needs a string separator, got number"),
        ('custom("tier").isEmpty()', "isEmpty() works on lists, got number"),
        ('custom("tier").contains(1)', "number has no contains()"),
        ('custom("tier").length', "number has no length"),
    ],
)
def test_list_methods_on_the_wrong_type(ctx, source, fragment):
    message = runtime_error(source, ctx)
    assert fragment in message, message
    assert "(at column" in message


def test_count_without_and_with_a_function(ctx):
    assert run("[1, null, 3].count()", ctx) == 3
    assert run("[1, null, 3].count(x => x != null)", ctx) == 2
    assert run('links().count(l => l.type == "runbook")', ctx) == 1
    assert run("links().count()", ctx) == run("links().length", ctx) == 3


def test_sum_and_average_with_a_function(ctx):
    assert run('customMetrics(key = "latency").sum(m => m.value)', ctx) == 600.0
    assert run('customMetrics(key = "latency").average(m => m.value)', ctx) == 200.0
    assert run('customMetrics(key = "nothing").average(m => m.value)', ctx) is None
    assert run('customMetrics(key = "nothing").sum(m => m.value)', ctx) == 0


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('["b", "a", "c"].min()', "a"),
        ('["b", "a", "c"].max()', "c"),
        ('["payments", "Payments", "api"].min()', "Payments"),
        ("links().max(l => l.name)", "Runbook"),
        ("[1, 2.5].min()", 1),
        ("[1, 2.5].max()", 2.5),
        ("[1, null, 3].min()", 1),
        ('[duration("P1D"), duration("PT1H")].max() == duration("P1D")', True),
        ('[semver("1.2.0"), semver("1.10.0")].max() == semver("1.10.0")', True),
    ],
)
def test_min_and_max_of_strings_and_other_kinds(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    "source",
    [
        '[1, "a"].min()',
        '["a", 1].max()',
        "[true, false].max()",
        '[semver("1.0.0"), 1].max()',
        # a semver against a string that is no version: a type error, never a Python exception
        '[semver("1.0.0"), "abc"].max()',
        '["abc", semver("1.0.0")].min()',
        '[semver("1.0.0"), "abc"].sort()',
        '[1, "a"].sort()',
    ],
)
def test_min_max_and_sort_of_mixed_types_are_runtime_errors(ctx, source):
    runtime_error(source, ctx)


def test_join_writes_values_as_the_language_does(ctx):
    # true, null and numbers are written as CQL writes them, not as Python's True and None
    assert run('[true, null, 1.5, 2, "a"].join(",")', ctx) == "true,null,1.5,2,a"
    assert run("[1, 2].join()", ctx) == "1,2"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('links().anyMatch("https://grafana\\.example\\.com/.*")', True),
        ('links().anyMatch(".*wiki.*")', True),
        ('links().anyMatch("Grafana")', False),  # matched by url, not by name
        ('links().anyMatch("grafana")', False),  # the whole url must match
        ('links().allMatch("https://.*")', True),
        ('links().noneMatch(".*jira.*")', True),
        ('links("runbook").anyMatch(".*/payments")', True),
        ('links("dashboard").allMatch(".*wiki.*")', False),
    ],
)
def test_any_match_on_links_matches_the_url(ctx, source, expected):
    assert run(source, ctx) is expected


# Every method of the README's "strings" row: (source, expected), (on the empty string, expected),
# and a receiver of the wrong type.
STRING_METHODS = [
    ("matches", '"hello".matches("h.*o")', True, '"".matches("a")', False),
    ("matches", '"hello".matches("ell")', False, '"".matches("")', True),
    ("matchesIn", '"hello world".matchesIn("lo w")', True, '"".matchesIn("a")', False),
    ("contains", '"hello".contains("ell")', True, '"".contains("a")', False),
    ("startsWith", '"hello".startsWith("he")', True, '"".startsWith("a")', False),
    ("endsWith", '"hello".endsWith("lo")', True, '"".endsWith("a")', False),
    ("toLowerCase", '"HeLLo".toLowerCase()', "hello", '"".toLowerCase()', ""),
    ("toUpperCase", '"HeLLo".toUpperCase()', "HELLO", '"".toUpperCase()', ""),
    ("trim", '"  a b \\t".trim()', "a b", '"".trim()', ""),
    ("split", '"a,b,,c".split(",")', ["a", "b", "", "c"], '"".split(",")', [""]),
    ("replace", '"a-b-a".replace("a", "x")', "x-b-x", '"".replace("a", "b")', ""),
    ("length", '"hello".length', 5, '"".length', 0),
]


@pytest.mark.parametrize(
    ("source", "expected"),
    [pytest.param(source, expected, id=source) for _, source, expected, _, _ in STRING_METHODS]
    + [pytest.param(source, expected, id=source) for _, _, _, source, expected in STRING_METHODS],
)
def test_string_methods(ctx, source, expected):
    value = run(source, ctx)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("method", "source"), [(method, source) for method, source, _, _, _ in STRING_METHODS])
def test_string_methods_on_null_give_null(ctx, method, source):
    null_source = 'custom("missing")' + source[source.index(f".{method}") :]
    assert run(null_source, ctx) is None


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ('[1].matches("a")', "matches() works on strings, got list"),
        ('custom("tier").matchesIn("a")', "matchesIn() works on strings, got number"),
        ('custom("tier").contains("a")', "number has no contains()"),
        ('"abc".contains(1)', "string.contains() needs a string, got number"),
        ('[1].startsWith("a")', "startsWith() works on strings"),
        ('"abc".startsWith(1)', "startsWith() works on strings"),
        ('[1].endsWith("a")', "endsWith() works on strings"),
        ("[1].toLowerCase()", "toLowerCase() works on strings, got list"),
        ("[1].toUpperCase()", "toUpperCase() works on strings, got list"),
        ("[1].trim()", "trim() works on strings, got list"),
        ('[1].split(",")', "split() works on strings, got list"),
        ('"abc".split("")', "split() needs a non-empty string separator"),
        ('[1].replace("a", "b")', "replace() works on strings, got list"),
        ('"abc".replace(1, "b")', "replace() needs two strings"),
        ('custom("tier").length', "number has no length"),
    ],
)
def test_string_methods_on_the_wrong_type(ctx, source, fragment):
    message = runtime_error(source, ctx)
    assert fragment in message, message
    assert "(at column" in message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('"hello world".matchesIn("o w")', True),
        ('"hello world".matchesIn("^world")', False),
        ('"hello world".matchesIn("world$")', True),
        ('"ai-model:fraud".matchesIn("ai-model:")', True),
        ('"hello world".matches("o w")', False),
        ('"hello world".matches(".*o w.*")', True),
    ],
)
def test_matches_in_finds_the_regex_anywhere(ctx, source, expected):
    assert run(source, ctx) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('datetime("2024-05-31T12:00:00Z").fromNow()', timedelta(days=-1)),
        ('datetime("2024-06-02T00:00:00Z").fromNow()', timedelta(hours=12)),
        ('"2024-05-31T12:00:00Z".fromNow()', timedelta(days=-1)),
        ("now().fromNow()", timedelta(0)),
        ('datetime("2024-04-01T12:00:00Z").fromNow() > duration("P-90D")', True),
        ('datetime("2024-03-03T12:00:00Z").fromNow() > duration("P-90D")', False),  # exactly 90 days ago
        ('datetime("2024-01-01T00:00:00Z").fromNow() < duration("-P90D")', True),
        ('custom("missing").fromNow()', None),
    ],
)
def test_from_now_is_the_date_minus_now(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "fragment"),
    [('custom("tier").fromNow()', "fromNow() works on date-times, got number"), ('"soon".fromNow()', "ISO-8601")],
)
def test_from_now_on_the_wrong_type(ctx, source, fragment):
    assert fragment in runtime_error(source, ctx)


# --------------------------------------------------------------------------- 5. maps and indexing
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{"a": 1, b: [1, 2]}', {"a": 1, "b": [1, 2]}),
        ("{}", {}),
        ('{"a": 1, b: [1, 2]}.b', [1, 2]),
        ('{"a": 1, b: [1, 2]}["a"]', 1),
        ('{"a": 1, b: [1, 2]}["b"][1]', 2),
        ('{"a b": 1}["a b"]', 1),
        ('{"a": 1}["z"]', None),
        ('{"a": 1}.z', None),
        ('{"a": 1}[1]', None),
        ('{"x": {"y": [10, 20]}}["x"]["y"][-1]', 20),
        ('{"tier": custom("tier"), "tag": tag()}', {"tier": 1, "tag": "payments-api"}),
        ('{"a": custom("missing")}', {"a": None}),
        ("{a: 1}.a + 1", 2),
        ('{"a": 1} == {"a": 1}', True),
        ('{"a": 1}.length', 1),
        ("[1, 2, 3][0]", 1),
        ("[1, 2, 3][2]", 3),
        ("[1, 2, 3][-1]", 3),
        ("[1, 2, 3][-3]", 1),
        ("[1, 2, 3][3]", None),
        ("[1, 2, 3][-4]", None),
        ("[][0]", None),
        ("[1, 2, 3][1 + 1]", 3),
        ("[1, 2, 3][1.0]", 2),
        ('custom("tags")[0]', "pci"),
        ('custom("tags")[-1]', "public"),
        ('custom("missing")["a"]', None),
        ("links()[0].type", "runbook"),
        ('entity.descriptor()["info"]["x-cortex-tag"]', "payments-api"),
    ],
)
def test_map_literals_and_indexing(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("[1, 2, 3][1.5]", "needs a whole number"),
        ('[1, 2, 3]["a"]', "needs a whole number, got string"),
        ("[1, 2][true]", "needs a whole number, got boolean"),
        ('"abc"[0]', "got string"),
        ('custom("tier")[0]', "got number"),
    ],
)
def test_indexing_type_errors(ctx, source, fragment):
    assert fragment in runtime_error(source, ctx)


# ----------------------------------------------------------------------- 6. namespaces as values
def test_git_as_a_value(ctx):
    assert run("git != null", ctx) is True
    assert run("git == null", ctx) is False
    ctx.repository = ""
    assert run("git != null", ctx) is False
    assert run("git == null", ctx) is True


def test_ownership_and_oncall_as_values(ctx, bare):
    assert run("ownership != null", ctx) is True
    assert run("ownership != null", bare) is False
    assert run("oncall != null", ctx) is True
    assert run("oncall != null", bare) is False
    assert run("oncall.details().id", ctx) == "P123"
    assert run("oncall.id", ctx) == "P123"


def test_sonarqube_as_a_value(ctx):
    assert compile_expression("sonarqube != null").required_facts == {("sonarqube", "project")}
    assert run("sonarqube != null", ctx) is True
    ctx.facts[("sonarqube", "project")] = (None, "")
    assert run("sonarqube != null", ctx) is False


@pytest.mark.parametrize(
    ("source", "integration"),
    [
        ("jira != null", "jira"),
        ("jira.numOfIssues() == 0", "jira"),
        ('jira.numOfIssues(jql = "status = Open") == 0', "jira"),
        ("snyk.numOfIssues()", "snyk"),
        ("datadog.monitors().length > 0", "datadog"),
        ("k8s != null", "k8s"),
        ("pagerduty != null", "pagerduty"),
        ('git.pullRequests().filter((pr) => pr.status == "OPEN").length <= 5', "git-provider"),
        ("git.numOfVulnerabilities() == 0", "git-provider"),
        ("git.numOfRequiredApprovals() >= 1", "git-provider"),
    ],
)
def test_integrations_without_a_collector_are_not_configured(ctx, bare, source, integration):
    for entity in (ctx, bare):
        error = not_configured(source, entity)
        assert error.integration == integration
        assert str(error) == f"integration not configured: {integration}"
        with pytest.raises(IntegrationNotConfigured):
            compile_expression(source).check(entity)


def test_oncall_analysis_names_the_provider(ctx):
    source = 'oncall.analysis(lookback = duration("P1W")).meanSecondsToFirstAck < 300'
    error = not_configured(source, ctx)
    assert error.integration == "pagerduty"
    assert str(error).startswith("integration not configured: pagerduty")
    ctx.oncall = {"provider": "OPSGENIE", "id": "x"}
    assert not_configured(source, ctx).integration == "opsgenie"


def test_oncall_analysis_without_oncall_is_null(ctx):
    source = 'oncall.analysis(lookback = duration("P1W")).meanSecondsToFirstAck < 300'
    ctx.oncall = None
    compiled = compile_expression(source)
    assert compiled.evaluate(ctx) is False
    assert compiled.check(ctx) is False
    assert run('oncall.analysis(lookback = duration("P1W"))', ctx) is None


def test_verifications_are_not_configured(ctx):
    error = not_configured('verifications().lastVerifiedAt().fromNow() > duration("P-90D")', ctx)
    assert str(error).startswith("integration not configured: verifications")


@pytest.mark.parametrize(
    "source",
    [
        "jira != null and true",
        "true and jira != null",
        "jira != null or true",
        "false or jira.numOfIssues() > 1",
        "not (jira.numOfIssues() == 1)",
        "jira.numOfIssues() + 1 > 0",
        "jira.numOfIssues() ?? 0",
        'jira.numOfIssues() == "x"',
        "[1].any(x => jira.numOfIssues() == x)",
        "1 in jira.issues()",
        "jira.issues()[0]",
        "jira.issues().length > 0",
    ],
)
def test_not_configured_passes_through_operators_unchanged(ctx, source):
    error = not_configured(source, ctx)
    assert type(error) is IntegrationNotConfigured
    assert str(error) == "integration not configured: jira"  # no "(at column n)" added


def test_configured_restricts_the_integrations(ctx):
    source = 'sonarqube.metric("coverage") > 80'
    ctx.configured = frozenset({"git"})
    assert str(not_configured(source, ctx)) == "integration not configured: sonarqube"
    assert str(not_configured("sonarqube != null", ctx)) == "integration not configured: sonarqube"
    ctx.configured = frozenset({"git", "sonarqube"})
    assert run(source, ctx) is True
    ctx.configured = None
    assert run(source, ctx) is True
    assert run('sonarqube.metric("coverage")', ctx) == 82.5


def test_a_configured_integration_reads_its_fact(ctx):
    ctx.facts[("jira", "numOfIssues()")] = (0, "")
    ctx.configured = frozenset({"jira"})
    assert run("jira.numOfIssues() == 0", ctx) is True
    ctx.configured = None
    assert run("jira.numOfIssues() == 0", ctx) is True


# ------------------------------------------------------------------------------------ 7. CQL v1
def test_cql_v1_names(ctx, bare):
    assert run("description != null", ctx) is True
    assert run("description != null", bare) is False
    assert run("documentation.count > 0", ctx) is True
    assert run("documentation.count", ctx) == 1
    assert run("documentation.count > 0", bare) is False
    assert run("runbooks.count > 0", ctx) is True
    assert run("runbooks.count", bare) == 0
    assert run("git.enabled", ctx) is True
    assert run("git.enabled", bare) is False


def test_cql_v1_deploys_frequency_is_deploys_a_week_over_30_days(ctx, bare):
    # five deploys in the last 30 days (d6 is older): 5 / (30 / 7) a week
    assert run("deploys.frequency", ctx) == pytest.approx(5 * 7 / 30, abs=0.01)
    assert run("deploys.frequency >= 1", ctx) is True
    ctx.data["deploys"] = ctx.data["deploys"][1:]  # four: 0.93 a week
    assert run("deploys.frequency >= 1", ctx) is False
    assert run("deploys.frequency", bare) == 0


# ------------------------------------------------------------------------- 8. entity functions
def test_top_level_entity_functions(ctx):
    assert run('hasGroup("tier-1")', ctx) is True
    assert run('hasGroup("x")', ctx) is False
    assert run('hasGroup("tier-1") == entity.hasGroup("tier-1")', ctx) is True
    assert run("tag()", ctx) == "payments-api"
    assert run("tag() == entity.tag()", ctx) is True
    assert run("groups().map(g => g.name)", ctx) == ["tier-1", "ai-model:fraud-score"]
    assert run('groups().any((group) => group.name.matchesIn("ai-model:"))', ctx) is True
    ctx.groups = ("tier-1",)
    ctx.group_set = frozenset(ctx.groups)
    assert run('groups().any((group) => group.name.matchesIn("ai-model:"))', ctx) is False


def test_entity_descriptor_with_jq(ctx, bare):
    assert run("entity.descriptor()", ctx) == ctx.descriptor
    assert run('jq(entity.descriptor(), ".info[\\"x-cortex-tag\\"]")', ctx) == "payments-api"
    assert run('jq(entity.descriptor(), ".info[\\"x-cortex-custom-metadata\\"].tier") == 1', ctx) is True
    assert run('jq(entity.descriptor(), ".info | keys") .contains("x-cortex-type")', ctx) is True
    assert run('jq(entity.descriptor(), ".openapi") != null', ctx) is True
    assert run("entity.descriptor()", bare) is None
    assert run('jq(entity.descriptor(), ".info.title")', bare) is None


def test_entity_relations(ctx):
    assert run('entity.destinations(relationshipType = "writes-to").map(d => d.tag)', ctx) == ["ledger"]
    assert run("entity.destinations().length", ctx) == 2
    assert run('entity.destinations(relationshipType = "none").length', ctx) == 0
    assert run('entity.sources(relationshipType = ["calls", "triggers"]).map(s => s.tag)', ctx) == [
        "checkout",
        "scheduler",
    ]
    assert run('entity.sources("triggers").map(s => s.tag)', ctx) == ["scheduler"]


def test_dependencies(ctx, bare):
    assert run('dependencies.out().any((d) => d.type == "AWS::S3::Bucket")', ctx) is True
    assert run('dependencies.out().any((d) => d.type == "AWS::S3::Bucket")', bare) is False
    assert run("dependencies.in().length", ctx) == 2
    assert run("dependencies.in().length", bare) == 0
    assert run("dependencies.in().map(d => d.tag)", ctx) == ["checkout", "mobile-app"]


# --------------------------------------------------------------------- 9. comment-only expressions
@pytest.mark.parametrize(
    "source",
    [
        "/* Replace with ... */",
        "/* Replace with your disaster recovery plan tracking metric */",
        "// TODO: write the check",
        "/* one */\n// two\n",
    ],
)
def test_a_comment_only_expression_is_a_placeholder(ctx, source):
    compiled = compile_expression(source)
    assert compiled.placeholder is True
    assert compiled.required_facts == frozenset()
    with pytest.raises(IntegrationNotConfigured) as info:
        compiled.evaluate(ctx)
    assert str(info.value) == "not configured: the expression is only a comment, not a check yet"
    with pytest.raises(IntegrationNotConfigured):
        compiled.check(ctx)


def test_a_commented_expression_is_no_placeholder(ctx):
    compiled = compile_expression("/* has a README */ true")
    assert compiled.placeholder is False
    assert compiled.check(ctx) is True
    assert "never closed" in syntax_error("/* Replace with").message


# ----------------------------------------------------------------------------- 10. negative durations
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('duration("P-90D") == -duration("P90D")', True),
        ('duration("P-90D")', timedelta(days=-90)),
        ('duration("-P1D")', timedelta(days=-1)),
        ('duration("-P1D") == -duration("P1D")', True),
        ('duration("-P1D") < duration("PT0S")', True),
        ('duration("PT-2H")', timedelta(hours=-2)),
        ('duration("P-1DT-2H")', -timedelta(days=1, hours=2)),
        ('duration("P-1W")', timedelta(weeks=-1)),
        ('duration("P-1M")', timedelta(days=-30)),
        ('duration("P-1Y")', timedelta(days=-365)),
        ('duration("+P1D")', timedelta(days=1)),
        ('now() + duration("P-90D") == now() - duration("P90D")', True),
        ('duration(custom("missing"))', None),
    ],
)
def test_negative_durations(ctx, source, expected):
    assert run(source, ctx) == expected


# --------------------------------------------------------------- 11. comparisons inside parentheses
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[true].contains((1 = 1))", True),
        ("[false].contains((1 = 2))", True),
        ("[true].contains((1 == 2))", False),
        ("[1].any(x => [true].contains((x = 1)))", True),
        ("[2].any(x => [false].contains((x = 1)))", True),
        ("[1].any(x => [true].contains((x == 1)))", True),
    ],
)
def test_a_parenthesised_comparison_is_positional(ctx, source, expected):
    assert run(source, ctx) is expected


def test_name_equals_value_directly_in_a_call_is_a_named_argument():
    error = syntax_error("[1].any(x => [true].contains(x = 1))")
    assert "contains() takes no named argument 'x'" in error.message
    assert (error.line, error.column) == (1, 30)
    # `==` is always a comparison, never a named argument
    assert "unknown name 'lookback'" in syntax_error('deploys(lookback == duration("P7D"))').message
