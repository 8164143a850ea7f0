"""Permissions inside the store: the matrix of every operation × every level, grants, users.

The matrix is generated from ``access.OPERATIONS``: a recipe per operation below, and a
test that the recipes, the table and the wrapped public methods of ``Store`` are the
same set — so an operation cannot be added without a level (nor without being tested).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from dsa_pipelines.storage import Store
from dsa_pipelines.storage.access import DATASET, FILTERED, OPERATIONS, RESULT, STORE, Level
from dsa_pipelines.storage.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidName,
    NotFound,
    PermissionDenied,
    UserNotFound,
)

# user -> (level on dataset "d", store admin)
USERS = {"owner": (Level.ADMIN, True), "dsadmin": (Level.ADMIN, False), "writer": (Level.WRITE, False),
         "reader": (Level.READ, False), "nobody": (0, False)}
_counter = itertools.count()
PARENT = {"update_dataset_policy": "update_dataset"}  # checked inside the method named here


def as_user(store: Store, name: str) -> Store:
    """Another Store over the same catalog (works for in-memory SQLite too), acting as ``name``."""
    return Store(store.root, store.catalog, user=name)


@pytest.fixture
def world(store: Store, tmp_path: Path) -> dict[str, Store]:
    """Dataset ``d`` (one table ``t``) owned by the store's first user, and one user per level."""
    owner = as_user(store, "owner")
    store.set_role("owner", "admin")  # the store's first user (the OS login) is an admin
    owner.create_dataset("d")
    owner.commit("d", {"t": pd.DataFrame({"v": [1, 2, 3]})}, message="first")
    for name in ("dsadmin", "writer", "reader", "nobody", "extra", "extra2"):
        owner.create_user(name)
    owner.grant("d", "dsadmin", "admin")
    owner.grant("d", "writer", "write")
    owner.grant("d", "reader", "read")
    worlds = {name: as_user(store, name) for name in USERS}
    worlds["tmp"] = tmp_path  # type: ignore[assignment]
    return worlds


def _fresh_branch(owner: Store, prefix: str) -> str:
    name = f"{prefix}-{next(_counter)}"  # never only hex digits (those read as commit ids)
    owner.create_branch("d", name)
    return name


def _fresh_dataset(owner: Store, *, deleted: bool = False) -> str:
    """A new dataset where every user has the level they have on "d"."""
    name = f"ds{next(_counter)}"
    owner.create_dataset(name)
    for user in ("dsadmin", "writer", "reader"):
        owner.grant(name, user, {"dsadmin": "admin", "writer": "write", "reader": "read"}[user])
    if deleted:
        owner.delete_dataset(name, actor="owner", reason="test")
    return name


def _branch_with_commit(owner: Store, prefix: str) -> tuple[str, str]:
    branch = _fresh_branch(owner, prefix)
    return branch, owner.commit("d", {"t": pd.DataFrame({"v": [next(_counter)]})}, branch=branch).commit_id


def _staged(owner: Store) -> tuple[str, str]:
    branch = _fresh_branch(owner, "p")
    result = owner.commit("d", {"t": pd.DataFrame({"v": [next(_counter)]})}, branch=branch, publish=False)
    return branch, result.commit_id


RECIPES = {
    "create_dataset": lambda o, me, w: me.create_dataset(f"new{next(_counter)}"),
    "get_dataset": lambda o, me, w: me.get_dataset("d"),
    "list_datasets": lambda o, me, w: me.list_datasets(),
    "update_dataset": lambda o, me, w: me.update_dataset("d", description=f"d{next(_counter)}"),
    "update_dataset_policy": lambda o, me, w: me.update_dataset("d", drift_policy="warn"),
    "resolve": lambda o, me, w: me.resolve("d", "main"),
    "get_commit": lambda o, me, w: me.get_commit("d", "main"),
    "find_commit": lambda o, me, w: me.find_commit(o.resolve("d", "main")[:10]),
    "log": lambda o, me, w: me.log("d"),
    "schema_drift": lambda o, me, w: me.schema_drift("d", "main"),
    "list_tables": lambda o, me, w: me.list_tables("d"),
    "table_info": lambda o, me, w: me.table_info("d", "main", "t"),
    "manifest": lambda o, me, w: me.manifest("d", "main", "t"),
    "read_table": lambda o, me, w: me.read_table("d", "main", "t"),
    "read_rows": lambda o, me, w: me.read_rows("d", "main", "t", np.array([0])),
    "iter_batches": lambda o, me, w: list(me.iter_batches("d", "main", "t")),
    "export": lambda o, me, w: me.export("d", "main", w["tmp"] / f"x{next(_counter)}.csv", table="t"),
    "commit": lambda o, me, w: me.commit("d", {"t": pd.DataFrame({"v": [next(_counter)]})}),
    "publish": lambda o, me, w: me.publish("d", *_staged(o)),
    "commit_rows": lambda o, me, w: me.commit_rows("d", _fresh_branch(o, "c"), "main", np.array([0]), table="t"),
    "commit_selections": lambda o, me, w: me.commit_selections("d", _fresh_branch(o, "s"), "main",
                                                               {"a": np.array([0])}, table="t"),
    "branch": lambda o, me, w: me.branch("d", "main"),
    "get_ref": lambda o, me, w: me.get_ref("d", "main"),
    "refs_at": lambda o, me, w: me.refs_at("d", o.resolve("d", "main")),
    "branches": lambda o, me, w: me.branches("d"),
    "tags": lambda o, me, w: me.tags("d"),
    "reflog": lambda o, me, w: me.reflog("d"),
    "create_branch": lambda o, me, w: me.create_branch("d", f"b-{next(_counter)}"),
    "create_tag": lambda o, me, w: me.create_tag("d", f"t-{next(_counter)}"),
    "delete_branch": lambda o, me, w: me.delete_branch("d", _fresh_branch(o, "x")),
    "reset_branch": lambda o, me, w: me.reset_branch("d", _fresh_branch(o, "r"), "main~1", reason="rollback"),
    "new_commits": lambda o, me, w: me.new_commits(None),
    "new_ref_moves": lambda o, me, w: me.new_ref_moves(None),
    "catalog_read": lambda o, me, w: _with(me.catalog_read()),
    "catalog_write": lambda o, me, w: _with(me.catalog_write()),
    "put_report": lambda o, me, w: me.put_report(b"report"),
    "read_report": lambda o, me, w: me.read_report(o.put_report(b"report")),
    "report_path": lambda o, me, w: me.report_path(o.put_report(b"report")),
    "has_report": lambda o, me, w: me.has_report("0" * 64),
    "current_user": lambda o, me, w: me.current_user(),
    "list_users": lambda o, me, w: me.list_users(),
    "create_user": lambda o, me, w: me.create_user(f"u{next(_counter)}"),
    "set_role": lambda o, me, w: me.set_role("extra", "user"),
    "grant": lambda o, me, w: me.grant("d", "extra", "read"),
    "revoke": lambda o, me, w: (o.grant("d", "extra2", "read"), me.revoke("d", "extra2")),
    "set_public_read": lambda o, me, w: me.set_public_read("d", False),
    "permissions": lambda o, me, w: me.permissions("d"),
    "protect_branch": lambda o, me, w: me.protect_branch("d", _fresh_branch(o, "q")),
    "unprotect_branch": lambda o, me, w: me.unprotect_branch("d", "main"),
    "protections": lambda o, me, w: me.protections("d"),
    "audit_log": lambda o, me, w: me.audit_log(dataset="d"),
    "export_audit_log": lambda o, me, w: me.export_audit_log(w["tmp"] / f"a{next(_counter)}.csv", dataset="d"),
    "search": lambda o, me, w: me.search("d"),
    "suggest": lambda o, me, w: me.suggest("d"),
    "gc": lambda o, me, w: me.gc(dry_run=True),
    "fsck": lambda o, me, w: me.fsck(),
    "delete_dataset": lambda o, me, w: me.delete_dataset(_fresh_dataset(o), actor="me", reason="test"),
    "restore_dataset": lambda o, me, w: me.restore_dataset(_fresh_dataset(o, deleted=True)),
    "purge_dataset": lambda o, me, w: me.purge_dataset(_fresh_dataset(o, deleted=True)),
    "live_index_runs": lambda o, me, w: me.live_index_runs(),
    "reports_root": lambda o, me, w: me.reports_root(),
    "table_key": lambda o, me, w: me.table_key("d", "t"),
    "set_table_key": lambda o, me, w: me.set_table_key("d", "t", None),
    "diff": lambda o, me, w: me.diff("d", "main~1", "main"),
    "merge": lambda o, me, w: me.merge("d", _branch_with_commit(o, "ms")[0], _fresh_branch(o, "mi")),
    "edit": lambda o, me, w: me.edit("d", _fresh_branch(o, "e"), table="t", remove=[0]),
    "revert": lambda o, me, w: me.revert("d", *_branch_with_commit(o, "rv")),
    "cherry_pick": lambda o, me, w: me.cherry_pick("d", _fresh_branch(o, "cp"), _branch_with_commit(o, "cs")[1]),
    "compact_key_index": lambda o, me, w: me.compact_key_index(),
}


def _with(cm: object) -> None:
    with cm as conn:  # type: ignore[attr-defined]
        conn.execute(sa.text("SELECT 1"))


def expected_allowed(operation: str, level: int, store_admin: bool) -> bool:
    """What the table says for a user with ``level`` on "d" (recipes name "d" where a dataset is named)."""
    rule = OPERATIONS[operation]
    if store_admin or rule.scope == FILTERED or (rule.scope == STORE and rule.level is None):
        return True
    if rule.scope == STORE:
        return False
    assert rule.scope in (DATASET, RESULT)
    return level >= rule.level


def test_every_public_store_method_is_an_operation_with_a_level_and_a_recipe():
    public = {name for name, member in vars(Store).items()
              if callable(member) and not name.startswith("_") and name not in ("open", "close")}
    wrapped = {name for name in public if getattr(vars(Store)[name], "operation", None) == name}
    assert public == wrapped, f"not wrapped with @operation: {sorted(public - wrapped)}"
    # every operation in the table is a method, or a declared part of one (update_dataset's policy fields)
    assert set(OPERATIONS) - public == {"update_dataset_policy"}
    assert set(RECIPES) == set(OPERATIONS)


def test_permission_matrix(world: dict[str, Store]):
    owner = world["owner"]
    outcomes = {}
    for operation in OPERATIONS:
        for user in USERS:
            try:
                RECIPES[operation](owner, world[user], world)
                outcomes[operation, user] = True
            except PermissionDenied as e:
                assert e.user == user and e.operation in (operation, PARENT.get(operation)), e
                assert e.dataset in ("d", None) or e.dataset.startswith("ds")
                outcomes[operation, user] = False
    expected = {(op, user): expected_allowed(op, level, admin) for op in OPERATIONS
                for user, (level, admin) in USERS.items()}
    wrong = {k: v for k, v in outcomes.items() if v != expected[k]}
    assert wrong == {}


def test_a_denied_commit_writes_nothing_and_names_everything(world: dict[str, Store]):
    reader = world["reader"]
    head = reader.resolve("d", "main")
    commits = len(reader.log("d"))
    with pytest.raises(PermissionDenied) as e:
        reader.commit("d", {"t": pd.DataFrame({"v": [42]})}, message="sneaky")
    assert (e.value.user, e.value.dataset, e.value.operation, e.value.needed) == (
        "reader", "d", "commit", "write permission")
    assert "reader" in str(e.value) and "'d'" in str(e.value) and "write" in str(e.value)
    assert reader.resolve("d", "main") == head and len(reader.log("d")) == commits
    denied = world["owner"].audit_log(dataset="d", action="commit")[0]
    assert (denied.user, denied.outcome) == ("reader", "denied")


def test_creator_gets_admin_public_read_and_listing_is_filtered(world: dict[str, Store]):
    writer, nobody = world["writer"], world["nobody"]
    writer.create_dataset("mine")
    assert [(g.user, g.level) for g in writer.permissions("mine").grants] == [("writer", "admin")]
    writer.create_dataset("open", public_read=True)
    assert writer.permissions("open").public_read
    assert [d.name for d in nobody.list_datasets()] == ["open"]
    assert len(nobody.log("open")) == 1
    with pytest.raises(PermissionDenied):
        nobody.commit("open", {"t": pd.DataFrame({"v": [1]})})
    assert {d.name for d in world["owner"].list_datasets()} == {"d", "mine", "open"}
    writer.set_public_read("open", False)
    assert nobody.list_datasets() == []


def test_bad_grants_and_users(world: dict[str, Store]):
    owner, dsadmin, writer = world["owner"], world["dsadmin"], world["writer"]
    with pytest.raises(UserNotFound, match="ghost"):
        owner.grant("d", "ghost", "read")
    with pytest.raises(InvalidName):
        owner.grant("d", "nul\x00" + "x" * 300, "read")
    with pytest.raises(InvalidName):
        owner.create_dataset("a" * 201)
    assert owner.audit_log(action="create_dataset", limit=1)[0].outcome == "failed"
    with pytest.raises(InvalidInput, match="unknown permission level 'root'"):
        owner.grant("d", "reader", "root")
    with pytest.raises(PermissionDenied, match="needs admin"):
        writer.grant("d", "nobody", "write")
    with pytest.raises(InvalidName, match="invalid user name"):
        owner.create_user("bad name")
    with pytest.raises(InvalidName):
        Store(owner.root, owner.catalog, user="../etc")
    with pytest.raises(InvalidInput, match="unknown role"):
        owner.create_user("someone", role="superuser")
    with pytest.raises(AlreadyExists):
        owner.create_user("reader")
    with pytest.raises(NotFound, match="no grant"):
        owner.revoke("d", "nobody")
    # the last admin of a dataset cannot be revoked or demoted
    writer.create_dataset("solo")
    with pytest.raises(InvalidInput, match="last admin"):
        writer.revoke("solo", "writer")
    with pytest.raises(InvalidInput, match="last admin"):
        writer.grant("solo", "writer", "read")
    owner.revoke("d", "owner")  # owner created "d" and was its admin; dsadmin remains
    assert {g.user for g in dsadmin.permissions("d").grants} == {"dsadmin", "writer", "reader"}
    with pytest.raises(InvalidInput, match="last admin"):
        dsadmin.revoke("d", "dsadmin")
    for other in [u.name for u in owner.list_users() if u.role == "admin" and u.name != "owner"]:
        owner.set_role(other, "user")  # the OS login that opened the store first
    assert [u.name for u in owner.list_users() if u.role == "admin"] == ["owner"]
    with pytest.raises(InvalidInput, match="last admin"):
        owner.set_role("owner", "user")


def test_store_admins_come_from_first_use_and_dsa_admin(tmp_path: Path, shared_catalog_url: str,
                                                        monkeypatch: pytest.MonkeyPatch):
    with Store.open(tmp_path, shared_catalog_url, user="first") as first:
        assert first.current_user().role == "admin"
    with Store.open(tmp_path, shared_catalog_url, user="second") as second:
        assert second.current_user().role == "user"
        with pytest.raises(PermissionDenied, match="store admin"):
            second.create_user("third")
    monkeypatch.setenv("DSA_ADMIN", "boss, other")
    monkeypatch.setenv("DSA_USER", "boss")
    with Store.open(tmp_path, shared_catalog_url) as boss:
        assert boss.user == "boss" and boss.current_user().role == "admin"
        boss.create_user("third")
        assert [u.name for u in boss.list_users()] == ["boss", "first", "second", "third"]
