"""The catalog root and its two maintainer-owned files: `catalog.yaml` and `publishers.yaml`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, Severity
from .model import CatalogConfig, PublisherEntry, is_valid_name
from .source import read_yaml_file
from .validation import validate_document
from .yamlload import LoadedYaml, NodeInfo, YamlPath

CATALOG_FILE = "catalog.yaml"
PUBLISHERS_FILE = "publishers.yaml"


class CatalogRootNotFound(Exception):
    """No `catalog.yaml` in the working directory or any of its ancestors."""


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` that holds `catalog.yaml`."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / CATALOG_FILE).is_file():
            return directory
    raise CatalogRootNotFound(
        f"no {CATALOG_FILE} in {start} or any directory above it; run inside a catalog or "
        "pass --root DIR"
    )


@dataclass(frozen=True)
class Settings:
    """What the maintainers configured: the catalog's settings and the publishers' grants."""

    config: CatalogConfig
    publishers: dict[str, PublisherEntry] = field(default_factory=dict)
    publishers_doc: LoadedYaml | None = None


def load_settings(root: Path) -> tuple[Settings, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    config = _load_config(root, diagnostics)
    publishers, publishers_doc = _load_publishers(root, diagnostics)
    return Settings(config, publishers, publishers_doc), diagnostics


def _load_config(root: Path, diagnostics: list[Diagnostic]) -> CatalogConfig:
    doc, problems = read_yaml_file(root, CATALOG_FILE)
    diagnostics.extend(problems)
    if doc is None:
        return CatalogConfig()
    config, problems = validate_document(CatalogConfig, doc, CATALOG_FILE)
    diagnostics.extend(problems)
    return config or CatalogConfig()


def _load_publishers(
    root: Path, diagnostics: list[Diagnostic]
) -> tuple[dict[str, PublisherEntry], LoadedYaml | None]:
    if not (root / PUBLISHERS_FILE).exists():
        diagnostics.append(
            Diagnostic(
                PUBLISHERS_FILE,
                1,
                1,
                Severity.WARNING,
                "catalog-config",
                f"there is no {PUBLISHERS_FILE}: every publisher may only claim `community`",
                "create it to grant trust tiers to publishers",
            )
        )
        return {}, None
    doc, problems = read_yaml_file(root, PUBLISHERS_FILE)
    diagnostics.extend(problems)
    if doc is None:
        return {}, None
    publishers: dict[str, PublisherEntry] = {}
    nodes: dict[Any, dict[YamlPath, NodeInfo]] = defaultdict(dict)  # each entry's, by its id
    for path, node in doc.nodes.items():
        if path:
            nodes[path[0]][path[1:]] = node
    for publisher_id, entry in doc.value.items():
        at = doc.position((publisher_id,), of_key=True)
        if not is_valid_name(publisher_id):
            diagnostics.append(
                Diagnostic(
                    PUBLISHERS_FILE,
                    at.line,
                    at.column,
                    Severity.ERROR,
                    "path-invalid",
                    f"publisher id `{publisher_id}` is not lowercase kebab-case (a-z, 0-9, -)",
                    "use the name of the publisher's directory under integrations/",
                )
            )
            continue
        sub = LoadedYaml(entry, nodes[publisher_id], set())
        parsed, problems = validate_document(PublisherEntry, sub, PUBLISHERS_FILE)
        diagnostics.extend(_prefix(problems, publisher_id))
        if parsed is not None:
            publishers[publisher_id] = parsed
    return publishers, doc


def _prefix(diagnostics: list[Diagnostic], publisher_id: str) -> list[Diagnostic]:
    """Name the publisher in messages about its entry."""
    return [
        Diagnostic(
            d.path,
            d.line,
            d.column,
            d.severity,
            d.code,
            d.message.replace("`the document`", f"`{publisher_id}`", 1)
            if "`the document`" in d.message
            else d.message.replace("`", f"`{publisher_id}.", 1),
            d.hint,
        )
        for d in diagnostics
    ]
