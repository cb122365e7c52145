"""A result's Python values: what DuckDB's own Python client gives for the same query.

Rows are converted from Arrow, fast, where Arrow's Python values are DuckDB's.
Where they are not, DuckDB converts them itself from the Arrow it exported:

* maps are dicts (Arrow's are lists of pairs), at any depth, and unnamed structs
  (ROW(1, 'a')) tuples, where Arrow names their fields;
* UHUGEINT, TIME WITH TIME ZONE, BIT and BIGNUM (VARINT) lose their values in
  standard Arrow (the sign bit, the offset, the bits as text), so a result
  holding one is exported a second way too, with DuckDB's lossless Arrow
  extension types, which DuckDB reads back exactly (`export`);
* a value Arrow cannot make (an infinite or out-of-range DATE or TIMESTAMP,
  a map with list keys) or makes wrong (TIME '24:00:00') is DuckDB's clamped
  date, its text, or its pairs.

A value that still cannot be converted is a DataError that names its column.
"""

from __future__ import annotations

import datetime
import decimal
import re
import typing as t

import duckdb
import pyarrow as pa

from . import scratch
from .errors import DataError

# DuckDB types whose values standard Arrow does not keep (anywhere in a type, nested too).
_LOSSY = re.compile(r"\b(UHUGEINT|TIME WITH TIME ZONE|BIT|BIGNUM|VARINT)\b", re.IGNORECASE)
# Nested types whose leaves Arrow gives in a form DuckDB's client does not (Decimal, MonthDayNano).
_NESTED_LEAF = re.compile(r"\b(HUGEINT|INTERVAL)\b.*[\[(]|[\[(].*\b(HUGEINT|INTERVAL)\b", re.IGNORECASE)

# DuckDB types that standard Arrow hands back to DuckDB changed: in value (UHUGEINT, HUGEINT's minimum,
# TIME WITH TIME ZONE's offset) or in type (BIT as BLOB, UUID as VARCHAR, HUGEINT as DECIMAL).
_CHANGED_BY_ARROW = re.compile(r"\b(UHUGEINT|HUGEINT|TIME WITH TIME ZONE|BIT|UUID)\b", re.IGNORECASE)


def changed_by_arrow(types: t.Iterable[str]) -> bool:
    """Whether columns of these types must cross Arrow as DuckDB's lossless extension types to come back
    into DuckDB as they were (PREDICT passes DATA's columns through an Arrow stream)."""
    return any(_CHANGED_BY_ARROW.search(typ) for typ in types)


_HAS_MAP = re.compile(r"\bMAP\b", re.IGNORECASE)  # a MAP at any depth of a column's type
# Types whose values Arrow's Python conversion gets wrong at the edges (TIME '24:00:00' as
# midnight, an infinite TIMESTAMP_NS as a date in 2262): DuckDB converts their columns itself.
_DUCKDB_CONVERTS = frozenset({"TIME", "TIMESTAMP_NS"})


def export(con: duckdb.DuckDBPyConnection, relation: duckdb.DuckDBPyRelation,
           types: list[str]) -> tuple[pa.Table, pa.Table | None]:
    """Run `relation` into Arrow: (standard table, lossless table or None when nothing is lost).

    The lossless one is made only for results with a type standard Arrow loses; the
    standard one is then read back from it by DuckDB, so the statement runs once.
    """
    if not any(_needs_duckdb(typ) for typ in types):
        return relation.to_arrow_table(), None
    lossless_export(con)
    exact = relation.to_arrow_table()  # on failure the caller restores the setting (see restore_export)
    restore_export(con)
    return scratch.cursor().from_arrow(exact).to_arrow_table(), exact


def lossless_export(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB's lossless Arrow extension types for this connection's next results (SESSION: a plain SET
    would change every connection of the database)."""
    con.execute("SET SESSION arrow_lossless_conversion = true")


def restore_export(con: duckdb.DuckDBPyConnection) -> None:
    """Standard Arrow export again (fails only in an aborted transaction: call again after ROLLBACK)."""
    con.execute("RESET SESSION arrow_lossless_conversion")


def to_rows(part: pa.Table, exact: pa.Table | None, names: list[str], types: list[str]) -> list[tuple]:
    """Python tuples of `part`; `exact` is the same rows from `export`'s lossless table, if any."""
    if not part.num_columns:
        return []
    columns = [
        _column_values(part.column(i), None if exact is None else exact.column(i), name, typ)
        for i, (name, typ) in enumerate(zip(names, types))
    ]
    return list(zip(*columns))


def _needs_duckdb(type_code: str) -> bool:
    return bool(_LOSSY.search(type_code) or _NESTED_LEAF.search(type_code))


def _column_values(col: pa.ChunkedArray, exact: pa.ChunkedArray | None, name: str, type_code: str) -> list[t.Any]:
    try:
        if exact is not None and _needs_duckdb(type_code):
            return _duckdb_values(exact)
        if type_code in _DUCKDB_CONVERTS:
            return _duckdb_values(col)
        try:
            column = _microseconds(col)
            # maps_as_pydicts makes pyarrow's to_pylist about 8x slower on every column: only where a map is
            values = column.to_pylist(maps_as_pydicts="strict") if _HAS_MAP.search(type_code) else column.to_pylist()
        except (OverflowError, ValueError, TypeError):  # infinite dates, list map keys: DuckDB's own values
            return _duckdb_values(col if exact is None else exact)
        return _python_values(values, type_code)
    except (pa.ArrowException, duckdb.Error, OverflowError, ValueError, TypeError) as exc:
        raise DataError(
            f"column {name!r} ({type_code}): a value cannot be converted to Python ({exc}); "
            "CAST the column to VARCHAR to fetch it as text"
        ) from exc


def _duckdb_values(col: pa.ChunkedArray) -> list[t.Any]:
    """The column's values as DuckDB's Python client converts them."""
    return [row[0] for row in _scratch_relation(col).fetchall()]


def duckdb_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column's values as DuckDB's CAST to VARCHAR writes them (DATETIME2's 100 ns included)."""
    return _scratch_relation(col).select("CAST(v AS VARCHAR) AS v").to_arrow_table().column(0)


def _scratch_relation(col: pa.ChunkedArray) -> duckdb.DuckDBPyRelation:
    """An Arrow column as a DuckDB relation of one column, v, on a connection of no database."""
    return scratch.cursor().from_arrow(pa.table({"v": col}))


def _microseconds(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Nanosecond timestamps (DATETIME2(7)) as datetime.datetime, truncated to microseconds as pyodbc does."""
    typ = col.type
    if pa.types.is_timestamp(typ) and typ.unit == "ns":
        return col.cast(pa.timestamp("us", typ.tz), safe=False)
    return col


def _python_values(values: list[t.Any], type_code: str) -> list[t.Any]:
    if "TUPLE(" in type_code.upper():  # an unnamed struct: a tuple, where Arrow names its fields element1, ...
        return [_tuples(v) for v in values]
    if type_code in ("HUGEINT", "UHUGEINT"):
        return [int(v) if isinstance(v, decimal.Decimal) else v for v in values]
    if type_code == "INTERVAL":
        return [_timedelta(v) for v in values]
    return values


def _tuples(value: t.Any) -> t.Any:
    """Dicts of an unnamed struct's fields (element1, element2, ...) as tuples, at any depth."""
    if isinstance(value, list):
        return [_tuples(v) for v in value]
    if isinstance(value, dict):
        items = {k: _tuples(v) for k, v in value.items()}
        if list(items) == [f"element{i}" for i in range(1, len(items) + 1)]:
            return tuple(items.values())
        return items
    return value


def _timedelta(value: t.Any) -> t.Any:
    """An Arrow month-day-nano interval as DuckDB's Python API gives it (a month is 30 days)."""
    if value is None or isinstance(value, datetime.timedelta):
        return value
    months, days, nanos = value
    return datetime.timedelta(days=months * 30 + days, microseconds=nanos // 1000)


__all__ = ["duckdb_text", "export", "restore_export", "to_rows"]
