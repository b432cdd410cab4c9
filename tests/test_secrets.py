"""Credentials never enter the catalog: well-known credential formats in any YAML or Markdown
file under integrations/, random values under secret-named keys, credential fields in
`authConfig` and secret variables in `variablesSchema`. A diagnostic shows a masked prefix,
never the value.

The credentials below are made up, and assembled at run time so this file itself holds none.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalog_fixtures import (
    DAY,
    cli,
    codes,
    integration,
    isolate_git,
    isolated_git,  # noqa: F401 - autouse
    load,
    position,
    where,
    with_code,
    write,
    yaml_path,
)
from gitrepo_fixtures import GitCatalog
from integration_catalog.catalog import LoadResult
from integration_catalog.diagnostics import Severity
from integration_catalog.secrets import mask
from integration_catalog.source import Listing, discover, other_text_files
from integration_catalog.uptodate import read_inputs

WIDGET = "acme/widget"
README = "integrations/acme/widget/README.md"

# kind named in the message -> a made-up credential of that kind
CREDENTIALS = {
    "an AWS access key": "AKIA" + "Z7Q2W4E6R8T0Y1U3",
    "a GitHub token": "ghp_" + "8fK2mQ9xL4vN7pR1sT6wY3zB5cD0eG2hJ4kM",
    "a GitHub fine-grained token": "github_pat_" + "11ABCDEFG0123456789_abcdefghijKLMNOP",
    "a GitLab token": "glpat-" + "x9Qm2Lr7Tz4Kp1Vw8Ny3",
    "a Slack token": "xoxb-" + "2401963771-8837610284-Qz3Lm9Xr",
    "a Slack webhook URL": "https://hooks.slack.com/services/"
    + "T024BE7LD/B0A1B2C3D4E/z9Y8x7W6v5U4t3S2r1Q0p9O8",
    "a Stripe secret key": "sk_live_" + "51H9xQ2LkR7mZ4vT8nP3wB6y",
    "a Stripe test key": "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "a Stripe restricted key": "rk_live_" + "51H9xQ2LkR7mZ4vT8nP3wB6y",
    "a Google API key": "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "a private key": "-----BEGIN RSA PRIVATE KEY-----",
    "an OpenSSH private key": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "a JSON Web Token": "eyJhbGciOiJIUzI1NiJ9."
    + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
    + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "a URL with a password": "postgres://admin:" + "Hx7-q2Lw9zT@db.internal.acme.io:5432",
}
# What the message calls each kind (several share one description).
MESSAGE_KIND = {
    "a GitHub fine-grained token": "a GitHub token",
    "a Stripe test key": "a Stripe secret key",
    "a Stripe restricted key": "a Stripe secret key",
    "an OpenSSH private key": "a private key",
}


@pytest.fixture
def repo(tmp_path: Path) -> GitCatalog:
    return GitCatalog(tmp_path / "repo")


def _readme(secret: str) -> str:
    return f"# Widget\n\nConfigure it:\n\n    export KEY={secret}\n\nThat is all.\n"


@dataclass(frozen=True)
class Scanned:
    """One catalog holding every kind of credential, each in its own integration, loaded once."""

    result: LoadResult
    files: dict[str, dict[str, str]]  # kind -> path -> text


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    top = tmp_path_factory.mktemp("credentials")
    repo = GitCatalog(top / "repo")
    files: dict[str, dict[str, str]] = {}
    for index, (kind, secret) in enumerate(sorted(CREDENTIALS.items())):
        key = f"acme/kind-{index}"
        text = write(repo, key, integration(extra=f"description: 'Try {secret} today'\n"))
        readme = _readme(secret)
        repo.write(f"integrations/{key}/README.md", readme)
        files[kind] = {yaml_path(key): text, f"integrations/{key}/README.md": readme}
    repo.commit(DAY.format(1))
    with pytest.MonkeyPatch.context() as patch:
        isolate_git(top, patch)
        return Scanned(load(repo), files)


# -- well-known credential formats ------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_credential_formats_are_found_in_yaml_and_readme(scanned: Scanned, kind: str) -> None:
    secret = CREDENTIALS[kind]
    files = scanned.files[kind]

    found = [d for d in scanned.result.diagnostics if d.path in files]

    assert [where(d) for d in found] == sorted(
        (path, *position(text, secret)) for path, text in files.items()
    )
    for diagnostic in found:
        assert diagnostic.code == "secret-detected"
        assert diagnostic.severity is Severity.ERROR
        assert diagnostic.message == (
            f"this looks like {MESSAGE_KIND.get(kind, kind)}: {mask(secret)}"
        )
        assert secret not in diagnostic.message
        assert diagnostic.hint is not None and "revoke" in diagnostic.hint


def test_nothing_but_the_credentials_is_reported(scanned: Scanned) -> None:
    assert codes(scanned.result) == ["secret-detected"] * (2 * len(CREDENTIALS))


def test_the_mask_shows_a_prefix_and_the_length_only() -> None:
    secret = CREDENTIALS["a Stripe secret key"]
    assert mask(secret) == f"`sk_l…` ({len(secret)} characters)"
    assert mask("hunter2") == "`h…` (7 characters)"


def test_private_key_block_in_a_readme(repo: GitCatalog) -> None:
    body = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2Z" + "x9Qm2Lr7Tz4Kp1Vw8Ny3"
    readme = (
        "# Widget\n\nDo not do this:\n\n```\n-----BEGIN EC PRIVATE KEY-----\n"
        f"{body}\n-----END EC PRIVATE KEY-----\n```\n"
    )
    write(repo, WIDGET, integration())
    repo.write(README, readme)
    repo.commit(DAY.format(1))

    [found] = load(repo).diagnostics
    assert where(found) == (README, 6, 1)
    assert found.code == "secret-detected"
    assert body not in found.message


PLACEHOLDERS = [
    "https://user:<password>@db.example.com/app",
    "https://user:${DB_PASSWORD}@db.internal/app",
    "https://user:****@db.internal/app",
    "https://user:xxxxxxxx@db.internal/app",
    "postgres://user:changeme@localhost/app",
    "https://docs.acme.io/guide#auth",
    "Get a key like sk_live_... from the dashboard",
    "A JWT looks like eyJ....eyJ....sig",
]


def test_placeholders_and_plain_urls_are_not_credentials(repo: GitCatalog) -> None:
    write(repo, WIDGET, integration())
    repo.write(README, "# Widget\n\n" + "\n\n".join(PLACEHOLDERS) + "\n")
    repo.commit(DAY.format(1))

    assert load(repo).diagnostics == []


# -- secret-looking values under secret-named keys ---------------------------------------------


def test_random_value_under_a_secret_named_key(repo: GitCatalog) -> None:
    value = "q8Zr3Lm1Xw7Tp4Kv9Bn2Hy6"  # no known format: only the key name gives it away
    text = (
        integration()
        .replace("    interval: 15\n", f'    interval: 15\n    webhookSecret: "{value}"\n')
        .replace(
            "      type: integer\n",
            "      type: integer\n    webhookSecret:\n      type: string\n",
        )
    )
    write(repo, WIDGET, text)
    repo.commit(DAY.format(1))

    result = load(repo)

    [found] = with_code(result, "secret-value")
    assert where(found) == (yaml_path(WIDGET), *position(text, f'"{value}"'))
    assert found.message == f"`webhookSecret` holds what looks like a credential: {mask(value)}"
    assert value not in found.message
    # The variable itself is a secret variable; `signingKeyName` is about a key, not one.
    [variable] = with_code(result, "secret-variable")
    assert where(variable) == (yaml_path(WIDGET), *position(text, "webhookSecret:", 2))
    assert codes(result) == ["secret-value", "secret-variable"]


def test_harmless_values_under_secret_named_keys(repo: GitCatalog) -> None:
    harmless = {
        "webhookSecret": "short",  # too short
        "apiToken": "aaaaaaaaaaaaaaaaaaaaaaaa",  # not random
        "clientPassword": "<your webhook secret here>",  # a placeholder
        "signingKey": "${WEBHOOK_SECRET_FROM_ENV}",
        "privateKey": "xxxxxxxxxxxxxxxxxxxxxxxxxx",
        "tokenUrl": "https://q8Zr3Lm1Xw7Tp4Kv9Bn2Hy6.acme.io/token",  # about a token
    }
    defaults = "".join(f'    {name}: "{value}"\n' for name, value in harmless.items())
    write(
        repo, WIDGET, integration().replace("    interval: 15\n", "    interval: 15\n" + defaults)
    )
    repo.commit(DAY.format(1))

    assert "secret-value" not in codes(load(repo))


# -- authConfig and variablesSchema ------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["clientSecret", "apiKey", "password", "token", "accessToken", "privateKey", "bearerToken"],
)
def test_credential_fields_in_auth_config(repo: GitCatalog, field: str) -> None:
    text = integration().replace(
        "authConfig:\n  type: none\n",
        "authConfig:\n"
        "  type: api_key\n"
        '  authHeaderName: "Authorization"\n'
        f'  {field}: "fill me in"\n',
    )
    write(repo, WIDGET, text)
    repo.commit(DAY.format(1))

    result = load(repo)

    # Only secret-field: the credential field is not also an unknown field of api_key auth.
    [found] = result.diagnostics
    assert found.code == "secret-field"
    assert where(found) == (yaml_path(WIDGET), *position(text, f"{field}:"))
    assert found.message == f"`authConfig.{field}` would hold a credential"
    assert found.hint is not None and "each consumer supplies its own credentials" in found.hint


def test_oauth_urls_and_header_names_are_not_credentials(repo: GitCatalog) -> None:
    text = integration().replace(
        "authConfig:\n  type: none\n",
        "authConfig:\n"
        "  type: oauth2\n"
        "  scopes: [read]\n"
        '  authorizationUrl: "https://auth.acme.io/authorize"\n'
        '  tokenUrl: "https://auth.acme.io/token"\n',
    )
    write(repo, WIDGET, text)
    repo.commit(DAY.format(1))

    assert load(repo).diagnostics == []


def test_secret_variables(repo: GitCatalog) -> None:
    properties = """\
    interval:
      type: integer
    apiToken:
      type: string
    hidden:
      type: string
      writeOnly: true
    passphrase2:
      type: string
      description: "digits do not hide the word"
    dbLogin:
      type: string
      format: password
    client_secret:
      type: string
    private-key:
      type: string
    tokenUrl:
      type: string
    tokenUrl2:
      type: string
    apiKeyHeader:
      type: string
    passwordPolicy:
      type: string
    publicKey:
      type: string
    secretary:
      type: string
    visible:
      type: string
      writeOnly: false
"""
    text = integration().replace("    interval:\n      type: integer\n", properties)
    write(repo, WIDGET, text)
    repo.commit(DAY.format(1))

    result = load(repo)

    found = with_code(result, "secret-variable")
    assert [(d.line, d.column, d.message) for d in found] == [
        (
            *position(text, "apiToken:"),
            "variable `apiToken` is named like a secret; variables are not secret",
        ),
        (
            *position(text, "writeOnly: true"),
            "variable `hidden` is `writeOnly`, i.e. a secret; variables are not secret",
        ),
        (
            *position(text, "passphrase2:"),
            "variable `passphrase2` is named like a secret; variables are not secret",
        ),
        (
            *position(text, "format: password"),
            "variable `dbLogin` has `format: password`; variables are not secret",
        ),
        (
            *position(text, "client_secret:"),
            "variable `client_secret` is named like a secret; variables are not secret",
        ),
        (
            *position(text, "private-key:"),
            "variable `private-key` is named like a secret; variables are not secret",
        ),
    ]
    for diagnostic in found:
        assert diagnostic.path == yaml_path(WIDGET)
        assert diagnostic.severity is Severity.ERROR
        assert diagnostic.hint is not None
        assert "secrets belong to the consumer's auth state" in diagnostic.hint
    assert codes(result) == ["secret-variable"] * 6


# -- the secret never reaches any output -------------------------------------------------------


def _leaky_catalog(repo: GitCatalog) -> list[str]:
    """Secrets in every place the scan covers; returns them."""
    stripe = CREDENTIALS["a Stripe secret key"]
    github = CREDENTIALS["a GitHub token"]
    url = CREDENTIALS["a URL with a password"]
    value = "q8Zr3Lm1Xw7Tp4Kv9Bn2Hy6"
    text = integration(extra=f'description: "Token {github}"\n').replace(
        "authConfig:\n  type: none\n",
        "authConfig:\n"
        "  type: api_key\n"
        '  authHeaderName: "Authorization"\n'
        f'  clientSecret: "{value}"\n'
        f'  apiKey: "{stripe}"\n',
    )
    write(repo, WIDGET, text)
    repo.write(README, _readme(url) + f"\nOr use {github} and {stripe}.\n")
    repo.commit(DAY.format(1))
    return [stripe, github, url, value, url.split("//")[1].split("@")[0]]


@pytest.mark.parametrize("output_format", ["text", "json", "github"])
def test_no_output_format_prints_a_secret(repo: GitCatalog, output_format: str) -> None:
    secrets = _leaky_catalog(repo)

    run = cli(repo.root, "validate", "--format", output_format)

    assert run.exit_code == 1
    output = run.stdout + run.stderr
    for name in ("secret-detected", "secret-value", "secret-field"):
        assert name in output
    for secret in secrets:
        assert secret not in output
        assert secret[5:] not in output  # nor anything past the masked prefix
    assert "`sk_l…`" in output  # the masked prefix is what identifies it
    if output_format == "json":
        diagnostics = json.loads(run.stdout)["diagnostics"]
        assert sorted({d["code"] for d in diagnostics}) == [
            "secret-detected",
            "secret-field",
            "secret-value",
        ]
    build = cli(
        repo.root, "build", "--out", str(repo.root.parent / "site"), "--format", output_format
    )
    assert build.exit_code == 1
    for secret in secrets:
        assert secret not in build.stdout + build.stderr
    assert not (repo.root.parent / "site").exists()


@pytest.mark.parametrize("output_format", ["text", "json", "github"])
def test_other_rules_quoting_a_secret_print_it_masked(repo: GitCatalog, output_format: str) -> None:
    stripe = CREDENTIALS["a Stripe secret key"]
    random = "q8Zr3Lm1Xw7Tp4Kv9Bn2Hy6"  # no known format
    text = (
        integration(extra=f'iconUrl: "http://u:{stripe}@cdn.acme.io/i.png"\n')
        .replace("    interval: 15\n", f'    interval: "{stripe}"\n')
        .replace("visibility: public", f"visibility: {random}")
    )
    write(repo, WIDGET, text)
    repo.commit(DAY.format(1))

    run = cli(repo.root, "validate", "--format", output_format)

    assert run.exit_code == 1
    # The rules still report where the value is wrong, without printing it.
    for code in ("default-invalid", "field-invalid", "secret-detected"):
        assert code in run.stdout
    for secret in (stripe, random, stripe[5:], random[5:]):
        assert secret not in run.stdout + run.stderr


def test_every_yaml_and_markdown_file_under_integrations_is_scanned(repo: GitCatalog) -> None:
    write(repo, WIDGET, integration())
    aws = CREDENTIALS["an AWS access key"]
    stray = {
        "integrations/acme/widget/deploy.yaml": f"key: {aws}\n",
        "integrations/acme/notes.yml": f"# notes\nkey: {aws}\n",
        "integrations/acme/draft/README.md": f"# no integration.yaml here\n\n{aws}\n",
        "integrations/acme/widget/CHANGELOG.md": f"- rotated {aws}\n",
    }
    for path, text in stray.items():
        repo.write(path, text)
    repo.commit(DAY.format(1))

    found = with_code(load(repo), "secret-detected")

    assert [where(d) for d in found] == sorted(
        (path, *position(text, aws)) for path, text in stray.items()
    )


def _walked(root: Path, known: set[str]) -> list[str]:
    """What `other_text_files` lists, as `os.walk` finds it (links to directories unfollowed)."""
    found = []
    for directory, _, names in os.walk(root / "integrations"):
        for name in names:
            if name.lower().endswith(
                (".yaml", ".yml", ".md", ".markdown")
            ) or name.upper().startswith("README"):
                rel = (Path(directory) / name).relative_to(root).as_posix()
                if rel not in known:
                    found.append(rel)
    return sorted(found)


def test_other_files_are_those_a_walk_finds(tmp_path: Path) -> None:
    base = tmp_path / "integrations"
    for directory in (
        "acme/widget",
        "acme/.hidden/deep/er",
        "Bad Name/x.md",
        "acme/notes.md",
        "acme/empty",
        "acme/no-yaml",
        "beta/gadget/integration.yaml",  # a directory where the file should be
    ):
        (base / directory).mkdir(parents=True)
    files = {
        "acme/widget/integration.yaml": "known",
        "acme/widget/README.md": "",
        "acme/widget/Readme": "",
        "acme/widget/readme.txt": "",
        "acme/widget/icon.svg": "",
        "acme/widget/SPEC.YML": "",
        "acme/.hidden/deep/er/notes.markdown": "",
        "acme/.hidden/x.yaml.bak": "",
        "Bad Name/x.md/inner.yaml": "",
        "top.md": "",
        "stray.txt": "",
        "acme/no-yaml/README.md": "",
        "beta/gizmo/integration.yaml": "name: x\n",
        "beta/gizmo/notes.txt": "",
    }
    for rel, text in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "outside.md").write_text("")
    (base / "acme" / "linked.md").symlink_to(elsewhere)  # a directory: neither listed nor entered
    (base / "acme" / "README-link").symlink_to(elsewhere / "outside.md")  # a file: listed
    (base / "acme" / "broken.yaml").symlink_to(tmp_path / "nothing")  # listed, and refused later
    (base / "linked-publisher").symlink_to(base / "acme")
    (base / "beta" / "linked-slug").symlink_to(base / "beta" / "gizmo")
    (base / "beta" / "gizmo" / "icon.svg").symlink_to(base / "top.md")
    known = {"integrations/acme/widget/integration.yaml"}

    listed = other_text_files(tmp_path, known)
    listing: Listing = {}
    read_inputs(tmp_path, "test", listing=listing)  # (the walk a run makes first)

    assert listed == _walked(tmp_path, known)
    assert other_text_files(tmp_path, known, listing) == listed
    assert discover(tmp_path, listing) == discover(tmp_path)
    assert "integrations/acme/README-link" in listed
    assert "integrations/acme/broken.yaml" in listed
    assert "integrations/Bad Name/x.md/inner.yaml" in listed
    assert not any("outside" in path or path.endswith("linked.md") for path in listed)


def _without_root(task: Callable[[], Any]) -> Any:
    """What `task` returns in a process without root's right to look into any directory (the
    user nobody, when the tests run as root)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            rest = memoryview(pickle.dumps(task()))
            while rest:
                rest = rest[os.write(write, rest) :]
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        data = answer.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return pickle.loads(data)


def test_a_directory_that_cannot_be_searched_is_found_as_a_walk_finds_it() -> None:
    """A directory that can be read but not searched (a recursive `chmod 644`): its entries
    cannot be looked at one by one, so the digest's walk leaves it to a look of its own."""
    root = Path(tempfile.mkdtemp())
    try:
        root.chmod(0o755)
        for key in ("acme/widget", "acme/gadget"):
            directory = root / "integrations" / key
            directory.mkdir(parents=True)
            (directory / "integration.yaml").write_text("name: x\n")
            (directory / "README.md").write_text("# x\n")
        for directory in (root / "integrations", root / "integrations" / "acme"):
            directory.chmod(0o755)
        (root / "integrations" / "acme" / "widget").chmod(0o644)

        def both_ways() -> tuple[Any, ...]:
            listing: Listing = {}
            read_inputs(root, "test", listing=listing)
            known = {"integrations/acme/gadget/integration.yaml"}
            return (
                discover(root),
                discover(root, listing),
                other_text_files(root, known),
                other_text_files(root, known, listing),
            )

        walked, listed, walked_files, listed_files = _without_root(both_ways)
        assert [source.key for source in walked[0]] == ["acme/gadget", "acme/widget"]
        assert listed == walked
        assert "integrations/acme/widget/README.md" in walked_files
        assert listed_files == walked_files
    finally:
        (root / "integrations" / "acme" / "widget").chmod(0o755)
        shutil.rmtree(root)
