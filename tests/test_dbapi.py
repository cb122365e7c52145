"""PEP 249 (DB-API 2.0) conformance, item by item, with what the standard says."""

from __future__ import annotations

import datetime
import decimal
import os
import sys
import threading
import time

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import sqlpredict
from onnx_models import linear, run_direct

MODEL = linear()
PREDICT_QUERY = (
    "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = t AS d, RUNTIME = ONNX) WITH (score FLOAT) AS p "
    "ORDER BY d.id"
)


@pytest.fixture
def con():
    con = sqlpredict.connect()
    yield con
    con.close()


@pytest.fixture
def scored():
    """A committed table t(id, f0, f1) of features and the linear model's exact scores for it."""
    con = sqlpredict.connect()
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT, f0 REAL, f1 REAL)")
    cur.execute("INSERT INTO t SELECT i, CAST(i AS REAL) / 7, CAST(i AS REAL) / -13 FROM range(2000) r(i)")
    con.commit()
    ids, f0, f1 = zip(*cur.execute("SELECT id, f0, f1 FROM t ORDER BY id").fetchall())
    scores = run_direct(MODEL, {
        "f0": np.array(f0, dtype=np.float32).reshape(-1, 1),
        "f1": np.array(f1, dtype=np.float32).reshape(-1, 1),
    })[0].ravel().astype(np.float64)
    yield con, list(zip(ids, scores.tolist()))
    con.close()


# ---------------------------------------------------------------- module interface


def test_module_globals():
    """PEP 249: apilevel '2.0'; threadsafety 0..3; paramstyle one of five; connect() a constructor."""
    assert sqlpredict.apilevel == "2.0"
    assert sqlpredict.threadsafety == 2  # threads share module and connections, not cursors
    assert sqlpredict.paramstyle == "qmark"
    assert isinstance(sqlpredict.connect(), sqlpredict.Connection)


def test_exception_hierarchy_is_exactly_pep_249():
    """PEP 249 draws Warning and Error under Exception, the rest under Error / DatabaseError."""
    m = sqlpredict
    assert m.Warning.__bases__ == (Exception,)
    assert m.Error.__bases__ == (Exception,)
    assert m.InterfaceError.__bases__ == (m.Error,)
    assert m.DatabaseError.__bases__ == (m.Error,)
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):
        assert getattr(m, name).__bases__ == (m.DatabaseError,), name


# ---------------------------------------------------------------- errors mapped, cause kept


def _raises(con, sql, cls, duck_cls=duckdb.Error, params=None):
    with pytest.raises(cls) as info:
        con.cursor().execute(sql, params)
    assert isinstance(info.value.__cause__, duck_cls), repr(info.value.__cause__)
    return info.value


def test_syntax_error_is_programming_error(con):
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        con.cursor().execute("SELEC 1 FROM")
    assert info.value.__cause__ is not None
    duck = sqlpredict.connect(dialect="duckdb")
    _raises(duck, "SELEC 1", sqlpredict.ProgrammingError, duckdb.ParserException)


def test_unknown_table_is_programming_error(con):
    _raises(con, "SELECT * FROM no_such_table", sqlpredict.ProgrammingError, duckdb.CatalogException)


def test_primary_key_duplicate_is_integrity_error(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE k (id INT PRIMARY KEY)")
    cur.execute("INSERT INTO k VALUES (1)")
    con.commit()
    _raises(con, "INSERT INTO k VALUES (1)", sqlpredict.IntegrityError, duckdb.ConstraintException)


def test_conversion_and_overflow_are_data_errors(con):
    _raises(con, "SELECT CAST('abc' AS INT)", sqlpredict.DataError, duckdb.ConversionException)
    _raises(con, "SELECT CAST(2147483647 AS INT) + CAST(1 AS INT)", sqlpredict.DataError,
            (duckdb.OutOfRangeException, duckdb.ConversionException))
    _raises(con, "SELECT CAST(300 AS TINYINT)", sqlpredict.DataError)


def test_predict_binding_error_is_programming_error(scored):
    con, _ = scored
    with pytest.raises(sqlpredict.ProgrammingError, match="PREDICT"):
        con.cursor().execute(
            "SELECT p.nosuch FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (nosuch FLOAT) AS p", [MODEL]
        ).fetchall()


# ---------------------------------------------------------------- type objects and constructors


@pytest.mark.parametrize("type_object, codes", [
    ("STRING", ["VARCHAR", "VARCHAR(10)", "JSON", "UUID", "ENUM('a', 'b')"]),
    ("BINARY", ["BLOB"]),
    ("NUMBER", ["TINYINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL(18,3)",
                "BOOLEAN"]),
    ("DATETIME", ["DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "INTERVAL"]),
])
def test_type_objects_equal_their_type_codes(type_object, codes):
    """PEP 249: a type object compares equal to the type codes of its family, and only those."""
    families = {name: getattr(sqlpredict, name) for name in ("STRING", "BINARY", "NUMBER", "DATETIME", "ROWID")}
    for code in codes:
        assert families[type_object] == code, code
        assert code == families[type_object], code  # either side
        others = [name for name, obj in families.items() if name != type_object and obj == code]
        assert others == [], (code, others)
    assert hash(families[type_object]) == hash(families[type_object])


def test_nested_types_and_rowid_match_no_family():
    for code in ("FLOAT[3]", "INTEGER[]", "STRUCT(a INTEGER)", "MAP(VARCHAR, INTEGER)"):
        assert code not in (sqlpredict.STRING, sqlpredict.BINARY, sqlpredict.NUMBER, sqlpredict.DATETIME)
    for code in ("BIGINT", "VARCHAR", "BLOB"):
        assert sqlpredict.ROWID != code


def test_description_type_codes_compare_equal_to_type_objects(con):
    cur = con.cursor().execute(
        "SELECT CAST(1.5 AS FLOAT) AS f, CAST('x' AS VARCHAR(5)) AS s, CAST(12.345 AS DECIMAL(18,3)) AS d, "
        "CAST('2020-01-02 03:04:05' AS DATETIME2) AS ts, 0x00FF AS b, CAST('2020-01-02' AS DATE) AS dt, "
        "CAST(1 AS BIT) AS flag"
    )
    desc = cur.description
    assert all(len(col) == 7 for col in desc)
    assert [col[0] for col in desc] == ["f", "s", "d", "ts", "b", "dt", "flag"]
    assert [col[1] for col in desc] == [sqlpredict.NUMBER, sqlpredict.STRING, sqlpredict.NUMBER,
                                        sqlpredict.DATETIME, sqlpredict.BINARY, sqlpredict.DATETIME,
                                        sqlpredict.NUMBER]
    assert desc[2][4:6] == (18, 3)  # precision and scale, where the type has them
    row = cur.fetchone()
    assert row[2] == decimal.Decimal("12.345") and row[4] == b"\x00\xff"


def test_constructors():
    """PEP 249's seven constructors, the *FromTicks ones in local time as time.localtime gives it."""
    ticks = 1_700_000_000.5
    local = time.localtime(ticks)
    assert sqlpredict.Date(2020, 1, 2) == datetime.date(2020, 1, 2)
    assert sqlpredict.Time(3, 4, 5) == datetime.time(3, 4, 5)
    assert sqlpredict.Timestamp(2020, 1, 2, 3, 4, 5) == datetime.datetime(2020, 1, 2, 3, 4, 5)
    assert sqlpredict.DateFromTicks(ticks) == datetime.date(*local[:3])
    assert sqlpredict.TimeFromTicks(ticks) == datetime.time(*local[3:6])
    assert sqlpredict.TimestampFromTicks(ticks) == datetime.datetime(*local[:6])
    assert sqlpredict.Binary(bytearray(b"\x00\x01")) == b"\x00\x01"
    assert sqlpredict.Binary(memoryview(b"ab")) == b"ab"


def test_constructed_values_round_trip_as_parameters(con):
    values = [sqlpredict.Date(2020, 1, 2), sqlpredict.Time(3, 4, 5), sqlpredict.Timestamp(2020, 1, 2, 3, 4, 5),
              sqlpredict.Binary(b"\x00\xfe")]
    row = con.cursor().execute("SELECT ?, ?, ?, ?", values).fetchone()
    assert list(row) == values


# ---------------------------------------------------------------- connection


def test_rollback_undoes_an_insert(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE r (x INT)")
    con.commit()
    cur.execute("INSERT INTO r VALUES (1), (2)")
    assert cur.execute("SELECT count(*) FROM r").fetchone() == (2,)  # visible inside the transaction
    con.rollback()
    assert cur.execute("SELECT count(*) FROM r").fetchone() == (0,)


def test_commit_persists_across_a_reopened_file_database(tmp_path):
    path = str(tmp_path / "db.duckdb")
    con = sqlpredict.connect(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE p (x INT)")
    cur.execute("INSERT INTO p VALUES (1)")
    con.commit()
    cur.execute("INSERT INTO p VALUES (2)")  # never committed
    con.close()  # PEP 249: closing without commit rolls back
    con = sqlpredict.connect(path)
    assert con.cursor().execute("SELECT x FROM p").fetchall() == [(1,)]
    con.close()


def test_autocommit_commits_each_statement(tmp_path):
    path = str(tmp_path / "auto.duckdb")
    assert sqlpredict.connect().autocommit is False  # the documented default, as pyodbc's
    con = sqlpredict.connect(path, autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE a (x INT)")
    cur.execute("INSERT INTO a VALUES (1)")
    con.rollback()  # nothing to undo
    con.close()
    con = sqlpredict.connect(path)
    assert con.cursor().execute("SELECT x FROM a").fetchall() == [(1,)]
    con.autocommit = True  # switching on commits what is pending
    con.close()


def test_context_manager_commits_and_closes(tmp_path):
    path = str(tmp_path / "cm.duckdb")
    with sqlpredict.connect(path) as con:
        con.cursor().execute("CREATE TABLE c (x INT)")
        con.cursor().execute("INSERT INTO c VALUES (5)")
    assert con.closed
    with pytest.raises(RuntimeError), sqlpredict.connect(path) as con:
        con.cursor().execute("INSERT INTO c VALUES (6)")
        raise RuntimeError("leave the block with an error")
    con = sqlpredict.connect(path)
    assert con.cursor().execute("SELECT x FROM c").fetchall() == [(5,)]
    con.close()


def test_providers_given_as_a_string_is_an_error_that_says_to_write_a_list():
    with pytest.raises(sqlpredict.ProgrammingError, match=r"providers takes a list of provider names, not the "
                       r"string 'CPUExecutionProvider'; write providers=\['CPUExecutionProvider'\]"):
        sqlpredict.connect(providers="CPUExecutionProvider")


def test_closed_connection_raises_on_any_use():
    con = sqlpredict.connect()
    cur = con.cursor()
    con.close()
    for use in (con.cursor, con.commit, con.rollback, con.interrupt, lambda: cur.execute("SELECT 1"),
                lambda: con.execute("SELECT 1")):
        with pytest.raises(sqlpredict.InterfaceError):
            use()
    assert issubclass(sqlpredict.InterfaceError, sqlpredict.Error)


LONG_QUERIES = {
    "cross join": "SELECT count(*) FROM range(1000000000) a, range(1000) b WHERE a.range + b.range < 0",
    "PREDICT": "SELECT count(*), sum(p.score) FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(i AS REAL) AS f0, "
               "CAST(i AS REAL) AS f1 FROM range(100000000) r(i)) AS d) WITH (score FLOAT) AS p",
}


@pytest.mark.parametrize("kind", sorted(LONG_QUERIES))
def test_interrupt_stops_a_running_query(con, kind):
    """interrupt() from another thread: OperationalError, DuckDB's error as cause, the connection goes on."""
    cur = con.cursor()
    sql = LONG_QUERIES[kind]
    params = [MODEL] if "?" in sql else None
    done = threading.Event()

    def keep_interrupting():  # repeated, in case the first call lands before the query starts
        while not done.wait(0.2):
            con.interrupt()

    timer = threading.Thread(target=keep_interrupting)
    timer.start()
    started = time.perf_counter()
    try:
        with pytest.raises(sqlpredict.OperationalError) as info:
            cur.execute(sql, params)
    finally:
        done.set()
        timer.join()
    print(f"{kind} interrupted after {time.perf_counter() - started:.2f} s")
    assert isinstance(info.value.__cause__, duckdb.InterruptException)
    assert cur.execute("SELECT 42").fetchone() == (42,)


def test_one_connection_shared_by_threads_each_with_a_cursor(scored):
    """threadsafety 2: four threads, one connection, a cursor each, PREDICT scored concurrently."""
    con, expected = scored
    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            cur = con.cursor()
            for _ in range(3):
                results.setdefault(n, []).append(cur.execute(PREDICT_QUERY, [MODEL]).fetchall())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [0, 1, 2, 3]
    for runs in results.values():
        for rows in runs:
            assert rows == expected  # exact, value for value, vs onnxruntime run directly


@pytest.mark.parametrize("kwargs, words", [
    ({"dialect": "postgres"}, ["dialect", "'tsql'", "'duckdb'", "'postgres'"]),
    ({"dialect": None}, ["dialect", "None"]),
    ({"threads": -3}, ["threads", "1 or more", "-3"]),
    ({"threads": 0}, ["threads", "1 or more", "None"]),
    ({"batch_size": 0}, ["batch_size", "1 or more", "0"]),
    ({"batch_size": "100"}, ["batch_size", "'100'"]),
    ({"session_cache_bytes": -1}, ["session_cache_bytes", "0 or more", "-1"]),
    ({"null_inputs": "bogus"}, ["null_inputs", "'propagate'", "'bogus'"]),
])
def test_bad_connect_arguments_are_programming_errors_that_say_what_is_accepted(kwargs, words):
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        sqlpredict.connect(**kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_good_connect_arguments_are_accepted():
    con = sqlpredict.connect(dialect="DuckDB", threads=1, batch_size=1, session_cache_bytes=0)
    assert con.dialect == "duckdb" and con.execute("SELECT 42").fetchall() == [(42,)]


# ---------------------------------------------------------------- cursor


def test_cursor_attributes(con):
    cur = con.cursor()
    assert cur.connection is con
    assert cur.arraysize == 1  # PEP 249's default
    assert cur.description is None and cur.rowcount == -1
    assert cur.lastrowid is None
    assert cur.messages == []


def test_execute_returns_the_cursor_and_fetches(con):
    cur = con.cursor()
    assert cur.execute("SELECT i FROM range(10) r(i) ORDER BY i") is cur
    assert cur.fetchone() == (0,)
    assert cur.fetchmany() == [(1,)]  # arraysize rows
    cur.arraysize = 3
    assert cur.fetchmany() == [(2,), (3,), (4,)]
    assert cur.fetchmany(2) == [(5,), (6,)]
    assert cur.fetchall() == [(7,), (8,), (9,)]
    assert cur.fetchone() is None
    assert cur.fetchmany() == [] and cur.fetchall() == []


def test_fetch_without_a_result_set_raises(con):
    cur = con.cursor()
    with pytest.raises(sqlpredict.Error):
        cur.fetchone()
    cur.execute("CREATE TABLE x (a INT)")
    assert cur.description is None
    for fetch in (cur.fetchone, cur.fetchmany, cur.fetchall):
        with pytest.raises(sqlpredict.ProgrammingError):
            fetch()


def test_rowcount_for_dml(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE d (x INT)")
    assert cur.rowcount == -1  # DDL: unknown
    assert cur.execute("INSERT INTO d SELECT i FROM range(5) r(i)").rowcount == 5
    assert cur.execute("UPDATE d SET x = x + 1 WHERE x >= 3").rowcount == 2
    assert cur.execute("DELETE FROM d WHERE x < 2").rowcount == 2
    assert cur.execute("SELECT * FROM d").rowcount == 3  # rows a query produced


def test_statements_that_return_rows_in_the_duckdb_dialect_give_them_as_duckdb_does():
    """DML ... RETURNING and PIVOT are result sets (DuckDB's own client gives these rows);
    rowcount is the number of rows, as for a query. CREATE TABLE AS reports the rows it wrote."""
    script = [
        "CREATE TABLE t (id INT, g VARCHAR, y DOUBLE)",
        "INSERT INTO t VALUES (7, 'a', 1.0), (8, 'b', 2.0) RETURNING id",
        "UPDATE t SET y = y + 1 WHERE id = 8 RETURNING id, y",
        "PIVOT t ON g USING sum(y) ORDER BY id",
        "DELETE FROM t WHERE id = 7 RETURNING *",
        "DELETE FROM t WHERE id = 100 RETURNING id",
        "INSERT INTO t VALUES (9, 'returning', 3.0)",
        "CREATE TABLE c AS SELECT * FROM t",
    ]
    duck = duckdb.connect()
    cur = sqlpredict.connect(dialect="duckdb").cursor()
    for sql in script:
        want = duck.execute(sql)
        want_rows = want.fetchall()
        cur.execute(sql)
        if sql.startswith(("CREATE TABLE c", "INSERT INTO t VALUES (9")):
            assert cur.description is None and cur.rowcount == want_rows[0][0], sql
            continue
        if sql.startswith("CREATE"):
            continue
        assert [d[:2] for d in cur.description] == [(d[0], str(d[1])) for d in want.description], sql
        assert cur.fetchall() == want_rows and cur.rowcount == len(want_rows), sql


def test_executemany_of_100000_rows(con, capsys):
    cur = con.cursor()
    cur.execute("CREATE TABLE m (id INT PRIMARY KEY, x FLOAT, s VARCHAR(20))")
    con.commit()
    rows = [(i, i / 3, f"s{i}") for i in range(100_000)]
    cur.executemany("INSERT INTO m (id, x, s) VALUES (?, ?, ?)", rows[:10])  # warm up Arrow's imports
    con.rollback()
    started = time.perf_counter()
    assert cur.executemany("INSERT INTO dbo.m (id, x, s) VALUES (?, ?, ?)", rows) is cur
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nexecutemany: 100,000 rows in {elapsed:.3f} s")
    assert cur.rowcount == 100_000
    assert cur.description is None
    assert cur.execute("SELECT id, x, s FROM m ORDER BY id").fetchall() == rows
    con.rollback()  # the rows were in the connection's transaction
    assert cur.execute("SELECT count(*) FROM m").fetchone() == (0,)


def test_executemany_expressions_nulls_and_row_by_row_fallback(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE e (id INT, x FLOAT, s VARCHAR(10))")
    cur.executemany("INSERT INTO e VALUES (?, ? * 2, UPPER(?))", [(1, 1.5, "a"), (2, None, "b")])
    assert cur.rowcount == 2
    cur.executemany("INSERT INTO e VALUES (?, ?, ?)", [(3, True, "c"), (4, 1, "d")])  # mixed types: row by row
    assert cur.rowcount == 2
    cur.executemany("UPDATE e SET s = ? WHERE id = ?", [("u", 1), ("v", 2), ("w", 99)])
    assert cur.rowcount == 2
    assert cur.execute("SELECT * FROM e ORDER BY id").fetchall() == [
        (1, 3.0, "u"), (2, None, "v"), (3, 1.0, "c"), (4, 1.0, "d")]
    with pytest.raises(sqlpredict.ProgrammingError):
        cur.executemany("INSERT INTO e VALUES (?, ?, ?)", [(5, 1.0, "x"), (6, 2.0)])
    with pytest.raises(sqlpredict.IntegrityError):
        cur.execute("CREATE TABLE u (id INT PRIMARY KEY)")
        cur.executemany("INSERT INTO u VALUES (?)", [(1,), (1,)])


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_executemany_stores_what_execute_stores_row_by_row(dialect):
    """PEP 249: executemany is the operation run once per row. Its one-statement path reads the values from
    a table, whose columns have types a `?` lacks: a CAST of one to INT still rounds as for `?` (README)."""
    con = sqlpredict.connect(dialect=dialect)
    cur = con.cursor()
    cur.execute("CREATE TABLE c (how VARCHAR(20), i INT, j BIGINT)")
    insert = "INSERT INTO c VALUES (?, CAST(? AS INT), CAST(? * 2 AS BIGINT))"
    rows = [(2.7, 1.25), (-2.7, -1.25), (0.5, 2.75)]
    for x, y in rows:
        cur.execute(insert, ["execute", x, y])
    cur.executemany(insert, [("executemany", x, y) for x, y in rows])
    got = cur.execute("SELECT how, i, j FROM c ORDER BY how, i").fetchall()
    assert [r[1:] for r in got if r[0] == "executemany"] == [r[1:] for r in got if r[0] == "execute"]
    con.close()


def test_executemany_with_predict_runs_row_by_row(scored):
    con, expected = scored
    cur = con.cursor()
    cur.execute("CREATE TABLE s (id INT, score FLOAT)")
    cur.executemany(
        "INSERT INTO s SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = (SELECT * FROM t WHERE id = ?) AS d) "
        "WITH (score FLOAT) AS p", [(MODEL, 3), (MODEL, 5)],
    )
    assert cur.rowcount == 2
    assert cur.execute("SELECT id, score FROM s ORDER BY id").fetchall() == [expected[3], expected[5]]


def test_nextset_over_a_multi_statement_operation(con):
    cur = con.cursor().execute("SELECT 1 AS a; SELECT 2 AS b, 3 AS c")
    assert cur.fetchall() == [(1,)]
    assert cur.nextset() is True
    assert [col[0] for col in cur.description] == ["b", "c"]
    assert cur.fetchall() == [(2, 3)]
    assert cur.nextset() is None  # PEP 249: None when there are no more sets
    assert cur.description is None


def test_nextset_starts_on_the_first_statement_with_rows(con):
    cur = con.cursor().execute("CREATE TABLE n (x INT); INSERT INTO n VALUES (7); SELECT x FROM n")
    assert cur.fetchall() == [(7,)]
    assert cur.nextset() is None


def test_callproc_of_a_missing_procedure_is_a_programming_error(con):
    with pytest.raises(sqlpredict.ProgrammingError, match="Could not find stored procedure 'dbo.score'"):
        con.cursor().callproc("dbo.score", [1])


def test_callproc_returns_the_parameters_with_output_values(con):
    """PEP 249: callproc returns a copy of the parameters, OUTPUT ones replaced; result sets are fetchable."""
    cur = con.cursor()
    cur.execute("CREATE PROCEDURE dbo.double_it @x INT, @y INT OUTPUT AS BEGIN SET @y = @x * 2 SELECT @x AS x END")
    assert cur.callproc("dbo.double_it", [21, None]) == [21, 42]
    assert cur.fetchall() == [(21,)]


def test_setinputsizes_and_setoutputsize_are_accepted(con):
    cur = con.cursor()
    cur.setinputsizes([None, 10])
    cur.setoutputsize(100)
    cur.setoutputsize(100, 0)
    assert cur.execute("SELECT 1").fetchall() == [(1,)]


def test_iteration(con):
    cur = con.cursor()
    assert iter(cur) is cur
    assert [row for row in cur.execute("SELECT i FROM range(3000) r(i) ORDER BY i")] == [(i,) for i in range(3000)]


def test_closed_cursor_raises_interface_error(con):
    cur = con.cursor()
    cur.execute("SELECT 1")
    cur.close()
    for use in (lambda: cur.execute("SELECT 1"), lambda: cur.executemany("SELECT ?", [(1,)]), cur.fetchone,
                cur.fetchall, cur.fetchmany, cur.nextset, cur.fetch_arrow_table, lambda: cur.callproc("p")):
        with pytest.raises(sqlpredict.InterfaceError):
            use()


def test_fetch_arrow_table_and_fetchdf(con):
    cur = con.cursor().execute("SELECT i AS n, i * 1.5 AS x FROM range(4) r(i) ORDER BY i")
    assert cur.fetchone() == (0, 0.0)
    table = cur.fetch_arrow_table()  # the rest of the result
    assert isinstance(table, pa.Table) and table.column_names == ["n", "x"] and table.num_rows == 3
    df = con.cursor().execute("SELECT 1 AS a, 'x' AS b").fetchdf()
    assert list(df.columns) == ["a", "b"] and df.iloc[0].tolist() == [1, "x"]


def test_fetchdf_without_pandas_says_so(con, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(sqlpredict.NotSupportedError, match="pandas"):
        con.cursor().execute("SELECT 1").fetchdf()


# Values whose Python form Arrow gets wrong or cannot make; DuckDB's own client is the reference.
DUCKDB_VALUES = [
    "340282366920938463463374607431768211455::UHUGEINT",  # UHUGEINT max (Arrow: -1)
    "(2::UHUGEINT ** 127)::UHUGEINT",
    "[340282366920938463463374607431768211455::UHUGEINT, NULL]",
    "map(['dog', 'cat'], [0.9, 0.1])",
    "[map(['a'], [1]), NULL]",
    "{'m': map([1, 2], ['x', 'y'])}",
    "map([[1], [2]], ['a', 'b'])",  # list keys: DuckDB gives its key and value lists
    "TIMETZ '12:00:00+02'",
    "TIMETZ '23:59:59.123456-05:30'",
    "{'t': TIMETZ '01:02:03+04'}",
    "'0101'::BIT",
    "['1'::BIT, '0110'::BIT]",
    "'123456789012345678901234567890'::VARINT",
    "(-5)::VARINT",
    "'infinity'::DATE", "'-infinity'::DATE", "DATE '10000-01-01'", "['infinity'::DATE, NULL]",
    "'infinity'::TIMESTAMP", "'-infinity'::TIMESTAMP", "'infinity'::TIMESTAMP_NS", "'infinity'::TIMESTAMP_MS",
    "'infinity'::TIMESTAMPTZ", "TIMESTAMP '10000-01-01'",
    "TIME '24:00:00'",
    "[1::HUGEINT, -2::HUGEINT]", "[INTERVAL 1 MONTH]", "{'i': INTERVAL 36 HOURS}",
    "1::HUGEINT", "INTERVAL 1 MONTH", "1.25::DECIMAL(5,2)", "TIMESTAMP_NS '2020-01-01 12:00:00.123456789'",
    "NULL::UHUGEINT", "NULL::BIT", "NULL::MAP(VARCHAR, INT)",
    "ROW(1, 'a')", "[ROW(1, 'b'), NULL]", "ROW(ROW(2, 3), {'y': ROW(4)})", "{'element1': 1}",
]


@pytest.mark.parametrize("expr", DUCKDB_VALUES)
def test_fetched_values_are_what_duckdbs_own_client_gives(expr):
    sql = f"SELECT {expr} AS v, 7 AS n"
    want = duckdb.connect().execute(sql).fetchall()
    cur = sqlpredict.connect(dialect="duckdb").cursor()
    got = cur.execute(sql).fetchall()
    assert got == want and [type(v) for v in got[0]] == [type(v) for v in want[0]]
    assert cur.description[0][1] == duckdb.connect().execute(sql).description[0][1].__str__()


def test_a_lossless_fetch_that_fails_leaves_later_results_in_standard_arrow():
    """A TIMETZ result is exported losslessly; when it fails midway (here inside a transaction with
    writes, which is then rolled back), the next results come back as before."""
    con = sqlpredict.connect(dialect="duckdb")
    cur = con.cursor()
    cur.execute("CREATE TABLE w (a INT)")
    cur.execute("INSERT INTO w VALUES (1)")
    with pytest.raises(sqlpredict.DataError):
        cur.execute("SELECT TIMETZ '12:00:00+02' AS t, CAST(s AS INT) AS i FROM (VALUES ('1'), ('x')) v(s)")
    table = cur.execute("SELECT 5::HUGEINT AS h, uuid() AS u").fetch_arrow_table()
    assert table.schema.types == [pa.decimal128(38, 0), pa.string()]
    assert cur.execute("SELECT 5::HUGEINT AS h").fetchall() == [(5,)]
    assert cur.execute("SELECT TIMETZ '12:00:00+02' AS t").fetch_arrow_table().schema.types == [pa.time64("us")]


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, sqlpredict.Binary])
def test_model_bytes_in_any_buffer_form(scored, wrap):
    con, expected = scored
    assert con.cursor().execute(PREDICT_QUERY, [wrap(MODEL)]).fetchall() == expected


def test_blob_parameters_in_any_buffer_form(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE models (id INT, data VARBINARY(MAX))")
    cur.executemany("INSERT INTO models VALUES (?, ?)", [(1, MODEL), (2, bytearray(MODEL)), (3, memoryview(MODEL))])
    cur.execute("INSERT INTO models VALUES (?, ?)", [4, memoryview(MODEL)])
    assert cur.execute("SELECT data FROM models ORDER BY id").fetchall() == [(MODEL,)] * 4


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_a_question_mark_inside_a_string_is_not_a_parameter(dialect):
    cur = sqlpredict.connect(dialect=dialect).cursor()
    assert cur.execute("SELECT '?' AS q").fetchall() == [("?",)]
    assert cur.execute("SELECT '?' AS q, ? AS v", [5]).fetchall() == [("?", 5)]


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_parameters_in_each_form_pyodbc_takes(scored, dialect):
    """pyodbc: execute(sql, a, b) or execute(sql, [a, b]) / (a, b); a lone str or bytes is one value."""
    con = sqlpredict.connect(dialect=dialect)
    cur = con.cursor()
    assert cur.execute("SELECT ? + 1", 5).fetchall() == [(6,)]
    assert cur.execute("SELECT ?, ?", 5, "b").fetchall() == [(5, "b")]
    assert cur.execute("SELECT ?, ?", [5, "b"]).fetchall() == [(5, "b")]
    assert cur.execute("SELECT ?, ?", (5, "b")).fetchall() == [(5, "b")]
    assert cur.execute("SELECT ?", "abc").fetchall() == [("abc",)]
    assert cur.execute("SELECT octet_length(?)", b"abcd").fetchall() == [(4,)]
    assert con.execute("SELECT ?, ?", 1, 2).fetchall() == [(1, 2)]
    assert con.execute("SELECT ?", [[1, 2]]).fetchall() == [([1, 2],)]  # a list value inside the list of values
    scored_con, expected = scored
    assert scored_con.cursor().execute(PREDICT_QUERY, MODEL).fetchall() == expected


@pytest.mark.parametrize("bad", [{"a": 1}, {1, 2}, frozenset([1])])
def test_a_dict_or_set_of_parameters_is_a_programming_error(con, bad):
    with pytest.raises(sqlpredict.ProgrammingError, match="list or tuple of values"):
        con.cursor().execute("SELECT ?", bad)
    with pytest.raises(sqlpredict.ProgrammingError, match="list or tuple of values"):
        con.execute("SELECT ?", bad)


def test_a_string_with_several_markers_is_a_count_error_not_a_type_error(con):
    with pytest.raises(sqlpredict.ProgrammingError, match="2 parameter markers.*1 values"):
        con.cursor().execute("SELECT ?, ?", "ab")


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_a_wrong_number_of_values_is_refused_before_anything_runs(dialect):
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    cur = con.cursor()
    with pytest.raises(sqlpredict.ProgrammingError, match="1 parameter markers"):
        cur.execute("CREATE TABLE made_early (a INT); INSERT INTO made_early VALUES (?)", [])
    assert cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'made_early'").fetchall() == [(0,)]


@pytest.fixture
def duck():
    """A DuckDB-dialect connection with t(f0, f1, name) and the linear model's direct score for each name."""
    con = sqlpredict.connect(dialect="duckdb", autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t AS SELECT i::REAL AS f0, (i*2)::REAL AS f1, 'x'||i AS name FROM range(5) r(i)")
    names, f0, f1 = zip(*cur.execute("SELECT name, f0, f1 FROM t ORDER BY name").fetchall())
    scores = run_direct(MODEL, {
        "f0": np.array(f0, dtype=np.float32).reshape(-1, 1),
        "f1": np.array(f1, dtype=np.float32).reshape(-1, 1),
    })[0].ravel().astype(np.float64)
    yield con, dict(zip(names, scores.tolist()))
    con.close()


DUCK_PREDICT = "PREDICT(MODEL = {model}, DATA = {data} AS d) WITH (score REAL) AS p"


def store_predict_view(cur, marker: str) -> None:
    """A stored PREDICT view `v`: with one, every statement is read by sqlglot, not by DuckDB alone.
    The model goes in through `marker`, so the marker kind is read on that path too."""
    cur.execute(f"CREATE TABLE models AS SELECT {marker}::BLOB AS data", [MODEL])
    cur.execute("CREATE VIEW v AS SELECT d.name, p.score FROM "
                + DUCK_PREDICT.format(model="(SELECT data FROM models)", data="t"))


@pytest.mark.parametrize("sql, params, names, extra", [
    ("SELECT d.name, p.score FROM {p} WHERE d.name = ?::VARCHAR", [MODEL, "x1"], ["x1"], ()),
    ("SELECT d.name, p.score, CAST(? AS INT) FROM {p} WHERE d.name = ?", ["7", MODEL, "x2"], ["x2"], (7,)),
    ("SELECT d.name, p.score, ?::INT FROM {p} WHERE d.name = ?::VARCHAR", ["8", MODEL, "x3"], ["x3"], (8,)),
    ("SELECT d.name, p.score FROM {in_data} ORDER BY d.name", [MODEL, "2"], ["x3", "x4"], ()),
])
def test_a_cast_marker_in_the_duckdb_dialect_reads_next_to_predict(duck, sql, params, names, extra):
    """`?::TYPE` is DuckDB's cast of a marker; it binds the next value wherever it stands, DATA included."""
    con, scores = duck
    sql = sql.format(p=DUCK_PREDICT.format(model="?", data="t"),
                     in_data=DUCK_PREDICT.format(model="?", data="(SELECT * FROM t WHERE f0 > ?::REAL)"))
    rows = con.cursor().execute(sql, params).fetchall()
    assert rows == [(name, scores[name], *extra) for name in names]


@pytest.mark.parametrize("stored_view", [False, True])
def test_a_cast_marker_in_the_duckdb_dialect_reads_without_predict(duck, stored_view):
    """With a stored PREDICT view, every statement is read by sqlglot: `?::` must read there too."""
    con, scores = duck
    cur = con.cursor()
    if stored_view:
        store_predict_view(cur, "?")
    assert cur.execute("SELECT ?::VARCHAR, CAST(? AS INT), ?::INT", [1, "2", "3"]).fetchall() == [("1", 2, 3)]
    if stored_view:
        rows = cur.execute("SELECT name, score FROM v WHERE name = ?::VARCHAR", ["x4"]).fetchall()
        assert rows == [("x4", scores["x4"])]


@pytest.mark.parametrize("sql, params, names, extra", [
    ("SELECT d.name, p.score FROM {p} WHERE d.name = $2", [MODEL, "x1"], ["x1"], ()),
    ("SELECT d.name, p.score FROM {p} WHERE d.name = $1::VARCHAR", ["x3", MODEL], ["x3"], ()),  # MODEL = $2
    ("SELECT d.name, p.score, $2 FROM {in_data} WHERE d.name = $2 OR d.name = $4 ORDER BY d.name",
     [MODEL, "x1", 3, "x2"], ["x1", "x2"], ("x1",)),
    ("SELECT d.name, p.score FROM {in_data} WHERE d.name <> $2 AND d.f0 < $3 ORDER BY d.name",
     [MODEL, "x0", 3], ["x1", "x2"], ()),
])
def test_numbered_markers_in_the_duckdb_dialect_take_their_values_next_to_predict(duck, sql, params, names, extra):
    """DuckDB's `$n` is the n-th value, wherever and however often it stands: MODEL, DATA and WHERE."""
    con, scores = duck
    model = "$2" if "$1::VARCHAR" in sql else "$1"
    sql = sql.format(p=DUCK_PREDICT.format(model=model, data="t"),
                     in_data=DUCK_PREDICT.format(model="$1", data="(SELECT * FROM t WHERE f0 < $3)"))
    rows = con.cursor().execute(sql, params).fetchall()
    assert rows == [(name, scores[name], *extra) for name in names]


@pytest.mark.parametrize("stored_view", [False, True])
def test_numbered_markers_in_the_duckdb_dialect_without_predict(duck, stored_view):
    con, scores = duck
    cur = con.cursor()
    if stored_view:
        store_predict_view(cur, "$1")
        assert cur.execute("SELECT name, score FROM v WHERE name = $1 OR name = $1", ["x2"]).fetchall() \
            == [("x2", scores["x2"])]
    assert cur.execute("SELECT $2, $1, $2", [1, "b"]).fetchall() == [("b", 1, "b")]


def test_numbered_markers_in_executemany_with_predict(duck):
    con, scores = duck
    cur = con.cursor()
    cur.execute("CREATE TABLE r (name VARCHAR, score REAL, again VARCHAR)")
    cur.executemany("INSERT INTO r SELECT d.name, p.score, $2 FROM "
                    + DUCK_PREDICT.format(model="$1", data="t") + " WHERE d.name = $2",
                    [[MODEL, "x1"], [MODEL, "x4"]])
    cur.executemany("INSERT INTO r VALUES ($1, $2, $1)", [["y", 1.5], ["z", 2.5]])  # the bulk path
    assert cur.execute("SELECT * FROM r ORDER BY name").fetchall() == [
        ("x1", scores["x1"], "x1"), ("x4", scores["x4"], "x4"), ("y", 1.5, "y"), ("z", 2.5, "z")]


@pytest.mark.parametrize("sql, params, message", [
    ("SELECT d.name FROM {p} WHERE d.name = ?", [MODEL, "x1"], r"both \? and \$n"),
    ("SELECT ?, $1", [1], r"both \? and \$n"),
    ("INSERT INTO t (name) VALUES ($1), (?)", ["a", "b"], r"both \? and \$n"),
    ("SELECT d.name FROM {p} WHERE d.name = $2", [MODEL, "x1", "x2"], r"2 parameter markers .*3 values"),
    ("SELECT d.name FROM {p} WHERE d.name = $3", [MODEL, "x1", "x2"], r"uses \$3 but not \$2"),
    ("SELECT d.name FROM {p} WHERE d.name = $3", [MODEL, "x1"], r"uses \$3 but not \$2"),
    ("SELECT d.name FROM {p} WHERE d.name = $0", [MODEL], r"start at \$1"),
    ("SELECT d.name FROM {p} WHERE d.name = $name", [MODEL], r"named parameter \$name is not supported"),
    ("SELECT $name", [1], r"named parameter \$name is not supported"),  # no PREDICT: DuckDB's own statement
    ("SELECT count(*) FROM t WHERE name = $who", [], r"named parameter \$who is not supported"),
    ("SELECT $1, $name", [1], r"named parameter \$name is not supported"),  # DuckDB: "not implemented"
])
def test_numbered_markers_follow_duckdbs_rules_or_say_why_not(duck, sql, params, message):
    """One kind of marker a statement, as many values as the highest $n, none left out, no names."""
    con, _ = duck
    with pytest.raises(sqlpredict.ProgrammingError, match=message):
        con.cursor().execute(sql.format(p=DUCK_PREDICT.format(model="$1", data="t")), params)
    assert con.cursor().execute("SELECT count(*) FROM t").fetchall() == [(5,)]


FORCED_CUDA = r'''
import sys, warnings
sys.path.insert(0, sys.argv[1])
import sqlpredict
from onnx_models import linear
try:
    sqlpredict.connect(providers=["CUDAExecutionProvider"])
    print("connected")
except sqlpredict.Error as exc:
    print(type(exc).__name__, exc)
con = sqlpredict.connect(providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
print(con.cursor().execute("SELECT p.score FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(1 AS REAL) AS f0, "
                           "CAST(2 AS REAL) AS f1) AS d) WITH (score FLOAT) AS p", [linear()]).fetchall())
'''


@pytest.mark.skipif(os.path.exists("/dev/nvidia0"), reason="a GPU is present: CUDA may run")
def test_cuda_demanded_where_it_cannot_run_is_an_error_and_a_preference_falls_back_with_one_warning():
    """onnxruntime alone prints pages of CUDA load errors and quietly scores on the CPU."""
    import subprocess
    from pathlib import Path

    run = subprocess.run([sys.executable, "-c", FORCED_CUDA, str(Path(__file__).resolve().parent)],
                         capture_output=True, text=True, check=True)
    lines = run.stdout.strip().splitlines()
    assert lines[0].startswith("OperationalError providers ['CUDAExecutionProvider'] ask for CUDA, but it cannot run")
    assert "CPUExecutionProvider" in lines[0]  # says how to fix it
    want = run_direct(linear(), {"f0": np.array([[1]], np.float32), "f1": np.array([[2]], np.float32)})[0]
    assert lines[1] == repr([(float(want[0, 0]),)])
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len([e for e in errors if "RuntimeWarning: sqlpredict: CUDA cannot run here" in e]) == 1
    assert ":onnxruntime:" not in run.stderr  # onnxruntime's own log lines: [E:onnxruntime:Default, ...]


def test_a_statement_sees_one_state_of_the_database_read_committed(tmp_path):
    """PREDICT reads DATA on a sibling connection; the rest of the statement on the user's own.
    A transaction without writes must not keep an older snapshot than that sibling sees."""
    path = str(tmp_path / "rc.duckdb")
    writer, reader = sqlpredict.connect(path), sqlpredict.connect(path)
    writer.execute("CREATE TABLE t (id INT, f0 REAL, f1 REAL)")
    writer.execute("INSERT INTO t VALUES (1, 0.5, 2)")
    writer.commit()
    assert reader.execute("SELECT count(*) FROM t").fetchall() == [(1,)]  # reader's transaction is open
    writer.execute("INSERT INTO t VALUES (2, 1.5, -1)")
    writer.commit()
    rows = reader.execute(
        "SELECT t.id, p.score FROM t LEFT JOIN PREDICT(MODEL = ?, DATA = t AS d) WITH (score FLOAT) AS p "
        "ON d.id = t.id ORDER BY t.id", [MODEL]).fetchall()
    f0, f1 = np.array([[0.5], [1.5]], np.float32), np.array([[2], [-1]], np.float32)
    want = run_direct(MODEL, {"f0": f0, "f1": f1})[0].ravel()
    assert rows == [(1, float(want[0])), (2, float(want[1]))]
    # With writes of its own, the reader keeps its transaction (and sees its own rows).
    reader.execute("INSERT INTO t VALUES (3, 0, 0)")
    writer.execute("INSERT INTO t VALUES (4, 0, 0)")
    writer.commit()
    assert reader.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,), (3,)]
    reader.rollback()
    assert reader.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,), (4,)]
    writer.close()
    reader.close()
