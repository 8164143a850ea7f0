"""The one reader of the environment: every setting the README lists, as a frozen value.

Nothing else in the package reads ``os.environ``. :func:`current` reads the variables
each time it is called (a handful of dictionary look-ups), so a process always sees its
own environment, and a test that sets a variable sees it too; code that must hold one
configuration passes a :class:`Settings` around instead.

=====================================  ==================================================
``DSA_STORE_ROOT``                     object store root (default ``data/store``)
``DSA_CATALOG_URL``                    catalog SQLAlchemy URL (default SQLite in the root)
``DSA_LANDING_DIR``                    landing folder (default ``data/landing``)
``DSA_LANDING_INTERVAL_SECONDS``       landing sensor interval (default 3)
``DSA_CATALOG_SENSOR_INTERVAL_SECONDS``  catalog sensors' interval (default 30)
``DSA_DUCKDB_MEMORY_LIMIT``            memory cap of every DuckDB connection (default 512MB)
``DSA_EXPECTATIONS_DIR``               Great Expectations suites (default ``data/expectations``)
``DSA_EXPECTATIONS_MAX_ROWS``          rows validated per table (default 1,000,000)
``DSA_REPORTS_PORT``                   port of the local reports server ``make dev`` starts (default 3070)
``DSA_REPORTS_URL``                    base URL of the served reports (default ``http://127.0.0.1:<port>``)
``DSA_USER``                           the acting user (default: the OS login name)
``DSA_ADMIN``                          comma-separated users who are store admins
``DAGSTER_HOME``                       the Dagster instance folder (``make`` sets ``data/dagster``)
``DSA_TEMP_GRACE_SECONDS``             age after which a store temp file is a dead writer's (default 86,400)
``DSA_CSV_MAX_LINE_BYTES``             longest CSV line accepted (default 2,000,000)
``DSA_XLSX_MAX_INFLATED_BYTES``        bytes a workbook may inflate to in total (default 512 MiB)
``DSA_XLSX_MAX_RATIO``                 compression ratio allowed for a workbook member over 16 MiB (200)
=====================================  ==================================================
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dsa_pipelines.storage.errors import InvalidInput

DEFAULT_STORE_ROOT = "data/store"
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as e:
        raise InvalidInput(f"{name} must be a whole number, not {raw!r}", setting=name) from e
    if value < minimum:
        raise InvalidInput(f"{name} must be at least {minimum}, not {value}", setting=name)
    return value


def _size(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not _SIZE.match(raw):
        raise InvalidInput(f"{name} must be a size such as 512MB or 2GB, not {raw!r}", setting=name)
    return raw.replace(" ", "")


@dataclass(frozen=True)
class Settings:
    """The deployment's configuration (see the module docstring for the variables)."""

    store_root: Path
    catalog_url: str | None
    landing_dir: Path
    landing_interval_seconds: int
    catalog_sensor_interval_seconds: int
    duckdb_memory_limit: str
    expectations_dir: Path
    expectations_max_rows: int
    dagster_home: Path | None
    temp_grace_seconds: int = 86_400
    csv_max_line_bytes: int = 2_000_000
    xlsx_max_inflated_bytes: int = 512 * 1024**2
    xlsx_max_ratio: int = 200
    reports_port: int = 3070
    reports_url: str = "http://127.0.0.1:3070"
    store_root_set: bool = False  # DSA_STORE_ROOT was given (not the implicit default)
    user: str = ""
    admins: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from an environment mapping (default: this process's).

        Raises:
            InvalidInput: a variable holds a value that cannot be used (it is named).
        """
        env = os.environ if env is None else env
        port = _int(env, "DSA_REPORTS_PORT", 3070)
        if port > 65535:
            raise InvalidInput(f"DSA_REPORTS_PORT must be a port number (1-65535), not {port}",
                               setting="DSA_REPORTS_PORT")
        return cls(
            store_root=Path(env.get("DSA_STORE_ROOT") or DEFAULT_STORE_ROOT),
            catalog_url=env.get("DSA_CATALOG_URL") or None,
            landing_dir=Path(env.get("DSA_LANDING_DIR") or "data/landing"),
            landing_interval_seconds=_int(env, "DSA_LANDING_INTERVAL_SECONDS", 3),
            catalog_sensor_interval_seconds=_int(env, "DSA_CATALOG_SENSOR_INTERVAL_SECONDS", 30),
            duckdb_memory_limit=_size(env, "DSA_DUCKDB_MEMORY_LIMIT", "512MB"),
            expectations_dir=Path(env.get("DSA_EXPECTATIONS_DIR") or "data/expectations"),
            expectations_max_rows=_int(env, "DSA_EXPECTATIONS_MAX_ROWS", 1_000_000),
            dagster_home=Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else None,
            temp_grace_seconds=_int(env, "DSA_TEMP_GRACE_SECONDS", 86_400, minimum=0),
            csv_max_line_bytes=_int(env, "DSA_CSV_MAX_LINE_BYTES", 2_000_000),
            xlsx_max_inflated_bytes=_int(env, "DSA_XLSX_MAX_INFLATED_BYTES", 512 * 1024**2),
            xlsx_max_ratio=_int(env, "DSA_XLSX_MAX_RATIO", 200),
            reports_port=port,
            reports_url=(env.get("DSA_REPORTS_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
            store_root_set=bool(env.get("DSA_STORE_ROOT")),
            user=(env.get("DSA_USER") or "").strip() or os_login(),
            admins=frozenset(a.strip() for a in (env.get("DSA_ADMIN") or "").split(",") if a.strip()),
        )


def os_login() -> str:
    """The login name of this process's OS user (from the password database, not the environment)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"


def current() -> Settings:
    """The settings of this process's environment, read now."""
    return Settings.from_env()


def quiet_profiling_library() -> None:
    """Tell ydata-profiling not to call home (it reads ``YDATA_PROFILING_NO_ANALYTICS``)."""
    os.environ.setdefault("YDATA_PROFILING_NO_ANALYTICS", "1")
