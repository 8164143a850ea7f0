"""``make dev``: ``dagster dev`` plus the reports server, started and stopped together.

- the reports server (:mod:`dsa_pipelines.reports_server`) serves the store's reports
  folder on ``127.0.0.1:$DSA_REPORTS_PORT`` in this process;
- ``dagster dev`` (webserver, daemon, code servers, runs) runs in its own process group, so a
  Ctrl-C in the terminal reaches only this launcher, which then stops it in order;
- every few seconds the list of datasets is compared with the one the code location was
  loaded with; when a dataset appears (or goes), the workspace is reloaded over GraphQL so
  that the new dataset's asset ``datasets/<name>`` shows up with its partitions;
- Ctrl-C, SIGTERM, or the end of the parent process (``make``) stops everything: dagster
  dev is asked to shut down (SIGTERM, which it handles like Ctrl-C), and whatever is still
  alive in its process group after :data:`STOP_TIMEOUT` seconds is killed, so no process is left.

Usage: ``python -m dsa_pipelines.dev [--host 127.0.0.1] [--port 3000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from dsa_pipelines import settings
from dsa_pipelines.reports_server import serve
from dsa_pipelines.storage import DsaError, Store

REPO = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 30.0
WATCH_SECONDS = 3.0
RELOAD = '{"query": "mutation { reloadWorkspace { __typename } }"}'


class _Stop(Exception):
    """A signal asked the launcher to stop."""


def group_pids(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from ``/proc``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # state ppid pgrp session ...
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def _kill(pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_group(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """Stop a process started with ``process_group=0`` and everything in its process group."""
    pgid = process.pid
    _kill([process.pid], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (process.poll() is None or group_pids(pgid)):
        time.sleep(0.2)
    left = group_pids(pgid)
    if left:
        _kill(left, signal.SIGTERM)  # children whose parent did not stop them (e.g. code servers)
        time.sleep(2)
        _kill(group_pids(pgid), signal.SIGKILL)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill([process.pid], signal.SIGKILL)
        process.wait()


def _dataset_names(store: Store) -> frozenset[str] | None:
    try:
        return frozenset(d.name for d in store.list_datasets())
    except DsaError:
        return None


def reload_workspace(host: str, port: int) -> bool:
    """Ask the webserver to reload the code location; whether it answered."""
    request = urllib.request.Request(f"http://{host}:{port}/graphql", data=RELOAD.encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return "errors" not in json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    del frame
    raise _Stop(signal.Signals(signum).name)


def run(host: str, port: int) -> int:
    """Run dagster dev and the reports server until a signal or until dagster dev exits."""
    config = settings.current()
    parent = os.getppid()
    store = Store.open()
    reports_root = store.reports_root()
    try:
        server, thread = serve(reports_root)
    except OSError as e:
        store.close()
        print(f"dev: the reports server cannot listen on 127.0.0.1:{config.reports_port} ({e.strerror}); "
              "stop what uses that port or set DSA_REPORTS_PORT", file=sys.stderr)
        return 2
    print(f"reports: {config.reports_url} (serving {reports_root})", flush=True)
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    process = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "dev", "-h", host, "-p", str(port),
                                "-w", "workspace.yaml"], cwd=REPO, process_group=0)
    try:
        known = None
        while process.poll() is None:
            time.sleep(WATCH_SECONDS)
            if os.getppid() != parent:
                raise _Stop("parent exited")
            names = _dataset_names(store)
            if known is None:
                known = names
            elif names is not None and names != known and reload_workspace(host, port):
                print(f"datasets changed ({', '.join(sorted(names ^ known))}): code location reloaded", flush=True)
                known = names
        return process.returncode or 0
    except _Stop as stop:
        print(f"\nstopping ({stop})…", flush=True)
        return 0
    finally:
        for s in previous:
            signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        stop_group(process)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        store.close()
        print("stopped: dagster dev and the reports server", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m dsa_pipelines.dev", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    return run(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
