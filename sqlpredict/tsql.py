"""Running T-SQL batches: variables, DECLARE / SET / SELECT @v =, USE and SET options.

A T-SQL variable lives for its batch. Its value is bound as a parameter
wherever `@name` appears, never spliced into SQL text, and it keeps its
declared type: every assignment goes through CAST to that type, as in SQL
Server.
"""

from __future__ import annotations

import datetime
import re
import typing as t
import uuid
from dataclasses import dataclass, field

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from .dialects import parse, to_duckdb
from .errors import DataError, Error, NotSupportedError, ProgrammingError, parse_error_text
from .procedures import Argument, Procedure, exec_arguments, is_create_procedure, match_arguments, parse_procedure
from .script import STARTS, Batch, Statement, split_batches, split_statements, view_query
from .tsql_casts import declared_length, format_refusal, sized
from .tsql_ddl import alter_table_pieces, index_refusal
from .tsql_identity import IDENTITY_PREFIX, Identities, IdentityInsert, continue_numbering, parse_identity_insert
from .tsql_output import output_as_returning
from .tsql_strings import collation_names, duckdb_collation

if t.TYPE_CHECKING:
    from .connection import Connection, ResultSet

# SET options that scripts carry from SQL Server and that change nothing here.
ACCEPTED_OPTIONS = {
    "NOCOUNT", "ANSI_NULLS", "QUOTED_IDENTIFIER", "ANSI_PADDING", "ANSI_WARNINGS", "ARITHABORT",
    "CONCAT_NULL_YIELDS_NULL", "NUMERIC_ROUNDABORT", "XACT_ABORT", "DATEFIRST", "DATEFORMAT", "LANGUAGE",
    "LOCK_TIMEOUT", "DEADLOCK_PRIORITY", "STATISTICS", "ROWCOUNT", "TRANSACTION",
}
# SET TRANSACTION ISOLATION LEVEL: None for the levels whose guarantee sqlpredict gives or exceeds, else why not
# and what to write instead. A transaction that has not written starts each statement from the latest commit
# (READ COMMITTED, which PREDICT's DATA needs: it is read on a sibling connection); once it has written, it
# keeps DuckDB's snapshot.
_LATER_COMMITS = ("until a transaction writes, each of its statements starts from the latest commit "
                  "(READ COMMITTED), so a second read in the same transaction can see rows that another "
                  "connection changed and committed in between")
_READ_ONCE = "use READ COMMITTED (SQL Server's default), or read the rows once into a #temp table and work from that"
ISOLATION_LEVELS: dict[str, str | None] = {
    "READ UNCOMMITTED": None,  # READ COMMITTED exceeds it: no statement sees another's uncommitted rows
    "READ COMMITTED": None,
    "REPEATABLE READ": f"{_LATER_COMMITS}; {_READ_ONCE}",
    "SNAPSHOT": f"{_LATER_COMMITS}, where SNAPSHOT keeps what was committed when the transaction began; "
                f"{_READ_ONCE}",
    "SERIALIZABLE": f"{_LATER_COMMITS}; and DuckDB's transactions (snapshot isolation) notice only two "
                    "transactions writing the same row, so two that each change rows the other read can both "
                    "commit (write skew), which SERIALIZABLE forbids; use READ COMMITTED, and let one "
                    "connection at a time change the rows that such a check reads",
}
UNSUPPORTED = {
    exp.IfBlock: "IF", exp.WhileBlock: "WHILE",
}
_CURSOR_FIX = ("cursors are outside what sqlpredict runs; use one set-based statement "
               "(INSERT ... SELECT, UPDATE ... FROM) or fetch the rows in Python")
_FLOW_FIX = "control flow is outside what sqlpredict runs; split the script or run that logic in Python"
# What to write instead of the statements sqlglot reads as opaque commands, by their first words.
COMMAND_FIXES = {
    "PRINT": "to show a value, SELECT it: SELECT <expression> AS [message]",
    "RAISERROR": "raise the error from Python, or leave the check to the statement that fails",
    "DECLARE": _CURSOR_FIX,
    "OPEN": _CURSOR_FIX,
    "FETCH": _CURSOR_FIX,
    "CLOSE": _CURSOR_FIX,
    "DEALLOCATE": _CURSOR_FIX,
    "GOTO": _FLOW_FIX,
    "RETURN": _FLOW_FIX,
    "ALTER INDEX": "DuckDB maintains its indexes itself (nothing to REBUILD or REORGANIZE); remove it",
    "UPDATE STATISTICS": "DuckDB keeps its statistics itself; remove it",
    "CREATE STATISTICS": "DuckDB keeps its statistics itself; remove it",
    "BEGIN TRY": "TRY/CATCH is outside what sqlpredict runs; run the statements without it, "
                 "and an error reaches the caller as an exception",
}
# What to write instead of the system variables scripts use most; others get the general advice.
SYSTEM_VARIABLE_FIXES = {
    "ROWCOUNT": "read cursor.rowcount in Python after the statement, or SELECT COUNT(*) of the same rows",
    "IDENTITY": "have the INSERT return the new values with OUTPUT INSERTED.<column>, or SELECT MAX of the "
                "IDENTITY column after it",
    "VERSION": "SELECT version() gives DuckDB's version",
}


# IDENTITY columns are numbered by sequences (see number_identities), over BIGINT's range.
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1
# Functions that read IDENTITY values, which sqlpredict does not keep; @@IDENTITY is refused the same way.
IDENTITY_FUNCTIONS = {"SCOPE_IDENTITY", "IDENT_CURRENT"}
_CREATE_HEAD = re.compile(r"\s*(?P<verb>CREATE(?:\s+OR\s+ALTER)?|ALTER)\s+(?P<kind>PROCEDURE|PROC|VIEW)\b",
                          re.IGNORECASE)
_LINE_COL = re.compile(r"\bLine (\d+), Col:")  # sqlglot's position, counted from the statement's first line
_THROW = re.compile(r"\s*THROW\b", re.IGNORECASE)
_INSERT_EXEC = re.compile(r"\s*INSERT\s+(?:INTO\s+)?[^\s(]+\s*(?:\([^)]*\)\s*)?EXEC(?:UTE)?\b", re.IGNORECASE)

# A batch read before it runs: each statement with its tree, or the error it raises when its turn comes.
ParsedBatch = list[tuple[Statement, exp.Expression | Error]]


@dataclass
class Variable:
    sql_type: str  # DuckDB type the value is CAST to
    value: t.Any = None
    length: int | None = None  # n of a VARCHAR(n): a value keeps at most n characters

    def assigned(self, expr: exp.Expression) -> exp.Expression:
        """`expr` converted as T-SQL converts a value assigned to this variable (a CAST to its type)."""
        return exp.Cast(this=expr, to=sized(exp.DataType.build(self.sql_type, dialect="duckdb"), self.length))


@dataclass
class Variables:
    """The variables of one batch, by lower-case name without '@'."""

    items: dict[str, Variable] = field(default_factory=dict)

    def get(self, name: str, line: int) -> Variable:
        try:
            return self.items[name.lower()]
        except KeyError:
            raise ProgrammingError(f'Must declare the scalar variable "@{name}" (line {line})') from None


def parse_statement(statement: Statement, offset: int) -> exp.Expression:
    """Parse one statement; its `?` markers are numbered after the `offset` before it."""
    if _THROW.match(statement.text):
        raise NotSupportedError(f"line {statement.line}: THROW is outside what sqlpredict runs; "
                                f"{COMMAND_FIXES['RAISERROR']}")
    if _INSERT_EXEC.match(statement.text):
        raise NotSupportedError(f"line {statement.line}: INSERT ... EXEC is outside what sqlpredict runs; write "
                                "the procedure's SELECT in the INSERT (INSERT INTO t SELECT ...), or have the "
                                "procedure insert the rows itself")
    identity_insert = parse_identity_insert(statement)
    if identity_insert is not None:
        return identity_insert
    try:
        trees = parse("tsql", statement.text)
    except (ParseError, TokenError) as exc:
        text = _LINE_COL.sub(lambda m: f"Line {statement.line + int(m[1]) - 1}, Col:", parse_error_text(exc))
        if text.startswith("PREDICT:"):  # spec 8: PREDICT's own errors start with PREDICT:
            raise ProgrammingError(f"{text}\n(statement at line {statement.line} of the script)") from exc
        raise ProgrammingError(f"line {statement.line}: {text}") from exc
    if len(trees) != 1:
        raise ProgrammingError(f"line {statement.line}: could not read one statement in: {statement.text[:80]}")
    tree = trees[0]
    for ph in tree.find_all(exp.Placeholder):
        if "index" in ph.meta:
            ph.meta["index"] += offset
    return tree


def marker_count(tree: exp.Expression) -> int:
    return sum(1 for p in tree.find_all(exp.Placeholder) if "index" in p.meta and "variable" not in p.meta)


def check_marker_count(used: int, params: t.Sequence[t.Any], markers: str = "?") -> None:
    """`markers` names the kinds the dialect reads (`$n` counts once however often it appears)."""
    if used != len(params):
        raise ProgrammingError(
            f"the statement has {used} parameter markers ({markers}) but {len(params)} values were given"
        )


def bind_variables(tree: exp.Expression, variables: Variables, params: list[t.Any], line: int) -> None:
    """Replace each @name by a parameter holding its value (appended to `params`)."""
    for node in list(tree.find_all(exp.Parameter)):
        if isinstance(node.this, exp.Parameter):  # @@NAME: sqlglot nests one parameter in another
            raise system_variable_error(node.this.name, line)
        variable = variables.get(node.name, line)
        placeholder = exp.Placeholder()
        placeholder.meta["index"] = len(params)
        placeholder.meta["variable"] = "@" + node.name  # as the script wrote it, for messages
        params.append(variable.value)
        if variable.sql_type == "BLOB":  # model bytes: MODEL = @model takes the parameter as it is
            node.replace(placeholder)
        else:  # a NUMERIC(10,3) variable stays NUMERIC(10,3), whatever its value's literal type
            node.replace(exp.cast(placeholder, exp.DataType.build(variable.sql_type, dialect="duckdb")))


def command_error(statement: Statement) -> NotSupportedError:
    """A statement sqlglot could read only as an opaque command: name it and say what to write instead."""
    words = " ".join(re.findall(r"\w+", statement.text)[:2]).upper() + " "
    fix = next((fix for start, fix in COMMAND_FIXES.items() if words.startswith(start + " ")),
               "it is outside the T-SQL that sqlpredict runs; remove it or do that step in Python")
    return NotSupportedError(f"line {statement.line}: sqlpredict does not run this statement: "
                             f"{statement.text.splitlines()[0][:80]}; {fix}")


def refusal(tree: exp.Expression, statement: Statement, first: bool = False) -> Error | None:
    """Why sqlpredict will not run a statement, known from its text alone; `first`: the batch's first.

    Every statement of a batch is asked before any of them runs, as SQL Server compiles a whole
    batch first: a batch with one statement that sqlpredict does not run runs nothing.
    """
    line = statement.line
    must_lead = _must_lead_its_batch(statement)
    if must_lead is not None:
        return must_lead
    if isinstance(tree, _NOT_STATEMENTS):
        named = _named_procedure(statement, first)
        if named is not None:
            return named
    for kind, name in UNSUPPORTED.items():
        if isinstance(tree, kind):
            guard = ("; for IF OBJECT_ID('t') IS NOT NULL DROP TABLE t, write DROP TABLE IF EXISTS t"
                     if name == "IF" else "")
            return NotSupportedError(f"line {line}: {name} is outside what sqlpredict runs "
                                     f"(no control flow); split the script or run that logic in Python{guard}")
    if isinstance(tree, exp.Command) and _STRAY_GO.fullmatch(statement.text.strip()):
        return ProgrammingError(f"line {line}: Incorrect syntax near 'GO': GO ends a batch only on a line of "
                                "its own, as sqlcmd and SSMS read it; put it on the next line")
    if isinstance(tree, (exp.Command, *_NOT_STATEMENTS)):
        return command_error(statement)
    for_clause = next(tree.find_all(exp.ForClause), None)
    if for_clause is not None:  # DuckDB would return the rows without it: a silently different result
        return NotSupportedError(f"line {line}: {for_clause.sql('tsql')[:40]} is outside what sqlpredict runs "
                                 "(no JSON or XML documents); to join values into one string write "
                                 "STRING_AGG(col, ','), otherwise fetch the rows and build the document in Python")
    kind = str(tree.args.get("kind") or "").upper() if isinstance(tree, (exp.Create, exp.Drop)) else ""
    if kind == "DATABASE":
        return NotSupportedError(f"line {line}: sqlpredict serves one database, the file the connection opened, so "
                                 "CREATE and DROP DATABASE have nothing to do: remove them (connect to another file "
                                 "for another database; USE and three-part names are accepted)")
    if kind == "FUNCTION":
        return NotSupportedError(f"line {line}: user-defined functions are outside what sqlpredict runs; write the "
                                 "function's expression in the query, or an inline table-valued function's query "
                                 "as a view or a CTE")
    unformatted = format_refusal(tree)
    if unformatted is not None:
        return NotSupportedError(f"line {line}: {unformatted}")
    index = index_refusal(tree)
    if index is not None:
        return NotSupportedError(f"line {line}: {index}")
    if isinstance(tree, (exp.Execute, exp.ExecuteSql)) and _dynamic(tree):
        return NotSupportedError(f"line {line}: dynamic SQL (EXEC of a string, sp_executesql) is "
                                 "outside what sqlpredict runs; write the statement itself")
    if isinstance(tree, exp.Declare) and any(not isinstance(item.args.get("kind"), exp.DataType)
                                             for item in tree.expressions):
        return NotSupportedError(f"line {line}: only scalar variables can be declared "
                                 "(table variables are not supported; use a #temp table)")
    if isinstance(tree, exp.Set):
        for item in tree.expressions:
            assignment = item.this if isinstance(item, exp.SetItem) else item
            if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Parameter):
                continue
            option = _option_name(item)
            if option not in ACCEPTED_OPTIONS:
                return NotSupportedError(f"line {line}: SET {option or statement.text[4:40]} is not supported")
            if option == "TRANSACTION":
                why = _transaction_refusal(item)
                if why:
                    return NotSupportedError(f"line {line}: {why}")
            if option == "ROWCOUNT" and not (isinstance(assignment, exp.EQ) and assignment.expression.name == "0"):
                return NotSupportedError(f"line {line}: SET ROWCOUNT other than 0 would stop every later statement "
                                         "after that many rows, which sqlpredict does not do; write TOP (n) in "
                                         "the statement instead")
            if option == "DATEFIRST" and not (isinstance(assignment, exp.EQ) and assignment.expression.name == "7"):
                return NotSupportedError(f"line {line}: SET DATEFIRST other than 7 (Sunday, us_english's default) is "
                                         "not supported: DATEPART(weekday) and DATEPART(week) count from Sunday; "
                                         "shift the weekday in the query, e.g. (DATEPART(weekday, d) + 5) % 7 + 1 "
                                         "for Monday = 1")
    function = next((f for f in tree.find_all(exp.Anonymous) if f.name.upper() in IDENTITY_FUNCTIONS), None)
    if function is not None:
        return NotSupportedError(f"line {line}: {function.name.upper()}() is outside what sqlpredict runs; "
                                 f"{SYSTEM_VARIABLE_FIXES['IDENTITY']}")
    for _, name in collation_names(tree):
        if duckdb_collation(name) is None:
            return ProgrammingError(f"line {line}: Invalid collation '{name}': sqlpredict reads a SQL Server "
                                    "collation name by its case, accent or binary part (_CI or _CS, _AI or _AS, "
                                    "_BIN or _BIN2), as in Latin1_General_CI_AS")
    system = next((p for p in tree.find_all(exp.Parameter) if isinstance(p.this, exp.Parameter)), None)
    if system is not None:  # @@NAME: sqlglot nests one parameter in another
        return system_variable_error(system.this.name, line)
    return None


def _must_lead_its_batch(statement: Statement) -> Error | None:
    """SQL Server's Msg 111: CREATE PROCEDURE starts its batch, and CREATE or ALTER VIEW is all of it.

    A batch that starts with CREATE PROCEDURE never comes here (it is stored whole), nor does a CREATE
    VIEW that ends at `;`; a view followed by more statements without one was read as one statement.
    """
    line, head = statement.line, _CREATE_HEAD.match(statement.text)
    if head is None:
        return None
    if head["kind"].upper().startswith("PROC"):
        return ProgrammingError(f"line {line}: CREATE PROCEDURE must be the first statement in a batch, as in "
                                "SQL Server (Msg 111): put GO on the line before it")
    if len(split_statements(view_query(statement.text), line)) > 1:
        return ProgrammingError(f"line {line}: {head['verb'].upper()} VIEW must be the only statement in its "
                                "batch, as in SQL Server (Msg 111): put GO on the line after the view's query")
    return None


def _named_procedure(statement: Statement, first: bool) -> Error | None:
    """A name alone, with or without arguments (not a T-SQL statement word, as in `OPEN c`).

    SQL Server runs a batch's first statement `name args` as EXEC name args; anywhere else it is Msg 102.
    """
    text = statement.text.splitlines()[0][:80]
    word = (re.findall(r"[^\s(,;]+", text) or [text])[0]
    if word.upper() in STARTS:
        return None
    if first:
        return NotSupportedError(f"line {statement.line}: sqlpredict runs a procedure only by EXEC, not by its "
                                 f"name alone at the start of a batch: write EXEC {text}")
    return ProgrammingError(f"line {statement.line}: Incorrect syntax near '{word}': {text} is not a statement")


def _checked(tree: exp.Expression, statement: Statement, first: bool = False) -> exp.Expression | Error:
    """The tree, or the error that running it would raise."""
    return refusal(tree, statement, first) or tree


def first_error(parsed: ParsedBatch) -> Error | None:
    """The error of a batch's first refused statement: a batch with one runs none of its statements."""
    return next((tree for _, tree in parsed if isinstance(tree, Error)), None)


def redeclarations(parsed: ParsedBatch, declared: set[str]) -> ParsedBatch:
    """SQL Server's Msg 134: a name is declared once in a batch or procedure (`declared`: its parameters).

    Read with the batch, so a batch that declares a name twice runs none of its statements.
    """
    checked: ParsedBatch = []
    for statement, tree in parsed:
        if isinstance(tree, exp.Declare):
            for item in tree.expressions:
                for target in item.this if isinstance(item.this, list) else [item.this]:
                    if target.name.lower() in declared:
                        tree = ProgrammingError(f"line {statement.line}: The variable name '@{target.name}' has "
                                                "already been declared; variable names must be unique within a "
                                                "batch or stored procedure")
                    declared.add(target.name.lower())
        checked.append((statement, tree))
    return checked


def read_body(proc: Procedure, first_line: int) -> ParsedBatch:
    """A procedure's body read as a batch is before it runs; `first_line`: the CREATE text's first line.

    Only the text is checked, not the tables it names, which may not exist yet
    (SQL Server's deferred name resolution).
    """
    statements = split_statements(proc.body, first_line + proc.body_line - 1)
    parsed: ParsedBatch = [(s, _checked(parse_statement(s, 0), s)) for s in statements]
    return redeclarations(parsed, {p.name.lower() for p in proc.parameters})


def system_variable_error(name: str, line: int) -> NotSupportedError:
    fix = SYSTEM_VARIABLE_FIXES.get(name.upper(), "compute the value in SQL or in Python instead")
    return NotSupportedError(f"line {line}: the system variable @@{name.upper()} is outside what sqlpredict "
                             f"runs; {fix}")


class BatchRunner:
    """Runs a T-SQL operation on a connection, batch by batch, statement by statement."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.identities = Identities(connection)  # SQL Server's rules for IDENTITY columns
        self.keep_as: tuple[str, int] | None = None  # an operation of one statement whose plan may be kept

    def run(self, operation: str, params: t.Sequence[t.Any]) -> list[ResultSet]:
        """Read the whole operation first, so a wrong number of `?` values is refused before anything runs."""
        # (batch, its statements parsed); None in place of the statements: a CREATE PROCEDURE batch
        batches: list[tuple[Batch, ParsedBatch | None]] = []
        used, readable = 0, True
        for batch in split_batches(operation):
            parsed: ParsedBatch | None = None
            if not is_create_procedure(batch.text):
                parsed = []
                for statement in split_statements(batch.text, batch.line):
                    try:
                        tree = parse_statement(statement, used)
                    except Error as exc:  # raised when its batch's turn comes: earlier batches run
                        parsed.append((statement, exc))
                        readable = False
                    else:
                        used += marker_count(tree)
                        parsed.append((statement, _checked(tree, statement, first=not parsed)))
                parsed = redeclarations(parsed, set())
            batches.append((batch, parsed))
        if readable:
            check_marker_count(used, params)
            self.keep_as = (operation, used) if _one_keepable_statement(batches) else None
        results: list[ResultSet] = []
        for batch, parsed in batches:
            for run in range(batch.count):  # GO n: the same values for its markers each time
                if parsed is None:
                    self.create_procedure(batch.text, batch.line)
                else:  # a run changes its trees (variables become markers): the runs before the last get copies
                    self.run_statements(parsed if run == batch.count - 1 else _copies(parsed), params, Variables(),
                                        results)
        return results

    def run_statements(self, parsed: ParsedBatch, params: t.Sequence[t.Any], variables: Variables,
                       results: list[ResultSet]) -> None:
        """Run one batch's statements, appending their results; a batch with an error runs none of them."""
        error = first_error(parsed)
        if error is not None:
            raise error
        for statement, tree in parsed:
            assert isinstance(tree, exp.Expression)
            if isinstance(tree, (exp.Execute, exp.ExecuteSql)):
                results.extend(self.execute(tree, statement, list(params), variables))
                continue
            result = self.run_statement(tree, statement, list(params), variables)
            if result is not None:
                results.append(result)

    def run_statement(self, tree: exp.Expression, statement: Statement, params: list[t.Any],
                      variables: Variables) -> ResultSet | None:
        if isinstance(tree, exp.Declare):
            return self.declare(tree, statement, params, variables)
        if isinstance(tree, exp.Set):
            return self.set(tree, statement, params, variables)
        if isinstance(tree, exp.Use):
            self.connection.warn_single_database(f"USE {tree.this.name if tree.this else ''}")
            return None
        if isinstance(tree, IdentityInsert):
            return self.identities.set_identity_insert(tree, statement.line)
        if _transaction_control(tree):
            return self.connection.run_tree(tree, params)
        if isinstance(tree, exp.Select) and _assignments(tree):
            return self.select_into_variables(tree, statement, params, variables)
        if isinstance(tree, exp.Drop) and str(tree.args.get("kind")).upper() in ("PROCEDURE", "PROC"):
            return self.drop_procedures(tree, statement)
        if isinstance(tree, exp.Alter) and str(tree.args.get("kind")).upper() == "VIEW":
            tree = self.view_to_alter(tree, statement)
        if isinstance(tree, exp.Alter) and len(pieces := alter_table_pieces(tree)) > 1:
            con = self.connection  # DuckDB's ALTER TABLE makes one change; T-SQL's several, all or none
            con.all_or_none(lambda: [con.run_tree(piece, params) for piece in pieces])
            return None
        identities = _take_identities(tree) if isinstance(tree, exp.Create) and tree.kind == "TABLE" else []
        explicit = None
        if isinstance(tree, exp.Insert):
            explicit = self.identities.before_insert(tree, statement.line)
        elif isinstance(tree, exp.Merge):
            explicit = self.identities.before_merge(tree, statement.line)
        if isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge)) and tree.args.get("returning"):
            output_as_returning(tree, statement.line)
        bind_variables(tree, variables, params, statement.line)
        # A kept plan would skip the checks that explicit IDENTITY values need each time
        result = self.connection.run_tree(tree, params, None if explicit else self.keep_as)
        if identities:
            self.number_identities(tree, identities)
        if explicit is not None:
            continue_numbering(self.connection, explicit)
        return result

    def number_identities(self, tree: exp.Create, identities: list[tuple[str, int, int]]) -> None:
        """IDENTITY(seed, step): DuckDB numbers rows with a sequence as the column's DEFAULT.

        The sequences are made after the table, so a CREATE TABLE that fails
        (the name is taken, a type is wrong) has changed nothing. Their range is
        BIGINT's whole range, as SQL Server's seed may be 0 or negative and its
        step negative (DuckDB's default range starts at 1, or ends at -1).
        """
        schema = tree.this
        table = schema.this
        temporary = any(isinstance(p, exp.TemporaryProperty) for p in tree.find_all(exp.TemporaryProperty))
        for column, start, step in identities:
            name = f"{IDENTITY_PREFIX}{table.name}_{column}_{uuid.uuid4().hex[:8]}"
            create = exp.Create(this=exp.Table(this=exp.to_identifier(name, quoted=True)), kind="SEQUENCE",
                                properties=exp.Properties(expressions=[
                                    exp.SequenceProperties(start=exp.Literal.number(start),
                                                           increment=exp.Literal.number(step),
                                                           minvalue=exp.Literal.number(_BIGINT_MIN),
                                                           maxvalue=exp.Literal.number(_BIGINT_MAX))]
                                    + ([exp.TemporaryProperty()] if temporary else [])))
            self.connection.run_tree(create, [])
            alter = exp.Alter(this=table.copy(), kind="TABLE", actions=[exp.AlterColumn(
                this=exp.to_identifier(column, quoted=True), default=exp.func("nextval", exp.Literal.string(name)))])
            self.connection.run_tree(alter, [])

    # ------------------------------------------------------------ procedures

    def create_procedure(self, text: str, line: int) -> None:
        """The body is checked as a batch is before it is stored, as SQL Server compiles it at CREATE:
        a body it would refuse at EXEC stores nothing and leaves an existing procedure as it was."""
        proc = parse_procedure(text)
        error = first_error(read_body(proc, line))
        if error is not None:
            raise error
        catalog = self.connection.catalog
        self.connection.all_or_none(lambda: catalog.save("PROCEDURE", proc.name, text.strip(), proc.replace))

    def drop_procedures(self, tree: exp.Drop, statement: Statement) -> None:
        """DROP PROCEDURE [IF EXISTS] name: procedures live in the catalog, not in DuckDB."""
        names = [table.name for table in tree.args.get("tables") or []]
        stored = self.connection.catalog.objects("PROCEDURE")
        missing = next((name for name in names if name.lower() not in stored), None)
        if missing is not None and not tree.args.get("exists"):
            raise ProgrammingError(f"line {statement.line}: Cannot drop the procedure '{missing}', because it does "
                                   "not exist")
        catalog = self.connection.catalog
        self.connection.all_or_none(lambda: [catalog.drop("PROCEDURE", name) for name in names])

    def view_to_alter(self, tree: exp.Alter, statement: Statement) -> exp.Create:
        """ALTER VIEW name AS <query> is CREATE OR ALTER VIEW of a view that must exist."""
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        catalog = self.connection.catalog
        found = "view" if target.name.lower() in catalog.objects("VIEW") else catalog.engine_object(target.name)
        if found != "view":
            what = f"'{target.name}' is a table, not a view" if found else f"Invalid object name '{target.name}'"
            raise ProgrammingError(f"line {statement.line}: {what}; ALTER VIEW changes an existing view "
                                   "(CREATE VIEW makes one)")
        actions = tree.args.get("actions") or []
        return exp.Create(this=tree.this, kind="VIEW", expression=actions[0] if actions else None, replace=True)

    def execute(self, tree: exp.Execute, statement: Statement, params: list[t.Any],
                variables: Variables) -> list[ResultSet]:
        name = tree.this.name  # a procedure's name: refusal() has turned dynamic SQL away
        args = exec_arguments(tree)
        if name.lower() == "sp_describe_model":
            return [self.describe_model(args, statement, params, variables)]
        definition = self.connection.catalog.objects("PROCEDURE").get(name.lower())
        if definition is None:
            raise ProgrammingError(f"line {statement.line}: Could not find stored procedure '{name}'")
        return self.run_procedure(parse_procedure(definition), args, statement, params, variables)

    def run_procedure(self, proc: Procedure, args: list[Argument], statement: Statement, params: list[t.Any],
                      caller: Variables) -> list[ResultSet]:
        """The body runs as a batch whose variables are the parameters; OUTPUT ones flow back."""
        own = Variables()
        matched = match_arguments(proc, args)
        for param in proc.parameters:
            variable = own.items[param.name.lower()] = Variable(param.sql_type, length=param.length)
            arg = matched[param.name.lower()]
            value = arg.value if arg is not None else param.default
            if value is not None and not (isinstance(value, exp.Var) and value.name.upper() == "DEFAULT"):
                variable.value = self.evaluate(value, variable, statement, params, caller)
        results: list[ResultSet] = []
        temp_before = self.connection.catalog.temp_tables()
        identity_insert = self.connection.identity_insert  # SQL Server restores SET options when a procedure ends
        try:
            self.run_statements(read_body(proc, statement.line), [], own, results)
        except BaseException:
            self.drop_temp_tables(temp_before, quietly=True)
            raise
        finally:
            self.connection.identity_insert = identity_insert
        self.drop_temp_tables(temp_before)
        for param in proc.parameters:
            arg = matched[param.name.lower()]
            if param.output and arg is not None and arg.output and isinstance(arg.value, exp.Parameter):
                target = caller.get(arg.value.name, statement.line)
                value = own.items[param.name.lower()].value
                target.value = self.evaluate(exp.Placeholder(), target, statement, [value], Variables(),
                                             index=0)
        return results

    def drop_temp_tables(self, before: set[str], quietly: bool = False) -> None:
        """SQL Server drops the #temp tables a procedure made when the procedure ends, so it can run again.

        `quietly`: after the procedure failed, whose error is the one to report (its rollback may have
        dropped them already).
        """
        for name in sorted(self.connection.catalog.temp_tables() - before):
            table = exp.Table(this=exp.to_identifier(name, quoted=True))
            drop = exp.Drop(tables=[table], kind="TABLE", exists=True)
            try:
                self.connection.run_tree(drop, [])
            except Error:
                if not quietly:
                    raise

    def call(self, name: str, values: t.Sequence[t.Any]) -> tuple[list[ResultSet], list[t.Any]]:
        """DB-API callproc: positional values in, the values with OUTPUT parameters updated out."""
        definition = self.connection.catalog.objects("PROCEDURE").get(name.split(".")[-1].strip("[]").lower())
        if definition is None:
            raise ProgrammingError(f"Could not find stored procedure '{name}'")
        proc = parse_procedure(definition)
        if len(values) > len(proc.parameters):
            raise ProgrammingError(f"Procedure or function {proc.name} has too many arguments specified")
        caller = Variables()
        args = []
        for i, (param, value) in enumerate(zip(proc.parameters, values)):
            caller.items[f"__arg{i}"] = Variable(param.sql_type, value)
            args.append(Argument(None, exp.Parameter(this=exp.var(f"__arg{i}")), param.output))
        results = self.run_procedure(proc, args, Statement(f"EXEC {name}", 1), [], caller)
        return results, [_output_value(caller.items[f"__arg{i}"]) for i in range(len(args))]

    def describe_model(self, args: list[Argument], statement: Statement, params: list[t.Any],
                       variables: Variables) -> ResultSet:
        from .describe import describe_rows

        if len(args) != 1 or (args[0].name and args[0].name.lower() != "model"):
            raise ProgrammingError(f"line {statement.line}: EXEC sp_describe_model @model = <model bytes>")
        blob = self.evaluate(args[0].value, Variable("BLOB"), statement, params, variables)
        if blob is None:  # a DataError, as the same NULL is in PREDICT's MODEL
            given = args[0].value
            why = ("the parameter given for @model is None; pass the model's bytes"
                   if isinstance(given, exp.Placeholder) else
                   f"{given.sql(dialect='tsql')} is NULL, so the query that gave it found no row or returned NULL; "
                   "check that it selects an existing model")
            raise DataError(f"line {statement.line}: PREDICT: MODEL is NULL: sp_describe_model got no model: {why}")
        columns, rows = describe_rows(bytes(blob), self.connection.dialect)
        table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
        from .connection import ResultSet

        return ResultSet(columns, ["VARCHAR"] * len(columns), table, len(rows))

    # ------------------------------------------------------------ variables

    def declare(self, tree: exp.Declare, statement: Statement, params: list[t.Any],
                variables: Variables) -> None:
        for item in tree.expressions:
            kind = item.args["kind"]
            sql_type = to_duckdb(kind)  # a scalar type: refusal() has turned table variables away
            default = item.args.get("default")
            for target in item.this if isinstance(item.this, list) else [item.this]:
                variable = Variable(sql_type, length=declared_length(kind))
                variables.items[target.name.lower()] = variable
                if isinstance(default, exp.Expression):
                    variable.value = self.evaluate(default, variable, statement, params, variables)
        return None

    def set(self, tree: exp.Set, statement: Statement, params: list[t.Any], variables: Variables) -> None:
        for item in tree.expressions:
            assignment = item.this if isinstance(item, exp.SetItem) else item
            if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Parameter):
                variable = variables.get(assignment.this.name, statement.line)
                variable.value = self.evaluate(assignment.expression, variable, statement, params, variables)
                continue
            option = _option_name(item)
            if option == "NOCOUNT" and isinstance(assignment, exp.EQ):
                self.connection.nocount = assignment.expression.name.upper() == "ON"
        return None

    def evaluate(self, expr: exp.Expression, variable: Variable, statement: Statement, params: list[t.Any],
                 variables: Variables, index: int | None = None) -> t.Any:
        """An expression's value, CAST to the variable's declared type, as SQL Server assigns it."""
        expr = expr.copy()
        if index is not None:
            expr.meta["index"] = index
        query = exp.select(variable.assigned(expr))
        bind_variables(query, variables, params, statement.line)
        result = self.connection.run_tree(query, params)
        if result.table is None or not result.table.num_rows:
            return None
        return _row_values(result.table, 0)[0]

    def select_into_variables(self, tree: exp.Select, statement: Statement, params: list[t.Any],
                              variables: Variables) -> None:
        """SELECT @v = expr FROM ...: the last row wins; no row leaves the variables as they were."""
        targets = []
        expressions = []
        for item in tree.expressions:
            if not (isinstance(item, exp.EQ) and isinstance(item.this, exp.Parameter)):
                raise ProgrammingError(f"line {statement.line}: a SELECT that assigns a variable must assign in "
                                       "every column (SELECT @a = x, @b = y FROM ...)")
            variable = variables.get(item.this.name, statement.line)
            targets.append(variable)
            expressions.append(exp.alias_(variable.assigned(item.expression.copy()), f"v{len(expressions)}"))
        query = tree.copy()
        query.set("expressions", expressions)
        bind_variables(query, variables, params, statement.line)
        result = self.connection.run_tree(query, params)
        if result.table is not None and result.table.num_rows:
            last = _row_values(result.table, result.table.num_rows - 1)
            for variable, value in zip(targets, last):
                variable.value = value
        return None


def _one_keepable_statement(batches: list[tuple[Batch, ParsedBatch | None]]) -> bool:
    """Whether the operation is one statement that the runner passes to the connection as it is, so the
    connection may keep its plan for the same text (plans.py): a query or a change, but not an INSERT
    without a column list (which reads the table's columns). One statement alone declares no variables."""
    if len(batches) != 1 or batches[0][0].count != 1 or batches[0][1] is None or len(batches[0][1]) != 1:
        return False
    tree = batches[0][1][0][1]
    if not isinstance(tree, exp.Expression):
        return False
    if isinstance(tree, exp.Select):
        return not _assignments(tree)
    if isinstance(tree, exp.Insert):
        return isinstance(tree.this, exp.Schema)
    return isinstance(tree, (exp.Update, exp.Delete, exp.Merge))


def _take_identities(tree: exp.Create) -> list[tuple[str, int, int]]:
    """Remove IDENTITY(seed, step) from a CREATE TABLE's columns: (column, seed, step) for each.

    A bare IDENTITY (which sqlglot reads as AUTOINCREMENT, and DuckDB would drop) is IDENTITY(1, 1),
    as in SQL Server.
    """
    schema = tree.this
    if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
        return []
    identities = []
    for column in schema.expressions:
        if not isinstance(column, exp.ColumnDef):
            continue
        for constraint in list(column.constraints):
            kind = constraint.args.get("kind")
            if isinstance(kind, (exp.GeneratedAsIdentityColumnConstraint, exp.AutoIncrementColumnConstraint)):
                start = _whole_number(kind.args.get("start"), 1)
                step = _whole_number(kind.args.get("increment"), 1)
                identities.append((column.name, start, step))
                constraint.pop()
    return identities


def _whole_number(node: exp.Expression | None, default: int) -> int:
    """IDENTITY's seed or step, with its sign: sqlglot reads -1 as Neg(1), whose name is '1'."""
    if node is None:
        return default
    if isinstance(node, exp.Neg):
        return -_whole_number(node.this, default)
    return int(node.name)


def _row_values(table: pa.Table, index: int) -> list[t.Any]:
    """One row as Python values, for variables.

    A DATETIME2(7) value (nanoseconds) is kept as its text: Python's datetime
    stops at microseconds, and pyarrow needs pandas for more. The CAST that
    binds a variable to its declared type reads the text back exactly.
    """
    values = []
    for col in table.slice(index, 1).columns:
        if pa.types.is_timestamp(col.type) and col.type.unit == "ns":
            col = col.cast(pa.string())
        values.append(col.to_pylist()[0])
    return values


def _output_value(variable: Variable) -> t.Any:
    """An OUTPUT parameter's value for callproc: DATETIME2(7) text as a datetime, as a fetch gives it."""
    if variable.sql_type == "TIMESTAMP_NS" and isinstance(variable.value, str):
        return datetime.datetime.fromisoformat(variable.value[:26])
    return variable.value


# What sqlglot makes of a statement word it does not know (OPEN c, GOTO x, RAISERROR(...)): an expression.
_NOT_STATEMENTS = (exp.Alias, exp.Column, exp.Anonymous)
_STRAY_GO = re.compile(r"GO(?:\s+\d+)?;?", re.IGNORECASE)  # GO after a statement on its line


def _copies(parsed: ParsedBatch | None) -> ParsedBatch | None:
    """A batch's trees for another run: running a tree changes it (variables are bound in place)."""
    if parsed is None:
        return None
    return [(statement, tree.copy() if isinstance(tree, exp.Expression) else tree) for statement, tree in parsed]


def _dynamic(tree: exp.Execute | exp.ExecuteSql) -> bool:
    """EXEC of a string or of sp_executesql, rather than of a procedure by name."""
    return isinstance(tree, exp.ExecuteSql) or not isinstance(tree.this, exp.Table) \
        or tree.this.name.lower() == "sp_executesql"


def _assignments(tree: exp.Select) -> bool:
    return any(isinstance(e, exp.EQ) and isinstance(e.this, exp.Parameter) for e in tree.expressions)


def _option_name(item: exp.Expression) -> str:
    """NOCOUNT in SET NOCOUNT ON; TRANSACTION in SET TRANSACTION ISOLATION LEVEL ..., which sqlglot keeps as a kind."""
    if isinstance(item, exp.SetItem) and isinstance(item.args.get("kind"), str):
        return item.args["kind"].upper()
    assignment = item.this if isinstance(item, exp.SetItem) else item
    target = assignment.this if isinstance(assignment, exp.EQ) else assignment
    return target.name.upper() if isinstance(target, (exp.Column, exp.Identifier, exp.Var)) else ""


def _transaction_refusal(item: exp.SetItem) -> str | None:
    """Why SET TRANSACTION ... is refused: an isolation level whose guarantee sqlpredict cannot give."""
    for characteristic in item.expressions:
        text = characteristic.name.upper()
        level = text.removeprefix("ISOLATION LEVEL ")
        if level == text or level not in ISOLATION_LEVELS:
            return f"SET TRANSACTION {text} is not supported"
        why = ISOLATION_LEVELS[level]
        if why:
            return f"SET TRANSACTION ISOLATION LEVEL {level} is not supported: {why}"
    return None


def _transaction_control(tree: exp.Expression) -> bool:
    return isinstance(tree, (exp.Transaction, exp.Commit, exp.Rollback))
