"""Catalog descriptors: OpenAPI-style YAML with x-cortex-* fields (DESIGN §3), parsed into an EntitySpec.

Parsing only validates and normalises; nothing here touches the database.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from apps.catalog.models import TAG_PATTERN
from apps.core.validation import Checker
from apps.core.yamlio import line_of, load_yaml, plain

_TAG_RE = re.compile(TAG_PATTERN)
_GIT_PROVIDERS = ("github", "gitlab", "bitbucket", "azure", "azureDevops")
KNOWN_INFO_KEYS = {
    "title",
    "description",
    "version",
    "x-cortex-tag",
    "x-cortex-type",
    "x-cortex-groups",
    "x-cortex-owners",
    "x-cortex-parents",
    "x-cortex-custom-metadata",
    "x-cortex-link",
    "x-cortex-git",
    "x-cortex-oncall",
    "x-cortex-slos",
    "x-cortex-packages",
    "x-cortex-archived",
    "x-cortex-team",
    "x-cortex-static-analysis",
    "x-cortex-dependency",
    "x-cortex-children",
}


@dataclass
class EntitySpec:
    """A validated catalog descriptor, ready to be written."""

    tag: str
    name: str
    type: str = "service"
    description: str = ""
    groups: list[str] = field(default_factory=list)
    owners: list[dict] = field(default_factory=list)  # {"kind", "name", "email", "description"}
    parents: list[str] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    custom: dict[str, tuple[Any, str]] = field(default_factory=dict)  # key -> (value, description)
    git: dict | None = None
    git_url: str = ""
    oncall: Any = None
    slos: list = field(default_factory=list)
    packages: list[dict] = field(default_factory=list)
    archived: bool = False
    document: dict = field(default_factory=dict)


def _valid_email(value: str) -> bool:
    try:
        EmailValidator()(value)
    except ValidationError:
        return False
    return True


def _valid_url(value: str) -> bool:
    try:
        URLValidator()(value)
    except ValidationError:
        return False
    return True


def git_basepath_ok(basepath: str) -> bool:
    """A monorepo subfolder: relative, and never above the repository's root."""
    clean = posixpath.normpath(basepath.strip())
    return not basepath.strip().startswith("/") and clean != ".." and not clean.startswith("../")


def git_basepath(git: dict | None) -> str:
    """The folder of a monorepo the entity lives in (`x-cortex-git.<provider>.basepath`), or "" for the root."""
    for provider in _GIT_PROVIDERS:
        block = (git or {}).get(provider)
        if isinstance(block, dict) and isinstance(block.get("basepath"), str) and git_basepath_ok(block["basepath"]):
            clean = posixpath.normpath(block["basepath"].strip())
            return "" if clean == "." else clean
    return ""


def parse_entity_descriptor(text: str, *, source: str = "", base_dir: Path | None = None) -> tuple[EntitySpec, list]:
    """Validate one descriptor. Returns (spec, warnings) or raises ValidationFailed listing every error.

    `base_dir` resolves a relative `x-cortex-git.url` against the descriptor's folder.
    """
    doc = load_yaml(text, source=source)
    check = Checker(source)
    if not isinstance(doc, dict):
        check.error("a catalog descriptor must be a mapping with an 'info' section", "", 1)
        check.raise_if_errors()
    info = check.field(doc, "info", (dict,), "", required=True) or {}
    p = "info"
    tag = check.field(info, "x-cortex-tag", (str,), p, required=True)
    if tag and not _TAG_RE.match(tag):
        check.error(
            "a tag holds letters, digits, '.', '_' and '-', and starts alphanumeric",
            f"{p}.x-cortex-tag",
            line_of(info, "x-cortex-tag"),
        )
    title = check.field(info, "title", (str,), p, required=True)
    entity_type = check.field(info, "x-cortex-type", (str,), p, default="service")
    if entity_type and not _TAG_RE.match(entity_type):
        check.error(
            "a type is a slug such as service, domain or team", f"{p}.x-cortex-type", line_of(info, "x-cortex-type")
        )
    description = check.field(info, "description", (str,), p, default="")
    groups = check.string_list(info, "x-cortex-groups", p)

    owners = []
    for op, owner in check.mappings(info, "x-cortex-owners", p):
        kind = check.field(owner, "type", (str,), op, required=True)
        kind = kind.lower() if kind else kind
        if kind in ("group", "team"):
            name = check.field(owner, "name", (str,), op, required=True)
            if name:
                owners.append(
                    {"kind": "group", "name": name, "email": "", "description": owner.get("description") or ""}
                )
        elif kind in ("email", "user"):
            email = check.field(owner, "email", (str,), op, required=True)
            if email and not _valid_email(email):
                check.error(f"{email!r} is not an email address", f"{op}.email", line_of(owner, "email"))
            elif email:
                owners.append(
                    {"kind": "email", "name": "", "email": email, "description": owner.get("description") or ""}
                )
        elif kind:
            check.error(f"owner type must be 'group' or 'email', not {kind!r}", f"{op}.type", line_of(owner, "type"))

    parents = []
    for pp, parent in check.mappings(info, "x-cortex-parents", p):
        parent_tag = check.field(parent, "tag", (str,), pp, required=True)
        if parent_tag:
            if parent_tag == tag:
                check.error("an entity cannot be its own parent", f"{pp}.tag", line_of(parent, "tag"))
            else:
                parents.append(parent_tag)

    links = []
    for lp, link in check.mappings(info, "x-cortex-link", p):
        name = check.field(link, "name", (str,), lp, required=True)
        url = check.field(link, "url", (str,), lp, required=True)
        link_type = check.field(link, "type", (str,), lp, default="documentation")
        if url and not _valid_url(url):
            check.error(f"{url!r} is not a URL", f"{lp}.url", line_of(link, "url"))
        elif name and url:
            links.append({"name": name, "type": link_type.lower(), "url": url})

    custom: dict[str, tuple[Any, str]] = {}
    metadata = check.field(info, "x-cortex-custom-metadata", (dict,), p, default={})
    for key, value in metadata.items():
        value = plain(value)
        # Cortex's long form: `key: {value: ..., description: ...}`.
        if isinstance(value, dict) and "value" in value and set(value) <= {"value", "description"}:
            custom[str(key)] = (value["value"], str(value.get("description") or ""))
        else:
            custom[str(key)] = (value, "")

    git = check.field(info, "x-cortex-git", (dict,), p)
    git_url = ""
    if git is not None:
        gp = f"{p}.x-cortex-git"
        url = check.field(git, "url", (str,), gp, default="")
        providers = [k for k in git if k in _GIT_PROVIDERS]
        for provider in providers:
            block = check.mapping(git[provider], f"{gp}.{provider}", line_of(git, provider))
            if block is not None:
                check.field(block, "repository", (str,), f"{gp}.{provider}", required=True)
                basepath = check.field(block, "basepath", (str,), f"{gp}.{provider}", default="")
                if basepath and not git_basepath_ok(basepath):
                    check.error(
                        "basepath must be a folder inside the repository, such as services/payments",
                        f"{gp}.{provider}.basepath",
                        line_of(block, "basepath"),
                    )
        for key in git:
            if key not in (*_GIT_PROVIDERS, "url"):
                check.warn(f"unknown git provider '{key}' is ignored", f"{gp}.{key}", line_of(git, key))
        if url:
            if "://" not in url and not url.startswith("/") and base_dir is not None:
                url = str((base_dir / url).resolve())
            git_url = url

    oncall = plain(info.get("x-cortex-oncall"))
    slos_raw = plain(info.get("x-cortex-slos"))
    slos = slos_raw if isinstance(slos_raw, list) else ([slos_raw] if slos_raw else [])

    packages = []
    seen_packages = set()
    for pk, package in check.mappings(info, "x-cortex-packages", p):
        name = check.field(package, "name", (str,), pk, required=True)
        version = check.field(package, "version", (str, int, float), pk, default="")
        manager = check.field(package, "manager", (str,), pk, default="")
        if name:
            if (manager, name) in seen_packages:
                check.error(f"package {name!r} is listed twice", f"{pk}.name", line_of(package, "name"))
            seen_packages.add((manager, name))
            packages.append({"name": name, "version": str(version), "manager": manager})

    archived = check.field(info, "x-cortex-archived", (bool,), p, default=False)
    for key in info:
        if str(key).startswith("x-cortex-") and key not in KNOWN_INFO_KEYS:
            check.warn(f"unknown field '{key}' is ignored", f"{p}.{key}", line_of(info, key))

    check.raise_if_errors()
    spec = EntitySpec(
        tag=tag,
        name=title,
        type=(entity_type or "service").lower(),
        description=description or "",
        groups=groups,
        owners=owners,
        parents=parents,
        links=links,
        custom=custom,
        git=plain(git) if git is not None else None,
        git_url=git_url,
        oncall=oncall,
        slos=slos,
        packages=packages,
        archived=archived,
        document=plain(doc),
    )
    return spec, check.warnings


# --- Export: the descriptor of a stored entity -----------------------------------------------------------


def _is_long_form(value: Any) -> bool:
    return isinstance(value, dict) and "value" in value and set(value) <= {"value", "description"}


def entity_to_document(entity) -> dict:
    """An OpenAPI-style descriptor built from the entity's stored fields, which applies back unchanged.

    Reads `owners`, `parent_links`, `links`, `custom_data` and `packages` through `.all()` (prefetch them to
    save queries); writes nothing. Only custom data from a descriptor is included: keys set through the API
    are not part of a descriptor (as in Cortex), and applying the document leaves them alone.
    """
    info: dict[str, Any] = {"title": entity.name}
    if entity.description:
        info["description"] = entity.description
    info["x-cortex-tag"] = entity.tag
    info["x-cortex-type"] = str(entity.type)  # a TextChoices member on a fresh instance
    if entity.groups:
        info["x-cortex-groups"] = list(entity.groups)
    owners = []
    for owner in sorted(entity.owners.all(), key=lambda o: o.pk):
        item = (
            {"type": "group", "name": owner.name} if owner.kind == "group" else {"type": "email", "email": owner.email}
        )
        if owner.description:
            item["description"] = owner.description
        owners.append(item)
    if owners:
        info["x-cortex-owners"] = owners
    parents = [{"tag": link.tag} for link in sorted(entity.parent_links.all(), key=lambda p: p.pk)]
    if parents:
        info["x-cortex-parents"] = parents
    links = [
        {"name": link.name, "type": link.type, "url": link.url}
        for link in sorted(entity.links.all(), key=lambda lk: lk.pk)
    ]
    if links:
        info["x-cortex-link"] = links
    custom: dict[str, Any] = {}
    for row in sorted(entity.custom_data.all(), key=lambda c: c.key):
        if row.source != "descriptor":
            continue
        long_form = row.description or _is_long_form(row.value)
        custom[row.key] = {"value": row.value, "description": row.description} if long_form else row.value
    if custom:
        info["x-cortex-custom-metadata"] = custom
    if entity.git is not None:
        info["x-cortex-git"] = entity.git
    if entity.oncall is not None:
        info["x-cortex-oncall"] = entity.oncall
    if entity.slos:
        info["x-cortex-slos"] = list(entity.slos)
    packages = []
    for package in sorted(entity.packages.all(), key=lambda p: (p.manager, p.name)):
        item = {"name": package.name}
        if package.version:
            item["version"] = package.version
        if package.manager:
            item["manager"] = package.manager
        packages.append(item)
    if packages:
        info["x-cortex-packages"] = packages
    if entity.archived:
        info["x-cortex-archived"] = True
    return {"openapi": "3.0.1", "info": info}


_INFO_ORDER = (
    "title",
    "description",
    "version",
    "x-cortex-tag",
    "x-cortex-type",
    "x-cortex-groups",
    "x-cortex-owners",
    "x-cortex-parents",
    "x-cortex-link",
    "x-cortex-custom-metadata",
    "x-cortex-git",
    "x-cortex-oncall",
    "x-cortex-slos",
    "x-cortex-packages",
    "x-cortex-archived",
)


def _in_order(mapping: dict, order: tuple[str, ...]) -> dict:
    return {**{k: mapping[k] for k in order if k in mapping}, **{k: v for k, v in mapping.items() if k not in order}}


def entity_descriptor_document(entity) -> dict:
    """What `GET /catalog/{tag}/openapi` answers: the last descriptor applied, as parsed, or one built from the
    stored fields for an entity never applied from a descriptor. The archived flag is the entity's own, so that
    applying the answer back does not undo an archive or unarchive made through the API. Keys come in the
    usual order (PostgreSQL's jsonb does not keep the order they were written in)."""
    if not entity.descriptor:
        return entity_to_document(entity)
    document = _in_order(dict(entity.descriptor), ("openapi", "info"))
    info = dict(document.get("info") or {})
    if entity.archived:
        info["x-cortex-archived"] = True
    elif "x-cortex-archived" in info:
        info["x-cortex-archived"] = False
    document["info"] = _in_order(info, _INFO_ORDER)
    return document
