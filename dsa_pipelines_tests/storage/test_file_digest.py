"""The file-content fast path: the same file bytes as the branch head is no change, without re-reading."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dsa_pipelines.storage import InvalidInput, KnownDigest, Store, file_digest
from dsa_pipelines_tests.storage.helpers import people


def _files(tmp_path: Path) -> tuple[Path, Path]:
    csv, parquet = tmp_path / "people.csv", tmp_path / "orders.parquet"
    people(30).to_csv(csv, index=False)
    people(40, seed=3).to_parquet(parquet, index=False)
    return csv, parquet


def _no_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the fast path must not open the file as a table")

    monkeypatch.setattr("dsa_pipelines.storage.readers.open_sources", fail)
    monkeypatch.setattr("dsa_pipelines.storage.ingest.ingest_table", fail)


def test_each_file_table_records_the_digest_of_its_bytes(store: Store, tmp_path: Path):
    csv, parquet = _files(tmp_path)
    store.create_dataset("f")
    store.commit("f", [csv, parquet])
    for name, path in (("people", csv), ("orders", parquet)):
        assert store.table_info("f", "main", name).stats[file_digest.DIGEST_KEY] == file_digest.file_digest(path)


def test_the_same_bytes_again_are_no_changes_without_reading_the_file(store: Store, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch):
    csv, parquet = _files(tmp_path)
    store.create_dataset("f")
    first = store.commit("f", {"p": csv, "o": parquet})
    _no_reading(monkeypatch)
    again = store.commit("f", {"p": csv, "o": parquet}, message="same files")
    assert again.status == "no_changes" and again.commit_id == first.commit_id
    assert again.tables["p"].rows == 30 and again.tables["p"].stored_rows == 0 and not again.tables["p"].changed


def test_a_changed_file_is_ingested_and_an_unchanged_neighbour_is_taken_from_the_head(store: Store, tmp_path: Path):
    csv, parquet = _files(tmp_path)
    store.create_dataset("f")
    store.commit("f", [csv, parquet])
    pd.concat([people(30), people(1, seed=9).assign(id=[99])]).to_csv(csv, index=False)
    res = store.commit("f", [csv, parquet])
    assert res.status == "committed"
    assert res.tables["people"].changed and res.tables["people"].stored_rows == 1
    assert not res.tables["orders"].changed and res.tables["orders"].stored_rows == 0
    assert store.read_table("f", "main", "people").total == 31
    assert store.table_info("f", "main", "people").stats[file_digest.DIGEST_KEY] == file_digest.file_digest(csv)


def test_same_bytes_under_another_table_name_or_onto_another_branch_state_are_ingested(store: Store, tmp_path: Path):
    csv, _ = _files(tmp_path)
    store.create_dataset("f")
    store.commit("f", csv)
    res = store.commit("f", csv, table="copy")
    assert res.status == "committed" and res.tables["copy"].reused_rows == 30
    store.commit("f", people(5), table="people")  # the head's table no longer came from that file
    back = store.commit("f", csv)
    assert back.status == "committed" and back.tables["people"].rows == 30


def test_two_files_of_one_table_name_are_still_rejected(store: Store, tmp_path: Path):
    csv, _ = _files(tmp_path)
    store.create_dataset("f")
    store.commit("f", csv)
    other = tmp_path / "sub" / "people.csv"
    other.parent.mkdir()
    other.write_bytes(csv.read_bytes())
    with pytest.raises(InvalidInput, match="people"):
        store.commit("f", [csv, other])


def test_a_callers_digest_spares_the_hash_while_the_file_stat_matches(store: Store, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch):
    csv, _ = _files(tmp_path)
    store.create_dataset("d")
    first = store.commit("d", csv)
    known = {str(csv): KnownDigest.of(csv, file_digest.file_digest(csv))}
    real = file_digest.file_digest

    def counted(path):  # noqa: ANN001, ANN202
        calls.append(Path(path))
        return real(path)

    calls: list[Path] = []
    monkeypatch.setattr(file_digest, "file_digest", counted)
    again = store.commit("d", csv, known_digests=known)
    assert again.status == "no_changes" and again.commit_id == first.commit_id and calls == []
    # the file changes after the caller hashed it: its stat no longer matches, so it is hashed again
    people(31).to_csv(csv, index=False)
    changed = store.commit("d", csv, known_digests=known)
    assert changed.status == "committed" and calls == [csv]
    assert store.read_table("d").table.num_rows == 31
