"""Plans kept and reused (plans.py): the same PREDICT text run again gives what planning it afresh gives.

Each test runs one statement text several times, changes what its plan was
made from in between (the model, DATA's columns, a temporary table of
DATA's name, uncommitted rows, a stored view), and checks every run against
onnxruntime run directly on the rows, and that the plan was reused only
where it still held (`connection.plans.reused`).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sqlpredict
from onnx_models import linear, run_direct

SCORE = "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p ORDER BY d.id"
MODEL_A = linear(("f0", "f1"), (2.0, -3.0), 0.5)
MODEL_B = linear(("f1", "f0"), (0.25, 4.0), -1.0)


def expected(con, model: bytes, table: str = "t", where: str = "") -> list[tuple[int, float]]:
    """onnxruntime on the table's rows, read with plain SQL."""
    rows = con.execute(f"SELECT id, f0, f1 FROM {table} {where} ORDER BY id").fetchall()
    if not rows:
        return []
    values = np.array([r[1:] for r in rows], dtype=np.float32)
    feeds = {"f0": values[:, :1], "f1": values[:, 1:]}
    (score,) = run_direct(model, feeds)
    return [(r[0], float(s)) for r, s in zip(rows, score.reshape(-1))]


def assert_scores(got, want) -> None:
    assert [r[0] for r in got] == [r[0] for r in want]
    np.testing.assert_allclose([r[1] for r in got], [r[1] for r in want], rtol=1e-6)


@pytest.fixture()
def con(tmp_path):
    c = sqlpredict.connect(str(tmp_path / "plans.duckdb"), dialect="duckdb", autocommit=True)
    c.execute("CREATE TABLE t AS SELECT i AS id, i / 10.0 AS f0, 1 - i / 7.0 AS f1 FROM range(20) r(i)")
    c.execute("ALTER TABLE t ALTER f0 TYPE FLOAT")
    c.execute("ALTER TABLE t ALTER f1 TYPE FLOAT")
    yield c
    c.close()


def test_a_statement_run_again_reuses_its_plan_with_the_new_values(con):
    sql = "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p WHERE d.id >= ? " \
          "ORDER BY d.id"
    for low in (0, 5, 19, 25, 3):
        assert_scores(con.execute(sql, [MODEL_A, low]).fetchall(), expected(con, MODEL_A, where=f"WHERE id >= {low}"))
    assert con.plans.reused == 4


def test_another_model_is_bound_again(con):
    assert_scores(con.execute(SCORE, [MODEL_A]).fetchall(), expected(con, MODEL_A))
    assert_scores(con.execute(SCORE, [MODEL_B]).fetchall(), expected(con, MODEL_B))
    assert con.plans.reused == 0
    assert_scores(con.execute(SCORE, [MODEL_B]).fetchall(), expected(con, MODEL_B))
    assert con.plans.reused == 1
    with pytest.raises(sqlpredict.ProgrammingError, match="g0"):  # binding, as a fresh plan says it
        con.execute(SCORE, [linear(("g0", "f1"))])
    with pytest.raises(sqlpredict.DataError, match="MODEL is NULL"):
        con.execute(SCORE, [None])
    assert_scores(con.execute(SCORE, [MODEL_A]).fetchall(), expected(con, MODEL_A))


def test_data_columns_changed_by_another_connection_are_bound_again(con, tmp_path):
    star = "SELECT d.*, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p ORDER BY d.id"
    con.execute(star, [MODEL_A]).fetchall()
    other = sqlpredict.connect(str(tmp_path / "plans.duckdb"), dialect="duckdb", autocommit=True)
    other.execute("ALTER TABLE t ADD COLUMN score VARCHAR DEFAULT 'kept'")  # d.* now has a column named score
    cur = con.execute(star, [MODEL_A])
    rows = cur.fetchall()
    assert [c[0] for c in cur.description] == ["id", "f0", "f1", "score", "score"]
    assert {r[3] for r in rows} == {"kept"}
    assert_scores([(r[0], r[4]) for r in rows], expected(con, MODEL_A))
    other.execute("ALTER TABLE t ALTER f1 TYPE DOUBLE")  # a type the model's float input takes only by CAST
    with pytest.raises(sqlpredict.ProgrammingError, match="f1"):
        con.execute(star, [MODEL_A])
    other.close()
    assert con.plans.reused == 0


def test_a_temporary_table_of_datas_name_is_read_once_it_exists(con):
    assert_scores(con.execute(SCORE, [MODEL_A]).fetchall(), expected(con, MODEL_A))
    con.execute("CREATE TEMP TABLE t AS SELECT id + 100 AS id, f0 * 2 AS f0, f1 FROM main.t WHERE id < 5")
    got = con.execute(SCORE, [MODEL_A]).fetchall()
    assert [r[0] for r in got] == [100, 101, 102, 103, 104]
    assert_scores(got, expected(con, MODEL_A, table="temp.t"))
    con.execute("DROP TABLE temp.t")
    assert_scores(con.execute(SCORE, [MODEL_A]).fetchall(), expected(con, MODEL_A, table="main.t"))
    assert con.plans.reused == 2  # the temporary table has DATA's columns: the plan held, read elsewhere


def test_uncommitted_rows_are_scored_by_a_plan_made_before_them(tmp_path):
    con = sqlpredict.connect(str(tmp_path / "tx.duckdb"), dialect="duckdb")
    con.execute("CREATE TABLE t (id INTEGER, f0 FLOAT, f1 FLOAT)")
    con.execute("INSERT INTO t VALUES (1, 0.5, 0.25)")
    con.commit()
    assert_scores(con.execute(SCORE, [MODEL_A]).fetchall(), expected(con, MODEL_A))
    con.execute("INSERT INTO t VALUES (2, 1.5, -2.0)")  # not committed: DATA must be read on this connection
    got = con.execute(SCORE, [MODEL_A]).fetchall()
    assert [r[0] for r in got] == [1, 2]
    assert_scores(got, expected(con, MODEL_A))
    con.rollback()
    assert [r[0] for r in con.execute(SCORE, [MODEL_A]).fetchall()] == [1]
    assert con.plans.reused == 2
    con.close()


def test_a_table_replaced_by_a_stored_view_of_its_name_is_read_as_the_view(con):
    sql = "SELECT d.id, p.score, s.f1 AS other FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p " \
          "JOIN src AS s ON s.id = d.id ORDER BY d.id"
    con.execute("CREATE TABLE models (id INTEGER, data BLOB)")
    inner_model = linear(("f0", "f1"), (1.0, 1.0), 0.0)
    con.execute("INSERT INTO models VALUES (1, ?)", [inner_model])
    con.execute("CREATE TABLE src AS SELECT id, f0, f1 FROM t")
    got = con.execute(sql, [MODEL_A]).fetchall()
    assert_scores(got, expected(con, MODEL_A))
    assert [r[2] for r in got] == [r[0] for r in con.execute("SELECT f1 FROM t ORDER BY id").fetchall()]
    con.execute("DROP TABLE src")
    # A view sqlpredict stores (it holds PREDICT): its f1 is another model's score of each row of t
    con.execute("CREATE VIEW src AS SELECT d.id, d.f0, p.score AS f1 FROM PREDICT(MODEL = (SELECT data FROM models "
                "WHERE id = 1), DATA = t AS d) WITH (score FLOAT) AS p")
    got = con.execute(sql, [MODEL_A]).fetchall()
    assert_scores(got, expected(con, MODEL_A))
    inner = expected(con, inner_model)
    np.testing.assert_allclose([r[2] for r in got], [r[1] for r in inner], rtol=1e-6)
    assert con.plans.reused == 0


def test_create_table_as_run_again_writes_each_time(con):
    sql = "CREATE OR REPLACE TABLE scored AS SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) " \
          "WITH (score FLOAT) AS p"
    for model in (MODEL_A, MODEL_A, MODEL_B, MODEL_B):
        con.execute(sql, [model])
        assert_scores(con.execute("SELECT id, score FROM scored ORDER BY id").fetchall(), expected(con, model))
    assert con.plans.reused == 2


@pytest.mark.parametrize("dialect, table", [("duckdb", "t"), ("tsql", "dbo.t")])
def test_select_into_run_again_in_a_transaction_with_writes_is_refused_and_keeps_them(tmp_path, dialect, table):
    """The second run's target is taken: refused before it runs, as SQL Server refuses it (Msg 2714), so the
    transaction keeps the first run's table rather than being rolled back by DuckDB's failure."""
    con = sqlpredict.connect(str(tmp_path / "into.duckdb"), dialect=dialect)
    con.execute(f"CREATE TABLE {table} (id INTEGER, f0 REAL, f1 REAL)")
    con.execute(f"INSERT INTO {table} VALUES (1, 0.5, 0.25), (2, 1.5, -2.0)")
    con.commit()
    runtime = ", RUNTIME = ONNX" if dialect == "tsql" else ""
    sql = f"SELECT d.id, p.score INTO s FROM PREDICT(MODEL = ?, DATA = {table} AS d{runtime}) WITH (score FLOAT) AS p"
    con.execute(sql, [MODEL_A])
    with pytest.raises(sqlpredict.ProgrammingError, match="already an object named 's'"):
        con.execute(sql, [MODEL_A])
    assert_scores(con.execute("SELECT id, score FROM s ORDER BY id").fetchall(), expected(con, MODEL_A, table=table))
    con.commit()
    con.close()


def test_stored_views_changed_by_another_connection_are_seen_after_any_statement(tmp_path):
    """A COMMIT, or a statement that fails while it is planned, used to leave the connection's copy of the
    stored views in place: a view stored since by another connection was not seen."""
    path = str(tmp_path / "views.duckdb")
    con = sqlpredict.connect(path, dialect="duckdb", autocommit=True)
    con.execute("CREATE TABLE t AS SELECT i AS id, (i / 10)::FLOAT AS f0, (1 - i / 7)::FLOAT AS f1 FROM range(4) r(i)")
    con.execute("CREATE TABLE src AS SELECT id, f0 FROM t")
    con.execute("CREATE TABLE models (id INTEGER, data BLOB)")
    con.execute("INSERT INTO models VALUES (1, ?)", [MODEL_B])
    sql = ("SELECT d.id, p.score, s.f0 AS other FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
           "JOIN src AS s ON s.id = d.id ORDER BY d.id")
    con.execute(sql, [MODEL_A]).fetchall()
    con.execute("COMMIT")
    with pytest.raises(sqlpredict.ProgrammingError):
        con.execute("SELECT * FROM PREDICT(MODEL = ?, DATA = nope AS d) WITH (score FLOAT) AS p", [MODEL_A])
    other = sqlpredict.connect(path, dialect="duckdb", autocommit=True)
    other.execute("DROP TABLE src")
    other.execute("CREATE VIEW src AS SELECT d.id, p.score AS f0 FROM PREDICT(MODEL = (SELECT data FROM models "
                  "WHERE id = 1), DATA = t AS d) WITH (score FLOAT) AS p")
    other.close()
    got = con.execute(sql, [MODEL_A]).fetchall()
    assert_scores(got, expected(con, MODEL_A))
    np.testing.assert_allclose([r[2] for r in got], [r[1] for r in expected(con, MODEL_B)], rtol=1e-6)
    con.close()


# One step between two runs of the same statement: what it changes, and the DuckDB statement that does it.
_STEPS = {
    "nothing": [],
    "f0 DOUBLE": ["ALTER TABLE t ALTER f0 TYPE DOUBLE"],
    "f0 FLOAT": ["ALTER TABLE t ALTER f0 TYPE FLOAT"],
    "add column": ["ALTER TABLE t ADD COLUMN IF NOT EXISTS extra INTEGER DEFAULT 7"],
    "drop column": ["ALTER TABLE t DROP COLUMN IF EXISTS extra"],
    "more rows": ["INSERT INTO t SELECT max(id) + 1, 0.125, -0.5 FROM t"],
    "temp table": ["CREATE OR REPLACE TEMP TABLE t AS SELECT id, f0, f1 FROM main.t WHERE id % 2 = 0"],
    "no temp table": ["DROP TABLE IF EXISTS temp.t"],
}


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(sorted(_STEPS)), st.booleans()), min_size=1, max_size=6))
def test_any_change_between_runs_gives_what_a_fresh_plan_gives(steps):
    """Property: after any of these changes, the kept plan's result is onnxruntime's on the rows, as a
    connection that plans the text afresh (a new one each run) finds them."""
    con = sqlpredict.connect(":memory:", dialect="duckdb", autocommit=True)
    con.execute("CREATE TABLE t AS SELECT i AS id, (i / 4)::FLOAT AS f0, (2 - i / 3)::FLOAT AS f1 FROM range(9) r(i)")
    sql = "SELECT d.*, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score DOUBLE) AS p ORDER BY d.id"
    con.execute(sql, [MODEL_A]).fetchall()
    for step, second_model in steps:
        for statement in _STEPS[step]:
            con.execute(statement)
        model = MODEL_B if second_model else MODEL_A
        try:
            cur = con.execute(sql, [model])
        except sqlpredict.ProgrammingError as exc:
            assert "f0" in str(exc)  # a DOUBLE column for a float input is refused: the fix is a CAST
            assert con.execute("SELECT typeof(f0) FROM t LIMIT 1").fetchone()[0] == "DOUBLE"
            continue
        rows = cur.fetchall()
        names = [c[0] for c in cur.description]
        table_columns = [c[0] for c in con.execute("SELECT * FROM t LIMIT 0").description]
        assert names == table_columns + ["score"]
        assert_scores([(r[0], r[-1]) for r in rows], expected(con, model))
    con.close()


# ---------------------------------------------------------------- T-SQL


@pytest.fixture()
def tsql(tmp_path):
    c = sqlpredict.connect(str(tmp_path / "tsql.duckdb"), autocommit=True)
    c.execute("CREATE TABLE dbo.t (id INT, f0 REAL, f1 REAL)")
    c.execute("INSERT INTO dbo.t SELECT i, i / 10.0, 1 - i / 7.0 FROM range(20) r(i)")
    yield c
    c.close()


def test_a_tsql_statement_run_again_reuses_its_plan(tsql):
    sql = ("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = dbo.t AS d, RUNTIME = ONNX) WITH (score FLOAT) AS p "
           "WHERE d.id >= ? ORDER BY d.id")
    for low in (0, 7, 30, 2):
        got = tsql.execute(sql, MODEL_A, low).fetchall()
        assert_scores(got, expected(tsql, MODEL_A, where=f"WHERE id >= {low}"))
    assert tsql.plans.reused == 3
    script = "DECLARE @m varbinary(max) = ?;\n" + sql.replace("MODEL = ?", "MODEL = @m")
    for _ in range(2):  # variables are bound by value each run: the script is planned each time
        assert_scores(tsql.execute(script, MODEL_A, 5).fetchall(), expected(tsql, MODEL_A, where="WHERE id >= 5"))
    assert tsql.plans.reused == 3


def test_tsql_integer_arithmetic_is_planned_with_the_table_types_of_each_run(tsql):
    """AVG of an INT column is an INT in T-SQL: that rewrite reads the joined table's types, which
    can change while DATA's columns do not, so such a statement is planned every time."""
    tsql.execute("CREATE TABLE dbo.other (id INT, n INT)")
    tsql.execute("INSERT INTO dbo.other VALUES (0, 1), (1, 2)")
    sql = ("SELECT AVG(o.n) AS avg_n, SUM(p.score) AS total FROM PREDICT(MODEL = ?, DATA = dbo.t AS d, "
           "RUNTIME = ONNX) WITH (score FLOAT) AS p JOIN dbo.other AS o ON o.id = d.id")
    want = sum(score for _, score in expected(tsql, MODEL_A, where="WHERE id < 2"))
    avg, total = tsql.execute(sql, MODEL_A).fetchone()
    assert avg == 1 and total == pytest.approx(want, rel=1e-6)
    tsql.execute("ALTER TABLE dbo.other ALTER COLUMN n FLOAT")
    avg, total = tsql.execute(sql, MODEL_A).fetchone()
    assert avg == 1.5 and total == pytest.approx(want, rel=1e-6)
    assert tsql.plans.reused == 0


def test_tsql_insert_without_a_column_list_reads_the_tables_columns_each_run(tsql):
    tsql.execute("CREATE TABLE dbo.scored (n INT IDENTITY(1,1), id INT, score FLOAT)")
    sql = ("INSERT INTO dbo.scored SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = dbo.t AS d, RUNTIME = ONNX) "
           "WITH (score FLOAT) AS p WHERE d.id < 3")
    tsql.execute(sql, MODEL_A)
    tsql.execute(sql, MODEL_A)
    rows = tsql.execute("SELECT n, id, score FROM dbo.scored ORDER BY n").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(1, 0), (2, 1), (3, 2), (4, 0), (5, 1), (6, 2)]
    assert_scores([(r[1], r[2]) for r in rows[:3]], expected(tsql, MODEL_A, where="WHERE id < 3"))
    tsql.execute("ALTER TABLE dbo.scored ADD note VARCHAR(10)")
    with pytest.raises(sqlpredict.ProgrammingError, match="3 columns but 2 values"):  # as SQL Server's Msg 213
        tsql.execute(sql, MODEL_A)
    assert tsql.execute("SELECT count(*) FROM dbo.scored").fetchone()[0] == 6
    assert tsql.plans.reused == 0
