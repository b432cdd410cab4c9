"""What the pages show: plain, immutable values made from the resolved catalog. Templates only
read these; every decision about what is listed, linked or hidden is made here."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..api import Published
from ..model import TrustTier
from ..resolve import Resolved


class TierInfo(NamedTuple):
    label: str
    summary: str
    details: tuple[str, ...]


TIERS: dict[TrustTier, TierInfo] = {
    "first_party": TierInfo(
        "First party",
        "Built, maintained and supported by the team that runs this marketplace.",
        (
            "Developed in-house and released through the same review as the platform itself.",
            "Supported directly: problems are handled like platform bugs.",
        ),
    ),
    "vendor_official": TierInfo(
        "Official vendor",
        "Published by the company whose product it connects to.",
        (
            "The publisher's identity and its ownership of the product were verified.",
            "The vendor maintains the integration and keeps it in step with its API.",
        ),
    ),
    "verified_partner": TierInfo(
        "Verified partner",
        "Published by a partner with an agreement with the marketplace.",
        (
            "The partner is verified and bound by the marketplace's partner terms.",
            "Releases are maintained by the partner, who answers for them.",
        ),
    ),
    "verified_publisher": TierInfo(
        "Verified publisher",
        "Published by an organisation whose identity the maintainers checked.",
        (
            "The maintainers verified who the publisher is, not what the code does.",
            "Review what the integration asks for before you install it.",
        ),
    ),
    "community": TierInfo(
        "Community",
        "Published by anyone; only the catalog's automated checks were run.",
        (
            "Nobody vouches for the publisher beyond the catalog's automated checks.",
            "Read the members, variables and permissions carefully before installing.",
        ),
    ),
}
AUTH_LABELS: dict[str, str] = {"oauth2": "OAuth 2.0", "api_key": "API key", "none": "No auth"}
HUES = 8


def tier_label(tier: str) -> str:
    return TIERS[tier].label if tier in TIERS else tier


def auth_label(kind: str) -> str:
    return AUTH_LABELS.get(kind, kind)


def page_path(item: Resolved) -> str:
    """The detail page's directory, relative to the site root."""
    return f"integrations/{item.source.publisher}/{item.source.slug}/"


def publisher_path(publisher: str) -> str:
    return f"publishers/{publisher}/"


def hue(key: str) -> int:
    return hashlib.sha256(key.encode()).digest()[0] % HUES


def monogram(name: str) -> str:
    return next((ch.upper() for ch in name if ch.isalnum()), "?")


@dataclass(frozen=True)
class Card:
    """One integration as listings show it."""

    key: str
    name: str
    description: str
    publisher: str
    publisher_name: str
    tier: TrustTier
    version: str | None  # None for a draft
    auth: str
    url: str  # site-relative
    icon: str | None  # site-relative path or an https URL
    monogram: str
    hue: int
    updated_at: str
    deleted: bool
    members: tuple[str, ...]

    @property
    def draft(self) -> bool:
        return self.version is None


def publisher_name(published: Published, publisher: str) -> str:
    entry = published.catalog.settings.publishers.get(publisher)
    return entry.name if entry is not None else publisher


def card(published: Published, item: Resolved) -> Card:
    spec = item.spec
    return Card(
        key=item.key,
        name=spec.name,
        description=spec.description or "",
        publisher=item.source.publisher,
        publisher_name=publisher_name(published, item.source.publisher),
        tier=spec.trustTier,
        version=item.current_version,
        auth=spec.authConfig.type,
        url=page_path(item),
        icon=published.icon_path(item) or spec.iconUrl,
        monogram=monogram(spec.name),
        hue=hue(item.key),
        updated_at=item.updated_at,
        deleted=item.deleted_at is not None,
        members=tuple(member.key for member in spec.manifest.members),
    )


def by_name(cards: Iterable[Card]) -> list[Card]:
    return sorted(cards, key=lambda c: (c.name.casefold(), c.key))


def by_update(cards: Iterable[Card]) -> list[Card]:
    ordered = sorted(cards, key=lambda c: (c.name.casefold(), c.key))
    return sorted(ordered, key=lambda c: c.updated_at, reverse=True)


# -- the detail page -----------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    version: str
    published_at: str
    commit: str
    current: bool
    prerelease: bool
    yanked: str | None


@dataclass(frozen=True)
class VariableRow:
    name: str
    type: str
    required: bool
    default: str | None  # as JSON
    enum: tuple[str, ...]  # as JSON
    description: str | None
    constraints: tuple[str, ...]


@dataclass(frozen=True)
class MemberRow:
    key: str
    kind: str
    description: str | None
    fork_on_install: bool


@dataclass(frozen=True)
class Dependency:
    range: str
    card: Card


@dataclass(frozen=True)
class AuthView:
    type: str
    label: str
    scopes: tuple[str, ...]
    header: str | None
    prefix: str | None


_JSON_TEXT = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def json_text(value: Any) -> str:
    return _JSON_TEXT.encode(value)


def version_rows(item: Resolved) -> list[VersionRow]:
    return [
        VersionRow(
            version=snapshot.version,
            published_at=snapshot.published_at,
            commit=snapshot.commit,
            current=snapshot.version == item.current_version,
            prerelease="-" in snapshot.version.split("+", 1)[0],
            yanked=getattr(snapshot, "yanked", None),
        )
        for snapshot in item.versions
    ]


def _type_label(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type")
    names = [kind] if isinstance(kind, str) else [k for k in kind or () if isinstance(k, str)]
    label = " | ".join(names) if names else "any"
    items = prop.get("items")
    if "array" in names and isinstance(items, dict) and isinstance(items.get("type"), str):
        label = label.replace("array", f"array of {items['type']}")
    return label


_CONSTRAINTS = (
    ("format", "format: {}"),
    ("pattern", "pattern: {}"),
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
)


def _constraints(prop: Mapping[str, Any]) -> tuple[str, ...]:
    found = [
        template.format(prop[name] if isinstance(prop[name], str) else json_text(prop[name]))
        for name, template in _CONSTRAINTS
        if name in prop
    ]
    if prop.get("uniqueItems") is True:
        found.append("unique items")
    return tuple(found)


def _enum(prop: Mapping[str, Any]) -> tuple[str, ...]:
    values = prop.get("enum")
    items = prop.get("items")
    if not isinstance(values, list) and isinstance(items, dict):
        values = items.get("enum")
    return tuple(json_text(v) for v in values) if isinstance(values, list) else ()


def variable_rows(schema: Mapping[str, Any]) -> list[VariableRow]:
    """The variables of a JSON Schema, as a table; anything unexpected is shown, never fatal."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return []
    required_list = schema.get("required")
    required = (
        {r for r in required_list if isinstance(r, str)}
        if isinstance(required_list, list)
        else set()
    )
    rows = []
    for name, raw in properties.items():
        prop = raw if isinstance(raw, dict) else {}
        description = prop.get("description")
        rows.append(
            VariableRow(
                name=str(name),
                type=_type_label(prop),
                required=name in required,
                default=json_text(prop["default"]) if "default" in prop else None,
                enum=_enum(prop),
                description=description if isinstance(description, str) else None,
                constraints=_constraints(prop),
            )
        )
    return rows


def member_rows(item: Resolved) -> list[MemberRow]:
    return [
        MemberRow(m.key, m.kind, m.description, m.forkOnInstall) for m in item.spec.manifest.members
    ]


def auth_view(item: Resolved) -> AuthView:
    auth = item.spec.authConfig
    kind = auth.type
    return AuthView(
        type=kind,
        label=auth_label(kind),
        scopes=tuple(getattr(auth, "scopes", ())),
        header=getattr(auth, "authHeaderName", None),
        prefix=getattr(auth, "authValuePrefix", None),
    )


class Index:
    """Lookups over what this build includes: cards by key and who depends on whom."""

    def __init__(self, published: Published) -> None:
        self.published = published
        self.included = published.included()
        self.cards = {item.key: card(published, item) for item in self.included}
        # What the listings, the search, the feed and the sitemap show.
        self.listed = [item for item in published.listed() if item.deleted_at is None]
        dependents: dict[str, list[Card]] = defaultdict(list)
        for item in self.listed:
            for target in item.spec.manifest.dependencies:
                dependents[target].append(self.cards[item.key])
        self.dependents = {key: by_name(cards) for key, cards in dependents.items()}
        self._listed_cards = [self.cards[item.key] for item in self.listed]

    def listed_cards(self) -> list[Card]:
        return list(self._listed_cards)

    def dependencies(self, item: Resolved) -> list[Dependency]:
        """Only dependencies this build includes: the others would leak a private name."""
        return [
            Dependency(spec, self.cards[target])
            for target, spec in sorted(item.spec.manifest.dependencies.items())
            if target in self.cards
        ]

    def used_by(self, item: Resolved) -> list[Card]:
        return [c for c in self.dependents.get(item.key, []) if c.key != item.key]
