"""The DB-API 2.0 surface: Connection and Cursor over one DuckDB connection.

Every cursor of a connection runs on the connection's one DuckDB connection,
so they share its transaction, as PEP 249 cursors do. A result is fetched
whole from DuckDB when the statement runs, so one cursor's next statement
never invalidates another cursor's rows.
"""

from __future__ import annotations

import numbers
import os
import re
import sys
import threading
import warnings
import typing as t
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from .dialects import DIALECTS, PredictSource, mixes_markers, named_marker, parse, to_duckdb
from .errors import (Error, InterfaceError, NotSupportedError, OperationalError, ProgrammingError, from_duckdb,
                     parse_error_text)

if t.TYPE_CHECKING:
    from .cursor import Cursor
from .catalog import KIND_WORDS, Catalog, raise_exists
from .planner import (PlanContext, PreparedStatement, adapt_tsql, mixed_markers_error, named_marker_error,
                      number_markers, prepare, register, unregister)
from .plans import Plan, PlanCache, plan_of, reuse
from .sessions import DEFAULT_CACHE_BYTES, SessionCache, resolve_providers
from .stream import DEFAULT_BATCH_SIZE, SessionStatements, session_statements
from .tsql import BatchRunner, check_marker_count
from .tsql_identity import Identities, continue_numbering
from .tsql_strings import DEFAULT_COLLATION, set_session_collation
from .tsql_transactions import nothing_to_end, transaction_name, unknown_name
from . import engine_calls, values

NULL_POLICIES = ("propagate", "error")
_PREDICT_WORD = re.compile(r"\b(PREDICT|describe_model)\s*\(", re.IGNORECASE)  # what DuckDB cannot run alone
_RESULT_TYPES = {"SELECT", "EXPLAIN", "PRAGMA", "CALL", "RELATION", "ANALYZE"}
_CHANGE_TYPES = {"INSERT", "UPDATE", "DELETE", "MERGE_INTO"}
# Statement types that cannot create or drop a temporary table or view.
_KEEPS_TEMP_OBJECTS = {"SELECT"} | _CHANGE_TYPES

_shared_cache = SessionCache(DEFAULT_CACHE_BYTES)


def connect(database: str = ":memory:", *, dialect: str = "tsql", providers: list[str] | None = None,
            null_inputs: str = "propagate", autocommit: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
            read_only: bool = False, threads: int | None = None,
            session_cache_bytes: int | None = None) -> Connection:
    """Open a DuckDB database (a file path or ":memory:") that runs PREDICT.

    dialect: "tsql" (default) or "duckdb", the SQL the connection reads.
    providers: onnxruntime execution providers to force; default CUDA when usable, else CPU.
    null_inputs: "propagate" (NULL outputs for rows with a NULL input) or "error".
    autocommit: False (PEP 249's default, as pyodbc): statements run in a transaction until commit().
    """
    return Connection(database, dialect=dialect, providers=providers, null_inputs=null_inputs,
                      autocommit=autocommit, batch_size=batch_size, read_only=read_only,
                      threads=threads, session_cache_bytes=session_cache_bytes)


@dataclass
class ResultSet:
    """One statement's outcome: rows (as Arrow) or a count of changed rows."""

    columns: list[str]
    types: list[str]
    table: pa.Table | None
    rowcount: int
    exact: pa.Table | None = None  # the rows in DuckDB's lossless Arrow types, where standard Arrow loses values


class Connection:
    def __init__(self, database: str = ":memory:", *, dialect: str = "tsql", providers: list[str] | None = None,
                 null_inputs: str = "propagate", autocommit: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
                 read_only: bool = False, threads: int | None = None,
                 session_cache_bytes: int | None = None) -> None:
        _check_arguments(dialect, null_inputs, batch_size, threads, session_cache_bytes)
        self.dialect = dialect.lower()
        self.providers = resolve_providers(providers)
        self.null_inputs = null_inputs
        self.batch_size = batch_size
        self.threads = threads
        # T-SQL compares strings as SQL Server's default collation does, ignoring case (see tsql_strings).
        self.collation = DEFAULT_COLLATION if self.dialect == "tsql" else None
        self.cache = _shared_cache if session_cache_bytes is None else SessionCache(session_cache_bytes)
        self.plans = PlanCache()  # the plans of the last statements, reused when run again (plans.py)
        if os.environ.get("SQLPREDICT_KEEP_PLANS", "1") == "0":  # benchmarks/ measures the difference
            self.plans.size = 0
        try:
            self._db: duckdb.DuckDBPyConnection | None = duckdb.connect(database, read_only=read_only)
            # Table names must never resolve to Python variables of the calling code.
            self._db.execute("SET python_enable_replacements = false")
            # DuckDB's own progress bar writes to stdout, into whatever the caller prints there.
            self._db.execute("SET enable_progress_bar = false")
            if self.collation:
                set_session_collation(self._db, self.collation)
        except duckdb.Error as exc:
            raise from_duckdb(exc) from exc
        self._autocommit = autocommit
        self._in_transaction = False
        self._nesting = 0  # BEGIN TRANSACTIONs not yet committed (T-SQL's @@TRANCOUNT)
        self._dirty = False  # the open transaction holds uncommitted writes
        self._user_transaction = False  # opened by a BEGIN statement, not implied by PEP 249
        self._transaction_name: str | None = None  # the outermost BEGIN TRANSACTION's name (for ROLLBACK name)
        # Whether the transaction PEP 249 opens with autocommit off counts in T-SQL's @@TRANCOUNT, as under
        # pyodbc's autocommit=False (SQL Server's IMPLICIT_TRANSACTIONS ON). The CLI turns it off: sqlcmd runs
        # with IMPLICIT_TRANSACTIONS OFF, and its per-batch transaction is not the script's.
        self.implicit_transactions = True
        # SET NOCOUNT's state: T-SQL clients (the CLI) print DML row counts only while it is OFF.
        self.nocount = False
        # The table SET IDENTITY_INSERT ... ON names, as DuckDB names it (tsql_identity): one per session.
        self.identity_insert: exp.Table | None = None
        self._lock = threading.RLock()
        self._warned_use = False
        self._exporting = False  # a lossless Arrow export is under way (see values.export)
        self._catalog: Catalog | None = None
        # name -> whether it is a temporary table or view of this connection. Only statements on this
        # connection change its temp objects, so answers hold until one that may do so runs.
        self._temp_answers: dict[str, bool] = {}
        # Tables' column defaults, read for T-SQL's IDENTITY rules (tsql_identity), by (schema, name). DuckDB
        # versions its catalog by transaction, so they hold until this connection's transaction ends or it
        # runs a statement that may change a table; outside a transaction, for one operation.
        self.column_defaults: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
        self._settings: SessionStatements | None = ()  # see _session_settings
        self._settings_stale = False
        # Called with the number of rows each scored batch held (the CLI shows progress with it).
        self.progress: t.Callable[[int], None] | None = None

    # ------------------------------------------------------------ PEP 249

    def cursor(self) -> Cursor:
        from .cursor import Cursor

        self._check_open()
        return Cursor(self)

    def commit(self) -> None:
        with self._lock:
            self._check_open()
            if self._in_transaction:
                self._run_control("COMMIT")

    def rollback(self) -> None:
        with self._lock:
            self._check_open()
            if self._in_transaction:
                self._run_control("ROLLBACK")

    def close(self) -> None:
        """Close; an uncommitted transaction is rolled back (PEP 249)."""
        with self._lock:
            if self._db is None:
                return
            try:
                if self._in_transaction:
                    self._db.execute("ROLLBACK")
            except duckdb.Error:
                pass
            self._db.close()
            self._db = None

    @property
    def closed(self) -> bool:
        return self._db is None

    @property
    def in_user_transaction(self) -> bool:
        """A BEGIN TRANSACTION statement has run and its COMMIT or ROLLBACK has not (nor a rollback on error)."""
        return self._user_transaction and self._in_transaction

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        with self._lock:
            self._check_open()
            if value and self._in_transaction:
                self._run_control("COMMIT")
            self._autocommit = bool(value)

    def interrupt(self) -> None:
        """Stop the statement running on this connection (from another thread)."""
        db = self._db
        if db is None:
            raise InterfaceError("the connection is closed")
        db.interrupt()

    def execute(self, operation: str, *parameters: t.Any) -> Cursor:
        """Shortcut, as in pyodbc, sqlite3 and duckdb: a new cursor that has run `operation`."""
        return self.cursor().execute(operation, *parameters)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and not self.closed:
            self.commit()
        self.close()

    # ------------------------------------------------------------ running statements

    def _check_open(self) -> None:
        if self._db is None:
            raise InterfaceError("the connection is closed")

    def _start_operation(self) -> None:
        """Each operation reads the stored views and procedures afresh: another connection may have
        changed them, and a statement that stopped early may have left this connection's copy."""
        self._check_open()
        self._catalog = None
        if not self._in_transaction:
            self.column_defaults.clear()

    def _run_control(self, sql: str) -> None:
        assert self._db is not None
        self._temp_answers.clear()  # a ROLLBACK can undo a CREATE TEMP TABLE
        self.column_defaults.clear()  # another transaction sees the tables others have changed
        try:
            self._db.execute(sql)
        except duckdb.Error as exc:
            raise from_duckdb(exc) from exc
        finally:
            if sql in ("COMMIT", "ROLLBACK"):
                self._in_transaction = False
                self._dirty = False
                self._user_transaction = False
                self._nesting = 0
                self._transaction_name = None

    def _begin_if_needed(self) -> None:
        """Open the implicit transaction PEP 249 implies, unless in autocommit mode."""
        if not self._autocommit and not self._in_transaction:
            self._run_control("BEGIN TRANSACTION")
            self._in_transaction = True

    def _refresh_snapshot(self) -> None:
        """A transaction that has written nothing starts each statement from what is committed now.

        That is READ COMMITTED, SQL Server's default, for the whole statement.
        DuckDB would keep the transaction's first snapshot, while PREDICT reads
        DATA on a sibling connection, which sees the latest commit: one
        statement would mix two states of the database. Ending a transaction
        that wrote nothing loses nothing.
        """
        if self._in_transaction and not self._dirty:
            assert self._db is not None
            self.column_defaults.clear()
            try:
                self._db.execute("COMMIT")
                self._db.execute("BEGIN TRANSACTION")
            except duckdb.Error as exc:
                self._in_transaction = self._user_transaction = False
                raise from_duckdb(exc) from exc

    def run_batch(self, operation: str, params: t.Sequence[t.Any]) -> list[ResultSet]:
        """Run every statement of `operation`; one ResultSet per statement."""
        with self._lock:
            self._start_operation()
            key = (self.dialect, operation)
            # While IDENTITY_INSERT is ON, each INSERT is checked against it (Msg 545): no kept plan skips that
            plan = self.plans.get(key) if self.identity_insert is None else None
            if plan is not None:
                result = self._run_again(plan, params)
                if result is not None:
                    return [result]
                self.plans.forget(key)
            if self.dialect == "tsql":
                return BatchRunner(self).run(operation, params)
            statements = self._split(operation)
            check_marker_count(sum(count for _, count in statements), params, markers="? or distinct $n")
            if len(statements) == 1 and isinstance(statements[0][0], exp.Expression):
                return [self._run_statement(statements[0][0], params, keep_as=(operation, statements[0][1]))]
            results, offset = [], 0
            for statement, count in statements:
                # A tree's markers index the whole list; DuckDB's own text takes its values alone
                own = params if isinstance(statement, exp.Expression) else params[offset:offset + count]
                results.append(self._run_statement(statement, own))
                offset += count
            return results

    def call_procedure(self, name: str, params: t.Sequence[t.Any]) -> tuple[list[ResultSet], list[t.Any]]:
        """Run a stored procedure for Cursor.callproc: (result sets, parameters with OUTPUT values)."""
        with self._lock:
            self._start_operation()
            return BatchRunner(self).call(name, params)

    def run_tree(self, tree: exp.Expression, params: t.Sequence[t.Any],
                 keep_as: tuple[str, int] | None = None) -> ResultSet:
        """Run one parsed statement (the T-SQL batch runner's entry point); see `_run_statement`."""
        return self._run_statement(tree, params, keep_as)

    def warn_single_database(self, name: str) -> None:
        """USE and three-part names: one database answers to every name (warned once)."""
        if not self._warned_use:
            self._warned_use = True
            warnings.warn(
                f"{name}: sqlpredict serves one database, which answers to any database name "
                "in USE and in three-part names", stacklevel=_caller_stacklevel(),
            )

    def run_with_table(self, statement: exp.Expression, name: str, table: pa.Table) -> ResultSet:
        """Run one parsed statement that reads `table` as `name` (executemany's bulk path).

        It runs as any statement does: under the lock, inside the transaction, and in T-SQL under SQL
        Server's rules for IDENTITY columns.
        """
        with self._lock:
            self._start_operation()
            explicit = None
            if self.dialect == "tsql" and isinstance(statement, exp.Insert):  # SQL Server's IDENTITY rules
                explicit = Identities(self).before_insert(statement, 1)
            assert self._db is not None
            self._db.register(name, table)
            try:
                result = self._run_statement(statement, [])
            finally:
                if self._db is not None:
                    try:
                        self._db.unregister(name)
                    except duckdb.Error:
                        pass
            if explicit is not None:
                continue_numbering(self, explicit)
            return result

    def _split(self, operation: str) -> list[tuple[exp.Expression | str, int]]:
        """DuckDB SQL as statements and the values each takes: sqlglot trees where PREDICT or a stored
        view needs planning, else DuckDB's own text (its parser counts the markers, not '?' inside
        strings, and `$n` as one value however often it appears)."""
        if not _PREDICT_WORD.search(operation):
            assert self._db is not None
            if "?" in operation and "$" in operation and mixes_markers(operation):
                raise mixed_markers_error()  # as it is next to PREDICT, where DuckDB 2.0 would take it
            try:
                statements = self._db.extract_statements(operation)
            except duckdb.Error as exc:
                named = named_marker(operation)  # DuckDB refuses `$name` next to `$1` as not implemented
                raise (named_marker_error(named) if named else from_duckdb(exc)) from exc
            named = next((n for s in statements for n in s.named_parameters if not n.isdigit()), None)
            if named is not None:
                raise named_marker_error(named)
            views = _names_pattern(self.catalog.objects("VIEW"))
            split: list[tuple[exp.Expression | str, int]] = []
            offset = 0
            for s in statements:  # only a statement that names a stored view is planned; DuckDB runs the rest
                planned = self._split_planned(s.query, offset) if views and views.search(s.query) else None
                items = planned or [(s.query, len(s.named_parameters))]
                split.extend(items)
                offset += sum(count for _, count in items)
            return split
        return self._split_planned(operation, 0)

    def _split_planned(self, operation: str, offset: int) -> list[tuple[exp.Expression | str, int]]:
        """Statements as sqlglot trees, their markers numbered from `offset`."""
        try:
            trees = parse(self.dialect, operation)
        except (ParseError, TokenError) as exc:
            raise ProgrammingError(parse_error_text(exc)) from exc
        statements: list[tuple[exp.Expression | str, int]] = []
        for tree in trees:
            tree = self._explained(tree)
            count = number_markers(tree, offset)
            statements.append((tree, count))
            offset += count
        return statements

    def _explained(self, tree: exp.Expression) -> exp.Expression:
        """`EXPLAIN [ANALYZE] <statement>` (which sqlglot reads as an opaque command) as the statement, to
        be planned (PREDICT, stored views), and marked to have DuckDB explain what planning made of it."""
        if not (isinstance(tree, exp.Command) and tree.name.upper() == "EXPLAIN" and self.dialect == "duckdb"):
            return tree
        text = tree.expression.name if isinstance(tree.expression, exp.Expression) else str(tree.expression or "")
        analyze = re.match(r"\s*ANALYZE\b", text, re.IGNORECASE)
        try:
            inner = parse(self.dialect, text[analyze.end():] if analyze else text)
        except (ParseError, TokenError):
            return tree
        if len(inner) != 1:
            return tree
        inner[0].meta["explain"] = "EXPLAIN ANALYZE" if analyze else "EXPLAIN"
        return inner[0]

    def _run_statement(self, statement: exp.Expression | str, params: t.Sequence[t.Any],
                       keep_as: tuple[str, int] | None = None) -> ResultSet:
        """Run one statement; `keep_as` (the operation's text, which is this statement alone, and how many
        values it takes) keeps its plan to run the text again (plans.py)."""
        assert self._db is not None
        if isinstance(statement, exp.Expression):
            control = _transaction_control(statement)
            if control:
                return self._control_statement(control, statement)
            if isinstance(statement, exp.Command) and not statement.find(PredictSource):
                text = statement.sql(dialect=self.dialect)
                if self.dialect == "duckdb":  # DuckDB runs it itself unless it holds PREDICT or a stored view
                    raise NotSupportedError(f"sqlpredict plans PREDICT, and the views stored with it, itself, and "
                                            f"cannot inside this kind of statement: {text[:200]}; run the statement "
                                            "on DATA's query, or on a table the scores were saved to")
                raise NotSupportedError(f"sqlpredict does not run this statement: {text}")
        else:
            control = _text_transaction_control(statement)
            if control:
                return self._control_statement(control)
        self._refresh_snapshot()
        self._begin_if_needed()
        creates = None  # a statement that makes a table, as written: a kept plan checks the name again
        if isinstance(statement, exp.Expression):
            try:
                stored = self._catalog_statement(statement)
            except duckdb.Error as exc:  # the store of views and procedures is a table: it can conflict
                raise self._after_failure(from_duckdb(exc)) from exc
            if stored is not None:
                return stored
            if keep_as and _created_table(statement) is not None:
                creates = statement.copy()  # planning changes the tree: SELECT ... INTO becomes CREATE TABLE AS
        prepared = self._prepare(statement, params)
        kind = self._statement_type(prepared.sql)
        if kind == "TRANSACTION":
            raise NotSupportedError("transaction statements must stand alone; use BEGIN, COMMIT or ROLLBACK")
        plan = plan_of(prepared, keep_as[1], kind, self.catalog.objects("VIEW"), creates) if keep_as else None
        result = self._run_prepared(prepared, kind)
        if kind in ("SET", "PRAGMA"):
            self._settings_stale = True
        if plan is not None and keep_as is not None:
            self.plans.put((self.dialect, keep_as[0]), plan)
        return result

    def _run_again(self, plan: Plan, params: t.Sequence[t.Any]) -> ResultSet | None:
        """Run a kept plan with new values; None where it no longer holds, for the caller to plan the text."""
        self._refresh_snapshot()
        self._begin_if_needed()
        if plan.creates is not None:  # a CREATE TABLE AS or SELECT ... INTO: is the name taken now?
            try:
                stored = self._catalog_statement(plan.creates)
            except duckdb.Error as exc:
                raise self._after_failure(from_duckdb(exc)) from exc
            if stored is not None:
                return stored
        try:
            prepared = reuse(plan, self._plan_context(params), self.catalog.objects("VIEW"))
        except Error as error:
            raise self._after_failure(error) from error.__cause__
        except duckdb.Error as exc:
            raise self._after_failure(from_duckdb(exc)) from exc
        if prepared is None:
            return None
        self.plans.reused += 1
        return self._run_prepared(prepared, plan.kind)

    def _run_prepared(self, prepared: PreparedStatement, kind: str) -> ResultSet:
        """Run a planned statement on the user's connection, then close its streams."""
        assert self._db is not None
        try:
            if not prepared.sources:
                for stream in prepared.streams:
                    register(self._db, stream)
            result = self._execute(prepared, kind)
        except duckdb.Error as exc:
            error, cause = prepared.in_own_names(from_duckdb(exc)), exc
            for stream in prepared.streams:
                if stream.error is not None:
                    error = stream.error if isinstance(stream.error, Error) else error
                    cause = stream.error.__cause__ or stream.error if isinstance(stream.error, Error) else stream.error
            raise self._after_failure(error) from cause
        except Error as error:
            raise self._after_failure(error) from error.__cause__
        except BaseException as exc:
            # Ctrl-C: DuckDB stops the statement with RuntimeError('Query interrupted'), Python code with
            # KeyboardInterrupt. DuckDB's transaction may be aborted: recover as from any failure, so a
            # later commit() cannot report success for writes DuckDB has dropped.
            error = self._after_failure(OperationalError(f"INTERRUPT Error: the statement was interrupted ({exc!r})"))
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise error from exc
        finally:
            self._catalog = None
            for stream in prepared.streams:
                stream.close()
                unregister(self._db, stream)
            prepared.sources.clear()  # DuckDB forgets the streams' names with their handles
        if self._in_transaction and (kind not in _RESULT_TYPES or _EXPLAINED_WRITE.match(prepared.sql)):
            self._dirty = True
        return result

    def all_or_none(self, change: t.Callable[[], t.Any]) -> t.Any:
        """A change that takes several DuckDB statements (a stored view's DROP and save, the pieces of a
        T-SQL ALTER TABLE): all of them or none.

        Inside a transaction it is one of its writes (a ROLLBACK undoes it); in autocommit mode it
        runs in a transaction of its own.
        """
        assert self._db is not None
        self._begin_if_needed()
        own = not self._in_transaction
        if own:
            self._control_statement("BEGIN")
        try:
            result = change()
        except BaseException as exc:
            if own and self._in_transaction:
                self._run_control("ROLLBACK")
            if isinstance(exc, duckdb.Error):
                raise self._after_failure(from_duckdb(exc)) from exc
            raise
        if own:
            self._run_control("COMMIT")
        else:
            self._dirty = True
        return result

    @property
    def catalog(self) -> Catalog:
        """Views with PREDICT and procedures, stored in this database (read once per statement)."""
        self._check_open()
        assert self._db is not None
        if self._catalog is None:
            self._catalog = Catalog(self._db)
        return self._catalog

    def _catalog_statement(self, statement: exp.Expression) -> ResultSet | None:
        """CREATE VIEW ... PREDICT (or over such a view) and DROP VIEW of one go to the catalog, not to DuckDB.

        A DROP VIEW that also names ordinary views is left, with those names only, to DuckDB. A name
        belongs to one object, whichever store holds it: CREATE TABLE, SELECT ... INTO or CREATE VIEW
        of a name the other store holds is refused, as SQL Server refuses it (Msg 2714).
        """
        created = _created_table(statement)
        if created is not None:
            return self._claim_from_catalog(created, statement)
        is_view = isinstance(statement, (exp.Create, exp.Drop)) and str(statement.args.get("kind")).upper() == "VIEW"
        if not is_view:
            return None
        if isinstance(statement, exp.Create):
            if not isinstance(statement.expression, exp.Expression):
                return None
            statement = statement.copy()
            if self.dialect == "tsql":
                adapt_tsql(statement)
            target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this  # (c1, c2)
            name = target.name
            replaces_stored = bool(statement.args.get("replace")) and name.lower() in self.catalog.objects("VIEW")
            if not (replaces_stored or self.catalog.must_store(statement.expression)):
                return self._claim_from_catalog(target, statement)
            if statement.args.get("exists") and (name.lower() in self.catalog.objects("VIEW")
                                                 or self.catalog.engine_object(name)):
                return _nothing()  # CREATE VIEW IF NOT EXISTS of a taken name
            self.all_or_none(lambda: (self._claim_from_engine(name, statement), self.catalog.save_view(statement)))
        else:
            tables = statement.args.get("tables") or []
            remaining = self.all_or_none(lambda: [t for t in tables if not self.catalog.drop("VIEW", t.name)])
            if len(remaining) == len(tables):
                return None
            if remaining:
                statement.set("tables", remaining)
                return None
        if self._in_transaction:
            self._dirty = True
        return _nothing()

    def _claim_from_catalog(self, table: exp.Table, create: exp.Expression) -> ResultSet | None:
        """A table or ordinary view may not take a stored view's name (a stored view would hide it).

        None lets DuckDB run the statement; an empty result is CREATE ... IF NOT EXISTS of a taken name.
        """
        name = _default_schema_name(table)
        if name is not None and name.lower() in self.catalog.objects("VIEW"):
            if create.args.get("exists"):
                return _nothing()
            raise_exists(KIND_WORDS["VIEW"], name)
        if self._dirty and not (create.args.get("exists") or create.args.get("replace")):
            self._refuse_taken_name(table)
        return None

    def _refuse_taken_name(self, table: exp.Table) -> None:
        """A CREATE of a taken name, refused here, leaves the transaction's writes; refused by DuckDB, which
        finds it only while the statement runs, it would abort them (the transaction holds writes)."""
        assert self._db is not None
        temporary = _is_temp_table(table)
        name = "#" + table.name if temporary and not table.name.startswith("#") else table.name
        schema = "temp" if temporary else table.db if table.db and table.db.lower() != "dbo" else "main"
        taken = engine_calls.name_exists(self._db, schema, name)
        if taken is None and schema == "main":  # the public way
            taken = self.catalog.engine_object(name) is not None
        if taken:
            raise_exists("a table or view", name if schema in ("main", "temp") else f"{schema}.{name}")

    def _claim_from_engine(self, name: str, create: exp.Create) -> None:
        """A stored view may not take the name of a DuckDB table; it replaces a DuckDB view only when
        the statement says OR ALTER (OR REPLACE)."""
        assert self._db is not None
        engine = self.catalog.engine_object(name)
        if engine is None:
            return
        if engine != "view" or not create.args.get("replace"):
            raise_exists(f"a {engine}", name)
        drop = exp.Drop(tables=[exp.table_(exp.to_identifier(name, quoted=True))], kind="VIEW")
        self._db.execute(to_duckdb(drop))  # in all_or_none, with the view's save

    def _prepare(self, statement: exp.Expression | str, params: t.Sequence[t.Any]) -> PreparedStatement:
        assert self._db is not None
        if isinstance(statement, str):
            return PreparedStatement(exp.Command(this=statement), statement, list(params), [])
        if self.dialect == "tsql" and adapt_tsql(statement):
            self.warn_single_database("(a three-part name)")
        try:
            self.catalog.expand_views(statement)
        except duckdb.Error as exc:
            raise self._after_failure(from_duckdb(exc)) from exc
        try:
            prepared = prepare(statement, self._plan_context(params))
            if statement.meta.get("explain"):  # EXPLAIN [ANALYZE] of a statement with PREDICT: of the plan
                prepared.sql = f"{statement.meta['explain']} {prepared.sql}"
            return prepared
        except Error as error:
            raise self._after_failure(error) from error.__cause__
        except duckdb.Error as exc:
            raise self._after_failure(from_duckdb(exc)) from exc

    def _plan_context(self, params: t.Sequence[t.Any]) -> PlanContext:
        assert self._db is not None
        settings = self._session_settings()  # None: a sibling cannot be given this session
        return PlanContext(
            con=self._db, dialect=self.dialect, params=params, cache=self.cache, providers=self.providers,
            null_inputs=self.null_inputs, batch_size=self.batch_size, threads=self.threads,
            can_stream=not self._dirty and settings is not None, is_temp=self._is_temp,
            is_temp_function=self._is_temp_function, progress=self.progress, collation=self.collation,
            settings=settings or (),
        )

    def _session_settings(self) -> SessionStatements | None:
        """What gives DATA's sibling connection this connection's session (stream.session_statements):
        read once after each SET, RESET, USE or PRAGMA; nothing until the first."""
        assert self._db is not None
        if self._settings_stale:
            self._settings = session_statements(self._db)
            self._settings_stale = False
        return self._settings

    def _is_temp_function(self, name: str) -> bool:
        key = name.lower() + "()"  # kept with the temp tables' answers, so both are forgotten together
        if key not in self._temp_answers:
            self._temp_answers[key] = self.catalog.is_temp_function(name)
        return self._temp_answers[key]

    def _is_temp(self, name: str) -> bool:
        key = name.lower()
        if key not in self._temp_answers:
            self._temp_answers[key] = self.catalog.is_temp(name)
        return self._temp_answers[key]

    def _statement_type(self, sql: str) -> str:
        assert self._db is not None
        try:
            statements = self._db.extract_statements(sql)
        except duckdb.Error as exc:
            raise from_duckdb(exc) from exc
        return statements[0].type.name if statements else "INVALID"

    def _execute(self, prepared: PreparedStatement, kind: str) -> ResultSet:
        assert self._db is not None
        if _may_change_temp_objects(prepared.node, kind):
            self._temp_answers.clear()
        if kind not in _KEEPS_TEMP_OBJECTS:  # a CREATE, ALTER or DROP may change a table's columns
            self.column_defaults.clear()
        if kind in _RESULT_TYPES or kind == "MULTI" or (kind in _CHANGE_TYPES and _has_returning(prepared)):
            # PIVOT (a MULTI statement) and DML ... RETURNING run at once here and hand back their rows.
            relation = self._db.sql(prepared.sql, params=prepared.params or None)
            if relation is not None:
                columns = list(relation.columns)
                types = [str(x) for x in relation.types]
                self._exporting = True
                table, exact = values.export(self._db, relation, types)
                self._exporting = False
                return ResultSet(columns, types, table, table.num_rows, exact)
            return ResultSet([], [], None, -1)
        # Anything else runs to completion here, before its streams are closed. DuckDB's DB-API
        # execute costs less than a relation for a statement whose only result is a count.
        if self._dirty and (kind in _CHANGE_TYPES or kind in ("CREATE", "DROP")):
            # An unknown table or column is refused before the write runs, so the transaction keeps its writes
            engine_calls.bind_only(self._db, prepared.sql, prepared.params)
        rows = self._db.execute(prepared.sql, prepared.params or None).fetchall()
        count = -1
        if kind in _CHANGE_TYPES or kind == "CREATE":  # CREATE TABLE AS reports the rows it wrote
            count = int(rows[0][0]) if rows and rows[0] and isinstance(rows[0][0], int) else -1
        return ResultSet([], [], None, count)

    def _after_failure(self, error: Error) -> Error:
        """Leave the connection usable after a failed statement; returns the error to raise.

        DuckDB aborts the open transaction when a statement fails inside it. One
        without writes is simply begun again. One with writes cannot go on, so it
        is rolled back at once, as SQL Server does under XACT_ABORT ON, and the
        error says so: the connection keeps working and nothing half-done stays.
        """
        try:
            return self._recover(error)
        finally:
            self._end_export()

    def _end_export(self) -> None:
        """Standard Arrow export again after an export that failed (it can only be reset once rolled back)."""
        if self._exporting and self._db is not None:
            try:
                values.restore_export(self._db)
                self._exporting = False
            except duckdb.Error:
                pass

    def _recover(self, error: Error) -> Error:
        self._end_export()
        self._temp_answers.clear()
        self.column_defaults.clear()
        if not self._in_transaction or self._db is None:
            return error
        if self._dirty:
            try:
                self._db.execute("SELECT 1").fetchall()
                return error  # the failure did not abort the transaction
            except duckdb.Error:
                pass
        try:
            self._db.execute("ROLLBACK")
            values.restore_export(self._db)  # an export, or DATA read on this connection, may have failed
        except duckdb.Error:
            pass
        self._in_transaction = False
        if not self._dirty:
            if self._user_transaction:  # BEGIN TRANSACTION holds until its COMMIT or ROLLBACK
                self._run_control("BEGIN TRANSACTION")
                self._in_transaction = True
            return error
        self._dirty = False
        self._user_transaction = False
        self._nesting = 0
        self._transaction_name = None
        rolled_back = type(error)(
            f"{error}\n(the statement failed inside a transaction that held uncommitted changes; DuckDB cannot "
            "continue such a transaction, so it was rolled back, as SQL Server does with XACT_ABORT ON)"
        )
        return rolled_back

    def _control_statement(self, control: str, tree: exp.Expression | None = None) -> ResultSet:
        """BEGIN, COMMIT and ROLLBACK statements. In T-SQL they nest as SQL Server counts them
        (@@TRANCOUNT): an inner COMMIT only ends its level, and ROLLBACK ends them all."""
        if self.dialect == "tsql" and tree is not None:
            self._tsql_control(control, tree)
        elif control == "BEGIN":
            self._begin_level()
        elif control == "COMMIT" and self._nesting > 1:
            self._nesting -= 1
        elif self._in_transaction:
            self._run_control(control)
        return ResultSet([], [], None, -1)

    def _begin_level(self) -> None:
        """One more BEGIN TRANSACTION level, opening DuckDB's transaction when none is open."""
        if not self._in_transaction:
            self._run_control("BEGIN TRANSACTION")
            self._in_transaction = True
        self._nesting = self._nesting + 1 if self._user_transaction and self.dialect == "tsql" else 1
        self._user_transaction = True

    def _trancount(self) -> int:
        """T-SQL's @@TRANCOUNT: the open BEGIN TRANSACTION levels, and PEP 249's implicit transaction as
        one more where it counts (see `implicit_transactions`)."""
        levels = self._nesting if self._user_transaction and self._in_transaction else 0
        return levels + int(self._implicit_level())

    def _implicit_level(self) -> bool:
        """PEP 249's transaction is open and counts as a level of its own, as under IMPLICIT_TRANSACTIONS ON."""
        return self._in_transaction and not self._autocommit and self.implicit_transactions

    def _tsql_control(self, control: str, tree: exp.Expression) -> None:
        """A T-SQL BEGIN, COMMIT or ROLLBACK, answered as SQL Server answers it; a refused one changes nothing."""
        name = transaction_name(tree)
        if control == "BEGIN":
            outermost = self._trancount() == 0
            self._begin_level()
            if outermost:
                self._transaction_name = name
            return
        if self._trancount() == 0:
            raise nothing_to_end(control)
        if control == "ROLLBACK":
            outermost = self._transaction_name if self._nesting and not self._implicit_level() else None
            if name is not None and name != outermost:
                raise unknown_name(name, outermost, self._implicit_level())
            self._run_control("ROLLBACK")
        elif self._nesting > 1:
            self._nesting -= 1
        elif self._nesting == 1 and self._implicit_level():
            self._nesting, self._user_transaction = 0, False  # the implicit transaction stays open
            self._transaction_name = None
        else:
            self._run_control("COMMIT")


def _check_arguments(dialect: t.Any, null_inputs: t.Any, batch_size: t.Any, threads: t.Any,
                     session_cache_bytes: t.Any) -> None:
    """Refuse a bad connect() argument before anything opens, naming it, what it may be and what it was."""
    if not isinstance(dialect, str) or dialect.lower() not in DIALECTS:
        raise ProgrammingError(f"dialect must be one of {tuple(DIALECTS)}, not {dialect!r}")
    if null_inputs not in NULL_POLICIES:
        raise ProgrammingError(f"null_inputs must be one of {NULL_POLICIES}, not {null_inputs!r}")
    if not _is_count(batch_size, 1):
        raise ProgrammingError(f"batch_size must be a whole number of rows, 1 or more, not {batch_size!r}")
    if threads is not None and not _is_count(threads, 1):
        raise ProgrammingError(
            f"threads must be a whole number of threads, 1 or more, or None for onnxruntime's default, "
            f"not {threads!r}"
        )
    if session_cache_bytes is not None and not _is_count(session_cache_bytes, 0):
        raise ProgrammingError(
            f"session_cache_bytes must be a whole number of bytes, 0 or more, or None for the shared cache, "
            f"not {session_cache_bytes!r}"
        )


def _is_count(value: t.Any, least: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= least


def _caller_stacklevel() -> int:
    """The stack level of the first frame outside sqlpredict, so a warning points at the user's code."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _may_change_temp_objects(node: exp.Expression, kind: str) -> bool:
    """Whether a statement can create or drop a temporary table or view (when unsure: yes).

    CREATE TABLE AS of an ordinary table, the usual way to keep scores, does not.
    """
    if kind in _KEEPS_TEMP_OBJECTS:
        return False
    if kind != "CREATE" or not isinstance(node, exp.Create):
        return True
    target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    temp_name = isinstance(target, exp.Table) and "temp" in (target.catalog.lower(), target.db.lower())
    return temp_name or node.find(exp.TemporaryProperty) is not None


def _nothing() -> ResultSet:
    """The outcome of a statement with neither rows nor a count."""
    return ResultSet([], [], None, -1)


def _names_pattern(names: t.Iterable[str]) -> re.Pattern[str] | None:
    """A pattern that finds any of `names` as a word (stored views, which DuckDB itself cannot run)."""
    names = sorted(names)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b", re.IGNORECASE) if names else None


def _created_table(statement: exp.Expression) -> exp.Table | None:
    """The table a CREATE TABLE or a SELECT ... INTO makes."""
    if isinstance(statement, exp.Select):
        into = statement.args.get("into")
        return into.this if isinstance(into, exp.Into) and isinstance(into.this, exp.Table) else None
    if not isinstance(statement, exp.Create) or str(statement.args.get("kind")).upper() != "TABLE":
        return None
    target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
    return target if isinstance(target, exp.Table) else None


def _default_schema_name(table: exp.Table) -> str | None:
    """The name a stored view of the same name would hide: one in the default schema, not a #temp table."""
    if not isinstance(table.this, exp.Identifier) or _is_temp_table(table):
        return None
    return table.name if table.db.lower() in ("", "dbo", "main", "temp") else None


def _is_temp_table(table: exp.Table) -> bool:
    """`#t`: sqlglot marks the identifier temporary (before adapt_tsql) or keeps the `#` (after)."""
    return bool(table.this.args.get("temporary")) or table.name.startswith("#")


def _has_returning(prepared: PreparedStatement) -> bool:
    """Whether a DML statement has RETURNING (DuckDB's own text is parsed only when the word is in it)."""
    node = prepared.node
    if isinstance(node, exp.Command):
        if not _RETURNING_WORD.search(prepared.sql):
            return False
        try:
            node = parse("duckdb", prepared.sql)[0]
        except (ParseError, TokenError, IndexError):
            return True  # DuckDB runs it either way; its Count column then comes back as a row
    return node.args.get("returning") is not None


_RETURNING_WORD = re.compile(r"\bRETURNING\b", re.IGNORECASE)


def _transaction_control(statement: exp.Expression) -> str | None:
    if isinstance(statement, exp.Transaction):
        return "BEGIN"
    if isinstance(statement, exp.Commit):
        return "COMMIT"
    if isinstance(statement, exp.Rollback):
        return "ROLLBACK"
    return None


# EXPLAIN ANALYZE runs its statement: one that writes is a write of the transaction.
_EXPLAINED_WRITE = re.compile(r"\s*EXPLAIN\s+ANALYZE\s+(?!SELECT\b|WITH\b|FROM\b|VALUES\b|\()", re.IGNORECASE)

_TEXT_CONTROL = re.compile(r"^\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT)\b(?:\s+(?:TRANSACTION|WORK))?\s*;?\s*$",
                           re.IGNORECASE)


def _text_transaction_control(statement: str) -> str | None:
    """BEGIN / COMMIT / ROLLBACK written in DuckDB SQL, so the connection's transaction state follows them."""
    match = _TEXT_CONTROL.match(statement)
    if match is None:
        return None
    word = match.group(1).upper()
    return {"BEGIN": "BEGIN", "START": "BEGIN", "COMMIT": "COMMIT", "END": "COMMIT"}.get(word, "ROLLBACK")


__all__ = ["connect", "Connection", "ResultSet"]
