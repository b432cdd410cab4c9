"""`catalog serve`: build, serve the output on 127.0.0.1, and rebuild when a source changes.

The server is the standard library's, in a thread; changes are found by polling modification
times once a second, so nothing beyond the standard library is needed."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .build import BuildOptions, BuildResult, build
from .config import CATALOG_FILE, PUBLISHERS_FILE
from .site import template_dir
from .source import INTEGRATIONS_DIR
from .workers import Workers

HOST = "127.0.0.1"
POLL_SECONDS = 1.0


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves a built site under a path prefix, with its 404 page, and logs nothing."""

    prefix = "/"

    def __init__(self, *args: Any, directory: str, prefix: str = "/", **kwargs: Any) -> None:
        self.prefix = prefix
        super().__init__(*args, directory=directory, **kwargs)

    def translate_path(self, path: str) -> str:
        route = urlsplit(path).path
        if not route.startswith(self.prefix):
            return str(Path(str(self.directory)) / ".no-such-file")
        return super().translate_path("/" + route.removeprefix(self.prefix))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(str(self.directory)) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


def start_server(directory: Path, port: int, prefix: str = "/") -> ThreadingHTTPServer:
    """A server on 127.0.0.1 (port 0 picks a free one) answering in a daemon thread."""
    handler = functools.partial(SiteHandler, directory=str(directory), prefix=prefix)
    server = ThreadingHTTPServer((HOST, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="catalog-serve", daemon=True).start()
    return server


def watched_files(root: Path) -> Iterator[Path]:
    """The sources a build reads: the two settings files, integrations/ and the templates."""
    yield root / CATALOG_FILE
    yield root / PUBLISHERS_FILE
    for directory in (root / INTEGRATIONS_DIR, template_dir(root)):
        for parent, _, files in os.walk(directory):
            for name in files:
                yield Path(parent) / name


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Modification time and size of every watched file; a missing file is left out."""
    found: dict[str, tuple[int, int]] = {}
    for path in watched_files(root):
        try:
            stat = path.stat()
        except OSError:
            continue
        found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


@dataclass(frozen=True)
class ServeOptions:
    root: Path
    out: Path
    port: int = 8000
    include_private: bool = False
    allow_shallow: bool = False


Reporter = Callable[[BuildResult | Exception], None]


def serve(
    options: ServeOptions,
    report: Reporter,
    announce: Callable[[str], None],
    stop: threading.Event | None = None,
) -> None:
    """Build, serve, and rebuild on every change until `stop` is set (or Ctrl-C). A failed
    rebuild is reported and the previous build stays served."""
    # One set of workers for every build, forked before the server's threads start (no
    # thread may run when a process forks).
    with Workers() as workers:
        workers.pool()
        server = start_server(options.out, options.port)
        port = server.server_address[1]
        url = f"http://{HOST}:{port}/"
        build_options = BuildOptions(
            out=options.out,
            base_url=url,
            include_private=options.include_private,
            allow_shallow=options.allow_shallow,
        )
        stop = stop or threading.Event()
        try:
            seen = snapshot(options.root)
            _rebuild(options.root, build_options, report, workers)
            announce(url)
            while not stop.wait(POLL_SECONDS):
                current = snapshot(options.root)
                if current != seen:
                    seen = current
                    _rebuild(options.root, build_options, report, workers)
        finally:
            server.shutdown()
            server.server_close()


def _rebuild(root: Path, options: BuildOptions, report: Reporter, workers: Workers) -> None:
    try:
        result = build(root, options, workers=workers)
    except BrokenProcessPool as error:  # a worker died (killed for memory, say)
        # No others may be forked while the server's threads run: the next builds run in
        # this process.
        workers.close()
        workers.count = 1
        report(error)
        return
    except Exception as error:  # a broken template must not stop the server
        report(error)
        return
    report(result)
