"""The marketplace site: HTML pages rendered with Jinja2 beside the JSON API, the static
assets they use, the search index, the feed, the sitemap and robots.txt."""

from __future__ import annotations

from collections.abc import Iterator

from ..api import Published
from ..cache import code_fingerprint
from ..output import OutputFile
from .feeds import atom_feed, robots, search_index, sitemap
from .pages import SEARCH_PATH, Pages
from .render import Templates, assets, template_dir, templates_digest
from .views import Index

__all__ = ["site_files", "template_dir"]


def site_files(published: Published) -> Iterator[OutputFile]:
    """Every file of the site, in a fixed order. (The templates are read at once: an error
    reading them comes before the first file.)"""
    directory = template_dir(published.catalog.root)
    static = assets(directory)
    digest = templates_digest(directory)
    templates = Templates(str(directory), tuple((a.name, a.path) for a in static), digest)
    # A page is carried over when its context, its templates and the code are unchanged.
    salt = digest + code_fingerprint()
    pages = Pages(published, templates, Index(published), salt)
    return _site_files(pages, [(asset.path, asset.data) for asset in static], pages.all())


def _site_files(
    pages: Pages, static: list[tuple[str, bytes]], pages_files: Iterator[OutputFile]
) -> Iterator[OutputFile]:
    published = pages.published
    yield from static
    yield from pages_files
    yield SEARCH_PATH, search_index(published, pages.index)
    yield "feed.xml", atom_feed(published, pages.index)
    yield "sitemap.xml", sitemap(published, pages.index, pages.publisher_ids())
    yield "robots.txt", robots(published)
