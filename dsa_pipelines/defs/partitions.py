"""Every commit is a partition: its key is the commit's 12-hex-digit short id."""

import dagster as dg

commits_partitions = dg.DynamicPartitionsDefinition(name="commits")

PARTITION_KEY_LENGTH = 12


def partition_key(commit_id: str) -> str:
    """The partition key of a commit (lowercase hex, never a path or free text)."""
    return commit_id[:PARTITION_KEY_LENGTH].lower()
