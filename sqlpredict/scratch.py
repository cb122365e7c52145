"""A private in-memory DuckDB, for DuckDB's own casts and value conversions away from the user's database.

One database for the process and a cursor per thread, since a DuckDB
connection is not for two threads at once. One database rather than one per
thread: each database starts threads of its own, and the read-ahead workers
(`stream.Workers`) are kept for the life of the process. A forked child also
releases the thread-local cursors of the threads that did not come along; a
cursor is safe to release there, while a whole database would wait for its
own threads, which do not exist in the child, and crash it.
"""

from __future__ import annotations

import threading

import duckdb

_lock = threading.Lock()
_database: duckdb.DuckDBPyConnection | None = None
_cursors = threading.local()


def cursor() -> duckdb.DuckDBPyConnection:
    """This thread's cursor on the scratch database."""
    con = getattr(_cursors, "con", None)
    if con is None:
        con = _cursors.con = _base().cursor()
    return con


def _base() -> duckdb.DuckDBPyConnection:
    global _database
    with _lock:
        if _database is None:
            _database = duckdb.connect()
        return _database
