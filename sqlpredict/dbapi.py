"""PEP 249 type objects and constructors.

`cursor.description` carries DuckDB type names as type codes ('DOUBLE',
'VARCHAR', 'DECIMAL(18,3)', 'TIMESTAMP WITH TIME ZONE', 'BLOB', 'FLOAT[3]').
The type objects here compare equal to the codes of their family, so the
portable test `description[i][1] == sqlpredict.NUMBER` works.

Choices where PEP 249 is silent:
- BOOLEAN is a NUMBER, as T-SQL counts `bit` among the exact numerics.
- INTERVAL is a DATETIME (its values are `datetime.timedelta`).
- UUID is a STRING: its values come back as str.
- Nested types (lists, arrays such as FLOAT[3], structs, maps, unions) are in
  no family: their values are Python lists and dicts, not scalars.
- ROWID equals no type code: DuckDB has no row-id type (its `rowid`
  pseudo-column is a plain BIGINT, which is a NUMBER).
"""

from __future__ import annotations

import datetime
import re
import time
import typing as t

__all__ = [
    "DBAPITypeObject", "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID",
    "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary",
]

_NESTED = re.compile(r"(\[\d*\]\s*$)|^(STRUCT|MAP|UNION|LIST)\s*\(", re.IGNORECASE)


def base_type_name(type_code: str) -> str:
    """'DECIMAL(18,3)' -> 'DECIMAL'; 'timestamp with time zone' -> 'TIMESTAMP WITH TIME ZONE'."""
    return " ".join(type_code.split("(", 1)[0].upper().split())


class DBAPITypeObject:
    """A family of type codes; equal to every code of the family (PEP 249 type objects)."""

    def __init__(self, name: str, *type_names: str) -> None:
        self.name = name
        self.values = frozenset(type_names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return self is other
        if isinstance(other, str):
            return not _NESTED.search(other) and base_type_name(other) in self.values
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((DBAPITypeObject, self.name))

    def __repr__(self) -> str:
        return f"sqlpredict.{self.name}"


STRING = DBAPITypeObject("STRING", "VARCHAR", "CHAR", "BPCHAR", "TEXT", "STRING", "NVARCHAR", "NCHAR",
                         "JSON", "ENUM", "UUID")
BINARY = DBAPITypeObject("BINARY", "BLOB", "BYTEA", "BINARY", "VARBINARY")
NUMBER = DBAPITypeObject(
    "NUMBER", "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL", "NUMERIC", "BOOLEAN",
    "VARINT", "BIGNUM",
)
DATETIME = DBAPITypeObject(
    "DATETIME", "DATE", "TIME", "TIME WITH TIME ZONE", "TIMETZ", "TIME_NS", "TIMESTAMP", "DATETIME",
    "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "INTERVAL",
)
ROWID = DBAPITypeObject("ROWID")


# ---------------------------------------------------------------- constructors

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime


def DateFromTicks(ticks: float) -> datetime.date:  # noqa: N802 - the name is fixed by PEP 249
    """The local date of a POSIX timestamp (PEP 249)."""
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:  # noqa: N802
    """The local time of day of a POSIX timestamp (PEP 249)."""
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:  # noqa: N802
    """The local date and time of a POSIX timestamp (PEP 249)."""
    return Timestamp(*time.localtime(ticks)[:6])


def Binary(data: t.Union[bytes, bytearray, memoryview, str]) -> bytes:  # noqa: N802
    """Bytes for a BLOB parameter, such as an ONNX model (a str is encoded as UTF-8)."""
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data)
