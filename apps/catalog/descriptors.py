"""Catalog descriptors: OpenAPI-style YAML with x-cortex-* fields (DESIGN §3), parsed into an EntitySpec.

Parsing only validates and normalises; nothing here touches the database. Every entity tag a descriptor
holds (its own, owner teams, parents, dependencies, relationship ends) comes out in `normalise_tag`'s form.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from apps.catalog.models import (
    DEPENDENCY_PATH_MAX,
    DESCRIPTION_MAX,
    HTTP_METHODS,
    METADATA_MAX_BYTES,
    TAG_PATTERN,
    TYPE_PATTERN,
    normalise_tag,
)
from apps.core.validation import Checker
from apps.core.yamlio import line_of, load_yaml, plain

_TAG_RE = re.compile(TAG_PATTERN)
_TYPE_RE = re.compile(TYPE_PATTERN)
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
    "x-cortex-relationships",
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
    # {"tag", "method", "path", "description", "metadata"}; method and path "" for the whole entity.
    dependencies: list[dict] = field(default_factory=list)
    # {"type", "destinations": [tags], "sources": [tags], "path"}; path names the block for later errors.
    relationships: list[dict] = field(default_factory=list)
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
    tag = normalise_tag(tag) if tag else tag
    title = check.field(info, "title", (str,), p, required=True)
    entity_type = check.field(info, "x-cortex-type", (str,), p, default="service")
    if entity_type and not _TYPE_RE.match(entity_type):
        check.error(
            "a type is a slug such as service, domain or team, or a resource type such as AWS::S3::Bucket",
            f"{p}.x-cortex-type",
            line_of(info, "x-cortex-type"),
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
                    {
                        "kind": "group",
                        "name": normalise_tag(name),
                        "email": "",
                        "description": owner.get("description") or "",
                    }
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
        parent_tag = normalise_tag(parent_tag) if parent_tag else parent_tag
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
    dependencies = _dependencies(check, info, p, tag)
    relationships = _relationships(check, info, p, tag)
    for key in info:
        if str(key).startswith("x-cortex-") and key not in KNOWN_INFO_KEYS:
            check.warn(f"unknown field '{key}' is ignored", f"{p}.{key}", line_of(info, key))

    check.raise_if_errors()
    spec = EntitySpec(
        tag=tag,
        name=title,
        # Slugs are matched in lower case (Service = service); resource types keep Cortex's spelling, which
        # rules compare against (`dependency.type == "AWS::S3::Bucket"`).
        type=entity_type if "::" in (entity_type or "") else (entity_type or "service").lower(),
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
        dependencies=dependencies,
        relationships=relationships,
        document=plain(doc),
    )
    return spec, check.warnings


def nul_path(value: Any, path: str = "") -> str | None:
    """The path of the first string (key or value) holding a NUL character, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = nul_path(item, here)
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def metadata_problem(value: Any) -> str | None:
    """Why a dependency's metadata cannot be stored, or None: a mapping of JSON, without NUL, not too big."""
    import json

    if not isinstance(value, dict):
        return "must be a mapping"
    where = nul_path(value)
    if where is not None:
        return f"must not hold NUL characters (at {where})"
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        return "must hold JSON values only"
    if size > METADATA_MAX_BYTES:
        return f"must be at most {METADATA_MAX_BYTES // 1024} KiB as JSON, not {size} bytes"
    return None


def _text(check: Checker, node: dict, key: str, path: str, *, max_length: int, required: bool = False) -> str:
    value = check.field(node, key, (str,), path, required=required, default="")
    if not value:
        return ""
    if "\x00" in value:
        check.error("must not hold NUL characters", f"{path}.{key}", line_of(node, key))
        return ""
    if len(value) > max_length:
        check.error(f"must be at most {max_length} characters, not {len(value)}", f"{path}.{key}", line_of(node, key))
        return ""
    return value


def _tag_at(check: Checker, node: dict, key: str, path: str, *, entity: bool = True) -> str:
    """A tag at `node[key]`: an entity's, normalised, or (`entity=False`) a relationship type's, as written."""
    value = _text(check, node, key, path, max_length=255, required=True)
    if value and not _TAG_RE.match(value):
        check.error(
            "a tag holds letters, digits, '.', '_' and '-', and starts alphanumeric",
            f"{path}.{key}",
            line_of(node, key),
        )
        return ""
    return normalise_tag(value) if entity else value


def _dependencies(check: Checker, info: dict, p: str, own_tag: str | None) -> list[dict]:
    """`x-cortex-dependency`: a list of {tag, method?, path?, description?, metadata?}, or Cortex's map form
    whose `cortex` key holds that list (its `aws` tag matching is not supported and is ignored)."""
    key = "x-cortex-dependency"
    raw = info.get(key)
    if raw is None:
        return []
    dp = f"{p}.{key}"
    if isinstance(raw, dict):
        for other in raw:
            if other != "cortex":
                check.warn(
                    f"'{other}' dependencies are not supported and are ignored", f"{dp}.{other}", line_of(raw, other)
                )
        holder, key_in_holder = raw, "cortex"
    else:
        holder, dp, key_in_holder = info, p, key
    result: list[dict] = []
    seen: set[tuple[str, str, str]] = set()
    for ip, item in check.mappings(holder, key_in_holder, dp):
        tag = _tag_at(check, item, "tag", ip)
        method = _text(check, item, "method", ip, max_length=16).upper()
        path = _text(check, item, "path", ip, max_length=DEPENDENCY_PATH_MAX)
        description = _text(check, item, "description", ip, max_length=DESCRIPTION_MAX)
        metadata = plain(check.field(item, "metadata", (dict,), ip, default={}))
        if method and method not in HTTP_METHODS:
            check.error(
                f"method must be one of {', '.join(HTTP_METHODS)}, not {method!r}",
                f"{ip}.method",
                line_of(item, "method"),
            )
            continue
        if bool(method) != bool(path):
            missing = "path" if method else "method"
            check.error(
                f"'{missing}' is required when '{'method' if method else 'path'}' is given",
                f"{ip}.{missing}",
                line_of(item),
            )
            continue
        problem = metadata_problem(metadata) if "metadata" in item else None
        if problem:
            check.error(problem, f"{ip}.metadata", line_of(item, "metadata"))
            continue
        if not tag:
            continue
        if tag == own_tag:
            check.error("an entity cannot depend on itself", f"{ip}.tag", line_of(item, "tag"))
            continue
        if (tag, method, path) in seen:
            check.error(
                f"the dependency on {tag!r}{f' {method} {path}' if method else ''} is listed twice", ip, line_of(item)
            )
            continue
        seen.add((tag, method, path))
        result.append({"tag": tag, "method": method, "path": path, "description": description, "metadata": metadata})
    return result


def _relationships(check: Checker, info: dict, p: str, own_tag: str | None) -> list[dict]:
    """`x-cortex-relationships`: [{type: <relationship type tag>, destinations: [{tag}], sources: [{tag}]}].
    Whether the type exists and may be declared here is checked when the descriptor is applied."""
    result: list[dict] = []
    seen_types: set[str] = set()
    for rp, item in check.mappings(info, "x-cortex-relationships", p):
        type_tag = _tag_at(check, item, "type", rp, entity=False)
        ends: dict[str, list[str]] = {}
        for side in ("destinations", "sources"):
            tags: list[str] = []
            for ep, end in check.mappings(item, side, rp):
                end_tag = _tag_at(check, end, "tag", ep)
                if end_tag and end_tag in tags:
                    check.error(f"{end_tag!r} is listed twice", f"{ep}.tag", line_of(end, "tag"))
                elif end_tag:
                    tags.append(end_tag)
            ends[side] = tags
        if "destinations" not in item and "sources" not in item:
            check.error("a relationship lists 'destinations' or 'sources'", rp, line_of(item))
            continue
        if type_tag and type_tag in seen_types:
            check.error(
                f"relationship type {type_tag!r} is listed twice; list all its entities once",
                f"{rp}.type",
                line_of(item, "type"),
            )
            continue
        if type_tag:
            seen_types.add(type_tag)
            result.append({"type": type_tag, **ends, "path": rp})
    return result


# --- Export: the descriptor of a stored entity -----------------------------------------------------------


def _is_long_form(value: Any) -> bool:
    return isinstance(value, dict) and "value" in value and set(value) <= {"value", "description"}


def entity_to_document(entity) -> dict:
    """An OpenAPI-style descriptor built from the entity's stored fields, which applies back unchanged.

    Reads `owners`, `parent_links`, `links`, `custom_data`, `packages`, `dependencies_out` and
    `declared_relationships` (with `type`) through `.all()` (prefetch them to
    save queries); writes nothing. Only custom data, dependencies and relationships from a descriptor are
    included: those set through the API are not part of a descriptor (as in Cortex), and applying the
    document leaves them alone.
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
    dependencies = []
    for dependency in sorted(entity.dependencies_out.all(), key=lambda d: d.pk):
        if dependency.source != "descriptor":
            continue
        item = {"tag": dependency.callee_tag}
        if dependency.method:
            item.update(method=dependency.method, path=dependency.path)
        if dependency.description:
            item["description"] = dependency.description
        if dependency.metadata:
            item["metadata"] = dependency.metadata
        dependencies.append(item)
    if dependencies:
        info["x-cortex-dependency"] = dependencies
    relationships: dict[str, dict[str, list]] = {}
    for link in sorted(entity.declared_relationships.all(), key=lambda r: r.pk):
        if link.origin != "descriptor":
            continue
        block = relationships.setdefault(link.type.tag, {})
        if link.source_tag == entity.tag:
            block.setdefault("destinations", []).append({"tag": link.destination_tag})
        else:
            block.setdefault("sources", []).append({"tag": link.source_tag})
    if relationships:
        info["x-cortex-relationships"] = [{"type": tag, **ends} for tag, ends in relationships.items()]
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
    "x-cortex-dependency",
    "x-cortex-relationships",
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


def merge_descriptor(base: Any, patch: Any, *, append_arrays: bool = False, delete_marker: str | None = None) -> Any:
    """`patch` merged into `base`, as Cortex's PATCH of an entity descriptor merges: mappings merge key by key,
    anything else in the patch replaces what it names; lists are replaced, or with `append_arrays` extended by
    the patch's items that are not already there. A key whose merged value is `delete_marker` is left out.
    Pure: returns plain dicts and lists, and changes neither argument."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = {str(k): plain(v) for k, v in base.items()}
        for key, value in patch.items():
            key = str(key)
            merged[key] = merge_descriptor(
                merged.get(key), value, append_arrays=append_arrays, delete_marker=delete_marker
            )
        return _without_marker(merged, delete_marker)
    if append_arrays and isinstance(base, list) and isinstance(patch, list):
        items = [plain(v) for v in base]
        for value in (plain(v) for v in patch):
            if value not in items:
                items.append(value)
        return _without_marker(items, delete_marker)
    return _without_marker(plain(patch), delete_marker)


def _without_marker(value: Any, marker: str | None) -> Any:
    if marker is None:
        return value
    if isinstance(value, dict):
        return {k: _without_marker(v, marker) for k, v in value.items() if v != marker}
    if isinstance(value, list):
        return [_without_marker(v, marker) for v in value]
    return value
