"""Two calls DuckDB 2.0 has but does not document yet, each beside the public way it replaces.

Both are the engine's own (the duckdb client's relation layer is built on
them), and each saves a round trip through DuckDB's catalog that a short
PREDICT made on every statement (benchmarks/README.md, "Streams read through
source handles"). Where a DuckDB lacks one, the function says so with None
and its caller takes the public way.
"""

from __future__ import annotations

import typing as t

import duckdb


def source_registry(con: duckdb.DuckDBPyConnection) -> t.Callable[[t.Any], t.Any] | None:
    """DuckDB's registry of Python objects: called with an Arrow table or reader, it returns a
    handle whose `name` statements on `con` read the object by, for as long as the handle lives.
    None: register a view instead (`con.register`), a catalog write, and drop it, another.
    """
    return getattr(con, "_register_source", None)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool | None:
    """Whether `schema.name` is a table, from the catalog without a statement. None: bind one to find out.

    Binding a statement over a missing table raises, and the error's "Did you
    mean" search of the catalog costs about as much as the bind.
    """
    kind = getattr(con, "_table_kind", None)
    return None if kind is None else kind((schema, name)) == "table"
