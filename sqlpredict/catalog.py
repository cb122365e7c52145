"""Objects DuckDB cannot store itself: views whose body uses PREDICT, and T-SQL procedures.

They live in an ordinary table of the database, `sqlpredict_objects`, so they
are saved in the database file and work on every later connection to it. A
stored view is expanded into the statements that name it before PREDICT is
planned; DuckDB itself never sees it.
"""

from __future__ import annotations

import functools
from typing import NoReturn

import duckdb
from sqlglot import exp

from . import engine_calls
from .dialects import DuckDB, PredictSource

TABLE = "sqlpredict_objects"
_SELECT_TEMP_TABLES = "SELECT table_name FROM duckdb_tables() WHERE temporary"
MAX_VIEW_DEPTH = 32


class Catalog:
    """Views and procedures stored in one database."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._has_table: bool | None = None
        self._objects: dict[str, dict[str, str]] = {}

    def _binds(self, select: str) -> bool:
        """Whether DuckDB finds the table `select` reads. Binding runs nothing, and a failed
        bind does not abort the connection's transaction (a failed query would)."""
        try:
            self.con.sql(select)
        except duckdb.CatalogException:
            return False
        return True

    def is_temp(self, name: str) -> bool:
        """Whether `name` is one of the connection's temporary tables or views (only it can see them)."""
        return self._binds(_select_temp(name))

    def is_temp_function(self, name: str) -> bool:
        """Whether `name` is a temporary macro of the connection (only it can call one)."""
        rows = self.con.execute("SELECT 1 FROM duckdb_functions() WHERE database_name = 'temp' "
                                "AND lower(function_name) = lower($1) LIMIT 1", [name]).fetchall()
        return bool(rows)

    def temp_tables(self) -> set[str]:
        """The names of the connection's temporary tables (a procedure drops those it made)."""
        return {row[0] for row in self.con.execute(_SELECT_TEMP_TABLES).fetchall()}

    def _exists(self) -> bool:
        if self._has_table is None:
            found = engine_calls.name_exists(self.con, "main", TABLE)
            self._has_table = self._binds(_SELECT_TABLE) if found is None else found
        return self._has_table

    def _changed(self) -> None:
        self._has_table = None
        self._objects = {}

    def _ensure(self) -> None:
        self.con.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (kind VARCHAR, name VARCHAR, definition VARCHAR, "
            "PRIMARY KEY (kind, name))"
        )

    def objects(self, kind: str) -> dict[str, str]:
        """name (lower case) -> definition."""
        if kind not in self._objects:
            rows = []
            if self._exists():
                rows = self.con.execute(f"SELECT name, definition FROM {TABLE} WHERE kind = $1", [kind]).fetchall()
            self._objects[kind] = {name.lower(): definition for name, definition in rows}
        return self._objects[kind]

    def save(self, kind: str, name: str, definition: str, replace: bool) -> None:
        self._ensure()
        if not replace and name.lower() in self.objects(kind):
            raise_exists(KIND_WORDS[kind], name)
        self.con.execute(f"DELETE FROM {TABLE} WHERE kind = $1 AND lower(name) = lower($2)", [kind, name])
        self.con.execute(f"INSERT INTO {TABLE} VALUES ($1, $2, $3)", [kind, name, definition])
        self._changed()

    def drop(self, kind: str, name: str) -> bool:
        if name.lower() not in self.objects(kind):
            return False
        self.con.execute(f"DELETE FROM {TABLE} WHERE kind = $1 AND lower(name) = lower($2)", [kind, name])
        self._changed()
        return True

    def column_defaults(self, table: exp.Table) -> list[tuple[str, str | None]]:
        """(name, DEFAULT expression) of each column of DuckDB's table `table` (named as DuckDB names it), in
        order; none for a table DuckDB does not hold. No query here fails: a failing one would abort a
        transaction that holds writes."""
        temporary = table.name.startswith("#")
        schema = "temp" if temporary else table.db or "main"
        exists = engine_calls.name_exists(self.con, schema, table.name)
        if exists is None:  # the public way: a scan of every column of every table
            return self.con.execute(_SELECT_COLUMN_DEFAULTS, [table.name, table.db or "main", temporary]).fetchall()
        if not exists:
            return []
        return self.con.execute("SELECT name, dflt_value FROM pragma_table_info($1)",
                                [table.sql(dialect="duckdb")]).fetchall()

    def sequence(self, name: str) -> tuple[int, int, int | None] | None:
        """(start, step, last value given, or None before the first) of DuckDB's sequence `name`."""
        rows = self.con.execute("SELECT start_value, increment_by, last_value FROM duckdb_sequences() "
                                "WHERE sequence_name = $1", [name]).fetchall()
        return rows[0] if rows else None

    def engine_object(self, name: str) -> str | None:
        """"table" or "view" when DuckDB itself holds an object `name` that a stored view of that
        name would hide (one of the main schema, the connection's temporary ones included)."""
        rows = self.con.execute(_SELECT_ENGINE_OBJECT, [name]).fetchall()
        if not rows:
            return None
        return "view" if rows[0][0] == "VIEW" else "table"

    # ------------------------------------------------------------ views

    def save_view(self, create: exp.Create) -> None:
        """Store `CREATE VIEW name [(columns)] AS <select with PREDICT>` as DuckDB-dialect text.

        A column list renames the body's columns: the body is stored inside a SELECT that does so.
        """
        body, target = create.expression, create.this
        if isinstance(target, exp.Schema):
            columns = [exp.to_identifier(c.name, quoted=True) for c in target.expressions]
            alias = exp.TableAlias(this=exp.to_identifier(target.this.name, quoted=True), columns=columns)
            body, target = exp.select("*").from_(exp.Subquery(this=body.copy(), alias=alias)), target.this
        definition = body.sql(dialect=DuckDB)
        replace = bool(create.args.get("replace")) or create.args.get("kind") == "ALTER"
        self.save("VIEW", target.name, definition, replace)

    def must_store(self, body: exp.Expression) -> bool:
        """Whether a view body must be kept here rather than by DuckDB: it uses PREDICT, or reads
        a view kept here (DuckDB would be handed that view's planned stream, which lives for one
        statement)."""
        return uses_predict(body) or bool(self._view_references(body))

    def _view_references(self, statement: exp.Expression) -> list[exp.Table]:
        """The tables of `statement` that name a stored view (an unqualified name, read from)."""
        views = self.objects("VIEW")
        if not views:
            return []
        hits = [t for t in statement.find_all(exp.Table)
                if isinstance(t.this, exp.Identifier) and t.name.lower() in views and not t.args.get("db")]
        return [t for t in hits if not isinstance(t.parent, (exp.Create, exp.Drop, exp.Insert, exp.Schema))]

    def expand_views(self, statement: exp.Expression) -> None:
        """Replace each reference to a stored view by its body, as a derived table."""
        views = self.objects("VIEW")
        if not views:
            return
        for _ in range(MAX_VIEW_DEPTH):
            hits = self._view_references(statement)
            if not hits:
                return
            for table in hits:
                body = DuckDB().parse(views[table.name.lower()])[0]
                alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
                table.replace(exp.Subquery(this=body, alias=alias))
        raise RecursionError("views nest too deeply (a view that names itself?)")


KIND_WORDS = {"VIEW": "a view that sqlpredict stores", "PROCEDURE": "a procedure"}
_SELECT_ENGINE_OBJECT = ("SELECT table_type FROM information_schema.tables "
                         "WHERE table_schema = 'main' AND lower(table_name) = lower($1)")
_SELECT_TABLE = exp.select("*").from_(exp.table_(TABLE, db="main")).sql(dialect=DuckDB)


@functools.lru_cache(maxsize=256)
def _select_temp(name: str) -> str:
    return exp.select("*").from_(exp.table_(exp.to_identifier(name, quoted=True), db="main", catalog="temp")).sql(
        dialect=DuckDB)


_SELECT_COLUMN_DEFAULTS = """
SELECT column_name, column_default FROM duckdb_columns()
WHERE lower(table_name) = lower($1) AND lower(schema_name) = lower($2)
  AND database_name = CASE WHEN $3 THEN 'temp' ELSE current_database() END
ORDER BY column_index
"""


def raise_exists(what: str, name: str) -> NoReturn:
    """SQL Server's Msg 2714: one name, one object, whichever store holds it."""
    from .errors import ProgrammingError

    raise ProgrammingError(f"There is already an object named '{name}' in the database ({what}); "
                           "choose another name, or drop that object first")


def uses_predict(node: exp.Expression) -> bool:
    return node.find(PredictSource) is not None
