"""`catalog build`: a build is a sequence of stages. Phase one reads and checks everything and
writes nothing; phase two renders the JSON API and the site into a fresh tree (the rules over
the whole catalog are applied while its first files are made) and swaps it into place."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import wait
from dataclasses import dataclass, replace
from pathlib import Path

from .api import Published, api_files
from .catalog import LoadResult, ReadCatalog, judge_catalog, read_catalog
from .diagnostics import Diagnostic, Severity
from .gitrepo import GitError
from .output import OutputError, OutputFile, check_out_dir, tree_digest, write_tree
from .previous import check_immutable, load_previous
from .site import site_files
from .site.render import template_dir, templates_digest
from .source import Listing
from .uptodate import GitAskedAgain, Inputs, read_inputs, recall, remember
from .versions import rfc3339
from .workers import Workers, give_back_free_memory

Progress = Callable[[Iterable[OutputFile], int], Iterable[OutputFile]]


@dataclass(frozen=True)
class BuildOptions:
    out: Path
    base_url: str | None = None
    include_private: bool = False
    allow_shallow: bool = False
    source_date_epoch: int | None = None
    previous: str | None = None  # a previous build's directory or the deployed site's URL
    allow_republish: tuple[str, ...] = ()
    workers: int | None = None  # processes that check and render; None: one per core


@dataclass(frozen=True)
class BuildResult:
    diagnostics: list[Diagnostic]
    files_checked: int
    written: int | None  # None when nothing was written (the catalog has errors)
    integrations: int = 0
    versions: int = 0
    seconds: float = 0.0
    up_to_date: bool = False  # nothing the build reads changed: --out was kept as it was


def build(
    root: Path,
    options: BuildOptions,
    progress: Progress | None = None,
    workers: Workers | None = None,
) -> BuildResult:
    """Build the catalog at `root` into `options.out`. `workers`: worker processes to use
    instead of `options.workers` new ones (a caller that runs threads forks them before it
    starts any)."""
    started = time.monotonic()
    check_out_dir(options.out, root)
    # Phase 0: if nothing the build reads changed since it made --out, and --out is as it left
    # it, the build would write the same tree: keep it.
    listing: Listing = {}  # what the inputs' digest finds under integrations/
    inputs = _inputs(root, options, listing)
    kept = _kept(options.out, inputs, started) if inputs is not None else None
    if kept is not None:
        return kept
    # The same worker processes check the files and make the output (see `Workers`).
    given = workers is not None
    with (
        contextlib.nullcontext(workers) if given else Workers(options.workers) as pool,
        # as soon as all git says has been read, while the workers check the last files (they
        # are forked already, and nothing forks later), not at the end
        GitAskedAgain(inputs) as asked,
    ):
        # Phase 1: read and validate everything. Any error ends the build before its tree
        # replaces anything.
        read = read_catalog(
            root,
            allow_shallow=options.allow_shallow,
            source_date_epoch=options.source_date_epoch,
            workers=pool,
            listing=listing,
            git_read=asked,
        )
        del listing  # (not kept while the pages are made)
        give_back_free_memory()  # what loading freed
        judgment = _Judgment(read, options)
        if read.failed:  # a file's own errors: nothing is made
            return judgment.nothing_written()
        published = Published(
            catalog=read.catalog,
            base_url=_with_slash(options.base_url or read.catalog.settings.config.baseUrl),
            include_private=options.include_private,
            generated_at=rfc3339(read.catalog.reference_time),
        )
        included = published.included()
        versions = sum(len(i.versions) for i in included)

        def remember_tree(out: Path, digest: Callable[[], str]) -> None:
            if inputs is None or asked.answer is None:
                return
            record = {
                "diagnostics": [d.as_json() for d in judgment.result.diagnostics],
                "filesChecked": judgment.result.files_checked,
                "integrations": len(included),
                "versions": versions,
            }
            with contextlib.suppress(OSError, GitError):  # no record: the next build runs in full
                remember(
                    _record_name(out), inputs, lambda: {**record, "tree": digest()}, asked.answer
                )

        # Phase 2: render and write, streaming files into a fresh tree that replaces the old
        # one. The rules over the whole catalog are applied while the workers make the first
        # files (`_all_files`).
        try:
            # Judged first: a rejected first build into a new directory creates none, and the
            # comparison with what is deployed may fail to read it.
            if options.previous is not None or not options.out.resolve().parent.is_dir():
                judgment()
            files: Iterable[OutputFile] = _all_files(published, judgment)
            if progress is not None:
                files = progress(files, len(included))
            if asked.answer is not None:  # (git must not see the tree being written)
                wait([asked.answer])
            written = write_tree(options.out, files, pool, after=remember_tree)
        except _Rejected:
            return judgment.nothing_written()
        except OutputError:
            if judgment.result.failed:  # the catalog's errors come first
                return judgment.nothing_written()
            raise
        return BuildResult(
            judgment.result.diagnostics,
            judgment.result.files_checked,
            written,
            len(included),
            versions,
            time.monotonic() - started,
        )


class _Rejected(Exception):
    """The rules over the whole catalog found errors."""


class _Judgment:
    """What the build found: what `read` found with the rules over the whole catalog applied,
    and compared with the deployed catalog when asked; worked out once, when first needed.
    Called, it raises `_Rejected` when that has errors: a tree being written is removed
    before it replaces anything."""

    def __init__(self, read: ReadCatalog, options: BuildOptions) -> None:
        self._read = read
        self._options = options
        self._result: LoadResult | None = None

    @property
    def result(self) -> LoadResult:
        if self._result is None:
            loaded = judge_catalog(self._read)
            if self._options.previous is not None:
                loaded = _compare_with_previous(loaded, self._options)
            self._result = loaded
            self._read.docs.clear()  # (only the rules needed them)
            give_back_free_memory()
        return self._result

    def __call__(self) -> None:
        if self.result.failed:
            raise _Rejected

    def nothing_written(self) -> BuildResult:
        return BuildResult(self.result.diagnostics, self.result.files_checked, None)


def _inputs(root: Path, options: BuildOptions, listing: Listing) -> Inputs | None:
    """The digest of everything this build reads (see `uptodate`), or None when a build must
    run anyway: outside git, or with --previous (the deployed site may have changed)."""
    if options.previous is not None:
        return None
    shaping = (options.base_url, options.include_private, options.allow_shallow)
    try:
        templates = templates_digest(template_dir(root))
    except OSError:
        return None  # the site stage says what is wrong with the templates
    return read_inputs(
        root,
        "build",
        repr(shaping),
        f"epoch={options.source_date_epoch}",
        templates,
        listing=listing,
    )


def _record_name(out: Path) -> str:
    """The record of the builds into `out` (one output directory, one record)."""
    return "build-" + hashlib.sha256(os.fsencode(out.resolve())).hexdigest()[:16]


def _kept(out: Path, inputs: Inputs, started: float) -> BuildResult | None:
    """The last build's result when it was built from `inputs` and `out` is as it left it
    (no file added, removed, replaced or touched since)."""
    recorded = recall(_record_name(out), inputs)
    try:
        if recorded is None or not out.is_dir() or recorded.get("tree") != tree_digest(out):
            return None
    except OSError:  # the tree changed while it was read
        return None
    try:
        diagnostics = [Diagnostic.from_json(d) for d in recorded["diagnostics"]]
        counts = [recorded[name] for name in ("filesChecked", "integrations", "versions")]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if not all(isinstance(count, int) for count in counts):
        return None
    files_checked, integrations, versions = counts
    return BuildResult(
        diagnostics,
        files_checked,
        0,
        integrations,
        versions,
        time.monotonic() - started,
        up_to_date=True,
    )


def _compare_with_previous(loaded: LoadResult, options: BuildOptions) -> LoadResult:
    assert options.previous is not None
    # What this build publishes: an integration made private vanishes for consumers too.
    current = [
        item
        for item in loaded.catalog.integrations
        if options.include_private or item.spec.visibility != "private"
    ]
    previous = load_previous(options.previous, [item.key for item in current])
    if not previous.found:
        note = Diagnostic(
            "catalog.yaml",
            1,
            1,
            Severity.WARNING,
            "previous-not-found",
            f"nothing is published at {options.previous} yet; no versions to compare with",
            "expected on the first deploy only",
        )
        return replace(loaded, diagnostics=[*loaded.diagnostics, note])
    problems = check_immutable(previous, current, options.allow_republish)
    return replace(loaded, diagnostics=sorted({*loaded.diagnostics, *problems}))


def _all_files(published: Published, judge: Callable[[], None]) -> Iterator[OutputFile]:
    try:
        site = site_files(published)
    except OSError as error:  # the templates or static files cannot be read
        raise OutputError(
            f"reading the site's templates failed: {error.strerror or error} "
            f"({error.filename}); the previous output is unchanged"
        ) from None
    files = _alternating(itertools.chain(api_files(published), _icon_files(published)), site)
    return _judged_after(files, judge)


# Files handed out before the rules over the whole catalog run: enough to keep the workers
# busy while they do (about 0.3 s at 10,000 integrations), few enough that a rejected build
# has not made much.
_JUDGED_AFTER = 2048


def _judged_after(files: Iterator[OutputFile], judge: Callable[[], None]) -> Iterator[OutputFile]:
    yield from itertools.islice(files, _JUDGED_AFTER)
    judge()
    yield from files


def _alternating(*streams: Iterator[OutputFile]) -> Iterator[OutputFile]:
    """A file of each stream in turn. The API's records are made in this process and the
    pages on the workers: taken together, neither waits for the other."""
    live = list(streams)
    while live:
        for stream in tuple(live):
            try:
                yield next(stream)
            except StopIteration:
                live.remove(stream)


def _icon_files(published: Published) -> Iterator[tuple[str, bytes]]:
    for item in published.included():
        target = published.icon_path(item)
        if target is not None and item.source.icon is not None:
            source = published.catalog.root / item.source.rel_dir / item.source.icon
            yield target, source.read_bytes()


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
