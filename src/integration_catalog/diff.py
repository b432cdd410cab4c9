"""`catalog diff`: what a change does to the published catalog, classed so maintainers can
fast-track routine pull requests (a publisher editing its own integrations' content) and look
closely at the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import LoadResult, load_catalog
from .config import CATALOG_FILE, PUBLISHERS_FILE
from .diagnostics import Severity
from .gitrepo import changed_files, checkout, root_prefix
from .model import published_fields
from .resolve import Resolved
from .source import INTEGRATIONS_DIR

ROUTINE = "routine"
NEEDS_MAINTAINER = "needs-maintainer"
_COMPARED = ("name", "description", "workspaceId", "iconUrl", "retentionTier", "createdBy")


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, deleted, changed, visibility, trust-tier, version, yank, ...
    key: str | None  # publisher/slug, or None for a change to the catalog as a whole
    detail: str
    review: str  # ROUTINE or NEEDS_MAINTAINER
    reason: str | None = None  # why a maintainer must look

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "integration": self.key,
            "detail": self.detail,
            "review": self.review,
            "reason": self.reason,
        }


def diff_revisions(
    root: Path, base: str, head: str, *, allow_shallow: bool = False
) -> list[Change]:
    """Load the catalog as each revision had it (its history and the tags it contained) and
    compare the two."""
    loaded = []
    for revision in (base, head):
        with checkout(root, revision) as tree:
            loaded.append(load_catalog(tree, allow_shallow=allow_shallow, merged_tags_only=True))
    prefix = root_prefix(root)
    files = [
        path.removeprefix(prefix) if path.startswith(prefix) else "../" + path
        for path in changed_files(root, base, head)
    ]
    return diff_catalogs(loaded[0], loaded[1], files)


def diff_catalogs(base: LoadResult, head: LoadResult, files: Sequence[str]) -> list[Change]:
    """Every change between two loaded catalogs; `files` are the changed paths, relative to
    the catalog root (paths outside it start with `../`)."""
    changes = list(_file_changes(files))
    problems = list(_new_problems(base, head))
    failing = {c.key for c in problems if c.kind == "error"}
    before = {item.key: item for item in base.catalog.integrations}
    after = {item.key: item for item in head.catalog.integrations}
    for key in sorted(before.keys() | after.keys()):
        new = after.get(key)
        if key in failing and (new is None or new.tombstone):
            continue  # not removed or deleted: its file does not validate (reported below)
        changes.extend(_integration_changes(key, before.get(key), new))
    changes.extend(problems)
    touched = sorted(_publishers_touched(files, changes))
    if len(touched) > 1:
        changes.append(
            Change(
                "publishers",
                None,
                f"touches the integrations of several publishers: {', '.join(touched)}",
                NEEDS_MAINTAINER,
                "one pull request should change one publisher's integrations",
            )
        )
    return changes


def _publishers_touched(files: Sequence[str], changes: Sequence[Change]) -> set[str]:
    """Publishers whose directories the change touches (a README or icon counts too); a new
    problem of another publisher's integration does not touch its directory."""
    in_files = {
        parts[1]
        for parts in (f.split("/") for f in files)
        if parts[0] == INTEGRATIONS_DIR and len(parts) > 2
    }
    in_changes = {
        c.key.split("/")[0] for c in changes if c.key and c.kind not in ("policy-warning", "error")
    }
    return in_files | in_changes


def verdict(changes: Sequence[Change]) -> str:
    return NEEDS_MAINTAINER if any(c.review == NEEDS_MAINTAINER for c in changes) else ROUTINE


def _file_changes(files: Sequence[str]) -> Iterator[Change]:
    outside = [f for f in files if not f.startswith(INTEGRATIONS_DIR + "/")]
    for name in (CATALOG_FILE, PUBLISHERS_FILE):
        if name in outside:
            yield Change(
                "configuration",
                None,
                f"{name} changed",
                NEEDS_MAINTAINER,
                f"{name} is owned by the maintainers",
            )
    rest = [f for f in outside if f not in (CATALOG_FILE, PUBLISHERS_FILE)]
    if rest:
        shown = ", ".join(rest[:8]) + (f" and {len(rest) - 8} more" if len(rest) > 8 else "")
        yield Change(
            "code",
            None,
            f"files outside integrations/ changed: {shown}",
            NEEDS_MAINTAINER,
            "templates, code and workflows are the maintainers'",
        )


def _state(item: Resolved) -> dict[str, Any]:
    manifest, variables, auth = published_fields(item.spec)
    state: dict[str, Any] = {name: getattr(item.spec, name) for name in _COMPARED}
    state.update(manifest=manifest, variablesSchema=variables, authConfig=auth)
    return state


def _integration_changes(key: str, old: Resolved | None, new: Resolved | None) -> Iterator[Change]:
    if new is None:
        assert old is not None
        if not old.versions:  # a draft: nothing was ever published
            yield Change("removed", key, "removed from the catalog (a draft)", ROUTINE)
            return
        yield Change(
            "removed",
            key,
            "removed from the catalog",
            NEEDS_MAINTAINER,
            "integrations are withdrawn with `deletedAt`, not removed",
        )
        return
    if old is None:
        public = new.spec.visibility == "public"
        yield Change(
            "added",
            key,
            f"new {new.spec.visibility} integration `{new.spec.name}` ({new.spec.trustTier})",
            NEEDS_MAINTAINER if new.spec.trustTier != "community" and public else ROUTINE,
            "a new public integration claims a trust tier"
            if public and new.spec.trustTier != "community"
            else None,
        )
        yield from _version_changes(key, (), new)
        return
    if old.deleted_at is None and new.deleted_at is not None:
        yield Change("deleted", key, f"deleted ({new.deleted_at})", ROUTINE)
    if old.spec.visibility != new.spec.visibility:
        becomes_public = new.spec.visibility == "public"
        withdrawn = new.spec.visibility == "private" and bool(old.versions)
        reason = (
            "it becomes public"
            if becomes_public
            else "consumers lose a published integration without a tombstone"
            if withdrawn
            else None
        )
        yield Change(
            "visibility",
            key,
            f"visibility {old.spec.visibility} -> {new.spec.visibility}",
            NEEDS_MAINTAINER if reason else ROUTINE,
            reason,
        )
    if old.spec.trustTier != new.spec.trustTier:
        yield Change(
            "trust-tier",
            key,
            f"trust tier {old.spec.trustTier} -> {new.spec.trustTier}",
            NEEDS_MAINTAINER,
            "trust tiers are granted by maintainers",
        )
    before, after = _state(old), _state(new)
    fields = [name for name in after if before[name] != after[name]]
    if fields:
        yield Change("changed", key, "changed: " + ", ".join(fields), ROUTINE)
    yield from _version_changes(key, old.versions, new)


def _version_changes(key: str, old_versions: Sequence[Any], new: Resolved) -> Iterator[Change]:
    old = {s.version: s for s in old_versions}
    for snapshot in reversed(new.versions):
        earlier = old.get(snapshot.version)
        if earlier is None:
            yield Change(
                "version", key, f"new version {snapshot.version} (`{snapshot.tag}`)", ROUTINE
            )
        elif earlier.digest != snapshot.digest:
            yield Change(
                "version",
                key,
                f"version {snapshot.version} changed content",
                NEEDS_MAINTAINER,
                "published versions are immutable",
            )
        if snapshot.yanked is not None and (earlier is None or earlier.yanked is None):
            yield Change("yank", key, f"yanked {snapshot.version}: {snapshot.yanked}", ROUTINE)


def _new_problems(base: LoadResult, head: LoadResult) -> Iterator[Change]:
    """Errors and warnings that HEAD has and BASE had not."""

    def seen(result: LoadResult) -> set[tuple[str, Severity, str, str]]:
        return {
            (d.path, d.severity, d.code, d.message)
            for d in result.diagnostics
            if d.code != "git-dirty"
        }

    for path, severity, code, message in sorted(seen(head) - seen(base)):
        parts = path.split("/")
        key = "/".join(parts[1:3]) if parts[0] == INTEGRATIONS_DIR and len(parts) > 3 else None
        if severity is Severity.ERROR:
            yield Change(
                "error", key, f"{code}: {message}", NEEDS_MAINTAINER, "the change does not validate"
            )
        else:
            yield Change(
                "policy-warning",
                key,
                f"{code}: {message}",
                NEEDS_MAINTAINER,
                "a new policy warning",
            )


# -- rendering ------------------------------------------------------------------------------------


def render_text(changes: Sequence[Change], base: str, head: str) -> str:
    lines = [f"{base}..{head}: {verdict(changes)} ({len(changes)} changes)"]
    for change in changes:
        where = change.key or "catalog"
        flag = "!" if change.review == NEEDS_MAINTAINER else "-"
        reason = f"  [{change.reason}]" if change.reason else ""
        lines.append(f"{flag} {where}: {change.detail}{reason}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell of a pull-request comment."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return escaped.replace("\n", " ").replace("@", "@\u200b")


def render_markdown(changes: Sequence[Change], base: str, head: str) -> str:
    overall = verdict(changes)
    badge = (
        "**Needs a maintainer's review.**"
        if overall == NEEDS_MAINTAINER
        else "**Routine:** a publisher editing its own integrations."
    )
    lines = [f"### Catalog changes `{_md(base)}..{_md(head)}`", "", badge, ""]
    if not changes:
        return "\n".join([*lines, "No change to the published catalog.", ""])
    lines += ["| | Integration | Change | Why review |", "|---|---|---|---|"]
    for change in changes:
        icon = "⚠️" if change.review == NEEDS_MAINTAINER else "✅"
        lines.append(
            f"| {icon} | {_md(change.key or '(catalog)')} | {_md(change.detail)} | "
            f"{_md(change.reason or '')} |"
        )
    return "\n".join([*lines, ""])


def render_json(changes: Sequence[Change], base: str, head: str) -> str:
    return (
        json.dumps(
            {
                "base": base,
                "head": head,
                "review": verdict(changes),
                "changes": [c.as_json() for c in changes],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}
