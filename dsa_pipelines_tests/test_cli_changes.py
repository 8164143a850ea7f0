"""``dsa diff / merge / edit / revert / cherry-pick`` on a real store in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dsa_pipelines.cli import main
from dsa_pipelines.storage import Store


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "store"))
    monkeypatch.delenv("DSA_CATALOG_URL", raising=False)
    with Store.open(tmp_path / "store") as store:
        store.create_dataset("c")
        frame = pd.DataFrame({"id": range(6), "amount": [1.0, 2, 3, 4, 5, 6], "note": list("abcdef")})
        store.commit("c", frame, table="t", message="v1")
        store.set_table_key("c", "t", ["id"])
        store.create_branch("c", "dev")
        store.commit("c", frame.assign(amount=[1.0, 2, 30, 4, 5, 6]), table="t", message="v2")
        store.commit("c", frame.assign(note=list("abcdeF")), table="t", branch="dev", message="dev")
    return tmp_path / "store"


def test_diff_text_stat_csv_html(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["diff", "c", "main~1", "main"]) == 0
    out = capsys.readouterr().out
    assert "table t [modified key (id)]: 0 added, 0 removed, 1 changed, 5 unchanged" in out
    assert "~ row 2: amount: 3.0 -> 30.0" in out and "\033[" not in out
    assert main(["diff", "c", "main~1", "--stat"]) == 0
    assert "1 changed" in capsys.readouterr().out.splitlines()[0]
    assert main(["diff", "c", "main~1", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == ['"@@","id","amount","note"', '"...","","",""',
                                                         '"->","2","3->30","c"']
    assert main(["diff", "c", "dev", "main", "--format", "html", "-o", str(tmp_path / "d.html")]) == 0
    assert "class=\"modify\"" in (tmp_path / "d.html").read_text()
    assert main(["diff", "c", "nope"]) == 2
    assert "RevisionNotFound" in capsys.readouterr().err


def test_merge_conflicts_resolutions_and_clean_merge(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["edit", "c", "dev", _json(tmp_path, {"update": [{"key": 2, "set": {"amount": 33}}]})]) == 0
    capsys.readouterr()
    conflicts = tmp_path / "conflicts.csv"
    assert main(["merge", "c", "dev", "main", "--conflicts", str(conflicts)]) == 1
    assert "cell: table t key 2 column amount" in capsys.readouterr().out
    table = pd.read_csv(conflicts, dtype=str)
    table["resolved"] = "31.5"
    table.to_csv(conflicts, index=False)
    assert main(["merge", "c", "dev", "main", "--resolutions", str(conflicts)]) == 0
    assert capsys.readouterr().out.startswith("merged ")
    with Store.open(root) as store:
        got = store.read_table("c", "main", "t").table.to_pandas()
    assert got.amount[2] == 31.5 and got.note[5] == "F"
    assert main(["merge", "c", "dev", "main", "--strategy", "amount"]) == 2


def test_edit_csv_revert_cherry_pick(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    changes = tmp_path / "changes.csv"
    changes.write_text("action,id,amount,note\nadd,9,9.5,new\nremove,0,,\nupdate,3,,D\n")
    assert main(["edit", "c", "main", str(changes), "-m", "by file"]) == 0
    capsys.readouterr()
    with Store.open(root) as store:
        rows = store.read_table("c", "main", "t").table.to_pylist()
        edit_id = store.resolve("c", "main")
        pick = store.resolve("c", "dev")
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5, 9] and rows[2]["note"] == "D" and rows[2]["amount"] == 4.0
    assert main(["revert", "c", "main", edit_id[:10]]) == 0
    assert main(["cherry-pick", "c", "main", pick[:10]]) == 0
    with Store.open(root) as store:
        assert store.read_table("c", "main", "t").table.column("note").to_pylist() == list("abcdeF")
    bad = tmp_path / "bad.csv"
    bad.write_text("action,id,amount\nupdate,3,lots\n")
    assert main(["edit", "c", "main", str(bad)]) == 2
    assert "'amount'" in capsys.readouterr().err


def _json(tmp_path: Path, doc: dict) -> str:
    path = tmp_path / "changes.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_no_traceback_on_a_closed_pipe(root: Path):
    with Store.open(root) as store:
        big = pd.DataFrame({"id": range(4000), "text": ["x" * 20] * 4000})
        store.create_dataset("big")
        store.commit("big", big, table="t")
        store.commit("big", big.assign(text="y" * 20), table="t")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(f"{sys.executable} -m dsa_pipelines.cli diff big main~1 main -n 4000 | head -c 10",
                          shell=True, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert "Traceback" not in proc.stderr and len(proc.stdout) == 10
