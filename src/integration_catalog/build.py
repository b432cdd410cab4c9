"""`catalog build`: a build is a sequence of stages. Phase one loads and validates everything
and writes nothing; phase two renders the JSON API and the site and swaps them into place."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from .api import Published, api_files
from .catalog import LoadResult, load_catalog
from .diagnostics import Diagnostic, Severity
from .output import OutputFile, check_out_dir, write_tree
from .previous import check_immutable, load_previous
from .site import site_files
from .versions import rfc3339

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


@dataclass(frozen=True)
class BuildResult:
    load: LoadResult
    written: int | None  # None when nothing was written (the catalog has errors)
    integrations: int = 0
    versions: int = 0
    seconds: float = 0.0


def build(root: Path, options: BuildOptions, progress: Progress | None = None) -> BuildResult:
    started = time.monotonic()
    check_out_dir(options.out, root)
    # Phase 1: read and validate everything. Any error ends the build before a byte is written.
    loaded = load_catalog(
        root, allow_shallow=options.allow_shallow, source_date_epoch=options.source_date_epoch
    )
    if options.previous is not None:
        loaded = _compare_with_previous(loaded, options)
    if any(d.severity is Severity.ERROR for d in loaded.diagnostics):
        return BuildResult(loaded, None)
    catalog = loaded.catalog
    published = Published(
        catalog=catalog,
        base_url=_with_slash(options.base_url or catalog.settings.config.baseUrl),
        include_private=options.include_private,
        generated_at=rfc3339(catalog.reference_time),
    )
    # Phase 2: render and write, streaming files into a fresh tree that replaces the old one.
    files: Iterable[OutputFile] = _all_files(published)
    if progress is not None:
        files = progress(files, len(published.included()))
    written = write_tree(options.out, files)
    included = published.included()
    return BuildResult(
        loaded,
        written,
        len(included),
        sum(len(i.versions) for i in included),
        time.monotonic() - started,
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


def _all_files(published: Published) -> Iterator[OutputFile]:
    yield from api_files(published)
    yield from _icon_files(published)
    yield from site_files(published)


def _icon_files(published: Published) -> Iterator[tuple[str, bytes]]:
    for item in published.included():
        target = published.icon_path(item)
        if target is not None and item.source.icon is not None:
            source = published.catalog.root / item.source.rel_dir / item.source.icon
            yield target, source.read_bytes()


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
