"""What the browser tests share: the sample repository, the built site, and tabs that record
console errors and every request that leaves the site."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "_artifacts"
PREFIX = "/some/prefix/"
ICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8" width="8" height="8">'
    b'<rect width="8" height="8" fill="#888"/></svg>'
)

# (commit date, what the commit adds) and (tag, tagger date or None for a lightweight tag).
COMMITS = (
    ("2025-01-10T09:00:00Z", ("catalog.yaml", "publishers.yaml", "integrations/aeontel",
                              "integrations/brightloop", "integrations/datapipe",
                              "integrations/jdoe", "integrations/northwind",
                              "integrations/pagerduty")),
    ("2025-02-14T09:00:00Z", ("integrations/hubspot",)),
    ("2025-03-03T09:00:00Z", ("integrations/stripe",)),
)  # fmt: skip
TAGS: tuple[tuple[str, str | None], ...] = (
    ("aeontel/core-auth/v1.0.0", "2025-01-12T10:00:00Z"),
    ("aeontel/core-auth/v1.1.0", "2025-02-01T10:00:00Z"),
    ("aeontel/core-auth/v1.2.0", "2025-03-05T10:00:00Z"),
    ("aeontel/slack-alerts/v1.0.0", "2025-01-20T10:00:00Z"),
    ("aeontel/slack-alerts/v1.2.0", "2025-03-06T10:00:00Z"),
    ("datapipe/warehouse-loader/v1.0.0", None),
    ("hubspot/crm-contacts/v1.0.0", None),
    ("hubspot/crm-contacts/v1.1.0", "2025-03-08T10:00:00Z"),
    ("hubspot/crm-contacts/v2.0.0-rc.1", "2025-03-20T10:00:00Z"),
    ("jdoe/github-issues/v0.1.0-beta.1", None),
    ("northwind/invoice-ocr/v1.1.0", None),
    ("pagerduty/incident-bridge/v1.0.0", None),
    ("stripe/legacy-checkout/v1.0.0", None),
    ("stripe/payments/v1.0.0", None),
    ("stripe/payments/v1.1.0", "2025-03-10T10:00:00Z"),
)


def git(root: Path, *args: str, date: str = "2025-01-01T00:00:00Z") -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(root.parent),
        "GIT_AUTHOR_NAME": "Sample Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Sample Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def make_sample(root: Path) -> Path:
    """The repository's sample catalog in a fresh repository with dated commits and tags."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for date, paths in COMMITS:
        for rel in paths:
            source = REPO / rel
            if source.is_dir():
                shutil.copytree(source, root / rel)
            else:
                shutil.copy(source, root / rel)
        git(root, "add", "-A", ".")
        git(root, "commit", "-q", "-m", f"add {', '.join(paths)}", date=date)
    for name, tagged_at in TAGS:
        if tagged_at is None:
            git(root, "tag", name)
        else:
            git(root, "tag", "-a", "-m", f"release {name}", name, date=tagged_at)
    return root


@dataclass(frozen=True)
class Site:
    url: str  # where the site's root is served, ending in "/"
    out: Path

    def pages(self) -> list[str]:
        """Every HTML page, as the path below the site's root that serves it."""
        return sorted(
            p.relative_to(self.out).as_posix().removesuffix("index.html")
            for p in self.out.rglob("*.html")
        )

    def icons(self) -> frozenset[str]:
        records = (self.out / "api/v1/integrations").glob("*/*.json")
        found = (json.loads(p.read_text())["iconUrl"] for p in records)
        return frozenset(url for url in found if url and not url.startswith(self.url))


@dataclass
class Tab:
    """A page, and what happened while it was open."""

    page: Page
    context: BrowserContext
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # requests that left the site
    requests: list[str] = field(default_factory=list)
    icons: list[str] = field(default_factory=list)  # integrations' own external icons

    def requested(self, pattern: str) -> list[str]:
        return [url for url in self.requests if re.search(pattern, url)]


def router(tab: Tab, icons: frozenset[str]) -> Callable[[Route], None]:
    def route(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            tab.requests.append(url)
            route.continue_()
        elif url in icons:
            tab.icons.append(url)  # an integration's own icon: answered here, never fetched
            route.fulfill(status=200, content_type="image/svg+xml", body=ICON_SVG)
        else:
            tab.outside.append(url)
            route.abort()

    return route


def new_tab(
    browser: Browser,
    icons: frozenset[str],
    *,
    color_scheme: str = "light",
    javascript: bool = True,
) -> Tab:
    context = browser.new_context(
        color_scheme=color_scheme,  # type: ignore[arg-type]
        viewport={"width": 1280, "height": 900},
        java_script_enabled=javascript,
        service_workers="block",
    )
    context.set_default_timeout(5000)
    page = context.new_page()
    tab = Tab(page, context)
    page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: tab.errors.append(f"uncaught: {e}"))
    page.on("dialog", lambda d: (tab.errors.append(f"dialog: {d.message}"), d.dismiss()))
    context.route("**/*", router(tab, icons))
    return tab
