"""Problems in user input, as values.

Every check yields `Diagnostic`s; nothing in the pipeline raises for bad input. The codes are
registered once in `CODES` so the documentation and the tests can be checked against them.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place. `path` is POSIX-style and relative to the catalog root."""

    path: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str
    hint: str | None = None

    @classmethod
    def from_json(cls, value: dict[str, object]) -> Diagnostic:
        hint = value["hint"]
        return cls(
            str(value["path"]),
            int(str(value["line"])),
            int(str(value["column"])),
            Severity(str(value["severity"])),
            str(value["code"]),
            str(value["message"]),
            None if hint is None else str(hint),
        )

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": str(self.severity),
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


# Stable codes and what they mean. docs/diagnostics.md documents each one (a test keeps them in
# step); a code is never reused for a different meaning.
CODES: dict[str, str] = {
    # files as a whole
    "file-too-large": "The file is larger than the size limit.",
    "file-encoding": "The file is not valid UTF-8.",
    "file-control-character": "The file holds a control or bidirectional-override character.",
    "file-empty": "The file holds no YAML document.",
    "file-unreadable": "The file could not be read.",
    "file-symlink": "A catalog file is a symbolic link.",
    # YAML syntax and strictness
    "yaml-syntax": "The YAML parser rejected the file.",
    "yaml-tab-indent": "A tab is used for indentation.",
    "yaml-multiple-documents": "The file holds more than one YAML document.",
    "yaml-too-deep": "Mappings and lists are nested too deeply.",
    "yaml-anchor": "An anchor, alias or merge key is used.",
    "yaml-tag": "An explicit tag other than a plain JSON type is used.",
    "yaml-duplicate-key": "A key appears twice in one mapping.",
    "yaml-non-string-key": "A mapping key is not a string.",
    "yaml-ambiguous-value": "An unquoted value means different things in YAML 1.1 and 1.2.",
    "yaml-number-range": "A number JSON consumers cannot hold exactly (too large, infinite).",
    "yaml-root-not-mapping": "The document is not a mapping.",
    # fields
    "field-unknown": "A field that the format does not have.",
    "field-missing": "A required field is absent.",
    "field-type": "A field holds a value of the wrong type.",
    "field-invalid": "A field's value is not allowed.",
    "field-derived": "A field that is derived by the build is written in the source.",
    "path-mismatch": "`publisher` or `slug` in the file differs from the directory.",
    "path-invalid": "A publisher or slug directory name is not lowercase kebab-case.",
    "layout-unexpected": "A file or directory where the catalog layout has none.",
    "integration-exists": "`catalog new` was asked for an integration that already exists.",
    "icon-unsafe": "A local icon is not a plain image (scripts, links out, not PNG/SVG).",
    "icon-conflict": "Both `iconUrl` and a local icon file are given.",
    # manifest and schemas
    "member-duplicate": "Two manifest members share a key.",
    "dependency-invalid": "A dependency key or range is not valid.",
    "schema-invalid": "`variablesSchema` is not a valid JSON Schema (Draft 2020-12).",
    "schema-remote-ref": "`variablesSchema` has a `$ref` outside itself (never fetched).",
    "schema-unknown-format": "A `format` in `variablesSchema` is not a standard one.",
    "schema-root-type": "`variablesSchema` does not have `type: object` at its root.",
    "schema-required-unknown": "`required` names a property that `properties` does not define.",
    "default-unknown": "A `manifest.defaults` key is not a property of `variablesSchema`.",
    "default-invalid": "A `manifest.defaults` value does not validate against its property.",
    # cross-file
    "trust-tier-not-granted": "The claimed trust tier is not granted by `publishers.yaml`.",
    "catalog-config": "`publishers.yaml` is missing: every publisher is community-only.",
    # secrets
    "secret-detected": "A credential of a well-known format appears in a file.",
    "secret-value": "A secret-named key holds a random-looking value.",
    "secret-field": "`authConfig` has a field that would hold a credential.",
    "secret-variable": "A `variablesSchema` property would collect a secret.",
    # policy over the whole catalog
    "dependency-unknown": "A dependency names an integration that is not in the catalog.",
    "dependency-unsatisfied": "No published version of a dependency satisfies its range.",
    "dependency-private": "A public or unlisted integration depends on a private one.",
    "dependency-deleted": "A dependency was deleted.",
    "dependency-cycle": "Dependencies form a cycle.",
    "snapshot-dependency": "A published version's dependency no longer resolves.",
    "name-imitation": "A name looks like a more trusted publisher's integration.",
    "yank-unknown": "`yanked` names a version that was never published.",
    # immutable published versions (build --previous)
    "published-version-changed": "A published version's content changed (its tag moved).",
    "published-version-removed": "A published version disappeared (its tag was deleted).",
    "published-integration-removed": "A published integration vanished without a tombstone.",
    "previous-not-found": "Nothing is published at --previous yet.",
    # git history and tags
    "git-no-repository": "The catalog is not in a git repository; everything is a draft.",
    "git-dirty": "The work tree has uncommitted changes.",
    "tag-invalid-version": "A tag matches the tag pattern but its version is not SemVer 2.0.",
    "tag-build-metadata": "Two tags publish the same version, differing only in build metadata.",
    "tag-case-collision": "Two tags differ only in letter case.",
    "tag-missing-file": "A tag's commit has no `integration.yaml` for that integration.",
    "snapshot-invalid": "A published version no longer passes today's checks.",
    "tombstone-unreadable": "A deleted integration's published versions can no longer be read.",
}


_HINT_CHOICES = 256  # beyond this, comparing with every choice costs more than a hint is worth


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint for a near miss, e.g. `trust_tier` for `trustTier`."""
    by_folded = {_fold(choice): choice for choice in itertools.islice(choices, _HINT_CHOICES + 1)}
    if len(by_folded) > _HINT_CHOICES or len(word) > 128:
        return None
    matches = difflib.get_close_matches(_fold(word), list(by_folded), n=1, cutoff=0.75)
    return f"did you mean `{by_folded[matches[0]]}`?" if matches else None


def _fold(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def count(diagnostics: Iterable[Diagnostic], severity: Severity) -> int:
    return sum(1 for diagnostic in diagnostics if diagnostic.severity is severity)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """Whether any is an error: what fails a run."""
    return any(diagnostic.severity is Severity.ERROR for diagnostic in diagnostics)
