"""The PEP 249 cursor: runs operations on its connection and hands out the rows."""

from __future__ import annotations

import typing as t

import pyarrow as pa

from .connection import Connection, ResultSet
from .errors import InterfaceError, ProgrammingError


class Cursor:
    """A PEP 249 cursor. Results are held as Arrow until fetched."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self._results: list[ResultSet] = []
        self._current: ResultSet | None = None
        self._pos = 0
        self._closed = False

    # ------------------------------------------------------------ running

    def execute(self, operation: str, parameters: t.Sequence[t.Any] | None = None) -> Cursor:
        self._check_open()
        params = _normalise_params(parameters)
        self._results = []
        self._current = None
        results = self.connection.run_batch(operation, params)
        self._results = results
        with_rows = [r for r in results if r.table is not None]
        self._current = with_rows[0] if with_rows else (results[-1] if results else None)
        self._pos = 0
        return self

    def executemany(self, operation: str, seq_of_parameters: t.Iterable[t.Sequence[t.Any]]) -> Cursor:
        self._check_open()
        total = 0
        for params in seq_of_parameters:
            self.execute(operation, params)
            total += max(self.rowcount, 0)
        self._current = ResultSet([], [], None, total)
        return self

    def nextset(self) -> bool | None:
        self._check_open()
        if self._current is None:
            return None
        with_rows = [r for r in self._results if r.table is not None]
        if self._current in with_rows:
            index = with_rows.index(self._current)
            if index + 1 < len(with_rows):
                self._current, self._pos = with_rows[index + 1], 0
                return True
        return None

    # ------------------------------------------------------------ results

    @property
    def description(self) -> list[tuple] | None:
        if self._current is None or self._current.table is None:
            return None
        return [(name, typ, None, None, None, None, None)
                for name, typ in zip(self._current.columns, self._current.types)]

    @property
    def rowcount(self) -> int:
        return -1 if self._current is None else self._current.rowcount

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
        self._pos = table.num_rows
        return rest.rename_columns(self._current.columns) if self._current else rest

    def _table(self) -> pa.Table:
        self._check_open()
        if self._current is None or self._current.table is None:
            raise ProgrammingError("no result set: the last statement returned no rows to fetch")
        return self._current.table

    def _fetch(self, size: int | None) -> list[tuple]:
        table = self._table()
        end = table.num_rows if size is None else min(table.num_rows, self._pos + max(size, 0))
        part = table.slice(self._pos, end - self._pos)
        self._pos = end
        return list(zip(*(col.to_pylist() for col in part.columns))) if part.num_columns else []

    def __iter__(self) -> t.Iterator[tuple]:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def setinputsizes(self, sizes: t.Any) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def close(self) -> None:
        self._closed = True
        self._results = []
        self._current = None

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        self.connection._check_open()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()


def _normalise_params(parameters: t.Sequence[t.Any] | None) -> list[t.Any]:
    if parameters is None:
        return []
    if isinstance(parameters, (str, bytes, dict)):
        raise ProgrammingError("parameters must be a sequence of values for the ? markers (paramstyle qmark)")
    return [bytes(p) if isinstance(p, (bytearray, memoryview)) else p for p in parameters]


