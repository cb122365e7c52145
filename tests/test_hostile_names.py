"""Hostile names work everywhere PREDICT names things; values are never spliced into SQL text.

Tables and columns named with quotes, brackets, semicolons, spaces and
non-ASCII letters are used in DATA, WITH and pass-through columns, in T-SQL
(`[a]]b]`) and DuckDB (`"a""b"`) quoting; model inputs and outputs carry such
names too. Parameter values that look like SQL stay values.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))

import onnx_models  # noqa: E402

import sqlpredict  # noqa: E402

NAMES = [
    "plain",
    "with space",
    "semi;colon",
    "quote'single",
    'quote"double',
    "bra[ck]et",
    "close]first",
    "ünïcödé_名前",
    "drop; DROP TABLE victim; --",
    "d.dot",
]


def tsql_quote(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def duck_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


QUOTE = {"tsql": tsql_quote, "duckdb": duck_quote}


def model_with(input_a: str, input_b: str, output: str) -> bytes:
    """score = a * 2 - b, with hostile input and output names."""
    import numpy as np
    from onnx import numpy_helper

    nodes = [helper.make_node("Mul", [input_a, "two"], ["m"]), helper.make_node("Sub", ["m", input_b], [output])]
    return onnx_models.make(
        nodes,
        [helper.make_tensor_value_info(input_a, TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info(input_b, TensorProto.FLOAT, ["N", 1])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", 1])],
        [numpy_helper.from_array(np.array([2.0], dtype=np.float32), "two")],
    )


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
@pytest.mark.parametrize("name", NAMES)
def test_hostile_table_column_and_model_names(dialect, name):
    q = QUOTE[dialect]
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE victim (x INT)")
    table, col_a, col_b, passthrough, out = (f"tbl {name}", f"a {name}", f"b{name}", f"id {name}", f"out {name}")
    cur.execute(f"CREATE TABLE {q(table)} ({q(passthrough)} INT, {q(col_a)} REAL, {q(col_b)} REAL)")
    cur.executemany(f"INSERT INTO {q(table)} VALUES (?, ?, ?)", [(1, 1.5, 0.5), (2, -2.0, 4.0)])
    model = model_with(col_a, col_b, out)
    sql = (f"SELECT d.{q(passthrough)}, p.{q(out)} FROM PREDICT(MODEL = ?, DATA = {q(table)} AS d, RUNTIME = ONNX) "
           f"WITH ({q(out)} REAL) AS p ORDER BY d.{q(passthrough)}")
    rows = cur.execute(sql, [model]).fetchall()
    assert rows == [(1, 2.5), (2, -8.0)]
    assert [c[0] for c in cur.description] == [passthrough, out]
    # No alias: the table's own name qualifies its columns; SELECT * gives data columns then outputs.
    rows = cur.execute(f"SELECT * FROM PREDICT(MODEL = ?, DATA = {q(table)}) WITH ({q(out)} REAL) AS p "
                       f"ORDER BY 1", [model]).fetchall()
    assert rows == [(1, 1.5, 0.5, 2.5), (2, -2.0, 4.0, -8.0)]
    # A derived table whose column aliases are hostile, and a WHERE on one of them.
    rows = cur.execute(
        f"SELECT p.{q(out)} FROM PREDICT(MODEL = ?, DATA = (SELECT {q(col_a)}, {q(col_b)}, {q(passthrough)} "
        f"FROM {q(table)}) AS d) WITH ({q(out)} REAL) AS p WHERE d.{q(passthrough)} = 2", [model]).fetchall()
    assert rows == [(-8.0,)]
    assert cur.execute("SELECT COUNT(*) FROM victim").fetchall() == [(0,)]
    con.close()


INJECTIONS = ["'); DROP TABLE victim; --", "\"; DROP TABLE victim; --", "]; DROP TABLE victim; --",
              "1 OR 1=1", "?", "$1", "@m", "0x00", "\x00", "ü'\"]"]


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_parameter_values_are_never_spliced(dialect):
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE victim (x INT)")
    cur.execute("INSERT INTO victim VALUES (1)")
    cur.execute("CREATE TABLE t (id INT, tag VARCHAR, f0 REAL, f1 REAL)")
    for i, value in enumerate(INJECTIONS):
        cur.execute("INSERT INTO t VALUES (?, ?, ?, ?)", [i, value, float(i), 1.0])
    assert cur.execute("SELECT tag FROM t ORDER BY id").fetchall() == [(v,) for v in INJECTIONS]
    model = onnx_models.linear()
    for value in INJECTIONS:
        # As a filter value inside DATA and in the outer WHERE (both pushed into DATA's own query).
        rows = cur.execute(
            "SELECT d.tag, p.score FROM PREDICT(MODEL = ?, DATA = (SELECT * FROM t WHERE tag = ?) AS d) "
            "WITH (score REAL) AS p WHERE d.tag = ?", [model, value, value]).fetchall()
        assert [r[0] for r in rows] == [value]
        # As the MODEL value: it is bytes that are not a model, never SQL.
        with pytest.raises(sqlpredict.ProgrammingError, match="^PREDICT: "):
            cur.execute("SELECT * FROM PREDICT(MODEL = ?, DATA = t) WITH (score REAL) AS p", [value.encode()])
    assert cur.execute("SELECT x FROM victim").fetchall() == [(1,)]
    con.close()


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_hostile_names_in_insert_select(dialect):
    q = QUOTE[dialect]
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    cur = con.cursor()
    src, dst = "src ]\"'; x", "dst ]\"'; ü"
    cur.execute(f"CREATE TABLE {q(src)} ({q('f0')} REAL, {q('f1')} REAL, {q('k ;]')} INT)")
    cur.executemany(f"INSERT INTO {q(src)} VALUES (?, ?, ?)", [(1.0, 2.0, 7), (3.0, 4.0, 8)])
    score_col = q('s c]o"re')
    cur.execute(f"CREATE TABLE {q(dst)} ({q('k ;]')} INT, {score_col} REAL)")
    cur.execute(f"INSERT INTO {q(dst)} SELECT d.{q('k ;]')}, p.score FROM PREDICT(MODEL = ?, DATA = {q(src)} AS d) "
                f"WITH (score REAL) AS p", [onnx_models.linear()])
    got = cur.execute(f"SELECT * FROM {q(dst)} ORDER BY 1").fetchall()
    expected = onnx_models.run_direct(onnx_models.linear(), {"f0": np.array([[1.0], [3.0]], dtype=np.float32),
                                                              "f1": np.array([[2.0], [4.0]], dtype=np.float32)})[0]
    assert got == [(7, float(expected[0, 0])), (8, float(expected[1, 0]))]
    con.close()
