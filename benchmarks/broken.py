"""Write a catalog of 10,000 broken `integration.yaml` files (no git history): each has an
ambiguous value, an unknown field, a derived field and an ungranted trust tier, so
`catalog validate` must report 40,000 errors.

    python benchmarks/broken.py /tmp/broken && catalog --root /tmp/broken validate --format json
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

COUNT = 10_000
FILE = """name: "App {n}"
description: "Broken on purpose."
workspaceId: "ws_{n}"
visibility: public
trustTier: vendor_official
retentionTier: short
enabled: yes
colour: "blue"
currentVersion: "1.0.0"
manifest:
  members: []
variablesSchema:
  type: object
  properties: {{}}
authConfig:
  type: none
"""


def write(root: Path, count: int = COUNT) -> None:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "catalog.yaml").write_text('title: "Broken"\nbaseUrl: "https://example.test/"\n')
    (root / "publishers.yaml").write_text("{}\n")
    for n in range(count):
        directory = root / "integrations" / f"pub-{n % 500}" / f"app-{n}"
        directory.mkdir(parents=True)
        (directory / "integration.yaml").write_text(FILE.format(n=n))


if __name__ == "__main__":
    write(Path(sys.argv[1]))
