"""``make dev``'s launcher: stopping leaves no process of dagster dev's group behind."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dsa_pipelines import dev

# A parent that ignores SIGTERM and a child that ignores it too: the worst case for a clean stop.
_STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                  "time.sleep(600)"])
time.sleep(600)
"""

# A parent that stops on SIGTERM but leaves its child running (what left code servers behind).
_ORPHANING = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
time.sleep(600)
"""


def _started(code: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", code], process_group=0)
    deadline = time.monotonic() + 30
    while len(dev.group_pids(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(dev.group_pids(process.pid)) == 2
    return process


@pytest.mark.parametrize("code", [_STUBBORN, _ORPHANING], ids=["ignores SIGTERM", "orphans its child"])
def test_stop_group_leaves_nothing_behind(code: str) -> None:
    process = _started(code)
    dev.stop_group(process, timeout=3)
    assert process.returncode is not None
    assert dev.group_pids(process.pid) == []


def test_a_busy_reports_port_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("DSA_REPORTS_PORT", str(busy.getsockname()[1]))
        monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "store"))
        assert dev.run("127.0.0.1", 0) == 2
    err = capsys.readouterr().err
    assert "cannot listen" in err and "set DSA_REPORTS_PORT" in err
