"""T-SQL's IDENTITY columns written by INSERT and MERGE: SET IDENTITY_INSERT and SQL Server's rules.

An IDENTITY column is numbered by a DuckDB sequence that is its DEFAULT
(`tsql.BatchRunner.number_identities`). SQL Server lets a statement give such
a column its own value only while `SET IDENTITY_INSERT t ON` holds for the
table, one table per session at a time, and the statement must then name the
column in its column list. Afterwards the numbering continues past the
highest value written, so the next generated value does not collide with it.
Each rule is checked before the statement runs, so a refused statement
writes nothing.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from .dialects import DuckDB
from .errors import ProgrammingError
from .planner import adapt_tsql
from .script import Statement

if t.TYPE_CHECKING:
    from .connection import Connection

# IDENTITY columns are numbered by sequences whose names start so (see tsql.BatchRunner.number_identities).
IDENTITY_PREFIX = "__identity_"
_NEXTVAL = re.compile(r"nextval\('(" + IDENTITY_PREFIX + r"(?:[^']|'')*)'\)")
_SET_IDENTITY_INSERT = re.compile(r"\s*SET\s+IDENTITY_INSERT\s+(?P<table>.+?)\s+(?P<state>ON|OFF)\s*;?\s*",
                                  re.IGNORECASE | re.DOTALL)

Defaults = t.List[t.Tuple[str, t.Optional[str]]]  # (column, DEFAULT expression) as the catalog reads them


class IdentityInsert(exp.Expression):
    """SET IDENTITY_INSERT <table> ON | OFF: sqlglot reads it as an opaque command, or as a variable's SET."""

    arg_types = {"this": True, "on": True}


@dataclass(frozen=True)
class IdentityColumn:
    name: str  # as the table spells it
    sequence: str  # the DuckDB sequence that numbers it


@dataclass(frozen=True)
class ExplicitValues:
    """A statement that gives IDENTITY columns their values: its numbering continues after it runs."""

    table: exp.Table  # as DuckDB names it
    columns: tuple[IdentityColumn, ...]


def parse_identity_insert(statement: Statement) -> IdentityInsert | None:
    """The statement as an IdentityInsert, when it is a SET IDENTITY_INSERT; its table read by sqlglot."""
    match = _SET_IDENTITY_INSERT.fullmatch(statement.text)
    if match is None:
        return None
    try:
        table = exp.maybe_parse(match["table"], into=exp.Table, dialect="tsql")
    except (ParseError, TokenError):
        raise ProgrammingError(f"line {statement.line}: Incorrect syntax near '{match['table'][:40]}': "
                               "SET IDENTITY_INSERT takes one table name, then ON or OFF") from None
    return IdentityInsert(this=table, on=match["state"].upper() == "ON")


def identity_columns(defaults: Defaults) -> dict[str, IdentityColumn]:
    """A table's IDENTITY columns by lower-case name: those numbered by an IDENTITY sequence."""
    found = {}
    for name, default in defaults:
        match = _NEXTVAL.fullmatch(default or "")
        if match is not None:
            found[name.lower()] = IdentityColumn(name, match[1].replace("''", "'"))
    return found


def duckdb_table(table: exp.Table) -> exp.Table:
    """`table` as DuckDB names it: no alias, `dbo` and a database name dropped, `#t` kept."""
    resolved = table.copy()
    resolved.set("alias", None)
    adapt_tsql(resolved)
    return resolved


def _key(table: exp.Table) -> tuple[str, str]:
    """One key for every way of naming a table (dbo or no schema; brackets; any case)."""
    schema = table.db.lower()
    return ("" if schema in ("", "main") else schema), table.name.lower()


def _shown(table: exp.Table) -> str:
    """The table's name as SQL Server shows it in Msg 8107: with its schema."""
    return table.name if table.name.startswith("#") else f"{table.db or 'dbo'}.{table.name}"


def _written(table: exp.Table, schema: bool = False) -> str:
    """The table's name as a T-SQL statement writes it (quoted by sqlglot where needed), for the fixes that
    messages suggest; `schema`: with its schema, dbo if none."""
    db = table.db or ("dbo" if schema and not table.name.startswith("#") else "")
    return exp.table_(exp.to_identifier(table.name), db=exp.to_identifier(db) if db else None).sql(dialect="tsql")


def _column(name: str) -> str:
    """A column's name as a T-SQL statement writes it (quoted by sqlglot where needed)."""
    return exp.to_identifier(name).sql(dialect="tsql")


class Identities:
    """SQL Server's IDENTITY rules for a connection's statements."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def defaults(self, table: exp.Table) -> Defaults:
        """(column, DEFAULT) of the DuckDB table `table`; none when there is no such table. Kept by the
        connection (see Connection.column_defaults): a loop of INSERTs in a transaction reads them once."""
        known = self.connection.column_defaults
        key = _key(table)
        if key not in known:
            known[key] = self.connection.catalog.column_defaults(table)
        return known[key]

    def set_identity_insert(self, node: IdentityInsert, line: int) -> None:
        """SET IDENTITY_INSERT t ON | OFF, checked as SQL Server checks it (Msgs 1088, 8106 and 8107)."""
        if node.this.catalog:
            self.connection.warn_single_database("(a three-part name)")
        table = duckdb_table(node.this)
        defaults = self.defaults(table)
        if not defaults:
            raise ProgrammingError(f'line {line}: Cannot find the object "{node.this.name}" because it does not '
                                   "exist or you do not have permissions (SQL Server's Msg 1088)")
        if not identity_columns(defaults):
            raise ProgrammingError(f"line {line}: Table '{node.this.name}' does not have the identity property. "
                                   "Cannot perform SET operation (SQL Server's Msg 8106)")
        held = self.connection.identity_insert
        if held is not None and _key(held) != _key(table) and node.args["on"] and self.defaults(held):
            raise ProgrammingError(f"line {line}: IDENTITY_INSERT is already ON for table '{_shown(held)}'. "
                                   f"Cannot perform SET operation for table '{node.this.name}' (SQL Server's Msg "
                                   f"8107); run SET IDENTITY_INSERT {_written(held, schema=True)} OFF first")
        if node.args["on"]:
            self.connection.identity_insert = table
        elif held is not None and _key(held) == _key(table):
            self.connection.identity_insert = None

    def before_insert(self, insert: exp.Insert, line: int) -> ExplicitValues | None:
        """Check an INSERT against the rules; the IDENTITY columns it gives values to, if any.

        Without a column list its values go to the other columns, as in SQL Server.
        """
        target = insert.this
        table = target.this if isinstance(target, exp.Schema) else target
        if not isinstance(table, exp.Table) or insert.args.get("default"):
            return None
        resolved = duckdb_table(table)
        defaults = self.defaults(resolved)
        identities = identity_columns(defaults)
        if not identities:
            return None
        if not isinstance(target, exp.Schema):
            self._refuse_without_column_list(resolved, identities, line)
            others = [exp.to_identifier(name, quoted=True) for name, _ in defaults if name.lower() not in identities]
            insert.set("this", exp.Schema(this=table, expressions=others))
            return None
        return self._explicit(resolved, identities, [c.name for c in target.expressions], line)

    def before_merge(self, merge: exp.Merge, line: int) -> ExplicitValues | None:
        """The same rules for a MERGE's WHEN NOT MATCHED THEN INSERT actions."""
        whens = merge.args.get("whens")
        inserts = [w.args["then"] for w in (whens.expressions if whens else []) if isinstance(w.args.get("then"),
                                                                                               exp.Insert)]
        if not inserts or not isinstance(merge.this, exp.Table):
            return None
        resolved = duckdb_table(merge.this)
        defaults = self.defaults(resolved)
        identities = identity_columns(defaults)
        if not identities:
            return None
        explicit = None
        for insert in inserts:
            if insert.this is None:  # INSERT VALUES (...) without a column list
                self._refuse_without_column_list(resolved, identities, line)
                others = [exp.column(name, quoted=True) for name, _ in defaults if name.lower() not in identities]
                insert.set("this", exp.Tuple(expressions=others))
                continue
            names = [c.name for c in insert.this.expressions]
            if [n.upper() for n in names] == ["DEFAULT"]:  # INSERT DEFAULT VALUES
                continue
            explicit = self._explicit(resolved, identities, names, line) or explicit
        return explicit

    def _identity_insert_on(self, table: exp.Table) -> bool:
        held = self.connection.identity_insert
        return held is not None and _key(held) == _key(table)

    def _refuse_without_column_list(self, table: exp.Table, identities: dict[str, IdentityColumn],
                                    line: int) -> None:
        """SQL Server's Msg 8101: while IDENTITY_INSERT is ON, the values must be named."""
        if self._identity_insert_on(table):
            column = next(iter(identities.values())).name
            raise ProgrammingError(f"line {line}: An explicit value for the identity column in table '{table.name}' "
                                   "can only be specified when a column list is used and IDENTITY_INSERT is ON "
                                   f"(SQL Server's Msg 8101); name the columns, {_column(column)} among them: "
                                   f"INSERT INTO {_written(table)} ({_column(column)}, ...) VALUES ...")

    def _explicit(self, table: exp.Table, identities: dict[str, IdentityColumn], names: list[str],
                  line: int) -> ExplicitValues | None:
        """Msgs 544 and 545: a column list names the IDENTITY column exactly while IDENTITY_INSERT is ON."""
        named = tuple(identities[n.lower()] for n in names if n.lower() in identities)
        on = self._identity_insert_on(table)
        if named and not on:
            raise ProgrammingError(
                f"line {line}: Cannot insert explicit value for identity column in table '{table.name}' when "
                f"IDENTITY_INSERT is set to OFF (SQL Server's Msg 544); leave {_column(named[0].name)} out of the "
                f"column list to have it numbered, or run SET IDENTITY_INSERT {_written(table)} ON before the "
                "statement"
            )
        if on and not named:
            column = next(iter(identities.values())).name
            raise ProgrammingError(
                f"line {line}: Explicit value must be specified for identity column in table '{table.name}' either "
                "when IDENTITY_INSERT is set to ON or when a replication user is inserting into a NOT FOR "
                f"REPLICATION identity column (SQL Server's Msg 545); name {_column(column)} in the column list, or "
                f"run SET IDENTITY_INSERT {_written(table)} OFF to have it numbered"
            )
        return ExplicitValues(table, named) if named else None


def continue_numbering(connection: Connection, explicit: ExplicitValues) -> None:
    """After explicit values, the next generated one follows the highest of them, as in SQL Server (the
    lowest for a negative step); the numbering never moves back. DuckDB's setval moves the sequence.

    The highest value is read from the table, among those past the sequence's current one: generated
    values are not past it, so these are this statement's, or ones written to the column otherwise
    (an UPDATE; an INSERT before sqlpredict kept these rules), which the numbering must not meet either.
    """
    catalog = connection.catalog
    for column in explicit.columns:
        state = catalog.sequence(column.sequence)
        if state is None:
            continue
        start, step, last = state
        current = last if last is not None else start - step
        name = exp.column(column.name, quoted=True)
        if step > 0:
            query = exp.select(exp.Max(this=name)).where(name.copy() > exp.Placeholder())
        else:
            query = exp.select(exp.Min(this=name)).where(name.copy() < exp.Placeholder())
        query = query.from_(explicit.table.copy())
        beyond = catalog.con.execute(query.sql(dialect=DuckDB), [current]).fetchone()
        if beyond is not None and beyond[0] is not None:
            catalog.con.execute("SELECT setval($1, $2)", [column.sequence, int(beyond[0])]).fetchall()
