"""The README's promises: its Python code blocks run as written on a fresh store."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a Markdown text, in order."""
    return BLOCK.findall(text)


def test_the_readme_python_blocks_run_on_a_fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    assert blocks, "the README has Python examples"
    shutil.copytree(REPO / "data" / "samples", tmp_path / "data" / "samples")
    monkeypatch.chdir(tmp_path)  # the snippets use paths relative to the project folder
    for name in ("DSA_STORE_ROOT", "DSA_CATALOG_URL"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)  # noqa: S102 — our own README
    store = namespace["store"]
    assert (tmp_path / "data" / "store" / "catalog.db").exists()  # a fresh store, in the snippet's folder
    assert (tmp_path / "out.csv").exists()
    store.close()
