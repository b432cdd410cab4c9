"""Published versions are immutable. `catalog build --previous` reads what consumers already
have (a previous build's directory or the deployed site's URL) and refuses a build that would
change or drop a published version, or drop a published integration without a tombstone."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .api import API_DIR, INDEX_PATH
from .diagnostics import Diagnostic, Severity
from .resolve import Resolved
from .source import INTEGRATION_FILE, INTEGRATIONS_DIR

FETCH_TIMEOUT_SECONDS = 30
_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


class PreviousError(Exception):
    """The previous catalog could not be read (an environment problem)."""


@dataclass(frozen=True)
class PublishedVersion:
    version: str
    tag: str | None
    commit: str
    digest: str


@dataclass(frozen=True)
class PreviousCatalog:
    """What consumers already have: each integration's published versions."""

    location: str
    versions: dict[str, dict[str, PublishedVersion]]  # key -> version -> what was published
    found: bool = True  # False when nothing was published there yet


def load_previous(location: str, keys: Iterable[str]) -> PreviousCatalog:
    """Read a previous build from a directory (the site or its `api/v1/`) or a URL. `keys` are
    today's integrations, looked up too so unlisted ones are compared as well."""
    if location.startswith(("http://", "https://")):
        return _from_url(location if location.endswith("/") else location + "/", keys)
    return _from_directory(Path(location))


def _from_directory(path: Path) -> PreviousCatalog:
    api = path / API_DIR if (path / API_DIR).is_dir() else path
    if not (api / "integrations.json").is_file():
        raise PreviousError(
            f"{path} holds no {INDEX_PATH} (pass the site directory, its "
            f"{API_DIR}/ directory, or the site's URL)"
        )
    versions: dict[str, dict[str, PublishedVersion]] = {}
    for file in sorted((api / "integrations").glob("*/*/versions.json")):
        key = f"{file.parent.parent.name}/{file.parent.name}"
        versions[key] = _parse_versions(json.loads(file.read_bytes()), str(file))
    return PreviousCatalog(str(path), versions)


def _from_url(base: str, keys: Iterable[str]) -> PreviousCatalog:
    index = _fetch_json(base + INDEX_PATH)
    if index is None:
        return PreviousCatalog(base, {}, found=False)
    listed = {
        f"{r['publisher']}/{r['slug']}"
        for r in index.get("integrations", [])
        if isinstance(r, dict) and "publisher" in r and "slug" in r
    }
    versions: dict[str, dict[str, PublishedVersion]] = {}
    for key in sorted(listed | set(keys)):
        document = _fetch_json(f"{base}{API_DIR}/integrations/{key}/versions.json")
        if document is not None:
            versions[key] = _parse_versions(document, key)
    return PreviousCatalog(base, versions)


def _fetch_json(url: str) -> Any:
    """A JSON document, or None when the server says it is not there."""
    request = urllib.request.Request(url, headers={"User-Agent": "integration-catalog"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            return json.loads(response.read(_MAX_DOCUMENT_BYTES))
    except urllib.error.HTTPError as error:
        if error.code in (403, 404, 410):
            return None
        raise PreviousError(f"{url}: HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise PreviousError(f"cannot read {url}: {getattr(error, 'reason', error)}") from None
    except json.JSONDecodeError as error:
        raise PreviousError(f"{url} is not JSON: {error}") from None


def _parse_versions(document: Any, where: str) -> dict[str, PublishedVersion]:
    try:
        return {
            item["version"]: PublishedVersion(
                item["version"], item.get("tag"), item["commit"], item["digest"]
            )
            for item in document["versions"]
        }
    except (KeyError, TypeError) as error:
        raise PreviousError(f"{where} is not a versions.json of this API: {error}") from None


def check_immutable(
    previous: PreviousCatalog, current: Iterable[Resolved], allow_republish: Iterable[str] = ()
) -> Iterator[Diagnostic]:
    """A published version may never change or disappear (unless a maintainer allows that one
    tag), and a published integration may not vanish without a tombstone."""
    allowed = set(allow_republish)
    by_key = {item.key: item for item in current}
    for key, published in sorted(previous.versions.items()):
        if not published:
            continue
        where = f"{INTEGRATIONS_DIR}/{key}/{INTEGRATION_FILE}"
        item = by_key.get(key)
        if item is None:
            yield Diagnostic(
                where,
                1,
                1,
                Severity.ERROR,
                "published-integration-removed",
                f"`{key}` had published versions ({', '.join(sorted(published))}) and has "
                "disappeared without a tombstone (removed, or made private)",
                "restore it with `deletedAt` set, so consumers learn it was withdrawn",
            )
            continue
        now = {s.version: s for s in item.versions}
        for version, before in sorted(published.items()):
            tag = before.tag or version
            if tag in allowed:
                continue
            snapshot = now.get(version)
            if snapshot is None:
                yield Diagnostic(
                    where,
                    1,
                    1,
                    Severity.ERROR,
                    "published-version-removed",
                    f"published version {version} (tag `{tag}`, commit {before.commit[:12]}) "
                    "is gone: its tag was deleted",
                    f"restore the tag at {before.commit}, or yank the version instead; "
                    f"`--allow-republish {tag}` accepts the change",
                )
            elif snapshot.digest != before.digest:
                yield Diagnostic(
                    where,
                    1,
                    1,
                    Severity.ERROR,
                    "published-version-changed",
                    f"published version {version} (tag `{tag}`) changed: it was commit "
                    f"{before.commit[:12]} and is now {snapshot.commit[:12]}, with different "
                    "content",
                    f"move the tag back to {before.commit} and release a new "
                    f"version; `--allow-republish {tag}` accepts the change",
                )
