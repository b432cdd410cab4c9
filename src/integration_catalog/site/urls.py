"""URLs in pages: external ones must be https; site paths are relative to the site root."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

# Whitespace (as str.isspace has it) and control characters: no URL holds them unescaped.
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")


def safe_url(value: object) -> str:
    """The URL when it is an https URL without credentials, else an empty string."""
    if not isinstance(value, str) or _UNSAFE.search(value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return ""
    return value


@lru_cache(maxsize=65536)  # every page links the same site paths
def site_relative(value: str) -> bool:
    """A path inside the site, as the view models make them (no scheme, no leading slash)."""
    head = value.split("/", 1)[0].split("?", 1)[0]
    return ":" not in head and not value.startswith("/") and "/../" not in f"/{value}/"


def root_of(page: str) -> str:
    """The way from a page (a file path relative to the site root) back to the root."""
    depth = page.count("/")
    return "../" * depth if depth else "./"
