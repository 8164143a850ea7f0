"""The storage core never imports dagster (DESIGN.md §1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

STORAGE = Path(__file__).resolve().parents[1] / "dsa_pipelines" / "storage"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_storage_module_imports_dagster() -> None:
    files = sorted(STORAGE.rglob("*.py"))
    assert len(files) > 10
    offenders = {str(f.relative_to(STORAGE)): sorted(m for m in _imported_modules(f)
                                                     if m.split(".")[0].startswith("dagster"))
                 for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_storage_loads_no_dagster() -> None:
    code = ("import sys, dsa_pipelines.storage, dsa_pipelines.storage.drift, dsa_pipelines.storage.expectations; "
            "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('dagster')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
