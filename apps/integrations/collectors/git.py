"""Git facts, read from the HEAD commit: bare clones work and uncommitted edits in a local checkout never count.

A local path or file:// URL is read in place. Any other URL is cloned bare and shallow into
GIT_CACHE_DIR, and fetched (once per run) when it is already there.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast
from urllib.parse import unquote, urlsplit

from django.conf import settings
from git import Blob, Commit, IndexObject, Repo
from git.cmd import Git
from git.exc import GitCommandError, GitError, InvalidGitRepositoryError, NoSuchPathError, UnsafeProtocolError

from apps.catalog.descriptors import git_basepath
from apps.integrations.collectors.base import FactResult, SourceError, failed, redact_url, unknown_key

if TYPE_CHECKING:
    from apps.catalog.models import Entity

MAX_FILE_BYTES = 1024 * 1024
_DRAIN_CHUNK = 64 * 1024
# git's own rule: a colon before the first slash means scp-like ssh (git@github.com:org/repo.git).
_SCP_LIKE = re.compile(r"^[^/]+:")
_GIT_MESSAGE = re.compile(r"^\s*(?:stderr: ')?((?:fatal|error): .*?)'?\s*$", re.MULTILINE)


def _git_env() -> dict[str, str]:
    # A credential prompt would hang a worker forever; fail instead.
    return {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
    }


def _git_timeout() -> int:
    return settings.GIT_TIMEOUT_SECONDS


def is_remote(url: str) -> bool:
    if "://" in url:
        return not url.lower().startswith("file://")
    return bool(_SCP_LIKE.match(url))


def _local_path(url: str) -> str:
    if url.lower().startswith("file://"):
        return unquote(urlsplit(url).path)
    return os.path.expanduser(url)


def cache_path(url: str) -> Path:
    """Readable and unique: the credential-free URL made filename-safe, plus a hash of the full URL."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", redact_url(url).split("://", 1)[-1]).strip("._-")[:80]
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Path(settings.GIT_CACHE_DIR) / f"{readable or 'repo'}-{digest}"


def _command_error(action: str, url: str, exc: GitCommandError) -> SourceError:
    messages = _GIT_MESSAGE.findall(str(exc.stderr))
    # git's first complaint is the specific one; later lines are generic ("Could not read from remote").
    reason = messages[0] if messages else f"git exited with status {exc.status}"
    return SourceError(f"could not {action} {redact_url(url)}: {redact_url(reason)}")


def _open_local(url: str) -> Repo:
    path = _local_path(url)
    try:
        return Repo(path)
    except NoSuchPathError:
        raise SourceError(f"the git repository {path} does not exist") from None
    except InvalidGitRepositoryError:
        raise SourceError(f"{path} is not a git repository") from None


def _remote_default_branch(repo: Repo) -> str | None:
    """The branch the remote's HEAD names now, so a rename such as master -> main is followed."""
    # Git.execute returns str unless asked for a process or extended output (as_process, with_extended_output).
    listing = cast(
        str, repo.git.ls_remote("--symref", "origin", "HEAD", kill_after_timeout=_git_timeout(), env=_git_env())
    )
    for line in listing.splitlines():
        target, _, name = line.partition("\t")
        if name == "HEAD" and target.startswith("ref: refs/heads/"):
            return target.removeprefix("ref: refs/heads/")
    return None


def _fetch(repo: Repo) -> None:
    branch = _remote_default_branch(repo) or (None if repo.head.is_detached else repo.head.reference.name)
    if not branch:
        raise SourceError("the remote repository names no default branch")
    # A bare clone has no fetch refspec of its own, so the branch is fetched straight onto the local branch.
    refspec = f"+refs/heads/{branch}:refs/heads/{branch}"
    repo.git.fetch("--depth=1", "origin", refspec, kill_after_timeout=_git_timeout(), env=_git_env())
    if repo.head.is_detached or repo.head.reference.name != branch:
        repo.git.symbolic_ref("HEAD", f"refs/heads/{branch}")


def _clone(url: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Cloning beside the target and renaming keeps a half-done clone from ever being read, and lets a
    # concurrent worker that cloned the same URL first simply win.
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        Git().clone("--bare", "--depth=1", "--", url, str(staging), kill_after_timeout=_git_timeout(), env=_git_env())
        try:
            staging.rename(path)
        except OSError:
            if not path.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _open_cached(path: Path) -> Repo | None:
    if not path.is_dir():
        return None
    try:
        return Repo(path)
    except InvalidGitRepositoryError:
        # Only a damaged cache entry can get here (clones are renamed into place whole); clone it afresh.
        shutil.rmtree(path, ignore_errors=True)
        return None


def cached_repository(url: str, *, fetch: bool = True) -> Repo:
    """The cache's bare clone of `url`: cloned when missing, otherwise fetched unless `fetch` is false."""
    try:
        Git.check_unsafe_protocols(url)
    except UnsafeProtocolError:
        raise SourceError(f"refusing the unsafe git URL {redact_url(url)}") from None
    path = cache_path(url)
    repo = _open_cached(path)
    if repo is None:
        try:
            _clone(url, path)
        except GitCommandError as exc:
            raise _command_error("clone", url, exc) from None
        except OSError as exc:
            raise SourceError(f"could not write the git cache {path}: {exc.strerror or exc}") from None
        return Repo(path)
    if fetch:
        try:
            _fetch(repo)
        except (GitCommandError, SourceError) as exc:
            repo.close()
            if isinstance(exc, GitCommandError):
                raise _command_error("fetch", url, exc) from None
            raise
    return repo


def _lookup(commit: Commit, path: str) -> IndexObject | None:
    """The blob, tree or submodule at `path` in the commit; None when there is nothing there."""
    clean = posixpath.normpath(path.strip().lstrip("/")) if path.strip() else ""
    if not clean or clean == ".." or clean.startswith("../"):
        return None
    if clean == ".":
        return commit.tree
    try:
        return commit.tree / clean
    except KeyError:
        return None


def _contents(blob: Blob) -> str:
    stream = blob.data_stream
    data = stream.read(MAX_FILE_BYTES)
    # The rest must still be consumed: the stream shares git's cat-file pipe with the next object.
    while stream.read(_DRAIN_CHUNK):
        pass
    return data.decode("utf-8", errors="replace")


def _under(basepath: str, path: str) -> str:
    """`path` inside the entity's folder of a monorepo; `..` may not climb out of that folder."""
    clean = posixpath.normpath(path.strip().lstrip("/")) if path.strip() else ""
    if not basepath or not clean or clean == ".." or clean.startswith("../"):
        return path if not basepath else ""
    return posixpath.join(basepath, clean)


MAX_SEARCH_RESULTS = 100


def _last_commit(commit: Commit) -> dict:
    """`git.lastCommit()`: the default branch's head, with its date as ISO-8601 (`.fromNow()` reads it)."""
    return {
        "sha": commit.hexsha,
        "message": commit.message.strip() if isinstance(commit.message, str) else "",
        "date": commit.committed_datetime.isoformat(),
        "author": {"name": commit.author.name, "email": commit.author.email},
    }


def _code_search(repo: Repo, commit: Commit, argument: str, basepath: str) -> FactResult:
    """`git.codeSearch(query = "regex")`: lines of the head commit matching the (POSIX extended) regex,
    at most MAX_SEARCH_RESULTS of them, as {path, line, text}. `fileExtension=` and `path=` narrow it."""
    query, *extras = argument.split("\x1f")
    options = dict(extra.split("=", 1) for extra in extras if "=" in extra)
    folder = _under(basepath, options.get("path", "")) if options.get("path") else basepath
    if options.get("path") and not folder:
        return [], ""
    pathspec = posixpath.join(folder, "**") if folder else "."
    if options.get("fileExtension"):
        pathspec = posixpath.join(folder or "", f"**/*.{options['fileExtension'].lstrip('.')}")
    try:
        output = repo.git.grep(
            "-I",
            "-n",
            "-E",
            "--full-name",
            "-e",
            query,
            commit.hexsha,
            "--",
            f":(glob){pathspec}",
            kill_after_timeout=_git_timeout(),
        )
    except GitCommandError as exc:
        if exc.status == 1:
            return [], ""  # git grep's "no match"
        messages = _GIT_MESSAGE.findall(str(exc.stderr))
        return None, f"code search failed: {messages[0] if messages else f'git exited with status {exc.status}'}"
    matches = []
    for line in output.splitlines()[:MAX_SEARCH_RESULTS]:
        # <commit>:<path>:<line>:<text>
        _, path, number, text = (line.split(":", 3) + ["", "", ""])[:4]
        matches.append({"path": path, "line": int(number) if number.isdigit() else None, "text": text[:500]})
    return matches, ""


def _fact(commit: Commit, branch: str | None, key: str, basepath: str = "", repo: Repo | None = None) -> FactResult:
    function, _, argument = key.partition(":")
    if key == "defaultBranch":
        return (branch, "") if branch else (None, "HEAD is detached, so there is no default branch")
    if key == "lastCommit":
        return _last_commit(commit), ""
    if function == "codeSearch" and argument and repo is not None:
        return _code_search(repo, commit, argument, basepath)
    if function == "fileExists" and argument:
        return _lookup(commit, _under(basepath, argument)) is not None, ""
    if function == "fileContents" and argument:
        found = _lookup(commit, _under(basepath, argument))
        return (_contents(found) if isinstance(found, Blob) else None), ""
    return unknown_key(GitCollector.source, key)


def read_facts(repo: Repo, keys: list[str], *, basepath: str = "") -> dict[str, FactResult]:
    """Facts from the default branch's head; file paths are relative to `basepath` (a monorepo folder)."""
    try:
        commit = repo.head.commit
    except ValueError:
        return failed(keys, "the repository has no commits")
    branch = None if repo.head.is_detached else repo.head.reference.name
    return {key: _fact(commit, branch, key, basepath, repo) for key in keys}


class GitCollector:
    source: ClassVar[str] = "git"

    def __init__(self) -> None:
        # Entities sharing a remote (a monorepo) fetch it once per run; a failure is remembered just as well.
        self._fetched: dict[str, str] = {}

    @classmethod
    def configured(cls) -> bool:
        return True  # repositories are read from their URL or path; an entity without one says so itself

    def collect(self, entity: Entity, keys: list[str]) -> dict[str, FactResult]:
        if not entity.git_url:
            return failed(keys, f"no git repository is configured for {entity.tag}")
        try:
            repo = self._open(entity.git_url)
        except SourceError as exc:
            return failed(keys, str(exc))
        with repo:
            try:
                return read_facts(repo, keys, basepath=git_basepath(entity.git))
            except (GitError, ValueError, OSError) as exc:
                return failed(keys, f"could not read {redact_url(entity.git_url)}: {exc}")

    def _open(self, url: str) -> Repo:
        if not is_remote(url):
            return _open_local(url)
        if url in self._fetched:
            if self._fetched[url]:
                raise SourceError(self._fetched[url])
            return cached_repository(url, fetch=False)
        try:
            repo = cached_repository(url)
        except SourceError as exc:
            self._fetched[url] = str(exc)
            raise
        self._fetched[url] = ""
        return repo


__all__ = ["MAX_FILE_BYTES", "GitCollector", "cache_path", "cached_repository", "is_remote", "read_facts"]
