"""Protected branches: rules checked in the compare-and-swap's own transaction."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from dsa_pipelines.storage import Store, writer
from dsa_pipelines.storage.errors import BranchProtected, PermissionDenied
from dsa_pipelines_tests.storage.test_access import as_user


def _frame(v: int) -> dict[str, pd.DataFrame]:
    return {"t": pd.DataFrame({"v": [v]})}


@pytest.fixture
def team(store: Store) -> tuple[Store, Store]:
    """``d`` owned by the store's admin, with a ``writer`` holding write permission."""
    store.create_dataset("d")
    store.commit("d", _frame(0))
    store.create_user("writer")
    store.grant("d", "writer", "write")
    return store, as_user(store, "writer")


def _merge_move(store: Store, dataset: str, branch: str, source: str) -> None:
    """A merge of ``source`` into ``branch`` (a merge moves a protected branch; Store.merge marks its CAS so)."""
    assert store.merge(dataset, source, branch).status in ("merged", "fast_forward")


def test_a_branch_that_requires_merge_refuses_direct_moves(team: tuple[Store, Store]):
    admin, writer_ = team
    admin.protect_branch("d", "main")
    head = admin.resolve("d", "main")
    for who in (admin, writer_):  # protection applies to admins too; they may unprotect
        with pytest.raises(BranchProtected, match="moves only by merge") as e:
            who.commit("d", _frame(1))
        assert isinstance(e.value, PermissionDenied)
        assert (e.value.dataset, e.value.branch, e.value.operation) == ("d", "main", "commit")
    assert admin.resolve("d", "main") == head
    writer_.create_branch("d", "feature")
    writer_.commit("d", _frame(2), branch="feature")
    _merge_move(writer_, "d", "main", "feature")  # a fast-forward
    assert admin.resolve("d", "main") == admin.resolve("d", "feature")
    writer_.create_branch("d", "other", head)
    writer_.commit("d", {"u": pd.DataFrame({"w": [1]})}, branch="other")
    _merge_move(writer_, "d", "main", "other")  # a merge commit
    assert admin.get_commit("d", "main").parents[1] == admin.resolve("d", "other")
    with pytest.raises(BranchProtected, match="against resets"):
        admin.reset_branch("d", "main", head, reason="undo")
    staged = writer_.commit("d", _frame(3), branch="feature", publish=False)
    with pytest.raises(BranchProtected):
        writer_.publish("d", "main", staged.commit_id, expected=admin.resolve("d", "main"))
    assert [p.branch for p in admin.protections("d")] == ["main"]
    assert admin.unprotect_branch("d", "main")
    admin.reset_branch("d", "main", head, reason="undo")
    assert admin.resolve("d", "main") == head


def test_without_require_merge_only_dataset_admins_move_it_and_flags_allow_reset_and_delete(
        team: tuple[Store, Store]):
    admin, writer_ = team
    admin.create_branch("d", "release")
    admin.protect_branch("d", "release", require_merge=False, allow_reset=True)
    with pytest.raises(BranchProtected, match="only the dataset's admins"):
        writer_.commit("d", _frame(5), branch="release")
    first = admin.resolve("d", "release")
    admin.commit("d", _frame(6), branch="release")
    admin.reset_branch("d", "release", first, reason="allowed")
    with pytest.raises(BranchProtected, match="against deletion"):
        admin.delete_branch("d", "release")
    admin.protect_branch("d", "release", require_merge=False, allow_delete=True)
    admin.delete_branch("d", "release")
    assert admin.get_ref("d", "release") is None


def test_the_default_branch_is_protected_only_when_the_dataset_says_so(store: Store):
    store.create_dataset("plain")
    store.commit("plain", _frame(1))
    store.create_dataset("guarded", protect_default_branch=True)
    with pytest.raises(BranchProtected):
        store.commit("guarded", _frame(1))
    result = store.commit("fresh", _frame(1), create_dataset=writer.NewDataset(protect_default_branch=True))
    assert result.status == "committed"  # the first commit lands; main is protected from then on
    with pytest.raises(BranchProtected):
        store.commit("fresh", _frame(2))


def test_protection_added_after_a_writer_read_the_head_still_refuses_its_move(team: tuple[Store, Store],
                                                                               monkeypatch: pytest.MonkeyPatch):
    admin, writer_ = team
    head = admin.resolve("d", "main")
    original = writer.check_drift

    def protect_meanwhile(*args, **kwargs):  # runs after the head is read, before the CAS transaction
        admin.protect_branch("d", "main")
        return original(*args, **kwargs)

    monkeypatch.setattr(writer, "check_drift", protect_meanwhile)
    with pytest.raises(BranchProtected):
        writer_.commit("d", _frame(9))
    assert admin.resolve("d", "main") == head
    denied = admin.audit_log(dataset="d", action="commit", limit=1)[0]
    assert (denied.user, denied.outcome) == ("writer", "denied")


def test_race_between_a_merge_and_a_direct_commit(shared_catalog_url: str, tmp_path):
    with Store.open(tmp_path, shared_catalog_url, user="admin") as admin:
        admin.create_dataset("d")
        admin.commit("d", _frame(0))
        admin.create_branch("d", "feature")
        admin.commit("d", _frame(1), branch="feature")
        admin.protect_branch("d", "main")
        merged = admin.resolve("d", "feature")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def direct() -> None:
        with Store.open(tmp_path, shared_catalog_url, user="admin") as s:
            barrier.wait(timeout=30)
            try:
                s.commit("d", _frame(2))
                outcomes["direct"] = "moved"
            except BranchProtected as e:
                outcomes["direct"] = e

    def merge() -> None:
        with Store.open(tmp_path, shared_catalog_url, user="admin") as s:
            barrier.wait(timeout=30)
            _merge_move(s, "d", "main", "feature")
            outcomes["merge"] = "moved"

    threads = [threading.Thread(target=direct), threading.Thread(target=merge)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert outcomes["merge"] == "moved" and isinstance(outcomes["direct"], BranchProtected)
    with Store.open(tmp_path, shared_catalog_url, user="admin") as admin:
        assert admin.resolve("d", "main") == merged
        assert admin.reflog("d", "main")[0].reason.startswith("merge feature")
