"""Settings: every variable, defaults, and a clear error naming a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsa_pipelines.settings import Settings
from dsa_pipelines.storage import InvalidInput


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.store_root == Path("data/store") and s.catalog_url is None
    assert (s.landing_interval_seconds, s.catalog_sensor_interval_seconds) == (3, 30)
    assert (s.reports_port, s.reports_url, s.store_root_set) == (3070, "http://127.0.0.1:3070", False)
    assert (s.duckdb_memory_limit, s.expectations_max_rows, s.dagster_home) == ("512MB", 1_000_000, None)


def test_every_variable_is_read() -> None:
    s = Settings.from_env({
        "DSA_STORE_ROOT": "/s", "DSA_CATALOG_URL": "sqlite://", "DSA_LANDING_DIR": "/l",
        "DSA_LANDING_INTERVAL_SECONDS": "3", "DSA_CATALOG_SENSOR_INTERVAL_SECONDS": "4",
        "DSA_DUCKDB_MEMORY_LIMIT": "2GB", "DSA_EXPECTATIONS_DIR": "/e", "DSA_EXPECTATIONS_MAX_ROWS": "5",
        "DAGSTER_HOME": "/d", "DSA_REPORTS_PORT": "8123", "DSA_REPORTS_URL": "https://reports.example/x/",
        "DSA_USER": " ana ", "DSA_ADMIN": "ana, bo,,"})
    assert s == Settings(Path("/s"), "sqlite://", Path("/l"), 3, 4, "2GB", Path("/e"), 5, Path("/d"),
                         reports_port=8123, reports_url="https://reports.example/x", store_root_set=True,
                         user="ana", admins=frozenset({"ana", "bo"}))
    assert Settings.from_env({"DSA_REPORTS_PORT": "8123"}).reports_url == "http://127.0.0.1:8123"


def test_the_user_defaults_to_the_os_login() -> None:
    from dsa_pipelines.settings import os_login  # noqa: PLC0415

    assert Settings.from_env({}).user == os_login() != ""


@pytest.mark.parametrize(("name", "value", "message"), [
    ("DSA_EXPECTATIONS_MAX_ROWS", "lots", "a whole number"),
    ("DSA_LANDING_INTERVAL_SECONDS", "0", "at least 1"),
    ("DSA_REPORTS_PORT", "70000", "a port number"),
    ("DSA_DUCKDB_MEMORY_LIMIT", "512MB'; COPY", "a size such as"),
])
def test_a_bad_value_names_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"{name} must be {message}"):
        Settings.from_env({name: value})


def test_integrity_limits_are_read() -> None:
    s = Settings.from_env({"DSA_TEMP_GRACE_SECONDS": "0", "DSA_CSV_MAX_LINE_BYTES": "100",
                           "DSA_XLSX_MAX_INFLATED_BYTES": "2048", "DSA_XLSX_MAX_RATIO": "50"})
    limits = (s.temp_grace_seconds, s.csv_max_line_bytes, s.xlsx_max_inflated_bytes, s.xlsx_max_ratio)
    assert limits == (0, 100, 2048, 50)
    d = Settings.from_env({})
    assert (d.temp_grace_seconds, d.csv_max_line_bytes, d.xlsx_max_inflated_bytes, d.xlsx_max_ratio) == (
        86_400, 2_000_000, 512 * 1024**2, 200)
    with pytest.raises(InvalidInput, match="DSA_XLSX_MAX_RATIO must be a whole number"):
        Settings.from_env({"DSA_XLSX_MAX_RATIO": "lots"})
