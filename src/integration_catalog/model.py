"""Pydantic models: the source files as publishers write them, and the `Integration` record
that consumers read (the contract in docs/api.md; never rename, drop or retype a field)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# Most trusted first. The order is used wherever tiers are compared or listed.
TrustTier = Literal[
    "first_party", "vendor_official", "verified_partner", "verified_publisher", "community"
]
TRUST_TIERS: tuple[TrustTier, ...] = get_args(TrustTier)
DEFAULT_TRUST_TIER: TrustTier = "community"
Visibility = Literal["private", "public", "unlisted"]
RetentionTier = Literal["short", "medium", "long", "none"]
AuthType = Literal["oauth2", "api_key", "none"]

DEFAULT_TAG_PATTERN = "{publisher}/{slug}/v{version}"
NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
NAME_RE = re.compile(NAME_PATTERN)
NAME_MAX = 64
# Names Windows reserves for devices: a clone holding such a directory fails there.
RESERVED_NAMES = frozenset(
    {
        "con",
        "prn",
        "aux",
        "nul",
        *(f"com{i}" for i in range(1, 10)),
        *(f"lpt{i}" for i in range(1, 10)),
    }
)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a publisher or slug, or None when it can."""
    if not NAME_RE.fullmatch(name) or len(name) > NAME_MAX:  # `$` would allow "x\n"
        return (
            f"is not lowercase kebab-case (a-z, 0-9 and single hyphens, 1 to {NAME_MAX} characters)"
        )
    if name in RESERVED_NAMES:
        return "is reserved by Windows for a device, so the repository could not be cloned there"
    return None


def is_valid_name(name: str) -> bool:
    return name_problem(name) is None


# Fields the build derives; publishers may not write them.
DERIVED_FIELDS: dict[str, str] = {
    "id": "the publisher and slug (a UUIDv5 of `publisher/slug`)",
    "currentVersion": "the highest release tag of the integration",
    "createdAt": "the git history (the first commit that added the integration)",
    "updatedAt": "the git history (the last commit that touched the integration)",
}
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")


_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


def _https_url(value: str) -> str:
    if _URL_FORBIDDEN.search(value):
        raise ValueError("a URL may not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"`{_clip(value)}` is not an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a URL may not carry a user name or password")
    return value


def _rfc3339(value: str) -> str:
    if not _RFC3339.match(value):
        raise ValueError(f"`{_clip(value)}` is not an RFC 3339 time such as 2024-05-01T12:00:00Z")
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"`{_clip(value)}` is not a real date and time: {error}") from None
    return value


def _clip(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _representable(value: str) -> str:
    """A time that can be written in UTC between years 1 and 9999."""
    try:
        utc_rfc3339(value)
    except (OverflowError, ValueError):
        raise ValueError(f"`{_clip(value)}` is out of the range of representable times") from None
    return value


def utc_rfc3339(value: str | datetime) -> str:
    """A time as consumers get it: RFC 3339, UTC, whole seconds, with `Z`."""
    moment = (
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        if isinstance(value, str)
        else value
    )
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


HttpsUrl = Annotated[str, AfterValidator(_https_url)]
Rfc3339 = Annotated[str, AfterValidator(_rfc3339), AfterValidator(_representable)]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=NAME_MAX)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]


class _Source(BaseModel):
    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, field_title_generator=lambda name, _info: name
    )


class Member(_Source):
    key: Text = Field(
        description="Unique key of the member within the integration.", examples=["contacts-sync"]
    )
    kind: Text = Field(
        description="What the member is, e.g. workflow, dataset, dashboard.", examples=["workflow"]
    )
    description: str | None = Field(None, description="What the member does.")
    forkOnInstall: bool = Field(
        False, description="Copy the member into the consumer's workspace on install."
    )


class Manifest(_Source):
    members: list[Member] = Field(
        default_factory=list, description="What installing the integration adds."
    )
    dependencies: dict[str, Text] = Field(
        default_factory=dict,
        description="Other integrations this one needs: `publisher/slug` to an npm-style "
        "semver range.",
        examples=[{"acme/crm-core": "^1.2.0"}],
    )
    defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="Default values for variables declared in `variablesSchema`.",
    )


class OAuth2Auth(_Source):
    type: Literal["oauth2"]
    scopes: list[Text] = Field(description="OAuth scopes requested on install.")
    authorizationUrl: HttpsUrl
    tokenUrl: HttpsUrl
    callbackUrl: HttpsUrl | None = None


class ApiKeyAuth(_Source):
    type: Literal["api_key"]
    authHeaderName: Text = Field(examples=["Authorization"])
    authValuePrefix: str | None = Field(None, examples=["Bearer "])


class NoAuth(_Source):
    type: Literal["none"]


AuthConfig = Annotated[OAuth2Auth | ApiKeyAuth | NoAuth, Field(discriminator="type")]


class IntegrationSource(_Source):
    """`integrations/<publisher>/<slug>/integration.yaml`."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description="Display name.", examples=["Stripe Payments"]
    )
    description: Annotated[str, StringConstraints(max_length=300)] | None = Field(
        None, description="One or two sentences; the long form goes in README.md."
    )
    workspaceId: Text = Field(description="Source workspace the integration is built in.")
    trustTier: TrustTier = Field(
        DEFAULT_TRUST_TIER, description="Claimed trust tier; publishers.yaml must grant it."
    )
    visibility: Visibility = Field(description="private, public or unlisted.")
    retentionTier: RetentionTier | None = None
    iconUrl: HttpsUrl | None = Field(
        None,
        description="https URL of the icon, unless a local "
        "icon.svg or icon.png sits beside the file.",
    )
    createdBy: Text | None = Field(None, description="Author; derived from git when absent.")
    deletedAt: Rfc3339 | None = Field(None, description="Soft delete: when it was withdrawn.")
    publisher: Name | None = Field(None, description="Must match the directory when given.")
    slug: Name | None = Field(None, description="Must match the directory when given.")
    manifest: Manifest = Field(default_factory=Manifest)
    variablesSchema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema (Draft 2020-12) of the install-time variables; root "
        "`type: object`. Non-secret values only.",
    )
    authConfig: AuthConfig = Field(default_factory=lambda: NoAuth(type="none"))
    yanked: dict[str, Text] = Field(
        default_factory=dict,
        description="Withdrawn published versions: version to the reason, e.g. "
        '{"1.4.0": "corrupts data on install"}. History is kept; installs skip them.',
        examples=[{"1.4.0": "breaks token refresh"}],
    )


# The namespace of integration ids: id = UUIDv5(ID_NAMESPACE, "publisher/slug"). Never change it.
ID_NAMESPACE = uuid.UUID("6f1c7c0e-3b0a-5d8e-9a51-2f4c1e7b9d30")


def integration_id(publisher: str, slug: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{publisher}/{slug}"))


def published_fields(
    spec: IntegrationSource,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """`manifest`, `variablesSchema` and `authConfig` as published: defaults filled in, absent
    optional values left out."""
    return (
        spec.manifest.model_dump(mode="json", exclude_none=True),
        spec.variablesSchema,
        spec.authConfig.model_dump(mode="json", exclude_none=True),
    )


class PublisherEntry(_Source):
    name: Text
    url: HttpsUrl | None = None
    trustTiers: list[TrustTier] = Field(
        default_factory=list, description="Tiers its integrations may claim besides community."
    )


def base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"`{_clip(value)}` is not an http(s) URL")
    return value if value.endswith("/") else value + "/"


def _install_url(value: str) -> str:
    for placeholder in ("{publisher}", "{slug}"):
        if placeholder not in value:
            raise ValueError(f"the install URL template lacks {placeholder}")
    _https_url(value.replace("{publisher}", "p").replace("{slug}", "s"))
    return value


def _tag_pattern(value: str) -> str:
    placeholders = re.findall(r"\{[^}]*\}", value)
    if sorted(placeholders) != ["{publisher}", "{slug}", "{version}"]:
        raise ValueError(
            "a tag pattern holds {publisher}, {slug} and {version}, once each, "
            "and no other {placeholder}"
        )
    return value


class CatalogConfig(_Source):
    """`catalog.yaml` at the catalog root."""

    title: Text = Field("Integration catalog", description="Shown in the site's header.")
    baseUrl: Annotated[str, AfterValidator(base_url)] = Field(
        "http://localhost:8000/", description="Where the site is served, path prefix included."
    )
    installUrl: Annotated[str, AfterValidator(_install_url)] = Field(
        "https://app.example.com/install/{publisher}/{slug}",
        description="Install link template with {publisher} and {slug}.",
    )
    tagPattern: Annotated[str, AfterValidator(_tag_pattern)] = Field(
        DEFAULT_TAG_PATTERN,
        description="Git tag name of a published version: {publisher}, {slug} and {version}.",
    )


class Integration(BaseModel):
    """The record consumers read: exactly these 18 keys, in this order, always present."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        description="UUIDv5 of `publisher/slug` in the catalog's namespace.",
        json_schema_extra={"format": "uuid"},
    )
    workspaceId: str = Field(description="Source workspace the integration is published from.")
    slug: str = Field(description="Unique within the publisher; used in install URLs.")
    name: str
    description: str | None
    iconUrl: str | None = Field(json_schema_extra={"format": "uri"})
    publisher: str = Field(description="Publisher id, e.g. `aeontel` or `stripe`.")
    trustTier: TrustTier
    currentVersion: str | None = Field(
        description="SemVer of the latest published version; null for a draft."
    )
    manifest: dict[str, Any] = Field(
        description="Members, dependencies and defaults (the edited, not yet published state)."
    )
    variablesSchema: dict[str, Any] = Field(
        description="JSON Schema of the install-time variables (non-secret)."
    )
    authConfig: dict[str, Any] = Field(description="How the install wizard authenticates.")
    visibility: Visibility
    createdBy: str
    deletedAt: str | None = Field(json_schema_extra={"format": "date-time"})
    retentionTier: RetentionTier | None
    createdAt: str = Field(json_schema_extra={"format": "date-time"})
    updatedAt: str = Field(json_schema_extra={"format": "date-time"})


RECORD_FIELDS: tuple[str, ...] = tuple(Integration.model_fields)
