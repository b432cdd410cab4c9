"""The validated in-memory catalog: load everything, run every check, keep what passed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from .cache import CheckCache, code_fingerprint
from .config import CATALOG_FILE, PUBLISHERS_FILE, Settings, load_settings
from .diagnostics import Diagnostic, has_errors
from .filecheck import Checker, FileCheck, FileJob, SourceIntegration
from .gitrepo import BlobReader
from .icons import MAX_ICON_BYTES, check_icon
from .model import is_valid_name
from .policy import check_policy
from .resolve import Resolved, read_history, resolve
from .secrets import redact, scan_text
from .source import (
    ICON_FILES,
    INTEGRATION_FILE,
    INTEGRATIONS_DIR,
    MAX_README_BYTES,
    README_FILE,
    Listing,
    SourceDir,
    discover,
    other_text_files,
    read_source,
)
from .uptodate import GitAskedAgain, read_inputs, recall, remember
from .workers import Workers
from .yamlload import LoadedYaml

if TYPE_CHECKING:
    from typing_extensions import Unpack  # (typing's own from Python 3.12)


@dataclass(frozen=True)
class Catalog:
    root: Path
    settings: Settings
    integrations: tuple[Resolved, ...]  # sorted by publisher then slug; tombstones included
    reference_time: int  # unix seconds: SOURCE_DATE_EPOCH, else HEAD's commit time

    def get(self, key: str) -> Resolved | None:
        return next((item for item in self.integrations if item.key == key), None)


@dataclass(frozen=True)
class LoadResult:
    catalog: Catalog
    diagnostics: list[Diagnostic]
    files_checked: int = 0
    selected: frozenset[str] | None = field(default=None)  # reported paths, when narrowed

    @property
    def failed(self) -> bool:
        return has_errors(self.diagnostics)


class SelectionError(Exception):
    """A path given to `validate` that is not part of the catalog."""


class ReadOptions(TypedDict, total=False):
    """How the catalog is read (`read_catalog`; see `load_catalog`)."""

    allow_shallow: bool
    source_date_epoch: int | None
    merged_tags_only: bool
    workers: int | Workers | None
    use_cache: bool
    read_published: bool
    listing: Listing | None
    git_read: Callable[[], None]


def load_catalog(
    root: Path, only: Iterable[Path] = (), **options: Unpack[ReadOptions]
) -> LoadResult:
    """Load and check the whole catalog and resolve its history. With `only`, report just the
    problems of those integration directories or files (cross-file rules still see the whole
    catalog). Without `read_published`, published versions are known by their tags alone (what
    `validate` needs): their content is not read, so nothing of it is checked or kept.
    `listing` is what a walk of integrations/ just found (`read_inputs` makes one): the
    files are not walked again. `workers` given as `Workers` are forked at once, and go on
    working after the checks. `git_read` is called once all that is read from git has been
    (see `resolve`). Raises ShallowRepository or GitError for an unusable repository."""
    return judge_catalog(read_catalog(root, **options), only)


@dataclass
class ReadCatalog:
    """A catalog read, each of its files checked and its history resolved: all but the rules
    over the whole catalog (`judge_catalog`), which a build applies while its first files are
    made."""

    catalog: Catalog
    diagnostics: list[Diagnostic]  # each file's own, and what resolving the history found
    # The tree's documents by `publisher/slug`, for the positions of what the rules find
    docs: dict[str, LoadedYaml]
    sources: list[SourceDir]

    @property
    def failed(self) -> bool:
        return has_errors(self.diagnostics)


def judge_catalog(read: ReadCatalog, only: Iterable[Path] = ()) -> LoadResult:
    """What `read` found, with the rules over the whole catalog applied, narrowed to `only`
    (see `load_catalog`)."""
    diagnostics = [*read.diagnostics, *check_policy(read.catalog.integrations, read.docs)]
    diagnostics = [redact(d) for d in diagnostics]
    root, sources = read.catalog.root, read.sources
    diagnostics, files, selection = _narrow(
        sorted(set(diagnostics)), 2 + len(sources), root, list(only), sources
    )
    return LoadResult(read.catalog, diagnostics, files, selection)


def read_catalog(
    root: Path,
    *,
    allow_shallow: bool = False,
    source_date_epoch: int | None = None,
    merged_tags_only: bool = False,
    workers: int | Workers | None = None,
    use_cache: bool = True,
    read_published: bool = True,
    listing: Listing | None = None,
    git_read: Callable[[], None] = lambda: None,
) -> ReadCatalog:
    """`load_catalog` but for the rules over the whole catalog. `git_read` is called once
    all that is read from git has been (see `resolve`)."""
    settings, diagnostics = load_settings(root)
    sources, layout = discover(root, listing)
    diagnostics.extend(layout)
    readable: list[tuple[SourceDir, bytes]] = []
    cache = CheckCache(root, settings_fingerprint(settings)) if use_cache else None
    keys = [source.key for source in sources]
    try:
        with Checker(settings, cache, workers) as checker, BlobReader(root) as reader:
            if isinstance(workers, Workers):  # the caller's, to make the output next
                checker.fork()  # now, while this process is small (see `Workers`)
            # The workers (forked at once or at the first batch, while this process is small)
            # check the tree as it is read, then while git answers here.
            batches = _batches(sources, _TREE_BATCH)
            running = [checker.start(_read_tree(root, batches[0], readable, diagnostics))]
            history = partial(
                read_history,
                root,
                settings,
                keys,
                allow_shallow=allow_shallow,
                source_date_epoch=source_date_epoch,
                merged_tags_only=merged_tags_only,
            )
            # git's history is read on a thread while the rest of the tree is read here, so
            # that the published versions are ready for the workers when the tree's checks are
            # done; only once the workers are forked (no process may fork while a thread runs).
            with ThreadPoolExecutor(1) as thread:
                asked = thread.submit(history) if checker.forked else None
                for batch in batches[1:]:
                    running.append(checker.start(_read_tree(root, batch, readable, diagnostics)))
                diagnostics.extend(_scan_other_files(root, sources, listing))
                diagnostics.extend(_check_icons(root, sources))
                facts, problems = history() if asked is None else asked.result()
            diagnostics.extend(problems)
            integrations: list[SourceIntegration] = []

            def tree() -> list[SourceIntegration]:
                # called once the workers are busy with published versions; the tree's
                # whole checks are let go as soon as they are read
                found = [check for batch in running for check in checker.finish(batch)]
                running.clear()
                integrations.extend(_passed(readable, found, diagnostics))
                return integrations

            resolution, problems = resolve(
                settings,
                tree,
                facts,
                checker,
                reader,
                cache=cache,
                existing=keys,
                read_published=read_published,
                git_read=git_read,
            )
    finally:
        if cache is not None:
            cache.close()
    diagnostics.extend(problems)
    docs = {item.source.key: item.doc for item in integrations}
    catalog = Catalog(root, settings, tuple(resolution.integrations), resolution.reference_time)
    return ReadCatalog(catalog, diagnostics, docs, sources)


# Work-tree files read before their checks start: the workers begin on the first batch while
# the rest is read.
_TREE_BATCH = 1024


def _batches(sources: list[SourceDir], size: int) -> list[list[SourceDir]]:
    return [sources[start : start + size] for start in range(0, len(sources), size)] or [[]]


def _read_tree(
    root: Path,
    sources: list[SourceDir],
    readable: list[tuple[SourceDir, bytes]],
    diagnostics: list[Diagnostic],
) -> list[FileJob]:
    """Read `sources`' files; what could be read goes to `readable`, and its jobs are
    returned."""
    jobs = []
    for source in sources:
        data, problems = read_source(root, source.yaml_path)
        diagnostics.extend(problems)
        if data is not None:
            readable.append((source, data))
            jobs.append(FileJob.of(source.key, source.files, data))
    return jobs


def _passed(
    readable: list[tuple[SourceDir, bytes]],
    checks: list[FileCheck],
    diagnostics: list[Diagnostic],
) -> list[SourceIntegration]:
    """The tree's integrations that passed their checks; what the checks found goes to
    `diagnostics`."""
    passed: list[SourceIntegration] = []
    for (source, data), check in zip(readable, checks, strict=True):
        diagnostics.extend(check.diagnostics)
        if check.spec_json is not None:  # (a spec that validates: see `_from_cache`)
            passed.append(SourceIntegration(source, check.spec_json, data))
    return passed


@dataclass(frozen=True)
class CheckReport:
    """What `catalog validate` found: the diagnostics (of the selection, when narrowed) and
    how many files they cover."""

    diagnostics: list[Diagnostic]
    files_checked: int
    reused: bool = False  # the previous run's findings: nothing it read has changed


def check_catalog(
    root: Path,
    only: Iterable[Path] = (),
    *,
    allow_shallow: bool = False,
    source_date_epoch: int | None = None,
    read_published: bool = False,
    use_cache: bool = True,
) -> CheckReport:
    """The whole catalog's findings, narrowed to `only` (see `load_catalog`). When nothing a
    run reads has changed since the last one (`uptodate`), its findings are reused."""
    options = (
        "validate",
        f"published={read_published}",
        f"shallow={allow_shallow}",
        f"epoch={source_date_epoch}",
    )
    listing: Listing = {}
    inputs = read_inputs(root, *options, listing=listing) if use_cache else None
    found = _findings(recall("validate", inputs)) if inputs is not None else None
    reused = found is not None
    if found is None:
        # (git asked again for the record while the workers check the last files)
        with GitAskedAgain(inputs) as asked:
            result = load_catalog(
                root,
                allow_shallow=allow_shallow,
                source_date_epoch=source_date_epoch,
                read_published=read_published,
                use_cache=use_cache,
                listing=listing,
                git_read=asked,
            )
            found = result.diagnostics, result.files_checked
            if inputs is not None and asked.answer is not None:
                record = {"diagnostics": [d.as_json() for d in found[0]], "files": found[1]}
                remember("validate", inputs, record, asked.answer)
    only = list(only)
    sources = _sources_named(root, only) if only else []
    diagnostics, files, _ = _narrow(*found, root, only, sources)
    return CheckReport(diagnostics, files, reused)


def _narrow(
    diagnostics: list[Diagnostic],
    files: int,
    root: Path,
    only: list[Path],
    sources: list[SourceDir],
) -> tuple[list[Diagnostic], int, frozenset[str] | None]:
    """The diagnostics of the paths given (all of them when none is) and how many files
    they cover."""
    selection = _selection(root, only, sources)
    if selection is None:
        return diagnostics, files, None
    chosen = [d for d in diagnostics if _in_selection(d.path, selection)]
    return chosen, len(selection), selection


def _sources_named(root: Path, only: list[Path]) -> list[SourceDir]:
    """The integration directories the given paths can name: when each path lies inside one
    integration's directory, those directories (as `discover` would find them) without
    walking the whole catalog; else every one."""
    found: list[SourceDir] = []
    for path in only:
        try:
            parts = _given(root, path).relative_to(root).parts
        except ValueError:
            return discover(root)[0]  # _selection says what is wrong with it
        if len(parts) < 3 or parts[0] != INTEGRATIONS_DIR:
            return discover(root)[0]
        if _is_integration_dir(root / INTEGRATIONS_DIR, parts[1], parts[2]):
            found.append(SourceDir(parts[1], parts[2], frozenset()))
    return found


def _is_integration_dir(base: Path, publisher: str, slug: str) -> bool:
    """What `discover` lists: directories with valid names, holding a regular
    `integration.yaml`, no symbolic link on the way."""
    manifest = base / publisher / slug / INTEGRATION_FILE
    return (
        all(is_valid_name(name) and not name.startswith(".") for name in (publisher, slug))
        and not any(p.is_symlink() for p in (manifest.parent.parent, manifest.parent, manifest))
        and manifest.is_file()
    )


def _given(root: Path, path: Path) -> Path:
    """A path given on the command line: from the working directory, or else from the
    catalog root."""
    return path.resolve() if path.exists() or path.is_absolute() else (root / path).resolve()


def _findings(record: dict[str, Any] | None) -> tuple[list[Diagnostic], int] | None:
    if record is None:
        return None
    try:
        diagnostics = [Diagnostic.from_json(d) for d in record["diagnostics"]]
        files = record["files"]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return (diagnostics, files) if isinstance(files, int) else None


def settings_fingerprint(settings: Settings) -> str:
    """What every cached check depends on besides the file itself: the code and the catalog's
    settings (trust grants, tag pattern)."""
    grants = {key: entry.model_dump(mode="json") for key, entry in settings.publishers.items()}
    return (
        code_fingerprint() + settings.config.model_dump_json() + json.dumps(grants, sort_keys=True)
    )


def _check_icons(root: Path, sources: list[SourceDir]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for source in sources:
        for icon in sorted(source.files & set(ICON_FILES)):
            path = f"{source.rel_dir}/{icon}"
            data, problems = read_source(root, path, MAX_ICON_BYTES)
            found.extend(problems if data is None else check_icon(path, data))
    return found


def _scan_other_files(
    root: Path, sources: list[SourceDir], listing: Listing | None
) -> list[Diagnostic]:
    """The credential scan of READMEs and any other YAML or Markdown under integrations/
    (each `integration.yaml` is scanned with its checks)."""
    found: list[Diagnostic] = []
    for path in other_text_files(root, {source.yaml_path for source in sources}, listing):
        data, problems = read_source(root, path, MAX_README_BYTES)
        if data is None:
            found.extend(
                d for d in problems if d.code != "file-symlink" or not path.endswith(README_FILE)
            )
            continue
        found.extend(scan_text(path, data.decode("utf-8", "replace")))
    return found


def _selection(root: Path, only: Iterable[Path], sources: list[SourceDir]) -> frozenset[str] | None:
    chosen = [_given(root, path) for path in only]
    if not chosen:
        return None
    picked: set[str] = set()
    for path in chosen:
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            raise SelectionError(f"{path} is not inside the catalog at {root}") from None
        if not path.exists():
            raise SelectionError(f"{path} does not exist")
        if rel in (CATALOG_FILE, PUBLISHERS_FILE):
            picked.add(rel)
            continue
        if rel == ".":
            return None
        matches = {s.rel_dir for s in sources if _covers(rel, s.rel_dir)}
        if not matches and not rel.startswith(INTEGRATIONS_DIR):
            raise SelectionError(f"{path} is not an integration directory or file")
        picked.update(matches or {rel})
    return frozenset(picked)


def _covers(rel: str, rel_dir: str) -> bool:
    """Whether a given path names this integration, its directory or a directory above it."""
    return rel == rel_dir or rel.startswith(rel_dir + "/") or rel_dir.startswith(rel + "/")


def _in_selection(path: str, selection: frozenset[str]) -> bool:
    return any(path == s or path.startswith(s + "/") for s in selection)
