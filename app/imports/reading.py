"""Reading an uploaded file one record at a time: plain or gzip, CSV or NDJSON, with line numbers.

Nothing here holds more than one record: the file is a binary stream (a spooled upload, or a queued
import's chunks) decoded and parsed as it is read.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Collection, Iterator, Sequence
from typing import IO, Any, NamedTuple

GZIP_MAGIC = b"\x1f\x8b"
ALL_OTHER_COLUMNS = "*"
BUFFER_BYTES = 256 * 1024


class FileError(Exception):
    """The file cannot be read on from ``line``: the whole import stops, naming where."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(f"line {line}: {field}: {message}")
        self.line = line
        self.field = field
        self.message = message


class Record(NamedTuple):
    """One row: its first line in the file, the mapped columns' values in the mapping's order
    (``None`` when absent or blank), and the columns copied into ``properties``."""

    line: int
    values: Sequence[Any]
    properties: dict[str, Any]


Binary = IO[bytes] | io.RawIOBase


def open_binary(raw: Binary) -> IO[bytes]:
    """The stream as sent, or decompressed on the fly when it starts with the gzip magic bytes."""
    if isinstance(raw, io.BufferedReader):
        buffered = raw
    else:
        inner = raw if isinstance(raw, io.RawIOBase) else _Raw(raw)
        buffered = io.BufferedReader(inner, buffer_size=BUFFER_BYTES)
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return io.BufferedReader(gzip.GzipFile(fileobj=buffered, mode="rb"), BUFFER_BYTES)
    return buffered


class _Raw(io.RawIOBase):
    """Adapts any binary file object (a SpooledTemporaryFile has no ``peek``) to a raw stream."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def records(
    raw: Binary,
    *,
    file_format: str,
    columns: Sequence[str],
    required: Collection[str] = (),
    properties: Sequence[str] | str = (),
    delimiter: str = ",",
) -> Iterator[Record]:
    """Each data row of the file, with the values of ``columns`` (source column names); a CSV
    header must hold every ``required`` column."""
    text = _lines(open_binary(raw))
    if file_format == "csv":
        yield from _csv_records(text, columns, required, properties, delimiter)
    else:
        yield from _ndjson_records(text, columns, properties)


def _lines(binary: IO[bytes]) -> Iterator[str]:
    """Each line decoded on its own, so a bad byte is reported at its own line."""
    line = 0
    try:
        for line, raw_line in enumerate(binary, start=1):
            yield raw_line.decode("utf-8-sig" if line == 1 else "utf-8")
    except UnicodeDecodeError as error:
        raise FileError(line, "body", "the file is not UTF-8 text") from error
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise FileError(line + 1, "body", "the gzip stream is damaged or cut short") from error


def _csv_records(
    text: Iterator[str],
    columns: Sequence[str],
    required: Collection[str],
    properties: Sequence[str] | str,
    delimiter: str,
) -> Iterator[Record]:
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise FileError(1, "body", f"not CSV: {error}") from error
    position = {name.strip(): index for index, name in enumerate(header)}
    missing = [name for name in required if name not in position]
    if missing:
        raise FileError(1, "header", f"no column named '{missing[0]}' (the mapping names it)")
    indexes = [position.get(name, -1) if name else -1 for name in columns]
    mapped = set(indexes)
    extra = (
        [(name, i) for name, i in position.items() if i not in mapped]
        if properties == ALL_OTHER_COLUMNS
        else [(name, position[name]) for name in properties if name in position]
    )
    previous_end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FileError(previous_end + 1, "body", f"not CSV: {error}") from error
        line, previous_end = previous_end + 1, reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        width = len(row)
        yield Record(
            line=line,
            values=tuple((row[i].strip() or None) if 0 <= i < width else None for i in indexes),
            properties={name: row[i] for name, i in extra if i < width and row[i] != ""},
        )


def _ndjson_records(
    text: Iterator[str], columns: Sequence[str], properties: Sequence[str] | str
) -> Iterator[Record]:
    for line, raw_line in enumerate(text, start=1):
        if not raw_line.strip():
            continue
        try:
            document = json.loads(raw_line)
        except json.JSONDecodeError as error:
            raise FileError(line, "body", f"not JSON: {error.msg}") from error
        if not isinstance(document, dict):
            raise FileError(line, "body", "each line must be a JSON object")
        values = [_lookup(document, name) if name else None for name in columns]
        if properties == ALL_OTHER_COLUMNS:
            taken = {name.split(".", 1)[0] for name in columns if name}
            extra = {k: v for k, v in document.items() if k not in taken and v is not None}
        else:
            extra = {
                name: value for name in properties if (value := _lookup(document, name)) is not None
            }
        yield Record(line=line, values=values, properties=extra)


def _lookup(document: dict[str, Any], name: str) -> Any:
    """A top-level key, or a dotted path into nested objects (``user.email``)."""
    if name in document:
        value = document[name]
    else:
        value = document
        for part in name.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
    if isinstance(value, str):
        return value.strip() or None
    return value
