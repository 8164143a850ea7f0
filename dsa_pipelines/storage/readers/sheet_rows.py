"""The rows of a worksheet, bounded: inflation caps, sparse rows, and cells that cannot be trusted.

An .xlsx file is a ZIP archive; its sheet XML may inflate to hundreds of times its size
(a "zip bomb", or a sheet with a million empty rows). Before a workbook is opened, every
archive member is checked against two limits (``$DSA_XLSX_MAX_INFLATED_BYTES``, default
512 MiB in total, and ``$DSA_XLSX_MAX_RATIO``, default 200 for members over 16 MiB);
Python's zipfile never inflates a member past the size its directory declares, so the
declared sizes bound the work.

Rows are read straight from openpyxl's streaming sheet parser: only the cells present
in the XML are touched, so empty rows (trailing or not) cost one XML element each, never
a row of padding. While parsing, two kinds of cell are collected and refused (naming the
sheet and the cells): a formula without a cached value (the workbook was saved by a
program that does not calculate; the value would silently be NULL), and a date cell
holding serial 60 in the 1900 date system, Excel's non-existent 1900-02-29.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

from openpyxl.utils.datetime import WINDOWS_EPOCH
from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

from dsa_pipelines import settings

from .source import invalid_file

MAX_INFLATED_BYTES = 512 * 1024**2
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 16 * 1024**2
"""Members smaller than this when inflated may have any compression ratio."""
_LISTED = 10
_FEB_28_1900 = dt.date(1900, 2, 28)  # what openpyxl makes of serials 59 and 60


def xlsx_limits() -> tuple[int, float]:
    """(total inflated bytes, compression ratio) allowed: ``DSA_XLSX_MAX_INFLATED_BYTES``, ``DSA_XLSX_MAX_RATIO``."""
    current = settings.current()
    return current.xlsx_max_inflated_bytes, float(current.xlsx_max_ratio)


def check_archive(path: Path, origin: str) -> None:
    """Refuse a workbook whose members inflate past the limits, before any XML is parsed.

    Raises:
        InvalidFile: naming the member, its sizes and the setting to change.
    """
    max_total, max_ratio = xlsx_limits()
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise invalid_file(f"{origin}: is not a readable .xlsx workbook (corrupt or truncated): {e}",
                           path=str(path)) from e
    total = 0
    for info in members:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > max_ratio:
            raise invalid_file(
                f"{origin}: member {info.filename} inflates from {info.compress_size:,} to {info.file_size:,} bytes "
                f"(ratio {ratio:,.0f}, limit {max_ratio:,.0f}); this looks like a zip bomb. If the file is genuine, "
                "raise DSA_XLSX_MAX_RATIO or save it as CSV/Parquet", path=str(path), member=info.filename)
        if total > max_total:
            raise invalid_file(
                f"{origin}: inflates to more than {max_total:,} bytes (at member {info.filename}); raise "
                "DSA_XLSX_MAX_INFLATED_BYTES if the file is genuine, or save it as CSV/Parquet",
                path=str(path), member=info.filename)


class _Parser(WorkSheetParser):
    """openpyxl's streaming parser, noting cells whose value cannot be trusted."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.uncalculated: list[str] = []
        self.serial_60: list[str] = []

    def parse_row(self, row):  # openpyxl's hook, minus the row dimensions it keeps for every row
        number = row.get("r")
        self.row_counter = int(float(number)) if number is not None else self.row_counter + 1
        self.col_counter = 0
        return self.row_counter, [self.parse_cell(el) for el in row] if len(row) else []

    def parse_cell(self, element):  # openpyxl's hook; the checks run only on the rare cells they concern
        cell = super().parse_cell(element)
        value = cell["value"]
        if value is None:  # an empty cell, or a formula whose cached value is missing (<v/> only counts for t="str")
            if element.find(FORMULA_TAG) is not None and element.get("t") != "str":
                self.uncalculated.append(element.get("r") or f"row {cell['row']} column {cell['column']}")
        elif (cell["data_type"] == "d" and self.epoch == WINDOWS_EPOCH and isinstance(value, dt.datetime)
              and value.date() == _FEB_28_1900 and 60 <= float(element.findtext(VALUE_TAG)) < 61):
            self.serial_60.append(element.get("r") or f"row {cell['row']} column {cell['column']}")
        return cell


def sheet_rows(ws, *, origin: str, path: str) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Yield ``(row number, values)`` for every row of a read-only worksheet that has a cell.

    ``values`` runs from column A to the row's last cell present in the XML. After the
    last row, refuses the sheet if it held formulas without cached values or serial-60 dates.

    Raises:
        InvalidFile: naming the sheet and (up to ten of) the cells.
    """
    wb = ws.parent
    with ws._get_source() as source:  # the sheet's XML stream, opened as openpyxl opens it
        parser = _Parser(source, ws._shared_strings, data_only=True, epoch=wb.epoch,
                         date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        for number, cells in parser.parse():
            if not cells:
                continue
            values: list[object] = [None] * max(c["column"] for c in cells)
            for c in cells:
                values[c["column"] - 1] = c["value"]
            yield number, tuple(values)
    uncalculated = ("formulas without a cached value (the workbook was saved without calculating them; "
                    "open and save it in Excel or LibreOffice)")
    for cells, problem in ((parser.uncalculated, uncalculated),
                           (parser.serial_60, "the date serial 60, Excel's 1900-02-29, which does not exist")):
        if cells:
            listed = ", ".join(cells[:_LISTED]) + (f" and {len(cells) - _LISTED} more" if len(cells) > _LISTED else "")
            raise invalid_file(f"{origin}: cells {listed} hold {problem}", path=path, column=cells[0],
                               cells=cells[:_LISTED])
