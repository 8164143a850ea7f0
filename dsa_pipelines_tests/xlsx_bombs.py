"""Hostile workbooks made on the fly (shared by the reader tests and the bench)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl

_SHEET = "xl/worksheets/sheet1.xml"


def workbook_with_rows(path: Path, rows: list[list[object]]) -> Path:
    """A plain one-sheet workbook."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def _rewrite_sheet(path: Path, edit) -> Path:
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info.filename) for info in src.infolist()}
    parts[_SHEET] = edit(parts[_SHEET].decode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


_PADDED_ROW = '<row spans="1:2" ht="15" customHeight="1" thickBot="0" thickTop="0" outlineLevel="0"/>'


def empty_rows_bomb(path: Path, empty_rows: int) -> Path:
    """Two data rows, then ``empty_rows`` rows that hold no cell, each ~90 bytes of XML that compress
    ~1000-fold (like a sheet formatted down to row 1,048,576)."""
    workbook_with_rows(path, [["id", "name"], [1, "a"], [2, "b"]])

    def edit(xml: str) -> str:
        filler = _PADDED_ROW * empty_rows
        return xml.replace("</sheetData>", filler + "</sheetData>").encode()

    return _rewrite_sheet(path, edit)


def uncalculated_formulas(path: Path) -> Path:
    """A sheet whose B2 and B3 are formulas saved without cached values."""
    workbook_with_rows(path, [["a", "b"], [1, "=A2*2"], [2, "=A3*2"]])
    return path


def serial_60(path: Path) -> Path:
    """A date column holding serial 59 (1900-02-28), 60 (the non-existent 1900-02-29) and 61."""
    import datetime as dt

    days = [dt.datetime(1900, 2, 28), dt.datetime(1900, 3, 1), dt.datetime(1900, 3, 2)]
    workbook_with_rows(path, [["day"], *[[d] for d in days]])

    def edit(xml: str) -> str:
        return xml.replace("<v>61</v>", "<v>60</v>", 1).encode()

    return _rewrite_sheet(path, edit)
