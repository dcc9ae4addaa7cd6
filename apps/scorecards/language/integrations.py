"""Integration namespaces: which a rule may name, and how a call on one becomes a fact to collect.

A call such as `jira.numOfIssues(jql = "x")` compiles to a read of the fact (`jira`,
`numOfIssues(jql="x")`), which the integration's collector (apps/integrations/collectors) collects
before evaluation. An integration with no collector here, or with one this installation has not
configured, gives the outcome "integration not configured: jira" — the rule compiles and says
what it needs. Adding a real integration is one collector; the rules already written start working.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import isodate

from .nodes import RuleSyntaxError, _guard, _Named, _Node
from .values import EntityFacts, IntegrationNotConfigured, RuleRuntimeError, SemVer

# Integrations with a collector (apps/integrations/collectors); whether each is configured is the loader's word.
REACHABLE = ("git", "sonarqube", "prometheus")
# Cortex's integration namespaces that have no collector in this product yet (docs.cortex.io lists them).
UNREACHABLE = (
    "jira",
    "snyk",
    "datadog",
    "slack",
    "k8s",
    "codecov",
    "sentry",
    "newrelic",
    "dynatrace",
    "pagerduty",
    "opsgenie",
    "victorops",
    "firehydrant",
    "rootly",
    "incidentio",
    "servicenow",
    "launchdarkly",
    "bugsnag",
    "rollbar",
    "checkmarx",
    "veracode",
    "wiz",
    "mend",
    "semgrep",
    "coralogix",
    "lightstep",
    "splunk",
    "aws",
    "azure",
    "gcp",
    "github",
    "gitlab",
    "bitbucket",
    "azureDevops",
    "buildkite",
    "circleci",
    "jenkins",
    "argocd",
    "openapi",
    "apiiro",
    "clickup",
    "msteams",
    "statuspage",
    "xmatters",
    "vault",
)

# git functions that ask the git provider's API (GitHub, GitLab, ...) rather than the repository itself.
GIT_PROVIDER_FUNCTIONS = frozenset(
    {
        "numOfRequiredApprovals",
        "branchProtection",
        "pullRequests",
        "numOfVulnerabilities",
        "vulnerabilities",
        "reviews",
        "workflowRuns",
        "numOfOpenPullRequests",
        "codeowners",
        "hasCodeowners",
        "contributors",
        "numOfContributors",
        "releases",
        "tags",
        "issues",
        "numOfIssues",
        "topics",
        "language",
        "languages",
        "dependabotAlerts",
        "securityScanning",
    }
)


def literal_text(value) -> str:
    """A literal argument written back as CQL, so equal calls make equal fact keys."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {literal_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, timedelta):
        return f'duration("{isodate.duration_isoformat(value)}")'
    if isinstance(value, datetime):
        return f'datetime("{value.isoformat()}")'
    if isinstance(value, SemVer):
        return f'semver("{value.text}")'
    raise TypeError(type(value).__name__)


def fact_key(function: str, args: list) -> str:
    """`numOfIssues(jql="x")`: positional then named arguments, each a literal."""
    parts = []
    for arg in args:
        node = arg.value if isinstance(arg, _Named) else arg
        if not isinstance(node, _Node) or not node.is_literal:
            raise RuleSyntaxError(
                f"{function}() needs literal arguments here, so the data can be collected before evaluation",
                arg.line,
                arg.column,
            )
        text = literal_text(node.literal)
        parts.append(f"{arg.name}={text}" if isinstance(arg, _Named) else text)
    return f"{function}({', '.join(parts)})"


def read_fact(source: str, key: str, label: str):
    """The closure that reads a collected fact, or says the integration is not configured."""

    def read(ctx: EntityFacts):
        configured = ctx.configured
        if configured is not None and source not in configured:
            raise IntegrationNotConfigured(source)
        found = ctx.facts.get((source, key))
        if found is None:
            if configured is None and source not in REACHABLE:
                raise IntegrationNotConfigured(source)
            raise RuleRuntimeError(f"{source}: no data collected for {label}")
        value, error = found
        if error:
            raise RuleRuntimeError(f"{source}: {error}")
        return value

    return read


def any_function(compiler, meta, source: str, function: str, args: list, where) -> _Node:
    """`source.function(...)` on an integration without a dedicated builder: a fact by its canonical call."""
    key = fact_key(function, args)
    compiler.required_facts.add((source, key))
    return compiler._node(_guard(read_fact(source, key, key), meta.column), meta)


def linked(compiler, meta, source: str) -> _Node:
    """`jira != null`: the entity is linked to the integration (the collector's `linked` fact)."""
    compiler.required_facts.add((source, "linked"))
    return compiler._node(read_fact(source, "linked", f"{source} != null"), meta)
