"""Whether a run's inputs are the same as last time, so that what it found then still holds.

A run reads the code and its libraries, the files under the catalog root (`catalog.yaml`,
`publishers.yaml`, everything under `integrations/`), and git (HEAD, the history it reaches,
the tags). The digest here covers all of them (files by their metadata, as git's index does);
running `validate` or `build` again with the same digest reuses the previous findings (and, for
a build, the previous output tree), as make does. Outside a git repository there is no digest:
times come from the clock."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from .cache import CACHE_DIR, code_fingerprint, entry_checksum
from .config import CATALOG_FILE, PUBLISHERS_FILE
from .gitrepo import refs_fingerprint
from .source import INTEGRATIONS_DIR

# The libraries whose behaviour shapes findings or output.
_LIBRARIES = (
    "jinja2",
    "jsonschema-rs",
    "markdown-it-py",
    "node-semver",
    "pydantic",
    "pydantic-core",
    "pyyaml",
    "rfc8785",
    "semver",
    "yaml-rs",
)
_RUNS_DIR = "runs"


def input_digest(root: Path, *settings: str) -> str | None:
    """A digest of everything a run reads, and of `settings` (the options that shape its
    result); None when the catalog is not in a git repository."""
    refs = refs_fingerprint(root)
    if refs is None:
        return None
    digest = hashlib.sha256()
    for part in (code_fingerprint(), sys.version, *_library_versions(), *settings):
        digest.update(part.encode() + b"\0")
    digest.update(refs)
    for chunk in _catalog_files(root):
        digest.update(chunk)
    return digest.hexdigest()


def _library_versions() -> list[str]:
    found = []
    for name in _LIBRARIES:
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return found


def _catalog_files(root: Path) -> Iterator[bytes]:
    """Every file a run may read, in a fixed order: its path, kind, mode, size, inode and
    change times (as git's index and make do), and its content if it changed so recently that
    a later change could leave the same times (the clock ticks coarsely)."""
    recent = time.time_ns() - _RACY_NS
    for name in (CATALOG_FILE, PUBLISHERS_FILE, ".mailmap"):
        yield from _entry(f"{root}/{name}", name, recent)
    yield from _entry(f"{root}/{INTEGRATIONS_DIR}", INTEGRATIONS_DIR, recent)


_RACY_NS = 2_000_000_000


def _entry(path: str, rel: str, recent: int) -> Iterator[bytes]:
    try:
        info = os.lstat(path)
    except OSError as error:
        yield f"{rel}\0absent {error.errno}\n".encode()
        return
    header = (
        f"{rel}\0{info.st_mode} {info.st_size} {info.st_ino} {info.st_mtime_ns} "
        f"{info.st_ctime_ns}\n"
    )
    yield header.encode("utf-8", "surrogateescape")
    if stat.S_ISDIR(info.st_mode):
        try:
            with os.scandir(path) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError as error:
            yield f"unreadable {error.errno}\n".encode()
            return
        for name in names:
            yield from _entry(f"{path}/{name}", f"{rel}/{name}", recent)
    elif stat.S_ISLNK(info.st_mode):
        with contextlib.suppress(OSError):
            yield os.fsencode(Path(path).readlink())
    elif stat.S_ISREG(info.st_mode) and max(info.st_mtime_ns, info.st_ctime_ns) >= recent:
        try:  # never opened unless regular: a FIFO would block
            yield Path(path).read_bytes()
        except OSError as error:
            yield f"unreadable {error.errno}\n".encode()


def recall(root: Path, name: str, key: str) -> dict[str, Any] | None:
    """What the last run called `name` recorded under `key`, if its record is intact."""
    try:
        record = json.loads((root / CACHE_DIR / _RUNS_DIR / f"{name}.json").read_bytes())
        body = record["body"]
        if record["checksum"] != entry_checksum(body.encode()) or record["key"] != key:
            return None
        value = json.loads(body)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return value if isinstance(value, dict) else None


def remember(root: Path, name: str, key: str, value: dict[str, Any]) -> None:
    """Record a run's findings; a cache that cannot be written is no error."""
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    record = {"key": key, "checksum": entry_checksum(body.encode()), "body": body}
    directory = root / CACHE_DIR / _RUNS_DIR
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{name}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(record))
        temporary.replace(directory / f"{name}.json")
