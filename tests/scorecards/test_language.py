"""The rule language (DESIGN §5): parsing, compile-time checks and evaluation. Pure unit tests, no database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from apps.scorecards.language import (
    CompiledExpression,
    EntityFacts,
    RuleRuntimeError,
    RuleSyntaxError,
    SemVer,
    compile_expression,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

PROMQL_ERRORS = 'sum(rate(http_requests_total{code="500"}[5m]))'
PROMQL_P99 = "histogram_quantile(0.99, rate(latency_bucket[5m]))"


def make_entity() -> EntityFacts:
    """A realistic tier-1 Python service, with collected integration facts."""
    return EntityFacts(
        tag="payments-api",
        name="Payments API",
        type="service",
        description="Charges cards.",
        groups=("tier-1", "python"),
        owners=[
            {"type": "group", "name": "payments-team", "description": "Owns the payment flow"},
            {"type": "group", "name": "platform"},
            {"type": "email", "email": "ana@example.com"},
        ],
        links=[
            {"name": "Runbook", "type": "runbook", "url": "https://wiki.example.com/payments"},
            {"name": "Grafana", "type": "dashboard", "url": "https://grafana.example.com/d/payments"},
            {"name": "Failover runbook", "type": "runbook", "url": "https://wiki.example.com/payments/failover"},
        ],
        custom={
            "tier": 1,
            "ratio": 0.75,
            "language": "python",
            "framework": "django",
            "key_name": "language",
            "flag": True,
            "nothing": None,
            "version": "v2.4.1",
            "lastDeploy": "2024-05-30T08:00:00Z",
            "ports": [80, 443],
            "tags": ["pci", "public"],
            "empty_list": [],
            "empty_obj": {},
            "runtime_info": {"app_version": "2.4.1", "replicas": 3, "regions": ["eu", "us"]},
            "jq_program": ".replicas",
            "bad_jq": ".[",
        },
        oncall={"provider": "pagerduty", "id": "P123", "type": "SCHEDULE"},
        slos=[
            {"name": "availability", "target": 99.9, "current": 99.95, "passing": True},
            {"name": "latency", "target": 99.0, "current": 98.1, "passing": False},
        ],
        packages=[
            {"name": "django", "version": "5.1.2", "manager": "pip"},
            {"name": "celery", "version": "5.4.0", "manager": "pip"},
            {"name": "requests", "version": "2.33.0-rc.1", "manager": "pip"},
        ],
        facts={
            ("git", "fileExists:README.md"): (True, ""),
            ("git", "fileExists:Dockerfile"): (False, ""),
            ("git", "fileContents:README.md"): ("# Payments API\n\nCharges cards.\n", ""),
            ("git", "fileContents:package.json"): ('{"name": "payments-ui", "version": "1.4.0"}', ""),
            ("git", "defaultBranch"): ("main", ""),
            ("sonarqube", "metric:coverage"): (82.5, ""),
            ("sonarqube", "metric:code_smells"): (None, ""),
            ("sonarqube", "metric:bugs"): (None, "SonarQube answered 503 Service Unavailable"),
            ("prometheus", "query:up"): (1.0, ""),
            ("prometheus", f"query:{PROMQL_ERRORS}"): (0.02, ""),
            ("prometheus", f"query:{PROMQL_P99}"): (None, "timeout after 10s"),
        },
        now=NOW,
    )


@pytest.fixture
def ctx() -> EntityFacts:
    return make_entity()


@pytest.fixture
def bare() -> EntityFacts:
    """An entity with nothing declared and no facts collected."""
    return EntityFacts(tag="bare", now=NOW)


def run(source: str, ctx: EntityFacts):
    return compile_expression(source).evaluate(ctx)


def runtime_error(source: str, ctx: EntityFacts) -> str:
    expression = compile_expression(source)  # compiles fine: the problem only shows when evaluated
    with pytest.raises(RuleRuntimeError) as info:
        expression.evaluate(ctx)
    return str(info.value)


def syntax_error(source: str) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as info:
        compile_expression(source)
    return info.value


def assert_syntax_error(source: str, line: int, column: int, fragment: str) -> None:
    error = syntax_error(source)
    assert (error.line, error.column) == (line, column), error
    assert fragment in error.message
    assert str(error) == f"line {line}, column {column}: {error.message}"


def assert_runtime_error(source: str, ctx: EntityFacts, fragment: str, column: int) -> None:
    message = runtime_error(source, ctx)
    assert fragment in message
    assert message.endswith(f"(at column {column})"), message


# --------------------------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        ("3.14", 3.14),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("-1", -1),
        ("- -1", 1),
        ('"hello"', "hello"),
        ("'single'", "single"),
        ('""', ""),
        ("''", ""),
        ('"it\'s"', "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'it\\'s'", "it's"),
        ('"a\\nb"', "a\nb"),
        ('"a\\tb"', "a\tb"),
        ('"back\\\\slash"', "back\\slash"),
        ('"\\d+"', "\\d+"),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[]", []),
        ("[1, 2]", [1, 2]),
        ("[1, 2,]", [1, 2]),
        ('[1, "a", true, null]', [1, "a", True, None]),
        ("[[1], [2, 3], []]", [[1], [2, 3], []]),
        ('["x", custom("language")]', ["x", "python"]),
        ("  1  ", 1),
        ("\n(\n((1))\n)\n", 1),
    ],
)
def test_literals(ctx, source, expected):
    result = run(source, ctx)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("source", "kind"), [("1", int), ("1.0", float), ("1e2", float), ("10 / 5", float)])
def test_number_types(ctx, source, kind):
    assert type(run(source, ctx)) is kind


# ------------------------------------------------------------------------------ arithmetic and precedence


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2", 3),
        ("5 - 7", -2),
        ("3 * 4", 12),
        ("7 / 2", 3.5),
        ("8 / 4", 2.0),
        ("1.5 + 1.5", 3.0),
        ("2 + 3 * 4", 14),
        ("2 * 3 + 4", 10),
        ("(2 + 3) * 4", 20),
        ("2 * (3 + 4) * 5", 70),
        ("1 + 2 * 3 - 4 / 2", 5.0),
        ("10 - 4 - 3", 3),  # left associative
        ("10 - (4 - 3)", 9),
        ("100 / 10 / 5", 2.0),  # left associative
        ("100 / (10 / 5)", 50.0),
        ("2 * 3 * 4", 24),
        ("-2 * 3", -6),
        ("-2 * -3", 6),
        ("2 - -3", 5),
        ("-(2 + 3)", -5),
        ("--2", 2),
        ('"ab" + "cd"', "abcd"),
        ('"a" + "b" + "c"', "abc"),
        ("[1] + [2, 3]", [1, 2, 3]),
        ('entity.tag() + "-prod"', "payments-api-prod"),
        ('custom("tier") + 1', 2),
        ('custom("tier") * 10 - 5', 5),
        ('-custom("tier")', -1),
        ('custom("ratio") * 100', 75.0),
        ('10 - custom("tier") * 2', 8),
        ('custom("ports") + [8080]', [80, 443, 8080]),
    ],
)
def test_arithmetic(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 1 = 2", True),  # arithmetic binds tighter than comparison
        ("2 * 3 > 5", True),
        ("1 < 2 and 2 < 3", True),  # comparison binds tighter than and
        ("1 < 2 && 3 < 2", False),
        ("true or false and false", True),  # and binds tighter than or
        ("true || false && false", True),
        ("(true or false) and false", False),
        ("false and false or true", True),
        ("false and (false or true)", False),
        ("not true or true", True),  # not binds tighter than or
        ("not (true or true)", False),
        ("not false and false", False),
        ("not 1 = 2", True),  # not is looser than comparison: not (1 = 2)
        ("! 1 = 2", True),
        ("not true = false", True),
        ("true and not false", True),
        ("true && !false", True),
        ("not not true", True),
        ("!!false", False),
        ("true and true and false", False),
        ("false or false or true", True),
        ('entity.tag() = "payments-api" and custom("tier") = 1 or false', True),
        ("-1 + 2 = 1", True),
        ("1 - 2 < 0", True),
    ],
)
def test_precedence_and_associativity(ctx, source, expected):
    assert run(source, ctx) is expected


# ------------------------------------------------------------------------------------------ comparisons


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 = 1", True),
        ("1 == 1", True),
        ("1 = 2", False),
        ("1 != 2", True),
        ("1 != 1", False),
        ("1 = 1.0", True),
        ('"a" = "a"', True),
        ('"a" == "b"', False),
        ('"a" = "A"', False),
        ('"1" = 1', False),
        ("1 = true", False),
        ("0 = false", False),
        ("true = true", True),
        ("false != true", True),
        ('"" = null', False),
        ("0 = null", False),
        ("1 < 2", True),
        ("2 < 1", False),
        ("2 <= 2", True),
        ("3 <= 2", False),
        ("3 > 2", True),
        ("2 > 2", False),
        ("2 >= 2", True),
        ("1 >= 2", False),
        ("1.5 < 2", True),
        ("-1 < 0", True),
        ("1<2", True),
        ("1>=1", True),
        ('"abc" < "abd"', True),
        ('"b" > "a"', True),
        ('"a" <= "a"', True),
        ('"B" < "a"', True),  # code-point order
        ('"1.2.3" < "1.10.0"', False),  # plain strings compare as text, see semver() for versions
        ('custom("tier") = 1', True),
        ('custom("tier") >= 1', True),
        ('custom("tier") > 0.5', True),
        ('custom("ratio") < 1', True),
        ('custom("ratio") >= 0.75', True),
        ('custom("tier") < custom("ratio")', False),
        ('1 < custom("tier") + 1', True),
        ('custom("language") = "python"', True),
        ('custom("language") > "go"', True),
        ('custom("flag") = true', True),
        ('custom("runtime_info") = custom("runtime_info")', True),
    ],
)
def test_comparisons(ctx, source, expected):
    assert run(source, ctx) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[1, 2] = [1, 2]", True),
        ("[1, 2] == [2, 1]", False),
        ("[1, 2] != [1, 2, 3]", True),
        ("[] = []", True),
        ('[[1, "a"]] = [[1, "a"]]', True),
        ("[1] = [1.0]", True),
        ("[true] = [1]", False),
        ("[1] = 1", False),
        ("[null] = [null]", True),
        ('entity.groups() = ["tier-1", "python"]', True),
        ('entity.groups() = ["python", "tier-1"]', False),
        ('custom("ports") = [80, 443]', True),
        ('ownership.teams().map(t => t.name) = ["payments-team", "platform"]', True),
        ('custom("empty_list") = []', True),
    ],
)
def test_list_equality(ctx, source, expected):
    assert run(source, ctx) is expected


# ---------------------------------------------------------------------------------------- logic


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("true and true", True),
        ("true and false", False),
        ("false and true", False),
        ("true && true", True),
        ("false && true", False),
        ("true or false", True),
        ("false or false", False),
        ("false || true", True),
        ("not true", False),
        ("not false", True),
        ("!true", False),
        ("!false", True),
        ('entity.tag() = "payments-api"and true', True),
        ("(true)and(false)", False),
    ],
)
def test_boolean_operators(ctx, source, expected):
    assert run(source, ctx) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("true AND false", False),
        ("true And true", True),
        ("false OR true", True),
        ("false oR false", False),
        ("NOT true", False),
        ("Not false", True),
        ('!(entity.tag().matches(".*a.*") OR entity.tag().matches(".*b.*"))', False),
        ('entity.tag() = "payments-api" AND NOT entity.hasGroup("java")', True),
        ("false OR true AND false", False),  # AND binds tighter than OR, as and/or do
        ("(false OR true) AND true", True),
        ("true and false || true && not false", True),  # the spellings mix
    ],
)
def test_boolean_keywords_in_any_case(ctx, source, expected):
    assert run(source, ctx) is expected


@pytest.mark.parametrize(
    ("source", "name"),
    [("order", "order"), ("notes = 1", "notes"), ("android", "android"), ("ANDROID", "ANDROID"), ("Origin", "Origin")],
)
def test_names_that_start_like_keywords_are_names(source, name):
    assert syntax_error(source).message.startswith(f"unknown name {name!r}")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('custom("empty_obj").order = null AND custom("nothing").notes = null', True),
        ('custom("runtime_info").android = null OR false', True),
        ('custom("runtime_info").ORIGIN != null', False),
    ],
)
def test_fields_that_start_like_keywords_are_fields(ctx, source, expected):
    assert run(source, ctx) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 /* one */ + 2", 3),
        ("/* leading */ 1 + 2", 3),
        ("1 + 2 // the rest of the line", 3),
        ("1 +\n// a whole line\n2", 3),
        ("1 /* spans\n   lines */ + 2 /**/", 3),
        ("1 /* * / ** */ + 2", 3),
        ("/* a */ 1 /* b */ + /* c */ 2", 3),  # each block comment ends at the first */
        ("8 / 2 / 2", 2.0),  # a single slash still divides
        ("8 / /* c */ 2", 4.0),
        ('"https://x.example.com"', "https://x.example.com"),  # no comment inside a string
        ('"a /* b */ c"', "a /* b */ c"),
        ("'// not a comment'", "// not a comment"),
        ('links("runbook").length > 0 // the runbook must be linked', True),
        ('custom("tier") = 1 /* tier 1 */ AND\n  custom("language") = "python" // python only', True),
    ],
)
def test_comments_are_ignored(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("null ?? 3", 3),
        ("1 ?? 3", 1),
        ("false ?? true", False),  # only null is replaced, not false
        ('"" ?? "x"', ""),
        ("0 ?? 5", 0),
        ("null ?? null", None),
        ("null ?? null ?? 2", 2),
        ('custom("missing") ?? 80', 80),
        ('custom("nothing") ?? "none"', "none"),
        ('custom("tier") ?? 3', 1),
        ('custom("missing") ?? custom("tier")', 1),
        ('custom("missing") ?? 0 >= 80', False),  # (custom("missing") ?? 0) >= 80
        ('custom("missing") ?? 90 >= 80', True),
        ('80 <= custom("missing") ?? 90', True),
        ('custom("missing") ?? 1 + 2', 3),  # arithmetic binds tighter: missing ?? (1 + 2)
        ('custom("tier") ?? 1 + 2', 1),
        ('(custom("missing") ?? 1) + 2', 3),
        ('custom("flag") ?? false and custom("missing") ?? true', True),
        ('custom("missing") ?? false or custom("missing") ?? false', False),
        ('not custom("missing") ?? false', True),
        ('custom("missing") ?? [1, 2]', [1, 2]),
        ('jq(custom("runtime_info"), ".nope") ?? "default"', "default"),
        ('custom("tier") ?? 1 / 0', 1),  # the right side runs only when the left is null
    ],
)
def test_null_coalescing(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('custom("runtime_info")?.replicas', 3),
        ('custom("runtime_info")?.regions.length', 2),
        ('custom("runtime_info")?.regions?.contains("eu")', True),
        ('custom("missing")?.replicas', None),
        ('custom("missing")?.replicas.deeper', None),
        ('custom("missing")?.length', None),
        ('custom("language")?.length', 6),
        ('custom("language")?.startsWith("py")', True),
        ('custom("nothing")?.matches("x")', None),
        ('custom("missing")?.contains("a" + 1)', None),  # the arguments are skipped too
        ('custom("version")?.contains("2.4")', True),
        ('semver("1.2.3")?.isStable()', True),
        ('custom("missing")?.isStable()', None),
        ('custom("missing")?.replicas ?? 1 >= 1', True),
        ("entity?.tag()", "payments-api"),  # namespaces are never null
        ('git?.fileExists("README.md")', True),
        ('custom("runtime_info") ?.replicas', 3),
    ],
)
def test_safe_access(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ('custom("language")?.contains("a" + 1)', "cannot add string and number"),
        ('custom("tier")?.startsWith("1")', "startsWith"),
        ('custom("missing") ?? "a" + 1 > 2', "cannot add string and number"),
    ],
)
def test_safe_access_and_coalescing_still_report_type_errors(ctx, source, fragment):
    assert fragment in runtime_error(source, ctx)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 in [1, 2]", True),
        ("3 in [1, 2]", False),
        ("3 in []", False),
        ('"a" in ["a", "b"]', True),
        ('"1" in [1, 2]', False),  # as `=`: a string is not a number
        ("null in [1, null]", True),
        ('"pay" in "payments-api"', True),
        ('"Pay" in "payments-api"', False),
        ('"" in "x"', True),
        ('entity.tag() in ["payments-api", "billing"]', True),
        ('custom("language") IN ["python", "go"]', True),
        ('custom("language") In ["java"]', False),
        ('"pci" in custom("tags")', True),
        ('443 in custom("ports")', True),
        ('"replicas" in custom("runtime_info")', True),  # an object: its keys
        ('"eu" in jq(custom("runtime_info"), ".regions")', True),
        ('"tier-1" in entity.groups()', True),
        ("1 + 1 in [2]", True),  # arithmetic binds tighter
        ('not "x" in ["x"]', False),  # not (x in [x])
        ('"x" in ["y"] or 1 in [1]', True),
        ('custom("missing") ?? "python" in ["python"]', True),  # (missing ?? "python") in [...]
        ('custom("missing") in ["a"]', False),
        ('"a" in custom("missing")', None),  # null on the right: null, which fails a rule
        ('custom("missing") in "abc"', None),
        ("[1] in [[1], [2]]", True),
    ],
)
def test_in(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "fragment", "column"),
    [
        ('1 in "abc"', "'in' a string needs a string on its left, got number", 3),
        ('"a" in 1', "'in' needs a list, string or object on its right, got number", 5),
        ('"a" in true', "'in' needs a list, string or object on its right, got boolean", 5),
        ('[1] in custom("runtime_info")', "object.contains() needs a key, got list", 5),
    ],
)
def test_in_type_errors(ctx, source, fragment, column):
    assert_runtime_error(source, ctx, fragment, column)


def test_in_after_a_dot_is_a_field_name(ctx):
    assert run('jq(custom("runtime_info"), "{in: 5}").in', ctx) == 5
    assert run('custom("runtime_info")?.IN', ctx) is None
    assert syntax_error('custom("a").in()').message.startswith("unknown method 'in'")
    assert syntax_error("entity.").message == "the expression ends too early; expected a name"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('false and "a" + 1 = 2', False),
        ('false and custom("language") > 1', False),
        ("false && 1 / 0 = 1", False),
        ('false and (1).matches("x")', False),
        ('false and git.fileExists("missing.txt")', False),
        ('false and sonarqube.metric("bugs") = 0', False),
        ('false and jq(custom("runtime_info"), ".replicas.x") = 1', False),
        ('true or custom("language") > 1', True),
        ('true || sonarqube.metric("bugs") > 0', True),
        ("true or 1", True),
        ('git.fileExists("Dockerfile") and prometheus.query("nope") > 0', False),
        ('git.fileExists("README.md") or prometheus.query("nope") > 0', True),
        ('custom("missing") and "a" < 1', False),
    ],
)
def test_short_circuit_skips_the_failing_side(ctx, source, expected):
    assert run(source, ctx) is expected


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ('true and "a" + 1 = 2', "cannot add string and number"),
        ('false or custom("language") > 1', "cannot compare string with number"),
        ('"a" + 1 = 2 and false', "cannot add string and number"),  # the left side always runs
        ('true and sonarqube.metric("bugs") = 0', "SonarQube answered 503"),
    ],
)
def test_no_short_circuit_when_the_failing_side_is_needed(ctx, source, fragment):
    assert fragment in runtime_error(source, ctx)


# ------------------------------------------------------------------------------------------ null


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("null = null", True),
        ("null == null", True),
        ("null != null", False),
        ("null != 1", True),
        ("1 != null", True),
        ("null = false", False),
        ("null = 0", False),
        ("null < 1", False),
        ("null <= 1", False),
        ("null > 1", False),
        ("null >= 1", False),
        ("1 < null", False),
        ("1 >= null", False),
        ("null < null", False),
        ("null <= null", False),
        ("null >= null", False),
        ('custom("missing") > 80', False),
        ('custom("missing") < 80', False),
        ('custom("missing") >= "a"', False),
        ('custom("missing") < now()', False),
        ('custom("missing") > semver("1.0.0")', False),
        ('custom("missing") <= duration("P1D")', False),
        ('custom("missing") = null', True),
        ('custom("missing") != null', False),
        ('custom("nothing") = null', True),
        ('custom("language") != null', True),
        ('custom("missing") = 0', False),
        ('custom("missing") != 0', True),
        ('custom("missing").length > 0', False),
        ('custom("runtime_info").missing = null', True),
        ("null and true", False),
        ("null or true", True),
        ("null or false", False),
        ("not null", True),
        ('!custom("missing")', True),
        ("oncall != null", True),
    ],
)
def test_null_semantics(ctx, source, expected):
    assert run(source, ctx) is expected


@pytest.mark.parametrize(
    "source",
    [
        "null.length",
        "null.x",
        'custom("missing").length',
        'custom("missing").field',
        'custom("missing").a.b.c',
        'custom("runtime_info").missing',
        'custom("runtime_info").missing.deeper',
        'custom("missing").matches("x")',
        'custom("missing").contains("x")',
        'custom("missing").startsWith("x")',
        'custom("missing").endsWith("x")',
        'custom("missing").isStable()',
        'custom("missing") + 1',
        '1 - custom("missing")',
        'custom("missing") * 2',
        'custom("missing") / 0',  # null wins over the division by zero
        '-custom("missing")',
        'semver(custom("missing"))',
        'duration(custom("missing"))',
        'datetime(custom("missing"))',
        'jq(custom("missing"), ".a")',
        'package("flask")',
        'package("flask").version',
        "oncall.id",  # on the bare entity below
    ],
)
def test_null_propagates_through_member_access_and_methods(bare, source):
    assert run(source, bare) is None
    assert compile_expression(source).check(bare) is False


# ------------------------------------------------------------------------------------- type errors


@pytest.mark.parametrize(
    ("source", "fragment", "column"),
    [
        ('"a" < 1', "cannot compare string with number using <", 5),
        ('1 > "a"', "cannot compare number with string using >", 3),
        ('custom("language") < 1', "cannot compare string with number using <", 20),
        ('custom("language") >= custom("tier")', "cannot compare string with number using >=", 20),
        ("true < false", "cannot compare boolean with boolean using <", 6),
        ("[1] <= [2]", "cannot compare list with list using <=", 5),
        ("now() < 5", "cannot compare datetime with number using <", 7),
        ('duration("P1D") > 1', "cannot compare duration with number using >", 17),
        ('custom("runtime_info") > 1', "cannot compare object with number using >", 24),
        ('semver("1.0.0") < 2', "cannot compare semver with number using <", 17),
        ('semver("1.0.0") < "garbage"', "'garbage' is not a semantic version", 17),
        ('now() > "garbage"', "'garbage' is not an ISO-8601 date-time", 7),
        ('now() = "garbage"', "'garbage' is not an ISO-8601 date-time", 7),
        ('"a" + 1', "cannot add string and number", 1),
        ('1 + "a"', "cannot add number and string", 1),
        ('custom("language") + 1', "cannot add string and number", 1),
        ('entity.tag() = "x" or custom("tier") + "x" = "1x"', "cannot add number and string", 23),
        ('"a" - "b"', "cannot subtract string from string", 1),
        ('"a" * 2', "cannot multiply string by number", 1),
        ("[1] * 2", "cannot multiply list by number", 1),
        ('"a" / 2', "cannot divide string by number", 1),
        ("1 / 0", "division by zero", 1),
        ("1 / 0.0", "division by zero", 1),
        ('custom("tier") / 0', "division by zero", 1),
        ('custom("tier") / (custom("tier") - 1)', "division by zero", 1),
        ('duration("P1D") / 0', "division by zero", 1),
        ('duration("P1D") / duration("PT0S")', "division by zero", 1),
        ('-"a"', "cannot negate string", 1),
        ("-true", "cannot negate boolean", 1),
        ("now() + now()", "cannot add datetime and datetime", 1),
        ("now() - 1", "cannot subtract number from datetime", 1),
        ('semver("1.0.0") + 1', "cannot add semver and number", 1),
        ("(1 = 1) + 1", "cannot add boolean and number", 1),
        ('now() + duration("P10000Y")', "out of range", 1),
        ('(1).matches("a")', "matches() works on strings, got number", 5),
        ('custom("tier").matches("1")', "matches() works on strings, got number", 16),
        ('custom("ports").matches("80")', "matches() works on strings, got list", 17),
        ('"abc".contains(1)', "string.contains() needs a string, got number", 7),
        ("(5).contains(1)", "number has no contains()", 5),
        ('custom("runtime_info").contains([1])', "object.contains() needs a key, got list", 24),
        ('"abc".startsWith(1)', "startsWith() works on strings, got string and number", 7),
        ('(5).endsWith("a")', "endsWith() works on strings, got number and string", 5),
        ("true.length", "boolean has no length", 6),
        ('custom("tier").length', "number has no length", 16),
        ('custom("ports").x', "list has no field 'x'", 17),
        ("entity.tag().x", "string has no field 'x'", 14),
        ("now().year", "datetime has no field 'year'", 7),
        ('semver("1.2.3").foo', "semver has no field 'foo'", 17),
        ("true and 1", "and needs true or false, got number", 1),
        ("1 or false", "or needs true or false, got number", 1),
        ('false or "yes"', "or needs true or false, got string", 1),
        ('not "x"', "not needs true or false, got string", 1),
        ('!custom("tier")', "not needs true or false, got number", 1),
        ('"x".isStable()', "'x' is not a semantic version", 5),
        ("(1).isStable()", "isStable() works on semver values, got number", 5),
        ('semver(custom("language")) > "1.0.0"', "'python' is not a semantic version", 1),
        ('semver(custom("tier"))', "semver() needs a string, got number", 1),
        ('duration(custom("language"))', "'python' is not an ISO-8601 duration", 1),
        ('duration(custom("tier"))', "duration() needs a string, got number", 1),
        ('datetime(custom("language"))', "'python' is not an ISO-8601 date-time", 1),
        ('datetime(custom("tier"))', "datetime() needs a string, got number", 1),
        ("datetime(1)", "datetime() needs a string, got number", 1),
        ('custom(custom("tier"))', "custom() needs a string key, got number", 1),
        ("package(1)", "package() needs a package name, got number", 1),
        ("entity.hasGroup(1)", "entity.hasGroup() needs a group name, got number", 1),
        ('entity.hasGroup(custom("ports"))', "entity.hasGroup() needs a group name, got list", 1),
        ('jq(custom("runtime_info"), custom("tier"))', "jq() needs the program as a string, got number", 1),
        ('jq(custom("runtime_info"), custom("bad_jq"))', "invalid jq program", 1),
        ('jq(custom("runtime_info"), ".replicas.x")', 'jq: Cannot index number with string ("x")', 1),
        ('jq(custom("ports"), ".a")', "jq: Cannot index array", 1),
        ('jq(1, "error(\\"boom\\")")', "jq: boom", 1),
        ('custom("tier") = 1 and\n  custom("language") > 1', "cannot compare string with number using >", 22),
    ],
)
def test_type_errors_are_runtime_errors_naming_the_column(ctx, source, fragment, column):
    assert_runtime_error(source, ctx, fragment, column)


def test_nested_errors_name_the_innermost_column(ctx):
    message = runtime_error('entity.tag() = "payments-api" and (custom("language") < 1)', ctx)
    assert message == "cannot compare string with number using < (at column 55)"


def test_a_failing_rule_never_stops_evaluating_the_others(ctx, bare):
    rules = [
        'entity.hasGroup("tier-1")',
        'custom("language") > 80',
        'sonarqube.metric("bugs") = 0',
        "1 / 0 = 1",
        'git.fileExists("README.md")',
        'sonarqube.metric("coverage") >= 80',
    ]
    compiled = [compile_expression(rule) for rule in rules]
    outcomes = []
    for entity in (ctx, bare):
        for expression in compiled:
            try:
                outcomes.append(expression.check(entity))
            except RuleRuntimeError as exc:
                outcomes.append(f"error: {exc}")
    assert outcomes[:6] == [
        True,
        "error: cannot compare string with number using > (at column 20)",
        "error: sonarqube: SonarQube answered 503 Service Unavailable (at column 1)",
        "error: division by zero (at column 1)",
        True,
        True,
    ]
    assert outcomes[6:] == [
        False,
        False,
        'error: sonarqube: no data collected for metric("bugs") (at column 1)',
        "error: division by zero (at column 1)",
        'error: git: no data collected for fileExists("README.md") (at column 1)',
        'error: sonarqube: no data collected for metric("coverage") (at column 1)',
    ]


def test_only_rule_errors_escape_evaluation(ctx):
    """Every operator on every kind of value either gives a value or a RuleRuntimeError."""
    values = [
        "1",
        "0",
        '"a"',
        "true",
        "null",
        "[1]",
        'custom("runtime_info")',
        "now()",
        'duration("P1D")',
        'semver("1.0.0")',
        '"2024-01-01"',
    ]
    operators = ["=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "and", "or"]
    sources = [f"{a} {op} {b}" for a in values for b in values for op in operators]
    sources += [f"({a}).{m}({b})" for a in values for b in values for m in ("contains", "startsWith", "endsWith")]
    sources += [f"jq({a}, {b})" for a in values for b in values]
    sources += [f"entity.hasGroup({a})" for a in values] + [f"package({a})" for a in values]
    sources += [f"({a}).length" for a in values] + [f"({a}).isStable()" for a in values]
    sources += [f"-({a})" for a in values] + [f"not ({a})" for a in values]
    outcomes = {"value": 0, "runtime": 0, "syntax": 0}
    for source in sources:
        try:
            expression = compile_expression(source)
        except RuleSyntaxError:
            outcomes["syntax"] += 1
            continue
        try:
            expression.evaluate(ctx)
            outcomes["value"] += 1
        except RuleRuntimeError:
            outcomes["runtime"] += 1
    assert outcomes["value"] and outcomes["runtime"]


# ------------------------------------------------------------------------------------------ entity


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("entity.tag()", "payments-api"),
        ("entity.name()", "Payments API"),
        ("entity.type()", "service"),
        ("entity.description()", "Charges cards."),
        ("entity.groups()", ["tier-1", "python"]),
        ('entity.hasGroup("tier-1")', True),
        ('entity.hasGroup("java")', False),
        ('entity.hasGroup("TIER-1")', False),
        ('entity.hasGroup(custom("language"))', True),
        ('entity.hasGroup(custom("missing"))', False),
        ('entity.type() = "service"', True),
        ('entity.tag() = "payments-api"', True),
        ('entity.groups().contains("python")', True),
        ("entity.groups().length", 2),
        ('links("runbook").length', 2),
        ('links("runbook").length > 0', True),
        ('links("slack")', []),
        ("links().length", 3),
        ('links(custom("missing"))', []),
        (
            'links("dashboard")',
            [{"name": "Grafana", "type": "dashboard", "url": "https://grafana.example.com/d/payments"}],
        ),
        ('jq(links("runbook"), ".[0].url")', "https://wiki.example.com/payments"),
        ("ownership.allOwners().length", 3),
        ("ownership.allOwners().length > 0", True),
        ("ownership.teams().map(team => team.name)", ["payments-team", "platform"]),
        ("ownership.teams().first().description", "Owns the payment flow"),
        ("ownership.emails()", ["ana@example.com"]),
        ('ownership.teams().any(team => team.name == "platform")', True),
        ('ownership.emails().contains("bob@example.com")', False),
        ("oncall", {"provider": "pagerduty", "id": "P123", "type": "SCHEDULE"}),
        ("oncall != null", True),
        ('oncall.id = "P123"', True),
        ("oncall.provider", "pagerduty"),
        ("slos().length", 2),
        ('jq(slos(), "[.[] | select(.passing)] | length")', 1),
        ("packages().length", 3),
        ('package("django")', {"name": "django", "version": "5.1.2", "manager": "pip"}),
        ('package("django").version', "5.1.2"),
        ('package("django").manager = "pip"', True),
        ('package("flask")', None),
        ('package("flask") = null', True),
        ('package(custom("framework")).version', "5.1.2"),
        ('semver(package("django").version) >= "5.0.0"', True),
    ],
)
def test_entity_functions(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("entity.tag()", "bare"),
        ("entity.name()", ""),
        ("entity.type()", "service"),
        # An empty description is null, as in Cortex: `entity.description() != null` means "has one".
        ("entity.description()", None),
        ("entity.description() != null", False),
        ("entity.description().length > 0", False),
        ("entity.groups()", []),
        ('entity.hasGroup("tier-1")', False),
        ('links("runbook")', []),
        ("ownership.allOwners()", []),
        ("ownership.teams()", []),
        ("ownership.emails()", []),
        ("oncall", None),
        ("oncall = null", True),
        ("oncall != null", False),
        ("slos()", []),
        ("packages()", []),
        ('package("django")', None),
        ('custom("tier")', None),
    ],
)
def test_entity_with_nothing_declared(bare, source, expected):
    assert run(source, bare) == expected


def test_list_results_are_copies(ctx):
    for source in ("entity.groups()", "ownership.allOwners()", "links()", "slos()", "packages()"):
        result = run(source, ctx)
        result.append("mutated")
        assert run(source, ctx)[-1] != "mutated"


# ------------------------------------------------------------------------------------------ custom


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('custom("tier")', 1),
        ("custom('tier')", 1),
        ('custom("language")', "python"),
        ('custom("flag")', True),
        ('custom("ports")', [80, 443]),
        ('custom("empty_list")', []),
        ('custom("empty_obj")', {}),
        ('custom("runtime_info").app_version', "2.4.1"),
        ('custom("runtime_info").regions', ["eu", "us"]),
        ('custom("runtime_info").app_version.startsWith("2.")', True),
        ('custom("missing")', None),
        ('custom("nothing")', None),
        ('custom("Tier")', None),  # keys are case sensitive
        ('custom(custom("key_name"))', "python"),
        ('custom("lang" + "uage")', "python"),
    ],
)
def test_custom(ctx, source, expected):
    assert run(source, ctx) == expected


# ---------------------------------------------------------------------------------------------- jq


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('jq(custom("runtime_info"), ".app_version")', "2.4.1"),
        ('jq(custom("runtime_info"), ".replicas")', 3),
        ('jq(custom("runtime_info"), ".regions")', ["eu", "us"]),  # one output that is a list
        ('jq(custom("runtime_info"), ".regions[]")', ["eu", "us"]),  # two outputs
        ('jq(custom("runtime_info"), ".[]")', ["2.4.1", 3, ["eu", "us"]]),
        ('jq(custom("runtime_info"), ".a, .b")', [None, None]),
        ('jq(custom("runtime_info"), ".missing")', None),  # one null output
        ('jq(custom("runtime_info"), "empty")', None),  # no output
        ('jq(custom("runtime_info"), ".regions | length")', 2),
        ('jq(custom("runtime_info"), "keys")', ["app_version", "regions", "replicas"]),
        ('jq(custom("runtime_info"), ".replicas > 2")', True),
        ('jq(custom("runtime_info"), ".regions[0]")', "eu"),
        ('jq(custom("ports"), "map(. + 1)")', [81, 444]),
        ('jq(custom("ports"), ".[] | select(. > 100)")', 443),
        ('jq(custom("ports"), ".[] | select(. > 1000)")', None),
        ('jq(slos(), ".[].name")', ["availability", "latency"]),
        ('jq(slos(), "map(.current >= .target) | all")', False),
        ('jq(git.fileContents("package.json"), "fromjson | .name")', "payments-ui"),
        ('jq(1, ". + 1")', 2),
        ('jq("abc", "ascii_upcase")', "ABC"),
        ('jq(null, ".a")', None),
        ('jq(custom("missing"), ".a")', None),
        ('jq([1, 2, 3], "add")', 6),
        ("jq([1, 2, 3], '.[] | select(. != 2)')", [1, 3]),
        ('jq(custom("runtime_info"), custom("jq_program"))', 3),  # program computed at run time
        ('jq(custom("runtime_info"), ".regions[0]") = "eu"', True),
        ('jq(custom("runtime_info"), ".replicas") >= 3', True),
        ('jq(custom("runtime_info"), ".app_version").startsWith("2.")', True),
        ('jq(custom("runtime_info"), ".regions[]").length', 2),
    ],
)
def test_jq(ctx, source, expected):
    assert run(source, ctx) == expected


# ------------------------------------------------------------------------------------------ semver


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('semver("1.2.3") = semver("1.2.3")', True),
        ('semver("1.2.3") = "1.2.3"', True),
        ('"1.2.3" = semver("1.2.3")', True),
        ('semver("1.2.3") != "1.2.4"', True),
        ('semver("1.2.3") < semver("1.10.0")', True),  # numeric, not text
        ('semver("1.10.0") > "1.9.9"', True),
        ('semver("2.0.0") >= "2.0.0"', True),
        ('semver("2.0.0") <= "1.99.99"', False),
        ('"1.0.0" < semver("1.0.1")', True),
        ('"3.0.0" >= semver("2.9.9")', True),
        ('semver("v1.2.3") = "1.2.3"', True),
        ('semver("V1.2.3") = "v1.2.3"', True),
        ('semver("1.2") = "1.2.0"', True),
        ('semver("1") = "1.0.0"', True),
        ('semver("1.0.0+build.1") = "1.0.0+build.2"', True),  # build metadata does not order
        ('semver("1.0.0") = "1.0.0-rc.1"', False),
        # prerelease ordering, from semver.org §11
        ('semver("1.0.0-alpha") < "1.0.0-alpha.1"', True),
        ('semver("1.0.0-alpha.1") < "1.0.0-alpha.beta"', True),
        ('semver("1.0.0-alpha.beta") < "1.0.0-beta"', True),
        ('semver("1.0.0-beta") < "1.0.0-beta.2"', True),
        ('semver("1.0.0-beta.2") < "1.0.0-beta.11"', True),
        ('semver("1.0.0-beta.11") < "1.0.0-rc.1"', True),
        ('semver("1.0.0-rc.1") < "1.0.0"', True),
        ('semver("1.0.0") > "1.0.0-rc.1"', True),
        ('semver("1.0.0-rc.1") > "0.9.9"', True),
        ('semver(package("django").version) >= "4.2.0"', True),
        ('semver(custom("runtime_info").app_version) > "2.4.0"', True),
        ('semver(custom("version")) = "2.4.1"', True),
        ('semver(custom("missing")) > "1.0.0"', False),
        ('semver("1.2.3").major', 1),
        ('semver("1.2.3").minor', 2),
        ('semver("1.2.3").patch', 3),
        ('semver("1.2.3-rc.1").prerelease', "rc.1"),
        ('semver("1.2.3").prerelease', None),
        ('semver("1.2.3+b5").build', "b5"),
        ('semver("1.2.3").major >= 1', True),
        ('[semver("1.0.0")].contains("1.0.0")', True),
    ],
)
def test_semver(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('semver("1.0.0").isStable()', True),
        ('semver("2.3.4").isStable()', True),
        ('semver("1.0.0+build.7").isStable()', True),
        ('semver("0.9.0").isStable()', False),
        ('semver("0.0.1").isStable()', False),
        ('semver("1.0.0-rc.1").isStable()', False),
        ('"1.2.3".isStable()', True),
        ('"0.1.0".isStable()', False),
        ('package("django").version.isStable()', True),
        ('semver(package("requests").version).isStable()', False),
        ('not semver(custom("version")).isStable()', False),
    ],
)
def test_semver_is_stable(ctx, source, expected):
    assert run(source, ctx) is expected


def test_semver_value():
    version = SemVer("v1.2.3")
    assert str(version) == "1.2.3"
    assert repr(version) == "semver('v1.2.3')"
    with pytest.raises(RuleRuntimeError, match="not a semantic version"):
        SemVer("1.x")
    with pytest.raises(RuleRuntimeError, match="needs a string, got number"):
        SemVer(1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- durations and dates


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('duration("P7D")', timedelta(days=7)),
        ('duration("PT12H")', timedelta(hours=12)),
        ('duration("PT90M")', timedelta(minutes=90)),
        ('duration("PT0.5S")', timedelta(milliseconds=500)),
        ('duration("P1W")', timedelta(days=7)),
        ('duration("P1M")', timedelta(days=30)),
        ('duration("P1Y")', timedelta(days=365)),
        ('duration("P1Y2M3DT4H5M6S")', timedelta(days=365 + 60 + 3, hours=4, minutes=5, seconds=6)),
        ('duration("PT12H") * 2', timedelta(days=1)),
        ('2 * duration("PT12H")', timedelta(days=1)),
        ('duration("P1D") / 2', timedelta(hours=12)),
        ('duration("P1D") / duration("PT1H")', 24.0),
        ('duration("P1D") + duration("PT1H")', timedelta(hours=25)),
        ('duration("P1D") - duration("PT1H")', timedelta(hours=23)),
        ('-duration("P1D")', timedelta(days=-1)),
        ("now()", NOW),
        ('now() - duration("P7D")', datetime(2024, 5, 25, 12, 0, tzinfo=UTC)),
        ('now() + duration("P1D")', datetime(2024, 6, 2, 12, 0, tzinfo=UTC)),
        ('duration("PT1H") + now()', datetime(2024, 6, 1, 13, 0, tzinfo=UTC)),
        ('now() - datetime("2024-05-25T12:00:00Z")', timedelta(days=7)),
        ('now() - datetime(custom("lastDeploy"))', timedelta(days=2, hours=4)),
        ('datetime("2024-05-30")', datetime(2024, 5, 30, tzinfo=UTC)),
        ('datetime("2024-05-30T08:00:00Z")', datetime(2024, 5, 30, 8, tzinfo=UTC)),
        ('datetime("2024-05-30T10:00:00+02:00")', datetime(2024, 5, 30, 8, tzinfo=UTC)),
        ('datetime("2024-05-30T08:00:00")', datetime(2024, 5, 30, 8, tzinfo=UTC)),  # naive means UTC
        ('datetime("2024-05-30 08:00:00")', datetime(2024, 5, 30, 8, tzinfo=UTC)),
        ("datetime(now())", NOW),
    ],
)
def test_duration_and_datetime_values(ctx, source, expected):
    result = run(source, ctx)
    assert result == expected
    if isinstance(expected, datetime):
        assert result.tzinfo is not None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('duration("P7D") = duration("PT168H")', True),
        ('duration("P1D") > duration("PT23H")', True),
        ('duration("P1D") < duration("PT25H")', True),
        ('duration("PT90M") = duration("PT1H30M")', True),
        ('duration("P1M") = duration("P30D")', True),
        ('duration("P1Y") = duration("P365D")', True),
        ('-duration("P1D") < duration("PT0S")', True),
        ('now() = datetime("2024-06-01T12:00:00Z")', True),
        ('now() = datetime("2024-06-01T14:00:00+02:00")', True),
        ('now() - duration("P7D") = datetime("2024-05-25T12:00:00Z")', True),
        ('now() - datetime(custom("lastDeploy")) < duration("P7D")', True),
        ('now() - datetime(custom("lastDeploy")) > duration("P2D")', True),
        ('custom("lastDeploy") > now() - duration("P7D")', True),  # strings meet datetimes on their terms
        ('now() - duration("P7D") < custom("lastDeploy")', True),
        ('custom("lastDeploy") > now() - duration("P1D")', False),
        ('datetime("2024-05-30") < now()', True),
        ('now() > "2024-01-01"', True),
        ('"2030-01-01T00:00:00Z" > now()', True),
        ('now() = "2024-06-01T12:00:00Z"', True),
        ("now() = now()", True),
        ('datetime(custom("lastDeploy")) + duration("P3D") > now()', True),
    ],
)
def test_duration_and_datetime_comparisons(ctx, source, expected):
    assert run(source, ctx) is expected


def test_now_comes_from_the_entity_facts(ctx):
    expression = compile_expression('now() - duration("P7D") < custom("lastDeploy")')
    assert expression.check(ctx) is True
    later = dataclasses.replace(ctx, now=datetime(2024, 7, 1, tzinfo=UTC))
    assert expression.check(later) is False


# --------------------------------------------------------------------------------- strings and lists


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('"payments-api".matches("payments")', False),  # the whole string must match
        ('"payments-api".matches("api")', False),
        ('"payments-api".matches("payments.*")', True),
        ('"payments-api".matches(".*api")', True),
        ('"payments-api".matches(".*-.*")', True),
        ('"abc".matches("a|abc")', True),  # fullmatch tries every alternative
        ('"abc".matches("abc|a")', True),
        ('"abc\\n".matches("abc")', False),  # no `$`-before-newline loophole
        ('"ABC".matches("[a-z]+")', False),
        ('"ABC".matches("(?i)[a-z]+")', True),
        ('"v1.2.3".matches("v\\d+\\.\\d+\\.\\d+")', True),  # unknown escapes stay for the regex
        ('"v1x2x3".matches("v\\d+\\.\\d+\\.\\d+")', False),
        ('"a.b".matches("a\\\\.b")', True),
        ('"axb".matches("a\\\\.b")', False),
        ('"".matches("")', True),
        ('"".matches(".+")', False),
        ("'x'.matches('x')", True),
        ('entity.tag().matches("[a-z]+(-[a-z]+)*")', True),
        ('custom("language").matches("python|go")', True),
        ('git.defaultBranch().matches("main|master")', True),
        ('"payments-api".contains("api")', True),
        ('"payments-api".contains("API")', False),
        ('"abc".contains("")', True),
        ('entity.groups().contains("python")', True),
        ('entity.groups().contains("java")', False),
        ('custom("ports").contains(443)', True),
        ('custom("ports").contains(443.0)', True),
        ('custom("ports").contains("443")', False),
        ("[1, [2, 3]].contains([2, 3])", True),  # list elements compare by value
        ("[1, [2, 3]].contains([3, 2])", False),
        ("[true].contains(1)", False),
        ("[null].contains(null)", True),
        ("[1, 2].contains(null)", False),
        ("[].contains(1)", False),
        ('custom("runtime_info").contains("replicas")', True),  # objects: has key
        ('custom("runtime_info").contains("nope")', False),
        ('custom("tags").contains(entity.tag())', False),
        ('"payments-api".startsWith("pay")', True),
        ('"payments-api".startsWith("api")', False),
        ('"payments-api".endsWith("-api")', True),
        ('"payments-api".endsWith("pay")', False),
        ('"abc".startsWith("")', True),
        ('"abc".endsWith("abc")', True),
        ('entity.name().startsWith("Payments")', True),
        ('"abc".length', 3),
        ('"".length', 0),
        ('"héllo".length', 5),
        ("[1, 2, 3].length", 3),
        ("[].length", 0),
        ('custom("runtime_info").length', 3),  # number of keys
        ('custom("empty_obj").length', 0),
        ("entity.tag().length", 12),
        ('custom("ports").length = 2', True),
        ('"abc".length + 1', 4),
        ('entity.tag().length > 3 and entity.tag().matches("[a-z-]+")', True),
    ],
)
def test_string_and_list_methods(ctx, source, expected):
    assert run(source, ctx) == expected


# ------------------------------------------------------------------------------------- integrations


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('git.fileExists("README.md")', True),
        ('git.fileExists("Dockerfile")', False),
        ('not git.fileExists("Dockerfile")', True),
        ('git.fileContents("README.md")', "# Payments API\n\nCharges cards.\n"),
        ('git.fileContents("README.md").contains("Charges")', True),
        ('git.fileContents("README.md").startsWith("# Payments")', True),
        ("git.defaultBranch()", "main"),
        ('git.defaultBranch() = "main"', True),
        ('sonarqube.metric("coverage")', 82.5),
        ('sonarqube.metric("coverage") >= 80', True),
        ('sonarqube.metric("coverage") > 90', False),
        ('sonarqube.metric("code_smells")', None),  # collected, but no value: null, not an error
        ('sonarqube.metric("code_smells") < 10', False),
        ('prometheus.query("up") = 1', True),
        ('prometheus.query("sum(rate(http_requests_total{code=\\"500\\"}[5m]))") < 0.05', True),
        ("prometheus.query('sum(rate(http_requests_total{code=\"500\"}[5m]))') < 0.05", True),
    ],
)
def test_integrations_read_collected_facts(ctx, source, expected):
    assert run(source, ctx) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('sonarqube.metric("bugs") = 0', "sonarqube: SonarQube answered 503 Service Unavailable (at column 1)"),
        ('git.fileExists("LICENSE")', 'git: no data collected for fileExists("LICENSE") (at column 1)'),
        (
            'git.fileContents("setup.py").contains("x")',
            'git: no data collected for fileContents("setup.py") (at column 1)',
        ),
        ('sonarqube.metric("duplication") < 3', 'sonarqube: no data collected for metric("duplication") (at column 1)'),
        (f'prometheus.query("{PROMQL_P99}") < 0.5', "prometheus: timeout after 10s (at column 1)"),
        ('prometheus.query("down")', 'prometheus: no data collected for query("down") (at column 1)'),
        (
            'entity.hasGroup("tier-1") and\n    sonarqube.metric("bugs") = 0',
            "sonarqube: SonarQube answered 503 Service Unavailable (at column 5)",
        ),
        ('1 + sonarqube.metric("bugs")', "sonarqube: SonarQube answered 503 Service Unavailable (at column 5)"),
    ],
)
def test_failing_or_missing_facts_are_rule_errors(ctx, source, message):
    assert runtime_error(source, ctx) == message


def test_missing_facts_on_an_entity_without_collection(bare):
    assert runtime_error("git.defaultBranch()", bare) == "git: no data collected for defaultBranch() (at column 1)"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('git.fileExists("README.md")', {("git", "fileExists:README.md")}),
        ('git.fileContents("deploy/app.yaml").contains("x")', {("git", "fileContents:deploy/app.yaml")}),
        ('git.defaultBranch() = "main"', {("git", "defaultBranch")}),
        ('sonarqube.metric("coverage") >= 80', {("sonarqube", "metric:coverage")}),
        ('prometheus.query("up") = 1', {("prometheus", "query:up")}),
        (f"prometheus.query('{PROMQL_ERRORS}') < 1", {("prometheus", f"query:{PROMQL_ERRORS}")}),
        (
            'git.fileExists("README.md") and sonarqube.metric("coverage") > 80 or prometheus.query("up") = 1',
            {("git", "fileExists:README.md"), ("sonarqube", "metric:coverage"), ("prometheus", "query:up")},
        ),
        ('false and git.fileExists("a")', {("git", "fileExists:a")}),  # collected even if short-circuited
        ('git.fileExists("a") or git.fileExists("a")', {("git", "fileExists:a")}),
        ('git.fileExists("a") or git.fileExists("b")', {("git", "fileExists:a"), ("git", "fileExists:b")}),
        ('jq(git.fileContents("package.json"), ".name") = "x"', {("git", "fileContents:package.json")}),
        (
            '[sonarqube.metric("a"), sonarqube.metric("b")].length',
            {("sonarqube", "metric:a"), ("sonarqube", "metric:b")},
        ),
        ('not git.fileExists("Dockerfile")', {("git", "fileExists:Dockerfile")}),
        ('entity.tag() = "x"', set()),
        ('custom("git") = 1', set()),
        ("true", set()),
    ],
)
def test_required_facts(source, expected):
    facts = compile_expression(source).required_facts
    assert isinstance(facts, frozenset)
    assert facts == expected


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ('git.fileExists(custom("path"))', 1, 16, "git.fileExists() needs a string literal here"),
        ("git.fileExists(1)", 1, 16, "git.fileExists() needs a string literal"),
        ("git.fileExists(null)", 1, 16, "git.fileExists() needs a string literal"),
        ("git.fileContents(entity.tag())", 1, 18, "git.fileContents() needs a string literal"),
        ('sonarqube.metric(custom("metric"))', 1, 18, "sonarqube.metric() needs a string literal"),
        ('prometheus.query(["up"])', 1, 18, "prometheus.query() needs a string literal"),
        ("git.fileExists()", 1, 5, "git.fileExists() takes 1 argument, got 0"),
        ('git.fileExists("a", "b")', 1, 5, "git.fileExists() takes 1 argument, got 2"),
        ('git.defaultBranch("main")', 1, 5, "git.defaultBranch() takes 0 arguments, got 1"),
        ("sonarqube.metric()", 1, 11, "sonarqube.metric() takes 1 argument, got 0"),
        ("prometheus.query()", 1, 12, "prometheus.query() takes 1 argument, got 0"),
        (
            'git.fileExits("a")',
            1,
            5,
            "unknown function git.fileExits(); known: git.fileExists(), git.fileContents(), git.defaultBranch()",
        ),
        ('sonarqube.rating("x")', 1, 11, "unknown function sonarqube.rating(); known: sonarqube.metric()"),
        ('prometheus.range("up")', 1, 12, "unknown function prometheus.range(); known: prometheus.query()"),
        ("git.fileExists", 1, 5, "git.fileExists is a function; write git.fileExists()"),
        ("prometheus.query", 1, 12, "prometheus.query is a function; write prometheus.query()"),
        ('entity.tag() = "x" and\n  git.fileExists(entity.tag())', 2, 18, "git.fileExists() needs a string literal"),
    ],
)
def test_integration_compile_errors(source, line, column, fragment):
    assert_syntax_error(source, line, column, fragment)


# ------------------------------------------------------------------------------ compile-time errors


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        # namespaces are not values
        ("entity.tag", 1, 8, "entity.tag is a function; write entity.tag()"),
        ("ownership.teams.length", 1, 11, "ownership.teams is a function; write ownership.teams()"),
        # unknown names, functions and methods
        ("foo", 1, 1, "unknown name 'foo'; known names: entity, ownership, git, sonarqube, prometheus, oncall"),
        ("x.y", 1, 1, "unknown name 'x'"),
        ("Entity.tag()", 1, 1, "unknown name 'Entity'"),
        ("True", 1, 1, "unknown name 'True'"),
        ("NULL", 1, 1, "unknown name 'NULL'"),
        ("android", 1, 1, "unknown name 'android'"),  # keywords only match whole words
        ("nullable = 1", 1, 1, "unknown name 'nullable'"),
        ("custom", 1, 1, "custom is a function; write custom(...)"),
        ("now = 1", 1, 1, "now is a function; write now(...)"),
        (
            "foo()",
            1,
            1,
            "unknown function foo(); known: custom(), links(), jq(), semver(), duration(), datetime(), now(), "
            "slos(), packages(), package()",
        ),
        ("entity()", 1, 1, "entity is not a function"),
        ("oncall()", 1, 1, "oncall is not a function"),
        ("git()", 1, 1, "git is not a function"),
        (
            "entity.foo()",
            1,
            8,
            "unknown function entity.foo(); known: entity.tag(), entity.name(), entity.type(), "
            "entity.description(), entity.groups(), entity.hasGroup()",
        ),
        (
            "ownership.owners()",
            1,
            11,
            "unknown function ownership.owners(); known: ownership.allOwners(), ownership.teams(), ownership.emails()",
        ),
        (
            '"abc".foo()',
            1,
            7,
            "unknown method 'foo'; methods: all, allMatch, any, anyMatch, average, contains, count,",
        ),
        ("entity.groups().size()", 1, 17, "unknown method 'size'"),
        ('"abc".length()', 1, 7, "length is a property; write .length without parentheses"),
        # arity
        ("entity.tag(1)", 1, 8, "entity.tag() takes 0 arguments, got 1"),
        ("entity.groups(1, 2)", 1, 8, "entity.groups() takes 0 arguments, got 2"),
        ("entity.hasGroup()", 1, 8, "entity.hasGroup() takes 1 argument, got 0"),
        ('entity.hasGroup("a", "b")', 1, 8, "entity.hasGroup() takes 1 argument, got 2"),
        ('ownership.teams("x")', 1, 11, "ownership.teams() takes 0 arguments, got 1"),
        ("ownership.allOwners(1)", 1, 11, "ownership.allOwners() takes 0 arguments, got 1"),
        ("ownership.emails(1)", 1, 11, "ownership.emails() takes 0 arguments, got 1"),
        ("custom()", 1, 1, "custom() takes 1 argument, got 0"),
        ('custom("a", "b")', 1, 1, "custom() takes 1 argument, got 2"),
        ('links("a", "b")', 1, 1, "links() takes 0 or 1 arguments, got 2"),
        ("jq(1)", 1, 1, "jq() takes 2 arguments, got 1"),
        ('jq(1, ".", 2)', 1, 1, "jq() takes 2 arguments, got 3"),
        ("semver()", 1, 1, "semver() takes 1 argument, got 0"),
        ('duration("P1D", "P2D")', 1, 1, "duration() takes 1 argument, got 2"),
        ("datetime()", 1, 1, "datetime() takes 1 argument, got 0"),
        ("now(1)", 1, 1, "now() takes 0 arguments, got 1"),
        ("slos(1)", 1, 1, "slos() takes 0 arguments, got 1"),
        ('packages("x")', 1, 1, "packages() takes 0 arguments, got 1"),
        ("package()", 1, 1, "package() takes 1 argument, got 0"),
        ('"a".matches()', 1, 5, "matches() takes 1 argument, got 0"),
        ('"a".matches("a", "b")', 1, 5, "matches() takes 1 argument, got 2"),
        ('"a".contains()', 1, 5, "contains() takes 1 argument, got 0"),
        ('"a".startsWith("a", "b")', 1, 5, "startsWith() takes 1 argument, got 2"),
        ('"a".endsWith()', 1, 5, "endsWith() takes 1 argument, got 0"),
        ('"1.0.0".isStable(1)', 1, 9, "isStable() takes 0 arguments, got 1"),
        ('  custom("a",\n  "b")', 1, 3, "custom() takes 1 argument, got 2"),
        # literal arguments checked at compile time
        ('"x".matches("[")', 1, 13, "invalid regular expression: missing ]: ["),
        ('"x".matches("(a)\\1")', 1, 13, "backreferences are not supported"),
        ('"x".matches("(?=a)")', 1, 13, "lookarounds and backreferences are not supported"),
        ('"x".matches("(")', 1, 13, "invalid regular expression"),
        ('"x".matches("a{2,1}")', 1, 13, "invalid regular expression"),
        ('"x".matches(custom("regex"))', 1, 13, "matches() needs a string literal"),
        ('"x".matches(1)', 1, 13, "matches() needs a string literal"),
        ('semver("abc")', 1, 8, "'abc' is not a semantic version"),
        ('semver("1.2.3.4")', 1, 8, "'1.2.3.4' is not a semantic version"),
        ('semver("")', 1, 8, "'' is not a semantic version"),
        ('semver("1.0.0") > semver("latest")', 1, 26, "'latest' is not a semantic version"),
        ("semver(1)", 1, 8, "semver() needs a string, got number"),
        ("semver( null)", 1, 9, "semver() needs a string, got null"),
        ("semver(true)", 1, 8, "semver() needs a string, got boolean"),
        ('duration("7 days")', 1, 10, "'7 days' is not an ISO-8601 duration such as P7D or PT12H"),
        ('duration("")', 1, 10, "is not an ISO-8601 duration"),
        ('duration("P")', 1, 10, "is not an ISO-8601 duration"),
        ('duration("P99999999999Y")', 1, 10, "is not an ISO-8601 duration"),
        ("duration(7)", 1, 10, "duration() needs a string, got number"),
        ('datetime("garbage")', 1, 10, "'garbage' is not an ISO-8601 date-time"),
        ('datetime("2024-13-01")', 1, 10, "'2024-13-01' is not an ISO-8601 date-time"),
        ('jq(custom("runtime_info"), ".[")', 1, 28, "invalid jq program: jq: error: syntax error"),
        ('jq(custom("runtime_info"), "nosuchfn")', 1, 28, "invalid jq program: jq: error: nosuchfn/0 is not defined"),
        ('jq(custom("runtime_info"), 1)', 1, 28, "jq() needs the program as a string"),
        ("custom(1)", 1, 8, "custom() needs a string key"),
        ("custom(null)", 1, 8, "custom() needs a string key"),
        # positions on later lines
        ('entity.tag() = "x"\n  and foo', 2, 7, "unknown name 'foo'"),
        ('entity.tag() = "x" and\n  "abc".matches(\n    "["\n  )', 3, 5, "invalid regular expression"),
        ('jq(\n  custom("runtime_info"),\n  ".[["\n)', 3, 3, "invalid jq program"),
        ('custom("a") = 1 or\n\tentity.bogus()', 2, 9, "unknown function entity.bogus()"),
        ('semver(\n"x")', 2, 1, "'x' is not a semantic version"),
        ('true and\n\n   duration("soon") > now()', 3, 13, "'soon' is not an ISO-8601 duration"),
    ],
)
def test_compile_time_errors(source, line, column, fragment):
    assert_syntax_error(source, line, column, fragment)


# ----------------------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ("", 1, 1, "the expression is empty"),
        ("   ", 1, 1, "the expression is empty"),
        ("\n\n", 1, 1, "the expression is empty"),
        ("1 + 2 /* unclosed", 1, 7, "this comment is never closed with */"),
        ('"/*" = x /* one\n two', 1, 10, "this comment is never closed with */"),
        ("1 + // comment\n", 1, 15, "the expression ends too early"),
        ("1 ??", 1, 5, "the expression ends too early"),
        ("1 ?? ?? 2", 1, 6, "unexpected '??'"),
        ('custom("a")?.', 1, 14, "the expression ends too early; expected a name"),
        ('custom("a")?.(1)', 1, 14, "unexpected '('"),
        ("1 ? 2", 1, 3, "unexpected character '?'"),
        ('custom("a")?.length()', 1, 14, "length is a property"),
        ("entity?.nope()", 1, 9, "unknown function entity.nope()"),
        ("1 in", 1, 5, "the expression ends too early"),
        ("1 in in [1]", 1, 6, "unexpected 'in'"),
        ("1 in [1] in [[1]]", 1, 10, "unexpected 'in'"),  # like comparisons, `in` does not chain
        ("index", 1, 1, "unknown name 'index'"),
        ("1 +", 1, 4, "the expression ends too early"),
        ("entity.tag() =", 1, 15, "the expression ends too early"),
        ('entity.tag() = "x" and', 1, 23, "the expression ends too early"),
        ("not", 1, 4, "the expression ends too early"),
        ("-", 1, 2, "the expression ends too early"),
        ("(", 1, 2, "the expression ends too early"),
        ("(1", 1, 3, "the expression ends too early; expected ')'"),
        ('custom("a"', 1, 11, "the expression ends too early; expected ')', ','"),
        ("[1, 2", 1, 6, "the expression ends too early; expected ',', ']'"),
        ("entity.", 1, 8, "the expression ends too early; expected a name"),
        ("1 +\n", 1, 4, "the expression ends too early"),
        ('entity.tag() = "x" and\n  custom("tier") >', 2, 19, "the expression ends too early"),
        ("\n\n  1 +", 3, 6, "the expression ends too early"),
        (")", 1, 1, "unexpected ')'"),
        ("1 2", 1, 3, "unexpected '2'"),
        ('entity.tag() = "x" )', 1, 20, "unexpected ')'; expected the end of the expression"),
        ("(1 = 1))", 1, 8, "unexpected ')'; expected the end of the expression"),
        ("1 = = 2", 1, 5, "unexpected '='"),
        ("1 < 2 < 3", 1, 7, "unexpected '<'"),  # comparisons do not chain
        ("1 = 1 = 1", 1, 7, "unexpected '='"),
        ('custom("a") === 1', 1, 15, "unexpected '='"),
        ("a.(", 1, 3, "unexpected '('; expected a name"),
        ("entity..tag()", 1, 8, "unexpected '.'; expected a name"),
        ("entity.not()", 1, 8, "unexpected 'not'; expected a name"),
        ("custom(,)", 1, 8, "unexpected ','"),
        ("[,]", 1, 2, "unexpected ','"),
        ("[1,,2]", 1, 4, "unexpected ','"),
        (".5", 1, 1, "unexpected '.'"),
        ("1 ! 2", 1, 3, "unexpected '!'"),
        ('custom("a")(1)', 1, 12, "unexpected '('"),
        ("or true", 1, 1, "unexpected 'or'"),
        ("and", 1, 1, "unexpected 'and'"),
        ('entity.tag() = "x" and and true', 1, 24, "unexpected 'and'"),
        ("1 not 2", 1, 3, "unexpected 'not'"),
        ("true true", 1, 6, "unexpected 'true'"),
        ("null null", 1, 6, "unexpected 'null'"),
        ('custom("tier") = 1 andtrue', 1, 20, "unexpected 'andtrue'"),  # keywords are whole words
        ('custom("tier") = 1 ANDtrue', 1, 20, "unexpected 'ANDtrue'"),
        ("true AND AND true", 1, 10, "unexpected 'AND'"),
        ("OR true", 1, 1, "unexpected 'OR'"),
        ('entity.tag()\n= "x"\n"y"', 3, 1, "unexpected '\"y\"'"),
        ('entity.tag() = "payments" and\n  or custom("x")', 2, 3, "unexpected 'or'"),
        ('entity.tag() = "x" and\n  custom("n") >\n  )', 3, 3, "unexpected ')'"),
        ("1 @ 2", 1, 3, "unexpected character '@'"),
        ("$x", 1, 1, "unexpected character '$'"),
        ("  @", 1, 3, "unexpected character '@'"),
        ("\t@", 1, 2, "unexpected character '@'"),
        ("true & false", 1, 6, "unexpected character '&'"),
        ("true | false", 1, 6, "unexpected character '|'"),
        ("true ||| false", 1, 8, "unexpected character '|'"),
        ('"unterminated', 1, 1, "unexpected character '\"'"),
        ("'unterminated", 1, 1, 'unexpected character "\'"'),
        ('"line\nbreak"', 1, 1, "unexpected character '\"'"),  # strings stay on one line
        ("1 +\n  2 +\n  @", 3, 3, "unexpected character '@'"),
        ('entity.tag() = "x"\n  and custom("a") = #', 2, 21, "unexpected character '#'"),
    ],
)
def test_syntax_errors(source, line, column, fragment):
    assert_syntax_error(source, line, column, fragment)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("(1", "the expression ends too early; expected ')'"),
        ('custom("a"', "the expression ends too early; expected ')', ','"),
        ("[1, 2", "the expression ends too early; expected ',', ']'"),
        ("entity.", "the expression ends too early; expected a name"),
        ("1 +", "the expression ends too early"),
        ("a.(", "unexpected '('; expected a name"),
        ('entity.tag() = "x" )', "unexpected ')'; expected the end of the expression"),
    ],
)
def test_syntax_error_messages_list_exactly_what_may_come_next(source, message):
    assert syntax_error(source).message == message


def test_syntax_error_attributes():
    error = syntax_error("1 +\n  2 +\n  @")
    assert isinstance(error, Exception)
    assert error.message == "unexpected character '@'"
    assert (error.line, error.column) == (3, 3)
    assert str(error) == "line 3, column 3: unexpected character '@'"
    assert str(RuleSyntaxError("no position")) == "no position"


@pytest.mark.parametrize(
    "source",
    [
        'entity.tag() = "payments-api"',
        'entity.hasGroup("tier-1") and ownership.allOwners().length > 0',
        'custom("tier") <= 2 && links("runbook").length >= 1',
        "!(oncall = null) || slos().length > 0",
        'semver(package("django").version) >= "4.2" and package("django").version.isStable()',
        'custom("lastDeploy") > now() - duration("P30D")',
        'jq(custom("runtime_info"), ".replicas") >= 2',
        'git.fileExists("README.md") and git.fileContents("README.md").matches("(?s)# .*")',
        'sonarqube.metric("coverage") >= 80',
        'entity.name().startsWith("Payments") and entity.description().endsWith(".")',
        'not entity.hasGroup("deprecated")',
        'ownership.teams().any(t => t.name == "payments-team") or ownership.emails().length > 0',
    ],
)
def test_realistic_rules_pass(ctx, source):
    assert compile_expression(source).check(ctx) is True


# -------------------------------------------------------------------------------- CompiledExpression


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("true", True),
        ("false", False),
        ("null", False),
        ('custom("missing")', False),
        ('custom("missing").matches("x")', False),
        ('custom("flag")', True),
        ('custom("missing") > 1', False),
    ],
)
def test_check_gives_a_boolean(ctx, source, expected):
    assert compile_expression(source).check(ctx) is expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("1", "a rule must give true or false, but this one gave number 1"),
        ('"yes"', "a rule must give true or false, but this one gave string 'yes'"),
        ("[]", "a rule must give true or false, but this one gave list []"),
        ('custom("runtime_info").regions', "a rule must give true or false, but this one gave list ['eu', 'us']"),
        ("entity.tag()", "a rule must give true or false, but this one gave string 'payments-api'"),
        ("now()", "a rule must give true or false, but this one gave datetime"),
        ('duration("P1D")', "a rule must give true or false, but this one gave duration"),
        ('custom("empty_obj")', "a rule must give true or false, but this one gave object {}"),
    ],
)
def test_check_rejects_non_boolean_results(ctx, source, message):
    expression = compile_expression(source)
    expression.evaluate(ctx)  # the raw value is fine...
    with pytest.raises(RuleRuntimeError) as info:
        expression.check(ctx)  # ...but it is no rule outcome
    assert str(info.value).startswith(message)


def test_check_propagates_rule_errors(ctx):
    with pytest.raises(RuleRuntimeError, match="division by zero"):
        compile_expression('custom("tier") / 0 > 1').check(ctx)


def test_compiled_expression_is_cached_and_reusable(ctx, bare):
    source = 'entity.hasGroup("tier-1") and git.fileExists("README.md")'
    expression = compile_expression(source)
    assert isinstance(expression, CompiledExpression)
    assert compile_expression(source) is expression
    assert expression.source == source
    assert expression.required_facts == {("git", "fileExists:README.md")}
    assert expression.check(ctx) is True
    assert expression.check(bare) is False  # short-circuit: the missing fact is never read
    assert expression.check(ctx) is True  # no state kept between entities
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.source = "false"  # type: ignore[misc]


def test_evaluation_does_not_mutate_the_facts(ctx):
    before = make_entity()
    for source in (
        'custom("ports") + [8080]',
        'jq(custom("runtime_info"), ".regions |= . + [\\"ap\\"]")',
        'links("runbook")',
        "entity.groups()",
    ):
        run(source, ctx)
    assert ctx == before


def test_a_catastrophic_regex_cannot_backtrack(ctx):
    """RE2 matches in time linear in the text: `(a+)+$` on 40 a's and a `!` answers at once (a
    backtracking engine takes hours), in every regex method."""
    ctx.custom["x"] = "a" * 40 + "!"
    for source in (
        'custom("x").matches("(a+)+$")',
        'custom("x").matchesIn("^(a+)+$")',
        '[custom("x")].anyMatch("(a|aa)+$")',
    ):
        assert run(source, ctx) is False
    ctx.custom["x"] = "a" * 40
    assert run('custom("x").matches("(a+)+$")', ctx) is True
