"""sqlpredict: the T-SQL PREDICT table function of Azure SQL Edge, on DuckDB.

A PEP 249 (DB-API 2.0) module: `sqlpredict.connect(...)` opens a DuckDB
database whose SQL may score ONNX models stored as BLOBs with PREDICT.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .connection import Connection, connect
from .cursor import Cursor
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
# Threads may share the module and connections, but a connection runs one
# statement at a time: cursors of one connection take turns on its lock.
threadsafety = 2
paramstyle = "qmark"

__all__ = [
    "connect", "Connection", "Cursor", "apilevel", "threadsafety", "paramstyle",
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
]
