"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from validate_support import FileContent, MakeCatalog, write_catalog


@pytest.fixture
def make_catalog(tmp_path: Path) -> MakeCatalog:
    """`make_catalog({"integrations/acme/crm/integration.yaml": "..."})` -> the catalog root."""

    def make(files: Mapping[str, FileContent], *, base: bool = True) -> Path:
        return write_catalog(tmp_path / "catalog", files, base=base)

    return make
