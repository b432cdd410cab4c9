"""One `integration.yaml`'s whole check as a pure job: the unit that is cached by content and
run in parallel. Working-tree files and published snapshots go through the same job, so a file
that did not change since its last tag is checked once."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from .cache import CheckCache
from .checks import check_integration, schema_text_of
from .config import Settings
from .diagnostics import Diagnostic, Severity
from .gitrepo import blob_id
from .jsontext import compact
from .model import IntegrationSource, published_fields
from .secrets import scan_text
from .source import INTEGRATION_FILE, SourceDir
from .versions import pack_published, unpack_published
from .workers import Workers
from .yamlload import LoadedYaml, load_positions_later, load_yaml

# Below this many uncached files, starting worker processes costs more than it saves.
_PARALLEL_FROM = 64
# Files a worker checks at a time, at most: every hand-over needs this process to hold the GIL,
# which it often does for other work, so the workers should not need one too often.
_CHUNK = 256
_PUBLISHED = ("authConfig", "manifest", "variablesSchema")


@dataclass(frozen=True)
class FileJob:
    """Check the blob `oid` as `integrations/<key>/integration.yaml` with these files beside
    it. `data` may be left out while the cache is asked; it is read only if needed."""

    key: str
    files: frozenset[str]
    oid: str
    data: bytes | None = None
    # Keep only what a published version of an integration that still exists needs: its
    # content, dependencies and first error, not its whole spec (only a tombstone needs that).
    slim: bool = False

    @classmethod
    def of(cls, key: str, files: frozenset[str], data: bytes) -> FileJob:
        return cls(key, files, blob_id(data), data)

    @property
    def source(self) -> SourceDir:
        publisher, _, slug = self.key.partition("/")
        return SourceDir(publisher, slug, self.files)


@dataclass(frozen=True)
class FileCheck:
    """What checking one file found. `packed` is the canonical JSON of its published fields
    (`authConfig`, `manifest`, `variablesSchema`), packed as a snapshot keeps it
    (`pack_published`): from the validated spec when it validates, else as written, else None
    when the file could not be loaded at all."""

    diagnostics: tuple[Diagnostic, ...]
    spec_json: str | None
    packed: bytes | None
    # `manifest.dependencies` as published, kept so old versions' dependencies can be checked
    # without reading the content again
    dependencies: tuple[tuple[str, str], ...] = ()
    slim: bool = False  # the spec and all errors but the first were left out (FileJob.slim)

    def slimmed(self) -> FileCheck:
        # the first error is all a published version's warning quotes
        return replace(self, diagnostics=tuple(self.errors[:1]), spec_json=None, slim=True)

    @property
    def spec(self) -> IntegrationSource | None:
        """The validated integration; None when there is none, or when a cached entry does
        not hold a valid one (the caller then checks the file again). Made anew at each use,
        not kept: see `SourceIntegration.spec`."""
        if self.spec_json is None:
            return None
        try:
            return IntegrationSource.model_validate_json(self.spec_json)
        except ValueError:  # pydantic's ValidationError is a ValueError
            return None

    @cached_property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def to_bytes(self) -> bytes:
        """A cache entry: a line of JSON, then the packed content as it is (JSON would
        escape every quote of it, and the worker packed it already)."""
        header = {
            "diagnostics": [d.as_json() for d in self.diagnostics],
            "spec": self.spec_json,
            "dependencies": [list(pair) for pair in self.dependencies],
            "slim": self.slim,
            "packed": self.packed is not None,
        }
        text = compact(header)
        return text.encode() + b"\n" + (self.packed or b"")

    @classmethod
    def from_bytes(cls, data: bytes) -> FileCheck:
        """Raises ValueError (content that does not unpack, say), KeyError, TypeError or
        AttributeError for anything that is not such an entry. (The content's shape is
        checked, not its every value: an entry that passes its checksum is as trusted as
        the cache it came from.)"""
        line, newline, packed = data.partition(b"\n")
        if not newline:
            raise ValueError("no header line")
        value = json.loads(line)
        if value["packed"] is True:
            unpack_published(packed, _MAX_CONTENT)  # raises unless it holds the fields
        elif value["packed"] is not False or packed:
            raise ValueError("content where there is none")
        spec, dependencies = value["spec"], value["dependencies"]
        if not (spec is None or isinstance(spec, str)) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            for pair in dependencies
        ):
            raise ValueError("a spec or dependencies of the wrong type")
        return cls(
            tuple(Diagnostic.from_json(d) for d in value["diagnostics"]),
            spec,
            packed if value["packed"] is True else None,
            tuple((target, version) for target, version in dependencies),
            value["slim"] is True,
        )


# No published content comes near this (a source file is at most 256 KiB): anything larger
# is not ours, and is not unpacked further.
_MAX_CONTENT = 16 * 1024 * 1024


def check_file(job: FileJob, settings: Settings) -> FileCheck:
    """Every per-file rule: the credential scan, strict loading and the checks."""
    source, data = job.source, job.data
    assert data is not None
    diagnostics = list(scan_text(source.yaml_path, data.decode("utf-8", "replace")))
    doc, problems = load_yaml(source.yaml_path, data)
    diagnostics.extend(problems)
    if doc is None:
        return FileCheck(tuple(diagnostics), None, None)
    schema_text = schema_text_of(doc.value)
    spec, problems = check_integration(source, doc, settings, schema_text)
    diagnostics.extend(problems)
    if spec is not None:
        manifest, variables, auth = published_fields(spec)
        spec_json = None if job.slim else spec.model_dump_json()  # a slim check drops it
        # (the checks' text of the schema is where its canonical JSON starts, unless the
        # model made the schema another)
        same = schema_text is not None and _same_members(variables, doc.value["variablesSchema"])
        return FileCheck(
            tuple(diagnostics),
            spec_json,
            pack_published(auth, manifest, variables, schema_text if same else None),
            _dependency_pairs(manifest),
        )
    raw = {name: _as_dict(doc.value.get(name)) for name in _PUBLISHED}
    return FileCheck(
        tuple(diagnostics), None, _packed_or_none(raw), _dependency_pairs(raw["manifest"])
    )


def _same_members(made: dict[str, Any], given: dict[str, Any]) -> bool:
    """Whether two mappings hold the very same values under equal keys (so their JSON is the
    same: equal values may not be, as `1 == 1.0 == True`)."""
    return len(made) == len(given) and all(
        key in made and made[key] is value for key, value in given.items()
    )


def _dependency_pairs(manifest: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    found = manifest.get("dependencies")
    if not isinstance(found, dict):
        return ()
    return tuple(
        (k, v) for k, v in sorted(found.items()) if isinstance(k, str) and isinstance(v, str)
    )


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _packed_or_none(value: Any) -> bytes | None:
    try:
        return pack_published(value["authConfig"], value["manifest"], value["variablesSchema"])
    except ValueError:  # a float that JSON cannot hold
        return None


def _check_chunk(jobs: Sequence[FileJob], settings: Settings) -> list[FileCheck]:
    checks = [check_file(job, settings) for job in jobs]
    return [c.slimmed() if job.slim else c for job, c in zip(jobs, checks, strict=True)]


Fetch = Callable[[list[str]], dict[str, bytes]]


@dataclass
class CheckBatch:
    jobs: Sequence[FileJob]
    keys: list[bytes]
    results: list[FileCheck | None]
    missing: list[int]  # indices of the jobs being checked
    running: list[Future[list[FileCheck]]]
    # slim jobs that take the whole check of the same file from an earlier batch's job
    links: dict[int, tuple[CheckBatch, int]]
    finished: bool = False


_Identity = tuple[str, frozenset[str], str]  # what a check depends on besides the settings


def _identity(job: FileJob) -> _Identity:
    return job.key, job.files, job.oid


class Checker:
    """Checks batches of jobs: what the cache lacks runs on worker processes (the caller's
    `Workers`, or its own, forked on first need), the same for all batches. `start` hands a
    batch to the workers and returns at once, so the next batch (or anything else) can be
    read while they work; `finish` waits for it and stores what was found. Batches are
    finished in the order they were started.

    A slim job takes the whole check of the same file from an earlier batch (a tagged file
    the work tree still holds), so that such a file is checked and stored once."""

    def __init__(
        self, settings: Settings, cache: CheckCache | None, workers: int | Workers | None = None
    ) -> None:
        self._settings, self._cache = settings, cache
        # Workers given are the caller's, and go on working after the checks.
        self._own = not isinstance(workers, Workers)
        self._workers = workers if isinstance(workers, Workers) else Workers(workers)
        self._inherit = False  # whether the workers were forked with the settings set
        # Only a file checked as a snapshot is (its directory holds nothing else) can stand
        # for one: such files' checks, slimmed, from finished batches; and running ones.
        self._whole: dict[_Identity, FileCheck] = {}
        self._pending: dict[_Identity, tuple[CheckBatch, int]] = {}

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc: object) -> None:
        global _SETTINGS  # noqa: PLW0603 - see _SETTINGS
        if self._own:
            self._workers.close()
        _SETTINGS = None

    @property
    def forked(self) -> bool:
        """Whether the workers are forked: from then on this process may run threads."""
        return self._workers.forked

    def fork(self) -> None:
        """Fork the workers now (unless there are to be none), with the settings."""
        if self._workers.count > 1 and not self._workers.forked:
            global _SETTINGS  # noqa: PLW0603 - inherited by the forked workers, see below
            _SETTINGS = self._settings
            self._workers.pool()
            self._inherit = True

    def start(self, jobs: Sequence[FileJob], fetch: Fetch | None = None) -> CheckBatch:
        """`fetch` reads the blobs of jobs given without data, if the cache lacks them."""
        cache = self._cache
        keys = [_cache_key(cache, job) for job in jobs] if cache is not None else []
        cached = cache.get_bytes(keys) if cache is not None else {}
        results: list[FileCheck | None] = []
        links: dict[int, tuple[CheckBatch, int]] = {}
        for index, job in enumerate(jobs):
            found = _from_cache(cached.get(keys[index]), job.slim) if cache is not None else None
            identity = _identity(job)
            if found is None and job.slim:
                whole = self._whole.get(identity)
                if whole is not None:
                    found = whole.slimmed()
                elif identity in self._pending:
                    links[index] = self._pending[identity]
            elif found is not None and not job.slim and job.files == SNAPSHOT_FILES:
                self._whole[identity] = found.slimmed()
            results.append(found)
        missing = [i for i, result in enumerate(results) if result is None and i not in links]
        unread = sorted({jobs[i].oid for i in missing if jobs[i].data is None})
        contents = fetch(unread) if fetch is not None and unread else {}
        todo = [
            jobs[i] if jobs[i].data is not None else replace(jobs[i], data=contents[jobs[i].oid])
            for i in missing
        ]
        batch = CheckBatch(jobs, keys, results, missing, self._submit(todo), links)
        for index in missing:
            if not jobs[index].slim and jobs[index].files == SNAPSHOT_FILES:
                self._pending[_identity(jobs[index])] = (batch, index)
        return batch

    def finish(self, batch: CheckBatch) -> list[FileCheck]:
        fresh = [check for future in batch.running for check in future.result()]
        for index, result in zip(batch.missing, fresh, strict=True):
            batch.results[index] = result
            identity = _identity(batch.jobs[index])
            if not batch.jobs[index].slim and self._pending.pop(identity, None) is not None:
                self._whole[identity] = result.slimmed()
        for index, (earlier, at) in batch.links.items():
            whole = earlier.results[at]
            assert earlier.finished and whole is not None, "batches finish in start order"
            batch.results[index] = whole.slimmed()
        batch.links.clear()  # the earlier batches' checks may go
        batch.finished = True
        if self._cache is not None and batch.missing:
            self._cache.put_bytes(
                (batch.keys[i], check.to_bytes())
                for i, check in zip(batch.missing, fresh, strict=True)
            )
        return [r for r in batch.results if r is not None]

    def _submit(self, todo: list[FileJob]) -> list[Future[list[FileCheck]]]:
        count = self._workers.count
        if count <= 1 or len(todo) < _PARALLEL_FROM:
            done: Future[list[FileCheck]] = Future()
            done.set_result(_check_chunk(todo, self._settings))
            return [done]
        self.fork()
        pool = self._workers.pool()
        # Large enough that handing work over costs little, small enough that every worker
        # gets several
        size = min(_CHUNK, max(16, -(-len(todo) // (4 * count))))
        chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        if self._inherit:
            return [pool.submit(_check_inherited, chunk) for chunk in chunks]
        # (workers forked before: the settings go with each chunk)
        return [pool.submit(_check_chunk, chunk, self._settings) for chunk in chunks]


def _cache_key(cache: CheckCache, job: FileJob) -> bytes:
    return cache.key(job.key, ",".join(sorted(job.files)), job.oid, "slim" if job.slim else "")


def _from_cache(entry: bytes | None, slim: bool) -> FileCheck | None:
    """A cached result, or None (check the file again) for anything foreign or malformed: an
    entry must at least be consistent (a file without a spec has an error to say why; a slim
    job has a slim check; a spec validates)."""
    if entry is None:
        return None
    try:
        check = FileCheck.from_bytes(entry)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if check.slim != slim or (check.spec_json is not None and check.spec is None):
        return None  # a spec that does not validate (now): check the file again
    unexplained = check.packed is None or (check.spec_json is None and not check.slim)
    if (unexplained and not check.errors) or (check.spec_json and check.packed is None):
        return None
    if check.slim and (check.spec_json is not None or len(check.diagnostics) > 1):
        return None
    return check


# The settings for worker processes, set just before the pool forks: a large catalog's
# publishers would otherwise be pickled again for every chunk.
_SETTINGS: Settings | None = None


def _check_inherited(jobs: Sequence[FileJob]) -> list[FileCheck]:
    assert _SETTINGS is not None
    return _check_chunk(jobs, _SETTINGS)


@dataclass(frozen=True)
class SourceIntegration:
    """One integration of the working tree that passed its per-file checks."""

    source: SourceDir
    spec_json: str  # the validated spec (`FileCheck.spec_json`)
    data: bytes

    @cached_property
    def spec(self) -> IntegrationSource:
        """Made when first used: a catalog's specs take far more memory as objects than as
        JSON, and are not needed while git is read."""
        return IntegrationSource.model_validate_json(self.spec_json)

    @cached_property
    def doc(self) -> LoadedYaml:
        """Positions in the file, loaded only when a diagnostic needs one: clean files (most
        of them) are never loaded a second time."""
        return load_positions_later(self.source.yaml_path, self.data)


SNAPSHOT_FILES = frozenset({INTEGRATION_FILE})  # a snapshot is checked from its YAML alone
