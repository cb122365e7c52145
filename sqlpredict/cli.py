"""The `sqlpredict` command: a demo, a runner for .sql scripts, an interactive shell, model descriptions.

Errors reach the user as one paragraph on stderr and exit status 1; the
traceback is for `--debug`, because a user whose PREDICT does not bind needs
the engine's message ("PREDICT: input 'x' ..."), not the call stack.
"""

from __future__ import annotations

import argparse
import codecs
import errno
import os
import re
import sys
import textwrap
import traceback
import typing as t
import warnings

from . import output

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130
_DEBUG_HELP = "show the full traceback when something fails"
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # sqlglot underlines the bad token for terminals


def main(argv: t.Sequence[str] | None = None) -> int:
    """Entry point of the console script and of `python -m sqlpredict`; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _brief_warnings()
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # `sqlpredict run x.sql | head`: the reader has all it wanted
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        print("sqlpredict: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one place every failure becomes a message
        return _report_error(exc, debug=args.debug)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global options and one subparser per command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="sqlpredict",
        description="Score ONNX models stored in tables from SQL: the T-SQL PREDICT of Azure SQL Edge, on DuckDB.",
    )
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    parser.set_defaults(handler=None)
    # --debug is accepted after the command too; SUPPRESS keeps a subcommand
    # from resetting a --debug given before it. (Its own action object: a
    # shared parent's would take the main parser's default.)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
    parser.add_argument("--version", action="version", version=f"sqlpredict {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_demo(commands, common)
    _add_run(commands, common)
    _add_shell(commands, common)
    _add_describe(commands, common)
    return parser


def _add_demo(commands: t.Any, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo", parents=[common], help="store a model, score a table with PREDICT, check the numbers",
        description="Run the SQL Edge ONNX quickstart: store the shipped house-price model in a models "
                    "table, score a table of houses with PREDICT and check every score against "
                    "onnxruntime run directly. Exits 1 if they differ.",
    )
    demo.add_argument("--database", default=":memory:", metavar="PATH",
                      help="a new DuckDB file to keep the demo's tables in, to explore them afterwards "
                           "with `sqlpredict run` (default: in memory)")
    demo.set_defaults(handler=_cmd_demo)


def _add_run(commands: t.Any, common: argparse.ArgumentParser) -> None:
    run = commands.add_parser(
        "run", parents=[common], help="run a .sql script batch by batch and print every result set",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill("Run FILE on one connection, batch by batch, printing each batch's "
                                  "result sets as soon as it has run."),
        epilog=_RUN_EPILOG,
    )
    run.add_argument("file", metavar="FILE.sql", help="the script to run ('-' reads standard input)")
    _add_connection_options(run, dialect_help="the SQL the script is written in", format_note="")
    run.set_defaults(handler=_cmd_run)


_RUN_EPILOG = """\
batches:
  tsql     a batch ends at a line holding only GO, as in sqlcmd; variables live for one batch
  duckdb   every statement (ended by ';') is a batch, as in the duckdb shell

transactions:
  Each batch runs in a transaction that is committed when the batch succeeds
  (sqlcmd's autocommit, one batch at a time). At the first error the failing
  batch is rolled back whole, the batches before it stay committed, the
  message names the line the batch starts on, and the exit status is 1.
  BEGIN TRANSACTION ... COMMIT may span batches; a transaction still open at
  the end of the script is rolled back, as SQL Server does on disconnect.
  A COMMIT or ROLLBACK that no BEGIN TRANSACTION opened is an error (SQL
  Server's Msg 3902 or 3903), as in sqlcmd.

output:
  table    aligned columns; also "(N rows affected)" after INSERT, UPDATE,
           DELETE and MERGE unless SET NOCOUNT ON
  csv      one CSV table per result set, separated by a blank line
  json     one JSON array of row objects per result set, one per line

  On a terminal, a statement that scores for more than a second shows rows
  scored and rows per second on stderr; nothing extra when stderr is piped.
"""


def _add_connection_options(parser: argparse.ArgumentParser, dialect_help: str, format_note: str) -> None:
    """--database, --dialect and --format, which run and shell share (their help texts differ)."""
    parser.add_argument("--database", default=":memory:", metavar="PATH",
                        help="DuckDB database file (default: a fresh in-memory database)")
    parser.add_argument("--dialect", choices=("tsql", "duckdb"), default="tsql",
                        help=f"{dialect_help} (default: tsql)")
    parser.add_argument("--format", choices=output.FORMATS, default="table", dest="fmt",
                        help=f"how result sets are printed (default: table{format_note})")


def _add_shell(commands: t.Any, common: argparse.ArgumentParser) -> None:
    shell = commands.add_parser(
        "shell", parents=[common], help="an interactive SQL shell with PREDICT",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Type statements and see their results, as in the sqlite3 and duckdb shells. A statement runs "
            "when a line ends with ';' (or, in T-SQL, at a line holding only GO); each one is committed when "
            "it succeeds. With standard input not a terminal, the statements are read from it without "
            "prompts, so the shell can be scripted."),
        epilog=_SHELL_EPILOG,
    )
    _add_connection_options(shell, dialect_help="the SQL typed at the prompt",
                            format_note="; .format changes it")
    shell.set_defaults(handler=_cmd_shell)


_SHELL_EPILOG = """\
commands at the prompt:
  .help                     list these commands
  .format table|csv|json    how result sets are printed
  .tables                   the tables and views of the database
  .quit, .exit              leave (so does Ctrl-D)

  Ctrl-C clears the line being typed, or stops the running statement.
  History is kept in ~/.sqlpredict_history.
"""


def _add_describe(commands: t.Any, common: argparse.ArgumentParser) -> None:
    describe = commands.add_parser(
        "describe", parents=[common], help="show a model's inputs and outputs with the SQL types they bind to",
        description="Read MODEL.onnx and print one row per graph input and output: its ONNX type, its "
                    "shape, the SQL type that binds to it (NULL where none does, with a note saying why), "
                    "then a ready-to-edit PREDICT query for the model. The same rows come from SQL with "
                    "EXEC sp_describe_model @model = ... . With --format csv or json only the rows are "
                    "printed, so the output stays machine-readable; --template prints only the query.",
    )
    describe.add_argument("model", metavar="MODEL.onnx", help="the ONNX model file to describe")
    describe.add_argument("--dialect", choices=("tsql", "duckdb"), default="tsql",
                          help="the SQL whose type names to show (default: tsql)")
    describe.add_argument("--format", choices=output.FORMATS, default="table", dest="fmt",
                          help="how the rows are printed (default: table)")
    describe.add_argument("--template", action="store_true",
                          help="print only the PREDICT query (e.g. to start a .sql file)")
    describe.add_argument("--table", default="dbo.my_table", metavar="NAME",
                          help="the DATA table the query names (default: dbo.my_table)")
    describe.set_defaults(handler=_cmd_describe)


# ------------------------------------------------------------------ commands


def _cmd_describe(args: argparse.Namespace) -> int:
    from .describe import describe_rows, predict_template

    with open(args.model, "rb") as f:  # the user named this file: reading it is the command's job
        blob = f.read()
    if args.template:
        sys.stdout.write(predict_template(blob, args.dialect, args.table))
        return EXIT_OK
    columns, rows = describe_rows(blob, args.dialect)
    output.write(output.ResultSet(columns, ["VARCHAR"] * len(columns), rows), args.fmt, sys.stdout)
    if args.fmt == "table":
        sys.stdout.write("\n" + predict_template(blob, args.dialect, args.table))
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    if args.database != ":memory:" and os.path.exists(args.database):
        raise FileExistsError(errno.EEXIST, "the demo creates its tables in a new database file; "
                              "name one that does not exist", args.database)
    return run_demo(sys.stdout, database=args.database)


def _cmd_run(args: argparse.Namespace) -> int:
    import sqlpredict

    from .runner import Session, split_script

    parts = split_script(_read_script(args.file), args.dialect)
    session = Session(sqlpredict.connect(args.database, dialect=args.dialect), args.fmt)
    try:
        for part in parts:
            _run_part(session, part, "batch" if args.dialect == "tsql" else "statement")
    finally:
        if session.close():
            print("sqlpredict: the script ended inside a transaction (BEGIN TRANSACTION without COMMIT); "
                  "it was rolled back", file=sys.stderr)
    return EXIT_OK


def _run_part(session: t.Any, part: t.Any, noun: str) -> None:
    """One batch; an error is reported with the line the batch starts on, Ctrl-C as an interrupt."""
    try:
        session.execute(part)
    except Exception as exc:
        if session.interrupted:
            raise KeyboardInterrupt from exc
        raise ScriptError(exc, f"{noun} starting at line {part.line}") from exc


def _cmd_shell(args: argparse.Namespace) -> int:
    from .shell import run_shell

    return run_shell(database=args.database, dialect=args.dialect, fmt=args.fmt, debug=args.debug)


class ScriptEncodingError(Exception):
    """A script file that is not UTF-8 or UTF-16 text."""


def _read_script(path: str) -> str:
    """The script's text: UTF-8, with or without a BOM, or UTF-16 with a BOM (SSMS's "Unicode")."""
    if path == "-":
        data = sys.stdin.buffer.read()
        path = "standard input"
    else:
        with open(path, "rb") as f:
            data = f.read()
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ScriptEncodingError(
            f"{path} is not {encoding.replace('-sig', '')} text (byte {exc.start}: {exc.reason}); "
            "save the script as UTF-8 or as UTF-16 with a byte order mark"
        ) from exc


# ------------------------------------------------------------------ errors


class ScriptError(Exception):
    """An error of one batch of a script, with where the batch starts (the error is its __cause__)."""

    def __init__(self, error: BaseException, where: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.where = where


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not report the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _report_error(exc: BaseException, *, debug: bool) -> int:
    """One paragraph on stderr, and the exit status for a failure."""
    if debug:
        traceback.print_exc()
    where = ""
    if isinstance(exc, ScriptError):
        exc, where = exc.error, exc.where
    print(error_text(exc, debug=debug, where=where), file=sys.stderr)
    return EXIT_ERROR


def error_text(exc: BaseException, *, debug: bool = False, where: str = "") -> str:
    """The message: the engine's own for sqlpredict errors, the type for others; `where` is appended."""
    import sqlpredict

    suffix = f"\n(in the {where})" if where else ""
    if isinstance(exc, sqlpredict.Error):
        return f"sqlpredict: error: {_paragraph(str(exc))}{suffix}"
    if isinstance(exc, ScriptEncodingError):
        return f"sqlpredict: error: {exc}{suffix}"
    if isinstance(exc, OSError):
        text = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
        return f"sqlpredict: error: {text}{suffix}"
    return (f"sqlpredict: internal error: {type(exc).__name__}: {_paragraph(str(exc))}{suffix}"
            + ("" if debug else " (run again with --debug for the traceback)"))


def _brief_warnings() -> None:
    """Engine warnings (USE, three-part names) as one line each, without Python's source line."""
    def show(message: t.Any, category: type, filename: str, lineno: int, file: t.Any = None,
             line: str | None = None) -> None:
        print(f"sqlpredict: warning: {_paragraph(str(message))}", file=file or sys.stderr)

    warnings.showwarning = show


def _paragraph(message: str) -> str:
    """The message without blank lines or terminal escapes, so it reads as one paragraph."""
    message = _ANSI_ESCAPE.sub("", message)
    return "\n".join(line.rstrip() for line in message.strip().splitlines() if line.strip())


if __name__ == "__main__":
    sys.exit(main())
