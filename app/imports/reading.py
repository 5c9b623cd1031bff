"""Reading an uploaded file one record at a time: plain or gzip, CSV or NDJSON, with line numbers.

Nothing here holds more than one chunk of records: the file is a binary stream (a spooled upload,
or a queued import's chunks) decoded and parsed as it is read. ``chunks`` hands the rows over a few
thousand at a time, column by column, so that checking them costs a few list operations per column
rather than a function call per row.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import zlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
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


@dataclass(frozen=True)
class Chunk:
    """Rows in file order: the first line of each, each mapped column's values (``None`` when
    absent or blank), and each row's ``properties`` (``None`` when no column is copied there)."""

    lines: list[int]
    columns: list[list[Any]]
    properties: list[dict[str, Any]] | None

    def __len__(self) -> int:
        return len(self.lines)

    def record(self, row: int) -> Record:
        return Record(
            line=self.lines[row],
            values=tuple(column[row] for column in self.columns),
            properties=self.properties[row] if self.properties is not None else {},
        )


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
    for chunk in chunks(
        raw,
        file_format=file_format,
        columns=columns,
        required=required,
        properties=properties,
        delimiter=delimiter,
    ):
        for row in range(len(chunk)):
            yield chunk.record(row)


def chunks(
    raw: Binary,
    *,
    file_format: str,
    columns: Sequence[str],
    required: Collection[str] = (),
    properties: Sequence[str] | str = (),
    delimiter: str = ",",
    size: int = 10_000,
) -> Iterator[Chunk]:
    """The file's data rows, ``size`` lines at a time, column by column (see ``records``)."""
    binary = open_binary(raw)
    if file_format == "csv":
        yield from _csv_chunks(binary, columns, required, properties, delimiter, size)
        return
    batch: list[Record] = []
    for record in _ndjson_records(_lines(binary), columns, properties):
        batch.append(record)
        if len(batch) >= size:
            yield _chunk_of(batch, columns, properties)
            batch = []
    if batch:
        yield _chunk_of(batch, columns, properties)


def _chunk_of(
    batch: list[Record], columns: Sequence[str], properties: Sequence[str] | str
) -> Chunk:
    return Chunk(
        lines=[r.line for r in batch],
        columns=[[r.values[i] for r in batch] for i in range(len(columns))],
        properties=[r.properties for r in batch] if properties else None,
    )


def _lines(binary: IO[bytes]) -> Iterator[str]:
    """Each line decoded on its own, so a bad byte is reported at its own line."""
    for _first, block in _text_blocks(binary, 1_000):
        yield from block


def _text_blocks(binary: IO[bytes], size: int) -> Iterator[tuple[int, list[str]]]:
    """The file's lines, decoded, ``size`` at a time with the number of the first (from 1).

    A damaged gzip stream is reported at the first line of the block it breaks in."""
    done = 0
    while True:
        try:
            raw = list(itertools.islice(binary, size))
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise FileError(done + 1, "body", "the gzip stream is damaged or cut short") from error
        if not raw:
            return
        try:
            text = [line.decode() for line in raw]
        except UnicodeDecodeError as error:
            bad = next(n for n, line in enumerate(raw) if not _is_utf8(line))
            raise FileError(done + bad + 1, "body", "the file is not UTF-8 text") from error
        if done == 0:
            text[0] = text[0].removeprefix("\ufeff")  # a byte order mark, as utf-8-sig reads it
        yield done + 1, text
        done += len(raw)


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode()
    except UnicodeDecodeError:
        return False
    return True


def _parse(
    lines: list[str], first: int, delimiter: str, *, final: bool
) -> tuple[list[list[str]], list[int], list[str]]:
    """The CSV records of ``lines`` (the first is line ``first``) with the line each starts on,
    and the lines of a last record that goes on past them (unless ``final``)."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        rows = list(reader)
    except csv.Error:
        return _parse_tracked(lines, first, delimiter, final=final)
    if reader.line_num != len(rows):  # a quoted value spans lines: number each record
        return _parse_tracked(lines, first, delimiter, final=final)
    return rows, list(range(first, first + len(rows))), []


def _parse_tracked(
    lines: list[str], first: int, delimiter: str, *, final: bool
) -> tuple[list[list[str]], list[int], list[str]]:
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    starts: list[int] = []
    end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return rows, starts, []
        except csv.Error as error:
            if not final and reader.line_num == len(lines):
                return rows, starts, lines[end:]
            raise FileError(first + end, "body", f"not CSV: {error}") from error
        rows.append(row)
        starts.append(first + end)
        end = reader.line_num


@dataclass(frozen=True)
class _Columns:
    """Where each mapped column and each column copied into ``properties`` is in a CSV row."""

    indexes: list[int]
    extra: list[tuple[str, int]]

    @classmethod
    def of(
        cls,
        header: list[str],
        columns: Sequence[str],
        required: Collection[str],
        properties: Sequence[str] | str,
    ) -> _Columns:
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
        return cls(indexes, extra)

    def chunk(self, rows: list[list[str]], starts: list[int]) -> Chunk:
        if min(map(len, rows)) <= 1:  # blank lines are no rows
            kept = [n for n, row in enumerate(rows) if len(row) > 1 or (row and row[0].strip())]
            rows, starts = [rows[n] for n in kept], [starts[n] for n in kept]
        short = bool(rows) and min(map(len, rows)) <= max(self.indexes, default=-1)
        return Chunk(
            lines=starts,
            columns=[self._column(rows, index, short) for index in self.indexes],
            properties=[
                {name: row[i] for name, i in self.extra if i < len(row) and row[i] != ""}
                for row in rows
            ]
            if self.extra
            else None,
        )

    @staticmethod
    def _column(rows: list[list[str]], index: int, short: bool) -> list[Any]:
        if index < 0:
            return [None] * len(rows)
        if short:
            return [(row[index].strip() or None) if index < len(row) else None for row in rows]
        values: list[Any] = list(map(str.strip, map(itemgetter(index), rows)))
        return [value or None for value in values] if "" in values else values


def _csv_chunks(
    binary: IO[bytes],
    columns: Sequence[str],
    required: Collection[str],
    properties: Sequence[str] | str,
    delimiter: str,
    size: int,
) -> Iterator[Chunk]:
    """The rows of ``size`` lines at a time; a record whose quoted value goes on past a block's
    last line is read with the next block."""
    picked: _Columns | None = None
    carried: list[str] = []
    for first, block in _text_blocks(binary, size):
        lines, start = (carried + block, first - len(carried)) if carried else (block, first)
        if picked is None:
            header, header_lines = _header(lines, delimiter)
            picked = _Columns.of(header, columns, required, properties)
            lines, start = lines[header_lines:], start + header_lines
        rows, starts, carried = _parse(lines, start, delimiter, final=False)
        if rows:
            yield picked.chunk(rows, starts)
        start += len(lines) - len(carried)
    if carried:
        assert picked is not None
        rows, starts, _ = _parse(carried, start, delimiter, final=True)
        if rows:
            yield picked.chunk(rows, starts)


def _header(lines: list[str], delimiter: str) -> tuple[list[str], int]:
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        return next(reader), reader.line_num
    except (csv.Error, StopIteration) as error:
        raise FileError(1, "body", f"not CSV: {error}") from error


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
