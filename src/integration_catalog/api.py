"""The static JSON API: the `Integration` record of each integration and the documents that
list them. Pure functions from the resolved catalog to (path, bytes) pairs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, get_args, get_origin

from .cache import code_fingerprint
from .catalog import Catalog
from .jsontext import file_bytes, with_list
from .model import RECORD_FIELDS, Integration, integration_id, published_fields
from .output import Deferred, Made, OutputFile
from .resolve import Resolved, versions_document_bytes
from .source import SourceDir
from .versions import Snapshot

API_VERSION = "v1"
API_DIR = f"api/{API_VERSION}"
ICONS_DIR = f"{API_DIR}/icons"
SCHEMA_PATH = f"{API_DIR}/schema/integration.schema.json"
TYPES_PATH = f"{API_DIR}/types.d.ts"
INDEX_PATH = f"{API_DIR}/integrations.json"


@dataclass(frozen=True)
class Published:
    """What one build publishes: the integrations it includes and how URLs are made."""

    catalog: Catalog
    base_url: str  # ends with "/"
    include_private: bool
    generated_at: str

    def included(self) -> list[Resolved]:
        """Every integration that gets output at all (private ones only on request)."""
        return [
            item
            for item in self.catalog.integrations
            if self.include_private or item.spec.visibility != "private"
        ]

    def listed(self) -> list[Resolved]:
        """What listings show: public ones (private ones too in an internal build)."""
        return [item for item in self.included() if item.spec.visibility != "unlisted"]

    def icon_path(self, item: Resolved) -> str | None:
        icon = item.source.icon
        if icon is None:
            return None
        return f"{ICONS_DIR}/{item.source.publisher}/{item.source.slug}{icon.removeprefix('icon')}"

    def record(self, item: Resolved) -> dict[str, Any]:
        spec = item.spec
        icon_path = self.icon_path(item)
        manifest, variables, auth = published_fields(spec)
        record = Integration(
            id=integration_id(item.source.publisher, item.source.slug),
            workspaceId=spec.workspaceId,
            slug=item.source.slug,
            name=spec.name,
            description=spec.description if spec.description and spec.description.strip() else None,
            iconUrl=self.base_url + icon_path if icon_path else spec.iconUrl,
            publisher=item.source.publisher,
            trustTier=spec.trustTier,
            currentVersion=item.current_version,
            manifest=manifest,
            variablesSchema=variables,
            authConfig=auth,
            visibility=spec.visibility,
            createdBy=item.created_by,
            deletedAt=item.deleted_at,
            retentionTier=spec.retentionTier,
            createdAt=item.created_at,
            updatedAt=item.updated_at,
        )
        return record.model_dump(mode="json")


def record_path(item: Resolved) -> str:
    return f"{API_DIR}/integrations/{item.source.publisher}/{item.source.slug}.json"


def versions_path(item: Resolved) -> str:
    return f"{API_DIR}/integrations/{item.source.publisher}/{item.source.slug}/versions.json"


def api_files(published: Published) -> Iterator[OutputFile]:
    """Every JSON file of the API, in a fixed order."""
    # Each integration's files first: the workers make its `versions.json` while this
    # process makes the next record.
    listed = {item.key for item in published.listed()}
    records = []  # the listed ones' JSON, which the index joins: far smaller than the dicts
    for item in published.included():
        record = file_bytes(published.record(item))
        if item.key in listed:
            records.append(record[:-1])  # without the line break
        yield record_path(item), record
        made = partial(_versions_made, item.source, item.current_version, item.versions)
        yield Deferred(versions_path(item), made)
    yield "api/index.json", file_bytes(_discovery(published))
    head = {"apiVersion": API_VERSION, "generatedAt": published.generated_at, "count": len(records)}
    index = with_list(head, "integrations", records, b"\n")
    records.clear()  # (held by the index now)
    yield INDEX_PATH, index
    del index
    yield SCHEMA_PATH, file_bytes(record_schema(published.base_url))
    yield TYPES_PATH, typescript_types().encode()


def _versions_made(source: SourceDir, current: str | None, versions: tuple[Snapshot, ...]) -> Made:
    """An integration's `versions.json`, made on a worker and carried over when none of its
    versions changed: reading every published version's content is most of what the API
    costs."""
    digest = hashlib.sha256(repr((code_fingerprint(), source.key, current)).encode())
    for snapshot in versions:
        fields = (snapshot.version, snapshot.tag, snapshot.published_at, snapshot.commit)
        packed = snapshot.packed or b""
        digest.update(repr((*fields, snapshot.yanked, len(packed))).encode())
        digest.update(packed)
    return Made(digest.hexdigest(), partial(_versions_bytes, source, current, versions))


def _versions_bytes(
    source: SourceDir, current: str | None, versions: tuple[Snapshot, ...]
) -> bytes:
    document = versions_document_bytes(source.publisher, source.slug, current, versions)
    return document + b"\n"  # compact and UTF-8 already, as `file_bytes` writes


def _discovery(published: Published) -> dict[str, Any]:
    base = published.base_url
    return {
        "apiVersion": API_VERSION,
        "generatedAt": published.generated_at,
        "endpoints": {
            "integrations": base + INDEX_PATH,
            "integration": base + API_DIR + "/integrations/{publisher}/{slug}.json",
            "versions": base + API_DIR + "/integrations/{publisher}/{slug}/versions.json",
            "schema": base + SCHEMA_PATH,
            "types": base + TYPES_PATH,
        },
    }


def record_schema(base_url: str) -> dict[str, Any]:
    """JSON Schema (Draft 2020-12) of the record, made from the same model as the records."""
    schema = Integration.model_json_schema()
    schema.pop("title", None)
    properties = schema["properties"]
    for prop in properties.values():
        prop.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": base_url + SCHEMA_PATH,
        "title": "Integration",
        "description": "One integration of the catalog, as served by the JSON API "
        f"{API_VERSION}. Every key is always present; absent values are null.",
        "type": "object",
        "properties": properties,
        "required": list(RECORD_FIELDS),
        "additionalProperties": False,
    }


def _ts_alternatives(annotation: Any) -> list[str]:
    if annotation is str:
        return ["string"]
    if annotation is type(None):
        return ["null"]
    origin = get_origin(annotation)
    if origin is Literal:
        return [f'"{value}"' for value in get_args(annotation)]
    if origin is dict:
        return ["Record<string, unknown>"]
    if get_args(annotation):  # a union
        return [alt for arg in get_args(annotation) for alt in _ts_alternatives(arg)]
    raise TypeError(f"no TypeScript type for {annotation!r}")


def _ts_member(name: str, annotation: Any) -> str:
    alternatives = _ts_alternatives(annotation)
    line = f"  {name}: {' | '.join(alternatives)};"
    if len(line) <= 80:
        return line
    return (
        f"  {name}:\n"
        + "\n".join(f"    | {alt}" for alt in alternatives[:-1])
        + f"\n    | {alternatives[-1]};"
    )


def typescript_types() -> str:
    """`types.d.ts`: the record's interface and the API's documents, made from the model."""
    lines = [
        "// The integration-catalog JSON API, version " + API_VERSION + ".",
        "// Generated from the same model as the records; do not edit.",
        "",
        "export interface Integration {",
    ]
    lines += [
        _ts_member(name, field.annotation) for name, field in Integration.model_fields.items()
    ]
    lines += [
        "}",
        "",
        "export interface IntegrationIndex {",
        f'  apiVersion: "{API_VERSION}";',
        "  generatedAt: string;",
        "  count: number;",
        "  integrations: Integration[];",
        "}",
        "",
        "export interface Snapshot {",
        "  version: string;",
        "  tag: string;",
        "  publishedAt: string;",
        "  commit: string;",
        "  manifest: Record<string, unknown>;",
        "  variablesSchema: Record<string, unknown>;",
        "  authConfig: Record<string, unknown>;",
        "  digest: string;",
        "  yanked: { reason: string } | null;",
        "}",
        "",
        "export interface IntegrationVersions {",
        "  integrationId: string;",
        "  currentVersion: string | null;",
        "  versions: Snapshot[];",
        "}",
        "",
    ]
    return "\n".join(lines)
