"""Shared fixtures: the catalog backends every behaviour test runs against.

Fixtures:
    catalog_url: a catalog SQLAlchemy URL, parametrised over ``sqlite-file``,
        ``sqlite-memory`` and ``postgres`` (a fresh database per test).
    store: ``Store.open(root=tmp_path / "store", catalog_url=catalog_url)``, closed
        after the test.
    postgres_url: a fresh, empty database on the session's PostgreSQL server.
    postgres_url_factory: call it for more fresh databases in one test.

PostgreSQL comes from ``DSA_TEST_POSTGRES_URL`` or a pgserver cluster started once per
session (see ``postgres.py``). Tests using it are marked ``postgres``.

CI rule: with ``CI=true`` a test that cannot get PostgreSQL fails instead of
skipping, and a session with any skipped test exits non-zero.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from dsa_pipelines_tests.postgres import PostgresServer, PostgresUnavailable, open_server

if TYPE_CHECKING:
    from dsa_pipelines.storage import Store

_POSTGRES_FIXTURES = frozenset({"postgres_url", "postgres_url_factory"})


def in_ci() -> bool:
    """True when the environment says this is a CI run (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def unavailable(reason: str) -> NoReturn:
    """Skip the current test locally; fail it in CI, where a skip hides a gap."""
    if in_ci():
        pytest.fail(f"CI=true and a required backend is unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def _postgres_server() -> Iterator[PostgresServer | PostgresUnavailable]:
    """The session's server, or why there is none (decided per test, see ``unavailable``)."""
    try:
        server = open_server()
    except PostgresUnavailable as e:
        yield e
        return
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url_factory(
    _postgres_server: PostgresServer | PostgresUnavailable,
) -> Iterator[Callable[[], str]]:
    """Return a function making fresh, empty databases; all are dropped after the test."""
    if isinstance(_postgres_server, PostgresUnavailable):
        unavailable(f"no PostgreSQL server: {_postgres_server}")
    server = _postgres_server
    created: list[str] = []

    def make() -> str:
        url = server.create_database()
        created.append(url)
        return url

    yield make
    for url in created:
        server.drop_database(url)


@pytest.fixture
def postgres_url(postgres_url_factory: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL database (``postgresql+psycopg2://`` URL)."""
    return postgres_url_factory()


# --------------------------------------------------------------------------- backends


@pytest.fixture(
    params=[
        pytest.param("sqlite-file", id="sqlite-file"),
        pytest.param("sqlite-memory", id="sqlite-memory"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A catalog URL for each backend; a test using it runs once per backend."""
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    if request.param == "sqlite-memory":
        return "sqlite:///:memory:"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A catalog that several processes (or two opens) can share: SQLite file or PostgreSQL."""
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(tmp_path: Path, catalog_url: str) -> Iterator[Store]:
    """An empty store on each backend, closed after the test."""
    from dsa_pipelines.storage import Store  # noqa: PLC0415 - the core may not exist yet

    opened = Store.open(root=tmp_path / "store", catalog_url=catalog_url)
    try:
        yield opened
    finally:
        opened.close()


# --------------------------------------------------------------------------- hooks


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that asks for a PostgreSQL database with ``postgres``."""
    for item in items:
        if _POSTGRES_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


class CiSkipGuard:
    """In CI a skip is a failure: records skipped tests and fails the session."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:
            self.skipped.append(report.nodeid or "<collection>")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skipped.append(report.nodeid)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.skipped and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.skipped:
            return
        terminalreporter.section("CI=true: skipped tests fail the run", sep="=", red=True)
        for nodeid in dict.fromkeys(self.skipped):
            terminalreporter.write_line(f"SKIPPED {nodeid}")
        terminalreporter.write_line(
            f"{len(set(self.skipped))} skipped; in CI every test must run (exit status set to 1)."
        )


def pytest_configure(config: pytest.Config) -> None:
    """Register :class:`CiSkipGuard` when ``CI=true``."""
    if in_ci():
        config.pluginmanager.register(CiSkipGuard(), "dsa-ci-skip-guard")
