"""Find the catalog's source files and load them strictly (see `yamlload`)."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .diagnostics import Diagnostic, Severity
from .model import NAME_MAX, is_valid_name, name_problem
from .yamlload import MAX_FILE_BYTES, LoadedYaml, load_yaml

INTEGRATIONS_DIR = "integrations"
INTEGRATION_FILE = "integration.yaml"
README_FILE = "README.md"
ICON_FILES = ("icon.svg", "icon.png")
MAX_README_BYTES = 512 * 1024
_ALLOWED_BESIDE = {INTEGRATION_FILE, README_FILE, *ICON_FILES}
_NOT_REGULAR = "catalog files must be regular files, not directories or special files"


# What one walk under integrations/ found (`uptodate.read_inputs` makes it while it takes the
# digest of the inputs, so that the tree is not walked again): each directory's entries, by
# its path relative to the root, as (name, lstat mode) in name order. A directory that could
# not be listed is left out (as is all of it in an empty listing): a look of its own says why.
Listing = dict[str, list[tuple[str, int]]]


class _Entry(Protocol):
    """What is asked of a directory entry: an os.DirEntry, or a listed one."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    def is_symlink(self) -> bool: ...
    def is_dir(self) -> bool: ...
    def is_file(self) -> bool: ...


class _Listed:
    """An entry of a `Listing`, answering as an os.DirEntry does (a link is followed only
    to say what it points at, as there)."""

    __slots__ = ("_mode", "name", "path")

    def __init__(self, directory: str, name: str, mode: int) -> None:
        self.name, self.path, self._mode = name, f"{directory}/{name}", mode

    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self._mode)

    def is_dir(self) -> bool:
        return stat.S_ISDIR(self._target_mode())

    def is_file(self) -> bool:
        return stat.S_ISREG(self._target_mode())

    def _target_mode(self) -> int:
        if not stat.S_ISLNK(self._mode):
            return self._mode
        try:
            return Path(self.path).stat().st_mode  # (links are rare)
        except OSError:  # a broken link: neither
            return 0


def _listed_or_scanned(path: str, rel: str, listing: Listing | None) -> list[_Entry]:
    """The entries of the directory `path` (`rel` from the root): from the listing when it
    has them, else from the directory itself (which raises OSError when it cannot be read)."""
    listed = listing.get(rel) if listing is not None else None
    if listed is not None:
        return [_Listed(path, name, mode) for name, mode in listed]
    with os.scandir(path) as entries:
        return list(entries)


@dataclass(frozen=True)
class SourceDir:
    """`integrations/<publisher>/<slug>/` as found on disk."""

    publisher: str
    slug: str
    files: frozenset[str]  # names of the regular files in it

    @property
    def rel_dir(self) -> str:
        return f"{INTEGRATIONS_DIR}/{self.publisher}/{self.slug}"

    @property
    def yaml_path(self) -> str:
        return f"{self.rel_dir}/{INTEGRATION_FILE}"

    @property
    def key(self) -> str:
        return f"{self.publisher}/{self.slug}"

    @property
    def icon(self) -> str | None:
        return next((name for name in ICON_FILES if name in self.files), None)


def read_source(
    root: Path, rel_path: str, limit: int = MAX_FILE_BYTES
) -> tuple[bytes | None, list[Diagnostic]]:
    """The bytes of one source file (at most `limit`), refusing symbolic links (never followed,
    so a link cannot smuggle in a file from outside the catalog)."""
    try:
        # O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
        fd = os.open(f"{root}/{rel_path}", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return None, [
                _error(
                    rel_path,
                    "file-symlink",
                    "the file is a symbolic link; catalog files must be regular files",
                    "replace the link with the file itself",
                )
            ]
        return None, [
            _error(rel_path, "file-unreadable", f"the file could not be read: {error.strerror}")
        ]
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, [
                _error(rel_path, "file-unreadable", "the path is not a regular file", _NOT_REGULAR)
            ]
        data = _read_up_to(fd, limit + 1, info.st_size)
        if len(data) > limit:
            size = os.fstat(fd).st_size
            return None, [
                _error(
                    rel_path,
                    "file-too-large",
                    f"the file is {size:,} bytes; the limit is {limit:,}",
                    "move long prose to README.md beside integration.yaml"
                    if rel_path.endswith(".yaml")
                    else "make it smaller",
                )
            ]
    finally:
        os.close(fd)
    return data, []


def _read_up_to(fd: int, most: int, expected: int) -> bytes:
    """Up to `most` bytes of an open file of `expected` bytes (which it may no longer be).
    A read allocates what it asks for: asking for the limit, a quarter of a megabyte, for
    every file would cost three times what reading it does."""
    chunks: list[bytes] = []
    total = 0
    want = min(expected + 1, most)  # one more: a file that grew shows at once
    while total < most:
        chunk = os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        want = min(most - total, _READ_SIZE)
    return b"".join(chunks)  # (one chunk, as most files are, is returned as it is)


_READ_SIZE = 1 << 16


def read_yaml_file(root: Path, rel_path: str) -> tuple[LoadedYaml | None, list[Diagnostic]]:
    """Read and strictly load one YAML file; a file that cannot be read is a diagnostic."""
    data, problems = read_source(root, rel_path)
    if data is None:
        return None, problems
    return load_yaml(rel_path, data)


def discover(
    root: Path, listing: Listing | None = None
) -> tuple[list[SourceDir], list[Diagnostic]]:
    """Every `integrations/<publisher>/<slug>/` directory, sorted, and layout problems (from
    `listing` where it has the directories)."""
    found: list[SourceDir] = []
    diagnostics: list[Diagnostic] = []
    base = root / INTEGRATIONS_DIR
    if base.is_symlink():
        return [], [
            _error(
                INTEGRATIONS_DIR,
                "file-symlink",
                f"{INTEGRATIONS_DIR}/ is a symbolic link; it is not followed",
                "make it a real directory in the repository",
            )
        ]
    if not base.is_dir():
        return [], [
            Diagnostic(
                INTEGRATIONS_DIR,
                1,
                1,
                Severity.WARNING,
                "layout-unexpected",
                f"there is no {INTEGRATIONS_DIR}/ directory: the catalog is empty",
            )
        ]
    for publisher_entry in _sorted_entries(str(base), INTEGRATIONS_DIR, listing):
        rel = f"{INTEGRATIONS_DIR}/{_printable(publisher_entry.name)}"
        if not _is_real_dir(publisher_entry, rel, diagnostics):
            continue
        if not _valid_name(publisher_entry.name, rel, "publisher", diagnostics):
            continue
        listed_as = f"{INTEGRATIONS_DIR}/{publisher_entry.name}"
        for slug_entry in _sorted_entries(publisher_entry.path, listed_as, listing):
            slug_rel = f"{rel}/{_printable(slug_entry.name)}"
            if not _is_real_dir(slug_entry, slug_rel, diagnostics):
                continue
            if not _valid_name(slug_entry.name, slug_rel, "slug", diagnostics):
                continue
            source = _source_dir(publisher_entry.name, slug_entry, diagnostics, listing)
            if source is not None:
                found.append(source)
    return found, diagnostics


_TEXT_SUFFIXES = (".yaml", ".yml", ".md", ".markdown")


def other_text_files(root: Path, known: set[str], listing: Listing | None = None) -> list[str]:
    """Every other YAML or Markdown file under integrations/ (hidden ones and those in
    misnamed directories too), relative to the root: none of them may hold a credential.
    (As `os.walk` lists them, links to directories aside, but on `str` paths: a `Path` for
    each of the files costs more than the walk; from `listing` where it has them.)"""
    found: list[str] = []
    waiting = [(f"{root}/{INTEGRATIONS_DIR}", INTEGRATIONS_DIR)]
    while waiting:
        path, rel = waiting.pop()
        try:
            entries = _listed_or_scanned(path, rel, listing)
        except OSError:
            continue  # what cannot be listed holds nothing to scan (and discover says why)
        for entry in entries:
            name = entry.name
            if _is_dir(entry):
                if not _is_link(entry):  # a link to a directory is not followed
                    waiting.append((entry.path, f"{rel}/{name}"))
            elif name.lower().endswith(_TEXT_SUFFIXES) or name.upper().startswith("README"):
                path_rel = f"{rel}/{name}"
                if path_rel not in known:
                    found.append(path_rel)
    return sorted(found)


def _is_dir(entry: _Entry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # as os.walk takes it
        return False


def _is_link(entry: _Entry) -> bool:
    try:
        return entry.is_symlink()
    except OSError:  # as os.walk takes it
        return False


def _source_dir(
    publisher: str, entry: _Entry, diagnostics: list[Diagnostic], listing: Listing | None
) -> SourceDir | None:
    rel = f"{INTEGRATIONS_DIR}/{publisher}/{entry.name}"
    files: set[str] = set()
    children = _sorted_entries(entry.path, rel, listing)
    for child in children:
        child_rel = f"{rel}/{_printable(child.name)}"
        if child.is_symlink():
            diagnostics.append(
                _error(
                    child_rel,
                    "file-symlink",
                    "the file is a symbolic link; catalog files must be regular files",
                    "replace the link with the file itself",
                )
            )
        elif child.name == INTEGRATION_FILE and not child.is_file():
            diagnostics.append(
                _error(child_rel, "file-unreadable", "the path is not a regular file", _NOT_REGULAR)
            )
        elif child.name not in _ALLOWED_BESIDE or not child.is_file():
            diagnostics.append(
                Diagnostic(
                    child_rel,
                    1,
                    1,
                    Severity.WARNING,
                    "layout-unexpected",
                    f"`{child.name}` is not part of the integration layout and is ignored",
                    f"an integration directory holds {', '.join(sorted(_ALLOWED_BESIDE))}",
                )
            )
        else:
            files.add(child.name)
    if INTEGRATION_FILE not in files:
        if INTEGRATION_FILE not in {child.name for child in children}:
            diagnostics.append(
                _error(
                    rel,
                    "layout-unexpected",
                    f"the directory has no {INTEGRATION_FILE}",
                    "add one, or remove the directory",
                )
            )
        return None
    return SourceDir(publisher, entry.name, frozenset(files))


def _sorted_entries(directory: str, rel: str, listing: Listing | None) -> list[_Entry]:
    # (a DirEntry's path as it is: a Path of each costs 0.12 s at 10,000 directories)
    entries = _listed_or_scanned(directory, rel, listing)
    return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)


def _is_real_dir(entry: _Entry, rel: str, diagnostics: list[Diagnostic]) -> bool:
    if entry.is_symlink():
        diagnostics.append(
            _error(rel, "file-symlink", "a symbolic link in integrations/; use a real directory")
        )
        return False
    if not entry.is_dir():
        diagnostics.append(
            Diagnostic(
                rel,
                1,
                1,
                Severity.WARNING,
                "layout-unexpected",
                f"`{entry.name}` is not a directory and is ignored",
                "integration files live in integrations/<publisher>/<slug>/",
            )
        )
        return False
    return True


def _valid_name(name: str, rel: str, what: str, diagnostics: list[Diagnostic]) -> bool:
    problem = name_problem(name)
    if problem is None:
        return True
    suggestion = "-".join(
        filter(
            None,
            "".join(c if c.isascii() and c.isalnum() else "-" for c in name.lower()).split("-"),
        )
    )
    diagnostics.append(
        _error(
            rel,
            "path-invalid",
            f"{what} directory `{_printable(name)}` {problem}",
            f"rename it to `{suggestion[:NAME_MAX]}`"
            if suggestion and is_valid_name(suggestion[:NAME_MAX])
            else "rename it",
        )
    )
    return False


def _printable(name: str) -> str:
    """A name as it can be shown safely: escapes for anything invisible or non-ASCII."""
    return name.encode("ascii", "backslashreplace").decode("ascii")[:100]


def _error(path: str, code: str, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(path, 1, 1, Severity.ERROR, code, message, hint)
