"""The landing sensors, evaluated tick by tick on a real temporary instance.

Runs the sensors request are executed for real (``ingest`` in process, real store), so
the outcome sensor sees real successes and failures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from dsa_pipelines.defs.ingest import ingest_job
from dsa_pipelines.defs.landing import (
    LANDING_DIR_ENV,
    TAG_CLAIM,
    TAG_FILE,
    landing_outcome_sensor,
    landing_sensor,
)
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.landing.folder import ARCHIVE, PROCESSING, QUARANTINE
from dsa_pipelines.storage import Store

CSV = "id,name\n1,alice\n2,bob\n"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    monkeypatch.setenv(LANDING_DIR_ENV, str(root))
    monkeypatch.setenv("DSA_EXPECTATIONS_DIR", str(tmp_path / "no-suites"))  # hermetic: no repo suites
    return root


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


class Ticker:
    """Evaluates a sensor tick after tick, carrying the cursor like the daemon does."""

    def __init__(self, sensor: dg.SensorDefinition, instance: dg.DagsterInstance) -> None:
        self.sensor, self.instance, self.cursor = sensor, instance, None

    def tick(self) -> dg.SensorResult:
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor, sensor_name=self.sensor.name)
        data = self.sensor.evaluate_tick(context)
        self.cursor = data.cursor if data.cursor is not None else self.cursor
        return data


def drop(root: Path, relative: str, text: str = CSV) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(request: dg.RunRequest, instance: dg.DagsterInstance, store_root: Path) -> dg.ExecuteInProcessResult:
    """Execute a requested ingest run as the daemon would (same config and tags)."""
    return ingest_job.execute_in_process(
        run_config=request.run_config, instance=instance, raise_on_error=False,
        tags={**request.tags, "dagster/run_key": request.run_key},
        resources={"store": StoreResource(root=str(store_root))})


def ingest_config(request: dg.RunRequest) -> dict:
    """The ``stage_upload`` config of a requested ingest run."""
    return request.run_config["ops"]["stage_upload"]["config"]


def only_file(folder: Path, pattern: str = "*") -> Path:
    [found] = [p for p in folder.rglob(pattern) if p.is_file()]
    return found


def test_stable_file_rule_and_cursor(landing: Path, instance: dg.DagsterInstance) -> None:
    ticker = Ticker(landing_sensor, instance)
    path = drop(landing, "customers/orders.csv")
    first = ticker.tick()
    assert first.run_requests == []
    assert first.skip_message == "1 file(s) still changing"
    assert list(json.loads(ticker.cursor)["files"]) == ["customers/orders.csv"]

    with path.open("a") as f:  # still being written
        f.write("3,carol\n")
    assert ticker.tick().run_requests == []

    third = ticker.tick()  # unchanged since the previous tick
    [request] = third.run_requests
    sha = hashlib.sha256((CSV + "3,carol\n").encode()).hexdigest()
    assert request.run_key == f"customers/main/orders.csv/{sha}"
    assert request.tags["dsa/branch"] == "customers/main" and request.tags[TAG_FILE] == "customers/orders.csv"
    config = ingest_config(request)
    assert (config["dataset"], config["branch"]) == ("customers", "main")
    [claimed] = config["paths"]
    assert Path(claimed).is_file()
    assert Path(claimed).relative_to(landing / PROCESSING).parts[1:] == ("customers", "orders.csv")
    # the sensor's hash travels with the run, so the upload is not read again only to hash it
    [digest] = config["file_digests"]
    stat = Path(claimed).stat()
    assert (digest["path"], digest["sha256"]) == (claimed, sha)
    assert (digest["size"], digest["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns)
    assert not path.exists()
    assert json.loads(ticker.cursor)["files"] == {}

    assert ticker.tick().run_requests == [request]  # no run exists yet: requested again, same run key


def test_branch_folder_and_sidecar_options(landing: Path, instance: dg.DagsterInstance) -> None:
    ticker = Ticker(landing_sensor, instance)
    drop(landing, "sales/@feature/q3/orders.xlsx", "not really a workbook")
    drop(landing, "sales/@feature/q3/orders.xlsx.json", '{"sheets": ["orders"], "message": "q3 orders"}')
    ticker.tick()
    [request] = ticker.tick().run_requests
    assert request.run_key.startswith("sales/feature/q3/orders.xlsx/")
    config = ingest_config(request)
    assert (config["branch"], config["sheets"], config["message"]) == ("feature/q3", ["orders"], "q3 orders")
    assert Path(config["paths"][0] + ".json").exists()
    assert list((landing / "sales/@feature/q3").iterdir()) == []


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("orders.csv", "has no dataset; put it in a dataset folder, e.g. customers/orders.csv"),
        ("customers/orders.docx", "unsupported file type '.docx'"),
        ("customers/old/orders.csv", "does not name a branch"),
    ],
)
def test_files_breaking_the_convention_are_quarantined(
    landing: Path, instance: dg.DagsterInstance, relative: str, message: str
) -> None:
    ticker = Ticker(landing_sensor, instance)
    drop(landing, relative)
    ticker.tick()
    result = ticker.tick()
    assert result.run_requests == []
    assert not (landing / relative).exists()
    error = only_file(landing / QUARANTINE, "*.error.txt")
    assert message in error.read_text()
    assert "Landing-folder convention" in error.read_text()
    assert "quarantined" in result.skip_message


def test_bad_sidecar_quarantines_both(landing: Path, instance: dg.DagsterInstance) -> None:
    ticker = Ticker(landing_sensor, instance)
    drop(landing, "c/a.csv")
    drop(landing, "c/a.csv.json", '{"sheet": "x"}')
    ticker.tick()
    assert ticker.tick().run_requests == []
    quarantined = sorted(p.name.split("-", 1)[1] for p in (landing / QUARANTINE / "c").iterdir())
    assert quarantined == ["a.csv", "a.csv.error.txt", "a.csv.json"]
    assert "unknown option(s) ['sheet']" in only_file(landing / QUARANTINE, "*.error.txt").read_text()


def test_hidden_and_temporary_files_are_left_alone(landing: Path, instance: dg.DagsterInstance) -> None:
    ticker = Ticker(landing_sensor, instance)
    for name in ("c/.a.csv", "c/~$a.xlsx", "c/a.csv.tmp", "c/a.csv.part"):
        drop(landing, name)
    ticker.tick()
    assert ticker.tick().skip_message == "no new stable files"
    assert sorted(p.name for p in (landing / "c").iterdir()) == [".a.csv", "a.csv.part", "a.csv.tmp", "~$a.xlsx"]


def test_success_is_archived_and_same_content_again_is_no_change(
    landing: Path, instance: dg.DagsterInstance, store_root: Path
) -> None:
    intake, outcome = Ticker(landing_sensor, instance), Ticker(landing_outcome_sensor, instance)
    drop(landing, "customers/orders.csv")
    intake.tick()
    [request] = intake.tick().run_requests
    assert outcome.tick().skip_message == "no finished landing runs"  # the run has not happened yet
    assert run(request, instance, store_root).success
    assert intake.tick().run_requests == []  # its run exists: not requested again
    assert "customers/orders.csv -> .archive/customers/" in outcome.tick().skip_message
    assert only_file(landing / ARCHIVE).read_text() == CSV
    assert not (landing / PROCESSING).exists() or not any((landing / PROCESSING).iterdir())
    with Store.open(store_root) as s:
        head = s.resolve("customers", "main")
        assert s.read_table("customers", "main", "orders").total == 2

    drop(landing, "customers/orders.csv")  # the very same content, dropped again
    intake.tick()
    [again] = intake.tick().run_requests
    assert again.run_key == f"{request.run_key}#2"
    result = run(again, instance, store_root)
    assert result.success
    assert instance.get_run_by_id(result.run_id).tags["dsa/status"] == "no_changes"
    with Store.open(store_root) as s:
        assert s.resolve("customers", "main") == head
    outcome.tick()
    assert len([p for p in (landing / ARCHIVE).rglob("*") if p.is_file()]) == 2


def test_failed_run_is_quarantined_with_the_error(
    landing: Path, instance: dg.DagsterInstance, store_root: Path
) -> None:
    intake, outcome = Ticker(landing_sensor, instance), Ticker(landing_outcome_sensor, instance)
    drop(landing, "customers/@nosuch/orders.csv")
    drop(landing, "customers/bad.parquet", "this is not parquet")
    intake.tick()
    requests = intake.tick().run_requests
    assert len(requests) == 2
    for request in requests:
        assert not run(request, instance, store_root).success
    outcome.tick()
    errors = {p.parent.name: p.read_text() for p in (landing / QUARANTINE).rglob("*.error.txt")}
    assert set(errors) == {"@nosuch", "customers"}
    assert "branch 'nosuch' does not exist" in errors["@nosuch"]
    assert "file:    customers/bad.parquet" in errors["customers"]
    assert "(FAILURE)" in errors["customers"]
    assert "bad.parquet" in errors["customers"] and PROCESSING not in errors["customers"]
    assert "Fix the file and drop it into customers/ again." in errors["customers"]
    assert not any((landing / PROCESSING).iterdir())


def _claimed_run_not_started(landing: Path, instance: dg.DagsterInstance) -> dg.DagsterRun:
    """Drop a file, let the sensor claim it, and create (but do not launch) its run."""
    intake = Ticker(landing_sensor, instance)
    drop(landing, "customers/orders.csv")
    intake.tick()
    [request] = intake.tick().run_requests
    return instance.create_run_for_job(ingest_job, run_config=request.run_config,
                                       tags={**request.tags, "dagster/run_key": request.run_key})


def test_canceled_run_is_quarantined(landing: Path, instance: dg.DagsterInstance) -> None:
    outcome = Ticker(landing_outcome_sensor, instance)
    created = _claimed_run_not_started(landing, instance)
    outcome.tick()
    assert not (landing / QUARANTINE).exists()  # not finished: left in processing
    instance.report_run_canceled(created)
    outcome.tick()
    assert "the run was canceled" in only_file(landing / QUARANTINE, "*.error.txt").read_text()
    assert instance.get_run_by_id(created.run_id).tags[TAG_CLAIM]


def test_run_that_failed_before_any_step_is_quarantined(landing: Path, instance: dg.DagsterInstance) -> None:
    outcome = Ticker(landing_outcome_sensor, instance)
    created = _claimed_run_not_started(landing, instance)
    instance.report_run_failed(created, "the run worker could not start: resource 'store' failed to initialize")
    outcome.tick()
    error = only_file(landing / QUARANTINE, "*.error.txt").read_text()
    assert "resource 'store' failed to initialize" in error and "(FAILURE)" in error
