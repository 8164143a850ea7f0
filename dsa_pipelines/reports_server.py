"""The reports server: the store's reports folder (profiling reports, diff pages) over HTTP.

A browser will not open a ``file://`` link from a web page, so the Dagster UI links reports
through a URL: ``$DSA_REPORTS_URL/<path in the reports folder>``. ``make dev`` starts this
server next to ``dagster dev`` on ``127.0.0.1:$DSA_REPORTS_PORT`` (default 3070); a
deployment can instead point ``DSA_REPORTS_URL`` at its own web server or object store
serving the same folder.

The server only reads files under the reports folder (no listing, no upload, nothing
outside it) and binds to the loopback interface.

Usage: ``python -m dsa_pipelines.reports_server`` (or :func:`serve` in a thread).
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

from dsa_pipelines import settings
from dsa_pipelines.storage import Store

HOST = "127.0.0.1"


def report_url(reports_root: Path, path: str | Path, base_url: str | None = None) -> str:
    """The URL of a report file under the reports folder.

    Args:
        reports_root: The store's reports folder (``Store.reports_root()``).
        path: The report file.
        base_url: Where the folder is served (default ``$DSA_REPORTS_URL``).
    """
    relative = Path(path).resolve().relative_to(reports_root.resolve()).as_posix()
    return f"{(base_url or settings.current().reports_url).rstrip('/')}/{relative}"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files only: a folder is "not found" rather than listed."""

    def list_directory(self, path: str | Path) -> None:  # noqa: ARG002 — the base class's signature
        self.send_error(404, "Not found")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 — the base class's signature
        del format, args  # quiet: dagster dev's terminal is busy enough


def make_server(reports_root: Path, port: int | None = None) -> http.server.ThreadingHTTPServer:
    """A server for the reports folder on 127.0.0.1 (port 0: any free port); not started yet."""
    reports_root.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_Handler, directory=str(reports_root))
    server = http.server.ThreadingHTTPServer((HOST, settings.current().reports_port if port is None else port),
                                             handler)
    server.daemon_threads = True
    return server


def serve(reports_root: Path, port: int | None = None) -> tuple[http.server.ThreadingHTTPServer, threading.Thread]:
    """Start serving in a background thread; stop with ``server.shutdown(); server.server_close()``."""
    server = make_server(reports_root, port)
    thread = threading.Thread(target=server.serve_forever, name="dsa-reports-server", daemon=True)
    thread.start()
    return server, thread


def main() -> int:
    """Serve the configured store's reports folder until interrupted."""
    with Store.open() as store:
        root = store.reports_root()
    server = make_server(root)
    print(f"serving {root} on http://{HOST}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
