"""Three calls DuckDB 2.0 has but does not document yet, each beside the public way it replaces.

All are the engine's own (the duckdb client's relation layer is built on
them). Two save a round trip through DuckDB's catalog that a short PREDICT
made on every statement (benchmarks/README.md, "Streams read through source
handles"); the third binds a write without running it. Where a DuckDB lacks
one, or has changed it, the function answers None and its caller takes the
public way.
"""

from __future__ import annotations

import typing as t

import duckdb


def register_source(con: duckdb.DuckDBPyConnection, obj: t.Any) -> t.Any | None:
    """Put `obj` (an Arrow table or reader) in DuckDB's registry of Python objects: the handle
    returned has the `name` that statements on `con` read it by, for as long as the handle lives.

    None: register a view instead (`con.register`), a catalog write, and drop it later, another.
    """
    try:
        handle = con._register_source(obj)
        return handle if isinstance(handle.name, str) else None
    except (AttributeError, TypeError):
        return None


def name_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool | None:
    """Whether `schema.name` is a table or a view, from the catalog without a statement.

    None: bind a statement over it to find out. A bind over a missing name
    raises, and the error's "Did you mean" search of the catalog costs about
    as much as the bind.
    """
    try:
        kind = con._table_kind((schema, name))
    except (AttributeError, TypeError):
        return None
    return kind != "none" if kind in ("table", "view", "none") else None


def bind_only(con: duckdb.DuckDBPyConnection, sql: str, params: t.Sequence[t.Any] | None) -> bool | None:
    """Bind a statement without running it; an unknown table or column raises here.

    A binder error raised by running a write aborts DuckDB's open transaction, and its uncommitted
    writes with it; raised by the bind, it leaves the transaction as it was. None: run the statement
    (the public way), where such an error aborts the transaction.
    """
    try:
        con._bind(sql, with_writes=True, values=list(params) if params else None)
    except (AttributeError, TypeError):
        return None
    return True
