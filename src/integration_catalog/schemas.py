"""JSON Schemas of the three source files, for editors (`# yaml-language-server: $schema=`)
and for other tools. Generated from the same pydantic models that validate the files."""

from __future__ import annotations

import json
from typing import Any

from .model import NAME_PATTERN, CatalogConfig, IntegrationSource, PublisherEntry

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def integration_schema() -> dict[str, Any]:
    schema = IntegrationSource.model_json_schema()
    schema["title"] = "integration.yaml"
    schema["description"] = (
        "One integration of the catalog: integrations/<publisher>/<slug>/integration.yaml. "
        "id, currentVersion, createdAt and updatedAt are derived by the build."
    )
    return {"$schema": DRAFT, **schema}


def publishers_schema() -> dict[str, Any]:
    entry = PublisherEntry.model_json_schema()
    defs = entry.pop("$defs", {})
    return {
        "$schema": DRAFT,
        "title": "publishers.yaml",
        "description": "Maintainers' list of publishers: id to name, url and the trust tiers "
        "its integrations may claim (community is always allowed).",
        "type": "object",
        "propertyNames": {"pattern": NAME_PATTERN, "maxLength": 64},
        "additionalProperties": {"$ref": "#/$defs/PublisherEntry"},
        "$defs": {**defs, "PublisherEntry": entry},
    }


def catalog_schema() -> dict[str, Any]:
    schema = CatalogConfig.model_json_schema()
    schema["title"] = "catalog.yaml"
    return {"$schema": DRAFT, **schema}


def _pretty(value: dict[str, Any]) -> bytes:
    """Committed and read by people (and diffed in review): indented."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def schema_files() -> dict[str, bytes]:
    """File name to content, as committed in `schema/`."""
    return {
        "integration.schema.json": _pretty(integration_schema()),
        "publishers.schema.json": _pretty(publishers_schema()),
        "catalog.schema.json": _pretty(catalog_schema()),
    }
