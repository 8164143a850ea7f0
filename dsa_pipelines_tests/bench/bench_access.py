"""Benchmark: search and suggest over many datasets, and the cost of the permission check.

Targets (issue 11): search and suggest p95 ≤ 50 ms over 100,000 datasets on SQLite and
PostgreSQL; the permission check ≤ 1 ms per operation. The catalog is bulk-loaded (the
same rows and index entries ``Store.create_dataset`` writes, inserted in batches), then
each query runs ``REPEATS`` times as a store admin and as a user who may read a third
of the datasets (public ones plus grants).

Run ``python -m dsa_pipelines_tests.bench.bench_access 100000``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from dsa_pipelines.storage import Store
from dsa_pipelines.storage import access as access_check
from dsa_pipelines.storage.catalog import search_index as ix
from dsa_pipelines.storage.catalog.access_tables import grants, users
from dsa_pipelines.storage.catalog.schema import datasets
from dsa_pipelines_tests.postgres import PostgresUnavailable, open_server

MAX_DATASETS = 100_000
TARGET_MS = 50.0
CHECK_TARGET_MS = 1.0
REPEATS = 20
TOPICS = ["sales", "inventory", "payroll", "marketing", "logistics", "weather", "clinical", "telemetry", "finance",
          "customers", "orders", "shipments", "returns", "pricing", "claims", "devices"]
REGIONS = ["eu", "us", "apac", "latam", "mea", "nordics"]
WORDS = ["daily", "monthly", "raw", "cleaned", "aggregated", "audited", "forecast", "history", "snapshot", "export"]
QUERIES = ["payroll", "customers monthly", "invent", "clinical audited snapshot", "eu", "zzz-nothing"]
PREFIXES = ["custmers", "payrol", "invetory", "sal", "clinicl", "telemetr"]


def _rows(n: int) -> tuple[list[dict], list[dict], list[dict], dict[tuple[str, str], int]]:
    docs, tags, grant_rows, terms = [], [], [], {}
    for i in range(n):
        topic, region, word = TOPICS[i % 16], REGIONS[i % 6], WORDS[i % 10]
        name = f"{topic}_{region}_{word}_{i:06d}"
        tag_list = [topic, region] + (["pii"] if i % 5 == 0 else []) + (["gold"] if i % 11 == 0 else [])
        created = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T12:00:00.000000Z"
        docs.append({"id": i + 1, "dataset": name, "description": f"{word.capitalize()} {topic} data for {region}",
                     "tags": " ".join(tag_list), "created_by": f"user{i % 50}", "created_at": created,
                     "updated_at": created, "row_count": i * 10, "head": None, "tag_list": tag_list})
        tags.extend({"dataset": name, "tag": t} for t in tag_list)
        terms[name, "name"] = 1
        for t in tag_list:
            terms[t, "tag"] = 1
        if i % 3 == 0:
            grant_rows.append({"dataset": name, "principal": "*" if i % 2 else "viewer", "level": 1,
                               "granted_by": "bench", "granted_at": created})
    return docs, tags, grant_rows, terms


def load(store: Store, n: int) -> None:
    """Bulk-load ``n`` datasets with their search index entries and grants."""
    docs, tags, grant_rows, terms = _rows(n)
    trigram_rows = [{"trigram": g, "term": term, "kind": kind, "grams": len(ix.trigrams(term))}
                    for (term, kind) in terms for g in ix.trigrams(term)]
    with store.catalog.write() as conn:
        conn.execute(users.insert(), [{"name": "viewer", "display_name": "", "role": "user", "created_by": "bench",
                                       "created_at": "2026-01-01T00:00:00.000000Z"}])
        for start in range(0, n, 5000):
            chunk = docs[start:start + 5000]
            conn.execute(datasets.insert(), [{
                "name": d["dataset"], "description": d["description"], "tags": json.dumps(d["tag_list"]),
                "created_by": d["created_by"], "created_at": d["created_at"], "default_branch": "main",
                "drift_policy": "warn", "settings": "{}"} for d in chunk])
            conn.execute(ix.search_documents.insert(), [{k: v for k, v in d.items() if k != "tag_list"}
                                                        for d in chunk])
        for start in range(0, len(tags), 20000):
            conn.execute(ix.search_tags.insert(), tags[start:start + 20000])
        for start in range(0, len(trigram_rows), 20000):
            conn.execute(ix.search_trigrams.insert(), trigram_rows[start:start + 20000])
        for start in range(0, len(grant_rows), 20000):
            conn.execute(grants.insert(), grant_rows[start:start + 20000])
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(
                "INSERT INTO search_fts (id, document) SELECT id, setweight(to_tsvector('english', dataset || ' ' "
                "|| regexp_replace(dataset, '[^[:alnum:]]+', ' ', 'g')), 'A') || setweight(to_tsvector('english', "
                "tags), 'B') || setweight(to_tsvector('english', description), 'C') FROM search_documents"))
            conn.execute(sa.text("ANALYZE"))
        else:
            conn.execute(sa.text("INSERT INTO search_fts (rowid, name, description, tags) "
                                 "SELECT id, dataset, description, tags FROM search_documents"))
            conn.execute(sa.text("ANALYZE"))


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def _timed(call, repeat: int = REPEATS) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return out


def measure(store: Store, backend: str, n: int) -> list[dict]:
    """Search, suggest and permission-check latencies on one loaded store."""
    viewer = Store(store.root, store.catalog, user="viewer")
    rows = []
    for who, s in (("admin", store), ("viewer", viewer)):
        search_times = [t for q in QUERIES for t in _timed(lambda q=q, s=s: s.search(q, limit=20))]
        search_times += _timed(lambda s=s: s.search("", tags=["pii", "gold"], limit=20))
        suggest_times = [t for p in PREFIXES for t in _timed(lambda p=p, s=s: s.suggest(p))]
        for name, times in (("search", search_times), ("suggest", suggest_times)):
            p50, p95 = _percentiles(times)
            rows.append({"name": f"{backend} {name} as {who} ({n:,} datasets)", "value": f"p50 {p50:.1f} ms, "
                         f"p95 {p95:.1f} ms", "target": f"p95 <= {TARGET_MS:g} ms", "ok": p95 <= TARGET_MS})
    some = "payroll_us_monthly_000002"
    check = _timed(lambda: access_check.check(viewer, "get_dataset", some), 200)
    p50, p95 = _percentiles(check)
    rows.append({"name": f"{backend} permission check per operation", "value": f"p50 {p50:.3f} ms, p95 {p95:.3f} ms",
                 "target": f"<= {CHECK_TARGET_MS:g} ms", "ok": p50 <= CHECK_TARGET_MS})
    return rows


def run(n_rows: int = MAX_DATASETS, work_dir: Path | None = None) -> list[dict]:
    """Measure on SQLite (file) and PostgreSQL (pgserver, if available) with ``min(n_rows, 100,000)`` datasets."""
    n = max(1000, min(n_rows, MAX_DATASETS))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(work_dir or tmp)
        with Store.open(base / "sqlite", f"sqlite:///{base / 'sqlite' / 'catalog.db'}", user="bench") as store:
            load(store, n)
            rows += measure(store, "sqlite", n)
        try:
            server = open_server()
        except PostgresUnavailable as e:
            rows.append({"name": "postgres", "value": f"not run: {e}", "target": "-", "ok": True})
            return rows
        try:
            url = server.create_database()
            with Store.open(base / "pg", url, user="bench") as store:
                load(store, n)
                rows += measure(store, "postgres", n)
            server.drop_database(url)
        finally:
            server.close()
    return rows


if __name__ == "__main__":
    from dsa_pipelines_tests.bench.bench_store import print_table

    t0 = time.time()
    count = int(sys.argv[1]) if len(sys.argv) > 1 else MAX_DATASETS
    print_table(run(count), f"access and search (took {time.time() - t0:.0f} s)")
