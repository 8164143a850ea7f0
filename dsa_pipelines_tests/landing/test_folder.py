"""The landing folder on disk: scanning, stability, claim, archive, quarantine."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from pathlib import PurePosixPath as P

from dsa_pipelines.landing.folder import (
    ARCHIVE,
    PROCESSING,
    QUARANTINE,
    claim,
    claims,
    file_sha256,
    quarantine,
    scan,
    settle,
    stable_files,
)


def drop(root: Path, relative: str, text: str = "id,name\n1,a\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_scan_skips_hidden_and_temporary(tmp_path: Path) -> None:
    drop(tmp_path, "c/orders.csv")
    drop(tmp_path, "c/.orders.csv")
    drop(tmp_path, "c/orders.csv.part")
    drop(tmp_path, ".processing/x/c/orders.csv")
    found = scan(tmp_path)
    assert list(found) == ["c/orders.csv"]
    st = (tmp_path / "c/orders.csv").stat()
    assert found["c/orders.csv"] == (st.st_size, st.st_mtime_ns)
    assert scan(tmp_path / "missing") == {}


def test_stable_means_unchanged_since_the_previous_scan(tmp_path: Path) -> None:
    path = drop(tmp_path, "c/a.csv")
    drop(tmp_path, "c/b.csv")
    first = scan(tmp_path)
    assert stable_files({}, first) == []
    with path.open("a") as f:
        f.write("2,b\n")
    second = scan(tmp_path)
    assert stable_files(first, second) == ["c/b.csv"]
    os.utime(tmp_path / "c/b.csv", ns=(1, 1))  # same size, new mtime: not stable
    assert stable_files(second, scan(tmp_path)) == ["c/a.csv"]


def test_file_sha256(tmp_path: Path) -> None:
    path = drop(tmp_path, "c/a.csv", "x" * 3_000_000)
    assert file_sha256(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_claim_moves_file_and_sidecar_and_settle_archives(tmp_path: Path) -> None:
    drop(tmp_path, "c/@f/x/a.xlsx", "data")
    drop(tmp_path, "c/@f/x/a.xlsx.json", "{}")
    c = claim(tmp_path, P("c/@f/x/a.xlsx"), {"run_key": "k1", "dataset": "c"})
    assert not (tmp_path / "c/@f/x/a.xlsx").exists() and not (tmp_path / "c/@f/x/a.xlsx.json").exists()
    assert c.path == tmp_path / PROCESSING / c.id / "c/@f/x/a.xlsx"
    assert c.path.read_text() == "data" and (c.path.parent / "a.xlsx.json").exists()
    assert [x.id for x in claims(tmp_path)] == [c.id]
    assert c.request["relative"] == "c/@f/x/a.xlsx"
    dest = settle(tmp_path, c, None)
    assert dest.parent == tmp_path / ARCHIVE / "c/@f/x" and dest.name.endswith("-a.xlsx")
    assert dest.read_text() == "data" and Path(f"{dest}.json").exists()
    assert list(claims(tmp_path)) == [] and not (tmp_path / PROCESSING / c.id).exists()


def test_settle_with_error_quarantines_with_error_txt(tmp_path: Path) -> None:
    drop(tmp_path, "c/a.csv")
    c = claim(tmp_path, P("c/a.csv"), {"run_key": "k2"})
    dest = settle(tmp_path, c, "line 3: bad")
    assert dest.parent == tmp_path / QUARANTINE / "c"
    assert Path(f"{dest}.error.txt").read_text() == "line 3: bad\n"


def test_quarantine_never_overwrites(tmp_path: Path) -> None:
    drop(tmp_path, "a.csv", "one")
    first = quarantine(tmp_path, P("a.csv"), "why")
    drop(tmp_path, "a.csv", "two")
    second = quarantine(tmp_path, P("a.csv"), "why again")
    assert first != second
    assert (first.read_text(), second.read_text()) == ("one", "two")
    assert Path(f"{second}.error.txt").read_text() == "why again\n"


def test_a_claim_without_its_file_is_not_listed(tmp_path: Path) -> None:
    drop(tmp_path, "c/a.csv")
    c = claim(tmp_path, P("c/a.csv"), {"run_key": "k3"})
    c.path.unlink()
    assert list(claims(tmp_path)) == []
