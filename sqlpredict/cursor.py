"""The PEP 249 cursor: runs operations on its connection and hands out the rows.

Results are fetched whole from DuckDB as Arrow when a statement runs (see
connection.py) and turned into Python tuples a chunk at a time as they are
fetched, so iterating a large result does not convert it all at once.
"""

from __future__ import annotations

import itertools
import re
import typing as t

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from .connection import Connection, ResultSet
from .dialects import PredictSource, parse
from .errors import InterfaceError, NotSupportedError, ProgrammingError
from .planner import number_markers, placeholders
from .tsql_numbers import BOUND_VALUE
from .values import to_rows

_CHUNK_ROWS = 1024
_NOT_A_ROW = (str, bytes, bytearray, memoryview, dict)
_DECIMAL_CODE = re.compile(r"^(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)$", re.IGNORECASE)
_BULK_TABLE_NAMES = (f"__sqlpredict_executemany_{n}" for n in itertools.count())
_EXACT_FLOAT_INT = 2**53


class Cursor:
    """A PEP 249 cursor. Every cursor of a connection shares its transaction.

    A cursor is not itself safe to share between threads; give each thread
    its own cursor of a shared connection (see `sqlpredict.threadsafety`).
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.arraysize = 1
        self.lastrowid: None = None  # DuckDB has no row ids to report (PEP 249 says None)
        self.messages: list[tuple[type, str]] = []  # as pyodbc; DuckDB sends no informational messages
        self._results: list[ResultSet] = []
        self._row_sets: list[ResultSet] = []  # the results that carry rows, in order
        self._set_index = 0
        self._current: ResultSet | None = None
        self._pos = 0
        self._chunk: list[tuple] = []
        self._chunk_start = 0
        self._closed = False

    @property
    def connection(self) -> Connection:
        """The connection this cursor was made by (PEP 249 extension, read-only)."""
        return self._connection

    # ------------------------------------------------------------ running

    def execute(self, operation: str, *parameters: t.Any) -> Cursor:
        """Run every statement of `operation`; returns the cursor so calls chain.

        Parameters come as pyodbc takes them: one list or tuple of values
        (`execute(sql, [a, b])`), or the values themselves (`execute(sql, a, b)`).
        """
        self._check_open()
        return self._run(operation, _normalise_params(_parameter_list(parameters)))

    def _run(self, operation: str, params: list[t.Any]) -> Cursor:
        self._reset()
        self._show(self._connection.run_batch(operation, params))
        return self

    def executemany(self, operation: str, seq_of_parameters: t.Iterable[t.Sequence[t.Any]]) -> Cursor:
        """Run `operation` once per parameter row; rowcount is the total affected.

        An `INSERT ... VALUES (?, ...)` without PREDICT runs as one statement
        that reads all the rows from an Arrow table; anything else runs row by row.
        """
        self._check_open()
        rows = list(seq_of_parameters)
        self._reset()
        result = _bulk_insert(self._connection, operation, rows) if rows else None
        if result is None:
            total = 0
            for params in rows:
                self._check_open()
                self._run(operation, _normalise_params(params))
                total = total + self.rowcount if self.rowcount >= 0 and total >= 0 else -1
            self._reset()
            result = ResultSet([], [], None, total)
        self._show([result])
        return self

    def callproc(self, procname: str, parameters: t.Sequence[t.Any] | None = None) -> t.Sequence[t.Any] | None:
        """Call a stored procedure; returns the parameters with OUTPUT ones updated, as PEP 249 says."""
        self._check_open()
        params = _normalise_params(parameters)
        self._reset()
        results, outputs = self._connection.call_procedure(procname, params)
        self._show(list(results))
        return outputs

    def nextset(self) -> bool | None:
        """Move to the next result set that has rows; None when there is none (PEP 249)."""
        self._check_open()
        if self._current is None or self._set_index + 1 >= len(self._row_sets):
            self._current = None
            self._position(None)
            return None
        self._set_index += 1
        self._position(self._row_sets[self._set_index])
        return True

    def _reset(self) -> None:
        self._results, self._row_sets, self._set_index = [], [], 0
        self._position(None)

    def _show(self, results: list[ResultSet]) -> None:
        """Position on the first result with rows, as pyodbc does; else on the last count."""
        self._results = results
        self._row_sets = [r for r in results if r.table is not None]
        self._set_index = 0
        if self._row_sets:
            self._position(self._row_sets[0])
        else:
            self._position(results[-1] if results else None)

    def _position(self, result: ResultSet | None) -> None:
        self._current, self._pos, self._chunk, self._chunk_start = result, 0, [], 0

    # ------------------------------------------------------------ results

    @property
    def description(self) -> list[tuple[str, str, None, None, int | None, int | None, None]] | None:
        """Seven items a column: name, type_code (a DuckDB type name), then sizes PEP 249 allows as None."""
        if self._current is None or self._current.table is None:
            return None
        return [_column_description(name, typ) for name, typ in zip(self._current.columns, self._current.types)]

    @property
    def rowcount(self) -> int:
        """Rows a DML statement changed or a query returned; -1 when unknown."""
        return -1 if self._current is None else self._current.rowcount

    @property
    def rownumber(self) -> int | None:
        """0-based index of the next row of the current result (PEP 249 extension)."""
        return None if self._current is None or self._current.table is None else self._pos

    def fetchone(self) -> tuple | None:
        rows = self._fetch(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        return self._fetch(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple]:
        return self._fetch(None)

    def fetch_arrow_table(self) -> pa.Table:
        """The rest of the current result as an Arrow table."""
        table = self._table()
        rest = table.slice(self._pos)
        self._pos, self._chunk = table.num_rows, []
        assert self._current is not None
        return rest.rename_columns(self._current.columns)

    def fetchdf(self) -> t.Any:
        """The rest of the current result as a pandas DataFrame (needs pandas)."""
        try:
            import pandas  # noqa: F401
        except ImportError as exc:
            raise NotSupportedError("fetchdf() needs pandas, which is not installed: pip install pandas") from exc
        return self.fetch_arrow_table().to_pandas()

    def _table(self) -> pa.Table:
        self._check_open()
        if self._current is None or self._current.table is None:
            raise ProgrammingError("no result set: the last statement returned no rows to fetch")
        return self._current.table

    def _fetch(self, size: int | None) -> list[tuple]:
        table = self._table()
        end = table.num_rows if size is None else min(table.num_rows, self._pos + max(size, 0))
        rows = self._rows(table, self._pos, end)
        self._pos = end
        return rows

    def _rows(self, table: pa.Table, start: int, stop: int) -> list[tuple]:
        """Rows start..stop as tuples, converting a chunk ahead so fetchone stays cheap."""
        chunk_end = self._chunk_start + len(self._chunk)
        if not (self._chunk_start <= start and stop <= chunk_end):
            ahead = stop if stop - start >= _CHUNK_ROWS else min(table.num_rows, start + _CHUNK_ROWS)
            assert self._current is not None
            exact = self._current.exact
            self._chunk = to_rows(table.slice(start, ahead - start),
                                  None if exact is None else exact.slice(start, ahead - start),
                                  self._current.columns, self._current.types)
            self._chunk_start = start
        return self._chunk[start - self._chunk_start: stop - self._chunk_start]

    def __iter__(self) -> Cursor:
        return self

    def __next__(self) -> tuple:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def setinputsizes(self, sizes: t.Any) -> None:
        """Accepted and ignored, as PEP 249 allows: parameters are typed by their values."""
        self._check_open()

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        """Accepted and ignored, as PEP 249 allows: results are fetched whole."""
        self._check_open()

    def close(self) -> None:
        """Release the results; any later use of the cursor raises InterfaceError."""
        self._closed = True
        self._reset()

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        self._connection._check_open()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()


# ---------------------------------------------------------------- parameters


def _parameter_list(arguments: tuple[t.Any, ...]) -> t.Any:
    """execute's extra arguments as one parameter set, as pyodbc reads them.

    A lone list or tuple is the set itself; a lone None is no parameters (PEP 249's
    default); anything else is the values themselves, so a lone str or bytes is one value.
    """
    if len(arguments) == 1 and (arguments[0] is None or isinstance(arguments[0], (list, tuple))):
        return arguments[0]
    if len(arguments) == 1 and isinstance(arguments[0], (dict, set, frozenset)):
        return arguments[0]  # refused by _normalise_params: qmark takes no names, and a set has no order
    return list(arguments)


def _normalise_params(parameters: t.Sequence[t.Any] | None) -> list[t.Any]:
    """A list of values for the `?` markers; BLOB-like values become bytes."""
    if parameters is None:
        return []
    if isinstance(parameters, (*_NOT_A_ROW, set, frozenset)):
        raise ProgrammingError(
            f"parameters must be a list or tuple of values for the ? markers (paramstyle qmark), "
            f"not a {type(parameters).__name__}"
        )
    if not isinstance(parameters, t.Sequence):
        raise ProgrammingError(
            f"parameters must be a list or tuple of values for the ? markers, not a {type(parameters).__name__}"
        )
    return [bytes(p) if isinstance(p, (bytearray, memoryview)) else p for p in parameters]


# ---------------------------------------------------------------- executemany in bulk


def _bulk_insert(connection: Connection, operation: str, rows: list[t.Any]) -> ResultSet | None:
    """Run a one-row INSERT ... VALUES for every row at once; None when the operation does not fit."""
    plan = _bulk_plan(connection, operation)
    if plan is None:
        return None
    statement, markers = plan
    _check_rows(rows, markers)
    name = next(_BULK_TABLE_NAMES)
    table = _params_table(rows, markers)
    if table is None:
        return None
    return connection.run_with_table(_read_from(statement, name), name, table)


def _bulk_plan(connection: Connection, operation: str) -> tuple[exp.Insert, int] | None:
    """The parsed INSERT and its marker count, when every marker is in its one VALUES row."""
    try:
        trees = parse(connection.dialect, operation)
    except (ParseError, TokenError):
        return None
    if len(trees) != 1 or not isinstance(trees[0], exp.Insert):
        return None
    insert = trees[0]
    values = insert.expression
    if insert.args.get("returning") or not isinstance(values, exp.Values) or len(values.expressions) != 1:
        return None
    if insert.find(PredictSource) or insert.find(exp.Parameter):
        return None  # PREDICT and T-SQL @variables take the ordinary path, row by row
    try:
        count = number_markers(insert, 0) if connection.dialect == "duckdb" else None  # DuckDB's $n too
    except ProgrammingError:
        return None  # the ordinary path reports it, as execute would
    markers, inside = placeholders(insert), placeholders(values)
    if not markers or len(inside) != len(markers):
        return None
    return insert, len(markers) if count is None else count


def _check_rows(rows: list[t.Any], markers: int) -> None:
    """Every row a sequence of `markers` values (checked at C speed, reported row by row)."""
    kinds = set(map(type, rows))
    if all(hasattr(kind, "__len__") and not issubclass(kind, _NOT_A_ROW) for kind in kinds):
        if set(map(len, rows)) == {markers}:
            return
    for number, row in enumerate(rows):
        if isinstance(row, _NOT_A_ROW) or not hasattr(row, "__len__") or len(row) != markers:
            raise ProgrammingError(
                f"executemany: parameter row {number} must be a sequence of {markers} values "
                f"for the ? markers, not {row!r:.80}"
            )


def _params_table(rows: list[t.Any], markers: int) -> pa.Table | None:
    """The parameter rows as an Arrow table p0..pN; None when a column has no single Arrow type."""
    arrays = []
    for column in zip(*rows):
        try:
            array = pa.array(column)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            return None
        if pa.types.is_floating(array.type) and any(
            type(v) is int and abs(v) > _EXACT_FLOAT_INT for v in column
        ):
            return None  # a big int would lose digits as a double; row by row keeps it exact
        arrays.append(array)
    return pa.table(arrays, names=[f"p{i}" for i in range(markers)])


def _read_from(insert: exp.Insert, name: str) -> exp.Insert:
    """INSERT ... VALUES (f(?), ...) as INSERT ... SELECT f(p0), ... FROM name."""
    insert = insert.copy()
    row = insert.expression.expressions[0]
    for ph in list(row.find_all(exp.Placeholder)):
        column = exp.column(f"p{ph.meta['index']}", table=name)
        column.meta[BOUND_VALUE] = True
        ph.replace(column)
    select = exp.select(*row.expressions).from_(name)
    insert.set("expression", select)
    return insert


# ---------------------------------------------------------------- rows and descriptions


def _column_description(name: str, type_code: str) -> tuple[str, str, None, None, int | None, int | None, None]:
    match = _DECIMAL_CODE.match(type_code)
    precision, scale = (int(match.group(1)), int(match.group(2))) if match else (None, None)
    return (name, type_code, None, None, precision, scale, None)
