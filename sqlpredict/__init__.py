"""sqlpredict: the T-SQL PREDICT table function of Azure SQL Edge, on DuckDB.

A PEP 249 (DB-API 2.0) module: `sqlpredict.connect(...)` opens a DuckDB
database whose SQL may score ONNX models stored as BLOBs with PREDICT.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .connection import Connection, connect
from .cursor import Cursor
from .dbapi import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
)
from .errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

try:
    __version__ = version("sqlpredict")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

apilevel = "2.0"
# PEP 249 level 2: threads may share the module and connections, not cursors.
# One connection shared by several threads, each with its own cursor, works:
# the connection runs one statement at a time (its statements, PREDICT scoring
# included, serialize on the connection's lock) and all its cursors share its
# one transaction, as PEP 249 cursors do. A cursor keeps its own fetch position
# unlocked, so a cursor must stay with one thread. For statements that really
# run in parallel, open one connection per thread (each ":memory:" connection
# is its own database). `Connection.interrupt()` may be called from any thread.
threadsafety = 2
paramstyle = "qmark"

__all__ = [
    "connect", "Connection", "Cursor", "apilevel", "threadsafety", "paramstyle",
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
    "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID",
    "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary",
]
