"""Publisher workflow steps that act on a catalog: starting a new integration and releasing a
version. The CLI only asks and prints; the rules live here."""

from __future__ import annotations

from pathlib import Path

from .catalog import Catalog
from .diagnostics import Diagnostic, Severity, did_you_mean
from .gitrepo import create_tag, open_repo
from .model import name_problem
from .release import ReleaseRefused, next_version, tag_name
from .source import INTEGRATIONS_DIR


def scaffold_problems(root: Path, publisher: str, slug: str) -> list[Diagnostic]:
    """Why `integrations/<publisher>/<slug>/` cannot be created, if it cannot."""
    rel = f"{INTEGRATIONS_DIR}/{publisher}/{slug}"
    problems = [
        Diagnostic(
            rel,
            1,
            1,
            Severity.ERROR,
            "path-invalid",
            f"{what} `{name}` {problem}",
            "write it as PUBLISHER/SLUG, e.g. acme/crm-sync",
        )
        for what, name in (("publisher", publisher), ("slug", slug))
        if (problem := name_problem(name)) is not None
    ]
    if not problems and (root / rel).exists():
        problems.append(
            Diagnostic(
                rel,
                1,
                1,
                Severity.ERROR,
                "integration-exists",
                f"{rel} already exists; nothing was overwritten",
                "choose another slug, or edit the existing files",
            )
        )
    return problems


def release_integration(
    catalog: Catalog, key: str, requested: str, pre: str | None, message: str | None
) -> tuple[str, str]:
    """Tag the next version of `key` at HEAD; returns (tag, commit)."""
    item = catalog.get(key)
    if item is None:
        hint = did_you_mean(key, [i.key for i in catalog.integrations])
        raise ReleaseRefused(
            f"no integration `{key}` in the catalog" + (f"; {hint}" if hint else "")
        )
    if item.tombstone or item.deleted_at is not None:
        raise ReleaseRefused(f"`{key}` is deleted; deleted integrations get no new versions")
    state = open_repo(catalog.root)
    if state is None or state.head_time is None:
        raise ReleaseRefused("the catalog is not in a git repository with commits")
    dirty = sorted(p for p in state.dirty if p.startswith(item.source.rel_dir + "/"))
    if dirty:
        raise ReleaseRefused(
            f"uncommitted changes in {item.source.rel_dir}/ ("
            f"{', '.join(dirty[:3])}); commit them first so the tag "
            "publishes exactly what you see"
        )
    version = next_version(requested, [s.version for s in item.versions], pre)
    tag = tag_name(
        catalog.settings.config.tagPattern, item.source.publisher, item.source.slug, version
    )
    commit = create_tag(catalog.root, tag, message or f"{item.spec.name} {version}")
    return tag, commit
