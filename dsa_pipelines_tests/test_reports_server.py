"""The reports server: a stored report opens over HTTP at the URL the UI links to."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dsa_pipelines.reports_server import report_url, serve
from dsa_pipelines.storage import Store


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, b"", ""


def test_a_stored_report_is_served_at_its_url_and_nothing_else_is(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store") as store:
        report_id = store.put_report(b"<html><body>profile</body></html>", ".html")
        path = store.report_path(report_id, ".html")
        root = store.reports_root()
    (tmp_path / "store" / "secret.txt").write_text("not a report")
    server, thread = serve(root, port=0)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        url = report_url(root, path, base)
        assert url == f"{base}/{report_id[:2]}/{report_id[2:]}.html"
        status, body, kind = _get(url)
        assert (status, body, kind) == (200, b"<html><body>profile</body></html>", "text/html")
        assert _get(f"{base}/")[0] == 404  # no listing
        assert _get(f"{base}/{report_id[:2]}/")[0] == 404
        assert _get(f"{base}/../../secret.txt")[0] == 404  # nothing outside the reports folder
        assert _get(f"{base}/%2e%2e/%2e%2e/secret.txt")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_report_outside_the_folder_has_no_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        report_url(tmp_path / "reports", tmp_path / "elsewhere.html", "http://x")
