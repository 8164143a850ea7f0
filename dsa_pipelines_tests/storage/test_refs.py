"""Branches, tags, reset (rollback), reflog and revision syntax, on every backend."""

from __future__ import annotations

import time

import pytest

from dsa_pipelines.storage import (
    AlreadyExists,
    AmbiguousRevision,
    ImmutableRef,
    InvalidInput,
    InvalidName,
    RefConflict,
    RevisionNotFound,
    Store,
)
from dsa_pipelines_tests.storage.helpers import people


@pytest.fixture
def history(store: Store) -> list[str]:
    """Dataset "h" with main at v3: [root, v1, v2, v3] commit ids."""
    store.create_dataset("h")
    ids = [store.resolve("h", "main")]
    for i in range(1, 4):
        ids.append(store.commit("h", people(10 + i, seed=i), table="t", message=f"v{i}", author="bo").commit_id)
    return ids


def test_log_has_version_numbers(store: Store, history: list[str]):
    log = store.log("h")
    assert [(e.version, e.commit.id, e.commit.message) for e in log] == [
        (3, history[3], "v3"), (2, history[2], "v2"), (1, history[1], "v1"), (0, history[0], "Create dataset")]
    assert [e.commit.row_count for e in log] == [13, 12, 11, 0]
    assert [e.version for e in store.log("h", limit=2)] == [3, 2]
    assert log[0].commit.author == "bo" and log[0].commit.created_at.endswith("Z")


def test_revision_syntax(store: Store, history: list[str]):
    root, v1, v2, v3 = history
    assert store.resolve("h", "main") == v3
    assert store.resolve("h", "main~1") == v2
    assert store.resolve("h", "main~3") == root
    assert store.resolve("h", "main^") == v2
    assert store.resolve("h", "main^^~1") == root
    assert store.resolve("h", "v1") == v1
    assert store.resolve("h", "v0") == root
    assert store.resolve("h", "main:v2") == v2
    assert store.resolve("h", v2[:8]) == v2
    assert store.resolve("h", v2[:8].upper()) == v2
    assert store.resolve("h", "main@{0}") == v3
    assert store.resolve("h", "main@{1}") == v2
    for bad in ["main~4", "v9", "nope", "deadbeef", "main@{99}", "main^2"]:
        with pytest.raises(RevisionNotFound):
            store.resolve("h", bad)
    with pytest.raises(InvalidInput):
        store.resolve("h", "main@{yesterday-ish}")
    with pytest.raises(InvalidInput):
        store.resolve("h", "main~x")


def test_ambiguous_prefix(store: Store):
    store.create_dataset("amb")
    ids = [store.commit("amb", people(3, seed=i), table="t").commit_id for i in range(40)]
    firsts = {}
    for cid in ids:
        firsts.setdefault(cid[:1], []).append(cid)
    clash = next(v for v in firsts.values() if len(v) > 1)
    common = 1
    while clash[0][:common + 1] == clash[1][:common + 1]:
        common += 1
    if common < 4:  # prefixes shorter than 4 are not looked up as ids at all
        with pytest.raises(RevisionNotFound):
            store.resolve("amb", clash[0][:common])
    else:
        with pytest.raises(AmbiguousRevision):
            store.resolve("amb", clash[0][:common])


def test_time_travel_through_reflog(store: Store, history: list[str]):
    from datetime import UTC, datetime

    before = datetime.now(UTC)
    time.sleep(0.02)
    store.commit("h", people(5, seed=99), table="t", message="v4")
    assert store.resolve("h", f"main@{{{before.isoformat()}}}") == history[3]
    naive_utc = before.replace(tzinfo=None).isoformat()
    assert store.resolve("h", f"main@{{{naive_utc}}}") == history[3]
    with pytest.raises(RevisionNotFound, match="did not exist"):
        store.resolve("h", "main@{2001-01-01T00:00:00}")


def test_branches(store: Store, history: list[str]):
    store.create_branch("h", "feature/x", "v1", actor="cy")
    assert store.resolve("h", "feature/x") == history[1]
    res = store.commit("h", people(4, seed=50), table="t", branch="feature/x")
    assert store.get_commit("h", res.commit_id).parents == (history[1],)
    assert store.resolve("h", "feature/x:v2") == res.commit_id
    assert {b.name for b in store.branches("h")} == {"main", "feature/x"}
    with pytest.raises(AlreadyExists):
        store.create_branch("h", "feature/x")
    with pytest.raises(InvalidName):
        store.create_branch("h", "feature..x")
    with pytest.raises(RevisionNotFound):
        store.create_branch("h", "other", "nope")
    store.delete_branch("h", "feature/x", actor="cy", reason="merged")
    assert [b.name for b in store.branches("h")] == ["main"]
    assert store.reflog("h", "feature/x")[0].new_commit is None
    with pytest.raises(InvalidInput, match="default branch"):
        store.delete_branch("h", "main")
    with pytest.raises(RevisionNotFound):
        store.delete_branch("h", "feature/x")


def test_tags_never_move(store: Store, history: list[str]):
    store.create_tag("h", "v1.0", "v2", actor="ana")
    assert store.resolve("h", "v1.0") == history[2]
    assert [t.name for t in store.tags("h")] == ["v1.0"]
    with pytest.raises(ImmutableRef, match="never"):
        store.create_tag("h", "v1.0", "main")
    with pytest.raises(ImmutableRef):
        store.reset_branch("h", "v1.0", "main", reason="try to move a tag")
    with pytest.raises(ImmutableRef):
        store.commit("h", people(1), table="t", branch="v1.0")
    with pytest.raises(InvalidName):
        store.create_tag("h", "bad tag")
    assert store.resolve("h", "v1.0") == history[2]


def test_reset_is_a_recorded_rollback(store: Store, history: list[str]):
    old, new = store.reset_branch("h", "main", "v1", actor="auditor", reason="bad upload in v2/v3")
    assert (old, new) == (history[3], history[1])
    assert store.resolve("h", "main") == history[1]
    entry = store.reflog("h", "main")[0]
    assert (entry.old_commit, entry.new_commit, entry.actor) == (history[3], history[1], "auditor")
    assert "bad upload" in entry.reason
    # the abandoned commits are still reachable by id and by reflog
    assert store.resolve("h", "main@{1}") == history[3]
    assert store.log("h")[0].version == 1
    with pytest.raises(InvalidInput, match="reason"):
        store.reset_branch("h", "main", "v0")
    with pytest.raises(RefConflict):
        store.reset_branch("h", "main", "v0", reason="stale", expected=history[3])
    assert store.resolve("h", "main") == history[1]


def test_publish_loses_race_cleanly(store: Store, history: list[str]):
    staged = store.commit("h", people(2, seed=7), table="t", publish=False)
    store.commit("h", people(2, seed=8), table="t")  # someone else moves main first
    with pytest.raises(RefConflict, match="another writer"):
        store.publish("h", "main", staged.commit_id)
