"""The validated in-memory catalog: load everything, run every check, keep what passed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .checks import SourceIntegration, check_integration
from .config import CATALOG_FILE, PUBLISHERS_FILE, Settings, load_settings
from .diagnostics import Diagnostic
from .policy import check_policy
from .resolve import Resolved, resolve
from .secrets import scan_text
from .source import (
    INTEGRATIONS_DIR,
    MAX_README_BYTES,
    README_FILE,
    SourceDir,
    discover,
    read_source,
)
from .yamlload import load_yaml


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


class SelectionError(Exception):
    """A path given to `validate` that is not part of the catalog."""


def load_catalog(
    root: Path,
    only: Iterable[Path] = (),
    *,
    allow_shallow: bool = False,
    source_date_epoch: int | None = None,
    merged_tags_only: bool = False,
) -> LoadResult:
    """Load and check the whole catalog and resolve its history. With `only`, report just the
    problems of those integration directories or files (cross-file rules still see the whole
    catalog). Raises ShallowRepository or GitError for an unusable repository."""
    settings, diagnostics = load_settings(root)
    sources, layout = discover(root)
    diagnostics.extend(layout)
    integrations: list[SourceIntegration] = []
    for source in sources:
        data, problems = read_source(root, source.yaml_path)
        diagnostics.extend(problems)
        diagnostics.extend(_scan_readme(root, source))
        if data is None:
            continue
        diagnostics.extend(scan_text(source.yaml_path, data.decode("utf-8", "replace")))
        doc, problems = load_yaml(source.yaml_path, data)
        diagnostics.extend(problems)
        if doc is None:
            continue
        item, problems = check_integration(source, doc, settings)
        diagnostics.extend(problems)
        if item is not None:
            integrations.append(item)
    resolution, problems = resolve(
        root,
        settings,
        integrations,
        allow_shallow=allow_shallow,
        source_date_epoch=source_date_epoch,
        merged_tags_only=merged_tags_only,
    )
    diagnostics.extend(problems)
    docs = {item.source.key: item.doc for item in integrations}
    diagnostics.extend(check_policy(resolution.integrations, docs))
    catalog = Catalog(root, settings, tuple(resolution.integrations), resolution.reference_time)
    files = 2 + len(sources)
    selection = _selection(root, only, sources)
    if selection is not None:
        diagnostics = [d for d in diagnostics if _in_selection(d.path, selection)]
        files = len(selection)
    return LoadResult(catalog, sorted(set(diagnostics)), files, selection)


def _scan_readme(root: Path, source: SourceDir) -> list[Diagnostic]:
    if README_FILE not in source.files:
        return []
    path = f"{source.rel_dir}/{README_FILE}"
    data, problems = read_source(root, path, MAX_README_BYTES)
    if data is None:
        return problems
    return list(scan_text(path, data.decode("utf-8", "replace")))


def _selection(root: Path, only: Iterable[Path], sources: list[SourceDir]) -> frozenset[str] | None:
    chosen = [path.resolve() for path in only]
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
