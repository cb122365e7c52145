"""T-SQL's index statements, said so DuckDB runs them.

SSMS scripts a table with its indexes: `CREATE [UNIQUE] [NON]CLUSTERED INDEX
ix ON t (c ASC) INCLUDE (...) WITH (PAD_INDEX = OFF, ...) ON [PRIMARY]` and
`DROP INDEX ix ON t`. DuckDB has one kind of index (an ART index beside the
table), no included columns, storage options or filegroups, and names indexes
per schema rather than per table. What only tunes storage or speed is dropped;
what would change which rows a UNIQUE index admits (a filter) is refused.
"""

from __future__ import annotations

from sqlglot import exp

_INDEX_KINDS = {"INDEX", "CLUSTERED INDEX", "NONCLUSTERED INDEX"}
# IndexParameters that only say how SQL Server stores the index.
_STORAGE_ONLY = ("include", "with_storage", "tablespace", "partition_by", "using", "on")


def adapt_index_statements(statement: exp.Expression) -> None:
    """CREATE and DROP INDEX as DuckDB writes them (before `dbo` and database names are dropped)."""
    if _is_create_index(statement):
        _create(statement)
    elif isinstance(statement, exp.Drop) and str(statement.args.get("kind") or "").upper() == "INDEX":
        _drop(statement)


def index_refusal(statement: exp.Expression) -> str | None:
    """Why an index statement cannot run: a filtered UNIQUE index, whose filter DuckDB cannot keep."""
    if not (_is_create_index(statement) and statement.args.get("unique")):
        return None
    params = statement.this.args.get("params") if isinstance(statement.this, exp.Index) else None
    where = params.args.get("where") if params is not None else None
    if where is None:
        return None
    return (f"a filtered UNIQUE index (WHERE {where.this.sql('tsql')}) is outside what sqlpredict runs: DuckDB has "
            "no filtered indexes, and without its filter the index would refuse rows SQL Server admits; "
            "leave the index out, or check the rule in the statements that write the table")


def _is_create_index(statement: exp.Expression) -> bool:
    return isinstance(statement, exp.Create) and str(statement.args.get("kind") or "").upper() in _INDEX_KINDS


def _create(create: exp.Create) -> None:
    create.set("kind", "INDEX")
    create.set("clustered", None)
    index = create.this
    params = index.args.get("params") if isinstance(index, exp.Index) else None
    if params is None:
        return
    for name in _STORAGE_ONLY:
        params.set(name, None)
    params.set("where", None)  # a filtered index that is not UNIQUE (see index_refusal) only speeds queries up


def _drop(drop: exp.Drop) -> None:
    """`DROP INDEX ix ON [s.]t` and the older `DROP INDEX [s.]t.ix`: DuckDB names an index by its schema."""
    on = drop.args.get("cluster")
    drop.set("cluster", None)
    for index in drop.args.get("tables") or []:
        if isinstance(on, exp.OnProperty) and isinstance(on.this, exp.Table):
            schema = on.this.args.get("db")
        else:
            schema = index.args.get("catalog")  # s.t.ix: the table's schema; t.ix: none
        index.set("db", schema.copy() if schema is not None else None)
        index.set("catalog", None)
