"""Deciding a file's format from its bytes, and finding the first byte that is not UTF-8.

The extension says what the uploader meant; the first and last bytes say what the file
is. They must agree: a Parquet file named ``.csv`` or a CSV named ``.xlsx`` is rejected
with a message saying what the content looks like, instead of a parser's puzzling error.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import InvalidFile
from .source import invalid_file

PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
GZIP_MAGIC = b"\x1f\x8b"
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "txt",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}
"""Supported extensions (lower case) and the format each names."""

_CONTENT_OF_FORMAT = {"csv": "text", "tsv": "text", "txt": "text", "excel": "zip", "parquet": "parquet"}
_TEXT_PROBE = 8192
_CHUNK = 1 << 20

_DESCRIPTIONS = {
    "parquet": "a Parquet file",
    "zip": "a ZIP archive (such as an .xlsx workbook)",
    "ole2": "an OLE2 compound file (a legacy .xls workbook or a password-protected .xlsx)",
    "gzip": "gzip-compressed data",
    "utf16": "UTF-16 text",
    "binary": "unrecognised binary data",
    "text": "text (such as CSV)",
}


def content_kind(head: bytes, tail: bytes) -> str:
    """Classify a file by its first bytes (up to 8 KiB) and last 4 bytes.

    Returns:
        One of ``parquet``, ``zip``, ``ole2``, ``gzip``, ``utf16``, ``binary``, ``text``.
    """
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE2_MAGIC):
        return "ole2"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(UTF16_BOMS):
        return "utf16"
    if b"\x00" in head:
        return "binary"
    return "text"


def detect_format(path: Path) -> str:
    """Check that ``path`` is a readable, non-empty file whose content fits its extension.

    Args:
        path: The source file.

    Returns:
        The format: ``csv``, ``tsv``, ``txt``, ``excel`` or ``parquet``.

    Raises:
        InvalidFile: The file does not exist, is a directory, is empty, has an
            unsupported extension, or its content is not what the extension says.
    """
    where = str(path)
    if not path.exists():
        raise invalid_file(f"{where}: file does not exist", path=where)
    if not path.is_file():
        raise invalid_file(f"{where}: is not a file (a directory?)", path=where)
    suffix = path.suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        hint = "; save legacy .xls workbooks as .xlsx" if suffix == ".xls" else ""
        supported = ", ".join(FORMATS)
        raise invalid_file(
            f"{where}: unsupported file type {suffix or '(no extension)'!r}; supported: {supported}{hint}", path=where)
    size = path.stat().st_size
    if size == 0:
        raise invalid_file(f"{where}: file is empty (0 bytes)", path=where, byte_offset=0)
    with path.open("rb") as f:
        head = f.read(_TEXT_PROBE)
        f.seek(max(size - len(PARQUET_MAGIC), 0))
        tail = f.read()
    kind = content_kind(head, tail)
    expected = _CONTENT_OF_FORMAT[fmt]
    if kind == expected:
        if kind == "parquet" and (size < 2 * len(PARQUET_MAGIC) or tail != PARQUET_MAGIC):
            raise invalid_file(
                f"{where}: Parquet file is truncated or corrupt: it starts with 'PAR1' but does not end with it",
                path=where, byte_offset=size)
        return fmt
    if fmt == "excel" and kind == "ole2":
        raise invalid_file(
            f"{where}: is an encrypted (password-protected) workbook or a legacy .xls file, not a plain .xlsx; "
            "remove the password or save it as .xlsx", path=where)
    if expected == "text" and kind == "utf16":
        raise invalid_file(f"{where}: is UTF-16 text; only UTF-8 is supported, save it as UTF-8", path=where)
    if expected == "text" and kind == "binary" and _looks_like_text(head):
        raise nul_byte_error(where, head, head.index(b"\x00"))
    raise invalid_file(
        f"{where}: the extension is {suffix} but the content looks like {_DESCRIPTIONS[kind]}", path=where)


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 text with a few NUL bytes (a damaged or oddly exported CSV), not a binary file."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3:  # not just a sequence cut at the probe's end
            return False
    return head.count(b"\x00") <= 4 + len(head) // 100


def nul_byte_error(where: str, data: bytes, offset: int, base_offset: int = 0, base_line: int = 1,
                   path: str | None = None) -> InvalidFile:
    """The error for a NUL byte in a text file, naming line, byte offset and field.

    Args:
        where: The file, for the message.
        path: The file path (default: ``where``).
        data: Bytes of the file starting at ``base_offset`` (line ``base_line``).
        offset: Index of the NUL in ``data``.
    """
    start = data.rfind(b"\n", 0, offset) + 1
    line_bytes = data[start:offset]
    line = base_line + data.count(b"\n", 0, offset)
    delimiter = max(b",;\t|", key=lambda d: line_bytes.count(bytes([d])))
    field = line_bytes.count(bytes([delimiter])) + 1
    return invalid_file(
        f"{where}: line {line}, field {field} (byte offset {base_offset + offset}): contains a NUL byte (0x00), "
        "which text files never hold; remove it or export the file again", path=path or where, line=line,
        column=str(field), byte_offset=base_offset + offset)


def find_invalid_utf8(path: Path) -> tuple[int, int] | None:
    """Find the first byte of ``path`` that is not valid UTF-8, reading 1 MiB at a time.

    Returns:
        ``(byte_offset, line)`` of the first bad byte (offset 0-based, line 1-based), or
        None when the whole file is valid UTF-8.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    fed = 0  # bytes fed to the decoder before the current chunk
    newlines = 0  # newlines in those bytes
    with path.open("rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            pending = len(decoder.getstate()[0])  # an incomplete sequence carried over
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                offset = fed - pending + e.start
                # a carried-over partial sequence never contains a newline
                line = newlines + chunk[: max(offset - fed, 0)].count(b"\n") + 1
                return offset, line
            if not chunk:
                return None
            fed += len(chunk)
            newlines += chunk.count(b"\n")
