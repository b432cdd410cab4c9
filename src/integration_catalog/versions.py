"""Published versions: which tags name a version of which integration, how versions are ordered,
which one is current, and the snapshot each one publishes. Pure functions; git is read elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import cmp_to_key, lru_cache
from operator import attrgetter
from typing import Any

import lz4.block
import rfc8785
import semver

from .diagnostics import Diagnostic, Severity
from .gitrepo import Tag
from .jsontext import has_fraction, sorted_compact, sorted_fraction_free, string_bytes
from .model import NAME_PATTERN, IntegrationSource
from .ranges import parse_version

_NAME = NAME_PATTERN.strip("^$")


def tag_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of a `tagPattern` such as `{publisher}/{slug}/v{version}`."""
    parts = re.split(r"(\{publisher\}|\{slug\}|\{version\})", pattern)
    groups = {
        "{publisher}": f"(?P<publisher>{_NAME})",
        "{slug}": f"(?P<slug>{_NAME})",
        "{version}": r"(?P<version>[^/\s]+)",
    }
    return re.compile("".join(groups.get(part, re.escape(part)) for part in parts) + r"\Z")


@lru_cache(maxsize=65536)  # commit times repeat across the tags of one release
def rfc3339(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class VersionTag:
    """A tag that names a valid version of one integration."""

    key: str  # publisher/slug
    version: semver.Version
    tag: Tag


def match_tags(
    tags: Iterable[Tag], pattern: str, yaml_path_of: dict[str, str]
) -> tuple[dict[str, list[VersionTag]], list[Diagnostic]]:
    """Group the tags that match the pattern by integration; warn about invalid versions and
    refuse versions that differ only in build metadata. `yaml_path_of` maps each key to the
    file its diagnostics are reported on."""
    regex = tag_regex(pattern)
    found: dict[str, list[VersionTag]] = defaultdict(list)
    diagnostics: list[Diagnostic] = []
    for tag in sorted(tags, key=lambda t: t.name):
        match = regex.match(tag.name)
        if match is None:
            continue
        key = f"{match['publisher']}/{match['slug']}"
        where = yaml_path_of.get(key, f"integrations/{key}/integration.yaml")
        try:
            version = parse_version(match["version"])
        except ValueError:
            diagnostics.append(
                Diagnostic(
                    where,
                    1,
                    1,
                    Severity.WARNING,
                    "tag-invalid-version",
                    f"tag `{tag.name}` is ignored: `{match['version']}` is not a SemVer 2.0 "
                    "version",
                    "name release tags like 1.2.0 or 2.0.0-rc.1; delete or re-create this tag",
                )
            )
            continue
        found[key].append(VersionTag(key, version, tag))
    for key, items in found.items():
        diagnostics.extend(
            _case_collisions(items, yaml_path_of.get(key, f"integrations/{key}/integration.yaml"))
        )
        diagnostics.extend(
            _build_metadata_clashes(
                items, yaml_path_of.get(key, f"integrations/{key}/integration.yaml")
            )
        )
    return dict(found), diagnostics


def _case_collisions(items: list[VersionTag], where: str) -> Iterator[Diagnostic]:
    """Tags that differ only in letter case collide on case-insensitive file systems, where
    one silently replaces the other in a clone."""
    by_folded: dict[str, list[str]] = defaultdict(list)
    for item in items:
        by_folded[item.tag.name.lower()].append(item.tag.name)
    for names in sorted(by_folded.values()):
        if len(names) > 1:
            shown = ", ".join(f"`{name}`" for name in sorted(names))
            yield Diagnostic(
                where,
                1,
                1,
                Severity.WARNING,
                "tag-case-collision",
                f"tags {shown} differ only in letter case; on macOS and Windows "
                "one replaces the other",
                "delete all but one of them",
            )


def _build_metadata_clashes(items: list[VersionTag], where: str) -> Iterator[Diagnostic]:
    by_precedence: dict[str, list[VersionTag]] = defaultdict(list)
    for item in items:
        found = item.version
        by_precedence[str(found if found.build is None else found.replace(build=None))].append(item)
    for version, clash in sorted(by_precedence.items()):
        if len(clash) > 1:
            names = ", ".join(f"`{c.tag.name}`" for c in clash)
            yield Diagnostic(
                where,
                1,
                1,
                Severity.ERROR,
                "tag-build-metadata",
                f"tags {names} publish version {version} more than once (they differ only in "
                "build metadata, which SemVer ignores when ordering)",
                "keep one tag per version: delete the others",
            )


def _by_precedence(a: VersionTag, b: VersionTag) -> int:
    return b.version.compare(a.version)


def newest_first(items: Iterable[VersionTag]) -> list[VersionTag]:
    """Highest SemVer precedence first (1.10.0 above 1.9.0, 2.0.0 above 2.0.0-rc.1)."""
    return sorted(items, key=cmp_to_key(_by_precedence))


def current_version(versions: Iterable[semver.Version]) -> semver.Version | None:
    """The highest release; where there are only pre-releases, the highest pre-release."""
    ordered = sorted(versions, reverse=True)  # Version orders by SemVer precedence
    releases = [v for v in ordered if v.prerelease is None]
    candidates = releases or ordered
    return candidates[0] if candidates else None


_BEYOND_BMP = re.compile(rb"[\xf0-\xf4]")


def canonical_json(value: Any, text: str | None = None) -> bytes:
    """The JSON Canonicalization Scheme (RFC 8785) of `value`: keys sorted at every level, no
    spaces, UTF-8 kept as is, numbers as JavaScript writes them, so any language can
    recompute a digest. Sorted compact JSON is exactly that for integers and strings; a
    document with a fractional number or a character beyond the BMP goes through rfc8785.
    `text` is `sorted_compact(value)`, when the caller made it already."""
    fast = sorted_fraction_free(value) if text is None else None
    if fast is None:
        fast = (text if text is not None else sorted_compact(value)).encode("utf-8")
        if has_fraction(value, fast):
            return rfc8785.dumps(value)
    # (ASCII text, as most is, has nothing beyond the BMP: no need to look.)
    if not fast.isascii() and _BEYOND_BMP.search(fast):
        return rfc8785.dumps(value)
    return fast


def digest(manifest: Any, variables_schema: Any, auth_config: Any) -> str:
    return content_digest(_content(*_parts(auth_config, manifest, variables_schema)))


def content_digest(content: bytes) -> str:
    """The digest of a version's canonical JSON, as versions.json gives it."""
    return "sha256:" + hashlib.sha256(content).hexdigest()


# A version's content is the canonical JSON of these three members, in this (sorted) order.
# Canonical JSON of an object is its members' canonical JSON joined in key order, so the
# content is joined from its parts, and a part is cut out of the content by its length.
_AUTH, _MANIFEST, _VARIABLES = b'{"authConfig":', b',"manifest":', b',"variablesSchema":'
# The lengths of the first two parts and of the whole content, before the compressed content.
_LENGTHS = struct.Struct(">III")


def _parts(
    auth: Any, manifest: Any, variables: Any, variables_text: str | None = None
) -> tuple[bytes, bytes, bytes]:
    return canonical_json(auth), canonical_json(manifest), canonical_json(variables, variables_text)


def _content(auth: bytes, manifest: bytes, variables: bytes) -> bytes:
    return b"".join((_AUTH, auth, _MANIFEST, manifest, _VARIABLES, variables, b"}"))


def pack_published(
    auth: Any, manifest: Any, variables: Any, variables_text: str | None = None
) -> bytes:
    """What a snapshot keeps of a version's content (`Snapshot.packed`): compressed, since a
    large catalog holds tens of thousands at once, behind the lengths of its first two parts,
    so that versions.json is joined from the parts without parsing them. Raises ValueError
    for a value JSON cannot hold (NaN). `variables_text` is `sorted_compact(variables)`,
    when the checks made it already. (LZ4: a tenth of zlib's time each way, every snapshot
    being packed once and unpacked for each file that shows it, for a third more bytes.)"""
    parts = _parts(auth, manifest, variables, variables_text)
    content = _content(*parts)
    lengths = _LENGTHS.pack(len(parts[0]), len(parts[1]), len(content))
    compressed: bytes = lz4.block.compress(content, store_size=False)
    return lengths + compressed


_MAX_RATIO = 255


def unpack_published(packed: bytes, limit: int = 0) -> tuple[bytes, bytes, bytes, bytes]:
    """The content and its three parts (authConfig, manifest, variablesSchema) of what
    `pack_published` made. Raises ValueError for anything else, and for content over `limit`
    bytes when one is given."""
    if len(packed) < _LENGTHS.size:
        raise ValueError("no lengths")
    auth_length, manifest_length, length = _LENGTHS.unpack_from(packed)
    body = memoryview(packed)[_LENGTHS.size :]
    # (before room is made for it: LZ4 makes at most 255 bytes of each one)
    if length > _MAX_RATIO * len(body) or (limit and length > limit):
        raise ValueError("content too large, or larger than its packed form can hold")
    try:
        content: bytes = lz4.block.decompress(body, uncompressed_size=length)
    except lz4.block.LZ4BlockError:
        raise ValueError("content that does not unpack") from None
    if len(content) != length:
        raise ValueError("content cut short")
    manifest_at = len(_AUTH) + auth_length + len(_MANIFEST)
    variables_at = manifest_at + manifest_length + len(_VARIABLES)
    parts = (
        content[len(_AUTH) : len(_AUTH) + auth_length],
        content[manifest_at : manifest_at + manifest_length],
        content[variables_at:-1],
    )
    if not (
        content.startswith(_AUTH)
        and content.startswith(_MANIFEST, manifest_at - len(_MANIFEST))
        and content.startswith(_VARIABLES, variables_at - len(_VARIABLES))
        and content.endswith(b"}")
        and all(part[:1] == b"{" and part[-1:] == b"}" for part in parts)  # each an object
    ):
        raise ValueError("not the published fields")
    return content, *parts


@dataclass(frozen=True)
class Snapshot:
    """One published version, as consumers get it in versions.json. The published fields are
    kept as their canonical JSON (compact, and exactly what the digest covers), packed by
    `pack_published`."""

    version: str
    tag: str
    published_at: str
    commit: str
    # pack_published() of {"authConfig", "manifest", "variablesSchema"}; None when the run
    # did not read published content (`catalog validate` needs only versions)
    packed: bytes | None
    yanked: str | None = None  # the reason, when the publisher withdrew this version
    dependencies: tuple[tuple[str, str], ...] = ()  # manifest.dependencies, as published
    # The snapshot as a whole integration when it still validates (tombstones are built from
    # it), as JSON.
    spec_json: str | None = field(default=None, compare=False, repr=False)

    def __reduce__(self) -> tuple[type[Snapshot], tuple[Any, ...]]:
        # Pickled (for a worker process) as its fields in order: a sixth of the time a
        # dataclass's own pickle takes to read back.
        return Snapshot, _snapshot_fields(self)

    @property
    def digest(self) -> str:
        return content_digest(self._unpacked[0])

    @property
    def published(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self._unpacked[0])
        return value

    @property
    def _unpacked(self) -> tuple[bytes, bytes, bytes, bytes]:
        if self.packed is None:
            raise RuntimeError(f"the content of {self.tag} was not read")  # a bug, not input
        return unpack_published(self.packed)

    @property
    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = self.published["manifest"]
        return manifest

    @property
    def variables_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.published["variablesSchema"]
        return schema

    @property
    def auth_config(self) -> dict[str, Any]:
        auth: dict[str, Any] = self.published["authConfig"]
        return auth

    @property
    def spec(self) -> IntegrationSource | None:
        if self.spec_json is None:
            return None
        try:
            return IntegrationSource.model_validate_json(self.spec_json)
        except ValueError:  # a cached entry that does not hold a valid integration
            return None

    def json_bytes(self) -> bytes:
        """This version as versions.json gives it, compact: joined from the parts of its
        content, which are canonical JSON already, rather than parsed and written again."""
        content, auth, manifest, variables = self._unpacked
        yanked = b"null"
        if self.yanked is not None:
            yanked = b'{"reason":' + string_bytes(self.yanked) + b"}"
        return b"".join(
            (
                b'{"version":',
                string_bytes(self.version),
                b',"tag":',
                string_bytes(self.tag),
                b',"publishedAt":',
                string_bytes(self.published_at),
                b',"commit":',
                string_bytes(self.commit),
                b',"manifest":',
                manifest,
                b',"variablesSchema":',
                variables,
                b',"authConfig":',
                auth,
                b',"digest":',
                string_bytes(content_digest(content)),
                b',"yanked":',
                yanked,
                b"}",
            )
        )

    def as_json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.json_bytes())
        return value


_snapshot_fields = attrgetter(*(f.name for f in fields(Snapshot)))
