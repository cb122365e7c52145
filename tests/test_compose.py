"""PREDICT composes like any table source (spec sections 1 and 7)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sqlpredict
from sqlpredict import engine_calls
from onnx_models import linear, run_direct

MODEL = linear()
ROWS = 3000


def expected_scores(f0, f1) -> np.ndarray:
    f0 = np.asarray(f0, dtype=np.float32).reshape(-1, 1)
    f1 = np.asarray(f1, dtype=np.float32).reshape(-1, 1)
    return run_direct(MODEL, {"f0": f0, "f1": f1})[0].ravel()


@pytest.fixture
def con():
    con = sqlpredict.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE dbo.t (id INT, region VARCHAR(10), f0 REAL, f1 REAL)")
    cur.execute(
        "INSERT INTO t SELECT i, CASE WHEN i % 3 = 0 THEN 'north' ELSE 'south' END, "
        "CAST(i AS REAL) / 7, CAST(i AS REAL) / 11 FROM range(?) r(i)", [ROWS]
    )
    cur.execute("CREATE TABLE models (id INT, data VARBINARY(MAX), description VARCHAR(1000))")
    cur.execute("INSERT INTO models VALUES (1, ?, 'linear')", [MODEL])
    yield con
    con.close()


def table_values(con, where: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = con.cursor().execute(f"SELECT id, f0, f1 FROM t {where} ORDER BY id").fetchall()
    ids, f0, f1 = (np.array(c) for c in zip(*rows))
    return ids, f0, f1


def check(rows, con, where: str = "") -> None:
    """rows: (id, score) pairs; compared with onnxruntime on the same table rows."""
    ids, f0, f1 = table_values(con, where)
    got = dict(rows)
    assert sorted(got) == sorted(ids.tolist())
    want = expected_scores(f0, f1)
    got_scores = np.array([got[i] for i in ids], dtype=np.float64)
    assert np.array_equal(got_scores, want.astype(np.float64))


QUERY = "SELECT d.id, p.score FROM PREDICT(MODEL = {model}, DATA = {data}, RUNTIME = ONNX) WITH (score FLOAT) AS p"


@pytest.mark.parametrize("model", ["?", "(SELECT data FROM models WHERE id = 1)", "HEX"])
def test_every_model_form(con, model):
    params = [MODEL] if model == "?" else []
    if model == "HEX":
        model = "0x" + MODEL.hex().upper()
    rows = con.cursor().execute(QUERY.format(model=model, data="dbo.t AS d"), params).fetchall()
    check(rows, con)


@pytest.mark.parametrize("data", [
    "t AS d", "dbo.t AS d", "[dbo].[t] AS d", "t d", "v AS d", "(SELECT id, f0, f1 FROM t) AS d", "c AS d",
])
def test_every_data_form(con, data):
    cur = con.cursor()
    cur.execute("CREATE VIEW v AS SELECT * FROM t")
    query = QUERY.format(model="?", data=data)
    if data.startswith("c "):
        query = "WITH c AS (SELECT id, f0, f1 FROM t) " + query
    check(cur.execute(query, [MODEL]).fetchall(), con)


def test_data_without_alias_is_qualified_by_its_name(con):
    rows = con.cursor().execute(
        "SELECT t.id, p.score FROM PREDICT(MODEL = ?, DATA = dbo.t) WITH (score FLOAT) AS p", [MODEL]
    ).fetchall()
    check(rows, con)


def test_temp_table_and_uncommitted_rows_are_visible():
    con = sqlpredict.connect()  # autocommit off: everything below is one open transaction
    cur = con.cursor()
    cur.execute("CREATE TEMP TABLE tt (id INT, f0 REAL, f1 REAL)")
    cur.execute("INSERT INTO tt VALUES (1, 1.5, 2.5), (2, -1, 0.25)")
    rows = cur.execute(
        "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = tt AS d) WITH (score FLOAT) AS p ORDER BY d.id", [MODEL]
    ).fetchall()
    assert [r[1] for r in rows] == expected_scores([1.5, -1], [2.5, 0.25]).astype(np.float64).tolist()
    cur.execute("CREATE TABLE u (id INT, f0 REAL, f1 REAL)")
    cur.execute("INSERT INTO u VALUES (7, 3, 4)")  # not committed
    rows = cur.execute("SELECT p.score FROM PREDICT(MODEL = ?, DATA = u AS d) WITH (score FLOAT) AS p", [MODEL])
    assert rows.fetchall() == [(float(expected_scores([3], [4])[0]),)]
    con.rollback()
    con.close()


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_a_temp_table_that_comes_and_goes_is_always_the_one_read(dialect):
    """Whether DATA names a temp table is remembered between statements: every statement that can
    create or drop one (and every ROLLBACK) must forget it, or PREDICT would read the wrong table."""
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    cur = con.cursor()
    query = "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = s AS d) WITH (score FLOAT) AS p ORDER BY d.id"
    main_rows = [(1, 1.5, 2.5), (2, -1.0, 0.25)]
    temp_rows = [(3, 4.0, -2.0)]

    def scored(rows):
        return [(r[0], float(v)) for r, v in zip(rows, expected_scores([r[1] for r in rows], [r[2] for r in rows]))]

    cur.execute("CREATE TABLE s (id INT, f0 REAL, f1 REAL)")
    cur.executemany("INSERT INTO s VALUES (?, ?, ?)", main_rows)
    assert cur.execute(query, [MODEL]).fetchall() == scored(main_rows)
    cur.execute("CREATE TEMP TABLE s (id INT, f0 REAL, f1 REAL)")
    cur.executemany("INSERT INTO s VALUES (?, ?, ?)", temp_rows)
    assert cur.execute(query, [MODEL]).fetchall() == scored(temp_rows)
    # DuckDB resolves main.s to the temp table too, as a plain SELECT shows; PREDICT must agree.
    assert cur.execute("SELECT id, f0, f1 FROM main.s").fetchall() == temp_rows
    assert cur.execute(query.replace("DATA = s", "DATA = main.s"), [MODEL]).fetchall() == scored(temp_rows)
    cur.execute("DROP TABLE temp.s")
    assert cur.execute(query, [MODEL]).fetchall() == scored(main_rows)
    cur.execute("CREATE TABLE kept AS SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = s AS d) "
                "WITH (score FLOAT) AS p", [MODEL])
    assert sorted(cur.execute("SELECT id, score FROM kept").fetchall()) == scored(main_rows)
    assert cur.execute(query, [MODEL]).fetchall() == scored(main_rows)
    cur.execute("BEGIN TRANSACTION")
    cur.execute("CREATE TEMP TABLE s AS SELECT 2 AS id, CAST(-1 AS REAL) AS f0, CAST(0.25 AS REAL) AS f1")
    assert cur.execute(query, [MODEL]).fetchall() == scored(main_rows[1:])
    cur.execute("ROLLBACK")
    assert cur.execute(query, [MODEL]).fetchall() == scored(main_rows)
    cur.execute("CREATE TEMP VIEW s AS SELECT 1 AS id, CAST(1.5 AS REAL) AS f0, CAST(2.5 AS REAL) AS f1")
    assert cur.execute(query, [MODEL]).fetchall() == scored(main_rows[:1])
    con.close()


def test_select_star_is_data_then_outputs(con):
    cur = con.cursor().execute("SELECT TOP (2) * FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
                               "ORDER BY d.id", [MODEL])
    assert [c[0] for c in cur.description] == ["id", "region", "f0", "f1", "score"]
    cur = con.cursor().execute("SELECT p.* FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p", [MODEL])
    assert [c[0] for c in cur.description] == ["score"]
    cur = con.cursor().execute("SELECT d.* FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p", [MODEL])
    assert [c[0] for c in cur.description] == ["id", "region", "f0", "f1"]


def test_output_named_like_a_data_column(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE s AS SELECT id, f0, f1, CAST(-1 AS DOUBLE) AS score FROM t")
    cur.execute("SELECT d.id, d.score, p.score FROM PREDICT(MODEL = ?, DATA = s AS d) WITH (score FLOAT) AS p",
                [MODEL])
    rows = cur.fetchall()
    assert all(r[1] == -1 for r in rows)
    check([(r[0], r[2]) for r in rows], con)
    cur.execute("SELECT * FROM PREDICT(MODEL = ?, DATA = s AS d) WITH (score FLOAT) AS p", [MODEL])
    assert [c[0] for c in cur.description] == ["id", "f0", "f1", "score", "score"]


def test_cte_join_group_order_top(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE regions (name VARCHAR(10), manager VARCHAR(20))")
    cur.execute("INSERT INTO regions VALUES ('north', 'Ana'), ('south', 'Bo')")
    cur.execute(
        """WITH scored AS (
               SELECT d.id, d.region, p.score
               FROM PREDICT(MODEL = ?, DATA = dbo.t AS d, RUNTIME = ONNX) WITH (score FLOAT) AS p)
           SELECT TOP 5 r.manager, COUNT(*) AS n, SUM(s.score) AS total
           FROM scored AS s JOIN regions AS r ON r.name = s.region
           GROUP BY r.manager ORDER BY r.manager""",
        [MODEL],
    )
    got = {m: (n, total) for m, n, total in cur.fetchall()}
    ids, f0, f1 = table_values(con)
    scores = expected_scores(f0, f1).astype(np.float64)
    north = ids % 3 == 0
    assert got["Ana"][0] == north.sum() and got["Bo"][0] == (~north).sum()
    assert got["Ana"][1] == pytest.approx(scores[north].sum(), rel=1e-12)
    assert got["Bo"][1] == pytest.approx(scores[~north].sum(), rel=1e-12)


def test_predict_joined_to_another_table(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE labels (id INT, label VARCHAR(10))")
    cur.execute("INSERT INTO labels SELECT i, 'L' || CAST(i AS VARCHAR) FROM range(10) r(i)")
    cur.execute("SELECT l.label, d.id, p.score FROM labels AS l "
                "JOIN PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p ON p.score IS NOT NULL AND d.id = l.id "
                "ORDER BY d.id", [MODEL])
    rows = cur.fetchall()
    assert [r[0] for r in rows] == [f"L{i}" for i in range(10)]
    check([(r[1], r[2]) for r in rows], con, "WHERE id < 10")


def test_a_subquery_with_its_own_alias_d_reads_its_own_table(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE picks (id INT, keep BIT)")
    cur.execute("INSERT INTO picks VALUES (3, 1), (5, 0), (8, 1)")
    rows = cur.execute("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
                       "WHERE d.id IN (SELECT d.id FROM picks AS d WHERE d.keep = 1)", [MODEL]).fetchall()
    check(rows, con, "WHERE id IN (3, 8)")


SECOND = linear(("f0", "f1"), weights=(0.5, 1.0), bias=-1.0)
FIRST_AS_F0 = ("SELECT d.id, p.score AS f0, d.f1 "
               "FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = t AS d) WITH (score REAL) AS p")


@pytest.mark.parametrize("query", [
    f"WITH s AS ({FIRST_AS_F0}) SELECT s.id, p2.score FROM PREDICT(MODEL = ?, DATA = s) WITH (score REAL) AS p2",
    f"SELECT s.id, p2.score FROM PREDICT(MODEL = ?, DATA = ({FIRST_AS_F0}) AS s) WITH (score REAL) AS p2",
    "SELECT s.id, p2.score FROM PREDICT(MODEL = ?, DATA = v_first AS s) WITH (score REAL) AS p2",
    (f"WITH s AS ({FIRST_AS_F0}) SELECT s.id, p2.score FROM PREDICT(MODEL = ?, DATA = s) WITH (score REAL) AS p2 "
     "JOIN s AS again ON again.id = s.id AND again.f0 = s.f0"),
    (f"WITH s AS ({FIRST_AS_F0}) SELECT * FROM (SELECT * FROM (SELECT s.id, p2.score "
     "FROM PREDICT(MODEL = ?, DATA = s) WITH (score REAL) AS p2) AS a) AS b"),
])
@pytest.mark.parametrize("registry", ["source handles", "views"])
def test_predict_over_predict_equals_the_two_models_in_turn(con, query, registry, monkeypatch):
    """A CTE, derived table or view with PREDICT in it is the DATA of another PREDICT.

    The statement reads its streams through DuckDB's source registry; a DuckDB
    without one gets them as views (engine_calls.register_source), with the same rows.
    """
    if registry == "views":
        monkeypatch.setattr(engine_calls, "register_source", lambda con, obj: None)
    con.cursor().execute(f"CREATE VIEW v_first AS {FIRST_AS_F0}")
    rows = dict(con.cursor().execute(query, [SECOND]).fetchall())
    ids, f0, f1 = table_values(con)
    first = expected_scores(f0, f1).reshape(-1, 1)
    want = run_direct(SECOND, {"f0": first, "f1": np.asarray(f1, np.float32).reshape(-1, 1)})[0].ravel()
    assert sorted(rows) == ids.tolist()
    assert np.array_equal(np.array([rows[i] for i in ids], np.float32), want)


def test_a_duckdb_without_the_undocumented_calls_gets_the_public_way():
    """engine_calls answers None, and its callers register views and bind, for a DuckDB whose
    connection lacks the calls (here an object with neither)."""
    assert engine_calls.register_source(object(), pa.table({"x": [1]})) is None
    assert engine_calls.name_exists(object(), "main", "t") is None
    duck = duckdb.connect()  # the installed DuckDB has both, and they answer as a statement would
    assert engine_calls.name_exists(duck, "main", "t") is False
    duck.execute("CREATE TABLE t (x INT)")
    assert engine_calls.name_exists(duck, "main", "t") is True
    handle = engine_calls.register_source(duck, pa.table({"x": [1, 2]}))
    assert duck.execute(f'SELECT sum(x) FROM "{handle.name}"').fetchall() == [(3,)]
    assert engine_calls.bind_only(object(), "INSERT INTO t VALUES (1)", None) is None
    duck.execute("BEGIN")
    duck.execute("INSERT INTO t VALUES (?)", [5])
    assert engine_calls.bind_only(duck, "INSERT INTO t VALUES (?)", [6]) is True  # bound, not run
    with pytest.raises(duckdb.BinderException):
        engine_calls.bind_only(duck, "INSERT INTO t VALUES (nope)", None)
    assert duck.execute("SELECT x FROM t").fetchall() == [(5,)]  # the transaction goes on, its write kept


class _PublicOnly:
    """A connection with only DuckDB's documented relation API (no _bind, no _submit)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def sql(self, *args, **kwargs):
        return self._con.sql(*args, **kwargs)


@pytest.mark.parametrize("query, params", [
    ("SELECT id, f0 FROM t WHERE id > ? ORDER BY id", [2]),
    ("SELECT * FROM t ORDER BY id", None),
    ("PIVOT (SELECT id % 2 AS k, f0 FROM t) ON k USING sum(f0)", None),  # columns known once it runs
])
def test_data_described_and_read_without_a_relation_as_the_relation_would(query, params):
    """engine_calls.columns and arrow_reader skip the relation DuckDB's client builds (a second bind);
    they give its names, types and rows, and take the public way where the calls are missing."""
    duck = duckdb.connect()
    duck.execute("CREATE TABLE t AS SELECT range AS id, CAST(range / 10 AS FLOAT) AS f0 FROM range(7)")
    relation = duck.sql(query, params=params)
    want_columns = list(zip(relation.columns, map(str, relation.types)))
    want_rows = relation.to_arrow_table()
    for con in (duck, _PublicOnly(duck)):
        assert engine_calls.columns(con, query, params) == want_columns
        got = engine_calls.arrow_reader(con, query, params, 3).read_all()
        assert got.equals(want_rows)


def test_a_write_refused_in_a_transaction_loses_its_writes_where_duckdb_cannot_bind_first(monkeypatch):
    """Without the bind call, the public way (run it) stands: DuckDB aborts, and the rollback is said."""
    monkeypatch.setattr(engine_calls, "bind_only", lambda con, sql, params: None)
    con = sqlpredict.connect()
    con.execute("CREATE TABLE w (id INT)")
    con.commit()
    con.execute("INSERT INTO w VALUES (1)")
    with pytest.raises(sqlpredict.ProgrammingError, match="rolled back"):
        con.execute("INSERT INTO w VALUES (nope)")
    assert con.execute("SELECT count(*) FROM w").fetchall() == [(0,)]
    con.close()


def test_a_cte_with_predict_that_data_does_not_read_stays_out_of_data(con):
    rows = con.cursor().execute(
        f"WITH s AS ({FIRST_AS_F0}), u AS (SELECT id, f0, f1 FROM t) "
        "SELECT d.id, p.score, x.f0 FROM PREDICT(MODEL = ?, DATA = u AS d) WITH (score REAL) AS p "
        "JOIN s AS x ON x.id = d.id ORDER BY d.id", [SECOND]).fetchall()
    ids, f0, f1 = table_values(con)
    feeds = {"f0": np.asarray(f0, np.float32).reshape(-1, 1), "f1": np.asarray(f1, np.float32).reshape(-1, 1)}
    assert [r[0] for r in rows] == ids.tolist()
    assert np.array_equal(np.array([r[1] for r in rows], np.float32), run_direct(SECOND, feeds)[0].ravel())
    assert np.array_equal(np.array([r[2] for r in rows], np.float32), expected_scores(f0, f1))


def test_insert_select_from_predict(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE results (id INT, score FLOAT)")
    cur.execute("INSERT INTO results (id, score) SELECT d.id, p.score "
                "FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p WHERE d.region = 'north'", [MODEL])
    assert cur.rowcount == ROWS // 3
    check(cur.execute("SELECT id, score FROM results").fetchall(), con, "WHERE region = 'north'")


def test_delete_using_predict_in_duckdb_dialect():
    con = sqlpredict.connect(dialect="duckdb", autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t AS SELECT i AS id, (i / 3)::FLOAT AS f0, (i / 5)::FLOAT AS f1 FROM range(100) r(i)")
    cur.execute("CREATE TABLE kept AS SELECT id FROM t")
    cur.execute("DELETE FROM kept USING PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
                "WHERE kept.id = d.id AND p.score < 3", [MODEL])
    ids = np.arange(100)
    scores = expected_scores(ids.astype(np.float32) / 3, ids.astype(np.float32) / 5)
    assert cur.execute("SELECT id FROM kept ORDER BY id").fetchall() == [(int(i),) for i in ids[scores >= 3]]


def test_parameters_around_predict_keep_their_order(con):
    cur = con.cursor()
    cur.execute("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = (SELECT * FROM t WHERE id < ?) AS d) "
                "WITH (score FLOAT) AS p WHERE d.id >= ? ORDER BY d.id", [MODEL, 50, 40])
    check(cur.fetchall(), con, "WHERE id >= 40 AND id < 50")


@pytest.mark.parametrize("clause, column", [
    ("SELECT d.id, d.f0 AS c, p.score FROM {p}", "f0"),  # an input, also selected
    ("SELECT d.id, d.region AS c, p.score FROM {p}", "region"),  # not an input
    ("SELECT d.id, (SELECT d.f1 + 0) AS c, p.score FROM {p}", "f1"),  # an input, in a correlated subquery
    ("SELECT d.id, SUM(d.f1) OVER (ORDER BY d.id ROWS BETWEEN CURRENT ROW AND CURRENT ROW) AS c, p.score "
     "FROM {p}", "f1"),  # an input, in a window
])
def test_columns_that_feed_the_model_reach_the_statement_when_it_reads_them(con, clause, column):
    """The scored stream hands DuckDB only the DATA columns the statement reads; an input the
    statement reads anywhere must still arrive, with its own values."""
    cur = con.cursor()
    sql = clause.format(p="PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p") + " ORDER BY d.id"
    rows = cur.execute(sql, [MODEL]).fetchall()
    check([(r[0], r[2]) for r in rows], con)
    own = cur.execute(f"SELECT id, {column} FROM t ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in rows] == own
    # Only the score column: f0 and f1 feed the model and do not come back.
    rows = cur.execute("SELECT p.score, d.id FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p",
                       [MODEL]).fetchall()
    check([(r[1], r[0]) for r in rows], con)


def test_filter_on_data_column_matches_unpushed_plan(con):
    cur = con.cursor()
    pushed = cur.execute("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
                         "WHERE d.f0 < 10 AND p.score > -5 ORDER BY d.id", [MODEL]).fetchall()
    # The same filter on a computed copy of the column cannot be pushed down.
    unpushed = cur.execute("SELECT id, score FROM (SELECT d.id, d.f0 + 0 AS f0, p.score FROM PREDICT(MODEL = ?, "
                           "DATA = t AS d) WITH (score FLOAT) AS p) AS x WHERE x.f0 < 10 AND x.score > -5 ORDER BY id",
                           [MODEL]).fetchall()
    assert pushed == unpushed and pushed


def test_filter_runs_before_the_model():
    """Rows the WHERE clause drops are never scored: a NULL there raises nothing under null_inputs='error'."""
    con = sqlpredict.connect(null_inputs="error", autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT, f0 REAL, f1 REAL)")
    cur.execute("INSERT INTO t VALUES (1, 1, 2), (2, NULL, 3)")
    rows = cur.execute("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
                       "WHERE d.id = 1", [MODEL]).fetchall()
    assert rows == [(1, float(expected_scores([1], [2])[0]))]
    with pytest.raises(sqlpredict.DataError, match='column "f0"'):
        cur.execute("SELECT p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p", [MODEL])


ENCLOSED = {
    "view": "SELECT id, score FROM scored WHERE region = 'x' AND score < 100 ORDER BY id",
    "view with alias": "SELECT v.id, v.score FROM scored AS v WHERE v.region = 'x' ORDER BY v.id",
    "CTE": "WITH s AS (SELECT d.id, d.region, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) "
           "AS p) SELECT id, score FROM s WHERE region = 'x' ORDER BY id",
    "derived, renamed": "SELECT k, score FROM (SELECT d.id AS k, d.region AS r, p.score FROM PREDICT(MODEL = ?, "
                        "DATA = t AS d) WITH (score FLOAT) AS p) AS q WHERE q.r = 'x' ORDER BY k",
}


@pytest.mark.parametrize("sql", list(ENCLOSED.values()), ids=list(ENCLOSED))
def test_a_filter_on_a_view_cte_or_derived_table_of_predict_runs_before_the_model(sql):
    """The WHERE around a view, CTE or derived table whose body is PREDICT's SELECT reaches DATA when it reads
    columns the body passes through: rows it drops are not scored (a NULL there raises nothing under
    null_inputs='error'), and the result is the unpushed plan's."""
    con = sqlpredict.connect(null_inputs="error", autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT, f0 REAL, f1 REAL, region VARCHAR(5))")
    cur.execute("INSERT INTO t VALUES (1, 1, 2, 'x'), (2, NULL, 3, 'y'), (3, 3, 4, 'x')")
    cur.execute("CREATE TABLE models (id INT, data VARBINARY(MAX))")
    cur.execute("INSERT INTO models VALUES (1, ?)", [MODEL])
    cur.execute("CREATE VIEW scored AS SELECT d.*, p.score FROM PREDICT(MODEL = (SELECT data FROM models "
                "WHERE id = 1), DATA = t AS d) WITH (score FLOAT) AS p")
    rows = cur.execute(sql, [MODEL] if "?" in sql else None).fetchall()
    assert rows == [(1, float(expected_scores([1], [2])[0])), (3, float(expected_scores([3], [4])[0]))]


def test_a_filter_is_not_pushed_through_a_body_that_groups_or_a_cte_read_twice(con):
    """Only a body that filters and projects lets a filter through; a CTE read twice keeps both reads whole."""
    cur = con.cursor()
    grouped = cur.execute("SELECT n FROM (SELECT d.f0 AS f0, count(*) AS n FROM PREDICT(MODEL = ?, DATA = t AS d) "
                          "WITH (score FLOAT) AS p GROUP BY d.f0) AS g WHERE g.f0 < 1", [MODEL]).fetchall()
    assert sorted(grouped) == sorted(cur.execute("SELECT count(*) FROM t WHERE f0 < 1 GROUP BY f0").fetchall())
    twice = cur.execute("WITH s AS (SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) "
                        "AS p) SELECT a.id, b.score FROM s AS a JOIN s AS b ON a.id = b.id WHERE a.id < 5 "
                        "ORDER BY a.id", [MODEL]).fetchall()
    check(twice, con, "WHERE id < 5")


JOINED = {  # PREDICT's form, and the same query over `truth` (DATA's rows with the model's scores, in order)
    "outer RIGHT JOIN of a derived table": (
        "SELECT k.id, s.score FROM (SELECT d.id, d.f0, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) "
        "WITH (score FLOAT) AS p) AS s RIGHT JOIN k ON s.id = k.id WHERE s.f0 IS NULL ORDER BY k.id",
        "SELECT k.id, s.score FROM (SELECT id, f0, score FROM truth) AS s RIGHT JOIN k ON s.id = k.id "
        "WHERE s.f0 IS NULL ORDER BY k.id"),
    "POSITIONAL JOIN": (
        "SELECT d.id, p.score, k.tag FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
        "POSITIONAL JOIN k WHERE d.f0 > 0.2",
        "SELECT d.id, d.score, k.tag FROM truth AS d POSITIONAL JOIN k WHERE d.f0 > 0.2"),
    "PREDICT on the right of an ASOF JOIN": (
        "SELECT k.ts, d.id FROM k ASOF JOIN PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
        "ON k.ts >= d.id WHERE d.f0 < 0.3 ORDER BY k.ts",
        "SELECT k.ts, d.id FROM k ASOF JOIN truth AS d ON k.ts >= d.id WHERE d.f0 < 0.3 ORDER BY k.ts"),
}


@pytest.mark.parametrize("sql, truth", list(JOINED.values()), ids=list(JOINED))
def test_a_filter_is_not_pushed_where_the_join_depends_on_which_rows_there_are(sql, truth):
    """Filtering DATA first would change what the join pairs: a RIGHT JOIN gives the rows it drops NULLs,
    a POSITIONAL JOIN pairs by position, an ASOF JOIN with the nearest row."""
    con = sqlpredict.connect(dialect="duckdb", autocommit=True)
    con.execute("CREATE TABLE t AS SELECT i AS id, (i / 10)::FLOAT AS f0, (1 - i / 7)::FLOAT AS f1 FROM range(5) r(i)")
    con.execute("CREATE TABLE k AS SELECT i AS id, i AS ts, chr(97 + i::INT) AS tag FROM range(5) r(i)")
    rows = con.execute("SELECT id, f0, f1 FROM t ORDER BY id").fetchall()
    scores = expected_scores([r[1] for r in rows], [r[2] for r in rows])
    con.execute("CREATE TABLE truth (id BIGINT, f0 FLOAT, f1 FLOAT, score FLOAT)")
    con.cursor().executemany("INSERT INTO truth VALUES (?, ?, ?, ?)",
                             [(r[0], r[1], r[2], float(s)) for r, s in zip(rows, scores)])
    assert con.execute(sql, [MODEL]).fetchall() == con.execute(truth).fetchall()


def test_a_filter_with_random_runs_once():
    """A conjunct with random() is not moved into DATA: run there and again in the statement, it would keep
    about a quarter of the rows where the statement asks for half."""
    con = sqlpredict.connect(dialect="duckdb")
    con.execute("CREATE TABLE r AS SELECT range AS id, CAST(range AS FLOAT) AS f0, CAST(1 AS FLOAT) AS f1 "
                "FROM range(20000)")
    kept = con.execute("SELECT count(*) FROM PREDICT(MODEL = ?, DATA = r AS d) WITH (score FLOAT) AS p "
                       "WHERE d.id < 0 OR random() < 0.5", [MODEL]).fetchall()[0][0]
    assert 9000 < kept < 11000  # 10,000 expected; the binomial's deviation is 71
    con.close()


def test_columns_by_pattern_reads_every_data_column_it_names():
    """DuckDB's COLUMNS('regex') picks DATA columns by pattern: all of them must reach the statement."""
    con = sqlpredict.connect(dialect="duckdb")
    con.execute("CREATE TABLE c (id INT, city VARCHAR, f0 FLOAT, f1 FLOAT)")
    con.execute("INSERT INTO c VALUES (0, 'Lyon', 0.5, 0.25), (1, 'Paris', 1.5, 0.75)")
    rows = con.execute("SELECT COLUMNS('^(id|city)$'), p.score FROM PREDICT(MODEL = ?, DATA = c AS d) "
                       "WITH (score FLOAT) AS p ORDER BY 1", [MODEL]).fetchall()
    want = expected_scores(np.array([0.5, 1.5], np.float32), np.array([0.25, 0.75], np.float32))
    assert [r[:2] for r in rows] == [(0, "Lyon"), (1, "Paris")]
    assert np.array_equal(np.array([r[2] for r in rows], np.float32), want)
    assert con.execute("SELECT COLUMNS('f.*') FROM PREDICT(MODEL = ?, DATA = c AS d) AS p ORDER BY 1",
                       [MODEL]).fetchall() == [(0.5, 0.25), (1.5, 0.75)]
    con.close()


def test_read_parquet_in_duckdb_dialect(tmp_path):
    rng = np.random.default_rng(0)
    f0, f1 = rng.normal(size=500).astype(np.float32), rng.normal(size=500).astype(np.float32)
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"id": np.arange(500), "f0": f0, "f1": f1}), path)
    con = sqlpredict.connect(dialect="duckdb")
    rows = con.cursor().execute(
        "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = read_parquet(?) AS d) WITH (score DOUBLE) AS p "
        "WHERE d.id < 10 ORDER BY d.id", [MODEL, str(path)]
    ).fetchall()
    assert [r[0] for r in rows] == list(range(10))
    assert np.array_equal(np.array([r[1] for r in rows]), expected_scores(f0[:10], f1[:10]).astype(np.float64))


def test_duckdb_dialect_limit_and_cte():
    con = sqlpredict.connect(dialect="duckdb", autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t AS SELECT i AS id, (i / 3)::FLOAT AS f0, (i / 5)::FLOAT AS f1 FROM range(100) r(i)")
    cur.execute("WITH x AS (SELECT * FROM t WHERE id % 2 = 0) "
                "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = x AS d) WITH (score FLOAT) AS p "
                "ORDER BY d.id LIMIT 3", [MODEL])
    rows = cur.fetchall()
    assert [r[0] for r in rows] == [0, 2, 4]
    want = expected_scores(np.float32([0, 2, 4]) / 3, np.float32([0, 2, 4]) / 5)
    assert np.allclose([r[1] for r in rows], want, rtol=1e-6)


def test_same_query_twice_loads_the_model_once(con):
    before = con.cache.loads
    cur = con.cursor()
    for _ in range(3):
        cur.execute(QUERY.format(model="?", data="t AS d"), [MODEL])
    assert con.cache.loads - before <= 1


def test_a_stored_model_read_on_every_statement_is_hashed_once_and_held_once(monkeypatch):
    """MODEL = (SELECT data FROM models ...) is new bytes on every statement: bytes equal to a model
    seen lately take its digest without hashing again, and only the latest copy is kept."""
    import tracemalloc
    from sqlpredict import sessions
    hashed, digest = [], sessions.model_digest
    monkeypatch.setattr(sessions, "model_digest", lambda blob: hashed.append(len(blob)) or digest(blob))
    model = _padded(MODEL, np.zeros(1 << 20, np.float32))  # 4 MB: each copy kept would show
    con = sqlpredict.connect(autocommit=True, session_cache_bytes=1 << 28)
    cur = con.cursor()
    cur.execute("CREATE TABLE dbo.t (id INT, f0 REAL, f1 REAL)")
    cur.execute("INSERT INTO t VALUES (1, 0.5, 0.25), (2, 1.5, -2)")
    cur.execute("CREATE TABLE models (id INT, data VARBINARY(MAX))")
    cur.execute("INSERT INTO models VALUES (1, ?)", [model])
    query = QUERY.format(model="(SELECT data FROM models WHERE id = 1)", data="t AS d") + " ORDER BY d.id"
    want = expected_scores([0.5, 1.5], [0.25, -2])
    assert np.array_equal([r[1] for r in cur.execute(query).fetchall()], want.astype(np.float64))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10):
            assert np.array_equal([r[1] for r in cur.execute(query).fetchall()], want.astype(np.float64))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert hashed == [len(model)]
    assert grown < 2 * len(model)  # the latest copy (the session holds the first); eight were kept before


def _padded(model: bytes, padding: np.ndarray) -> bytes:
    """`model` with an unused initializer: the same scores from bigger bytes."""
    import onnx
    from onnx import numpy_helper
    proto = onnx.load_from_string(model)
    proto.graph.initializer.append(numpy_helper.from_array(padding, "unused_padding"))
    return proto.SerializeToString()


def test_models_of_one_length_and_other_weights_are_told_apart():
    """Bytes of the same length as a model seen lately are compared, not assumed equal."""
    other = linear(weights=(4.0, -5.0))
    assert len(other) == len(MODEL)
    con = sqlpredict.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE dbo.t (id INT, f0 REAL, f1 REAL)")
    cur.execute("INSERT INTO t VALUES (1, 0.5, 0.25), (2, 1.5, -2)")
    cur.execute("CREATE TABLE models (id INT, data VARBINARY(MAX))")
    cur.execute("INSERT INTO models VALUES (1, ?), (2, ?)", [MODEL, other])
    f0, f1 = np.float32([[0.5], [1.5]]), np.float32([[0.25], [-2]])
    for model_id, model in [(1, MODEL), (2, other), (1, MODEL), (2, other)]:
        query = QUERY.format(model=f"(SELECT data FROM models WHERE id = {model_id})", data="t AS d")
        rows = cur.execute(query + " ORDER BY d.id").fetchall()
        want = run_direct(model, {"f0": f0, "f1": f1})[0].ravel()
        assert np.array_equal([r[1] for r in rows], want.astype(np.float64))


def test_a_failed_statement_rolls_back_a_transaction_with_writes_and_says_so():
    """DuckDB cannot continue a transaction after an error: it is rolled back (XACT_ABORT ON), and said so."""
    con = sqlpredict.connect()
    cur = con.cursor()
    cur.execute("CREATE TABLE kept (id INT)")
    cur.execute("INSERT INTO kept VALUES (1)")
    con.commit()
    cur.execute("INSERT INTO kept VALUES (2)")
    with pytest.raises(sqlpredict.DataError, match="rolled back"):
        cur.execute("SELECT CAST('abc' AS INT)")
    assert cur.execute("SELECT id FROM kept").fetchall() == [(1,)]
    rows = cur.execute("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = (SELECT 1 AS id, CAST(2 AS REAL) AS f0, "
                       "CAST(3 AS REAL) AS f1) AS d) WITH (score FLOAT) AS p", [MODEL]).fetchall()
    assert rows == [(1, float(expected_scores([2], [3])[0]))]


def test_a_predict_refused_while_planning_keeps_the_transactions_writes():
    """DATA that names no table, or a model that does not bind, fails before DuckDB runs anything:
    the transaction is not aborted, so its uncommitted writes stay (and commit later)."""
    con = sqlpredict.connect()
    cur = con.cursor()
    cur.execute("CREATE TABLE kept (id INT)")
    con.commit()
    cur.execute("INSERT INTO kept VALUES (1)")
    with pytest.raises(sqlpredict.ProgrammingError, match="DATA could not be read") as info:
        cur.execute("SELECT p.score FROM PREDICT(MODEL = ?, DATA = no_such_table AS d) WITH (score FLOAT) AS p",
                    [MODEL])
    assert "rolled back" not in str(info.value)
    with pytest.raises(sqlpredict.ProgrammingError, match="f1") as info:
        cur.execute("SELECT p.score FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(1 AS REAL) AS f0) AS d) "
                    "WITH (score FLOAT) AS p", [MODEL])
    assert "rolled back" not in str(info.value)
    con.commit()
    assert cur.execute("SELECT id FROM kept").fetchall() == [(1,)]


def test_a_failed_statement_in_a_clean_transaction_leaves_nothing_to_roll_back(con):
    cur = con.cursor()
    with pytest.raises(sqlpredict.ProgrammingError):
        cur.execute("SELECT * FROM no_such_table")
    check(cur.execute(QUERY.format(model="?", data="t AS d"), [MODEL]).fetchall(), con)


FIRST_QUERY = r'''
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from onnx import TensorProto, helper, numpy_helper
import onnx_models
import sqlpredict

# y = x @ w over a FLOAT[3] column (an array input), and the linear model over two scalar columns.
w = np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)
array_model = onnx_models.make(
    [helper.make_node("MatMul", ["x", "w"], ["y"])],
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
    [numpy_helper.from_array(w, "w")],
)
con = sqlpredict.connect(dialect="duckdb", batch_size=4)
cur = con.cursor()
cur.execute("CREATE TABLE t AS SELECT i AS id, CASE WHEN i % 3 = 0 THEN NULL ELSE CAST(i AS REAL) / 7 END AS f0, "
            "CAST(i AS REAL) / 11 AS f1, [CAST(i AS REAL), 1, CASE WHEN i = 5 THEN NULL ELSE 2 END]::REAL[3] AS x "
            "FROM range(10) r(i)")
scalar = cur.execute("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
                     "ORDER BY d.id", [onnx_models.linear()]).fetchall()
array = cur.execute("SELECT d.id, p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y FLOAT) AS p ORDER BY d.id",
                    [array_model]).fetchall()
# z = 2x: an array output (FLOAT[3]) with a NULL row.
twice_model = onnx_models.make(
    [helper.make_node("Add", ["x", "x"], ["z"])],
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
    [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 3])],
)
arrays = cur.execute("SELECT d.id, p.z FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (z FLOAT[3]) AS p ORDER BY d.id",
                     [twice_model]).fetchall()
# n = not b: a boolean input and output, NULL where i = 7.
not_model = onnx_models.make(
    [helper.make_node("Not", ["b"], ["n"])],
    [helper.make_tensor_value_info("b", TensorProto.BOOL, ["N", 1])],
    [helper.make_tensor_value_info("n", TensorProto.BOOL, ["N", 1])],
)
bools = cur.execute("SELECT d.id, p.n FROM PREDICT(MODEL = ?, DATA = (SELECT id, CASE WHEN id = 7 THEN NULL "
                    "ELSE id % 2 = 0 END AS b FROM t) AS d) WITH (n BOOLEAN) AS p ORDER BY d.id",
                    [not_model]).fetchall()
# Strings in and out (echo, and a label encoder), NULL where i = 4; a ZipMap over x, NULL where i = 5.
def ml_model(nodes, inputs, outputs):
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    return helper.make_model(graph, ir_version=onnx_models.IR_VERSION, opset_imports=[
        helper.make_opsetid("", onnx_models.OPSET), helper.make_opsetid("ai.onnx.ml", 3)]).SerializeToString()
string_model = ml_model(
    [helper.make_node("Identity", ["s"], ["echo"]),
     helper.make_node("LabelEncoder", ["s"], ["code"], domain="ai.onnx.ml", keys_strings=["a", "é"],
                      values_int64s=[1, 2], default_int64=-1)],
    [helper.make_tensor_value_info("s", TensorProto.STRING, ["N", 1])],
    [helper.make_tensor_value_info("echo", TensorProto.STRING, ["N", 1]),
     helper.make_tensor_value_info("code", TensorProto.INT64, ["N", 1])],
)
strings = cur.execute("SELECT d.id, p.echo, p.code FROM PREDICT(MODEL = ?, DATA = (SELECT id, CASE WHEN id = 4 "
                      "THEN NULL WHEN id % 2 = 0 THEN 'a' ELSE 'é' || id END AS s FROM t) AS d) "
                      "WITH (echo VARCHAR, code BIGINT) AS p ORDER BY d.id", [string_model]).fetchall()
zipmap_model = ml_model(
    [helper.make_node("ZipMap", ["x"], ["probability"], domain="ai.onnx.ml", classlabels_strings=["u", "v", "w"])],
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
    [helper.make_value_info("probability", helper.make_sequence_type_proto(
        helper.make_map_type_proto(TensorProto.STRING, helper.make_tensor_type_proto(TensorProto.FLOAT, []))))],
)
maps = cur.execute("SELECT d.id, p.probability FROM PREDICT(MODEL = ?, DATA = t AS d) "
                   "WITH (probability MAP(VARCHAR, FLOAT)) AS p ORDER BY d.id", [zipmap_model]).fetchall()
print(json.dumps({"pandas": "pandas" in sys.modules, "scalar": scalar, "array": array, "arrays": arrays,
                  "bools": bools, "strings": strings, "maps": maps}))
'''


def test_a_first_query_does_not_import_pandas_and_scores_nulls_and_arrays():
    """pyarrow's numpy conversions import pandas on first use (about 0.3 s and 50 MB on a user's
    first query); the scoring path converts values itself. NULL rows, array inputs, an array
    output, booleans, strings and ZipMap outputs included."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", FIRST_QUERY, str(Path(__file__).resolve().parent)],
                         capture_output=True, text=True, check=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["pandas"] is False
    ids = np.arange(10)
    f0 = (ids / 7).astype(np.float32)
    f1 = (ids / 11).astype(np.float32)
    want = expected_scores(f0, f1)
    assert got["scalar"] == [[int(i), None if i % 3 == 0 else float(want[i])] for i in ids]
    x = np.stack([ids, np.ones(10), np.full(10, 2.0)], axis=1).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).ravel()
    assert got["array"] == [[int(i), None if i == 5 else float(y[i])] for i in ids]
    assert got["arrays"] == [[int(i), None if i == 5 else [float(v) for v in 2 * x[i]]] for i in ids]
    assert got["bools"] == [[int(i), None if i == 7 else bool(i % 2)] for i in ids]
    text = [None if i == 4 else "a" if i % 2 == 0 else f"é{i}" for i in ids]
    assert got["strings"] == [[int(i), s, None if s is None else 1 if s == "a" else -1] for i, s in zip(ids, text)]
    labels = ["u", "v", "w"]
    assert got["maps"] == [[int(i), None if i == 5 else {k: float(v) for k, v in zip(labels, x[i])}]
                           for i in ids]


def test_a_stored_view_leaves_duckdbs_own_statements_to_duckdb(tmp_path):
    """Once a database stores a PREDICT view, statements that do not name it still run as DuckDB runs
    them (EXPLAIN, CALL, CREATE TYPE, RESET); one that cannot hold PREDICT says so."""
    con = sqlpredict.connect(str(tmp_path / "v.duckdb"), dialect="duckdb", autocommit=True)
    con.execute("CREATE TABLE t AS SELECT range AS id, CAST(range AS FLOAT) AS f0, CAST(1 AS FLOAT) AS f1 FROM range(5)")
    con.execute("CREATE TABLE models (id INT, data BLOB)")
    con.execute("INSERT INTO models VALUES (1, ?)", [MODEL])
    con.execute("CREATE VIEW pv AS SELECT d.id, p.score FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), "
                "DATA = t AS d) WITH (score FLOAT) AS p")
    assert con.execute("CALL pragma_version()").fetchall()[0][0].startswith("v")
    assert con.execute("EXPLAIN SELECT 1").fetchall()[0][0] == "physical_plan"
    con.execute("CREATE TYPE mood AS ENUM ('a', 'b')")
    con.execute("RESET threads")
    assert con.execute("SELECT CAST('a' AS mood) AS m, count(*) FROM pv").fetchall() == [("a", 5)]
    assert con.execute("EXPLAIN SELECT * FROM pv").fetchall()[0][0] == "physical_plan"  # the view, planned
    with pytest.raises(sqlpredict.NotSupportedError, match="cannot inside this kind of statement: SHOW"):
        con.execute("SHOW pv")
    con.close()


def test_explain_shows_the_plan_duckdb_runs_for_a_predict_statement():
    """EXPLAIN [ANALYZE] of a statement with PREDICT: its plan as planned (a filter on DATA moved below the
    scan of the scored stream), and the statement's tables as they were."""
    con = sqlpredict.connect(dialect="duckdb")
    con.execute("CREATE TABLE e AS SELECT range AS id, CAST(range AS FLOAT) AS f0, CAST(1 AS FLOAT) AS f1 FROM range(9)")
    sql = "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = e AS d) WITH (score FLOAT) AS p WHERE d.id < 3"
    plan = con.execute("EXPLAIN " + sql, [MODEL]).fetchall()
    assert plan[0][0] == "physical_plan" and "ARROW" in plan[0][1].upper()
    analyzed = con.execute("EXPLAIN ANALYZE " + sql, [MODEL]).fetchall()
    assert analyzed[0][0] == "analyzed_plan"
    assert con.execute(sql, [MODEL]).fetchall()[0][0] == 0
    con.close()


def test_several_duckdb_statements_take_their_own_values():
    """Each statement of one execute takes the values after those of the statements before it."""
    con = sqlpredict.connect(dialect="duckdb")
    cur = con.execute("SELECT ? AS a; SELECT $1 AS b, $2 AS c; SELECT ? AS d", [1, 2, 3, 4])
    sets = [cur.fetchall()]
    while cur.nextset():
        sets.append(cur.fetchall())
    assert sets == [[(1,)], [(2, 3)], [(4,)]]
    con.close()


def test_pivot_without_an_in_list_over_predict():
    """DuckDB reads such a PIVOT's source twice (once for the values to pivot on): the scores are held."""
    con = sqlpredict.connect(dialect="duckdb")
    con.execute("CREATE TABLE c (id INT, city VARCHAR, f0 FLOAT, f1 FLOAT)")
    con.execute("INSERT INTO c VALUES (0, 'Lyon', 0.5, 0.25), (1, 'Paris', 1.5, 0.75), (2, 'Lyon', 2.5, 1.0)")
    want = expected_scores(np.array([0.5, 1.5, 2.5], np.float32), np.array([0.25, 0.75, 1.0], np.float32))
    predict = "SELECT d.city, p.score FROM PREDICT(MODEL = ?, DATA = c AS d) WITH (score FLOAT) AS p"
    for sql in (f"PIVOT ({predict}) ON city USING max(score)",
                f"SELECT * FROM ({predict}) PIVOT (max(score) FOR city IN ('Lyon', 'Paris'))"):
        rows = con.execute(sql, [MODEL]).fetchall()
        assert rows == [(float(max(want[0], want[2])), float(want[1]))], sql
    con.close()


def test_struct_fields_of_data_columns_by_dot():
    """d.s.a and s.a read field a of DATA's struct column s, as DuckDB reads them, in SELECT and WHERE."""
    con = sqlpredict.connect(dialect="duckdb")
    con.execute("CREATE TABLE st AS SELECT range AS id, {'a': range, 'b': range * 10} AS s, "
                "CAST(range AS FLOAT) AS f0, CAST(1 AS FLOAT) AS f1 FROM range(3)")
    want = expected_scores(np.array([0, 1, 2], np.float32), np.ones(3, np.float32))
    for field in ("d.s.a", "s.a", "(d.s).a"):
        rows = con.execute(f"SELECT {field}, p.score FROM PREDICT(MODEL = ?, DATA = st AS d) WITH (score FLOAT) AS p "
                           f"WHERE {field.replace('.a', '.b')} >= 10 ORDER BY 1", [MODEL]).fetchall()
        assert [r[0] for r in rows] == [1, 2], field
        assert np.array_equal(np.array([r[1] for r in rows], np.float32), want[1:]), field
    con.close()


# ------------------------------------------------------------------ DATA columns pass through unchanged


EXOTIC = ("CREATE TABLE x (f0 REAL, f1 REAL, u UHUGEINT, h HUGEINT, b BIT, g UUID, tz TIMETZ); "
          "INSERT INTO x VALUES (1.5, 2, 340282366920938463463374607431768211455, "
          "-170141183460469231731687303715884105728, '0101', '8467f88a-20aa-4f47-a2d5-d758a787ae2c', "
          "'12:00:00+02'), (-1, 0.25, 0, 0, '1', NULL, '00:00:00-05')")


@pytest.mark.parametrize("autocommit", [True, False], ids=["streamed", "on-the-connection"])
def test_data_columns_of_types_standard_arrow_changes_pass_through_unchanged(autocommit):
    """d.* is DATA's columns unchanged (spec 1): UHUGEINT's top half came back negative, HUGEINT's minimum
    failed, BIT came back as BLOB, UUID as VARCHAR and TIME WITH TIME ZONE without its offset."""
    con = sqlpredict.connect(dialect="duckdb", autocommit=autocommit)
    cur = con.cursor()
    cur.execute(EXOTIC)
    plain = cur.execute("SELECT u, h, b, g, tz FROM x ORDER BY f0").fetchall()
    plain_types = [d[1] for d in cur.description]
    cur.execute("SELECT d.u, d.h, d.b, d.g, d.tz, p.score FROM PREDICT(MODEL = ?, DATA = x AS d) "
                "WITH (score REAL) AS p ORDER BY d.f0", [MODEL])
    rows = cur.fetchall()
    assert [r[:5] for r in rows] == plain
    assert [d[1] for d in cur.description][:5] == plain_types
    expected = run_direct(MODEL, {"f0": np.array([[-1], [1.5]], np.float32),
                                  "f1": np.array([[0.25], [2]], np.float32)})[0].reshape(-1)
    np.testing.assert_array_equal(np.array([r[5] for r in rows], np.float32), expected)
    cur.execute("SELECT d.u FROM PREDICT(MODEL = ?, DATA = x AS d) WITH (score REAL) AS p "
                "WHERE d.u = 340282366920938463463374607431768211455", [MODEL])
    assert cur.fetchall() == [(340282366920938463463374607431768211455,)]
    # DuckDB's lossless Arrow was set for DATA's session only: this connection's results are as before
    assert cur.execute("SELECT g FROM x ORDER BY f0").fetchall() == [p[3:4] for p in plain]


@pytest.mark.parametrize("dialect", ["duckdb", "tsql"])
def test_a_hex_literal_model_in_both_dialects(dialect):
    """Spec 1: MODEL may be a hex literal, and the DuckDB dialect takes the same clause. DuckDB's tokenizer
    reads 0x0809... as the number 0 and a name, and the clause was refused with 'DATA is missing'."""
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (f0 REAL, f1 REAL)")
    cur.execute("INSERT INTO t VALUES (1.5, 2), (-1, 0.25)")
    query = "SELECT p.score FROM PREDICT(MODEL = {}, DATA = t AS d) WITH (score REAL) AS p ORDER BY d.f0"
    by_hex = cur.execute(query.format("0x" + MODEL.hex().upper())).fetchall()
    expected = run_direct(MODEL, {"f0": np.array([[-1], [1.5]], np.float32),
                                  "f1": np.array([[0.25], [2]], np.float32)})[0].reshape(-1)
    np.testing.assert_array_equal(np.array([r[0] for r in by_hex], np.float32), expected)
    assert cur.execute(query.format("?"), [MODEL]).fetchall() == by_hex


@pytest.mark.parametrize("change", ["SET search_path = 's1'", "USE s1"])
def test_data_read_elsewhere_finds_tables_by_the_connections_search_path(tmp_path, change):
    """DATA is read on a sibling connection, which starts with DuckDB's default session settings: USE and
    SET search_path of the user's connection must reach it, or `DATA = t` reads main.t."""
    con = sqlpredict.connect(str(tmp_path / "path.duckdb"), dialect="duckdb", autocommit=True)
    con.execute("CREATE TABLE t AS SELECT i AS id, (i / 7)::FLOAT AS f0, (i / 11)::FLOAT AS f1 FROM range(4) r(i)")
    con.execute("CREATE SCHEMA s1")
    con.execute("CREATE TABLE s1.t AS SELECT id + 100 AS id, f0 * 3 AS f0, f1 FROM main.t WHERE id < 2")
    sql = "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p ORDER BY d.id"
    assert [r[0] for r in con.execute(sql, [MODEL]).fetchall()] == [0, 1, 2, 3]
    con.execute(change)
    rows = con.execute(sql, [MODEL]).fetchall()
    want = con.execute("SELECT id, f0, f1 FROM t ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [100, 101] == [r[0] for r in want]
    np.testing.assert_allclose([r[1] for r in rows], expected_scores([r[1] for r in want], [r[2] for r in want]),
                               rtol=1e-6)
    con.execute("SET search_path = 'main'")
    assert [r[0] for r in con.execute(sql, [MODEL]).fetchall()] == [0, 1, 2, 3]
    con.close()


def test_data_read_elsewhere_uses_the_connections_time_zone(tmp_path):
    con = sqlpredict.connect(str(tmp_path / "tz.duckdb"), dialect="duckdb", autocommit=True)
    con.execute("CREATE TABLE t AS SELECT i AS id, (i / 7)::FLOAT AS f0, (i / 11)::FLOAT AS f1, "
                "TIMESTAMPTZ '2024-01-01 00:00:00+00' AS at FROM range(2) r(i)")
    con.execute("SET TimeZone = 'Asia/Tokyo'")
    sql = ("SELECT d.id, d.hour, p.score FROM PREDICT(MODEL = ?, DATA = (SELECT id, f0, f1, hour(at) AS hour FROM t) "
           "AS d) WITH (score FLOAT) AS p ORDER BY d.id")
    assert [r[1] for r in con.execute(sql, [MODEL]).fetchall()] == [9, 9]
    con.close()


def test_data_that_calls_a_temporary_macro_is_read_on_the_users_connection(tmp_path):
    """A temporary macro exists on its connection only: DATA that calls one, written there or pushed
    into it from the WHERE, cannot be read on a sibling connection."""
    con = sqlpredict.connect(str(tmp_path / "macro.duckdb"), dialect="duckdb", autocommit=True)
    con.execute("CREATE TABLE t AS SELECT i AS id, (i / 7)::FLOAT AS f0, (i / 11)::FLOAT AS f1 FROM range(6) r(i)")
    con.execute("CREATE TEMP MACRO big(x) AS x > 0.4")
    want = con.execute("SELECT id, f0, f1 FROM t WHERE big(f0) ORDER BY id").fetchall()
    for sql in ("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
                "WHERE big(d.f0) ORDER BY d.id",
                "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = (SELECT * FROM t WHERE big(f0)) AS d) "
                "WITH (score FLOAT) AS p ORDER BY d.id"):
        rows = con.execute(sql, [MODEL]).fetchall()
        assert [r[0] for r in rows] == [r[0] for r in want] == [3, 4, 5]
        np.testing.assert_allclose([r[1] for r in rows],
                                   expected_scores([r[1] for r in want], [r[2] for r in want]), rtol=1e-6)
    con.execute("DROP MACRO big")
    con.execute("CREATE MACRO big(x) AS x > 0.6")  # a macro stored in the database: the sibling has it
    assert [r[0] for r in con.execute(sql, [MODEL]).fetchall()] == [5]
    con.close()


def test_data_read_elsewhere_shares_the_sessions_settings_and_variables(tmp_path):
    """Session settings that change results (integer_division here) and SET VARIABLE values reach the
    sibling connection, also through a filter pushed into DATA."""
    con = sqlpredict.connect(str(tmp_path / "session.duckdb"), dialect="duckdb", autocommit=True)
    con.execute("CREATE TABLE t AS SELECT i AS id, i AS a, (i / 11)::FLOAT AS f1 FROM range(6) r(i)")
    con.execute("SET integer_division = true")
    con.execute("SET VARIABLE low = 3")
    sql = ("SELECT d.id, d.f0, p.score FROM PREDICT(MODEL = ?, DATA = (SELECT id, CAST(a / 2 AS FLOAT) AS f0, f1 "
           "FROM t) AS d) WITH (score FLOAT) AS p WHERE d.id >= getvariable('low') ORDER BY d.id")
    rows = con.execute(sql, [MODEL]).fetchall()
    want = con.execute("SELECT id, CAST(a / 2 AS FLOAT), f1 FROM t WHERE id >= getvariable('low') ORDER BY id"
                       ).fetchall()
    assert [r[:2] for r in rows] == [r[:2] for r in want] == [(3, 1.0), (4, 2.0), (5, 2.0)]
    np.testing.assert_allclose([r[2] for r in rows], expected_scores([r[1] for r in want], [r[2] for r in want]),
                               rtol=1e-6)
    con.close()
