"""The rules. Per-file checks look at one integration; cross-file checks at the catalog.
Every check yields diagnostics and never raises for bad input."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache, lru_cache
from typing import Any

import jsonschema_rs

from .config import PUBLISHERS_FILE, Settings
from .diagnostics import Diagnostic, Severity, did_you_mean
from .jsontext import sorted_compact
from .model import (
    DEFAULT_TRUST_TIER,
    DERIVED_FIELDS,
    TRUST_TIERS,
    IntegrationSource,
    is_valid_name,
)
from .ranges import parse_range
from .secrets import AUTH_SECRET_FIELDS, auth_secret_fields, scan_values, secret_variables
from .source import SourceDir
from .validation import describe, kind_of, validate_document
from .yamlload import LoadedYaml, YamlPath, iter_paths


class _Reporter:
    """Builds diagnostics for one file at the positions of its YAML paths; holds what the
    rules share about it."""

    def __init__(self, path: str, doc: LoadedYaml, schema_text: str | None) -> None:
        self.path = path
        self.doc = doc
        self.schema_text = schema_text  # `schema_text` of the file's variablesSchema

    def at(
        self,
        where: YamlPath,
        code: str,
        message: str,
        hint: str | None = None,
        *,
        of_key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        pos = self.doc.position(where, of_key=of_key)
        return Diagnostic(self.path, pos.line, pos.column, severity, code, message, hint)


def check_integration(
    source: SourceDir, doc: LoadedYaml, settings: Settings, schema_text: str | None = None
) -> tuple[IntegrationSource | None, list[Diagnostic]]:
    """Every rule for one `integration.yaml`. Rules look at the raw fields where they can, so
    one wrong field never hides the problems of another. `schema_text` is the file's
    `schema_text`, when the caller made it already."""
    if schema_text is None:
        schema_text = schema_text_of(doc.value)
    report = _Reporter(source.yaml_path, doc, schema_text)
    diagnostics = list(_derived_fields(doc, report))
    diagnostics.extend(scan_values(source.yaml_path, doc))
    fields = {k: v for k, v in doc.value.items() if k not in DERIVED_FIELDS}
    auth = fields.get("authConfig")
    if isinstance(auth, dict) and auth_secret_fields(auth):
        diagnostics.extend(_auth_secrets(auth, report))
        fields["authConfig"] = {k: v for k, v in auth.items() if k not in AUTH_SECRET_FIELDS}
    # the fields with the file's positions, which stay unread (and, from the fast path,
    # unbuilt) unless a diagnostic needs one
    spec, problems = validate_document(IntegrationSource, doc.with_value(fields), source.yaml_path)
    diagnostics.extend(problems)
    for rule in _RAW_RULES:
        diagnostics.extend(rule(fields, source, settings, report))
    return spec, diagnostics


# -- per-file rules ------------------------------------------------------------------------------


def _auth_secrets(auth: Mapping[str, Any], report: _Reporter) -> Iterator[Diagnostic]:
    for name in auth_secret_fields(auth):
        yield report.at(
            ("authConfig", name),
            "secret-field",
            f"`authConfig.{name}` would hold a credential",
            "authConfig says how consumers authenticate; each consumer supplies "
            "its own credentials at install time. Remove the field (and revoke "
            "the credential if it was real)",
            of_key=True,
        )


def _secret_variables(
    fields: Mapping[str, Any], source: SourceDir, settings: Settings, report: _Reporter
) -> Iterator[Diagnostic]:
    schema = fields.get("variablesSchema")
    if isinstance(schema, dict):
        for where, why in secret_variables(schema):
            yield report.at(
                where,
                "secret-variable",
                f"{why}; variables are not secret",
                "secrets belong to the consumer's auth state: describe them in "
                "`authConfig` (e.g. `type: api_key`), not in `variablesSchema`",
                of_key=True,
            )


def _derived_fields(doc: LoadedYaml, report: _Reporter) -> Iterator[Diagnostic]:
    for name, origin in DERIVED_FIELDS.items():
        if name in doc.value:
            yield report.at(
                (name,),
                "field-derived",
                f"`{name}` is derived by the build and may not be written",
                f"remove it: it comes from {origin}",
                of_key=True,
            )


def _manifest(
    fields: Mapping[str, Any], source: SourceDir, settings: Settings, report: _Reporter
) -> Iterator[Diagnostic]:
    manifest = fields.get("manifest")
    if not isinstance(manifest, dict):
        return
    members = manifest.get("members")
    if isinstance(members, list):
        yield from _unique_member_keys(members, report)
    dependencies = manifest.get("dependencies")
    if isinstance(dependencies, dict):
        yield from _dependency_syntax(dependencies, report)


def _unique_member_keys(members: list[Any], report: _Reporter) -> Iterator[Diagnostic]:
    seen: dict[str, int] = {}
    for index, member in enumerate(members):
        key = member.get("key") if isinstance(member, dict) else None
        if not isinstance(key, str):
            continue
        if key in seen:
            first = report.doc.position(("manifest", "members", seen[key], "key"))
            yield report.at(
                ("manifest", "members", index, "key"),
                "member-duplicate",
                f"member key `{key}` is used twice (first at line {first.line})",
                "member keys must be unique within an integration",
            )
        else:
            seen[key] = index


def _dependency_syntax(dependencies: dict[str, Any], report: _Reporter) -> Iterator[Diagnostic]:
    for target, spec in dependencies.items():
        where = ("manifest", "dependencies", target)
        publisher, _, slug = target.partition("/")
        if not all(is_valid_name(part) for part in (publisher, slug)):
            yield report.at(
                where,
                "dependency-invalid",
                f"dependency `{target}` is not `publisher/slug`",
                "name the integration as its directory: e.g. `acme/crm-core`",
                of_key=True,
            )
        if (
            isinstance(spec, str)
            and spec
            and parse_range(spec) is None  # "" is the model's
            and not report.doc.was_reported(where)
        ):  # e.g. an unquoted 1.10
            yield report.at(
                where,
                "dependency-invalid",
                f"`{spec}` is not a valid version range for `{target}`",
                "use an npm-style range such as ^1.2.0, ~1.4, >=1.2.0 <2.0.0, 1.x or `a || b`",
            )


def _path_matches(
    fields: Mapping[str, Any], source: SourceDir, settings: Settings, report: _Reporter
) -> Iterator[Diagnostic]:
    for name, expected in (("publisher", source.publisher), ("slug", source.slug)):
        written = fields.get(name)
        if isinstance(written, str) and written != expected:
            yield report.at(
                (name,),
                "path-mismatch",
                f"`{name}` is `{written}` but the directory says `{expected}`",
                f"the {name} comes from the path {source.rel_dir}/; remove the "
                "field or move the file",
            )


def _icon(
    fields: Mapping[str, Any], source: SourceDir, settings: Settings, report: _Reporter
) -> Iterator[Diagnostic]:
    if fields.get("iconUrl") is not None and source.icon is not None:
        yield report.at(
            ("iconUrl",),
            "icon-conflict",
            f"`iconUrl` is set and {source.icon} sits beside the file",
            f"keep one: remove `iconUrl` or delete {source.icon}",
        )


# JSON Schema work is done by jsonschema-rs: hundreds of times faster than a pure-Python
# validator on the meta-schema, linear-time or backtrack-limited regular expressions (a
# `pattern` from a pull request cannot hang the build), and `offline=True` so a remote `$ref`
# is never fetched.
_JSON_TYPES = "string, number, integer, boolean, object, array, null"
# The formats Draft 2020-12 defines (section 7.3 of the validation vocabulary).
KNOWN_FORMATS = frozenset(
    {
        "date-time",
        "date",
        "time",
        "duration",
        "email",
        "idn-email",
        "hostname",
        "idn-hostname",
        "ipv4",
        "ipv6",
        "uri",
        "uri-reference",
        "iri",
        "iri-reference",
        "uuid",
        "uri-template",
        "json-pointer",
        "relative-json-pointer",
        "regex",
    }
)


@cache
def _meta_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator(
        {"$ref": "https://json-schema.org/draft/2020-12/schema"},
        validate_formats=True,
        offline=True,
    )


def schema_text_of(document: Mapping[str, Any]) -> str | None:
    """A document's variablesSchema as `sorted_compact` JSON: what the schema rules' caches
    are keyed by, and the start of its canonical JSON. None when there is no such mapping."""
    schema = document.get("variablesSchema")
    if not isinstance(schema, dict):
        return None
    try:
        return sorted_compact(schema)
    except (TypeError, ValueError):  # not JSON (a loader bug); build it uncached
        return None


@lru_cache(maxsize=1024)
def _defaults_validator_of(text: str) -> jsonschema_rs.Validator | None:
    """A validator of defaults against the schema of this JSON text, or None when it cannot
    be built (a `$ref` that does not resolve inside the schema). Built once per distinct
    schema: a catalog's versions and integrations repeat the same few."""
    return _build_validator(_without_required(json.loads(text)))


def _without_required(schema: dict[str, Any]) -> dict[str, Any]:
    # Defaults are checked as one object against the schema without `required`; errors about
    # the object as a whole (minProperties and the like) are not about any one default.
    return {k: v for k, v in schema.items() if k != "required"}


@lru_cache(maxsize=1024)
def _meta_errors(text: str) -> tuple[jsonschema_rs.ValidationError, ...]:
    return _meta_errors_of(json.loads(text))


def _meta_errors_of(schema: dict[str, Any]) -> tuple[jsonschema_rs.ValidationError, ...]:
    """What the Draft 2020-12 meta-schema finds wrong, in document order."""
    errors = _meta_validator().iter_errors(schema)
    return tuple(sorted(errors, key=lambda e: list(e.instance_path)))


_Found = tuple[tuple[YamlPath, str], ...]


@lru_cache(maxsize=1024)
def _formats_and_refs(text: str) -> tuple[_Found, _Found]:
    return _walk_schema(json.loads(text))


def _walk_schema(schema: dict[str, Any]) -> tuple[_Found, _Found]:
    """The `format` keywords and the `$ref`/`$dynamicRef` strings of a schema, by path."""
    formats, refs = [], []
    for path, value in iter_paths(schema):
        if not path or not isinstance(value, str):
            continue
        if path[-1] == "format" and (len(path) < 2 or path[-2] not in ("properties", "$defs")):
            formats.append((path, value))
        elif path[-1] in ("$ref", "$dynamicRef"):
            refs.append((path, value))
    return tuple(formats), tuple(refs)


def _build_validator(schema: dict[str, Any]) -> jsonschema_rs.Validator | None:
    try:
        return jsonschema_rs.Draft202012Validator(
            schema,
            validate_formats=True,
            offline=True,
            pattern_options=jsonschema_rs.FancyRegexOptions(backtrack_limit=100_000),
        )
    except (jsonschema_rs.ValidationError, ValueError):
        return None


def _variables(
    fields: Mapping[str, Any], source: SourceDir, settings: Settings, report: _Reporter
) -> Iterator[Diagnostic]:
    schema = fields.get("variablesSchema")
    if not isinstance(schema, dict):
        return
    text = report.schema_text  # what the rules' caches are keyed by, made once per file
    problems = list(_schema_rules(schema, text, report))
    yield from problems
    manifest = fields.get("manifest")
    defaults = manifest.get("defaults") if isinstance(manifest, dict) else None
    if not problems and isinstance(defaults, dict):
        yield from _defaults(defaults, schema, text, report)


def _schema_rules(
    schema: dict[str, Any], text: str | None, report: _Reporter
) -> Iterator[Diagnostic]:
    base: YamlPath = ("variablesSchema",)
    errors = _meta_errors(text) if text is not None else _meta_errors_of(schema)
    for error in errors:
        where = (*base, *error.instance_path)
        yield report.at(
            where,
            "schema-invalid",
            f"`{describe(where)}` is not valid JSON Schema: {_clip(error.message)}",
            f"a type is one of: {_JSON_TYPES}"
            if where[-1] == "type"
            else "see https://json-schema.org/draft/2020-12/json-schema-validation",
        )
    if errors:
        return
    formats, refs = _formats_and_refs(text) if text is not None else _walk_schema(schema)
    for inner, value in formats:
        path = (*base, *inner)
        if value not in KNOWN_FORMATS and value != "password":
            # password is the secrets rule's to report
            yield report.at(
                path,
                "schema-unknown-format",
                f"format `{_clip(value, 40)}` is not a JSON Schema format, so "
                "values are not checked against it",
                did_you_mean(value, KNOWN_FORMATS) or "use a standard format, or a `pattern`",
                severity=Severity.WARNING,
            )
    remote = [((*base, *inner), ref) for inner, ref in refs if not ref.startswith("#")]
    for path, ref in remote:
        yield report.at(
            path,
            "schema-remote-ref",
            f"`{path[-1]}: {_clip(ref, 80)}` points outside the schema; it is never fetched",
            "put the definition under `$defs` and use `#/$defs/...`",
        )
    if remote:
        return
    if schema.get("type") != "object":
        where = (*base, "type") if "type" in schema else base
        yield report.at(
            where,
            "schema-root-type",
            "`variablesSchema` must have `type: object` at its root",
            "variables are named: declare them under `properties`",
        )
    properties = schema.get("properties", {})
    for index, name in enumerate(schema.get("required", [])):
        if name not in properties:
            yield report.at(
                (*base, "required", index),
                "schema-required-unknown",
                f"`required` names `{name}`, which `properties` does not define",
                did_you_mean(name, properties) or "add the property or remove the name",
            )


def _defaults(
    defaults: dict[str, Any], schema: dict[str, Any], text: str | None, report: _Reporter
) -> Iterator[Diagnostic]:
    properties = schema.get("properties", {})
    validator = (
        _defaults_validator_of(text)
        if text is not None
        else _build_validator(_without_required(schema))
    )
    known = {k: v for k, v in defaults.items() if k in properties}
    errors = {} if validator is None else _errors_by_property(validator, known)
    for name, value in defaults.items():
        where = ("manifest", "defaults", name)
        if report.doc.was_reported(where):
            continue  # the loader already said what is wrong with this value
        if name not in properties:
            yield report.at(
                where,
                "default-unknown",
                f"default for `{name}`, which `variablesSchema` does not declare",
                did_you_mean(name, properties)
                or "declare it under `variablesSchema.properties` or remove the default",
                of_key=True,
            )
            continue
        error = errors.get(name)
        if error is not None:
            yield report.at(
                (*where, *error.instance_path[1:]),
                "default-invalid",
                f"default for `{name}` ({kind_of(value)}) does not match its "
                f"schema: {_clip(error.message)}",
                "change the default or the property's schema",
            )


def _errors_by_property(
    validator: jsonschema_rs.Validator, values: dict[str, Any]
) -> dict[str, jsonschema_rs.ValidationError]:
    """The first error of each property's value, each value checked on its own (in one pass,
    an error such as a pattern's backtracking limit can be dropped once another failed)."""
    found: dict[str, jsonschema_rs.ValidationError] = {}
    for name, value in values.items():
        for error in validator.iter_errors({name: value}):
            path = error.instance_path
            if path and path[0] == name:
                found[name] = error
                break
    return found


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- rules that read publishers.yaml -----------------------------------------------------------


def _trust_tier(
    fields: Mapping[str, Any], source: SourceDir, settings: Settings, report: _Reporter
) -> Iterator[Diagnostic]:
    tier = fields.get("trustTier", DEFAULT_TRUST_TIER)
    if tier not in TRUST_TIERS or tier == DEFAULT_TRUST_TIER:
        return  # an unknown tier is the model's to report
    publisher = settings.publishers.get(source.publisher)
    if publisher is not None and tier in publisher.trustTiers:
        return
    granted = ", ".join([DEFAULT_TRUST_TIER, *(publisher.trustTiers if publisher else [])])
    why = (
        f"`{source.publisher}` is not in {PUBLISHERS_FILE}"
        if publisher is None
        else f"{PUBLISHERS_FILE} grants `{source.publisher}` only: {granted}"
    )
    yield report.at(
        ("trustTier",),
        "trust-tier-not-granted",
        f"trust tier `{tier}` is not granted to this publisher ({why})",
        f"claim one of: {granted}; maintainers grant tiers in {PUBLISHERS_FILE}",
    )


_RAW_RULES: tuple[
    Callable[[Mapping[str, Any], SourceDir, Settings, _Reporter], Iterator[Diagnostic]], ...
] = (
    _manifest,
    _path_matches,
    _icon,
    _variables,
    _secret_variables,
    _trust_tier,
)
