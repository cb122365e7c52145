"""An INSERT ... SELECT ... FROM PREDICT that fails partway leaves the target exactly as before.

Failures come late, after several batches were scored (batch_size is small):
a NULL at about 70% of the rows under null_inputs="error", a value that
overflows the declared output type in a late row, and a model that fails on
certain values (a Reshape whose shape is computed from the input). Each runs
in autocommit mode, in an explicit transaction with and without earlier
writes, and with DATA from a committed table (streamed from a sibling
connection) and from a temp table (scored on the user's connection). The
target's row count and checksum must not change, and the connection must run
the next statement normally.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))

import onnx_models  # noqa: E402

import sqlpredict  # noqa: E402
from sqlpredict import stream as stream_module  # noqa: E402

ROWS = 200
BATCH = 16
BAD_ROW = 140  # 70% of the way through: batch 9 of 13
LINEAR = onnx_models.linear()


def reshape_by_value() -> bytes:
    """y = Reshape(f0, [-1, floor(max(f0 in batch))]): fine while every f0 < 2, fails on a batch holding f0 = 3."""
    nodes = [
        helper.make_node("ReduceMax", ["f0"], ["m"], keepdims=0),
        helper.make_node("Floor", ["m"], ["mf"]),
        helper.make_node("Cast", ["mf"], ["mi"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["mi", "one"], ["k"]),
        helper.make_node("Concat", ["minus1", "k"], ["shape"], axis=0),
        helper.make_node("Reshape", ["f0", "shape"], ["r"]),
        helper.make_node("Add", ["r", "f1"], ["score"]),
    ]
    inits = [numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
             numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1")]
    return onnx_models.make(
        nodes,
        [helper.make_tensor_value_info("f0", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("f1", TensorProto.FLOAT, ["N", 1])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        inits,
    )


RESHAPE = reshape_by_value()

# failure -> (model, WITH type, expected error class, what the bad row holds)
FAILURES = {
    "null": (LINEAR, "FLOAT", sqlpredict.DataError),
    "overflow": (LINEAR, "SMALLINT", sqlpredict.DataError),
    "model_error": (RESHAPE, "FLOAT", sqlpredict.OperationalError),
}


def source_rows(failure: str) -> list[tuple]:
    rows = []
    for i in range(ROWS):
        f0, f1 = 1.0 + (i % 7) / 10.0, float(i % 5)
        if i == BAD_ROW:
            if failure == "null":
                f0 = None
            elif failure == "overflow":
                f0 = 50000.0  # 2*f0 - 3*f1 + 0.5 > 32767
            else:
                f0 = 3.0
        rows.append((i, f0, f1))
    return rows


def snapshot(con) -> tuple:
    return con.cursor().execute(
        "SELECT COUNT(*), SUM(id), SUM(CAST(score * 1000 AS BIGINT)), "
        "string_agg(CAST(id AS VARCHAR) || ':' || CAST(score AS VARCHAR), ',' ORDER BY id, score) FROM target"
    ).fetchall()[0]


@pytest.fixture
def paths(monkeypatch):
    """Records which path each PREDICT took (True: streamed from a sibling connection)."""
    seen: list[bool] = []
    original = stream_module.PredictStream.open

    def spy(self, con, streaming, **kwargs):
        seen.append(streaming)
        return original(self, con, streaming, **kwargs)

    monkeypatch.setattr(stream_module.PredictStream, "open", spy)
    return seen


def setup(failure: str, autocommit: bool):
    con = sqlpredict.connect(autocommit=True, batch_size=BATCH,
                             null_inputs="error" if failure == "null" else "propagate")
    cur = con.cursor()
    cur.execute("CREATE TABLE target (id INT, score FLOAT)")
    cur.executemany("INSERT INTO target VALUES (?, ?)", [(-i, i * 0.25) for i in range(1, 31)])
    cur.execute("CREATE TABLE src (id INT, f0 REAL, f1 REAL)")
    cur.executemany("INSERT INTO src VALUES (?, ?, ?)", source_rows(failure))
    cur.execute("CREATE TABLE #src (id INT, f0 REAL, f1 REAL)")
    cur.executemany("INSERT INTO #src VALUES (?, ?, ?)", source_rows(failure))
    con.autocommit = autocommit
    return con


def insert_sql(source: str, declared: str) -> str:
    return (f"INSERT INTO target (id, score) SELECT d.id, p.score "
            f"FROM PREDICT(MODEL = ?, DATA = {source} AS d, RUNTIME = ONNX) WITH (score {declared}) AS p")


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("mode", ["autocommit", "transaction", "transaction_after_writes"])
@pytest.mark.parametrize("source", ["src", "#src"])
def test_failed_insert_leaves_target_unchanged(failure, mode, source, paths):
    model, declared, error = FAILURES[failure]
    con = setup(failure, autocommit=(mode == "autocommit"))
    before = snapshot(con)
    batches: list[int] = []
    con.progress = batches.append
    cur = con.cursor()
    if mode == "transaction_after_writes":
        cur.execute("INSERT INTO target VALUES (1000, 1.5)")
        cur.execute("DELETE FROM target WHERE id = -1")
    before_statement = snapshot(con)
    with pytest.raises(error) as info:
        cur.execute(insert_sql(source, declared), [model])
    assert str(info.value).startswith("PREDICT:"), str(info.value)
    if "rolled back" in str(info.value):  # the transaction could not go on (XACT_ABORT ON): all undone
        assert mode == "transaction_after_writes"
        assert snapshot(con) == before
    else:  # only the statement failed: the transaction's earlier writes are still there
        assert snapshot(con) == before_statement
    # It failed late: several batches were scored before the bad one.
    assert len(batches) >= 3, batches
    # The path is the one meant: a temp table or earlier writes score on the user's connection.
    assert paths == [source == "src" and mode != "transaction_after_writes"], paths
    con.progress = None
    if mode != "autocommit":
        con.rollback()
    assert snapshot(con) == before
    # The connection keeps working: the same INSERT on good rows lands and commits.
    good = f"{source} WHERE id <> {BAD_ROW}" if not source.startswith("#") else source
    if source.startswith("#"):
        cur.execute(f"DELETE FROM {source} WHERE id = {BAD_ROW}")
    else:
        good = "(SELECT * FROM src WHERE id <> 140)"
    cur.execute(insert_sql(good, "FLOAT"), [model])
    assert cur.rowcount == ROWS - 1
    con.commit()
    after = snapshot(con)
    assert after[0] == before[0] + ROWS - 1
    expected = _expected_scores(model, failure)
    got = dict(con.cursor().execute("SELECT id, score FROM target WHERE id >= 0").fetchall())
    assert got == pytest.approx(expected)
    con.close()


def _expected_scores(model: bytes, failure: str) -> dict[int, float]:
    rows = [r for r in source_rows(failure) if r[0] != BAD_ROW]
    f0 = np.array([r[1] for r in rows], dtype=np.float32).reshape(-1, 1)
    f1 = np.array([r[2] for r in rows], dtype=np.float32).reshape(-1, 1)
    if model is RESHAPE:  # scored batch by batch; every good batch's max is < 2
        out = (f0 + f1).reshape(-1)
    else:
        out = onnx_models.run_direct(model, {"f0": f0, "f1": f1})[0].reshape(-1)
    return {r[0]: float(v) for r, v in zip(rows, out)}


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_failed_create_table_as_and_update_leave_nothing(dialect):
    """Other writing statements fail whole as well: CREATE TABLE AS and UPDATE ... FROM PREDICT."""
    con = sqlpredict.connect(dialect=dialect, autocommit=True, batch_size=BATCH, null_inputs="error")
    cur = con.cursor()
    cur.execute("CREATE TABLE src (id INT, f0 REAL, f1 REAL)")
    cur.executemany("INSERT INTO src VALUES (?, ?, ?)", source_rows("null"))
    cur.execute("CREATE TABLE target (id INT, score DOUBLE)")
    cur.executemany("INSERT INTO target VALUES (?, ?)", [(i, 0.0) for i in range(ROWS)])
    before = snapshot(con)
    with pytest.raises(sqlpredict.DataError):
        cur.execute("CREATE TABLE made AS SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = src AS d) "
                    "WITH (score REAL) AS p", [LINEAR])
    with pytest.raises(sqlpredict.ProgrammingError):
        cur.execute("SELECT * FROM made")
    with pytest.raises(sqlpredict.DataError):
        cur.execute("UPDATE target SET score = s.score FROM (SELECT d.id, p.score FROM PREDICT(MODEL = ?, "
                    "DATA = src AS d) WITH (score REAL) AS p) AS s WHERE target.id = s.id", [LINEAR])
    assert snapshot(con) == before
    assert cur.execute("SELECT COUNT(*) FROM target").fetchall() == [(ROWS,)]


def test_a_t_sql_create_of_a_taken_name_keeps_the_transactions_writes():
    """SQL Server's Msg 2714 before the CREATE runs: DuckDB's own refusal would abort the transaction."""
    con = sqlpredict.connect()
    con.execute("CREATE TABLE t (id INT)\nCREATE TABLE #h (id INT)\nCREATE SCHEMA sc\nCREATE TABLE sc.s (id INT)")
    con.commit()
    con.execute("INSERT INTO t VALUES (1)")
    for bad, name in (("CREATE TABLE t (x INT)", "t"), ("SELECT 2 AS id INTO t", "t"),
                      ("CREATE VIEW t AS SELECT 1 AS x", "t"), ("CREATE TABLE dbo.t (x INT)", "t"),
                      ("CREATE TABLE #h (x INT)", "#h"), ("SELECT 2 AS id INTO #h", "#h"),
                      ("CREATE TABLE sc.s (x INT)", "sc.s")):
        with pytest.raises(sqlpredict.ProgrammingError, match=f"There is already an object named '{name}'"):
            con.execute(bad)
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(1,)]
    con.close()


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
@pytest.mark.parametrize("bad, kept", [
    ("SELEC 1", True),  # a syntax error
    ("SELECT * FROM no_such_table", True),
    ("SELECT no_such_column FROM t", True),
    # writes that name an unknown table or column, or create a taken name, are refused before they run too
    ("INSERT INTO t VALUES (no_such_column)", True),
    ("INSERT INTO t (no_such_column) VALUES (1)", True),
    ("UPDATE t SET id = no_such_column", True),
    ("DELETE FROM t WHERE no_such_column = 1", True),
    ("INSERT INTO no_such_table VALUES (1)", True),
    ("MERGE INTO t USING (SELECT 1 AS id) AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET id = no_such_column", True),
    ("CREATE TABLE u AS SELECT no_such_column FROM t", True),
    ("DROP TABLE no_such_table", True),
    ("SELECT CAST('x' AS INT)", False),  # fails while it runs
    ("INSERT INTO t VALUES (CAST('x' AS INT))", False),
    ("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p", True),  # binds no input
])
def test_a_statement_refused_before_it_runs_keeps_the_transaction_and_one_failing_while_running_rolls_back(
        dialect, bad, kept):
    """What README's "A failed statement inside a transaction" says, case by case."""
    con = sqlpredict.connect(dialect=dialect)
    con.execute("CREATE TABLE t (id INT)")
    con.commit()
    con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlpredict.Error) as info:
        con.execute(bad, [LINEAR] if "PREDICT" in bad else [])
    assert ("rolled back" in str(info.value)) is not kept
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(1 if kept else 0,)]
    con.close()


# ------------------------------------------------------------------ transaction state after failures


def _rows(con, table: str = "t") -> list[tuple]:
    return con.cursor().execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def test_ctrl_c_during_a_statement_rolls_back_and_says_so_so_commit_cannot_lose_writes():
    """DuckDB answers Ctrl-C with RuntimeError('Query interrupted') and aborts its transaction; before,
    sqlpredict kept believing the transaction held its writes, and commit() then succeeded with none."""
    import os
    import signal
    import threading

    con = sqlpredict.connect(dialect="duckdb")
    con.execute("CREATE TABLE t (x INT)")
    con.execute("CREATE TABLE big (x BIGINT)")
    con.commit()
    con.execute("INSERT INTO t VALUES (1)")
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(sqlpredict.OperationalError, match="interrupted(.|\n)*rolled back"):
            con.execute("INSERT INTO big SELECT sum(a.range * b.range) FROM range(60000) a, range(60000) b")
    finally:
        timer.cancel()
    con.execute("INSERT INTO t VALUES (2)")
    con.commit()
    assert _rows(con) == [(2,)]  # the interrupted transaction's row is gone, and the error said so


@pytest.mark.parametrize("failing", ["SELECT * FROM no_such_table", "SELECT 1 / 0"])
def test_begin_transaction_survives_a_failed_statement_without_writes_in_autocommit_mode(failing):
    """A statement that fails before the transaction wrote anything leaves BEGIN TRANSACTION open, as
    in SQL Server: the later ROLLBACK undoes the later INSERT. Before, the transaction ended silently."""
    con = sqlpredict.connect(autocommit=True)
    con.execute("CREATE TABLE t (id INT)")
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(sqlpredict.Error):
        con.execute(failing)
    assert con.in_user_transaction
    con.execute("INSERT INTO t VALUES (1)")
    con.execute("ROLLBACK")
    assert _rows(con) == []


def test_nested_begin_transaction_counts_levels_as_sql_server_does():
    """An inner COMMIT ends only its level (@@TRANCOUNT); the outer ROLLBACK undoes both rows."""
    con = sqlpredict.connect(autocommit=True)
    con.execute("CREATE TABLE t (id INT)")
    con.execute("CREATE PROCEDURE p AS\nBEGIN TRANSACTION;\nINSERT INTO t VALUES (1);\nCOMMIT TRANSACTION;")
    con.execute("BEGIN TRANSACTION")
    con.execute("EXEC p")
    assert con.in_user_transaction
    con.execute("INSERT INTO t VALUES (2)")
    con.execute("ROLLBACK")
    assert _rows(con) == []
    con.execute("BEGIN TRANSACTION\nBEGIN TRANSACTION\nINSERT INTO t VALUES (3)\nCOMMIT\nCOMMIT")
    assert not con.in_user_transaction
    assert _rows(con) == [(3,)]


def test_create_and_drop_procedure_are_undone_by_rollback():
    con = sqlpredict.connect(autocommit=True)
    con.execute("CREATE PROCEDURE p AS SELECT 1 AS one")
    con.autocommit = False
    con.execute("DROP PROCEDURE p")
    con.execute("SELECT 2")  # a later statement used to commit the DROP (READ COMMITTED's fresh start)
    con.rollback()
    assert con.execute("EXEC p").fetchall() == [(1,)]
    con.execute("CREATE PROCEDURE q AS SELECT 2 AS two")
    con.execute("SELECT 3")
    con.rollback()
    with pytest.raises(sqlpredict.ProgrammingError, match="Could not find stored procedure 'q'"):
        con.execute("EXEC q")


def test_explain_analyze_of_an_insert_is_a_write_of_the_transaction():
    con = sqlpredict.connect(dialect="duckdb")
    con.execute("CREATE TABLE t (id INT)")
    con.commit()
    con.execute("EXPLAIN ANALYZE INSERT INTO t VALUES (1)")
    con.execute("SELECT count(*) FROM t")
    con.rollback()
    assert _rows(con) == []


def test_a_conflict_on_the_stored_views_table_is_a_pep_249_error_and_keeps_nothing_half_done(tmp_path):
    """Two connections change the table of stored views at once: the loser gets an OperationalError
    (not a raw DuckDB exception), and in autocommit mode its CREATE OR ALTER VIEW of an ordinary view
    leaves that view as it was (the DROP and the save are one transaction)."""
    path = str(tmp_path / "db.duckdb")
    setup = sqlpredict.connect(path, autocommit=True)
    setup.execute("CREATE TABLE src (f0 REAL, f1 REAL)")
    setup.execute("INSERT INTO src VALUES (1, 2)")
    setup.execute("CREATE TABLE models (id INT, data VARBINARY(MAX))")
    setup.execute("INSERT INTO models VALUES (1, ?)", [LINEAR])
    setup.execute("CREATE VIEW v AS SELECT f0 FROM src")
    setup.close()
    view = ("VIEW {} AS SELECT p.score FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), "
            "DATA = src AS d) WITH (score REAL) AS p")
    a = sqlpredict.connect(path, autocommit=True)
    b = sqlpredict.connect(path)
    b.execute("CREATE " + view.format("w"))  # uncommitted: creates the stored views' table
    with pytest.raises(sqlpredict.Error) as caught:
        a.execute("CREATE OR ALTER " + view.format("v"))
    assert isinstance(caught.value, (sqlpredict.OperationalError, sqlpredict.ProgrammingError))
    b.rollback()
    assert a.execute("SELECT f0 FROM v").fetchall() == [(1.0,)]


@pytest.mark.parametrize("autocommit", [True, False])
@pytest.mark.parametrize("statement, number", [("COMMIT", 3902), ("COMMIT TRANSACTION", 3902),
                                               ("ROLLBACK", 3903), ("ROLLBACK TRAN", 3903),
                                               ("ROLLBACK WORK", 3903)])
def test_commit_or_rollback_with_no_transaction_is_sql_servers_error(autocommit, statement, number):
    """@@TRANCOUNT 0: SQL Server's Msg 3902 or 3903, where the statement used to do nothing. The connection
    goes on, with its rows as they were."""
    con = sqlpredict.connect(autocommit=autocommit)
    con.execute("CREATE TABLE t (id INT)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    with pytest.raises(sqlpredict.ProgrammingError, match=f"no corresponding BEGIN TRANSACTION.*Msg {number}"):
        con.execute(statement)
    con.execute("INSERT INTO t VALUES (2)")
    con.commit()
    assert _rows(con) == [(1,), (2,)]


def test_commit_under_autocommit_off_counts_the_implicit_transaction_as_pyodbc_sees_it():
    """pyodbc's autocommit=False is SQL Server's IMPLICIT_TRANSACTIONS ON: the first statement opens a
    transaction (@@TRANCOUNT 1) that a T-SQL COMMIT ends, and a BEGIN TRANSACTION then counts 2, so its
    COMMIT leaves the implicit one open for connection.commit() or rollback()."""
    con = sqlpredict.connect()
    con.execute("CREATE TABLE t (id INT)")
    con.execute("COMMIT")
    con.execute("BEGIN TRANSACTION\nINSERT INTO t VALUES (1)\nCOMMIT")
    assert not con.in_user_transaction
    con.rollback()
    assert _rows(con) == []
    con.execute("INSERT INTO t VALUES (2)")
    con.execute("COMMIT TRANSACTION")
    con.rollback()
    assert _rows(con) == [(2,)]
    con.commit()
    with pytest.raises(sqlpredict.ProgrammingError, match="Msg 3902"):
        con.execute("COMMIT")


@pytest.mark.parametrize("autocommit", [True, False])
def test_rollback_of_a_name_not_the_outermost_transaction_is_msg_6401(autocommit):
    """ROLLBACK TRANSACTION name must name the outermost BEGIN TRANSACTION (case-sensitive); another name is
    Msg 6401 and the transaction stays open. Under autocommit off the outermost is the implicit, unnamed one."""
    con = sqlpredict.connect(autocommit=autocommit)
    con.execute("CREATE TABLE t (id INT)")
    con.commit()
    con.execute("BEGIN TRANSACTION outer_t")
    con.execute("BEGIN TRANSACTION inner_t\nINSERT INTO t VALUES (1)")
    for name in ("inner_t", "OUTER_T"):
        with pytest.raises(sqlpredict.ProgrammingError, match=f"Cannot roll back {name}.*Msg 6401"):
            con.execute(f"ROLLBACK TRANSACTION {name}")
        assert con.in_user_transaction and _rows(con) == [(1,)]
    if autocommit:
        con.execute("ROLLBACK TRANSACTION outer_t")
    else:
        with pytest.raises(sqlpredict.ProgrammingError, match="unnamed one that autocommit off opened"):
            con.execute("ROLLBACK TRANSACTION outer_t")
        con.execute("ROLLBACK")
    assert not con.in_user_transaction and _rows(con) == []


def test_duckdb_dialect_commit_without_a_transaction_stays_as_it_was():
    con = sqlpredict.connect(dialect="duckdb", autocommit=True)
    con.execute("COMMIT")
    con.execute("ROLLBACK")
