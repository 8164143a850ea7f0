"""The ``export`` job: a shaped export from the launchpad, linked from the run."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from dsa_pipelines.defs.export import ExportConfig, export_job
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import Store


def _run(store: Store, config: ExportConfig) -> dg.ExecuteInProcessResult:
    return export_job.execute_in_process(run_config=dg.RunConfig(ops={"export_table": config}),
                                         resources={"store": StoreResource(root=str(store.root))},
                                         raise_on_error=False)


def test_the_export_job_writes_the_shaped_file_and_links_it(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store") as store:
        store.commit("shop", {"orders": pd.DataFrame({"id": [1, 2, 3], "amount": [5.0, 50.0, 500.0]})},
                     create_dataset=True)
        out = tmp_path / "out" / "big.csv.gz"
        result = _run(store, ExportConfig(dataset="shop", path=str(out), columns=["id"], where="amount > 10"))
        assert result.success
        [output] = [e for e in result.all_events if e.is_successful_output]
        metadata = output.step_output_data.metadata
        assert metadata["file"].value == str(out) and metadata["bytes"].value == out.stat().st_size
        table = pacsv.read_csv(pa.CompressedInputStream(pa.OSFile(str(out)), "gzip"))
        assert table.column("id").to_pylist() == [2, 3] and table.column_names == ["id"]


def test_a_bad_filter_fails_the_run_with_the_store_message_and_writes_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store") as store:
        store.commit("shop", {"orders": pd.DataFrame({"id": [1, 2, 3]})}, create_dataset=True)
        out = tmp_path / "out" / "x.csv"
        result = _run(store, ExportConfig(dataset="shop", path=str(out), where="id IN (SELECT 1)"))
        assert not result.success
        [failure] = [e for e in result.all_events if e.is_step_failure]
        description = failure.step_failure_data.user_failure_data.description
        assert description.startswith("export refused: ") and "subquery" in description
        assert not out.exists()
