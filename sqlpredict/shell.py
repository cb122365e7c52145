"""`sqlpredict shell`: statements typed at a prompt, as in the sqlite3 and duckdb shells.

Lines are collected until a statement is complete (a line whose last token is
';', or a GO line in T-SQL), then run as one batch by runner.Session, which
prints, commits and handles Ctrl-C. With standard input not a terminal the
same loop reads it without prompts, so the shell can be scripted and tested.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import traceback
import typing as t

from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from . import output
from .dialects import get_dialect
from .runner import Part, Session

PROMPT = "sqlpredict> "
CONTINUATION = "       ...> "
HISTORY_FILE = ".sqlpredict_history"
_HISTORY_LENGTH = 1000
_GO_LINE = re.compile(r"^[ \t]*GO(?:[ \t]+\d+)?[ \t]*(?:--.*)?$", re.IGNORECASE)
# Bodies with their own semicolons: only GO ends them (as in sqlcmd).
_WHOLE_BATCH = re.compile(r"^\s*(?:CREATE|ALTER)\s+(?:OR\s+ALTER\s+)?(?:PROC|PROCEDURE|FUNCTION|TRIGGER)\b",
                          re.IGNORECASE)
_TABLES_SQL = ("SELECT table_schema, table_name, table_type FROM information_schema.tables "
               "WHERE table_name <> 'sqlpredict_objects' ORDER BY table_schema, table_name")

HELP = """\
.help                     this list
.format table|csv|json    how result sets are printed (.mode is the same)
.tables                   the tables and views of the database
.quit, .exit              leave (so does Ctrl-D at an empty prompt)

A statement runs when a line ends with ';'{go}, and is committed when it
succeeds; BEGIN TRANSACTION ... COMMIT keeps several together. Ctrl-C clears
the line being typed, or stops the statement that is running.{variables}
"""
_TSQL_HELP = (" or at a line holding only GO", "\nT-SQL variables live for one batch: to DECLARE and use one, end "
              "the lines\nwithout ';' and run them together with GO.")


class _Quit(Exception):
    """.quit was typed."""


def run_shell(*, database: str = ":memory:", dialect: str = "tsql", fmt: str = "table",
              debug: bool = False, stdin: t.TextIO | None = None) -> int:
    """Run the shell until .quit or end of input; returns the exit status.

    As in sqlite3's and DuckDB's shells, input from a pipe or file that had a
    failing statement exits with status 1, so a calling script sees it; an
    interactive session exits with 0.
    """
    import sqlpredict

    stdin = stdin or sys.stdin
    session = Session(sqlpredict.connect(database, dialect=dialect), fmt)
    shell = Shell(session, stdin, interactive=_is_terminal(stdin), debug=debug)
    try:
        shell.loop()
    finally:
        if session.close():
            print("sqlpredict: the open transaction was rolled back (no COMMIT before leaving)", file=sys.stderr)
    return 1 if shell.failures and not shell.interactive else 0


class Shell:
    """The read-run-print loop over one Session."""

    def __init__(self, session: Session, stdin: t.TextIO, *, interactive: bool, debug: bool = False) -> None:
        self.session = session
        self.stdin = stdin
        self.interactive = interactive
        self.debug = debug
        self.dialect = session.dialect
        self.line_number = 0  # of the input, for messages when reading a script from a pipe
        self._first_line = 1  # where the statement being read starts
        self.failures = 0  # statements and dot-commands that failed

    def loop(self) -> None:
        """Read, run and print until .quit or end of input; the last statement needs no ';' at the end."""
        if self.interactive:
            _enable_history()
            self._banner()
        buffer: list[str] = []
        while True:
            try:
                line = self._read(CONTINUATION if buffer else PROMPT)
                if not buffer:
                    self._first_line = self.line_number
                buffer = self.step(buffer, line)
            except EOFError:
                break
            except KeyboardInterrupt:  # Ctrl-C while typing drops what was typed
                print(file=sys.stdout, flush=True)
                buffer = []
            except _Quit:
                return
        if self.interactive:
            print(flush=True)  # Ctrl-D leaves the cursor after the prompt
        self._execute(buffer)

    def step(self, buffer: list[str], line: str) -> list[str]:
        """Take one line: a dot-command, GO, or part of a statement, run when complete; the new buffer."""
        if not buffer:
            if not line.strip():
                return []
            if line.lstrip().startswith("."):
                self.command(line.strip())
                return []
        if self.dialect == "tsql" and _GO_LINE.match(line):
            self._execute(buffer)
            return []
        buffer = buffer + [line]
        if self._complete(buffer, line):
            self._execute(buffer)
            return []
        return buffer

    # ------------------------------------------------------------ input

    def _read(self, prompt: str) -> str:
        if self.interactive:
            line = input(prompt)
        else:
            line = self.stdin.readline()
            if not line:
                raise EOFError
        self.line_number += 1
        return line.rstrip("\r\n")

    def _complete(self, buffer: list[str], line: str) -> bool:
        """The last token is ';' (not one in a string or comment), and no procedure body is open."""
        if ";" not in line:
            return False
        text = "\n".join(buffer)
        if self.dialect == "tsql" and _WHOLE_BATCH.match(text):
            return False
        try:
            tokens = get_dialect(self.dialect).tokenize(text)
        except TokenError:  # an open string or comment
            return False
        return bool(tokens) and tokens[-1].token_type == TokenType.SEMICOLON

    def _banner(self) -> None:
        from . import __version__

        ends = "';' or a GO line" if self.dialect == "tsql" else "';'"
        print(f"sqlpredict {__version__} shell ({self.dialect}). End statements with {ends}; "
              ".help lists the commands.", flush=True)

    # ------------------------------------------------------------ running

    def _execute(self, buffer: list[str]) -> None:
        """Run the statement; an error is printed and the shell goes on."""
        text = "\n".join(buffer)
        if not text.strip():
            return
        first_line = self._first_line
        part = Part(text, 1 if self.interactive else first_line)
        try:
            self.session.execute(part)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self._report(exc, "" if self.interactive else f"statement starting at line {first_line} of the input")

    def _report(self, exc: BaseException, where: str = "") -> None:
        from .cli import error_text

        self.failures += 1
        sys.stdout.flush()
        if self.debug:
            traceback.print_exception(type(exc), exc, exc.__traceback__)
        print(error_text(exc, debug=self.debug, where=where), file=sys.stderr, flush=True)

    # ------------------------------------------------------------ dot-commands

    def command(self, line: str) -> None:
        """Run a dot-command; raises _Quit for .quit and .exit."""
        name, *args = line.split()
        name = name.lower()
        if name in (".quit", ".exit", ".q"):
            raise _Quit
        if name == ".help":
            go, variables = _TSQL_HELP if self.dialect == "tsql" else ("", "")
            sys.stdout.write(HELP.format(go=go, variables=variables))
        elif name in (".format", ".mode"):
            self._format(args)
        elif name == ".tables":
            self._tables()
        else:
            self._fail(f"unknown command {name}; .help lists the commands")
        sys.stdout.flush()

    def _format(self, args: list[str]) -> None:
        if not args:
            print(self.session.fmt)
        elif len(args) == 1 and args[0].lower() in output.FORMATS:
            self.session.fmt = args[0].lower()
        else:
            self._fail(f".format takes one of {', '.join(output.FORMATS)}")

    def _tables(self) -> None:
        """Tables and views, with the views whose body uses PREDICT (kept in sqlpredict's catalog)."""
        con = self.session.connection
        try:
            rows = con.cursor().execute(_TABLES_SQL).fetchall()
            rows += [("main", name, "VIEW (PREDICT)") for name in sorted(con.catalog.objects("VIEW"))]
            if not con.in_user_transaction:
                con.commit()
        except Exception as exc:  # noqa: BLE001
            self._report(exc)
            return
        columns = ["schema", "name", "type"]
        self.session.printer.result(output.ResultSet(columns, ["VARCHAR"] * 3, sorted(rows)))

    def _fail(self, message: str) -> None:
        sys.stdout.flush()
        print(f"sqlpredict: error: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- history


def _enable_history() -> None:
    """Line editing and ~/.sqlpredict_history, where readline exists; no failure where it does not."""
    try:
        import readline
    except ImportError:
        return
    path = os.path.join(os.path.expanduser("~"), HISTORY_FILE)
    try:
        readline.read_history_file(path)
    except (OSError, ValueError):
        pass
    readline.set_history_length(_HISTORY_LENGTH)
    atexit.register(_save_history, readline, path)


def _save_history(readline: t.Any, path: str) -> None:
    try:
        readline.write_history_file(path)
    except OSError:  # HOME not writable: the history is simply not kept
        pass


def _is_terminal(stream: t.TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["run_shell", "Shell", "PROMPT", "CONTINUATION"]
