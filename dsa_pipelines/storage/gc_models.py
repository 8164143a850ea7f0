"""Value types of garbage collection and integrity checks (frozen; plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class GcReport:
    """What a garbage collection removed, kept and compacted.

    Attributes:
        dry_run: Nothing was changed; the counts say what would have been.
        commits_removed / commits_kept: Catalog commits deleted / live.
        manifests_removed / manifests_kept, packs_removed / packs_kept: Object counts.
        other_removed: Report objects, orphan and temporary files removed.
        bytes_freed: Bytes of every file removed (or that would be).
        packs_compacted: Packs whose live rows were rewritten into a new pack.
        bytes_compacted: Bytes of those packs (freed once their grace period ends).
        datasets_purged: Soft-deleted datasets past the retention, purged.
        reflog_pruned: Reflog entries older than the retention, removed.
        removed_commits: Ids of the commits removed (e.g. to delete their Dagster partitions).
        seconds: Wall time per phase.
    """

    dry_run: bool
    commits_removed: int = 0
    commits_kept: int = 0
    manifests_removed: int = 0
    manifests_kept: int = 0
    packs_removed: int = 0
    packs_kept: int = 0
    other_removed: int = 0
    bytes_freed: int = 0
    packs_compacted: int = 0
    bytes_compacted: int = 0
    datasets_purged: tuple[str, ...] = ()
    reflog_pruned: int = 0
    removed_commits: tuple[str, ...] = field(default=(), repr=False)
    seconds: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        data = asdict(self)
        data["datasets_purged"] = list(self.datasets_purged)
        data["removed_commits"] = list(self.removed_commits)
        return data


@dataclass(frozen=True)
class FsckProblem:
    """One thing wrong in the store.

    Attributes:
        kind: A stable code (``missing_commit``, ``missing_object``, ``corrupt_object``,
            ``range_outside_pack``, ``row_count_mismatch``, ``row_hash_mismatch``,
            ``content_id_mismatch``, ``missing_parent``, ``stale_temp_file`` …).
        message: What is wrong, for people.
        dataset, commit, table, object_id: Where (None when not applicable).
    """

    kind: str
    message: str
    dataset: str | None = None
    commit: str | None = None
    table: str | None = None
    object_id: str | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class FsckReport:
    """The result of :meth:`Store.fsck`.

    Attributes:
        ok: No problem found (reclaimable garbage is not a problem).
        problems: Every problem found.
        counts: What was checked (refs, commits, tables, manifests, packs, rows …) and
            how much garbage GC could reclaim (``garbage_objects``, ``garbage_bytes``).
    """

    ok: bool
    problems: tuple[FsckProblem, ...]
    counts: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
