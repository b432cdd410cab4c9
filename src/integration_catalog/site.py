"""The marketplace site: HTML pages rendered with Jinja2 beside the JSON API."""

from __future__ import annotations

from collections.abc import Iterator

from .api import Published


def site_files(published: Published) -> Iterator[tuple[str, bytes]]:
    """Every page of the site, in a fixed order."""
    del published
    yield from ()
