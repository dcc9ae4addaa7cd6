"""A realistic demo catalog, generated deterministically from a seed (used by `manage.py load_demo`).

Generation is pure (`generate_catalog` returns descriptors and repository layouts); `load_demo_catalog`
then writes the git repositories and applies every descriptor through `entity_apply_descriptor`, so
the demo exercises the same parser and writes as a real import. This module only touches the catalog;
scorecards, users and exemptions are the command's business (it sits above every app).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.catalog.services import entity_apply_descriptor
from apps.core.yamlio import dump_yaml

GITHUB_ORG = "acme"
# Every demo commit has the same author and date, so the same seed gives the same commit ids.
COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "Demo Bot",
    "GIT_AUTHOR_EMAIL": "demo-bot@example.com",
    "GIT_AUTHOR_DATE": "2026-01-15T10:00:00+00:00",
    "GIT_COMMITTER_NAME": "Demo Bot",
    "GIT_COMMITTER_EMAIL": "demo-bot@example.com",
    "GIT_COMMITTER_DATE": "2026-01-15T10:00:00+00:00",
}

# domain tag -> (name, description, owning teams, service nouns)
DOMAINS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "commerce": (
        "Commerce",
        "Everything between a shopper finding a product and placing an order.",
        ("checkout-team", "growth-team"),
        ("cart", "checkout", "catalog", "pricing", "promotions", "orders", "inventory", "reviews", "wishlist"),
    ),
    "payments": (
        "Payments",
        "Moving money: charging cards, ledgers, invoices, refunds and payouts.",
        ("payments-team", "ledger-team"),
        ("payments", "ledger", "billing", "invoicing", "refunds", "payouts", "fraud", "tax", "subscriptions"),
    ),
    "identity": (
        "Identity",
        "Who a user is and what they may do: sign-in, sessions, permissions.",
        ("identity-team", "security-team"),
        ("auth", "accounts", "sessions", "permissions", "profiles", "sso", "mfa", "tokens", "audit"),
    ),
    "data": (
        "Data & Search",
        "Search, analytics and the pipelines that feed them.",
        ("search-team", "data-platform"),
        ("search", "analytics", "events", "reporting", "metrics", "etl", "warehouse", "features", "ranking"),
    ),
    "logistics": (
        "Logistics",
        "Getting parcels from the warehouse to the customer and back.",
        ("logistics-team", "mobile-team"),
        ("shipping", "fulfillment", "tracking", "carriers", "returns", "routing", "labels", "stock", "dispatch"),
    ),
    "platform": (
        "Platform",
        "Shared infrastructure every product team builds on.",
        ("platform-infra", "sre"),
        ("gateway", "notifications", "email", "sms", "flags", "config", "scheduler", "storage", "media"),
    ),
}

TEAMS: dict[str, str] = {
    "checkout-team": "Checkout",
    "growth-team": "Growth",
    "payments-team": "Payments",
    "ledger-team": "Ledger",
    "identity-team": "Identity",
    "security-team": "Security",
    "search-team": "Search",
    "data-platform": "Data Platform",
    "logistics-team": "Logistics",
    "mobile-team": "Mobile",
    "platform-infra": "Platform Infrastructure",
    "sre": "Site Reliability Engineering",
}

SUFFIXES = (
    "api",
    "worker",
    "service",
    "web",
    "consumer",
    "indexer",
    "scheduler",
    "sync",
    "exporter",
    "gateway",
    "grpc",
    "admin",
    "cron",
    "proxy",
    "graphql",
)
# What a suffix tells about the service, for its description.
ROLE_TEXT = {
    "api": "HTTP API for {noun}",
    "worker": "Background worker processing {noun} jobs",
    "service": "Core {noun} service",
    "web": "Web front end for {noun}",
    "consumer": "Kafka consumer applying {noun} events",
    "indexer": "Indexes {noun} documents for search",
    "scheduler": "Schedules recurring {noun} tasks",
    "sync": "Keeps {noun} in sync with partner systems",
    "exporter": "Exports {noun} data to the warehouse",
    "gateway": "Edge gateway in front of the {noun} services",
    "grpc": "gRPC API for {noun}, used service to service",
    "admin": "Back-office tool for the {noun} team",
    "cron": "Nightly {noun} batch jobs",
    "proxy": "Caching proxy for {noun} reads",
    "graphql": "GraphQL layer over the {noun} APIs",
}
FIRST_NAMES = ("ana", "ben", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jules", "kemi", "lars")

LANGUAGES = ("python", "go", "java", "node")
# (package, manager, versions old to new); the old ones fail the security scorecard's version rules.
FRAMEWORKS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "python": [
        ("django", "pip", ("3.2.25", "4.1.13", "4.2.16", "5.0.9", "5.1.4")),
        ("flask", "pip", ("1.1.4", "2.0.3", "2.3.3", "3.0.3")),
    ],
    "java": [("spring-boot", "maven", ("2.7.18", "3.1.5", "3.2.4", "3.3.2"))],
    "node": [("express", "npm", ("4.17.1", "4.18.2", "4.19.2", "4.21.1"))],
    "go": [("github.com/gin-gonic/gin", "go", ("v1.7.7", "v1.9.1", "v1.10.0"))],
}
EXTRA_PACKAGES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "python": ("requests", "pip", ("2.28.2", "2.31.0", "2.32.3")),
    "java": ("jackson-databind", "maven", ("2.13.5", "2.15.3", "2.17.1")),
    "node": ("axios", "npm", ("0.27.2", "1.6.8", "1.7.7")),
    "go": ("github.com/prometheus/client_golang", "go", ("v1.14.0", "v1.19.1")),
}
DATA_CLASSES = ("public", "internal", "confidential", "restricted")


def demo_repos_dir() -> Path:
    """Where demo repositories are created; a setting so tests can point it at a temporary folder."""
    return Path(settings.DEMO_REPOS_DIR)


@dataclass
class DemoEntity:
    """One generated entity: its descriptor (as data) and, for some services, a repository layout."""

    tag: str
    type: str
    info: dict[str, Any]
    repo_files: dict[str, str] | None = None

    @property
    def groups(self) -> list[str]:
        return self.info.get("x-cortex-groups", [])

    @property
    def custom(self) -> dict[str, Any]:
        return self.info.get("x-cortex-custom-metadata", {})

    def link_types(self) -> set[str]:
        return {link["type"] for link in self.info.get("x-cortex-link", [])}

    def package_version(self, name: str) -> str | None:
        for package in self.info.get("x-cortex-packages", []):
            if package["name"] == name:
                return package["version"]
        return None

    def descriptor(self) -> str:
        return dump_yaml({"openapi": "3.0.1", "info": self.info})


@dataclass
class DemoCatalog:
    teams: list[DemoEntity] = field(default_factory=list)
    domains: list[DemoEntity] = field(default_factory=list)
    services: list[DemoEntity] = field(default_factory=list)

    @property
    def entities(self) -> list[DemoEntity]:
        # Teams first, then domains: owners and parents resolve at once (the service links them later anyway).
        return [*self.teams, *self.domains, *self.services]


def _service_tags(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """`count` unique (tag, domain, noun), spread over the domains; numbered once the names run out."""
    combos = [(domain, noun, suffix) for domain, spec in DOMAINS.items() for noun in spec[3] for suffix in SUFFIXES]
    rng.shuffle(combos)
    result = []
    for index in range(count):
        domain, noun, suffix = combos[index % len(combos)]
        round_ = index // len(combos)
        tag = f"{noun}-{suffix}" if round_ == 0 else f"{noun}-{suffix}-{round_ + 1}"
        result.append((tag, domain, noun))
    return result


_SPECIAL_WORDS = {
    "api": "API",
    "grpc": "gRPC",
    "graphql": "GraphQL",
    "sso": "SSO",
    "mfa": "MFA",
    "sms": "SMS",
    "etl": "ETL",
}


def _title(tag: str) -> str:
    return " ".join(_SPECIAL_WORDS.get(part, part.capitalize()) for part in tag.split("-"))


def _repo_files(rng: random.Random, tag: str, language: str, description: str, team: str | None) -> dict[str, str]:
    """A small but plausible repository; which of the checked files exist varies from repo to repo."""
    files: dict[str, str] = {}
    if rng.random() < 0.85:
        files["README.md"] = (
            f"# {_title(tag)}\n\n{description}\n\n## Running locally\n\n```sh\nmake dev\n```\n\n"
            "## Deploying\n\nMerges to `main` deploy to staging; production deploys are promoted from there.\n"
        )
    if rng.random() < 0.6:
        base = {"python": "python:3.12-slim", "go": "golang:1.22", "java": "eclipse-temurin:21", "node": "node:20"}
        files["Dockerfile"] = f'FROM {base[language]}\nWORKDIR /app\nCOPY . .\nCMD ["make", "serve"]\n'
    if team and rng.random() < 0.55:
        where = "CODEOWNERS" if rng.random() < 0.5 else ".github/CODEOWNERS"
        files[where] = f"* @{GITHUB_ORG}/{team}\n"
    if rng.random() < 0.7:
        files[".github/workflows/ci.yml"] = (
            "name: CI\non:\n  push:\n    branches: [main]\n  pull_request:\njobs:\n  test:\n"
            "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n"
        )
    if rng.random() < 0.45:
        files["docs/index.md"] = f"# {_title(tag)} documentation\n\nArchitecture, APIs and operations.\n"
        if rng.random() < 0.4:
            files["docs/adr/0001-record-architecture-decisions.md"] = (
                "# 1. Record architecture decisions\n\nWe record significant decisions as ADRs.\n"
            )
    manifest = {
        "python": ("pyproject.toml", f'[project]\nname = "{tag}"\nversion = "0.1.0"\n'),
        "go": ("go.mod", f"module github.com/{GITHUB_ORG}/{tag}\n\ngo 1.22\n"),
        "java": ("pom.xml", f"<project><artifactId>{tag}</artifactId></project>\n"),
        "node": ("package.json", f'{{"name": "{tag}", "version": "0.1.0", "private": true}}\n'),
    }[language]
    files[manifest[0]] = manifest[1]
    files["Makefile"] = "dev:\n\t@echo starting\ntest:\n\t@echo ok\nserve:\n\t@echo serving\n"
    return files


def generate_catalog(*, seed: int = 42, services: int = 300, repos: int = 15) -> DemoCatalog:
    """The whole demo catalog as data. Same arguments, same catalog (no database, no clock)."""
    rng = random.Random(seed)
    catalog = DemoCatalog()
    team_domain = {team: domain for domain, spec in DOMAINS.items() for team in spec[2]}

    for tag, name in TEAMS.items():
        lead = f"{rng.choice(FIRST_NAMES)}.{tag.split('-')[0]}@example.com"
        info: dict[str, Any] = {
            "title": f"{name} team",
            "description": f"The {name} team, part of the {DOMAINS[team_domain[tag]][0]} domain.",
            "x-cortex-tag": tag,
            "x-cortex-type": "team",
            "x-cortex-owners": [{"type": "email", "email": lead, "description": "Engineering manager"}],
            "x-cortex-link": [{"name": "Slack", "type": "chat", "url": f"https://acme.slack.com/channels/{tag}"}],
            "x-cortex-custom-metadata": {"slack_channel": f"#{tag}", "cost_center": f"CC-{rng.randint(1000, 1999)}"},
        }
        catalog.teams.append(DemoEntity(tag=tag, type="team", info=info))

    for tag, (name, description, teams, _nouns) in DOMAINS.items():
        info = {
            "title": name,
            "description": description,
            "x-cortex-tag": tag,
            "x-cortex-type": "domain",
            "x-cortex-owners": [{"type": "group", "name": teams[0]}],
            "x-cortex-link": [
                {"name": "Domain overview", "type": "documentation", "url": f"https://docs.example.com/domains/{tag}"}
            ],
        }
        catalog.domains.append(DemoEntity(tag=tag, type="domain", info=info))

    named = _service_tags(rng, services)
    # Repositories go to the first non-deprecated services in generation order (which is shuffled).
    repo_budget = repos
    for tag, domain, noun in named:
        maturity = rng.random()  # one hidden knob per service, so good habits come together
        team = rng.choice(DOMAINS[domain][2])
        language = rng.choices(LANGUAGES, weights=(40, 20, 20, 20))[0]
        tier = rng.choices((1, 2, 3), weights=(20, 45, 35))[0]
        deprecated = rng.random() < 0.04
        suffix = tag.split("-")[1]
        description = ROLE_TEXT[suffix].format(noun=noun) + "." if rng.random() < 0.85 or maturity > 0.5 else ""
        if description and rng.random() < 0.5:
            description += f" Owned by {TEAMS[team]}; see the runbook before paging."

        groups = [f"tier-{tier}", language]
        if deprecated:
            groups.append("deprecated")
        has_repo = repo_budget > 0 and not deprecated
        if has_repo:
            repo_budget -= 1
            groups.append("git-linked")

        owners: list[dict[str, str]] = []
        if rng.random() >= 0.05:
            owners.append({"type": "group", "name": team})
            if rng.random() < 0.3:
                owners.append({"type": "email", "email": f"{rng.choice(FIRST_NAMES)}.{noun}@example.com"})

        links = []
        if rng.random() < 0.25 + 0.65 * maturity:
            links.append({"name": "Runbook", "type": "runbook", "url": f"https://wiki.example.com/runbooks/{tag}"})
        if rng.random() < 0.35 + 0.5 * maturity:
            links.append({"name": "Docs", "type": "documentation", "url": f"https://docs.example.com/{tag}"})
        if rng.random() < 0.15 + 0.7 * maturity:
            links.append({"name": "Dashboard", "type": "dashboard", "url": f"https://grafana.example.com/d/{tag}"})

        custom: dict[str, Any] = {}
        if rng.random() < 0.85:
            custom["tier"] = tier
        if rng.random() < 0.3 + 0.6 * maturity:
            custom["runtime_info"] = {
                "app_version": f"{rng.randint(1, 4)}.{rng.randint(0, 12)}.{rng.randint(0, 9)}",
                "region": rng.choice(("eu-west-1", "us-east-1")),
            }
        elif rng.random() < 0.3:
            custom["runtime_info"] = {"region": "eu-west-1"}  # declared, but without the version
        if rng.random() < 0.2 + 0.6 * maturity:
            custom["on_call_rotation"] = f"{team}-primary"
        if rng.random() < 0.75:
            custom["cost_center"] = f"CC-{rng.randint(1000, 1999)}"
        if rng.random() < 0.25 + 0.6 * maturity:
            target = {1: (99.95, 99.9, 99.5), 2: (99.9, 99.5), 3: (99.5, 99.0)}[tier]
            custom["slo_target"] = rng.choice(target)
        if rng.random() < 0.2:
            custom["data_classification"] = rng.choice(DATA_CLASSES)

        packages = []
        frameworks = FRAMEWORKS[language]
        name, manager, versions = frameworks[0] if len(frameworks) == 1 or rng.random() < 0.6 else frameworks[1]
        # Mature services tend to run newer versions.
        index = min(len(versions) - 1, int((0.4 * rng.random() + 0.7 * maturity) * len(versions)))
        packages.append({"name": name, "version": versions[index], "manager": manager})
        extra_name, extra_manager, extra_versions = EXTRA_PACKAGES[language]
        packages.append({"name": extra_name, "version": rng.choice(extra_versions), "manager": extra_manager})

        info = {
            "title": _title(tag),
            "description": description,
            "x-cortex-tag": tag,
            "x-cortex-type": "service",
            "x-cortex-groups": groups,
            "x-cortex-parents": [{"tag": domain}],
            "x-cortex-custom-metadata": custom,
            "x-cortex-packages": packages,
        }
        if not description:
            del info["description"]
        if owners:
            info["x-cortex-owners"] = owners
        if links:
            info["x-cortex-link"] = links
        if rng.random() < 0.2 + 0.7 * maturity:
            schedule = "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=6))
            info["x-cortex-oncall"] = {"pagerduty": {"id": f"P{schedule}", "type": "SCHEDULE"}}
        if tier == 1 and rng.random() < 0.5:
            info["x-cortex-slos"] = [{"datadog": {"id": f"slo-{tag}", "name": "Availability"}}]
        if deprecated and rng.random() < 0.5:
            info["x-cortex-archived"] = True

        repo_files = None
        if has_repo:
            repo_files = _repo_files(rng, tag, language, description, team if owners else None)
            # The path is filled in at load time: it depends on settings, and generation stays pure.
            info["x-cortex-git"] = {"github": {"repository": f"{GITHUB_ORG}/{tag}"}}
        elif rng.random() < 0.8:
            info["x-cortex-git"] = {"github": {"repository": f"{GITHUB_ORG}/{tag}"}}
        catalog.services.append(DemoEntity(tag=tag, type="service", info=info, repo_files=repo_files))
    return catalog


def _git(path: Path, *args: str) -> None:
    env = {
        **os.environ,
        **COMMIT_ENV,
        # The user's own git configuration (signing, hooks, templates) must not change the demo commits.
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)


def write_repository(path: Path, files: dict[str, str]) -> None:
    """(Re)create a one-commit repository on branch `main` holding `files`."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    _git(path, "init", "--quiet", "--initial-branch=main")
    _git(path, "add", "--all")
    _git(path, "commit", "--quiet", "--no-verify", "--message", "Initial commit")


@dataclass
class CatalogLoadSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    repos: list[Path] = field(default_factory=list)


def load_demo_catalog(catalog: DemoCatalog, *, repos_dir: Path | None = None) -> CatalogLoadSummary:
    """Write the demo repositories, then apply every descriptor. Idempotent: a second run changes nothing."""
    repos_dir = repos_dir or demo_repos_dir()
    summary = CatalogLoadSummary()
    for item in catalog.entities:
        if item.repo_files is not None:
            path = (repos_dir / item.tag).resolve()
            write_repository(path, item.repo_files)
            item.info["x-cortex-git"]["url"] = str(path)
            summary.repos.append(path)
        _entity, action, _warnings = entity_apply_descriptor(text=item.descriptor(), source=f"demo:{item.tag}")
        setattr(summary, action, getattr(summary, action) + 1)
    return summary
