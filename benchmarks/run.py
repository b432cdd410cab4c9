"""Benchmark the `catalog` command on synthetic catalogs against check-jsonschema and Hugo.

For each size N it generates a catalog (benchmarks/generate.py), then times whole processes,
the median of --repeat runs each (3 by default): validate cold and warm, validate of one
directory, a cold build, a warm rebuild, and a rebuild after one integration changed; and the
references on the same files. It prints a Markdown report and writes it to docs/performance.md.

    python benchmarks/run.py                               # N = 1,000 and 10,000
    python benchmarks/run.py --sizes 1000                  # a quick check
    python benchmarks/run.py --sizes 1000 10000 --repeat 3 1   # fewer runs at 10,000
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import generate
import references
from measure import GitCounter, Runner, Sample, Step
from report import OUTPUT_FILES, SizeResult, load_average, machine, markdown, now

REPO = Path(__file__).resolve().parent.parent
CACHE_DIR = ".catalog-cache"


@dataclass(frozen=True)
class Config:
    workdir: Path
    sizes: list[int]
    versions: int
    repeat: list[int]  # runs per step, one value per size
    timeout: float
    seed: int
    output: Path | None
    report_only: bool
    catalog: Path
    check_jsonschema: Path | None
    hugo: Path | None


@dataclass
class Bench:
    """The benchmark of one catalog size."""

    config: Config
    runner: Runner
    base: Path
    result: SizeResult
    repeat: int

    @property
    def root(self) -> Path:
        return self.base / "catalog"

    def log(self, message: str) -> None:
        print(f"[N={self.result.integrations:,}] {message}", file=sys.stderr, flush=True)

    def catalog(self, *args: str) -> Sample:
        return self.runner.run([str(self.config.catalog), *args], self.root)

    def step(self, key: str, body: Callable[[Step], None]) -> None:
        """Run one step, record it and its total wall time, and say how it went."""
        step = Step(key)
        started = time.monotonic()
        body(step)
        step.elapsed = time.monotonic() - started
        self.result.steps[key] = step
        if step.samples:
            runs = ", ".join(f"{s.seconds:.2f}" for s in step.samples)
            failed = f", {len(step.failed)} failed" if step.failed else ""
            self.log(f"{key}: median {step.seconds:.2f} s ({runs}{failed})")
        else:
            self.log(f"{key}: skipped ({step.note})")


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# Large trees are not deleted while anything is measured: they go to the trash, emptied when
# the benchmark ends. On ext4 without a journal, a new file skips every inode freed in the
# last minute (several, if the inode table is not yet written back) in its block group, one
# lookup each: creating the 50,000 files and directories of a build just after deleting as
# many takes 5 to 30 s of system time, which would measure the file system, not the build.
# (docs/performance.md shows a build measured that way too.)
def trash_dir(config: Config) -> Path:
    return config.workdir / ".trash"


def discard(config: Config, path: Path) -> None:
    if path.exists() or path.is_symlink():
        trash = trash_dir(config)
        trash.mkdir(exist_ok=True)
        path.rename(Path(tempfile.mkdtemp(dir=trash)) / path.name)


def mtimes(tree: Path) -> dict[str, int]:
    """Modification times (ns) of every file below `tree`, by relative path."""
    found: dict[str, int] = {}
    for directory, _, files in os.walk(tree):
        for name in files:
            path = Path(directory) / name
            found[path.relative_to(tree).as_posix()] = path.stat().st_mtime_ns
    return found


def kept(before: dict[str, int], after: dict[str, int]) -> tuple[int, int]:
    """How many of the files after a rebuild still have their modification time, of how many."""
    return sum(1 for path, mtime in after.items() if before.get(path) == mtime), len(after)


# -- steps ---------------------------------------------------------------------------------------


def validate_cold(bench: Bench, step: Step) -> None:
    for _ in range(bench.repeat):
        remove(bench.root / CACHE_DIR)
        step.samples.append(bench.catalog("validate"))


def validate_warm(bench: Bench, step: Step) -> None:
    if not (bench.root / CACHE_DIR).exists():
        step.note = "no .catalog-cache after a validate: nothing is cached yet"
    for _ in range(bench.repeat):
        step.samples.append(bench.catalog("validate"))


def one_directory(bench: Bench) -> str:
    files = references.integration_files(bench.root)
    return files[len(files) // 2].rsplit("/", 1)[0]


def validate_one(bench: Bench, step: Step) -> None:
    directory = one_directory(bench)
    step.note = directory
    for _ in range(bench.repeat):
        step.samples.append(bench.catalog("validate", directory))


def validate_changed(bench: Bench, step: Step) -> None:
    edited = []
    for run in range(bench.repeat):
        edited.append(edit_and_commit(bench, run))
        step.samples.append(bench.catalog("validate"))
    step.note = "edited " + ", ".join(p.split("/", 1)[1].rsplit("/", 1)[0] for p in edited)


def out_dir(bench: Bench) -> Path:
    return bench.base / "out"


def build_cold(bench: Bench, step: Step) -> None:
    # Each run writes a directory that never existed, as on a fresh CI machine (see discard);
    # the last one is the output of the warm rebuilds.
    for run in range(bench.repeat, 0, -1):
        remove(bench.root / CACHE_DIR)
        out = out_dir(bench) if run == 1 else bench.base / f"out-cold-{run}"
        discard(bench.config, out)
        step.samples.append(bench.catalog("build", "--out", str(out)))
    files = mtimes(out_dir(bench))
    bench.result.output_files = len(files)
    for name in OUTPUT_FILES:
        path = out_dir(bench) / name
        bench.result.output_sizes[name] = path.stat().st_size if path.is_file() else None


def build_warm(bench: Bench, step: Step) -> None:
    for run in range(bench.repeat):
        before = mtimes(out_dir(bench))
        step.samples.append(bench.catalog("build", "--out", str(out_dir(bench))))
        if run == 0:
            bench.result.kept_mtime[step.name] = kept(before, mtimes(out_dir(bench)))


def edit_and_commit(bench: Bench, run: int) -> str:
    """Rename one integration (a different one each run) and commit the change."""
    files = references.integration_files(bench.root)
    rel = files[(run + 1) * len(files) // (bench.repeat + 2)]
    path = bench.root / rel
    first, rest = path.read_text().split("\n", 1)
    name = first.removesuffix('"')
    path.write_text(f'{name} (edit {run + 1})"\n{rest}')
    git = bench.runner.counter.real_git
    subprocess.run([git, "commit", "--quiet", "-m", f"Edit {rel}", rel], cwd=bench.root, check=True)
    return rel


def build_changed(bench: Bench, step: Step) -> None:
    edited = []
    for run in range(bench.repeat):
        edited.append(edit_and_commit(bench, run))
        before = mtimes(out_dir(bench))
        step.samples.append(bench.catalog("build", "--out", str(out_dir(bench))))
        if run == 0:
            bench.result.kept_mtime[step.name] = kept(before, mtimes(out_dir(bench)))
    step.note = "edited " + ", ".join(p.split("/", 1)[1].rsplit("/", 1)[0] for p in edited)


def check_jsonschema(bench: Bench, step: Step) -> None:
    tool = bench.config.check_jsonschema
    if tool is None:
        step.note = "check-jsonschema is not installed"
        return
    schema = bench.root / "schema" / "integration.schema.json"
    commands = references.check_jsonschema_commands(
        tool, schema, references.integration_files(bench.root)
    )
    if len(commands) > 1:
        step.note = f"{len(commands)} invocations (command line too long for one); total time"
    for _ in range(bench.repeat):
        parts = [bench.runner.run(command, bench.root) for command in commands]
        step.samples.append(
            Sample(
                sum(p.seconds for p in parts),
                max(p.peak_rss_mb for p in parts),
                0,
                max(p.exit_code for p in parts),
                any(p.timed_out for p in parts),
                sum(p.cpu_seconds for p in parts),
                max(p.tree_pss_mb for p in parts),
            )
        )


def hugo_site(bench: Bench) -> Path:
    return bench.base / "hugo"


def hugo_cold(bench: Bench, step: Step) -> None:
    if bench.config.hugo is None:
        step.note = "hugo is not installed (apt-get install hugo); the reference is skipped"
        return
    pages = references.write_hugo_site(bench.root, hugo_site(bench))
    step.note = f"{pages:,} pages (private integrations left out, as the build does)"
    for run in range(bench.repeat, 0, -1):  # into directories that never existed, as ours
        suffix = "" if run == 1 else f"-cold-{run}"
        for name in references.HUGO_OUTPUTS:
            discard(bench.config, hugo_site(bench) / (name + suffix))
        command = references.hugo_command(bench.config.hugo, hugo_site(bench), suffix)
        step.samples.append(bench.runner.run(command, hugo_site(bench)))


def hugo_warm(bench: Bench, step: Step) -> None:
    if bench.config.hugo is None or not (hugo_site(bench) / "public").is_dir():
        step.note = "no Hugo site"
        return
    for _ in range(bench.repeat):
        command = references.hugo_command(bench.config.hugo, hugo_site(bench))
        step.samples.append(bench.runner.run(command, hugo_site(bench)))


MEASUREMENTS: tuple[tuple[str, Callable[[Bench, Step], None]], ...] = (
    ("validate-cold", validate_cold),
    ("validate-warm", validate_warm),
    ("validate-one", validate_one),
    ("validate-changed", validate_changed),
    ("build-cold", build_cold),
    ("build-warm", build_warm),
    ("build-changed", build_changed),
    ("check-jsonschema", check_jsonschema),
    ("hugo-cold", hugo_cold),
    ("hugo-warm", hugo_warm),
)


# -- one size, all sizes -------------------------------------------------------------------------


def prepare(bench: Bench) -> None:
    discard(bench.config, bench.base)
    bench.base.mkdir(parents=True)
    bench.log("generating the catalog")
    started = time.monotonic()
    generate.generate(
        bench.root, bench.result.integrations, bench.config.versions, bench.config.seed
    )
    bench.result.generate_seconds = time.monotonic() - started
    bench.log(f"generated in {bench.result.generate_seconds:.1f} s")
    subprocess.run(
        [str(bench.config.catalog), "schema", "--out", str(bench.root / "schema")],
        cwd=bench.root,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def results_file(config: Config, size: int) -> Path:
    return config.workdir / f"results-n{size}.json"


def bench_size(config: Config, runner: Runner, size: int, repeat: int) -> SizeResult:
    """Measure one size and save the results beside its catalog."""
    result = SizeResult(size, config.versions, started=now(), load=[load_average()])
    bench = Bench(config, runner, config.workdir / f"n{size}", result, repeat)
    prepare(bench)
    for key, body in MEASUREMENTS:
        bench.step(key, functools.partial(body, bench))
    result.load.append(load_average())
    results_file(config, size).write_text(result.to_json())
    return result


def saved_result(config: Config, size: int) -> SizeResult:
    path = results_file(config, size)
    if not path.is_file():
        raise SystemExit(f"no saved results for N={size:,} ({path}); run that size first")
    return SizeResult.from_json(path.read_text())


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("GITHUB_ACTIONS", "SOURCE_DATE_EPOCH"):
        env.pop(name, None)
    return env


def _tool(name: str) -> Path | None:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["1000,10000"],
        help="numbers of integrations, e.g. --sizes 1000 10000 or --sizes 1000,10000",
    )
    parser.add_argument("--versions", type=int, default=5, help="release tags per integration")
    parser.add_argument(
        "--repeat",
        type=int,
        nargs="+",
        default=[3],
        help="runs per step, the median counts: one value, or one per size (e.g. 3 1)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "catalog-bench",
        help="where the catalogs, outputs and logs go (replaced per size)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "docs" / "performance.md",
        help="the Markdown report to write",
    )
    parser.add_argument("--no-write", action="store_true", help="only print the report")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: report the results saved in --workdir for these sizes "
        "(each size's results are saved when it finishes)",
    )
    args = parser.parse_args(argv)
    catalog = _tool("catalog")
    if catalog is None:
        parser.error("no `catalog` command: run `make bench`, or pip install -e . first")
    sizes = [int(part) for value in args.sizes for part in str(value).split(",") if part]
    if len(args.repeat) not in (1, len(sizes)) or min(args.repeat) < 1:
        parser.error("--repeat takes one positive number, or one per size")
    return Config(
        workdir=args.workdir.resolve(),
        sizes=sizes,
        versions=args.versions,
        repeat=args.repeat * len(sizes) if len(args.repeat) == 1 else args.repeat,
        timeout=args.timeout,
        seed=args.seed,
        output=None if args.no_write else args.output,
        report_only=args.report_only,
        catalog=catalog,
        check_jsonschema=_tool("check-jsonschema"),
        hugo=_tool("hugo"),
    )


def lock_workdir(workdir: Path) -> IO[str]:
    """Two benchmarks in one work directory would delete each other's catalogs."""
    handle = (workdir / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(
            f"another benchmark is running in {workdir}; wait for it or pass --workdir"
        ) from None
    return handle


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    config.workdir.mkdir(parents=True, exist_ok=True)
    lock = None if config.report_only else lock_workdir(config.workdir)
    counter = GitCounter(config.workdir)
    log = config.workdir / "commands.log"
    if not config.report_only:
        log.write_text("")
    runner = Runner(counter.env(base_env()), counter, log, config.timeout)
    tools = {
        "catalog": [str(config.catalog), "--version"],
        "git": [counter.real_git, "--version"],
        "check-jsonschema": [str(config.check_jsonschema or "check-jsonschema"), "--version"],
        "Hugo": [str(config.hugo or "hugo"), "version"],
    }
    machine_lines = machine(tools)
    results = [
        saved_result(config, size)
        if config.report_only
        else bench_size(config, runner, size, repeat)
        for size, repeat in zip(config.sizes, config.repeat, strict=True)
    ]
    command = "python benchmarks/run.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    text = markdown(results, machine_lines, command.strip())
    print(text)
    if config.output is not None:
        config.output.parent.mkdir(parents=True, exist_ok=True)
        config.output.write_text(text)
        print(f"wrote {config.output}", file=sys.stderr)
    if lock is not None:
        remove(trash_dir(config))  # nothing is measured any more
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
