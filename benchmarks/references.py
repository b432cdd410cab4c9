"""The reference tools the catalog is compared with, on the same files: check-jsonschema
validating every integration.yaml against the catalog's JSON Schema, and Hugo rendering one page
per published integration from equivalent front matter."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

HUGO_CONFIG = """baseURL = "http://localhost:8000/"
title = "Benchmark Marketplace"
disableKinds = ["taxonomy", "term"]
"""

_HEAD = '<!doctype html><html><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body>'
HUGO_LAYOUTS = {
    "_default/single.html": _HEAD
    + """
<h1>{{ .Title }}</h1>
<p>{{ .Description }}</p>
<p>{{ .Params.trusttier }} · {{ .Params.visibility }} · auth: {{ .Params.authconfig.type }}</p>
<h2>Members</h2>
<ul>{{ range .Params.manifest.members }}<li>{{ .key }} ({{ .kind }}): {{ .description }}</li>
{{ end }}</ul>
<h2>Dependencies</h2>
<ul>{{ range $key, $range := .Params.manifest.dependencies }}<li>{{ $key }} {{ $range }}</li>
{{ end }}</ul>
<h2>Variables</h2>
<dl>{{ range $name, $schema := .Params.variablesschema.properties }}<dt>{{ $name }}</dt>
<dd>{{ $schema.type }}: {{ $schema.description }}</dd>{{ end }}</dl>
</body></html>
""",
    "_default/list.html": _HEAD
    + """
<h1>{{ .Title }}</h1>
<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>: {{ .Description }}</li>
{{ end }}</ul>
</body></html>
""",
    "index.html": _HEAD
    + """
<h1>{{ .Site.Title }}</h1>
<ul>{{ range .Site.RegularPages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>:
{{ .Description }}</li>
{{ end }}</ul>
</body></html>
""",
}


def integration_files(catalog: Path) -> list[str]:
    """Every integration.yaml, relative to the catalog root, sorted."""
    return sorted(
        p.relative_to(catalog).as_posix() for p in catalog.glob("integrations/*/*/*.yaml")
    )


def check_jsonschema_commands(tool: Path, schema: Path, files: list[str]) -> list[list[str]]:
    """One command line for all files, split the way xargs would when it is too long."""
    base = [str(tool), "--schemafile", str(schema)]
    limit = min(os.sysconf("SC_ARG_MAX") // 2, 1_000_000) - sum(len(a) + 1 for a in base)
    return [base + chunk for chunk in _chunks(files, limit)]


def _chunks(files: list[str], limit: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for name in files:
        if chunk and size + len(name) + 1 > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(name)
        size += len(name) + 1
    if chunk:
        yield chunk


def write_hugo_site(catalog: Path, site: Path) -> int:
    """A minimal Hugo site with content/<publisher>/<slug>.md for every integration the
    catalog publishes (private ones are left out, as `catalog build` leaves them out); the
    front matter holds the same fields as integration.yaml. Returns the number of pages."""
    if site.exists():
        shutil.rmtree(site)
    (site / "content").mkdir(parents=True)
    (site / "config.toml").write_text(HUGO_CONFIG)
    for name, text in HUGO_LAYOUTS.items():
        path = site / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    pages = 0
    for rel in integration_files(catalog):
        text = (catalog / rel).read_text()
        if "\nvisibility: private\n" in text:
            continue
        _, publisher, slug, _ = rel.split("/")
        page = site / "content" / publisher / f"{slug}.md"
        page.parent.mkdir(exist_ok=True)
        page.write_text(f"---\ntitle: {_name(text)}\n{text}---\n")
        pages += 1
    return pages


def _name(text: str) -> str:
    first = text.split("\n", 1)[0]
    return first.removeprefix("name: ") if first.startswith("name: ") else '"untitled"'


# What a Hugo build writes into its site: the pages, and its caches.
HUGO_OUTPUTS = ("public", ".cache")


def hugo_command(hugo: Path, site: Path, suffix: str = "") -> list[str]:
    """Build into `public` (or public<suffix>), with caches of the same suffix."""
    return [
        str(hugo),
        "--quiet",
        "--source",
        str(site),
        "--destination",
        str(site / f"public{suffix}"),
        "--cacheDir",
        str(site / f".cache{suffix}"),
    ]
