"""Calls DuckDB 2.0 has but does not document yet, each beside the public way it replaces.

All are the engine's own (the duckdb client's relation layer is built on
them). Two save a round trip through DuckDB's catalog that a short PREDICT
made on every statement (benchmarks/README.md, "Streams read through source
handles"); `bind_only` binds a write without running it; `columns` and
`arrow_reader` describe and read DATA without building a relation, which
binds the query once more and costs a short PREDICT as much CPU as reading
its rows (benchmarks/README.md, "DATA read without a relation"). Where a
DuckDB lacks one, or has changed it, the function takes the public way, or
answers None for its caller to.
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


def columns(con: duckdb.DuckDBPyConnection, sql: str, params: t.Sequence[t.Any] | None) -> list[tuple[str, str]]:
    """The names and DuckDB types of a query's columns, bound with its values and not run."""
    values = list(params) if params else None
    try:
        names, types, _, _, deferred = con._bind(sql, with_writes=True, values=values)[:5]
    except (AttributeError, TypeError, ValueError):
        deferred = True
    if deferred:  # or a query whose columns are known once it runs (a PIVOT): the relation runs it
        relation = con.sql(sql, params=values)
        names, types = relation.columns, relation.types
    return list(zip(names, (str(typ) for typ in types)))


def arrow_reader(con: duckdb.DuckDBPyConnection, sql: str, params: t.Sequence[t.Any] | None,
                 batch_size: int) -> t.Any:
    """A query's rows as a `pa.RecordBatchReader` of batches of about `batch_size` rows, read as it is read."""
    values = list(params) if params else None
    try:
        result = con._submit(sql, values, "stream", batch_size)
    except (AttributeError, TypeError):
        return con.sql(sql, params=values).to_arrow_reader(batch_size)
    return result.arrow_reader()
