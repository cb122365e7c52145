"""The `sqlpredict` command line, run as a user runs it: in a subprocess."""

from __future__ import annotations

import csv
import decimal
import io
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import sqlpredict
from sqlpredict import cli, output

ROWS = 300


def run_cli(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sqlpredict", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120)


def make_model() -> bytes:
    """score = sigmoid(0.75*x1 - 1.5*x2 + 0.25): nonlinear, two [None,1] float inputs."""
    w = numpy_helper.from_array(np.array([[0.75], [-1.5]], np.float32), "W")
    b = numpy_helper.from_array(np.array([0.25], np.float32), "B")
    graph = helper.make_graph(
        [helper.make_node("Concat", ["x1", "x2"], ["x"], axis=1),
         helper.make_node("MatMul", ["x", "W"], ["xw"]),
         helper.make_node("Add", ["xw", "B"], ["z"]),
         helper.make_node("Sigmoid", ["z"], ["score"])],
        "cli_test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in ("x1", "x2")],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, ir_version=9, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


def direct_scores(model: bytes, x1: list[float], x2: list[float]) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {"x1": np.array(x1, np.float32).reshape(-1, 1), "x2": np.array(x2, np.float32).reshape(-1, 1)}
    return session.run(["score"], feeds)[0].reshape(-1).astype(np.float64)


SETUP_SQL = """\
CREATE TABLE models (id INT, data VARBINARY(MAX), description VARCHAR(1000));
INSERT INTO models (id, data, description) VALUES (1, 0x{hex}, 'sigmoid');
CREATE TABLE points (id INT, x1 REAL, x2 REAL, label VARCHAR(10));
INSERT INTO points SELECT i, CAST(i / 37.0 - 4 AS REAL), CAST((i * 7) % 11 / 3.0 AS REAL), 'p' || CAST(i AS VARCHAR)
FROM range({rows}) AS r(i);
"""
PREDICT_SQL = """\
SELECT d.*, p.score
FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = dbo.points AS d, RUNTIME = ONNX)
WITH (score FLOAT) AS p
ORDER BY d.id;
"""


@pytest.fixture()
def script(tmp_path: Path) -> tuple[Path, bytes]:
    """A parameter-free script that stores the model as a hex literal and scores a table with it."""
    model = make_model()
    (tmp_path / "model.onnx").write_bytes(model)
    path = tmp_path / "score.sql"
    setup = SETUP_SQL.format(hex=model.hex().upper(), rows=ROWS)
    path.write_text(setup + "SELECT COUNT(*) AS n FROM models;\n" + PREDICT_SQL)
    return path, model


# ------------------------------------------------------------------ demo, version, help


def test_demo_exits_0_and_says_ok() -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "FROM PREDICT(MODEL = @model, DATA = predict_input AS d, RUNTIME = ONNX)" in result.stdout
    assert "OPENROWSET(BULK 'sql/examples/house_price.onnx', SINGLE_BLOB)" in result.stdout
    assert "max abs difference" in result.stdout
    assert result.stderr == ""


def test_demo_keeps_its_tables_in_a_database_file(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    assert run_cli("demo", "--database", str(db)).returncode == 0
    query = tmp_path / "q.sql"
    query.write_text("SELECT COUNT(*) AS n FROM models; SELECT COUNT(*) AS n FROM dbo.house_price_predictions")
    result = run_cli("run", str(query), "--database", str(db), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [[{"n": 1}], [{"n": 5}]]
    again = run_cli("demo", "--database", str(db))  # its CREATE TABLEs would fail halfway: refused first
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr.startswith("sqlpredict: error: the demo creates its tables in a new database file")


def test_demo_explains_each_step_with_the_comment_just_above_it() -> None:
    """The script's file header (how to run it) is not the first step's explanation."""
    steps = [line for line in run_cli("demo").stdout.splitlines() if line.startswith("-- ")]
    assert steps[0].startswith("-- 1. The SQL Edge script starts in its database")
    assert not any("sqlpredict run" in step or "Run:" in step for step in steps)


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"sqlpredict {sqlpredict.__version__}"


@pytest.mark.parametrize("command", [[], ["demo"], ["run"], ["shell"], ["describe"]])
def test_help(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: sqlpredict {' '.join(command)}".rstrip())
    assert "--debug" in result.stdout


def test_no_command_prints_usage_and_fails() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage: sqlpredict" in result.stderr


# ------------------------------------------------------------------ run


def test_run_csv_equals_onnxruntime(script: tuple[Path, bytes]) -> None:
    path, model = script
    result = run_cli("run", str(path), "--format", "csv")
    assert result.returncode == 0, result.stderr
    count_part, scores_part = result.stdout.split("\n\n")
    assert list(csv.reader(io.StringIO(count_part))) == [["n"], ["1"]]
    rows = list(csv.DictReader(io.StringIO(scores_part)))
    assert len(rows) == ROWS
    assert list(rows[0]) == ["id", "x1", "x2", "label", "score"]
    assert [r["label"] for r in rows[:2]] == ["p0", "p1"]
    x1 = [float(r["x1"]) for r in rows]
    x2 = [float(r["x2"]) for r in rows]
    expected = direct_scores(model, x1, x2)
    np.testing.assert_allclose([float(r["score"]) for r in rows], expected, rtol=1e-6, atol=0)


def test_run_in_a_long_lived_process_starts_its_batch_thread_once(script: tuple[Path, bytes], capsys,
                                                                   monkeypatch) -> None:
    """Each batch runs on a kept worker (stream.Workers), not a thread started for it: threads ended
    after each statement left freed memory in their malloc arenas, and a shell grew with every
    statement (about 55 MB over 20 PREDICTs of 2M rows)."""
    path, model = script
    assert cli.main(["run", str(path), "--format", "csv"]) == 0
    first = capsys.readouterr().out
    started: list[str] = []
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread.name)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    assert cli.main(["run", str(path), "--format", "csv"]) == 0
    again = capsys.readouterr().out
    assert again == first
    rows = list(csv.DictReader(io.StringIO(again.split("\n\n")[1])))
    expected = direct_scores(model, [float(r["x1"]) for r in rows], [float(r["x2"]) for r in rows])
    np.testing.assert_allclose([float(r["score"]) for r in rows], expected, rtol=1e-6, atol=0)
    assert [n for n in started if n.startswith("sqlpredict-")] == []


def test_run_json_equals_onnxruntime(script: tuple[Path, bytes]) -> None:
    path, model = script
    result = run_cli("run", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    counts, rows = (json.loads(line) for line in result.stdout.splitlines())
    assert counts == [{"n": 1}]
    assert len(rows) == ROWS and rows[3]["id"] == 3
    expected = direct_scores(model, [r["x1"] for r in rows], [r["x2"] for r in rows])
    np.testing.assert_allclose([r["score"] for r in rows], expected, rtol=1e-6, atol=0)


def test_run_table_has_aligned_header(script: tuple[Path, bytes]) -> None:
    path, _ = script
    result = run_cli("run", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["id", "x1", "x2", "label", "score"])
    rule, first = lines[header + 1], lines[header + 2]
    assert set(rule.replace(" ", "")) == {"-"}
    # every column starts where its rule does: the rule's gaps are blank in the rows too
    gaps = [i for i, ch in enumerate(rule) if ch == " "]
    assert all(first[i] == " " for i in gaps)
    assert first.split()[0] == "0" and first.split()[3] == "p0"
    assert f"({ROWS} rows)" in result.stdout


def test_run_null_input_gives_empty_csv_field(tmp_path: Path) -> None:
    model = make_model()
    path = tmp_path / "nulls.sql"
    path.write_text(f"CREATE TABLE t (x1 REAL, x2 REAL); INSERT INTO t VALUES (1, NULL), (1, 2);\n"
                    f"SELECT p.score FROM PREDICT(MODEL = 0x{model.hex()}, DATA = t) WITH (score REAL) AS p")
    result = run_cli("run", str(path), "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["score"] and rows[1] == [""] and float(rows[2][0]) == pytest.approx(
        float(direct_scores(model, [1.0], [2.0])[0]), rel=1e-6)


def test_run_commits_to_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "kept.duckdb"
    (tmp_path / "write.sql").write_text("CREATE TABLE kept (a INT); INSERT INTO kept VALUES (1), (2)")
    (tmp_path / "read.sql").write_text("SELECT SUM(a) AS total FROM kept")
    assert run_cli("run", "write.sql", "--database", str(db), cwd=tmp_path).returncode == 0
    result = run_cli("run", "read.sql", "--database", str(db), "--format", "json", cwd=tmp_path)
    assert json.loads(result.stdout) == [{"total": 3}]


def test_run_reads_stdin_in_the_duckdb_dialect() -> None:
    result = run_cli("run", "-", "--dialect", "duckdb", "--format", "csv",
                     stdin="SELECT 42::UTINYINT AS answer")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["answer", "42"]


# ------------------------------------------------------------------ errors


def test_bad_predict_is_one_message_without_traceback(tmp_path: Path) -> None:
    model = make_model()
    path = tmp_path / "bad.sql"
    path.write_text(f"CREATE TABLE t (x1 REAL, y REAL); INSERT INTO t VALUES (1, 2);\n"
                    f"SELECT p.score FROM PREDICT(MODEL = 0x{model.hex()}, DATA = t AS d, RUNTIME = ONNX) "
                    f"WITH (score FLOAT) AS p")
    result = run_cli("run", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("sqlpredict: error: PREDICT:")
    assert "x2" in result.stderr  # names the missing input
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3
    assert result.stdout == ""


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.sql"
    path.write_text("SELECT * FROM PREDICT(MODEL = 0x00, DATA = (SELECT 1 AS x) AS d) WITH (y FLOAT) AS p")
    for args in (["--debug", "run", str(path)], ["run", str(path), "--debug"]):
        result = run_cli(*args)
        assert result.returncode == 1
        assert "Traceback" in result.stderr
        assert "sqlpredict: error: PREDICT:" in result.stderr


def test_failed_script_commits_nothing(tmp_path: Path) -> None:
    db = tmp_path / "atomic.duckdb"
    (tmp_path / "setup.sql").write_text("CREATE TABLE t (a INT)")
    (tmp_path / "fail.sql").write_text("INSERT INTO t VALUES (1); SELECT * FROM no_such_table")
    (tmp_path / "read.sql").write_text("SELECT COUNT(*) AS n FROM t")
    assert run_cli("run", "setup.sql", "--database", str(db), cwd=tmp_path).returncode == 0
    failed = run_cli("run", "fail.sql", "--database", str(db), cwd=tmp_path)
    assert failed.returncode == 1 and "no_such_table" in failed.stderr and "Traceback" not in failed.stderr
    result = run_cli("run", "read.sql", "--database", str(db), "--format", "json", cwd=tmp_path)
    assert json.loads(result.stdout) == [{"n": 0}]


def test_run_refuses_a_procedure_body_at_create_and_keeps_the_old_one(tmp_path: Path) -> None:
    """The body is checked when the CREATE batch runs: the error names the body's line in the script, and
    the procedure stored by the batch before is the one EXEC still runs."""
    db = tmp_path / "procs.duckdb"
    (tmp_path / "procs.sql").write_text(
        "CREATE PROCEDURE dbo.answer AS SELECT 42 AS answer\nGO\n"
        "CREATE OR ALTER PROCEDURE dbo.answer\nAS\nBEGIN\n"
        "    DECLARE c CURSOR FOR SELECT 1\n    OPEN c\nEND\n")
    (tmp_path / "exec.sql").write_text("EXEC dbo.answer")
    failed = run_cli("run", "procs.sql", "--database", str(db), cwd=tmp_path)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "line 6" in failed.stderr and "cursor" in failed.stderr, failed.stderr
    result = run_cli("run", "exec.sql", "--database", str(db), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"answer": 42}]


def test_missing_file_is_an_error_without_traceback(tmp_path: Path) -> None:
    result = run_cli("run", str(tmp_path / "missing.sql"))
    assert result.returncode == 1
    assert "missing.sql" in result.stderr and "Traceback" not in result.stderr


def test_syntax_error_message_has_no_terminal_escapes(tmp_path: Path) -> None:
    result = run_cli("run", "-", stdin="SELEC 1")
    assert result.returncode == 1
    assert "\x1b" not in result.stderr and result.stderr.startswith("sqlpredict: error:")


# ------------------------------------------------------------------ output formatting (in process)


def test_table_format_aligns_and_marks_nulls_and_blobs() -> None:
    result = output.ResultSet(["name", "n", "blob"], ["VARCHAR", "INTEGER", "BLOB"],
                              [("a", 1, b"\x01\x02"), ("long name", None, bytes(100))])
    lines = output.format_table(result).splitlines()
    assert lines[0] == "name          n  blob"
    assert lines[1] == "---------  ----  " + "-" * len("0x00000000000000000000000000000000... (100 bytes)")
    assert lines[2] == "a             1  0x0102"
    assert lines[3].startswith("long name  NULL  0x0000") and lines[3].endswith("(100 bytes)")
    assert lines[4] == "(2 rows)"


def test_float32_columns_print_short_and_round_trip() -> None:
    value = float(np.float32(80.1))
    result = output.ResultSet(["r", "d"], ["FLOAT", "DOUBLE"], [(value, value)])
    assert output.format_csv(result).splitlines()[1] == f"80.1,{value!r}"
    row = json.loads(output.format_json(result))[0]
    assert np.float32(row["r"]) == np.float32(value) and row["d"] == value


def test_json_writes_non_finite_floats_as_strings() -> None:
    result = output.ResultSet(["x"], ["DOUBLE"], [(float("nan"),), (float("inf"),), (None,)])
    assert json.loads(output.format_json(result)) == [{"x": "NaN"}, {"x": "Infinity"}, {"x": None}]


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_datetime2_prints_its_100_ns(fmt: str) -> None:
    """DATETIME2(7) keeps 100 ns; a Python datetime holds microseconds, so the CLI prints DuckDB's text."""
    result = run_cli("run", "-", "--format", fmt, stdin="DECLARE @d DATETIME2(7) = '2020-01-02 03:04:05.1234567'\n"
                     "SELECT @d AS d, CAST(NULL AS DATETIME2) AS n, CAST('2020-01-02' AS DATETIME2) AS midnight")
    assert result.returncode == 0, result.stderr
    assert "2020-01-02 03:04:05.1234567" in result.stdout and "2020-01-02 00:00:00" in result.stdout


def test_json_writes_decimals_with_their_own_digits() -> None:
    """A DECIMAL is a JSON number with the digits csv and table print, not the nearest float's."""
    result = run_cli("run", "-", "--format", "json", stdin=(
        "SELECT CAST('123456789.123456789' AS NUMERIC(18,9)) AS d, CAST('12345678901234567.89' AS NUMERIC(38,2)) "
        "AS big, CAST(-0.5 AS NUMERIC(3,1)) AS neg, CAST(NULL AS NUMERIC(5,2)) AS nothing, N'x\"y' AS s"))
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout, parse_float=decimal.Decimal)[0]
    assert row == {"d": decimal.Decimal("123456789.123456789"), "big": decimal.Decimal("12345678901234567.89"),
                   "neg": decimal.Decimal("-0.5"), "nothing": None, "s": 'x"y'}


# ------------------------------------------------------------------ run, batch by batch

BATCHES = """\
CREATE TABLE t (a INT);
INSERT INTO t VALUES (1), (2);
SELECT a FROM t ORDER BY a;
GO
-- batch 2 starts on line 5
UPDATE t SET a = a * 10 WHERE a = 2
SELECT SUM(a) AS total FROM t
GO
INSERT INTO t VALUES (3)
SELECT * FROM no_such_table
GO
SELECT 'never' AS reached
"""


def test_run_prints_each_batch_in_order_and_stops_at_the_first_error(tmp_path: Path) -> None:
    path = tmp_path / "batches.sql"
    path.write_text(BATCHES)
    result = run_cli("run", str(path))
    assert result.returncode == 1
    assert result.stdout == ("(2 rows affected)\n\na\n-\n1\n2\n(2 rows)\n\n"
                             "(1 row affected)\n\ntotal\n-----\n   21\n(1 row)\n")
    # the failing batch printed nothing: it was rolled back whole
    assert "never" not in result.stdout
    assert result.stderr.startswith("sqlpredict: error: ") and "no_such_table" in result.stderr
    assert "batch starting at line 9" in result.stderr
    assert "Traceback" not in result.stderr and "\n\n" not in result.stderr.strip()


def test_run_go_n_runs_the_batch_n_times(tmp_path: Path) -> None:
    """GO 3 runs the batch before it three times, printing each run, as sqlcmd does."""
    path = tmp_path / "go3.sql"
    path.write_text("CREATE TABLE t (a INT)\nGO\nINSERT INTO t VALUES (1)\nSELECT COUNT(*) AS n FROM t\nGO 3\n"
                    "SELECT SUM(a) AS total FROM t\n")
    result = run_cli("run", str(path))
    assert result.returncode == 0, result.stderr
    runs = "".join(f"(1 row affected)\n\nn\n-\n{i}\n(1 row)\n\n" for i in (1, 2, 3))
    assert result.stdout == runs + "total\n-----\n    3\n(1 row)\n"


def test_run_commits_each_batch_and_rolls_back_the_failing_one(tmp_path: Path) -> None:
    db = tmp_path / "batches.duckdb"
    path = tmp_path / "batches.sql"
    path.write_text(BATCHES)
    assert run_cli("run", str(path), "--database", str(db)).returncode == 1
    with sqlpredict.connect(str(db)) as con:  # reopened: what the first two batches did was committed
        rows = con.cursor().execute("SELECT a FROM t ORDER BY a").fetchall()
    assert rows == [(1,), (20,)]  # the INSERT of the failing batch was rolled back with it


def test_run_csv_and_json_stay_machine_readable(tmp_path: Path) -> None:
    path = tmp_path / "ok.sql"
    path.write_text(BATCHES.split("GO\nINSERT")[0])
    as_json = run_cli("run", str(path), "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [[{"a": 1}, {"a": 2}], [{"total": 21}]]
    as_csv = run_cli("run", str(path), "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    blocks = [list(csv.reader(io.StringIO(block))) for block in as_csv.stdout.split("\n\n")]
    assert blocks == [[["a"], ["1"], ["2"]], [["total"], ["21"]]]


def test_nocount_on_hides_row_counts() -> None:
    result = run_cli("run", "-", stdin="SET NOCOUNT ON; CREATE TABLE t (a INT); INSERT INTO t VALUES (1)\n"
                                       "GO\nDELETE FROM t\nGO\nSET NOCOUNT OFF\nINSERT INTO t VALUES (5)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "(1 row affected)\n"


def test_nocount_in_a_list_of_set_options_hides_row_counts() -> None:
    """`SET NOCOUNT, XACT_ABORT ON` sets NOCOUNT as `SET NOCOUNT ON` does; OFF in a list turns it off."""
    result = run_cli("run", "-", stdin="SET NOCOUNT, XACT_ABORT ON\nCREATE TABLE t (a INT)\nINSERT INTO t VALUES (1)\n"
                                       "GO\nDELETE FROM t\nGO\nSET XACT_ABORT, NOCOUNT OFF\nINSERT INTO t VALUES (5)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "(1 row affected)\n"


def test_run_duckdb_dialect_runs_statement_by_statement(tmp_path: Path) -> None:
    db = tmp_path / "duck.duckdb"
    script = "CREATE TABLE t AS SELECT 1::UTINYINT AS a;\nSELECT a FROM t;\n\nINSERT INTO t VALUES (2);\nSELECT a +;\n"
    result = run_cli("run", "-", "--dialect", "duckdb", "--database", str(db), "--format", "json", stdin=script)
    assert result.returncode == 1
    assert result.stdout == '[{"a": 1}]\n'
    assert "statement starting at line 5" in result.stderr and "Traceback" not in result.stderr
    with sqlpredict.connect(str(db), dialect="duckdb") as con:
        assert con.cursor().execute("SELECT COUNT(*) FROM t").fetchone() == (2,)


def test_piped_stderr_gets_no_progress(tmp_path: Path) -> None:
    """A PREDICT that scores for over a second, with stderr a pipe: stderr stays empty."""
    path = tmp_path / "long.sql"
    path.write_text(f"SELECT COUNT(*) AS n FROM {long_predict(100_000_000)}")
    started = time.monotonic()
    result = run_cli("run", str(path), "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "100000000"]
    assert result.stderr == ""
    assert time.monotonic() - started > 1.0  # long enough that a terminal would have shown progress


def long_predict(rows: int) -> str:
    """A PREDICT over `rows` generated rows: no table to fill, so it starts scoring at once."""
    model = make_model().hex()
    return (f"PREDICT(MODEL = 0x{model}, DATA = (SELECT CAST(i AS REAL) AS x1, CAST(i AS REAL) AS x2 "
            f"FROM range({rows}) AS r(i)) AS d) WITH (score FLOAT) AS p")


# ------------------------------------------------------------------ shell through a pipe


SHELL_INPUT = """\
CREATE TABLE t (a INT, b VARCHAR);
INSERT INTO t
VALUES (1, 'x;y'),
       (2, 'z');
SELECT a, b
FROM t
ORDER BY a
GO
.tables
SELECT * FROM no_such_table;
.format json
DECLARE @n INT = 2
SELECT a FROM t WHERE a = @n
GO
.format csv
SELECT b FROM t WHERE a = 1; -- a comment after the ;
.nonsense
SELECT COUNT(*) AS n
FROM t"""


def test_shell_reads_statements_from_a_pipe() -> None:
    result = run_cli("shell", stdin=SHELL_INPUT)
    assert result.returncode == 1, result.stderr  # it went on after the errors, and says there were some
    assert "sqlpredict>" not in result.stdout and "...>" not in result.stdout  # no prompts when piped
    assert result.stdout == (
        "(2 rows affected)\n\n"
        "a  b\n-  ---\n1  x;y\n2  z\n(2 rows)\n\n"
        "schema  name  type\n------  ----  ----------\nmain    t     BASE TABLE\n(1 row)\n"
        '[{"a": 2}]\n\n'
        "b\nx;y\n\n"
        "n\n2\n"  # the last statement runs at end of input without ';'
    )
    errors = result.stderr.splitlines()
    assert errors[0].startswith("sqlpredict: error: ") and "no_such_table" in errors[0]
    assert "line 10 of the input" in result.stderr
    assert errors[-1] == "sqlpredict: error: unknown command .nonsense; .help lists the commands"
    assert "Traceback" not in result.stderr


def test_shell_help_quit_and_duckdb_dialect(tmp_path: Path) -> None:
    db = tmp_path / "shell.duckdb"
    result = run_cli("shell", "--dialect", "duckdb", "--database", str(db), "--format", "csv",
                     stdin=".help\nCREATE TABLE t AS SELECT 42 AS a;\nSELECT a\n  FROM t;\n.quit\nSELECT 1;\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    help_text, rest = result.stdout.split("\n\n", 1)[0], result.stdout
    assert ".format table|csv|json" in help_text and ".tables" in help_text and ".quit" in help_text
    assert rest.endswith("a\n42\n")  # nothing after .quit ran
    with sqlpredict.connect(str(db), dialect="duckdb") as con:  # the shell committed it
        assert con.cursor().execute("SELECT a FROM t").fetchall() == [(42,)]


# ------------------------------------------------------------------ on a terminal (pty)

pty = pytest.importorskip("pty", reason="no pseudo-terminals on this platform")


class Terminal:
    """sqlpredict on a pseudo-terminal, as a person runs it: Ctrl-C is a keystroke."""

    def __init__(self, *args: str, home: Path) -> None:
        env = {**os.environ, "HOME": str(home), "TERM": "dumb"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the terminal is its controlling terminal
            os.execve(sys.executable, [sys.executable, "-m", "sqlpredict", *args], env)
        self.seen = b""
        self.pos = 0  # what expect has matched so far

    def expect(self, text: bytes, timeout: float = 10.0) -> bytes:
        """Read until `text` appears after the last match; the output up to and including it."""
        start, deadline = self.pos, time.monotonic() + timeout
        while text not in self.seen[start:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear; the terminal shows {self.seen[-500:]!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child has exited
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{text!r} did not appear before exit; {self.seen[-500:]!r}")
                self.seen += chunk
        self.pos = self.seen.index(text, start) + len(text)
        return self.seen[start:self.pos]

    def send(self, text: bytes) -> None:
        os.write(self.fd, text)

    def key(self, control: bytes) -> None:
        """A control key at the prompt, once readline waits for it (a key typed in the very instant
        the prompt appears can reach Python before readline listens: CPython's race, not a user's)."""
        time.sleep(0.3)
        os.write(self.fd, control)

    def wait(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:
                if select.select([self.fd], [], [], 0.1)[0]:
                    self.seen += os.read(self.fd, 65536)
            except OSError:
                time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"sqlpredict did not exit; the terminal shows {self.seen[-500:]!r}")


def test_progress_line_on_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "long.sql"
    path.write_text(f"SELECT COUNT(*) AS n FROM {long_predict(10**11)}")
    term = Terminal("run", str(path), home=tmp_path)
    shown = term.expect(b" rows/s")  # after about a second of scoring
    assert b" rows scored, " in shown
    term.expect(b" rows/s")  # it updates
    term.send(b"\x03")  # Ctrl-C
    assert term.wait() == 130
    tail = term.seen.rsplit(b"rows/s", 1)[1]
    assert b"\r\x1b[K" in tail  # the progress line was cleared before the message
    assert b"sqlpredict: interrupted" in tail and b"Traceback" not in term.seen


def test_ctrl_c_interrupts_a_long_predict_in_the_shell(tmp_path: Path) -> None:
    term = Terminal("shell", home=tmp_path)
    term.expect(b"sqlpredict> ")
    term.send(f"SELECT COUNT(*) AS n FROM {long_predict(10**11)};\r".encode())
    term.expect(b" rows/s")
    started = time.monotonic()
    term.send(b"\x03")
    stopped = term.expect(b"sqlpredict> ")
    assert time.monotonic() - started < 5
    assert b"sqlpredict: error: " in stopped and b"Interrupt" in stopped and b"Traceback" not in stopped
    term.send(b"SELECT 41 + 1 AS answer;\r")  # the shell goes on, and so does the connection
    assert b"    42" in term.expect(b"(1 row)")
    term.expect(b"sqlpredict> ")
    term.send(b"SELECT 1,\r")
    term.expect(b"...> ")
    term.key(b"\x03")  # Ctrl-C drops the unfinished statement
    term.expect(b"sqlpredict> ")
    term.send(b".quit\r")
    assert term.wait() == 0
    assert (tmp_path / ".sqlpredict_history").exists()


def test_shell_works_without_a_writable_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("")  # a file: nothing can be written under it, even by root
    term = Terminal("shell", home=home)
    term.expect(b"sqlpredict> ")
    term.send(b"SELECT 7 AS seven;\r")
    term.expect(b"(1 row)")
    term.expect(b"sqlpredict> ")
    term.key(b"\x04")  # Ctrl-D
    assert term.wait() == 0
    assert b"Traceback" not in term.seen and b"error" not in term.seen
    assert home.read_text() == ""


def test_a_piped_shell_without_errors_exits_0() -> None:
    result = run_cli("shell", stdin="SELECT 1 AS a;\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, "a\n-\n1\n(1 row)\n", "")


def test_run_gives_go_n_runs_one_at_a_time() -> None:
    result = run_cli("run", "-", stdin="SELECT 1 AS a\nGO\nSELECT 1 / 0 AS b\nGO 100000000000\n")
    assert result.returncode == 1 and "Division by zero" in result.stderr and "MemoryError" not in result.stderr
    assert result.stdout.startswith("a\n-\n1\n")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-8"])
def test_run_reads_stdin_with_the_encodings_of_files(encoding: str) -> None:
    """A script piped in is read as a file is: UTF-8 with or without a BOM, UTF-16 with one, CRLF lines."""
    result = subprocess.run([sys.executable, "-m", "sqlpredict", "run", "-", "--format", "csv"],
                            input="SELECT N'h\u00e9llo' AS g\r\nGO\r\nSELECT 2 AS n\r\n".encode(encoding),
                            capture_output=True, timeout=120)
    assert (result.returncode, result.stdout.decode().splitlines()) == (0, ["g", "h\u00e9llo", "", "n", "2"]), \
        result.stderr
    bad = subprocess.run([sys.executable, "-m", "sqlpredict", "run", "-"], input=b"SELECT 1\xff\xfe0",
                         capture_output=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.decode().startswith("sqlpredict: error: standard input is not utf-8")


def test_run_reads_utf16_scripts_and_refuses_other_bytes_clearly(tmp_path: Path) -> None:
    """SSMS saves scripts as "Unicode": UTF-16 with a byte order mark."""
    script = tmp_path / "unicode.sql"
    script.write_bytes("SELECT N'h\u00e9llo' AS g\nGO\n".encode("utf-16"))
    result = run_cli("run", str(script), "--format", "csv")
    assert (result.returncode, result.stdout.splitlines()) == (0, ["g", "h\u00e9llo"]), result.stderr
    script.write_bytes(b"SELECT 1\xff\xfe0")
    result = run_cli("run", str(script))
    assert result.returncode == 1
    assert result.stderr.startswith(f"sqlpredict: error: {script} is not utf-8 text")
    assert "internal error" not in result.stderr


def test_run_answers_a_commit_without_begin_transaction_as_sqlcmd_does() -> None:
    """sqlcmd runs with IMPLICIT_TRANSACTIONS OFF: a COMMIT no BEGIN TRANSACTION opened is Msg 3902, though
    each batch runs in a transaction of its own here; BEGIN ... COMMIT across batches still commits."""
    result = run_cli("run", "-", stdin="CREATE TABLE t (id INT)\nGO\nBEGIN TRAN\nINSERT INTO t VALUES (1)\nGO\n"
                                       "COMMIT\nGO\nSELECT COUNT(*) AS n FROM t\nGO\nCOMMIT TRANSACTION\nGO\n")
    assert result.returncode == 1 and "Msg 3902" in result.stderr, result.stderr
    assert "n\n-\n1\n" in result.stdout
