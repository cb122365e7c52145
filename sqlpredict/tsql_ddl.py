"""T-SQL's index and ALTER TABLE statements, said so DuckDB runs them.

SSMS scripts a table with its indexes: `CREATE [UNIQUE] [NON]CLUSTERED INDEX
ix ON t (c ASC) INCLUDE (...) WITH (PAD_INDEX = OFF, ...) ON [PRIMARY]` and
`DROP INDEX ix ON t`. DuckDB has one kind of index (an ART index beside the
table), no included columns, storage options or filegroups, and names indexes
per schema rather than per table. What only tunes storage or speed is dropped;
what would change which rows a UNIQUE index admits (a filter) is refused.
(Keys inside CREATE TABLE are read in `dialects.TSQLKeysMixin`.)

One T-SQL ALTER TABLE may make several changes (`ADD a INT, b INT`,
`DROP COLUMN a, b`, `ALTER COLUMN c BIGINT NOT NULL`); DuckDB's makes one, so
it becomes several, which `tsql.py` runs as one transaction.
"""

from __future__ import annotations

from sqlglot import exp

_INDEX_KINDS = {"INDEX", "CLUSTERED INDEX", "NONCLUSTERED INDEX"}
# IndexParameters that only say how SQL Server stores the index.
_STORAGE_ONLY = ("include", "with_storage", "tablespace", "partition_by", "using", "on")


def adapt_ddl(statement: exp.Expression) -> None:
    """CREATE and DROP INDEX as DuckDB writes them (before `dbo` and database names are dropped), and
    ALTER TABLE without `WITH CHECK` (check the rows already there: DuckDB always does)."""
    if _is_create_index(statement):
        _create(statement)
    elif isinstance(statement, exp.Drop) and str(statement.args.get("kind") or "").upper() == "INDEX":
        _drop(statement)
    elif isinstance(statement, exp.Alter):
        statement.set("check", None)


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


def alter_table_pieces(alter: exp.Alter) -> list[exp.Alter]:
    """One DuckDB ALTER TABLE per change that the T-SQL statement makes, in its order."""
    if str(alter.args.get("kind") or "").upper() != "TABLE":
        return [alter]
    changes: list[exp.Expression] = []
    for action in alter.args.get("actions") or []:
        changes.extend(_single_changes(action))
    if len(changes) <= 1:
        return [alter]
    return [_with_actions(alter, [change]) for change in changes]


def _single_changes(action: exp.Expression) -> list[exp.Expression]:
    if isinstance(action, exp.Drop) and len(action.args.get("tables") or []) > 1:
        return [_with_tables(action, [column]) for column in action.args["tables"]]
    if isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None \
            and action.args.get("allow_null") is not None:
        # ALTER COLUMN c BIGINT [NOT] NULL: the type, then the NULL rule, which T-SQL sets with it.
        allow = bool(action.args["allow_null"])
        retyped = action.copy()
        retyped.set("allow_null", None)
        # SET NOT NULL, or DROP NOT NULL: sqlglot writes the one from allow_null, the other with drop
        nullability = exp.AlterColumn(this=action.this.copy(), allow_null=allow, drop=allow or None)
        return [retyped, nullability]
    return [action]


def _with_actions(alter: exp.Alter, actions: list[exp.Expression]) -> exp.Alter:
    piece = alter.copy()
    piece.set("actions", [a.copy() for a in actions])
    return piece


def _with_tables(drop: exp.Drop, tables: list[exp.Expression]) -> exp.Drop:
    piece = drop.copy()
    piece.set("tables", [t.copy() for t in tables])
    return piece
