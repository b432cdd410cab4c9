"""Every page of the site, rendered from the view models with one Jinja environment."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlsplit

import orjson
from markupsafe import Markup

from ..api import API_DIR, INDEX_PATH, Published, record_path, versions_path
from ..model import TRUST_TIERS, TrustTier, integration_id
from ..output import Deferred, Made, OutputFile
from ..resolve import Resolved
from ..source import README_FILE
from .markdown import render_markdown
from .render import Templates, render_page
from .urls import root_of
from .views import (
    AUTH_LABELS,
    TIERS,
    AuthView,
    Card,
    Dependency,
    Index,
    MemberRow,
    TierInfo,
    VariableRow,
    VersionRow,
    auth_view,
    by_name,
    by_update,
    hue,
    member_rows,
    monogram,
    page_path,
    publisher_name,
    publisher_path,
    variable_rows,
    version_rows,
)

PAGE_SIZE = 48
PUBLISHER_OPTIONS_MAX = 100
RECENT_SIZE = 4
SEARCH_PATH = f"{API_DIR}/search.json"
SORTS = {"name": "", "updated": "updated/"}


class PageContext(TypedDict):
    site_title: str
    page_title: str
    description: str
    root: str  # the way from this page to the site root: "./", "../" or the base URL's path
    canonical: str
    noindex: bool
    nav: str  # which header link is the current page
    header_search: bool
    # Only on listings: a page about one integration changes only when the integration does,
    # so rebuilds can carry it over unchanged.
    generated_at: str | None
    feed: str
    api: str


class Option(TypedDict):
    value: str
    label: str


class PagerLink(TypedDict):
    number: int
    url: str


class ListingContext(PageContext):
    heading: str
    cards: list[Card]
    recent: list[Card]
    total: int
    publisher_count: int
    drafts: int
    page: int
    pages: list[PagerLink]
    prev_url: str | None
    next_url: str | None
    sort: str
    sort_links: dict[str, str]
    search_index: str
    tiers: list[Option]
    publishers: list[Option]
    publishers_deferred: bool
    auths: list[Option]


class DetailContext(PageContext):
    item: Card
    integration_id: str
    tier: TierInfo
    readme: Markup | None
    versions: list[VersionRow]
    variables: list[VariableRow]
    members: list[MemberRow]
    auth: AuthView
    dependencies: list[Dependency]
    used_by: list[Card]
    install_url: str | None
    record_json: str
    versions_json: str
    created_at: str
    updated_at: str
    created_by: str
    deleted_at: str | None
    visibility: str
    retention: str | None


class PublisherContext(PageContext):
    publisher: str
    name: str
    url: str | None
    tiers: list[Option]
    cards: list[Card]
    monogram: str
    hue: int


class PublisherSummary(TypedDict):
    id: str
    name: str
    url: str
    count: int
    monogram: str
    hue: int
    tiers: list[Option]


class PublishersContext(PageContext):
    publishers: list[PublisherSummary]


class TierSummary(TypedDict):
    tier: str
    info: TierInfo
    count: int
    publishers: list[Option]


class TrustContext(PageContext):
    tiers: list[TierSummary]


@dataclass(frozen=True)
class Frame:
    """What the frame of every page shows: small, so that it goes along with each page made
    on a worker."""

    title: str
    base_url: str
    generated_at: str

    def context(
        self,
        page: str,
        page_title: str,
        description: str,
        nav: str = "",
        *,
        noindex: bool = False,
        header_search: bool = True,
        dated: bool = False,
    ) -> PageContext:
        return {
            "site_title": self.title,
            "page_title": page_title,
            "description": description,
            "root": root_of(page),
            "canonical": self.base_url + page.removesuffix("index.html"),
            "noindex": noindex,
            "nav": nav,
            "header_search": header_search,
            "generated_at": self.generated_at if dated else None,
            "feed": "feed.xml",
            "api": INDEX_PATH,
        }


@dataclass(frozen=True)
class Details:
    """What the page of every integration needs besides the integration and the cards it
    shows. Such pages are made on workers forked before the catalog was loaded: each gets
    all it needs pickled (see `Deferred`), and this goes along once per chunk of pages sent."""

    frame: Frame
    templates: Templates
    salt: str
    root: Path  # the catalog's, where each README is read
    install_url: str


@dataclass(frozen=True)
class Pages:
    """Renders one build's pages."""

    published: Published
    templates: Templates
    index: Index
    salt: str = ""  # changes whenever a template, a static file or the code does

    @property
    def title(self) -> str:
        return self.published.catalog.settings.config.title

    @cached_property
    def frame(self) -> Frame:
        published = self.published
        return Frame(self.title, published.base_url, published.generated_at)

    def render(self, template: str, context: Mapping[str, Any]) -> bytes:
        return render_page(self.templates, template, context)

    def all(self) -> Iterator[OutputFile]:
        """Every page. Integrations' pages are made on workers."""
        catalog = self.published.catalog
        details = Details(
            self.frame, self.templates, self.salt, catalog.root, catalog.settings.config.installUrl
        )
        index = self.index
        for item in index.included:
            cards = (index.cards[item.key], index.dependencies(item), index.used_by(item))
            yield Deferred(
                page_path(item) + "index.html", partial(_detail_made, details, item, *cards)
            )
        yield from self.listings()
        yield from self.publisher_pages()
        yield "trust/index.html", self.trust()
        yield "404.html", self.not_found()

    # -- listings ---------------------------------------------------------------------------

    def listings(self) -> Iterator[OutputFile]:
        released = [c for c in self.index.listed_cards() if not c.draft]
        shared = self._listing_shared(released)
        for sort, ordered in (("name", by_name(released)), ("updated", by_update(released))):
            chunks = [ordered[i : i + PAGE_SIZE] for i in range(0, len(ordered), PAGE_SIZE)]
            for number, cards in enumerate(chunks or [[]], start=1):
                page = _listing_url(sort, number) + "index.html"
                context = self.listing(page, sort, number, len(chunks) or 1, cards, shared)
                yield self._deferred(page, "index.html", context)

    def _listing_shared(self, released: list[Card]) -> dict[str, Any]:
        """What every listing page shows alike, worked out once."""
        searchable = self.index.listed_cards()
        tiers_used = {c.tier for c in searchable}
        publishers = sorted(
            {(c.publisher_name.casefold(), c.publisher, c.publisher_name) for c in searchable}
        )
        return {
            "released": released,
            "recent": by_update(released)[:RECENT_SIZE],
            "publisher_count": len({c.publisher for c in released}),
            "drafts": sum(1 for c in searchable if c.draft),
            "tiers": [
                {"value": t, "label": TIERS[t].label} for t in TRUST_TIERS if t in tiers_used
            ],
            # A long list of publishers would weigh down every listing page: past a hundred,
            # the filter's options come from search.json when it is first used.
            "publishers": [{"value": p, "label": name} for _, p, name in publishers]
            if len(publishers) <= PUBLISHER_OPTIONS_MAX
            else [],
            "publishers_deferred": len(publishers) > PUBLISHER_OPTIONS_MAX,
        }

    def listing(
        self,
        page: str,
        sort: str,
        number: int,
        count: int,
        cards: list[Card],
        shared: dict[str, Any],
    ) -> ListingContext:
        released: list[Card] = shared["released"]
        suffix = "" if sort == "name" else " · Recently updated"
        page_title = self.title + suffix + (f" · Page {number}" if number > 1 else "")
        return {
            **self.frame.context(
                page,
                page_title,
                f"Browse {len(released)} integrations for {self.title}.",
                "browse",
                header_search=False,
                dated=True,
            ),
            "heading": self.title,
            "cards": cards,
            "recent": shared["recent"] if sort == "name" and number == 1 else [],
            "total": len(released),
            "publisher_count": shared["publisher_count"],
            "drafts": shared["drafts"],
            "page": number,
            "pages": [{"number": n, "url": _listing_url(sort, n)} for n in range(1, count + 1)],
            "prev_url": _listing_url(sort, number - 1) if number > 1 else None,
            "next_url": _listing_url(sort, number + 1) if number < count else None,
            "sort": sort,
            "sort_links": dict(SORTS),
            "search_index": SEARCH_PATH,
            "tiers": shared["tiers"],
            "publishers": shared["publishers"],
            "publishers_deferred": shared["publishers_deferred"],
            "auths": [{"value": k, "label": v} for k, v in AUTH_LABELS.items()],
        }

    def _deferred(self, page: str, template: str, context: Mapping[str, Any]) -> Deferred:
        """A page rendered (in a worker, so picklable) only when its fingerprint changed."""
        render = partial(render_page, self.templates, template, context)
        return Deferred(page, partial(Made, fingerprint(self.salt, context), render))

    # -- publishers, trust tiers, 404 -------------------------------------------------------

    def publisher_ids(self) -> list[str]:
        known = set(self.published.catalog.settings.publishers)
        return sorted(known | {item.source.publisher for item in self.index.included})

    def _tiers_of(self, publisher: str) -> list[Option]:
        entry = self.published.catalog.settings.publishers.get(publisher)
        granted: set[TrustTier] = {*(entry.trustTiers if entry else ()), "community"}
        return [{"value": t, "label": TIERS[t].label} for t in TRUST_TIERS if t in granted]

    def publisher_pages(self) -> Iterator[OutputFile]:
        by_publisher: dict[str, list[Card]] = {}
        for card in self.index.listed_cards():
            by_publisher.setdefault(card.publisher, []).append(card)
        summaries: list[PublisherSummary] = []
        for publisher in self.publisher_ids():
            cards = by_name(by_publisher.get(publisher, []))
            name = publisher_name(self.published, publisher)
            entry = self.published.catalog.settings.publishers.get(publisher)
            page = publisher_path(publisher) + "index.html"
            context: PublisherContext = {
                **self.frame.context(
                    page,
                    f"{name} · {self.title}",
                    f"Integrations published by {name}.",
                    "publishers",
                ),
                "publisher": publisher,
                "name": name,
                "url": entry.url if entry else None,
                "tiers": self._tiers_of(publisher),
                "cards": cards,
                "monogram": monogram(name),
                "hue": hue(publisher),
            }
            yield self._deferred(page, "publisher.html", context)
            summaries.append(
                {
                    "id": publisher,
                    "name": name,
                    "url": publisher_path(publisher),
                    "count": len(cards),
                    "monogram": context["monogram"],
                    "hue": context["hue"],
                    "tiers": self._tiers_of(publisher),
                }
            )
        summaries.sort(key=lambda s: (-s["count"], s["name"].casefold()))
        index: PublishersContext = {
            **self.frame.context(
                "publishers/index.html",
                f"Publishers · {self.title}",
                f"Everyone who publishes integrations on {self.title}.",
                "publishers",
            ),
            "publishers": summaries,
        }
        yield "publishers/index.html", self.render("publishers.html", index)

    def trust(self) -> bytes:
        listed = self.index.listed_cards()
        settings = self.published.catalog.settings
        tiers: list[TierSummary] = [
            {
                "tier": tier,
                "info": TIERS[tier],
                "count": sum(1 for c in listed if c.tier == tier),
                "publishers": [
                    {"value": p, "label": entry.name}
                    for p, entry in sorted(settings.publishers.items())
                    if tier in entry.trustTiers
                ],
            }
            for tier in TRUST_TIERS
        ]
        context: TrustContext = {
            **self.frame.context(
                "trust/index.html",
                f"Trust tiers · {self.title}",
                "What each trust tier of the catalog means, from most to least trusted.",
                "trust",
            ),
            "tiers": tiers,
        }
        return self.render("trust.html", context)

    def not_found(self) -> bytes:
        """Served at any depth, so its links start from the base URL's path."""
        context = self.frame.context(
            "404.html",
            f"Page not found · {self.title}",
            "There is no page at this address.",
            noindex=True,
        )
        context["root"] = urlsplit(self.published.base_url).path
        return self.render("404.html", context)


# -- one integration ------------------------------------------------------------------------


def fingerprint(salt: str, context: Mapping[str, Any]) -> str:
    """Everything a page is made from: the templates and code (`salt`) and its context. A
    page whose fingerprint did not change since the last build is carried over, not
    rendered."""
    # The context as JSON (dicts in insertion order, dataclasses by their fields, markup and
    # named tuples marked as such), a sixth of the time its repr takes; by its repr where
    # JSON cannot hold it (a key that is not a string, say). Either is the same for the same
    # page in every build. (orjson leaves out a dataclass's fields named with a leading
    # underscore: no page's context has one.)
    try:
        text = orjson.dumps(context, default=_marked, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except orjson.JSONEncodeError:
        text = repr(context).encode()
    return hashlib.sha256(salt.encode() + b"\0" + text).hexdigest()


def _marked(value: Any) -> list[Any]:
    """What the context's JSON writes for markup (which is not escaped, unlike text) and for
    a named tuple."""
    if isinstance(value, Markup):
        return ["Markup", str(value)]
    if isinstance(value, tuple):
        return [type(value).__name__, *value]
    raise TypeError(type(value).__name__)


def detail_context(
    details: Details,
    item: Resolved,
    card: Card,
    dependencies: list[Dependency],
    used_by: list[Card],
) -> DetailContext:
    page = page_path(item) + "index.html"
    spec = item.spec
    install = details.install_url
    context: DetailContext = {
        **details.frame.context(
            page,
            f"{spec.name} · {details.frame.title}",
            spec.description or f"{spec.name} by {card.publisher_name}",
            noindex=spec.visibility != "public",
        ),
        "item": card,
        "integration_id": integration_id(item.source.publisher, item.source.slug),
        "tier": TIERS[spec.trustTier],
        "readme": readme(details.root, item),
        "versions": version_rows(item),
        "variables": variable_rows(spec.variablesSchema),
        "members": member_rows(item),
        "auth": auth_view(item),
        "dependencies": dependencies,
        "used_by": used_by,
        "install_url": (
            install.replace("{publisher}", item.source.publisher).replace(
                "{slug}", item.source.slug
            )
            if item.current_version is not None and item.deleted_at is None
            else None
        ),
        "record_json": record_path(item),
        "versions_json": versions_path(item),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "created_by": item.created_by,
        "deleted_at": item.deleted_at,
        "visibility": spec.visibility,
        "retention": spec.retentionTier,
    }
    return context


def readme(root: Path, item: Resolved) -> Markup | None:
    if README_FILE not in item.source.files:
        return None
    path = root / item.source.rel_dir / README_FILE
    return render_markdown(path.read_text(encoding="utf-8", errors="replace"), item.spec.name)


def _detail_made(
    details: Details,
    item: Resolved,
    card: Card,
    dependencies: list[Dependency],
    used_by: list[Card],
) -> Made:
    """The page of an integration, worked out on a worker."""
    context = detail_context(details, item, card, dependencies, used_by)
    render = partial(render_page, details.templates, "integration.html", context)
    return Made(fingerprint(details.salt, context), render)


def _listing_url(sort: str, number: int) -> str:
    return SORTS[sort] + (f"page/{number}/" if number > 1 else "")
