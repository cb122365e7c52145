"""Running batches for `sqlpredict run` and `sqlpredict shell`: print, commit, show progress, stop on Ctrl-C.

Both commands behave like sqlcmd and the duckdb shell: each batch (a T-SQL
batch ended by GO, one DuckDB statement, one statement typed at the shell)
runs in its own transaction and is committed as soon as it succeeds, so the
work of earlier batches is kept when a later one fails; a failed batch is
rolled back whole. A transaction the user opens (BEGIN TRANSACTION) is left
to the user's COMMIT or ROLLBACK, across batches.
"""

from __future__ import annotations

import sys
import threading
import typing as t
from dataclasses import dataclass

from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from . import output
from .dialects import get_dialect
from .errors import OperationalError
from .script import split_batches
from .stream import WORKERS

if t.TYPE_CHECKING:
    from .connection import Connection, ResultSet

@dataclass(frozen=True)
class Part:
    """A piece of a script run as one batch, and the line of the script it starts on."""

    text: str
    line: int

    @property
    def padded(self) -> str:
        """The text behind blank lines, so the engine's "line N" counts lines of the whole script."""
        return "\n" * (self.line - 1) + self.text.lstrip()


def split_script(script: str, dialect: str) -> t.Iterator[Part]:
    """T-SQL: the batches between GO lines (`GO n`: n times). DuckDB: one statement each, as the duckdb shell does.

    The script is split before the first part is given, so a bad GO line stops it before any runs; the n
    runs of `GO n` are given one at a time (n may be large).
    """
    if dialect == "tsql":
        batches = split_batches(script)
        parts = (Part(b.text, b.line) for b in batches for _ in range(b.count))
    else:
        parts = iter(_duckdb_statements(script))
    return (Part(p.text, p.line + _leading_newlines(p.text)) for p in parts)


def _leading_newlines(text: str) -> int:
    head = text[: len(text) - len(text.lstrip())]
    return head.count("\n")


def _duckdb_statements(script: str) -> list[Part]:
    """Split at the semicolons that end statements (not those in strings or comments)."""
    try:
        tokens = get_dialect("duckdb").tokenize(script)
    except TokenError:
        return [Part(script, 1)] if script.strip() else []  # the engine reports what is wrong with it
    parts, start, line = [], 0, 1
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            text = script[start:token.end + 1]
            if text.strip(" \t\r\n;"):
                parts.append(Part(text, line))
            line += text.count("\n")
            start = token.end + 1
    rest = script[start:]
    if _has_tokens(rest):
        parts.append(Part(rest, line))
    return parts


def _has_tokens(text: str) -> bool:
    """Something other than blanks and comments."""
    try:
        return bool(get_dialect("duckdb").tokenize(text))
    except TokenError:
        return bool(text.strip())


class Session:
    """A connection that runs batches and prints what they return.

    Statements run on a worker thread, so Ctrl-C reaches this thread and stops
    them with `Connection.interrupt()`; `Connection.progress` feeds the
    progress line, which is drawn only when stderr is a terminal.
    """

    def __init__(self, connection: Connection, fmt: str, *, out: t.TextIO | None = None,
                 err: t.TextIO | None = None) -> None:
        self.connection = connection
        # sqlcmd runs with IMPLICIT_TRANSACTIONS OFF: a COMMIT or ROLLBACK that no BEGIN TRANSACTION opened
        # is Msg 3902 or 3903, although each batch runs in a transaction of its own here.
        connection.implicit_transactions = False
        self.dialect = connection.dialect
        self.out = out or sys.stdout
        self.printer = output.ResultPrinter(self.out, fmt)
        err = err or sys.stderr
        self.progress = output.ProgressLine(err) if _is_terminal(err) else None
        self.interrupted = False  # Ctrl-C stopped the last batch
        self._stop = threading.Event()
        connection.progress = self._on_progress

    @property
    def fmt(self) -> str:
        return self.printer.fmt

    @fmt.setter
    def fmt(self, value: str) -> None:
        self.printer.fmt = value

    def execute(self, part: Part) -> None:
        """Run one batch, print its results, and commit it unless the user's transaction is open.

        A failure rolls the batch back (the user's open transaction, if any, is the user's) and raises.
        """
        try:
            results = self._run(part.padded)
        except BaseException:
            if not self.connection.closed and not self.connection.in_user_transaction:
                self.connection.rollback()
            raise
        self.print_results(results)
        if not self.connection.in_user_transaction:
            self.connection.commit()

    def print_results(self, results: t.Sequence[ResultSet]) -> None:
        """Every result set, and DML row counts unless SET NOCOUNT ON; flushed, so pipes see each batch.

        NOCOUNT is the connection's state once the batch has run: the last SET NOCOUNT of a batch
        holds for all of that batch's counts (scripts set it at the top).
        """
        for result in results:
            if result.table is not None:
                self.printer.result(output.from_result(result.columns, result.types, result.table, result.exact))
            elif result.rowcount >= 0 and not self.connection.nocount:
                self.printer.rows_affected(result.rowcount)
        self.out.flush()

    def close(self) -> bool:
        """Close the connection; True when it rolled back a transaction the user left open."""
        left_open = not self.connection.closed and self.connection.in_user_transaction
        self.connection.close()
        return left_open

    def _run(self, text: str) -> list[ResultSet]:
        """Run on a worker thread; Ctrl-C interrupts the statement and raises its OperationalError."""
        box: dict[str, t.Any] = {}
        self._stop.clear()
        self.interrupted = False
        if self.progress is not None:
            self.progress.start()
        done = WORKERS.start(lambda: self._work(text, box), "sqlpredict-batch")
        try:
            self._wait(done)
        finally:
            if self.progress is not None:
                self.progress.finish()
        if "error" in box:
            raise box["error"]
        return box["results"]

    def _work(self, text: str, box: dict[str, t.Any]) -> None:
        try:
            box["results"] = self.connection.run_batch(text, [])
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc

    def _wait(self, done: threading.Event) -> None:
        """Wait in short steps (an Event: Thread.join is left confused by Ctrl-C); Ctrl-C interrupts.

        Every Ctrl-C interrupts again, and the wait goes on until the statement has stopped, so no
        statement is left running on the connection.
        """
        while True:
            try:
                while not done.wait(0.05):
                    pass
                return
            except KeyboardInterrupt:
                self._interrupt()

    def _interrupt(self) -> None:
        self.interrupted = True
        self._stop.set()  # scoring outside DuckDB stops at its next batch
        try:
            self.connection.interrupt()
        except Exception:  # noqa: BLE001 - closed already: nothing to stop
            pass

    def _on_progress(self, rows: int) -> None:
        if self._stop.is_set():
            raise OperationalError("INTERRUPT Error: Interrupted!")
        if self.progress is not None:
            self.progress.add(rows)


def _is_terminal(stream: t.TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["Part", "Session", "split_script"]
