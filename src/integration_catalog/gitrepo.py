"""Everything the catalog learns from git. The only module that runs git.

It starts a fixed number of git processes whatever the catalog's size: one `rev-parse` (where
is the repository, is it shallow), one `log -1` (HEAD's time), one `status`, one `for-each-ref`
for all tags, one `log --name-status` for the whole history of `integrations/`, and one
`cat-file --batch` for every historical file read.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

GIT_TIMEOUT_SECONDS = 600
# Keep git's own configuration and locale from changing what it prints.
_GIT_ENV = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}


class GitError(Exception):
    """git is missing, failed, or the repository is unusable (an environment problem)."""


@dataclass(frozen=True)
class Tag:
    name: str  # without refs/tags/
    commit: str  # the peeled commit
    published: int  # unix seconds: the tagger date of an annotated tag, else the commit date
    annotated: bool


@dataclass
class DirHistory:
    """What the history says of one directory (relative to the catalog root)."""

    created: int  # author date of the oldest commit touching it
    created_by: str  # author name of that commit
    updated: int  # committer date of the newest commit touching it
    deleted: int | None = None  # committer date of the commit that last deleted its main file


@dataclass(frozen=True)
class RepoState:
    """The repository as a whole: where it is, and what cannot be read from history."""

    toplevel: Path
    prefix: str  # the catalog root relative to the top level, "" or ending in "/"
    shallow: bool
    head_time: int | None  # None for a repository with no commits
    dirty: frozenset[str] = field(default_factory=frozenset)  # changed paths, root-relative


def _run(args: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env={**os.environ, **_GIT_ENV},
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"`git {args[0]}` did not finish in {GIT_TIMEOUT_SECONDS} s") from None
    if check and result.returncode != 0:
        raise GitError(f"`git {' '.join(args[:2])}` failed: {_stderr(result.stderr)}")
    return result


def _stderr(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip().splitlines()[-1:][0] if raw.strip() else "?"


def open_repo(root: Path) -> RepoState | None:
    """The repository holding `root`, or None when `root` is not in a git work tree."""
    probe = _run(
        [
            "rev-parse",
            "--is-inside-work-tree",
            "--show-toplevel",
            "--show-prefix",
            "--is-shallow-repository",
        ],
        root,
        check=False,
    )
    if probe.returncode != 0:
        if b"not a git repository" in probe.stderr:
            return None
        raise GitError(f"git cannot read the repository: {_stderr(probe.stderr)}")
    _, toplevel, prefix, shallow = [*probe.stdout.decode().split("\n"), "", ""][:4]
    head = _run(["log", "-1", "--format=%ct"], root, check=False)
    head_time = int(head.stdout) if head.returncode == 0 and head.stdout.strip() else None
    return RepoState(
        Path(toplevel), prefix, shallow.strip() == "true", head_time, _dirty_paths(root, prefix)
    )


def _dirty_paths(root: Path, prefix: str) -> frozenset[str]:
    """Changed and untracked files under the catalog root, relative to it."""
    status = _run(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."], root)
    paths: set[str] = set()
    entries = iter(status.stdout.decode("utf-8", "surrogateescape").split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        paths.add(entry[3:])
        if entry[0] in "RC":  # a rename names its source next
            paths.add(next(entries, ""))
    # Porcelain output is relative to the top level whatever the working directory.
    return frozenset(path.removeprefix(prefix) for path in paths if path.startswith(prefix))


def refs_fingerprint(root: Path) -> bytes | None:
    """What a run reads from git besides the files under the catalog root: HEAD, how much
    history a shallow clone has, every tag (an annotated tag's object covers its date and
    target) and replacement, and which paths `git status` reports (so ignore rules, index
    flags and attributes count). None outside a work tree or before the first commit."""
    head = _run(
        [
            "rev-parse",
            "HEAD",
            "--is-shallow-repository",
            "--show-toplevel",
            "--git-path",
            "shallow",
        ],
        root,
        check=False,
    )
    if head.returncode != 0:
        return None
    shallow_file = head.stdout.decode("utf-8", "surrogateescape").split("\n")[3:4]
    try:
        shallow = Path(root, shallow_file[0]).read_bytes() if shallow_file else b""
    except OSError:
        shallow = b""  # not shallow
    refs = _run(
        ["for-each-ref", "--format=%(refname)%00%(objectname)", "refs/tags", "refs/replace"], root
    )
    status = _run(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."], root)
    return b"\0\0".join((head.stdout, shallow, refs.stdout, status.stdout))


def list_tags(root: Path, *, merged_only: bool = False) -> list[Tag]:
    """Every tag, annotated or lightweight, peeled to its commit; tags of non-commits skipped.
    With `merged_only`, only tags whose commit HEAD contains (what a revision had published)."""
    fields = [
        "refname:strip=2",
        "objecttype",
        "objectname",
        "*objecttype",
        "*objectname",
        "taggerdate:unix",
        "committerdate:unix",
        "*committerdate:unix",
    ]
    fmt = "%00".join(f"%({name})" for name in fields)
    merged = ["--merged", "HEAD"] if merged_only else []
    out = _run(["for-each-ref", f"--format={fmt}", *merged, "refs/tags"], root).stdout
    tags: list[Tag] = []
    nested: list[tuple[str, int]] = []  # tags of tags: for-each-ref peels one level only
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        name, kind, oid, peeled_kind, peeled, tagger, committed, peeled_committed = line.split("\0")
        if kind == "commit":
            tags.append(Tag(name, oid, int(committed), annotated=False))
        elif kind == "tag" and peeled_kind == "commit":
            tags.append(Tag(name, peeled, int(tagger or peeled_committed), annotated=True))
        elif kind == "tag" and peeled_kind == "tag" and tagger:
            nested.append((name, int(tagger)))
    return tags + _peel_nested(root, nested)


def _peel_nested(root: Path, nested: list[tuple[str, int]]) -> list[Tag]:
    """The commits of tags of tags, through one more git process (only when there are any)."""
    if not nested:
        return []
    query = "".join(f"refs/tags/{name}^{{commit}}\n" for name, _ in nested)
    try:
        answer = subprocess.run(
            ["git", "cat-file", "--batch-check"],
            cwd=root,
            input=query.encode(),
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, **_GIT_ENV},
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    found = answer.stdout.decode("utf-8", "surrogateescape").splitlines()
    return [
        Tag(name, parts[0], published, annotated=True)
        for (name, published), line in zip(nested, found, strict=False)
        if len(parts := line.split()) == 3 and parts[1] == "commit"
    ]


def directory_history(root: Path, prefix: str, under: str, main_file: str) -> dict[str, DirHistory]:
    """For every `under/<publisher>/<slug>` directory that ever existed: when it was created,
    by whom, last touched, and (if `main_file` in it was deleted last) when it was deleted.
    Paths are relative to the catalog root, which is `prefix` below the top level."""
    fmt = "%x01%H%x02%at%x02%an%x02%ct"
    out = _run(
        ["log", "-z", "--name-status", "--no-renames", f"--format={fmt}", "--", under], root
    ).stdout.decode("utf-8", "surrogateescape")
    history: dict[str, DirHistory] = {}
    deletions_seen: set[str] = set()
    for chunk in out.split("\x01")[1:]:  # newest commit first
        header, _, changes = chunk.partition("\0")
        _, author_time, author, commit_time = header.split("\x02")
        tokens = changes.lstrip("\n").split("\0")
        for status, path in zip(tokens[::2], tokens[1::2], strict=False):
            directory = _integration_dir(path.removeprefix(prefix), under)
            if directory is None:
                continue
            entry = history.get(directory)
            if entry is None:
                entry = history[directory] = DirHistory(int(author_time), author, int(commit_time))
            entry.created, entry.created_by = int(author_time), author
            if path.endswith("/" + main_file) and directory not in deletions_seen:
                deletions_seen.add(directory)  # only the newest change to the file counts
                entry.deleted = int(commit_time) if status == "D" else None
    return history


def _integration_dir(path: str, under: str) -> str | None:
    parts = path.split("/")
    if len(parts) < 4 or parts[0] != under:
        return None
    return "/".join(parts[:3])


_Tree = dict[bytes, tuple[int, str]]  # a tree's entries: name to (kind, object id)


# git writes its answers 4 KiB at a time, and each write wakes the reader when it waits: a
# larger pipe and buffer let git write ahead and the reader take more at once (a sixth fewer
# context switches in a cold build). 1 MiB is what Linux allows without privileges.
_PIPE_SIZE = 1 << 20


class BlobReader:
    """One `git cat-file --batch-command` process for every historical file read: first the
    object ids of many `<commit>:<path>` names (`ids`), then the contents of just the ids
    that are not cached (`contents`). Use it as a context manager."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._started: subprocess.Popen[bytes] | None = None

    @property
    def _process(self) -> subprocess.Popen[bytes]:
        """Started on first use: a run that finds everything cached starts no git at all."""
        if self._started is None:
            self._started = self._start(self._root)
        return self._started

    @staticmethod
    def _start(root: Path) -> subprocess.Popen[bytes]:
        try:
            process = subprocess.Popen(
                ["git", "cat-file", "--batch-command", "--buffer"],
                cwd=root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, **_GIT_ENV},
                bufsize=_PIPE_SIZE,
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None
        assert process.stdout is not None
        set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
        if set_size is not None:
            with contextlib.suppress(OSError):  # a lower limit set here: as it is
                fcntl.fcntl(process.stdout.fileno(), set_size, _PIPE_SIZE)
        return process

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop git now (a later question starts it again)."""
        process, self._started = self._started, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        process.kill()
        process.wait()

    def _ask(self, commands: list[bytes]) -> threading.Thread:
        stdin = self._process.stdin
        assert stdin is not None
        writer = threading.Thread(target=_feed, args=(stdin, commands), daemon=True)
        writer.start()  # a thread, so a full pipe in either direction cannot deadlock
        return writer

    def ids(self, names: list[str]) -> list[str | None]:
        """The blob id of each `<commit>:<path>`; None where there is no file at the path (no
        entry, or a directory or submodule there). The trees are read and walked here, each
        once: git would read and search every directory of the path again for each name,
        and names share their upper directories (a large catalog's `integrations/` tree is
        most of that work). The trees are kept for this call only: a few thousand names at a
        time share few upper directories, and a large history's would pile up. A tree that
        is listed but cannot be read, or is malformed, is a corrupt repository; an unreadable
        blob is found when its content is read."""
        if not names:
            return []  # and no git process started for nothing
        split = [name.split(":", 1) for name in names]
        roots = self._root_trees(sorted({commit for commit, _ in split}))
        parts = [path.encode("utf-8", "surrogateescape").split(b"/") for _, path in split]
        found: list[str | None] = [None] * len(names)
        trees: dict[str, _Tree] = {}
        # the tree each name has reached, one path component a round
        at = {i: roots[commit] for i, (commit, _) in enumerate(split)}
        depth = 0
        while at:
            unread = {tree: names[i] for i, tree in at.items() if tree not in trees}
            self._read_trees(unread, trees)
            reached: dict[int, str] = {}
            for i, tree in at.items():
                entry = trees[tree].get(parts[i][depth])
                if entry is None:
                    continue
                kind, oid = entry
                if depth < len(parts[i]) - 1:
                    if kind == _TREE:
                        reached[i] = oid
                elif kind not in (_TREE, _GITLINK):
                    found[i] = oid
            at, depth = reached, depth + 1
        return found

    def _root_trees(self, commits: list[str]) -> dict[str, str]:
        """The root tree of each commit (tags are peeled to commits that exist, so a commit
        without a readable tree is a corrupt repository)."""
        commands = [f"info {commit}^{{tree}}\n".encode() for commit in commits]
        writer = self._ask([*commands, b"flush\n"])
        stdout = self._process.stdout
        assert stdout is not None
        roots: dict[str, str] = {}
        for commit in commits:
            parts = _header(stdout)
            if len(parts) != 3 or parts[1] != b"tree":
                writer.join()
                raise GitError(
                    f"the repository is corrupt: the tree of commit {commit} cannot be read "
                    "(run `git fsck`)"
                )
            roots[commit] = parts[0].decode()
        writer.join()
        return roots

    def _read_trees(self, wanted: dict[str, str], trees: dict[str, _Tree]) -> None:
        """Read and parse the trees `wanted` (by id, with a name that leads through each, for
        errors) into `trees`."""
        if not wanted:
            return
        oids = sorted(wanted)
        writer = self._ask([*(f"contents {oid}\n".encode() for oid in oids), b"flush\n"])
        stdout = self._process.stdout
        assert stdout is not None
        for oid in oids:
            parts = _header(stdout)
            entries = None
            if len(parts) == 3 and parts[1] == b"tree":
                entries = _tree_entries(stdout.read(int(parts[2])), len(oid) // 2)
                stdout.read(1)  # the newline after the content
            if entries is None:
                writer.join()
                raise GitError(
                    f"the repository is corrupt: tree {oid}, on the way to "
                    f"`{wanted[oid]}`, cannot be read (run `git fsck`)"
                )
            trees[oid] = entries
        writer.join()

    def contents(self, oids: list[str]) -> dict[str, bytes]:
        """The content of each blob id."""
        writer = self._ask([*(f"contents {oid}\n".encode() for oid in oids), b"flush\n"])
        stdout = self._process.stdout
        assert stdout is not None
        found: dict[str, bytes] = {}
        for oid in oids:
            parts = _header(stdout)
            if len(parts) != 3:
                raise GitError(
                    f"the repository is corrupt: object {oid} is listed but cannot be read "
                    "(run `git fsck`)"
                )
            found[oid] = stdout.read(int(parts[2]))
            stdout.read(1)  # the newline after the content
        writer.join()
        return found


# Kinds of tree entries: the file-type bits of their mode (git reads a mode as a number, so
# an old repository's `040000` is a directory too).
_TREE, _GITLINK = 0o040000, 0o160000


def _tree_entries(tree: bytes, oid_size: int) -> _Tree | None:
    """The entries of a raw tree object (`<mode> <name>\\0<binary id>` repeated): each name's
    kind (`_TREE`, `_GITLINK` or another file type) and object id; None if it is malformed."""
    entries: _Tree = {}
    position = 0
    while position < len(tree):
        end = tree.find(b"\0", position)
        mode, space, name = tree[position:end].partition(b" ")
        if end < 0 or not space or end + 1 + oid_size > len(tree):
            return None
        try:
            kind = int(mode, 8) & 0o170000
        except ValueError:
            return None
        entries[name] = (kind, tree[end + 1 : end + 1 + oid_size].hex())
        position = end + 1 + oid_size
    return entries


def _header(stdout: IO[bytes]) -> list[bytes]:
    line = stdout.readline()
    if not line:
        raise GitError(
            "git cat-file stopped before answering every request (is the repository corrupt?)"
        )
    return line.split()


def _feed(stdin: IO[bytes], commands: list[bytes]) -> None:
    try:
        stdin.write(b"".join(commands))
        stdin.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass  # the reader stopped early


def blob_id(data: bytes) -> str:
    """The id git gives a file with this content (so working files and history share cache
    entries)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def root_prefix(root: Path) -> str:
    """Where the catalog root sits below the top level: "" or a path ending in "/"."""
    return _run(["rev-parse", "--show-prefix"], root).stdout.decode().strip()


def repository_prefix(root: Path) -> str:
    """`root_prefix`, or "" outside a repository (or without git)."""
    try:
        return root_prefix(root)
    except GitError:
        return ""


@contextlib.contextmanager
def checkout(root: Path, revision: str) -> Iterator[Path]:
    """A temporary detached work tree of `revision`; yields the catalog root inside it."""
    prefix = root_prefix(root)
    commit = _run(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], root, check=False)
    if commit.returncode != 0:
        raise GitError(f"`{revision}` is not a commit of this repository")
    with tempfile.TemporaryDirectory(prefix="catalog-diff-") as parent:
        tree = Path(parent) / "tree"
        _run(
            ["worktree", "add", "--detach", "--quiet", str(tree), commit.stdout.decode().strip()],
            root,
        )
        try:
            yield tree / prefix
        finally:
            _run(["worktree", "remove", "--force", str(tree)], root, check=False)


def changed_files(root: Path, base: str, head: str) -> list[str]:
    """Paths (relative to the top level) that differ between two revisions."""
    out = _run(["diff", "--name-only", "-z", "--no-renames", base, head, "--"], root).stdout
    return sorted(p for p in out.decode("utf-8", "surrogateescape").split("\0") if p)


def create_tag(root: Path, name: str, message: str) -> str:
    """Create the annotated tag `name` at HEAD; returns the tagged commit. Never pushes."""
    _run(["tag", "--annotate", "--message", message, "--", name, "HEAD"], root)
    return _run(["rev-parse", "HEAD"], root).stdout.decode().strip()
