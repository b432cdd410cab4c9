"""`catalog new`: a new integration's files, commented, that validate as written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .model import AuthType, Visibility
from .source import INTEGRATION_FILE, INTEGRATIONS_DIR, README_FILE

SCHEMA_DIR = "schema"


@dataclass(frozen=True)
class NewIntegration:
    publisher: str
    slug: str
    name: str
    auth: AuthType = "none"
    visibility: Visibility = "private"


def default_name(slug: str) -> str:
    return " ".join(word.capitalize() for word in slug.split("-"))


_AUTH_BLOCKS: dict[str, str] = {
    "none": """\
# How consumers authenticate when they install: oauth2, api_key or none. Never put a
# credential here; each consumer supplies its own at install time.
authConfig:
  type: none
""",
    "api_key": """\
# How consumers authenticate when they install: oauth2, api_key or none. Never put a
# credential here; each consumer supplies its own at install time.
authConfig:
  type: api_key
  authHeaderName: Authorization   # the header the key is sent in
  authValuePrefix: "Bearer "      # optional text before the key
""",
    "oauth2": """\
# How consumers authenticate when they install: oauth2, api_key or none. Never put a
# credential (client secret, token) here; each consumer authorises at install time.
authConfig:
  type: oauth2
  scopes: [read]                  # the scopes requested on install
  authorizationUrl: "https://{publisher}.example.com/oauth/authorize"
  tokenUrl: "https://{publisher}.example.com/oauth/token"
""",
}


def integration_yaml(new: NewIntegration) -> str:
    """The commented `integration.yaml` of a new integration."""
    schema = "../" * 3 + f"{SCHEMA_DIR}/integration.schema.json"
    auth = _AUTH_BLOCKS[new.auth].replace("{publisher}", new.publisher)
    return f"""\
# yaml-language-server: $schema={schema}
# {new.publisher}/{new.slug}: see docs/authoring.md for every field. Publisher and slug come
# from the directory. Validate with: catalog validate {INTEGRATIONS_DIR}/{new.publisher}/{new.slug}

# Display name (at most 80 characters) and a one- or two-sentence summary (at most 300);
# the long description goes in README.md beside this file.
name: {json.dumps(new.name, ensure_ascii=False)}
description: "What {json.dumps(new.name, ensure_ascii=False)[1:-1]} does, in one sentence."

# The source workspace the integration is built and published from.
workspaceId: "ws_{new.publisher}"

# private (only internal builds), unlisted (reachable by link) or public (listed).
visibility: {new.visibility}

# The trust tier claimed; publishers.yaml must grant it (community is always allowed).
trustTier: community

# What installing adds (members), which other integrations it needs (dependencies, as
# publisher/slug: npm-style range) and default values for its variables (defaults).
manifest:
  members:
    - key: main
      kind: workflow
      description: "The integration's main workflow."
      forkOnInstall: false        # true copies the member into the consumer's workspace
  dependencies: {{}}
  defaults: {{}}

# JSON Schema (Draft 2020-12) of the non-secret values a consumer fills in on install.
variablesSchema:
  type: object
  properties: {{}}
  required: []

{auth}"""


def readme(new: NewIntegration) -> str:
    return f"""# {new.name}

Describe what {new.name} does, who it is for, and what a consumer needs before installing it.

## What it adds

- **main** (workflow): the integration's main workflow.
"""


def scaffold_files(root: Path, new: NewIntegration) -> dict[Path, str]:
    directory = root / INTEGRATIONS_DIR / new.publisher / new.slug
    return {
        directory / INTEGRATION_FILE: integration_yaml(new),
        directory / README_FILE: readme(new),
    }


def write_scaffold(root: Path, new: NewIntegration) -> list[Path]:
    """Create the files; never overwrites (the caller checks that the directory is new)."""
    files = scaffold_files(root, new)
    written = []
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
    return written
