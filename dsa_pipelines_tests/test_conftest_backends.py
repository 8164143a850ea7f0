"""The test backends are what they claim to be, and the CI rule holds.

These tests use only SQLAlchemy, never the store core.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from dsa_pipelines_tests.postgres import ENV_URL, PostgresServer, reap_orphans

REPO_ROOT = Path(__file__).resolve().parents[1]


def _scalar(url: str, sql: str) -> object:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()
    finally:
        engine.dispose()


def test_every_backend_round_trips_a_row(catalog_url: str) -> None:
    engine = sa.create_engine(catalog_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1, 'é')"))
            assert conn.execute(sa.text("SELECT v FROM t WHERE k = 1")).scalar() == "é"
    finally:
        engine.dispose()


@pytest.mark.parametrize("catalog_url", ["sqlite-file"], indirect=True)
def test_sqlite_file_backend_creates_a_file(catalog_url: str, tmp_path: Path) -> None:
    url = sa.make_url(catalog_url)
    path = Path(url.database or "")
    assert url.get_backend_name() == "sqlite"
    assert path.parent == tmp_path
    assert not path.exists()
    engine = sa.create_engine(catalog_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (k INTEGER)"))
    finally:
        engine.dispose()
    assert path.is_file()
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"


@pytest.mark.parametrize("catalog_url", ["sqlite-memory"], indirect=True)
def test_sqlite_memory_backend_writes_no_file(catalog_url: str, tmp_path: Path) -> None:
    assert sa.make_url(catalog_url).get_backend_name() == "sqlite"
    engine = sa.create_engine(catalog_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (k INTEGER)"))
            assert conn.execute(sa.text("PRAGMA database_list")).fetchone()[2] == ""
    finally:
        engine.dispose()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
@pytest.mark.parametrize("catalog_url", ["postgres"], indirect=True)
def test_postgres_backend_is_a_real_postgresql(catalog_url: str) -> None:
    assert catalog_url.startswith("postgresql+psycopg2://")
    version = str(_scalar(catalog_url, "SELECT version()"))
    assert version.startswith("PostgreSQL "), version


def test_postgres_urls_are_distinct_empty_databases(
    postgres_url: str, postgres_url_factory: Callable[[], str]
) -> None:
    other = postgres_url_factory()
    names = {_scalar(u, "SELECT current_database()") for u in (postgres_url, other)}
    assert len(names) == 2
    count_tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    assert _scalar(postgres_url, count_tables) == 0
    engine = sa.create_engine(postgres_url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE only_here (k INTEGER)"))
    finally:
        engine.dispose()
    assert _scalar(postgres_url, count_tables) == 1
    assert _scalar(other, count_tables) == 0


def test_dropping_a_database_closes_its_open_connections(
    postgres_url: str, _postgres_server: PostgresServer
) -> None:
    name = sa.make_url(postgres_url).database
    engine = sa.create_engine(postgres_url)  # a pool left open, like a store never closed
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        _postgres_server.drop_database(postgres_url)
    finally:
        engine.dispose()
    with _postgres_server.engine.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
    assert exists == 0


def test_a_server_left_by_a_killed_session_is_reaped_by_the_next() -> None:
    psutil = pytest.importorskip("psutil")
    pytest.importorskip("pgserver")
    orphan_maker = (
        "import os; from dsa_pipelines_tests.postgres import start_pgserver; "
        "print(start_pgserver().admin_url, flush=True); os._exit(0)"  # no atexit, no close
    )
    result = subprocess.run(
        [sys.executable, "-c", orphan_maker], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip().splitlines()[-1]
    socket_dir = Path(sa.make_url(url).query["host"])
    workdir = socket_dir.parent
    postmaster = psutil.Process(int((socket_dir / "postmaster.pid").read_text().split()[0]))
    assert _scalar(url, "SELECT 1") == 1  # the server outlived its test process

    assert workdir in reap_orphans(workdir.parent)
    assert not workdir.exists()
    try:
        assert postmaster.status() == psutil.STATUS_ZOMBIE  # exited, not yet reaped by init
    except psutil.NoSuchProcess:
        pass


# --------------------------------------------------------------------------- CI rule


def _run_pytest(tmp_path: Path, test_source: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run pytest in a subprocess on one test file, with this project's conftest."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = -ra -p no:cacheprovider\nmarkers =\n    postgres: real PostgreSQL\n"
    )
    (tmp_path / "conftest.py").write_text(
        "from dsa_pipelines_tests.conftest import *  # noqa: F403\n"
        "from dsa_pipelines_tests.conftest import _postgres_server  # noqa: F401\n"
    )
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(test_source))
    child_env = {k: v for k, v in os.environ.items() if k not in ("CI", ENV_URL)}
    python_path = [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in python_path if p)
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path)],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


SKIPPING_TESTS = """
    import pytest

    def test_runs():
        pass

    def test_skips():
        pytest.skip("not today")
"""


def test_a_skip_passes_locally(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, SKIPPING_TESTS)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout


def test_in_ci_a_skip_fails_the_session(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, SKIPPING_TESTS, CI="true")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "CI=true: skipped tests fail the run" in result.stdout
    assert "SKIPPED test_sample.py::test_skips" in result.stdout


def _refusing_postgres_url() -> str:
    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres?connect_timeout=5"


UNREACHABLE_POSTGRES_TEST = """
    def test_needs_postgres(postgres_url):
        pass
"""


def test_unreachable_postgres_skips_locally_with_the_reason(tmp_path: Path) -> None:
    url = _refusing_postgres_url()
    result = _run_pytest(tmp_path, UNREACHABLE_POSTGRES_TEST, **{ENV_URL: url})
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "cannot connect to PostgreSQL" in result.stdout


def test_in_ci_unreachable_postgres_fails_the_test(tmp_path: Path) -> None:
    url = _refusing_postgres_url()
    result = _run_pytest(tmp_path, UNREACHABLE_POSTGRES_TEST, CI="true", **{ENV_URL: url})
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "1 error" in result.stdout  # pytest reports a failing fixture as an error
    assert "skipped" not in result.stdout
    assert "CI=true and a required backend is unavailable" in result.stdout
