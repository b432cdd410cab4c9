"""`catalog release`: choose the next version of an integration and tag it, refusing anything
that would publish the wrong thing."""

from __future__ import annotations

from collections.abc import Iterable

import semver

BUMPS = ("major", "minor", "patch")


class ReleaseRefused(Exception):
    """The release would be unsafe; the message says why and what to do."""


def next_version(requested: str, existing: Iterable[str], pre: str | None = None) -> str:
    """The version a release creates: an explicit SemVer, or a bump (`major`, `minor`,
    `patch`) of the highest release, optionally as the next pre-release `-LABEL.N`."""
    versions = sorted(semver.Version.parse(v) for v in existing)
    if requested in BUMPS:
        releases = [v for v in versions if v.prerelease is None]
        base = releases[-1] if releases else semver.Version(0, 0, 0)
        target = base.next_version(part=requested)
    else:
        try:
            target = semver.Version.parse(requested.removeprefix("v"))
        except ValueError:
            raise ReleaseRefused(
                f"`{requested}` is not a SemVer version (e.g. 1.2.0) nor one of {', '.join(BUMPS)}"
            ) from None
    if pre is not None:
        if target.prerelease is not None:
            raise ReleaseRefused("give either a pre-release version or --pre, not both")
        number = 1 + sum(
            1
            for v in versions
            if v.finalize_version() == target and (v.prerelease or "").startswith(f"{pre}.")
        )
        target = target.replace(prerelease=f"{pre}.{number}")
    highest = versions[-1] if versions else None
    if highest is not None and target.compare(highest) <= 0:
        raise ReleaseRefused(
            f"{target} is not greater than every published version (the highest is {highest})"
        )
    return str(target)


def tag_name(pattern: str, publisher: str, slug: str, version: str) -> str:
    return (
        pattern.replace("{publisher}", publisher)
        .replace("{slug}", slug)
        .replace("{version}", version)
    )
