"""Catalog policy over the resolved catalog: dependencies resolve and do not loop or leak, and
names do not imitate more trusted publishers' integrations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache

from .diagnostics import Diagnostic, Severity, did_you_mean
from .model import TRUST_TIERS, is_valid_name
from .ranges import max_satisfying, parse_range
from .resolve import Resolved
from .yamlload import FILE_START, LoadedYaml, YamlPath


def check_policy(
    integrations: Iterable[Resolved], docs: Mapping[str, LoadedYaml]
) -> Iterator[Diagnostic]:
    """Every rule that needs the whole resolved catalog. `docs` holds the working-tree
    documents by `publisher/slug`, for positions."""
    by_key = {item.key: item for item in integrations}
    # Published versions repeat their integration's dependencies: each distinct one is looked
    # at once.
    known = _Known(by_key)
    for item in by_key.values():
        doc = docs.get(item.key)
        if doc is not None and not item.tombstone:
            yield from _dependencies(item, doc, known)
            yield from _yanks(item, doc)
        yield from _snapshot_dependencies(item, known)
    yield from _cycles(by_key, docs)
    yield from _typosquats(by_key)


def _at(
    item: Resolved,
    doc: LoadedYaml | None,
    where: YamlPath,
    code: str,
    message: str,
    hint: str | None = None,
    *,
    severity: Severity = Severity.ERROR,
    of_key: bool = False,
) -> Diagnostic:
    pos = doc.position(where, of_key=of_key) if doc is not None else FILE_START
    return Diagnostic(item.source.yaml_path, pos.line, pos.column, severity, code, message, hint)


def available_versions(item: Resolved) -> list[str]:
    """Published versions that a dependency may resolve to (yanked ones excluded)."""
    return [s.version for s in item.versions if s.yanked is None]


def resolves(target: Resolved, spec: str) -> str | None:
    """The highest non-yanked version of `target` that satisfies the range, if any."""
    return _resolves(tuple(available_versions(target)), spec)


@lru_cache(maxsize=65536)
def _resolves(versions: tuple[str, ...], spec: str) -> str | None:
    return max_satisfying(versions, spec)


_Problem = tuple[str, str, str | None, Severity]  # code, message, hint, severity


def _dependency_problem(
    item: Resolved, target_key: str, spec: str, by_key: Mapping[str, Resolved]
) -> _Problem | None:
    """What is wrong with one dependency of `item`, or None. Of `item`, only its visibility
    counts."""
    if not _is_key(target_key):
        return None  # reported where the file is checked (dependency-invalid)
    target = by_key.get(target_key)
    if target is None:
        hint = did_you_mean(target_key, by_key) or "name an integration of this catalog"
        return "dependency-unknown", f"`{target_key}` is not in the catalog", hint, Severity.ERROR
    if item.spec.visibility != "private" and target.spec.visibility == "private":
        return (
            "dependency-private",
            f"{'an' if item.spec.visibility == 'unlisted' else 'a'} {item.spec.visibility} "
            "integration may not depend on a private one "
            f"(`{target_key}`)",
            "make the dependency public or unlisted, or drop it",
            Severity.ERROR,
        )
    if parse_range(spec) is None:
        return None  # reported where the file is checked
    if resolves(target, spec) is None:
        existing = available_versions(target)
        yanked = [s.version for s in target.versions if s.yanked is not None]
        shown = ", ".join(existing[:12]) or ("none" if yanked else "none (it is a draft)")
        if yanked:
            shown += f" (yanked: {', '.join(yanked[:12])})"
        return (
            "dependency-unsatisfied",
            f"no published version of `{target_key}` satisfies `{spec}`; published: {shown}",
            "widen the range, or ask the publisher to release a matching version",
            Severity.ERROR,
        )
    if target.deleted_at is not None:
        return (
            "dependency-deleted",
            f"`{target_key}` was deleted on {target.deleted_at}",
            "move to a replacement; consumers can no longer install it",
            Severity.WARNING,
        )
    return None


class _Known:
    """What is wrong with each dependency, found once: by the visibility of the integration
    that has it, its target and its range (nothing else of the integration counts)."""

    def __init__(self, by_key: Mapping[str, Resolved]) -> None:
        self._by_key = by_key
        self._found: dict[tuple[str, str, str], _Problem | None] = {}

    def problem(self, item: Resolved, target_key: str, spec: str) -> _Problem | None:
        seen = (item.spec.visibility, target_key, spec)
        if seen not in self._found:
            self._found[seen] = _dependency_problem(item, target_key, spec, self._by_key)
        return self._found[seen]


@lru_cache(maxsize=65536)  # a catalog names the same integrations again and again
def _is_key(target_key: str) -> bool:
    publisher, _, slug = target_key.partition("/")
    return all(is_valid_name(part) for part in (publisher, slug))


def _dependencies(item: Resolved, doc: LoadedYaml, known: _Known) -> Iterator[Diagnostic]:
    for target_key, spec in item.spec.manifest.dependencies.items():
        problem = known.problem(item, target_key, spec)
        if problem is not None:
            code, message, hint, severity = problem
            on_key = code in ("dependency-unknown", "dependency-private", "dependency-deleted")
            yield _at(
                item,
                doc,
                ("manifest", "dependencies", target_key),
                code,
                message,
                hint,
                severity=severity,
                of_key=on_key,
            )


def _yanks(item: Resolved, doc: LoadedYaml) -> Iterator[Diagnostic]:
    published = [s.version for s in item.versions]
    for version in item.spec.yanked:
        if version not in published:
            yield _at(
                item,
                doc,
                ("yanked", version),
                "yank-unknown",
                f"cannot yank `{version}`: no such published version",
                "published: " + (", ".join(published) if published else "none"),
                of_key=True,
            )


def _snapshot_dependencies(item: Resolved, known: _Known) -> Iterator[Diagnostic]:
    """Published history cannot be edited, but consumers should know when an old version's
    dependency no longer resolves."""
    for snapshot in item.versions:
        for target_key, spec in snapshot.dependencies:
            problem = known.problem(item, target_key, spec)
            if problem is not None and problem[3] is Severity.ERROR:
                yield _at(
                    item,
                    None,
                    (),
                    "snapshot-dependency",
                    f"published version `{snapshot.tag}`: {problem[1]}",
                    "release a new version with working dependencies",
                    severity=Severity.WARNING,
                )


def _cycles(by_key: Mapping[str, Resolved], docs: Mapping[str, LoadedYaml]) -> Iterator[Diagnostic]:
    graph = {
        key: sorted(t for t in item.spec.manifest.dependencies if t in by_key)
        for key, item in by_key.items()
        if not item.tombstone
    }
    for component in _strongly_connected(graph):
        start = min(component)
        if len(component) == 1 and start not in graph.get(start, []):
            continue
        cycle = _cycle_through(start, graph, set(component))
        item = by_key[start]
        yield _at(
            item,
            docs.get(start),
            ("manifest", "dependencies", cycle[1]),
            "dependency-cycle",
            "dependency cycle: " + " -> ".join(cycle),
            "break the cycle: integrations must install in some order",
            of_key=True,
        )


def _strongly_connected(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so deep chains cannot exhaust the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_index = work.pop()
            if child_index == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            children = graph.get(node, [])
            if child_index < len(children):
                work.append((node, child_index + 1))
                child = children[child_index]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _cycle_through(start: str, graph: Mapping[str, list[str]], members: set[str]) -> list[str]:
    """One cycle from `start` back to itself inside a strongly connected component (BFS, so
    the shortest)."""
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in graph.get(node, []):
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return [start, start]


# -- names that imitate others --------------------------------------------------------------------

# ASCII look-alikes: a name that reads the same after this folding imitates the other.
_CONFUSABLE_RUNS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("-", ""))
_CONFUSABLE_CHARS = str.maketrans({"1": "l", "i": "l", "0": "o", "5": "s", "3": "e", "8": "b"})


def skeleton(key: str) -> str:
    folded = key.lower().translate(_CONFUSABLE_CHARS)
    for run, replacement in _CONFUSABLE_RUNS:
        folded = folded.replace(run, replacement)
    return folded


def _one_edit_apart(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


def _neighbours(keys: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Pairs of keys of different publishers one edit apart or with the same look-alike
    skeleton, without comparing every pair. Two keys with one `/` each that are one edit apart
    differ in one part only, and only a difference in the publisher part matters here: so the
    edit distance is measured between publishers (few) sharing a slug."""
    keys = sorted(set(keys))
    by_skeleton: dict[str, list[str]] = defaultdict(list)
    slugs: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        by_skeleton[skeleton(key)].append(key)
        publisher, _, slug = key.partition("/")
        slugs[publisher].add(slug)
    found: set[tuple[str, str]] = set()
    for members in by_skeleton.values():
        found.update((a, b) for a in members for b in members if a < b)
    for first, second in _one_edit_pairs(slugs):
        for slug in slugs[first] & slugs[second]:
            a, b = f"{first}/{slug}", f"{second}/{slug}"
            found.add((a, b) if a < b else (b, a))
    return iter(sorted(found))


def _one_edit_pairs(names: Iterable[str]) -> set[tuple[str, str]]:
    """Pairs of names one edit apart: such names share a one-deletion variant."""
    buckets: dict[str, set[str]] = defaultdict(set)
    for name in names:
        for variant in {name, *(name[:i] + name[i + 1 :] for i in range(len(name)))}:
            buckets[variant].add(name)
    return {
        (a, b)
        for members in buckets.values()
        for a in members
        for b in members
        if a < b and _one_edit_apart(a, b)
    }


def _typosquats(by_key: Mapping[str, Resolved]) -> Iterator[Diagnostic]:
    rank = {tier: position for position, tier in enumerate(TRUST_TIERS)}
    for a, b in sorted(_neighbours(by_key)):
        first, second = by_key[a], by_key[b]
        if first.source.publisher == second.source.publisher:
            continue
        for imitator, original in ((first, second), (second, first)):
            if rank[original.spec.trustTier] < rank[imitator.spec.trustTier]:
                yield _at(
                    imitator,
                    None,
                    (),
                    "name-imitation",
                    f"`{imitator.key}` looks like `{original.key}` of a more trusted "
                    f"publisher ({original.spec.trustTier})",
                    "maintainers: make sure this is not typosquatting before merging",
                    severity=Severity.WARNING,
                )
