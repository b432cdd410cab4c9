"""The machine-read files beside the pages: the search index, the Atom feed of releases, the
sitemap and robots.txt. Only listed integrations that were not deleted appear in them."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from ..api import Published
from ..jsontext import file_bytes
from ..resolve import Resolved
from ..versions import Snapshot
from .views import Card, Index, page_path, publisher_path

FEED_SIZE = 50
ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


def search_index(published: Published, index: Index) -> bytes:
    """What the search box needs and nothing more; drafts have a null version."""
    cards = index.listed_cards()
    document = {
        "generatedAt": published.generated_at,
        "publishers": {c.publisher: c.publisher_name for c in cards},
        "integrations": [_entry(c) for c in cards],
    }
    return file_bytes(document)


def _entry(card: Card) -> dict[str, Any]:
    return {
        "key": card.key,
        "name": card.name,
        "publisher": card.publisher,
        "description": card.description,
        "tier": card.tier,
        "auth": card.auth,
        "version": card.version,
        "members": list(card.members),
        "url": card.url,
        "icon": card.icon,
        "hue": card.hue,
        "updated": card.updated_at,
    }


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text + b"\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def releases(index: Index) -> list[tuple[Resolved, Snapshot]]:
    """The newest releases across listed integrations, newest first."""
    found = [(item, snapshot) for item in index.listed for snapshot in item.versions]
    found.sort(key=lambda pair: (pair[0].key, pair[1].version))
    found.sort(key=lambda pair: pair[1].published_at, reverse=True)
    return found[:FEED_SIZE]


def atom_feed(published: Published, index: Index) -> bytes:
    base = published.base_url
    title = published.catalog.settings.config.title
    entries = releases(index)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, f"{{{ATOM}}}title", f"{title}: new releases")
    _sub(feed, f"{{{ATOM}}}id", base + "feed.xml")
    _sub(
        feed,
        f"{{{ATOM}}}updated",
        entries[0][1].published_at if entries else published.generated_at,
    )
    _sub(feed, f"{{{ATOM}}}link", rel="self", href=base + "feed.xml")
    _sub(feed, f"{{{ATOM}}}link", rel="alternate", href=base)
    for item, snapshot in entries:
        card = index.cards[item.key]
        url = base + page_path(item)
        entry = _sub(feed, f"{{{ATOM}}}entry")
        _sub(entry, f"{{{ATOM}}}title", f"{card.name} {snapshot.version}")
        _sub(entry, f"{{{ATOM}}}id", f"{url}#v{snapshot.version}")
        _sub(entry, f"{{{ATOM}}}updated", snapshot.published_at)
        _sub(entry, f"{{{ATOM}}}link", rel="alternate", href=url)
        author = _sub(entry, f"{{{ATOM}}}author")
        _sub(author, f"{{{ATOM}}}name", card.publisher_name)
        _sub(entry, f"{{{ATOM}}}category", term=card.tier)
        _sub(entry, f"{{{ATOM}}}summary", card.description or f"{card.name} {snapshot.version}")
    return _xml(feed)


def sitemap(published: Published, index: Index, publishers: list[str]) -> bytes:
    base = published.base_url
    ET.register_namespace("", SITEMAP)
    urlset = ET.Element(f"{{{SITEMAP}}}urlset")

    def add(path: str, lastmod: str | None = None) -> None:
        url = _sub(urlset, f"{{{SITEMAP}}}url")
        _sub(url, f"{{{SITEMAP}}}loc", base + path)
        if lastmod is not None:
            _sub(url, f"{{{SITEMAP}}}lastmod", lastmod)

    add("", published.generated_at)
    add("publishers/")
    add("trust/")
    for publisher in publishers:
        add(publisher_path(publisher))
    for item in index.listed:
        add(page_path(item), item.updated_at)
    return _xml(urlset)


def robots(published: Published) -> bytes:
    return f"User-agent: *\nAllow: /\n\nSitemap: {published.base_url}sitemap.xml\n".encode()
