"""Printing result sets for people (table) and for programs (csv, json).

The command line and the demo both show query results; this module is the one
place that turns a DB-API result (column names, their DuckDB type names and
rows of Python values) into text, so the two always print the same way.
"""

from __future__ import annotations

import csv
import datetime as _dt
import decimal
import io
import json
import math
import threading
import time
import typing as t
import uuid

import numpy as np

FORMATS = ("table", "csv", "json")

# DuckDB's name for a 4-byte float (T-SQL REAL). Values of these columns reach
# Python as doubles; they are printed as the shortest float32 text instead of
# the long double expansion (40.099998474121094 -> 40.1), which loses nothing.
_FLOAT32_TYPES = {"FLOAT", "REAL", "FLOAT4"}
_NUMERIC_PREFIXES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                     "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL")
_BLOB_SHOWN_BYTES = 16  # a model is megabytes; the table shows only its start


class ResultSet(t.NamedTuple):
    """One result set as the printers need it: names, DuckDB type names, rows."""

    columns: list[str]
    types: list[str]
    rows: list[tuple]


def from_cursor(cursor: t.Any) -> ResultSet:
    """The cursor's current result set, fetched whole (the table format needs every width)."""
    description = cursor.description or []
    return ResultSet([d[0] for d in description], [str(d[1]) for d in description], cursor.fetchall())


def from_result(columns: list[str], types: list[str], table: t.Any, exact: t.Any = None) -> ResultSet:
    """A statement's Arrow result as rows, converted as the cursor converts them (HUGEINT, MAP, TIMETZ...)."""
    from .values import duckdb_text, to_rows  # the one conversion to Python values, shared with fetchall

    row_types = list(types)
    for i, typ in enumerate(types):
        if typ.upper() == "TIMESTAMP_NS":  # a Python datetime holds microseconds: DATETIME2's 100 ns as text
            table = table.set_column(i, table.field(i).name, duckdb_text(table.column(i)))
            row_types[i] = "VARCHAR"
    return ResultSet(list(columns), list(types), to_rows(table, exact, list(columns), row_types))


def write(result: ResultSet, fmt: str, out: t.TextIO) -> None:
    """Print one result set in `fmt` ("table", "csv" or "json")."""
    if fmt == "table":
        out.write(format_table(result))
    elif fmt == "csv":
        out.write(format_csv(result))
    elif fmt == "json":
        out.write(format_json(result))
    else:
        raise ValueError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")


# ------------------------------------------------------------------ table


def format_table(result: ResultSet, *, max_rows: int | None = None) -> str:
    """Aligned columns under a header, as the sqlite3 and duckdb shells print them.

    Number columns are right-aligned, header included; max_rows cuts long results and says how many
    rows there were, so a demo can show the head of a big table.
    """
    shown = result.rows if max_rows is None else result.rows[:max_rows]
    cells = [[_table_cell(v, typ) for v, typ in zip(row, result.types)] for row in shown]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(result.columns)]
    right = [_is_numeric(typ) for typ in result.types]
    lines = [_table_line(result.columns, widths, right),
             "  ".join("-" * w for w in widths).rstrip()]
    lines += [_table_line(row, widths, right) for row in cells]
    lines.append(_row_count(len(result.rows), len(shown)))
    return "\n".join(lines) + "\n"


def _table_line(cells: t.Sequence[str], widths: list[int], right: list[bool]) -> str:
    parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)]
    return "  ".join(parts).rstrip()


def _row_count(total: int, shown: int) -> str:
    noun = "row" if total == 1 else "rows"
    return f"({total} {noun})" if shown == total else f"({total} {noun}, first {shown} shown)"


def _table_cell(value: t.Any, typ: str) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if len(data) <= _BLOB_SHOWN_BYTES:
            return "0x" + data.hex().upper()
        return f"0x{data[:_BLOB_SHOWN_BYTES].hex().upper()}... ({len(data)} bytes)"
    return _text(value, typ)


def _is_numeric(typ: str) -> bool:
    return typ.upper().startswith(_NUMERIC_PREFIXES) and not typ.endswith("]")


# ------------------------------------------------------------------ csv


def format_csv(result: ResultSet) -> str:
    """RFC 4180 CSV with a header row; NULL is an empty field, a BLOB is 0x hex."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else _csv_cell(v, typ) for v, typ in zip(row, result.types)])
    return buffer.getvalue()


def _csv_cell(value: t.Any, typ: str) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex().upper()
    return _text(value, typ)


# ------------------------------------------------------------------ json


def format_json(result: ResultSet) -> str:
    """One JSON array of row objects on one line (as `duckdb -json`).

    NaN and infinities have no JSON number, so they are written as the
    strings "NaN", "Infinity" and "-Infinity"; a BLOB is its 0x hex text.
    """
    rows = [{name: _json_value(v, typ) for name, v, typ in zip(result.columns, row, result.types)}
            for row in result.rows]
    if not any("DECIMAL" in typ.upper() for typ in result.types):
        return json.dumps(rows, ensure_ascii=False, allow_nan=False) + "\n"
    return _json_text(rows) + "\n"


def _json_text(value: t.Any) -> str:
    """JSON with each DECIMAL written with its own digits: json.dumps would write the nearest float."""
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return "[" + ", ".join(map(_json_text, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_json_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _json_value(value: t.Any, typ: str) -> t.Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _json_float(value, typ)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex().upper()
    if isinstance(value, (list, tuple)):
        inner = typ[:typ.rfind("[")] if typ.endswith("]") else typ
        return [_json_value(v, inner) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v, "") for k, v in value.items()}
    if isinstance(value, decimal.Decimal):
        return value if value.is_finite() else str(value)  # written with its digits by _json_text
    return _text(value, typ)


def _json_float(value: float, typ: str) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if typ.upper() in _FLOAT32_TYPES:
        return float(_float32_text(value))
    return value


# ------------------------------------------------------------------ shared


def _text(value: t.Any, typ: str) -> str:
    """A value as text: floats in their shortest round-tripping form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float32_text(value) if typ.upper() in _FLOAT32_TYPES else repr(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, _dt.datetime) else value.isoformat()
    if isinstance(value, (list, tuple)):
        inner = typ[:typ.rfind("[")] if typ.endswith("]") else typ
        return "[" + ", ".join("NULL" if v is None else _text(v, inner) for v in value) + "]"
    if isinstance(value, (decimal.Decimal, uuid.UUID, _dt.timedelta)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex().upper()
    return str(value)


def _float32_text(value: float) -> str:
    """The shortest text that gives back the same float32 (a double that is not one keeps repr)."""
    single = np.float32(value)
    if not math.isfinite(value) or float(single) != value:
        return repr(value)
    return str(single)


# ------------------------------------------------------------------ a stream of results


class ResultPrinter:
    """Prints result sets as they arrive, as one stream in one format.

    Table and csv results are separated by a blank line, json results are one
    line each. Row counts of INSERT/UPDATE/DELETE/MERGE ("(3 rows affected)",
    as sqlcmd prints them) appear only in the table format, so csv and json
    stay machine-readable.
    """

    def __init__(self, out: t.TextIO, fmt: str) -> None:
        self.out = out
        self.fmt = fmt
        self._first = True

    def result(self, result: ResultSet) -> None:
        """Print one result set."""
        self._separate()
        write(result, self.fmt, self.out)

    def rows_affected(self, count: int) -> None:
        """Print a DML statement's row count (table format only)."""
        if self.fmt != "table":
            return
        self._separate()
        self.out.write(f"({count} {'row' if count == 1 else 'rows'} affected)\n")

    def _separate(self) -> None:
        if not self._first and self.fmt != "json":
            self.out.write("\n")
        self._first = False


# ------------------------------------------------------------------ progress


class ProgressLine:
    """One updating line on a terminal while PREDICT scores: rows scored and rows per second.

    Drawn only once a statement has run `delay` seconds, redrawn at most every
    `interval` seconds (scoring calls `add` once per batch, from any thread),
    and erased by `finish`, so short statements and piped output never see it.
    """

    def __init__(self, stream: t.TextIO, *, delay: float = 1.0, interval: float = 0.25) -> None:
        self.stream = stream
        self.delay = delay
        self.interval = interval
        self._lock = threading.Lock()
        self._start = self._drawn_at = time.monotonic()
        self._rows = 0
        self._shown = False

    def start(self) -> None:
        """A statement begins: count from zero."""
        with self._lock:
            self._start = time.monotonic()
            self._rows = 0

    def add(self, rows: int) -> None:
        """A batch of `rows` was scored; redraw when it is time to."""
        with self._lock:
            self._rows += rows
            now = time.monotonic()
            elapsed = now - self._start
            if elapsed < self.delay or (self._shown and now - self._drawn_at < self.interval):
                return
            rate = self._rows / elapsed if elapsed > 0 else 0.0
            self._write(f"\r{self._rows:,} rows scored, {rate:,.0f} rows/s\x1b[K")
            self._shown, self._drawn_at = True, now

    def finish(self) -> None:
        """Erase the line, so what follows starts on a clean line."""
        with self._lock:
            if self._shown:
                self._write("\r\x1b[K")
                self._shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: progress is not worth failing for
            pass


__all__ = ["FORMATS", "ResultSet", "from_cursor", "from_result", "write", "format_table", "format_csv",
           "format_json", "ResultPrinter", "ProgressLine"]
