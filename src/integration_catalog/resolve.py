"""Resolve what git knows about each integration: its published versions (from tags, with their
snapshots), `currentVersion`, `createdAt`, `updatedAt`, `createdBy`, and tombstones."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from pathlib import Path
from typing import Any

from .cache import CheckCache
from .config import CATALOG_FILE, PUBLISHERS_FILE, Settings
from .diagnostics import Diagnostic, Severity
from .filecheck import SNAPSHOT_FILES, CheckBatch, Checker, FileCheck, FileJob, SourceIntegration
from .gitrepo import (
    BlobReader,
    DirHistory,
    RepoState,
    directory_history,
    list_tags,
    open_repo,
)
from .jsontext import with_list
from .model import IntegrationSource, integration_id, utc_rfc3339
from .ranges import parse_version
from .source import INTEGRATION_FILE, INTEGRATIONS_DIR, SourceDir
from .versions import Snapshot, VersionTag, current_version, match_tags, newest_first, rfc3339
from .workers import give_back_free_memory


class ShallowRepository(Exception):
    """The history is cut short, so versions and dates would be wrong."""


SHALLOW_HINT = (
    "the repository is a shallow clone, so versions and dates cannot be derived from its "
    "history; fetch the whole history and the tags (`git fetch --unshallow --tags`, or "
    "`fetch-depth: 0` with `fetch-tags: true` in actions/checkout), or pass --allow-shallow"
)


@dataclass(frozen=True)
class Resolved:
    """One integration with everything git says about it."""

    source: SourceDir
    spec: IntegrationSource
    versions: tuple[Snapshot, ...]  # newest first
    current_version: str | None
    created_at: str
    updated_at: str
    created_by: str
    deleted_at: str | None
    tombstone: bool  # the directory is gone; the record comes from the last snapshot

    @property
    def key(self) -> str:
        return self.source.key

    def __reduce__(self) -> tuple[Callable[..., Resolved], tuple[Any, ...]]:
        # Pickled (for a worker process), the spec goes as its JSON: a quarter of the bytes
        # of pydantic's own pickle, and faster to make and to read back.
        return _unpickled, (self.spec.model_dump_json(), *_other_fields(self))


_OTHER_FIELDS = tuple(f.name for f in fields(Resolved) if f.name != "spec")
_other_fields = attrgetter(*_OTHER_FIELDS)


def _unpickled(spec: str, *others: Any) -> Resolved:
    spec_model = IntegrationSource.model_validate_json(spec)
    return Resolved(spec=spec_model, **dict(zip(_OTHER_FIELDS, others, strict=True)))


@dataclass(frozen=True)
class Resolution:
    integrations: list[Resolved]  # sorted by key, tombstones included
    reference_time: int  # unix seconds: what "now" means for this build


@dataclass(frozen=True)
class GitFacts:
    """What was read from git, once, for the whole catalog."""

    state: RepoState | None
    tags: dict[str, list[VersionTag]]
    history: dict[str, DirHistory]
    reference_time: int
    # Every release tag, newest first for each integration (the blob each one holds is
    # looked up as its versions are loaded, a chunk at a time)
    published: tuple[VersionTag, ...] = ()


def reference_time(state: RepoState | None, source_date_epoch: int | None) -> int:
    """What "now" means for a build: SOURCE_DATE_EPOCH, else HEAD's time, else the clock."""
    if source_date_epoch is not None:
        return source_date_epoch
    if state is not None and state.head_time is not None:
        return state.head_time
    return int(time.time())


def read_history(
    root: Path,
    settings: Settings,
    keys: Iterable[str],
    *,
    allow_shallow: bool = False,
    source_date_epoch: int | None = None,
    merged_tags_only: bool = False,
) -> tuple[GitFacts, list[Diagnostic]]:
    """What git says about the whole catalog (`keys`: the integration directories of the
    tree): the repository's state, the release tags and each directory's history. Mostly
    waits on git, while worker processes can check files. Raises ShallowRepository for a
    shallow clone without `allow_shallow`."""
    diagnostics: list[Diagnostic] = []
    state = open_repo(root)
    if state is None:
        diagnostics.append(
            Diagnostic(
                CATALOG_FILE,
                1,
                1,
                Severity.WARNING,
                "git-no-repository",
                "the catalog is not in a git repository: every integration is a draft and times "
                "are the build's reference time",
                "run `git init` and commit, then tag releases",
            )
        )
    elif state.shallow and not allow_shallow:
        raise ShallowRepository(SHALLOW_HINT)
    when = reference_time(state, source_date_epoch)
    if state is None or state.head_time is None:
        return GitFacts(state, {}, {}, when), diagnostics
    tags, problems = match_tags(
        list_tags(root, merged_only=merged_tags_only),
        settings.config.tagPattern,
        {key: _yaml_path(key) for key in keys},
    )
    diagnostics.extend(problems)
    history = directory_history(root, state.prefix, INTEGRATIONS_DIR, INTEGRATION_FILE)
    published = tuple(item for key in sorted(tags) for item in newest_first(tags[key]))
    return GitFacts(state, tags, history, when, published), diagnostics


def resolve(
    settings: Settings,
    tree: Callable[[], list[SourceIntegration]],
    facts: GitFacts,
    checker: Checker,
    reader: BlobReader,
    *,
    cache: CheckCache | None = None,
    existing: Iterable[str] = (),
    read_published: bool = True,
    git_read: Callable[[], None] = lambda: None,
) -> tuple[Resolution, list[Diagnostic]]:
    """Resolve every integration from what `read_history` found, tombstones included,
    checking published versions on `checker` (their blobs asked of `reader`, or of `cache`
    when it knows them). `tree` gives the tree's integrations that passed their checks; it
    is called once the workers have published versions to check, so that its own work
    overlaps theirs. Without `read_published`, the published versions
    of integrations still in the tree are known by their tags alone: their content is
    neither read nor checked (only a tombstone needs it). `git_read` is called once all
    that is read from git has been, while the workers check the last versions."""
    diagnostics: list[Diagnostic] = []
    # A directory that is still there (even with a broken file) is no tombstone.
    present = set(existing)
    items: list[SourceIntegration] = []

    def once_git_is_read() -> None:
        git_read()
        _make_specs(items)

    snapshots = _load_snapshots(
        facts,
        checker,
        reader,
        cache,
        diagnostics,
        present=present,
        read_published=read_published,
        meanwhile=lambda: items.extend(tree()),
        then=once_git_is_read,
    )
    resolved = [_from_tree(item, facts, snapshots.get(item.source.key, ())) for item in items]
    for key in sorted(snapshots.keys() - present):
        tombstone = _tombstone(key, snapshots[key], facts, diagnostics)
        if tombstone is not None:
            resolved.append(tombstone)
    if facts.state is not None:
        diagnostics.extend(_dirty_warning(facts.state))
    ordered = sorted(resolved, key=lambda r: (r.source.publisher, r.source.slug))
    return Resolution(ordered, facts.reference_time), diagnostics


def _make_specs(items: list[SourceIntegration]) -> None:
    """Make the tree's specs as objects (see `SourceIntegration.spec`), once git's memory is
    gone, while the workers are busy."""
    for item in items:
        _ = item.spec


def _load_snapshots(
    facts: GitFacts,
    checker: Checker,
    reader: BlobReader,
    cache: CheckCache | None,
    diagnostics: list[Diagnostic],
    *,
    present: set[str],
    read_published: bool,
    meanwhile: Callable[[], None],
    then: Callable[[], None],
) -> dict[str, tuple[Snapshot, ...]]:
    """Check every tagged `integration.yaml`, reading only the blobs the cache does not
    already know; each (integration, blob) is checked once. Only integrations no longer
    `present` keep their snapshots' whole spec (for a tombstone). `meanwhile` runs as soon
    as the workers have versions to check for a while, `then` once git is read, while they
    check the last ones."""
    found: dict[str, list[Snapshot]] = {}
    checked: dict[tuple[str, str], FileCheck] = {}
    started: set[tuple[str, str]] = set()
    prefix = facts.state.prefix if facts.state is not None else ""
    # A chunk at a time, so memory stays bounded: the next chunks' blobs are looked up and
    # read from git and the cache while the workers check the earlier ones.
    running: list[_Chunk] = []
    waited = False
    for start in range(0, len(facts.published), _CHUNK):
        tags = facts.published[start : start + _CHUNK]
        names = [f"{item.tag.commit}:{prefix}{_yaml_path(item.key)}" for item in tags]
        chunk = list(zip(tags, _blob_ids(names, reader, cache), strict=True))
        jobs: dict[tuple[str, str], FileJob] = {}
        for item, oid in chunk:
            pair = (item.key, oid or "")
            if oid is None or pair in started or not (read_published or item.key not in present):
                continue
            started.add(pair)
            jobs[pair] = FileJob(item.key, SNAPSHOT_FILES, oid, slim=item.key in present)
        running.append((chunk, list(jobs), checker.start(list(jobs.values()), reader.contents)))
        if len(running) == _AHEAD and not waited:
            meanwhile()
            waited = True
        if len(running) > _AHEAD:
            _finish_chunk(running.pop(0), checker, checked, found, diagnostics)
            give_back_free_memory()  # what the chunk's results freed, while git still runs
    # Every blob is read: git's memory goes before the last checks' results come in.
    reader.close()
    if not waited:
        meanwhile()
    then()
    for done in running:
        _finish_chunk(done, checker, checked, found, diagnostics)
    return {key: tuple(value) for key, value in found.items()}


# The tags of a chunk with their blob ids, the (integration, blob) pairs it checks, and the
# batch checking them.
_Chunk = tuple[Sequence[tuple[VersionTag, str | None]], list[tuple[str, str]], CheckBatch]


def _finish_chunk(
    running: _Chunk,
    checker: Checker,
    checked: dict[tuple[str, str], FileCheck],
    found: dict[str, list[Snapshot]],
    diagnostics: list[Diagnostic],
) -> None:
    """Wait for a chunk's checks and make its snapshots (an earlier chunk is done already,
    so every blob a chunk names has been checked, or is known by its tag alone)."""
    chunk, pairs, batch = running
    checked.update(zip(pairs, checker.finish(batch), strict=True))
    for item, oid in chunk:
        where = _yaml_path(item.key)
        if oid is None:
            diagnostics.append(
                Diagnostic(
                    where,
                    1,
                    1,
                    Severity.WARNING,
                    "tag-missing-file",
                    f"tag `{item.tag.name}` is ignored: its commit {item.tag.commit[:12]} has no "
                    f"{where}",
                    "tag the commit that holds the integration, or delete the tag",
                )
            )
            continue
        known = checked.get((item.key, oid))
        if known is None:  # not read: known by its tag alone
            found.setdefault(item.key, []).append(
                Snapshot(
                    str(item.version),
                    item.tag.name,
                    rfc3339(item.tag.published),
                    item.tag.commit,
                    None,
                )
            )
            continue
        if known.errors:
            first = known.errors[0]
            diagnostics.append(
                Diagnostic(
                    where,
                    1,
                    1,
                    Severity.WARNING,
                    "snapshot-invalid",
                    f"published version `{item.tag.name}` no longer passes today's checks "
                    f"(line {first.line}: {first.message})"
                    + ("" if known.packed is not None else "; it cannot be read and is left out"),
                    "published versions cannot be edited; release a fixed version",
                )
            )
        if known.packed is None:
            continue
        found.setdefault(item.key, []).append(
            Snapshot(
                str(item.version),
                item.tag.name,
                rfc3339(item.tag.published),
                item.tag.commit,
                known.packed,
                spec_json=known.spec_json,
                dependencies=known.dependencies,
            )
        )


_CHUNK = 4096
# Chunks the workers hold at a time: enough to keep them busy while this process reads the
# next chunk and makes the snapshots of the last one.
_AHEAD = 3


def _blob_ids(names: list[str], reader: BlobReader, cache: CheckCache | None) -> list[str | None]:
    """The blob id of each `<commit>:<path>`. A commit never changes, so its answer is kept
    in the cache (the id, or nothing when the commit has no such file): a run where nothing
    new was tagged asks git nothing."""
    if cache is None:
        return reader.ids(names)
    keys = [cache.key("blob-id", name) for name in names]
    known: dict[bytes, str | None] = {}
    for key, data in cache.get_bytes(keys, "blob_ids").items():
        if not data:
            known[key] = None  # the commit has no such file
        elif _OID.fullmatch(data):
            known[key] = data.decode()
    missing = [i for i, key in enumerate(keys) if key not in known]
    found = reader.ids([names[i] for i in missing])
    cache.put_bytes(
        ((keys[i], (oid or "").encode()) for i, oid in zip(missing, found, strict=True)),
        "blob_ids",
    )
    answers = {keys[i]: oid for i, oid in zip(missing, found, strict=True)}
    return [answers[key] if key in answers else known[key] for key in keys]


_OID = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")


def _yaml_path(key: str) -> str:
    return f"{INTEGRATIONS_DIR}/{key}/{INTEGRATION_FILE}"


def _from_tree(
    item: SourceIntegration, facts: GitFacts, versions: tuple[Snapshot, ...]
) -> Resolved:
    source, spec = item.source, item.spec
    versions = apply_yanks(versions, spec)
    history = facts.history.get(source.rel_dir)
    dirty = facts.state is not None and any(
        path == source.rel_dir or path.startswith(source.rel_dir + "/")
        for path in facts.state.dirty
    )
    created = history.created if history else facts.reference_time
    updated = history.updated if history else facts.reference_time
    if dirty:
        updated = max(updated, facts.reference_time)
    author = history.created_by if history else source.publisher
    return Resolved(
        source=source,
        spec=spec,
        versions=versions,
        current_version=_current(versions),
        created_at=rfc3339(created),
        updated_at=rfc3339(updated),
        created_by=spec.createdBy or author,
        deleted_at=utc_rfc3339(spec.deletedAt) if spec.deletedAt else None,
        tombstone=False,
    )


def apply_yanks(versions: tuple[Snapshot, ...], spec: IntegrationSource) -> tuple[Snapshot, ...]:
    """Mark the versions the publisher withdrew (in today's `yanked`)."""
    if not spec.yanked:
        return versions
    return tuple(replace(s, yanked=spec.yanked.get(s.version)) for s in versions)


def _current(versions: tuple[Snapshot, ...]) -> str | None:
    """The current version among those not yanked."""
    chosen = current_version(parse_version(s.version) for s in versions if s.yanked is None)
    return str(chosen) if chosen is not None else None


def _tombstone(
    key: str, versions: tuple[Snapshot, ...], facts: GitFacts, diagnostics: list[Diagnostic]
) -> Resolved | None:
    """A published integration whose directory was deleted keeps a record built from its
    newest snapshot that still reads as a valid integration."""
    publisher, _, slug = key.partition("/")
    source = SourceDir(publisher, slug, frozenset())
    history = facts.history.get(source.rel_dir)
    spec = next((s.spec for s in versions if s.spec is not None), None)
    if spec is not None:
        versions = apply_yanks(versions, spec)
    if spec is None:
        diagnostics.append(
            Diagnostic(
                _yaml_path(key),
                1,
                1,
                Severity.WARNING,
                "tombstone-unreadable",
                f"`{key}` was deleted after it was published, but none of its published versions "
                "can be read any more, so consumers get no record of its deletion",
                "restore the directory with `deletedAt` set instead of deleting it",
            )
        )
        return None
    deleted = history.deleted if history and history.deleted else facts.reference_time
    return Resolved(
        source=source,
        spec=spec,
        versions=versions,
        current_version=_current(versions),
        created_at=rfc3339(history.created if history else deleted),
        updated_at=rfc3339(deleted),
        created_by=spec.createdBy or (history.created_by if history else publisher),
        deleted_at=rfc3339(deleted),
        tombstone=True,
    )


def _dirty_warning(state: RepoState) -> list[Diagnostic]:
    relevant = sorted(
        p
        for p in state.dirty
        if p.startswith(INTEGRATIONS_DIR + "/") or p in (CATALOG_FILE, PUBLISHERS_FILE)
    )
    if not relevant:
        return []
    shown = ", ".join(relevant[:3]) + (
        f" and {len(relevant) - 3} more" if len(relevant) > 3 else ""
    )
    return [
        Diagnostic(
            CATALOG_FILE,
            1,
            1,
            Severity.WARNING,
            "git-dirty",
            f"the work tree has uncommitted changes ({shown}); their dates are the build's "
            "reference time",
            "commit the changes for reproducible dates",
        )
    ]


def versions_json(item: Resolved) -> dict[str, Any]:
    """`versions.json` of one integration: its id, current version and snapshots, newest
    first."""
    return versions_document(
        item.source.publisher, item.source.slug, item.current_version, item.versions
    )


def versions_document(
    publisher: str, slug: str, current: str | None, snapshots: tuple[Snapshot, ...]
) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(versions_document_bytes(publisher, slug, current, snapshots))
    return value


def versions_document_bytes(
    publisher: str, slug: str, current: str | None, snapshots: tuple[Snapshot, ...]
) -> bytes:
    """The document as compact JSON, joined from each snapshot's own (see `Snapshot.json_bytes`)."""
    head = {"integrationId": integration_id(publisher, slug), "currentVersion": current}
    return with_list(head, "versions", (snapshot.json_bytes() for snapshot in snapshots))
