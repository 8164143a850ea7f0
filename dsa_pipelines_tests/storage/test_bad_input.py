"""Bad input through the store: a clear error naming the problem, and nothing written."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from dsa_pipelines.storage import DsaError, InvalidFile, InvalidName, NotFound, Store
from dsa_pipelines.storage.catalog.schema import commits, packs
from dsa_pipelines_tests.storage.helpers import people


def _parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(people(100), preserve_index=False), sink)
    return sink.getvalue()


def _xlsx(path: Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as w:
        people(5).to_excel(w, sheet_name="only", index=False)


BAD_FILES = {
    "empty.csv": (b"", "empty"),
    "header_only.csv": (b"a,b,c\n", "no data rows"),
    "ragged.csv": (b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "line 3"),
    "dupe_cols.csv": (b"a,b,a\n1,2,3\n", "'a'"),
    "empty_col.csv": (b"a,,c\n1,2,3\n", "empty"),
    "latin1.csv": ("name\nJos\u00e9\n".encode("latin-1"), "byte offset"),
    "parquet_named.csv": (_parquet_bytes(), "Parquet"),
    "truncated.parquet": (_parquet_bytes()[:300], "truncated.parquet"),
    "random.parquet": (b"PAR1" + b"\x00garbage" * 50, "random.parquet"),
    "text.xlsx": (b"a,b\n1,2\n", "text.xlsx"),
    "corrupt.xlsx": (b"PK\x03\x04" + b"\x00" * 200, "corrupt.xlsx"),
    "encrypted.xlsx": (bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504, "password"),
}


def _snapshot(store: Store) -> tuple:
    with store.catalog.read() as c:
        n_commits = c.execute(sa.select(sa.func.count()).select_from(commits)).scalar()
        n_packs = c.execute(sa.select(sa.func.count()).select_from(packs)).scalar()
    objects = sorted(p.name for p in (store.root / "objects").rglob("*") if p.is_file())
    leftovers = sorted(p.name for p in (store.root / "tmp").iterdir())
    return store.resolve("ds", "main"), n_commits, n_packs, objects, leftovers


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_a_clear_error_and_writes_nothing(store: Store, tmp_path: Path, name: str):
    store.create_dataset("ds")
    store.commit("ds", people(3), table="keep")
    before = _snapshot(store)
    data, expected = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DsaError) as err:
        store.commit("ds", path, message="should fail")
    message = str(err.value)
    assert expected.lower() in message.lower(), message
    assert name in message, message
    assert _snapshot(store) == before


def test_bad_row_deep_in_a_large_csv_leaves_no_pack(store: Store, tmp_path: Path):
    store.create_dataset("ds")
    before = _snapshot(store)
    lines = ["id,value"] + [f"{i},{i * 2}" for i in range(300_000)]
    lines[250_000] = "250000,1,extra"
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidFile, match="line 250001"):
        store.commit("ds", path)
    assert _snapshot(store) == before


def test_missing_sheet_lists_available_ones(store: Store, tmp_path: Path):
    store.create_dataset("ds")
    path = tmp_path / "book.xlsx"
    _xlsx(path)
    with pytest.raises(DsaError, match="only"):
        store.commit("ds", path, sheets=["missing"])


def test_missing_path_and_bad_names(store: Store, tmp_path: Path):
    store.create_dataset("ds")
    with pytest.raises(DsaError, match="does not exist"):
        store.commit("ds", tmp_path / "nope.csv")
    ok = tmp_path / "ok.csv"
    ok.write_text("a\n1\n")
    for bad in ["..", "a..b", "-x", "x/", "x.lock", "has space", "a" * 201, "ctl\x07"]:
        with pytest.raises(InvalidName):
            store.commit("ds", ok, branch=bad)
        with pytest.raises(InvalidName):
            store.create_dataset(bad)
        with pytest.raises(InvalidName):
            store.create_tag("ds", bad)
    with pytest.raises(NotFound):
        store.read_table("ds", "no-such-revision")
