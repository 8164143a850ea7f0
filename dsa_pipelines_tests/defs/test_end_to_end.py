"""End to end through a real ``make dev`` (``python -m dsa_pipelines.dev``: dagster dev and
the reports server): launch ``ingest`` over GraphQL, find the dataset's commits by its name,
drop a file into the landing folder and watch the sensors ingest and archive it, check an
external commit's metadata, open a profile report over HTTP, then stop it with SIGTERM and
check that no process is left.

The server runs in its own process session with a temporary ``DAGSTER_HOME`` (the
repository's ``dagster.yaml``), store and landing folder; whatever the test's outcome the
fixture then kills what is left of the session (SIGTERM, then SIGKILL). No timing is
asserted: each wait fails only on a generous timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import dagster as dg
import pytest
from dagster_graphql import DagsterGraphQLClient

from dsa_pipelines.storage import Store

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 180
RUN_TIMEOUT = 240
STOP_TIMEOUT = 60
T = TypeVar("T")

pytestmark = pytest.mark.slow


@dataclass
class Server:
    """A running ``dagster dev`` and the folders it uses."""

    process: subprocess.Popen
    port: int
    reports_port: int
    home: Path
    store_root: Path
    landing: Path
    log: Path

    @property
    def client(self) -> DagsterGraphQLClient:
        return DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=60)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check: Callable[[], T | None], timeout: float, server: Server, every: float = 1.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"dagster dev exited ({server.process.returncode}) while waiting for {what}:\n"
                        f"{server.log_tail()}")
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; dagster dev log:\n{server.log_tail()}")


def _session_pids(sid: int) -> list[int]:
    """Live processes in the server's session (some may have left its process group).

    Zombies are left out: they have exited and only wait to be reaped by their parent.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # state ppid pgrp session ...
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry.name))
    return pids


def _describe(pids: list[int]) -> str:
    lines = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        lines.append(f"{pid}: {command[:200]}")
    return "\n".join(lines)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left of its session."""
    sid = process.pid
    _signal(lambda: os.killpg(sid, signal.SIGTERM))
    _waited(process)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _session_pids(sid) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in _session_pids(sid):
        _signal(lambda pid=pid: os.kill(pid, signal.SIGKILL))
    if not _waited(process):
        os.killpg(sid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def _signal(send) -> None:  # noqa: ANN001
    try:
        send()
    except ProcessLookupError:
        pass


def _waited(process: subprocess.Popen) -> bool:
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False
    return True


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    port, reports_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DSA_STORE_ROOT": str(tmp_path / "store"),
        "DSA_LANDING_DIR": str(tmp_path / "landing"),
        "DSA_EXPECTATIONS_DIR": str(tmp_path / "expectations"),
        "DSA_LANDING_INTERVAL_SECONDS": "2",
        "DSA_CATALOG_SENSOR_INTERVAL_SECONDS": "2",
        "DSA_REPORTS_PORT": str(reports_port),
    }
    env["DSA_CATALOG_URL"] = ""  # the code location's resource reads both through dg.EnvVar
    log = tmp_path / "dagster-dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "dsa_pipelines.dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    srv = Server(process, port, reports_port, home, tmp_path / "store", tmp_path / "landing", log)
    try:
        yield srv
    finally:
        _stop(process)
        left = _session_pids(process.pid)
        assert not left, f"dagster dev left processes behind:\n{_describe(left)}"


def _answers(server: Server) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/server_info", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _location_loaded(server: Server) -> bool:
    data = server.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                          "locationOrLoadError { __typename } } } } }")
    entries = data["workspaceOrError"]["locationEntries"]
    if any(e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"] == "PythonError" for e in entries):
        pytest.fail(f"the code location failed to load: {server.graphql(LOAD_ERROR)}")
    return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries)


LOAD_ERROR = ("{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError { "
              "... on PythonError { message stack } } } } } }")

MATERIALIZATIONS = """
query ($partition: String!) {
  assetOrError(assetKey: {path: ["commit"]}) {
    ... on Asset { assetMaterializations(partitions: [$partition]) {
      runId metadataEntries { label ... on TextMetadataEntry { text } ... on IntMetadataEntry { intValue } } } }
  }
}"""

RUNS_WITH_TAG = """
query ($key: String!, $value: String!) {
  runsOrError(filter: {pipelineName: "ingest", tags: [{key: $key, value: $value}]}) {
    ... on Runs { results { runId status } }
  }
}"""


def _run_finished(server: Server, run_id: str) -> dg.DagsterRunStatus | None:
    status = server.client.get_run_status(run_id)
    return status if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
                                dg.DagsterRunStatus.CANCELED) else None


def _head(server: Server, dataset: str) -> str | None:
    if not (server.store_root / "catalog.db").exists():
        return None
    with Store.open(server.store_root) as store:
        try:
            return store.resolve(dataset, "main")
        except Exception:  # noqa: BLE001 — the dataset may not exist yet
            return None


def test_ingest_over_graphql_then_through_the_landing_folder(server: Server, tmp_path: Path) -> None:
    _wait("the webserver to answer", lambda: _answers(server), STARTUP_TIMEOUT, server)
    _wait("the code location to load", lambda: _location_loaded(server), STARTUP_TIMEOUT, server)

    # 1. Launch the ingest job from a GraphQL client, as the launchpad would.
    upload = tmp_path / "customers.csv"
    upload.write_text("id,name\n1,alice\n2,bob\n")
    run_id = server.client.submit_job_execution(
        "ingest", run_config={"ops": {"stage_upload": {"config": {"dataset": "customers", "paths": [str(upload)]}}}})
    status = _wait("the ingest run", lambda: _run_finished(server, run_id), RUN_TIMEOUT, server)
    assert status == dg.DagsterRunStatus.SUCCESS, server.log_tail()
    first = _head(server, "customers")
    with Store.open(server.store_root) as store:
        assert store.read_table("customers", "main", "customers").total == 2
    # The launchpad run (submitted without tags) got the per-branch concurrency tag from its config.
    assert _has_tag(server, run_id, "dsa/branch", "customers/main")

    # 1b. The new dataset is an asset of its own, found by its name, its commits its partitions
    # (`make dev` reloads the code location when a dataset appears).
    keys = _wait("the asset datasets/customers with its commits", lambda: _dataset_partitions(server, "customers")
                 if f"v1-{first[:12]}" in _dataset_partitions(server, "customers") else None, RUN_TIMEOUT, server)
    with Store.open(server.store_root) as store:
        root = store.resolve("customers", "main~1")
    assert keys == [f"v0-{root[:12]}", f"v1-{first[:12]}"]  # the dataset's versions, in order

    # 2. Drop a corrected file into the landing folder: the sensors ingest and archive it.
    dropped = server.landing / "customers" / "customers.csv"
    dropped.parent.mkdir(parents=True)
    dropped.write_text("id,name\n1,alice\n2,bob\n3,carol\n")
    [run] = _wait("the landing sensor to launch a run", lambda: server.graphql(
        RUNS_WITH_TAG, {"key": "dsa/landing_file", "value": "customers/customers.csv"})["runsOrError"]["results"],
        RUN_TIMEOUT, server)
    status = _wait("the landing run", lambda: _run_finished(server, run["runId"]), RUN_TIMEOUT, server)
    assert status == dg.DagsterRunStatus.SUCCESS, server.log_tail()
    second = _head(server, "customers")
    assert second != first
    archived = _wait("the file to be archived",
                     lambda: [p for p in (server.landing / ".archive").rglob("*customers.csv")]
                     if (server.landing / ".archive").exists() else None, RUN_TIMEOUT, server)
    assert archived[0].read_text().endswith("3,carol\n") and not dropped.exists()
    with Store.open(server.store_root) as store:
        assert store.read_table("customers", "main", "customers").total == 3
        assert store.get_commit("customers", second).parents == (first,)

    # 3. The same content again ("no changes", no commit) and a broken file (quarantined).
    dropped.write_text(archived[0].read_text())
    (server.landing / "customers" / "broken.csv").write_text("id,name\n1,alice\n2\n")
    runs = _wait("two more landing runs to finish", lambda: _finished_landing_runs(server, 3), RUN_TIMEOUT, server)
    assert sorted(runs.values()) == ["FAILURE", "SUCCESS", "SUCCESS"], server.log_tail()
    assert _head(server, "customers") == second
    error = _wait("the broken file's error report", lambda: list((server.landing / ".quarantine").rglob(
        "*broken.csv.error.txt")) if (server.landing / ".quarantine").exists() else None, RUN_TIMEOUT, server)
    assert "customers/broken.csv, line 3" in error[0].read_text()

    # 4. Every commit is a partition; one made outside Dagster is recorded as a materialization
    # with its real metadata: a new table whose 2 rows are already stored (reused), published.
    with Store.open(server.store_root) as store:
        external = store.commit("customers", upload, table="notebook", author="ann", message="from a notebook")
    expected = {first[:12], second[:12], external.short_id}
    _wait("the commits partitions", lambda: _partitions(server) >= expected, RUN_TIMEOUT, server)
    [event] = _wait("the external commit's materialization", lambda: server.graphql(
        MATERIALIZATIONS, {"partition": external.short_id})["assetOrError"]["assetMaterializations"], RUN_TIMEOUT,
        server)
    entries = {e["label"]: e.get("text", e.get("intValue")) for e in event["metadataEntries"]}
    assert event["runId"] == "" and entries["author"] == "ann" and entries["status"] == "published"
    assert (entries["new_rows"], entries["reused_rows"], entries["version"]) == (0, 2, "v3")

    # 5. The branch heads get a profile; its report opens over HTTP from the reports server.
    url = _wait("a profile report link", lambda: _profile_url(server, external.short_id), RUN_TIMEOUT, server)
    assert url.startswith(f"http://127.0.0.1:{server.reports_port}/")
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200 and b"<html" in response.read(2000).lower()

    # 6. SIGTERM (what Ctrl-C or `kill` sends) stops everything: no process is left behind.
    os.kill(server.process.pid, signal.SIGTERM)
    assert _waited(server.process), f"the launcher did not exit:\n{server.log_tail()}"
    _wait_gone(server.process.pid)
    left = _session_pids(server.process.pid)
    assert not left, f"make dev left processes behind:\n{_describe(left)}"


RUN_TAGS = "query ($runId: ID!) { runOrError(runId: $runId) { ... on Run { tags { key value } } } }"

PROFILE = """
query ($partition: String!) {
  assetOrError(assetKey: {path: ["commit_profile"]}) {
    ... on Asset { assetMaterializations(partitions: [$partition]) {
      metadataEntries { label ... on UrlMetadataEntry { url } } } }
  }
}"""


def _has_tag(server: Server, run_id: str, key: str, value: str) -> bool:
    tags = server.graphql(RUN_TAGS, {"runId": run_id})["runOrError"]["tags"]
    return {"key": key, "value": value} in tags


def _dataset_partitions(server: Server, dataset: str) -> list[str]:
    data = server.graphql("query ($path: [String!]!) { assetNodes(assetKeys: [{path: $path}]) { partitionKeys } }",
                          {"path": ["datasets", dataset]})
    return data["assetNodes"][0]["partitionKeys"] if data["assetNodes"] else []


def _profile_url(server: Server, partition: str) -> str | None:
    events = server.graphql(PROFILE, {"partition": partition})["assetOrError"].get("assetMaterializations") or []
    urls = [e["url"] for ev in events for e in ev["metadataEntries"] if e["label"].startswith("report url")]
    return urls[0] if urls else None


def _wait_gone(sid: int) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT
    while _session_pids(sid) and time.monotonic() < deadline:
        time.sleep(0.5)


def _finished_landing_runs(server: Server, count: int) -> dict[str, str] | None:
    runs = server.graphql(RUNS_WITH_TAG, {"key": "dsa/dataset", "value": "customers"})["runsOrError"]["results"]
    done = {r["runId"]: r["status"] for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")}
    return done if len(done) >= count else None


def _partitions(server: Server) -> set[str]:
    data = server.graphql(
        "{ assetNodes(assetKeys: [{path: [\"commit\"]}]) { partitionKeys } }")
    return set(data["assetNodes"][0]["partitionKeys"]) if data["assetNodes"] else set()
