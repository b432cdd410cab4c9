"""Credentials never enter the catalog. A scan of file text for well-known credential formats,
of YAML values under secret-sounding keys, of `authConfig` for fields that hold credentials, and
of `variablesSchema` for variables that would collect secrets. A diagnostic shows only a masked
prefix of what it found, never the value."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

from .diagnostics import Diagnostic, Severity
from .yamlload import LoadedYaml, YamlPath, text_position

# High-confidence credential formats (the kinds of patterns gitleaks and GitHub's secret
# scanning use). Each is specific enough that a match is almost never a false alarm.
_CREDENTIALS: dict[str, str] = {
    "an AWS access key": r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b",
    "a GitHub token": r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
    "a GitLab token": r"\bglpat-[A-Za-z0-9_\-]{20,}",
    "a Slack token": r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    "a Slack webhook URL": r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/"
    r"[A-Za-z0-9]+",
    "a Stripe secret key": r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
    "a Google API key": r"\bAIza[0-9A-Za-z_\-]{35}",
    "a private key": r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    "a JSON Web Token": r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    # The scheme is bounded so that a long run of letters and dots cannot make the scan
    # quadratic.
    "a URL with a password": r"\b[a-zA-Z][a-zA-Z0-9+.-]{0,31}://[^\s/:@\"'<>]+:[^\s/@\"'<>]+@"
    r"[^\s/\"'<>]+",
}
_SCAN = re.compile("|".join(f"(?P<k{i}>{p})" for i, p in enumerate(_CREDENTIALS.values())))
_KINDS = list(_CREDENTIALS)
# Text that every credential above contains: most files hold none of it, and looking for it
# is far cheaper than running the patterns over every position of a file. Each of these
# starts with fixed text, which the regex engine skips to with a fast scan; one alternation of
# them all is tried at every one of its first letters, `e` and `g` among them, and takes
# twice as long.
_TRIGGERS = tuple(
    re.compile(pattern)
    for pattern in (
        r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA|Iza)",
        r"gh[pousr]_",
        r"github_pat_",
        r"glpat-",
        r"xox",
        r"hooks\.slack\.com",
        r"_(?:live|test)_",
        r"PRIVATE KEY",
        r"eyJ",
    )
)
_PLACEHOLDER = re.compile(r"[<{$\[]|\*{3,}|x{6,}|X{6,}|\.\.\.|example|changeme", re.IGNORECASE)

# Words that make a key name say "this holds a credential" (camelCase, snake_case and
# kebab-case names are split into words), unless the last word says it is about the credential
# rather than the credential itself (`tokenUrl`, `apiKeyHeader`).
_SECRET_WORDS = frozenset(
    {
        "secret",
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "token",
        "credential",
        "credentials",
        "apikey",
        "privatekey",
    }
)
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("auth", "key"),
        ("secret", "key"),
        ("signing", "key"),
    }
)
_ABOUT_WORDS = frozenset(
    {
        "url",
        "uri",
        "header",
        "name",
        "prefix",
        "type",
        "format",
        "field",
        "param",
        "location",
        "endpoint",
        "ttl",
        "expiry",
        "expires",
        "length",
        "lifetime",
        "scope",
        "scopes",
        "count",
        "id",
        "path",
        "minutes",
        "seconds",
        "hours",
        "days",
        "policy",
        "rotation",
        "hint",
        "label",
    }
)
# Letters only: digits separate words (`password2`, `tokenUrl2`, `oauth2Token`).
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# Fields that would put a credential into authConfig, which only describes how to authenticate.
AUTH_SECRET_FIELDS = frozenset(
    {
        "clientSecret",
        "client_secret",
        "apiKey",
        "api_key",
        "password",
        "token",
        "accessToken",
        "refreshToken",
        "privateKey",
        "secret",
        "secretKey",
        "bearerToken",
        "credentials",
    }
)


def mask(value: str) -> str:
    """A few leading characters and the length: enough to find it, never enough to use it."""
    shown = value[:4] if len(value) > 8 else value[:1]
    return f"`{shown}…` ({len(value)} characters)"


def scan_text(path: str, text: str) -> Iterator[Diagnostic]:
    """Credentials of well-known formats anywhere in a file's text."""
    if not any(trigger.search(text) for trigger in _TRIGGERS) and not (
        "://" in text and "@" in text
    ):
        return
    for match in _SCAN.finditer(text):
        found = match.group()
        if match.lastgroup == f"k{_KINDS.index('a URL with a password')}" and _PLACEHOLDER.search(
            found.split("://", 1)[1].split("@", 1)[0]
        ):
            continue
        kind = _KINDS[int((match.lastgroup or "k0")[1:])]
        at = text_position(text, match.start())
        yield Diagnostic(
            path,
            at.line,
            at.column,
            Severity.ERROR,
            "secret-detected",
            f"this looks like {kind}: {mask(found)}",
            "remove it and revoke it now: anything pushed to a pull request "
            "must be treated as leaked",
        )


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


_SECRET_LENGTH = 16  # no shorter value looks like a credential


def looks_secret(value: str) -> bool:
    """A long, random-looking string with no spaces and no placeholder marks."""
    return (
        len(value) >= _SECRET_LENGTH
        and " " not in value
        and not _PLACEHOLDER.search(value)
        and entropy(value) >= 3.5
    )


@lru_cache(maxsize=4096)  # the same few key names recur in every file
def is_secret_name(name: str) -> bool:
    words = [word.lower() for word in _WORD.findall(name)]
    if not words or words[-1] in _ABOUT_WORDS:
        return False
    return any(word in _SECRET_WORDS for word in words) or any(
        pair in _SECRET_PAIRS for pair in itertools.pairwise(words)
    )


def scan_values(path: str, doc: LoadedYaml) -> Iterator[Diagnostic]:
    """Random-looking values under secret-sounding keys, anywhere in a YAML document."""
    for where, key, value in _secret_looking(doc.value, ()):
        at = doc.position(where)
        yield Diagnostic(
            path,
            at.line,
            at.column,
            Severity.ERROR,
            "secret-value",
            f"`{key}` holds what looks like a credential: {mask(value)}",
            "remove it and revoke it; consumers supply their own credentials when they install",
        )


def _secret_looking(
    node: Any, path: YamlPath, found: list[tuple[YamlPath, str, str]] | None = None
) -> list[tuple[YamlPath, str, str]]:
    """(path, key, value) of each string under a secret-sounding key, in document order. A
    path is only made for collections and hits (the loader bounds the depth). (Recursion into
    one list: a generator for each level costs a third of the walk.)"""
    if found is None:
        found = []
    if isinstance(node, dict):
        for key, item in node.items():
            if isinstance(item, str):
                # (most values are too short to look secret: their key's name is not asked)
                if (
                    len(item) >= _SECRET_LENGTH
                    and isinstance(key, str)
                    and is_secret_name(key)
                    and looks_secret(item)
                ):
                    found.append(((*path, key), key, item))
            elif isinstance(item, (dict, list)):
                _secret_looking(item, (*path, key), found)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, (dict, list)):
                _secret_looking(item, (*path, index), found)
    return found


def auth_secret_fields(auth: Mapping[str, Any]) -> list[str]:
    return [name for name in auth if name in AUTH_SECRET_FIELDS]


def secret_variables(schema: Mapping[str, Any]) -> Iterator[tuple[YamlPath, str]]:
    """Properties of `variablesSchema` that would collect a secret, and why."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    for name, prop in properties.items():
        where: YamlPath = ("variablesSchema", "properties", name)
        if isinstance(prop, dict) and prop.get("writeOnly") is True:
            yield (*where, "writeOnly"), f"variable `{name}` is `writeOnly`, i.e. a secret"
        elif isinstance(prop, dict) and prop.get("format") == "password":
            yield (*where, "format"), f"variable `{name}` has `format: password`"
        elif is_secret_name(name):
            yield where, f"variable `{name}` is named like a secret"


# A quoted token that could be a credential: long, no path punctuation (field paths such as
# `authConfig.clientSecret` are ours), letters and digits mixed. Formatted credentials (URLs,
# JWTs, keys with prefixes) are found by the patterns above wherever they stand.
_QUOTED = re.compile(r"`([^`\s.\[\]/:()]{16,})`")


def redact(diagnostic: Diagnostic) -> Diagnostic:
    """The diagnostic with any credential it quotes masked, whichever rule wrote it: a value
    that fails another check (a secret pasted in the wrong field) is never printed either."""
    message = _QUOTED.sub(_mask_quoted, _SCAN.sub(lambda m: mask(m.group()), diagnostic.message))
    if message == diagnostic.message:
        return diagnostic
    return replace(diagnostic, message=message)


def _mask_quoted(match: re.Match[str]) -> str:
    value = match.group(1)
    mixed = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    return mask(value) if mixed and looks_secret(value) else match.group()
