"""npm-style version ranges (`^1.2.0`, `~1.4`, `>=1.2.0 <2.0.0`, `1.x`, `a || b`).

node-semver parses a range into sets of comparators once per distinct text; matching then
compares with python-semver's SemVer precedence. node-semver's own matching re-parses the range
and every version on each call (and logs at each step), which costs seconds over a large
catalog's dependencies."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import nodesemver
import semver

_OPERATORS: dict[str, Callable[[semver.Version, semver.Version], bool]] = {
    "": operator.eq,
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Comparator:
    operator: str
    version: semver.Version | None  # None matches any version

    def test(self, version: semver.Version) -> bool:
        return self.version is None or _OPERATORS[self.operator](version, self.version)


Range = tuple[tuple[Comparator, ...], ...]  # any set matches when all its comparators do


@lru_cache(maxsize=8192)
def parse_range(text: str) -> Range | None:
    """The range, or None when it does not parse (an empty range is refused)."""
    if not text.strip():
        return None
    try:
        parsed = nodesemver.make_range(text, loose=False)
        return tuple(tuple(_comparator(c) for c in group) for group in parsed.set)
    except (ValueError, TypeError):
        return None


def _comparator(found: nodesemver.Comparator) -> Comparator:
    if found.semver is nodesemver.ANY or not isinstance(found.semver, nodesemver.SemVer):
        return Comparator("", None)
    return Comparator(found.operator, semver.Version.parse(found.semver.version))


@lru_cache(maxsize=65536)
def parse_version(text: str) -> semver.Version:
    return semver.Version.parse(text)


def satisfies(version: semver.Version, allowed: Range) -> bool:
    """npm's rule: every comparator of one set holds, and a pre-release only matches a set
    that names a pre-release of the same major.minor.patch."""
    for comparators in allowed:
        if not all(c.test(version) for c in comparators):
            continue
        if version.prerelease is None or any(
            c.version is not None
            and c.version.prerelease is not None
            and c.version.finalize_version() == version.finalize_version()
            for c in comparators
        ):
            return True
    return False


def max_satisfying(versions: Iterable[str], text: str) -> str | None:
    """The highest of `versions` (by SemVer precedence) inside the range `text`."""
    if parse_range(text) is None:
        return None
    matching = [(parse_version(v), v) for v in versions if _satisfies_text(v, text)]
    return max(matching, key=lambda pair: pair[0])[1] if matching else None


@lru_cache(maxsize=65536)
def _satisfies_text(version: str, text: str) -> bool:
    # a catalog repeats the same few versions and ranges across thousands of dependencies
    allowed = parse_range(text)
    return allowed is not None and satisfies(parse_version(version), allowed)
