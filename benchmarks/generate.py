"""Generate a realistic synthetic catalog as a real git repository, for the benchmarks.

N integrations of about 60 lines each, ~N/20 publishers with the trust tiers publishers.yaml
grants them, and K release tags per integration. The history has K+1 commits, each of which
changes every integration's file a little, so each tag points at a different blob. The whole
history goes through one `git fast-import`; lightweight tags through one `git update-ref
--stdin`. The output is deterministic for a given seed.

    python benchmarks/generate.py --out /tmp/catalog --integrations 10000 --versions 5
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

BASE_TIME = 1_704_067_200  # 2024-01-01T00:00:00Z
REVISION_SECONDS = 30 * 86_400
AUTHOR = "Catalog Bench <bench@catalog.invalid>"
GIT = shutil.which("git") or "/usr/bin/git"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_PREFIXES = _words(
    "acme bright north blue data cloud swift iron silver green quantum pixel orbit summit "
    "harbor maple cedar nova vertex atlas"
)
_SUFFIXES = _words("labs works systems soft apps tech networks hq forge digital")
_TOPICS = _words(
    "crm billing invoice chat code issue sales help shop payroll expense calendar email "
    "sms warehouse analytics survey ticket lead order inventory contract audit backup "
    "incident deploy support marketing"
)
_ACTIONS = _words(
    "sync alerts export import bridge reports connector dashboard loader router monitor "
    "digest approvals webhooks archive"
)
_KINDS = ("workflow", "dataset", "dashboard", "connector")
_MEMBER_WORDS = _words(
    "intake router mapper digest queue ledger archive summary watcher scorer cleaner "
    "notifier matcher enricher scheduler"
)
_TIER_GRANTS: tuple[tuple[str, ...], ...] = (
    ("vendor_official",),
    ("verified_partner", "verified_publisher"),
    ("verified_publisher",),
    ("verified_publisher",),
    (),
    (),
    (),
    ("vendor_official",),
    ("verified_publisher",),
    (),
)


@dataclass(frozen=True)
class Publisher:
    id: str
    name: str
    tiers: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """Everything about one integration that stays the same in every revision."""

    publisher: Publisher
    slug: str
    name: str
    visibility: str
    trust_tier: str
    retention: str | None
    icon_url: str | None
    members: tuple[tuple[str, str, str, bool], ...]
    dependencies: tuple[tuple[str, str], ...]
    properties: tuple[str, ...]  # names from _PROPERTIES; "batchSize" changes per revision
    auth: str
    annotated: bool  # whether its release tags are annotated

    @property
    def key(self) -> str:
        return f"{self.publisher.id}/{self.slug}"

    @property
    def path(self) -> str:
        return f"integrations/{self.key}/integration.yaml"


def release_versions(count: int) -> list[str]:
    """1.0.0, 1.1.0, ... and, as the last one, a 2.0.0 release candidate (for K >= 2)."""
    if count <= 1:
        return ["1.0.0"][:count]
    return [f"1.{minor}.0" for minor in range(count - 1)] + ["2.0.0-rc.1"]


def dependency_ranges(versions: int) -> list[str]:
    """Ranges that every generated integration satisfies with its 1.x releases."""
    highest_minor = max(versions - 2, 0)
    ranges = ["^1.0.0", "1.x", ">=1.0.0 <2.0.0", "~1.0"]
    ranges += [f"^1.{minor}.0" for minor in range(1, highest_minor + 1)]
    ranges += [f"~1.{minor}" for minor in range(1, highest_minor + 1)]
    return ranges


def make_publishers(count: int) -> list[Publisher]:
    combos = [(p, s) for s in _SUFFIXES for p in _PREFIXES]
    publishers = []
    for index in range(count):
        prefix, suffix = combos[index % len(combos)]
        round_ = index // len(combos)
        ident = f"{prefix}-{suffix}" + (f"-{round_ + 1}" if round_ else "")
        name = f"{prefix.title()} {suffix.title()}" + (f" {round_ + 1}" if round_ else "")
        tiers = ("first_party",) if index == 0 else _TIER_GRANTS[index % len(_TIER_GRANTS)]
        publishers.append(Publisher(ident, name, tiers))
    return publishers


def make_specs(count: int, versions: int, seed: int) -> list[Spec]:
    rng = random.Random(seed)
    publishers = make_publishers(max(1, round(count / 20)))
    ranges = dependency_ranges(versions)
    public: list[str] = []
    specs: list[Spec] = []
    for index in range(count):
        spec = _make_spec(rng, index, publishers[index % len(publishers)], public, ranges)
        specs.append(spec)
        if spec.visibility == "public":
            public.append(spec.key)
    return specs


def _make_spec(
    rng: random.Random, index: int, publisher: Publisher, public: list[str], ranges: list[str]
) -> Spec:
    topic, action = rng.choice(_TOPICS), rng.choice(_ACTIONS)
    visibility = rng.choices(("public", "unlisted", "private"), (85, 10, 5))[0]
    tier = publisher.tiers[0] if publisher.tiers and rng.random() < 0.8 else "community"
    # Only integrations with a lower index, and only public ones: no cycles, no private leaks.
    targets = rng.sample(public, min(len(public), rng.choice((0, 1, 1, 2, 2, 3))))
    return Spec(
        publisher=publisher,
        slug=f"{topic}-{action}-{index}",
        name=f"{publisher.name} {topic.title()} {action.title()}",
        visibility=visibility,
        trust_tier=tier,
        retention=rng.choice((None, None, "short", "medium", "long")),
        icon_url=f"https://cdn.{publisher.id}.example/icons/{topic}.svg"
        if rng.random() < 0.3
        else None,
        members=_members(rng, topic),
        dependencies=tuple(sorted((t, rng.choice(ranges)) for t in targets)),
        properties=("batchSize", *rng.sample(sorted(_PROPERTIES.keys() - {"batchSize"}), 4)),
        auth=rng.choices(("oauth2", "api_key", "none"), (40, 35, 25))[0],
        annotated=index % 4 == 0,
    )


def _members(rng: random.Random, topic: str) -> tuple[tuple[str, str, str, bool], ...]:
    words = rng.sample(_MEMBER_WORDS, rng.randint(4, 6))
    return tuple(
        (
            f"{topic}-{word}",
            rng.choice(_KINDS),
            f"The {word} step of the {topic} integration: reads, checks and hands on records.",
            rng.random() < 0.3,
        )
        for word in words
    )


# Variable schemas by name, as YAML lines below the property's name; batchSize changes.
_PROPERTIES: dict[str, list[str]] = {
    "batchSize": [
        "type: integer",
        'description: "Records sent per request."',
        "minimum: 1",
        "maximum: 1000",
        "default: {batch}",
    ],
    "region": [
        "type: string",
        'description: "Where the data is processed."',
        "enum: [eu, us, apac]",
        "default: eu",
    ],
    "syncIntervalMinutes": [
        "type: integer",
        'description: "Minutes between two syncs."',
        "minimum: 5",
        "maximum: 1440",
        "default: 60",
    ],
    "includeArchived": [
        "type: boolean",
        'description: "Also import archived records."',
        "default: false",
    ],
    "language": [
        "type: string",
        'description: "Language of notifications."',
        "enum: [en, de, fr, es]",
        "default: en",
    ],
    "notifyChannel": [
        "type: string",
        'description: "Chat channel for notifications, e.g. #ops."',
        'pattern: "^#[a-z0-9-]+$"',
    ],
    "retryLimit": [
        "type: integer",
        'description: "Retries before a record is parked."',
        "minimum: 0",
        "maximum: 10",
        "default: 3",
    ],
    "dryRun": [
        "type: boolean",
        'description: "Only report what would change."',
        "default: false",
    ],
}
_DEFAULTS = {"batchSize": "{batch}", "region": "eu", "retryLimit": "3", "dryRun": "false"}


def render(spec: Spec, revision: int) -> str:
    """The integration's file in one revision of the history."""
    return "\n".join(_lines(spec, revision)) + "\n"


def _lines(spec: Spec, revision: int) -> Iterator[str]:
    topic = spec.slug.split("-")[0]
    yield f'name: "{spec.name}"'
    yield "description: >-"
    yield f"  Keeps {topic} records in step between {spec.publisher.name} and your workspace,"
    yield "  with retries, audit trails and a dashboard of what changed and when."
    yield f'workspaceId: "ws_{spec.publisher.id.replace("-", "_")}"'
    yield f"visibility: {spec.visibility}"
    yield f"trustTier: {spec.trust_tier}"
    if spec.retention:
        yield f"retentionTier: {spec.retention}"
    if spec.icon_url:
        yield f'iconUrl: "{spec.icon_url}"'
    yield from _manifest_lines(spec, revision)
    yield from _schema_lines(spec, revision)
    yield from _auth_lines(spec)


def _batch(revision: int) -> int:
    return 50 + 10 * revision


def _manifest_lines(spec: Spec, revision: int) -> Iterator[str]:
    yield "manifest:"
    yield "  members:"
    for key, kind, description, fork in spec.members:
        yield f"    - key: {key}"
        yield f"      kind: {kind}"
        yield f'      description: "{description}"'
        yield f"      forkOnInstall: {'true' if fork else 'false'}"
    if spec.dependencies:
        yield "  dependencies:"
        yield from (f'    {target}: "{range_}"' for target, range_ in spec.dependencies)
    yield "  defaults:"
    for name in spec.properties:
        if name in _DEFAULTS:
            yield f"    {name}: {_DEFAULTS[name].format(batch=_batch(revision))}"


def _schema_lines(spec: Spec, revision: int) -> Iterator[str]:
    yield "variablesSchema:"
    yield "  type: object"
    yield "  properties:"
    for name in spec.properties:
        yield f"    {name}:"
        yield from (f"      {line.format(batch=_batch(revision))}" for line in _PROPERTIES[name])
    if "notifyChannel" in spec.properties:
        yield "  required: [notifyChannel]"


def _auth_lines(spec: Spec) -> Iterator[str]:
    yield "authConfig:"
    yield f"  type: {spec.auth}"
    host = f"auth.{spec.publisher.id}.example"
    if spec.auth == "oauth2":
        topic = spec.slug.split("-")[0]
        yield "  scopes:"
        yield from (f"    - {topic}.{verb}" for verb in ("read", "write"))
        yield f'  authorizationUrl: "https://{host}/oauth/authorize"'
        yield f'  tokenUrl: "https://{host}/oauth/token"'
    elif spec.auth == "api_key":
        yield '  authHeaderName: "Authorization"'
        yield '  authValuePrefix: "Bearer "'


def catalog_yaml() -> str:
    return (
        'title: "Benchmark Marketplace"\n'
        'baseUrl: "http://localhost:8000/"\n'
        'installUrl: "https://app.bench.example/install/{publisher}/{slug}"\n'
        'tagPattern: "{publisher}/{slug}/v{version}"\n'
    )


def publishers_yaml(publishers: list[Publisher]) -> str:
    lines = ["# Publishers of the benchmark catalog and the trust tiers granted to them."]
    for publisher in publishers:
        lines += [
            f"{publisher.id}:",
            f'  name: "{publisher.name}"',
            f'  url: "https://{publisher.id}.example"',
            f"  trustTiers: [{', '.join(publisher.tiers)}]",
        ]
    return "\n".join(lines) + "\n"


GITIGNORE = "/.catalog-cache/\n/schema/\n"


# -- the git history ------------------------------------------------------------------------------


def _data(out: IO[bytes], text: str | bytes) -> None:
    raw = text.encode() if isinstance(text, str) else text
    out.write(b"data %d\n" % len(raw) + raw + b"\n")


def _commit(out: IO[bytes], revision: int, files: dict[str, str]) -> None:
    when = BASE_TIME + revision * REVISION_SECONDS
    out.write(b"commit refs/heads/main\nmark :%d\n" % (revision + 1))
    out.write(f"author {AUTHOR} {when} +0000\ncommitter {AUTHOR} {when} +0000\n".encode())
    _data(out, f"Revision {revision} of every integration\n")
    if revision > 0:
        out.write(b"from :%d\n" % revision)
    for path, text in files.items():
        out.write(f"M 100644 inline {path}\n".encode())
        _data(out, text)


def _annotated_tags(out: IO[bytes], specs: list[Spec], versions: list[str]) -> None:
    for revision, version in enumerate(versions):
        when = BASE_TIME + revision * REVISION_SECONDS + 3600
        for spec in specs:
            if spec.annotated:
                out.write(f"tag {spec.key}/v{version}\nfrom :{revision + 1}\n".encode())
                out.write(f"tagger {AUTHOR} {when} +0000\n".encode())
                _data(out, f"{spec.name} {version}\n")


def write_history(repo: Path, specs: list[Spec], publishers: list[Publisher], tags: int) -> None:
    """K+1 commits through one fast-import (annotated tags included), then the lightweight
    tags through one update-ref, into the bare repository `repo`."""
    versions = release_versions(tags)
    marks = repo / "bench-marks"
    process = subprocess.Popen(
        [GIT, "fast-import", "--quiet", "--done", f"--export-marks={marks}"],
        cwd=repo,
        stdin=subprocess.PIPE,
    )
    assert process.stdin is not None
    with process.stdin as out:
        top = {".gitignore": GITIGNORE, "catalog.yaml": catalog_yaml()}
        top["publishers.yaml"] = publishers_yaml(publishers)
        for revision in range(tags + 1):
            files = {spec.path: render(spec, revision) for spec in specs}
            _commit(out, revision, {**top, **files} if revision == 0 else files)
        _annotated_tags(out, specs, versions)
        out.write(b"done\n")
    if process.wait() != 0:
        raise SystemExit("git fast-import failed")
    commits = dict(line.split() for line in marks.read_text().splitlines())
    lines = [
        f"create refs/tags/{spec.key}/v{version} {commits[f':{revision + 1}']}\n"
        for revision, version in enumerate(versions)
        for spec in specs
        if not spec.annotated
    ]
    _git(repo, "update-ref", "--stdin", stdin="".join(lines))


def _scratch_dir() -> str | None:
    """Memory-backed scratch space where there is one: tens of thousands of loose refs are
    slow to write on some disks."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def clone_history(out: Path, specs: list[Spec], publishers: list[Publisher], tags: int) -> None:
    """Build the history in a scratch bare repository, then clone it to `out` without a
    checkout: a clone writes every ref into one packed-refs file, as a real clone has."""
    with tempfile.TemporaryDirectory(prefix="catalog-gen-", dir=_scratch_dir()) as scratch:
        staging = Path(scratch) / "staging.git"
        _git(Path(scratch), "init", "--quiet", "--bare", "--initial-branch=main", str(staging))
        write_history(staging, specs, publishers, tags)
        _git(
            Path(scratch),
            "clone",
            "--quiet",
            "--no-checkout",
            "--no-hardlinks",
            str(staging),
            str(out),
        )
    _git(out, "remote", "remove", "origin")


def write_work_tree(repo: Path, specs: list[Spec], revision: int) -> None:
    """Check out HEAD by writing its files, dated in the past so that git's index is not racy,
    then let git build a fresh index."""
    past = time.time() - 60
    for spec in specs:
        path = repo / spec.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(spec, revision))
        os.utime(path, (past, past))
    _git(repo, "reset", "--quiet")
    _git(repo, "update-index", "--refresh", "-q")


def _git(repo: Path, *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [GIT, "-c", "core.fsync=none", *args], cwd=repo, input=stdin, text=True, check=True
    )


def configure(repo: Path) -> None:
    for name, value in (
        ("user.name", "Catalog Bench"),
        ("user.email", "bench@catalog.invalid"),
        ("gc.auto", "0"),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
    ):
        _git(repo, "config", name, value)


def generate(out: Path, integrations: int, tags: int, seed: int) -> list[Spec]:
    """Create the catalog repository at `out` (which must not exist)."""
    specs = make_specs(integrations, tags, seed)
    publishers = sorted({spec.publisher for spec in specs}, key=lambda p: p.id)
    out.parent.mkdir(parents=True, exist_ok=True)
    clone_history(out, specs, publishers, tags)
    configure(out)
    for name, text in (
        (".gitignore", GITIGNORE),
        ("catalog.yaml", catalog_yaml()),
        ("publishers.yaml", publishers_yaml(publishers)),
    ):
        (out / name).write_text(text)
    write_work_tree(out, specs, tags)
    return specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to create")
    parser.add_argument("--integrations", "-n", type=int, default=1000)
    parser.add_argument("--versions", "-k", type=int, default=5, help="release tags each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = parser.parse_args(argv)
    if args.out.exists():
        if not args.force:
            parser.error(f"{args.out} exists; pass --force to replace it")
        shutil.rmtree(args.out)
    started = time.monotonic()
    generate(args.out, args.integrations, args.versions, args.seed)
    print(
        f"generated {args.integrations} integrations x {args.versions} versions in {args.out} "
        f"in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
