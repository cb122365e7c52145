"""The `sqlpredict` command: a demo for newcomers and a runner for .sql scripts.

Errors reach the user as one paragraph on stderr and exit status 1; the
traceback is for `--debug`, because a user whose PREDICT does not bind needs
the engine's message ("PREDICT: input 'x' ..."), not the call stack.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
import typing as t

from . import output

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130
_DEBUG_HELP = "show the full traceback when something fails"
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # sqlglot underlines the bad token for terminals


def main(argv: t.Sequence[str] | None = None) -> int:
    """Entry point of the console script and of `python -m sqlpredict`; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
    _add_describe(commands, common)
    return parser


def _add_demo(commands: t.Any, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo", parents=[common], help="store a model, score a table with PREDICT, check the numbers",
        description="Build a small house-price model, store it in a models table, score a table of "
                    "houses with PREDICT and check every score against onnxruntime run directly. "
                    "Exits 1 if they differ.",
    )
    demo.add_argument("--database", default=":memory:", metavar="PATH",
                      help="DuckDB file to keep the demo's tables in, to explore them afterwards "
                           "with `sqlpredict run` (default: in memory)")
    demo.set_defaults(handler=_cmd_demo)


def _add_run(commands: t.Any, common: argparse.ArgumentParser) -> None:
    run = commands.add_parser(
        "run", parents=[common], help="run the statements of a .sql file and print their results",
        description="Run every statement of FILE (separated by ';') on one connection, print each "
                    "result set, and commit at the end. If a statement fails, nothing is committed "
                    "and the exit status is 1.",
    )
    run.add_argument("file", metavar="FILE.sql", help="the script to run ('-' reads standard input)")
    run.add_argument("--database", default=":memory:", metavar="PATH",
                     help="DuckDB database file (default: a fresh in-memory database)")
    run.add_argument("--dialect", choices=("tsql", "duckdb"), default="tsql",
                     help="the SQL the script is written in (default: tsql)")
    run.add_argument("--format", choices=output.FORMATS, default="table", dest="fmt",
                     help="how result sets are printed (default: table)")
    run.set_defaults(handler=_cmd_run)


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

    return run_demo(sys.stdout, database=args.database)


def _cmd_run(args: argparse.Namespace) -> int:
    import sqlpredict

    script = _read_script(args.file)
    con = sqlpredict.connect(args.database, dialect=args.dialect)
    try:
        cursor = con.cursor().execute(script)
        _print_results(cursor, args.fmt, sys.stdout)
        con.commit()
    finally:
        con.close()
    return EXIT_OK


def _read_script(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8-sig") as f:  # -sig: SSMS saves scripts with a BOM
        return f.read()


def _print_results(cursor: t.Any, fmt: str, out: t.TextIO) -> None:
    """Every result set of the script, in order, blank-line separated in table and csv formats."""
    first = True
    while cursor.description is not None:
        if not first and fmt != "json":
            out.write("\n")
        output.write(output.from_cursor(cursor), fmt, out)
        first = False
        if not cursor.nextset():
            break


# ------------------------------------------------------------------ errors


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not report the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _report_error(exc: BaseException, *, debug: bool) -> int:
    """One paragraph on stderr: the engine's own message for sqlpredict errors, the type for others."""
    import sqlpredict

    if debug:
        traceback.print_exc()
    if isinstance(exc, sqlpredict.Error):
        text = f"sqlpredict: error: {_paragraph(str(exc))}"
    elif isinstance(exc, OSError):
        text = f"sqlpredict: error: {exc.strerror or exc}: {exc.filename}" if exc.filename else f"sqlpredict: error: {exc}"
    else:
        text = (f"sqlpredict: internal error: {type(exc).__name__}: {_paragraph(str(exc))}"
                + ("" if debug else " (run again with --debug for the traceback)"))
    print(text, file=sys.stderr)
    return EXIT_ERROR


def _paragraph(message: str) -> str:
    """The message without blank lines or terminal escapes, so it reads as one paragraph."""
    message = _ANSI_ESCAPE.sub("", message)
    return "\n".join(line.rstrip() for line in message.strip().splitlines() if line.strip())


if __name__ == "__main__":
    sys.exit(main())
