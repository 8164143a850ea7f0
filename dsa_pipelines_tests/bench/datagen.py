"""Deterministic benchmark data: six versions of one 10-column table.

The versions model a dataset's life (N = ``n_rows``, 1% = ``N // 100``):

    v1  the base table, N rows
    v2  v1 with 1% of the rows updated (``amount`` and ``score``), scattered
    v3  v2 with 1% new rows appended
    v4  v3 with 1% of the rows deleted, scattered
    v5  v4 again (a re-upload; the file is a byte-identical copy)
    v6  v5 with exactly one row changed (``score``)

Rows are generated in fixed-size chunks, each from its own seeded generator, and every
version is derived from the same chunk in one pass, so memory stays at a few chunks
whatever ``n_rows`` is, and the output depends only on ``(n_rows, seed)``.

Run ``python -m dsa_pipelines_tests.bench.datagen --rows 1000000 --out data/bench``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

VERSIONS = ("v1", "v2", "v3", "v4", "v5", "v6")
FORMATS = ("parquet", "csv")
CHUNK_ROWS = 1 << 20  # pyarrow's default row group size: v1 matches pq.write_table(v1)
DEFAULT_SEED = 20_241_121
AMOUNT_NULL_RATE = 0.05
NOTE_NULL_RATE = 0.30
PARQUET_COMPRESSION = "zstd"
GENERATOR_VERSION = 1  # bump when the output changes, so cached files are rebuilt

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("account", pa.int64()),
        ("amount", pa.float64()),
        ("score", pa.float64()),
        ("name", pa.string()),
        ("category", pa.string()),
        ("flag", pa.bool_()),
        ("day", pa.date32()),
        ("ts", pa.timestamp("us")),
        ("note", pa.string()),
    ]
)

_FIRST = pa.array(
    "Anna Ben Chloé Daniel Elif Finn Greta Hugo Ines Jonas Katarzyna Leon Mia Noah Olga "
    "Pablo Quentin Rosa Sven Tara Uwe Vera Wiebke Xaver Yasmin Zoë Amélie Björn Carmen "
    "Dmitri Emma Felix Giulia Hannes Isabel Jan Lea Lukas Marie Nils Oskar Paula Ronja "
    "Sofia Theo Ula Valentin Wanda Yusuf Zeynep".split()
)
_LAST = pa.array(
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch "
    "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Krause Meier Lehmann García Rossi Dubois Novák Kowalski Nguyễn "
    "Silva Jensen Andersson Virtanen O'Brien Murphy Papadopoulos Yılmaz Horváth Popescu "
    "Ivanova Smith Jones Taylor Brown Williams".split()
)
_INITIALS = pa.array([f"{c}." for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"])
_CATEGORIES = pa.array(
    "groceries rent salary utilities travel dining transport insurance health education "
    "entertainment clothing electronics gifts charity taxes fees savings investment other".split()
)
_NOTES = pa.array(
    [
        "refund requested",
        "paid by card",
        "standing order",
        "see ticket",
        "customer called",
        "duplicate check",
        "manual booking",
        "reversed",
        "partial payment",
        "invoice",
    ]
)
_DAY0 = (dt.date(2020, 1, 1) - dt.date(1970, 1, 1)).days
_TS0_US = int(dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000
_TS_SPAN_US = 5 * 365 * 86_400 * 1_000_000


@dataclass(frozen=True)
class _Plan:
    """Which rows each version touches; positions index v3 (base rows, then appended)."""

    n_rows: int
    n_append: int
    updated: np.ndarray  # sorted positions in [0, n_rows) updated in v2
    new_amount: np.ndarray
    new_score: np.ndarray
    deleted: np.ndarray  # sorted positions in [0, n_rows + n_append) deleted in v4
    changed_in_v6: int  # one position kept in v4 whose score v6 changes

    @classmethod
    def make(cls, n_rows: int, seed: int) -> _Plan:
        one_pct = n_rows // 100
        rng = np.random.default_rng([seed, 2])
        updated = np.sort(rng.choice(n_rows, one_pct, replace=False))
        deleted = np.sort(rng.choice(n_rows + one_pct, one_pct, replace=False))
        kept = np.setdiff1d(np.arange(n_rows // 2, n_rows + one_pct), deleted, assume_unique=True)
        return cls(
            n_rows=n_rows,
            n_append=one_pct,
            updated=updated,
            new_amount=np.round(rng.lognormal(4.0, 1.2, one_pct), 2),
            new_score=rng.normal(0.0, 1.0, one_pct) + 10.0,  # never equal to the old score
            deleted=deleted,
            changed_in_v6=int(kept[0]),
        )


def make_versions(
    n_rows: int,
    out_dir: Path,
    formats: Sequence[str] = FORMATS,
    *,
    seed: int = DEFAULT_SEED,
) -> dict[str, dict[str, Path]]:
    """Write v1..v6 of the benchmark table in each format (reusing an identical earlier run).

    Args:
        n_rows: Rows in v1 (at least 100, so that 1% is at least one row).
        out_dir: Directory for ``v1.parquet``, ``v1.csv`` ... (created if missing).
        formats: Any of ``"parquet"`` (zstd) and ``"csv"`` (with header).
        seed: Seed of every random choice; same seed, same files.

    Returns:
        ``{version: {format: path}}`` for every version and format.

    Raises:
        ValueError: ``n_rows`` is below 100 or a format is unknown.
    """
    if n_rows < 100:
        raise ValueError(f"n_rows must be at least 100, got {n_rows}")
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose from {FORMATS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {v: {f: out_dir / f"{v}.{f}" for f in formats} for v in VERSIONS}
    stamp = out_dir / "datagen.json"
    params = {
        "generator": GENERATOR_VERSION,
        "n_rows": n_rows,
        "seed": seed,
        "formats": sorted(formats),
        "chunk": CHUNK_ROWS,
    }
    if _is_current(stamp, params, paths):
        return paths

    stamp.unlink(missing_ok=True)
    plan = _Plan.make(n_rows, seed)
    written = [v for v in VERSIONS if v != "v5"]
    with ExitStack() as stack:
        writers = {
            (v, f): stack.enter_context(_open_writer(paths[v][f], f))
            for v in written
            for f in formats
        }
        # Encoding and compression release the GIL: write the versions side by side.
        workers = min(len(writers), os.cpu_count() or 1)
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=workers))
        for versions in _version_chunks(plan, seed):
            jobs = [
                pool.submit(writers[v, f].write_table, table)
                for v, table in versions.items()
                for f in formats
            ]
            for job in jobs:
                job.result()
    for f in formats:
        shutil.copyfile(paths["v4"][f], paths["v5"][f])
    stamp.write_text(json.dumps(params, sort_keys=True))
    return paths


def plain_parquet_size(versions: dict[str, dict[str, Path]]) -> tuple[Path, int]:
    """The storage baseline: v1 written once as a single zstd Parquet file.

    Args:
        versions: The result of :func:`make_versions` (with the ``parquet`` format).

    Returns:
        The v1 Parquet path and its size in bytes.
    """
    path = versions["v1"]["parquet"]
    return path, path.stat().st_size


def _is_current(stamp: Path, params: dict, paths: dict[str, dict[str, Path]]) -> bool:
    if not stamp.exists() or json.loads(stamp.read_text()) != params:
        return False
    return all(p.exists() for by_format in paths.values() for p in by_format.values())


def _open_writer(path: Path, fmt: str) -> pq.ParquetWriter | pacsv.CSVWriter:
    if fmt == "parquet":
        return pq.ParquetWriter(path, SCHEMA, compression=PARQUET_COMPRESSION)
    return pacsv.CSVWriter(path, SCHEMA)


def _version_chunks(plan: _Plan, seed: int) -> Iterator[dict[str, pa.Table]]:
    """Yield, chunk by chunk, the rows each written version holds in that chunk."""
    total = plan.n_rows + plan.n_append
    starts = [*range(0, plan.n_rows, CHUNK_ROWS), *range(plan.n_rows, total, CHUNK_ROWS)]
    for start in starts:
        base_part = start < plan.n_rows
        stop = min(start + CHUNK_ROWS, plan.n_rows if base_part else total)
        cols = _generate(start, stop, seed, stream=0 if base_part else 1)
        out: dict[str, pa.Table] = {}
        if base_part:
            out["v1"] = _table(cols)
            _apply_updates(cols, plan, start, stop)
            out["v2"] = _table(cols)
        v3 = _table(cols)
        keep = ~np.isin(np.arange(start, stop), _within(plan.deleted, start, stop))
        v4 = v3.filter(pa.array(keep))
        if start <= plan.changed_in_v6 < stop:
            cols["score"] = cols["score"].copy()
            cols["score"][plan.changed_in_v6 - start] += 1.0
        v6 = _table(cols).filter(pa.array(keep))
        yield {**out, "v3": v3, "v4": v4, "v6": v6}


def _within(sorted_positions: np.ndarray, start: int, stop: int) -> np.ndarray:
    lo, hi = np.searchsorted(sorted_positions, [start, stop])
    return sorted_positions[lo:hi]


def _apply_updates(cols: dict, plan: _Plan, start: int, stop: int) -> None:
    lo, hi = np.searchsorted(plan.updated, [start, stop])
    local = plan.updated[lo:hi] - start
    cols["amount"] = cols["amount"].copy()
    cols["amount_valid"] = cols["amount_valid"].copy()
    cols["score"] = cols["score"].copy()
    cols["amount"][local] = plan.new_amount[lo:hi]
    cols["amount_valid"][local] = True
    cols["score"][local] = plan.new_score[lo:hi]


def _generate(start: int, stop: int, seed: int, stream: int) -> dict:
    """Rows ``start..stop`` of a stream (0 = base rows, 1 = appended rows), as arrays."""
    rng = np.random.default_rng([seed, stream, start])
    n = stop - start
    name = pc.binary_join_element_wise(
        _FIRST.take(rng.integers(0, len(_FIRST), n)),
        _INITIALS.take(rng.integers(0, len(_INITIALS), n)),
        _LAST.take(rng.integers(0, len(_LAST), n)),
        " ",
    )
    note = pc.binary_join_element_wise(
        _NOTES.take(rng.integers(0, len(_NOTES), n)),
        pc.cast(pa.array(rng.integers(1_000, 1_000_000, n)), pa.string()),
        " #",
    )
    note_null = rng.random(n) < NOTE_NULL_RATE
    return {
        "id": np.arange(start + 1, stop + 1, dtype=np.int64),
        "account": rng.integers(100_000, 160_000, n, dtype=np.int64),
        "amount": np.round(rng.lognormal(4.0, 1.2, n), 2),
        "amount_valid": rng.random(n) >= AMOUNT_NULL_RATE,
        "score": rng.normal(0.0, 1.0, n),
        "name": name,
        "category": _CATEGORIES.take(rng.integers(0, len(_CATEGORIES), n)),
        "flag": rng.random(n) < 0.1,
        "day": (rng.integers(0, 5 * 365, n) + _DAY0).astype(np.int32),
        "ts": rng.integers(0, _TS_SPAN_US, n) + _TS0_US,
        "note": pc.if_else(pa.array(note_null), pa.scalar(None, pa.string()), note),
    }


def _table(cols: dict) -> pa.Table:
    arrays = {
        "id": pa.array(cols["id"]),
        "account": pa.array(cols["account"]),
        "amount": pa.array(cols["amount"], mask=~cols["amount_valid"]),
        "score": pa.array(cols["score"]),
        "name": cols["name"],
        "category": cols["category"],
        "flag": pa.array(cols["flag"]),
        "day": pa.array(cols["day"], pa.date32()),
        "ts": pa.array(cols["ts"], pa.timestamp("us")),
        "note": cols["note"],
    }
    return pa.table(arrays, schema=SCHEMA)


def main(argv: Sequence[str] | None = None) -> None:
    """Generate the versions from the command line and print sizes and timing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    versions = make_versions(args.rows, args.out, args.formats, seed=args.seed)
    elapsed = time.perf_counter() - t0
    for v, by_format in versions.items():
        sizes = ", ".join(f"{f} {p.stat().st_size / 1e6:.1f} MB" for f, p in by_format.items())
        print(f"{v}: {sizes}")
    print(f"{args.rows:,} rows in {elapsed:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
