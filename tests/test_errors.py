"""One test per error the spec names (sections 2, 4, 5 and 8).

Each checks the PEP 249 class, that the message starts with `PREDICT:` and
names the object (input, column, output, model), what it says about the fix,
and that the connection still runs a PREDICT afterwards.
"""

from __future__ import annotations

import os
import re
import threading
import time

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_models import run_direct

import sqlpredict

OPSET = [helper.make_opsetid("", 17)]
F, D, I64 = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64


def model(nodes, inputs, outputs, initializers=(), opsets=OPSET) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, ir_version=9, opset_imports=list(opsets)).SerializeToString()


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def identity(elem=F, shape=("N", 1), name="x") -> bytes:
    return model([helper.make_node("Identity", [name], ["y"])], [vi(name, elem, list(shape))],
                 [vi("y", elem, list(shape))])


IDENTITY = identity()
GOOD_QUERY = "SELECT d.id, p.y FROM PREDICT(MODEL = ?, DATA = t AS d, RUNTIME = ONNX) WITH (y REAL) AS p ORDER BY d.id"


@pytest.fixture
def con():
    """A T-SQL connection with t(id INT, x REAL) = (1, 1.5), (2, NULL) and an empty models table."""
    con = sqlpredict.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT, x REAL)")
    cur.execute("INSERT INTO t VALUES (1, 1.5), (2, NULL)")
    cur.execute("CREATE TABLE models (id INT IDENTITY(1,1), data VARBINARY(MAX), description VARCHAR(1000))")
    yield con
    still_works(con)
    con.close()


def still_works(con) -> None:
    """After any error the same connection scores again."""
    cur = con.cursor()
    cur.execute(GOOD_QUERY, [IDENTITY])
    assert cur.fetchall() == [(1, 1.5), (2, None)]


def fails(con, cls, sql, params=(), *, parse_error=False):
    """Run sql; it must raise exactly `cls` (a PEP 249 class); return the message.

    parse_error: the statement fails while being read; see test_parse_errors_start_with_predict.
    """
    with pytest.raises(sqlpredict.Error) as info:
        con.cursor().execute(sql, list(params))
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert isinstance(info.value, sqlpredict.DatabaseError)
    message = str(info.value)
    if parse_error:
        assert "PREDICT:" in message and "\x1b[" not in message, message
    else:
        assert message.startswith("PREDICT:"), message
    return message


# ------------------------------------------------------------------ binding (spec 2, 3)


def test_missing_input_column(con):
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = (SELECT id, x AS z FROM t) AS d) WITH (y REAL) AS p",
                    [IDENTITY])
    assert "input 'x'" in message
    assert "tensor(float)" in message  # its ONNX type
    assert '"id"' in message and '"z"' in message  # the DATA columns that exist
    assert "AS x" in message  # how to supply it


def test_type_mismatch_names_the_fix(con):
    con.cursor().execute("CREATE TABLE f0t (f0 FLOAT)")
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = f0t AS d) WITH (y REAL) AS p", [identity(name="f0")])
    assert message == ("PREDICT: input 'f0' expects real (tensor(float)) but column \"f0\" is float; "
                       "write CAST(f0 AS REAL) AS f0 in DATA")


@pytest.mark.parametrize(("column_type", "fix"), [
    ("BIGINT", "CAST(x AS INT)"), ("NUMERIC(10,2)", "CAST(x AS INT)"),
    ("DATETIME2", "CAST(DATEDIFF(second, '1970-01-01', x) AS INT)"),
    ("VARCHAR(10)", "CAST(x AS INT)"), ("FLOAT", "CAST(x AS INT)"), ("DATE", "CAST(DATEDIFF(second, '1970-01-01', x) AS INT)"),
])
def test_lossy_column_types_are_type_errors(con, column_type, fix):
    con.cursor().execute(f"CREATE TABLE lossy (x {column_type})")
    int_model = identity(TensorProto.INT32)
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = lossy AS d) WITH (y INT) AS p", [int_model])
    assert message.startswith("PREDICT: input 'x' expects int (tensor(int32)) but column \"x\" is ")
    assert f"write {fix} AS x in DATA" in message


def test_nk_input_with_a_scalar_column(con):
    vec = identity(F, ("N", 3))
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p", [vec])
    assert "input 'x'" in message
    assert "[N,3]" in message  # its shape
    assert "array" in message and "CAST(list_value(v1, v2, v3) AS REAL[3]) AS x" in message  # in T-SQL types
    # the fix, written as the message says, binds
    fixed = ("SELECT p.y FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(list_value(x, x + 1, 2 * x) AS REAL[3]) AS x "
             "FROM t WHERE id = 1) AS d) WITH (y REAL[3]) AS p")
    assert con.cursor().execute(fixed, [vec]).fetchall() == [([1.5, 2.5, 3.0],)]


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_array_and_list_columns_of_the_wrong_shape_get_a_fix_that_binds(dialect):
    """No CAST changes an array's length or makes a list one value: the fixes build what the input takes."""
    con = sqlpredict.connect(dialect=dialect)
    cur = con.cursor()
    vec, scalar = identity(F, ("N", 3)), identity(F)
    for model, data in ((vec, "SELECT CAST(list_value(1, 2) AS REAL[2]) AS x"),
                        (scalar, "SELECT list_value(CAST(1.5 AS REAL), 2) AS x"),
                        (scalar, "SELECT CAST(list_value(1.5, 2) AS REAL[2]) AS x")):
        query = f"SELECT p.* FROM PREDICT(MODEL = ?, DATA = ({data}) AS d) AS p"
        message = fails(con, sqlpredict.ProgrammingError, query, [model])
        fix = re.search(r"write (CAST\(.*\) AS x) in DATA", message).group(1)
        if "list_value(v1" in fix:
            fix = fix.replace("v1, v2, v3", "list_extract(x, 1), list_extract(x, 2), 3")
        cur.execute(f"SELECT p.* FROM PREDICT(MODEL = ?, DATA = (SELECT {fix} FROM ({data}) AS s) AS d) AS p", [model])
        assert cur.fetchall() == ([([1.0, 2.0, 3.0],)] if model is vec else [(1.5,)])


def test_nk_input_binds_to_an_array_column():
    """The beyond-SQL-Edge way out of the error above works as the message says."""
    con = sqlpredict.connect(dialect="duckdb")
    cur = con.cursor()
    cur.execute("SELECT p.y FROM PREDICT(MODEL = ?, DATA = (SELECT [1, 2, 3]::FLOAT[3] AS x) AS d) "
                "WITH (y FLOAT[3]) AS p", [identity(F, ("N", 3))])
    assert [list(row[0]) for row in cur.fetchall()] == [[1.0, 2.0, 3.0]]


# ------------------------------------------------------------------ WITH (spec 4)


def test_with_name_that_is_not_an_output(con):
    two = model([helper.make_node("Identity", ["x"], ["label"]), helper.make_node("Identity", ["x"], ["probs"])],
                [vi("x", F, ["N", 1])], [vi("label", F, ["N", 1]), vi("probs", F, ["N", 1])])
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score REAL) AS p", [two])
    assert "WITH column 'score'" in message
    assert "'label' tensor(float) [N,1]" in message and "'probs' tensor(float) [N,1]" in message


def test_with_scalar_type_for_an_nk_output(con):
    vec_out = model([helper.make_node("Concat", ["x", "x", "x"], ["probs"], axis=1)],
                    [vi("x", F, ["N", 1])], [vi("probs", F, ["N", 3])])
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.probs FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (probs REAL) AS p", [vec_out])
    assert "output 'probs'" in message and "[N,3]" in message
    assert "3 values" in message and "array" in message
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.probs FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (probs REAL[2]) AS p", [vec_out])
    assert message.endswith("e.g. probs real[3]")  # T-SQL's FLOAT[3] would be double


def test_with_type_errors_name_types_as_t_sql_writes_them(con):
    """T-SQL's TINYINT is DuckDB's UTINYINT, and its NUMERIC is DuckDB's DECIMAL: messages use the user's words."""
    con.cursor().execute("CREATE TABLE wide (x REAL)")
    con.cursor().execute("INSERT INTO wide VALUES (1000.5)")
    message = fails(con, sqlpredict.DataError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = wide AS d) WITH (y TINYINT) AS p", [identity(F)])
    assert "column y declared as tinyint in WITH" in message and "1000.5" in message
    assert "UTINYINT" not in message and "source column" not in message  # DuckDB's words for its scratch table
    message = fails(con, sqlpredict.DataError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = wide AS d) WITH (y NUMERIC(3,1)) AS p", [identity(F)])
    assert "declared as numeric(3, 1) in WITH" in message
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y DATE) AS p", [identity(F)])
    assert "WITH declares y as date, but output 'y' gives real values" in message and message.endswith("e.g. y real")


@pytest.mark.parametrize("declared", ["BIT", "BITSTRING"])
def test_a_bit_string_in_with_is_refused_in_the_duckdb_dialect(declared):
    """DuckDB's BIT is a bit string, which reached the statement as a BLOB of its internal bytes;
    T-SQL's BIT is a boolean, and stays one."""
    duck = sqlpredict.connect(dialect="duckdb")
    duck.cursor().execute("CREATE TABLE t (id INT, x REAL)")
    duck.cursor().execute("INSERT INTO t VALUES (1, 1.5), (2, 0)")
    message = fails(duck, sqlpredict.ProgrammingError,
                    f"SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y {declared}) AS p", [IDENTITY])
    assert "bit string" in message and "BOOLEAN" in message
    tsql = sqlpredict.connect()
    tsql.cursor().execute("CREATE TABLE t (id INT, x REAL)")
    tsql.cursor().execute("INSERT INTO t VALUES (1, 1.5), (2, 0)")
    rows = tsql.cursor().execute("SELECT d.id, p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y BIT) AS p "
                                 "ORDER BY d.id", [IDENTITY]).fetchall()
    want = run_direct(IDENTITY, {"x": np.array([[1.5], [0]], np.float32)})[0].ravel()
    assert rows == [(1, bool(want[0])), (2, bool(want[1]))]


def test_overflow_of_a_declared_type_is_a_data_error(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE big (id INT, x BIGINT)")
    cur.execute("INSERT INTO big VALUES (1, 3000000000)")
    message = fails(con, sqlpredict.DataError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = big AS d) WITH (y INT) AS p", [identity(I64)])
    assert "output 'y'" in message and "column y" in message
    assert "3000000000" in message
    # A value that fits goes through with CAST semantics.
    cur.execute("UPDATE big SET x = 7")
    cur.execute("SELECT p.y FROM PREDICT(MODEL = ?, DATA = big AS d) WITH (y INT) AS p", [identity(I64)])
    assert cur.fetchall() == [(7,)]


def test_overflow_names_the_types_as_the_query_writes_them(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE big (id INT, x BIGINT)")
    cur.execute("INSERT INTO big VALUES (1, 7), (2, 300)")
    message = fails(con, sqlpredict.DataError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = big AS d) WITH (y TINYINT) AS p", [identity(I64)])
    assert message == ("PREDICT: output 'y' gives the value 300, which does not fit column y declared as tinyint in "
                       "WITH; declare a wider type in WITH, e.g. y bigint")


# ------------------------------------------------------------------ d. and p. references (spec 1)

LABELLED = "PREDICT(MODEL = ?, DATA = (SELECT id, x, CAST(-1 AS REAL) AS y FROM t) AS d) WITH (y REAL) AS p"


@pytest.mark.parametrize("sql", [
    f"SELECT id, y FROM {LABELLED}",
    f"SELECT d.id FROM {LABELLED} WHERE y > 0",
    f"SELECT d.id, p.y + 1 AS z FROM {LABELLED} ORDER BY y",
])
def test_a_name_that_is_both_a_data_column_and_an_output_is_ambiguous(con, sql):
    """SQL Server's Msg 209: an unqualified y could be DATA's y or the output y."""
    message = fails(con, sqlpredict.ProgrammingError, sql, [IDENTITY])
    assert "ambiguous column name 'y'" in message and "d.y" in message and "p.y" in message


def test_qualified_names_and_stars_keep_both_columns_of_one_name(con):
    want = run_direct(IDENTITY, {"x": np.array([[1.5]], np.float32)})[0].item()
    cur = con.cursor()
    cur.execute(f"SELECT d.y, p.y AS y FROM {LABELLED} WHERE d.id = 1 ORDER BY y", [IDENTITY])
    assert cur.fetchall() == [(-1.0, want)]
    cur.execute(f"SELECT * FROM {LABELLED} WHERE d.id = 1", [IDENTITY])
    assert cur.fetchall() == [(1, 1.5, -1.0, want)]


@pytest.mark.parametrize(("select", "words"), [
    ("d.nope", ["d.nope is not a column of DATA", "t AS d", "id, x"]),
    ("d.y", ["d.y is not a column of DATA", "id, x", "y is a PREDICT output"]),
    ("p.nope", ["p.nope is not a PREDICT output", "WITH declares: y"]),
    ("p.id", ["p.id is not a PREDICT output", "id is a DATA column"]),
])
def test_an_unknown_d_or_p_column_names_what_exists(con, select, words):
    message = fails(con, sqlpredict.ProgrammingError,
                    f"SELECT {select} FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p", [IDENTITY])
    assert "__sqlpredict" not in message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize(("sql", "cls", "words"), [
    ("SELECT nope FROM {p}", sqlpredict.ProgrammingError, ['"nope"', 'Candidate bindings: "y"']),
    ("SELECT d.id FROM {p} WHERE p.y = 'abc'", sqlpredict.DataError, ["'abc'", "p.y = 'abc'"]),
    # DuckDB quotes this line cut short, in the middle of a private name
    ("SELECT d.id - 'abc' FROM {p}", sqlpredict.DataError, ["'abc'", "- 'abc' FROM p AS p"]),
])
def test_duckdb_errors_about_a_predict_statement_use_its_own_names(con, sql, cls, words):
    """Errors DuckDB raises on the rewritten statement name the statement's aliases, not private streams."""
    with pytest.raises(cls) as info:
        con.cursor().execute(sql.format(p="PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p"), [IDENTITY])
    message = str(info.value)
    assert "__sqlpredict" not in message and "__duckdb" not in message and "^" not in message, message
    for word in words:
        assert word in message, (word, message)


# ------------------------------------------------------------------ NULL and odd values (spec 5)


def test_null_model_from_a_query_that_finds_no_row(con):
    message = fails(con, sqlpredict.DataError,
                    "SELECT p.y FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 999), DATA = t AS d) "
                    "WITH (y REAL) AS p")
    assert "MODEL is NULL" in message
    assert "the model query found no row" in message
    assert "SELECT data FROM models WHERE id = 999" in message  # points at the model query


@pytest.mark.parametrize(("model_query", "found"), [
    ("(SELECT data FROM models)", "more than one row"),
    ("(SELECT data, description FROM models WHERE id = 1)", "2 columns"),
])
def test_a_model_query_that_finds_several_models_says_so(con, model_query, found):
    con.cursor().execute("INSERT INTO models (data, description) VALUES (?, 'a'), (?, 'b')", [IDENTITY, IDENTITY])
    message = fails(con, sqlpredict.ProgrammingError,
                    f"SELECT p.y FROM PREDICT(MODEL = {model_query}, DATA = t AS d) WITH (y REAL) AS p")
    assert f"the MODEL query returned {found}" in message and model_query in message
    assert "WHERE id = 1" in message  # how to select one
    assert "scalar_subquery" not in message  # DuckDB's setting is no fix for the query


def test_null_model_from_a_parameter(con):
    message = fails(con, sqlpredict.DataError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p", [None])
    assert "MODEL is NULL" in message and "the parameter given for MODEL = ? is None" in message


@pytest.mark.parametrize("assign", ["DECLARE @model VARBINARY(MAX) = (SELECT data FROM models WHERE id = 42)",
                                    "DECLARE @model VARBINARY(MAX)\nSET @model = (SELECT data FROM models WHERE id = 42)"])
def test_null_model_from_a_variable_names_the_variable(con, assign):
    message = fails(con, sqlpredict.DataError,
                    assign + "\nSELECT p.y FROM PREDICT(MODEL = @model, DATA = t AS d) WITH (y REAL) AS p")
    assert "MODEL is NULL: @model holds NULL" in message and "DECLARE or SET of @model" in message
    assert "?" not in message  # the script has no parameter marker


@pytest.mark.parametrize("blob", [b"not a model at all", IDENTITY[: len(IDENTITY) // 2], b"", b"\x00" * 64])
def test_corrupt_model_bytes(con, blob):
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p", [blob])
    assert "model is corrupt or invalid" in message
    assert len(message) > len("PREDICT: model is corrupt or invalid") + 5  # the parser's reason


def test_null_inputs_error_names_the_column():
    con = sqlpredict.connect(null_inputs="error")
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT, x REAL)")
    cur.execute("INSERT INTO t VALUES (1, 1.5), (2, NULL)")
    message = fails(con, sqlpredict.DataError, GOOD_QUERY, [IDENTITY])
    assert 'column "x"' in message and "NULL" in message and "null_inputs" in message
    cur.execute("SELECT d.id, p.y FROM PREDICT(MODEL = ?, DATA = (SELECT * FROM t WHERE x IS NOT NULL) AS d) "
                "WITH (y REAL) AS p", [IDENTITY])
    assert cur.fetchall() == [(1, 1.5)]


# ------------------------------------------------------------------ files and libraries (spec 5)


def external_model(location: str) -> bytes:
    """y = x + w, where w's data is said to live in the file `location`."""
    w = numpy_helper.from_array(np.ones((1, 1), np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "4")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    return model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", F, ["N", 1])], [vi("y", F, ["N", 1])], [w])


class FifoWatch:
    """A named pipe that notices if anything opens it for reading, without ever blocking it.

    Opening a FIFO for writing with O_NONBLOCK succeeds only while a reader has it
    open; a reader that got in sees EOF as soon as we close, so nothing hangs.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        os.mkfifo(path)
        self.opened = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.001)
                continue
            self.opened = True
            os.close(fd)

    def __enter__(self) -> FifoWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def test_external_data_refused_when_the_file_does_not_exist(con, tmp_path):
    missing = str(tmp_path / "nowhere" / "weights.bin")
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p", [external_model(missing)])
    assert "model is refused" in message and "tensor 'w'" in message and "external" in message
    assert "save_as_external_data=False" in message  # how to fix it


@pytest.mark.parametrize("relative", [False, True])
def test_external_data_refused_without_opening_an_existing_file(con, tmp_path, monkeypatch, relative):
    path = tmp_path / "weights.bin"
    monkeypatch.chdir(tmp_path)
    with FifoWatch(str(path)) as watch:
        blob = external_model("weights.bin" if relative else str(path))
        message = fails(con, sqlpredict.ProgrammingError,
                        "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p", [blob])
    assert "model is refused" in message and "external" in message
    assert not watch.opened, "the model value made the engine open its external data file"


def _external_tensor(location: str, name: str) -> TensorProto:
    tensor = numpy_helper.from_array(np.ones((1,), np.float32), name)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "4")):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def sparse_constant_model(location: str) -> bytes:
    """y = x + k, k a Constant whose sparse_value keeps its values in the file `location`."""
    sparse = helper.make_sparse_tensor(_external_tensor(location, "k_values"),
                                       numpy_helper.from_array(np.array([0], np.int64), "k_indices"), [1])
    nodes = [helper.make_node("Constant", [], ["k"], sparse_value=sparse), helper.make_node("Add", ["x", "k"], ["y"])]
    return model(nodes, [vi("x", F, ["N", 1])], [vi("y", F, ["N", 1])])


def function_constant_model(location: str) -> bytes:
    """y = AddK(x), a model-local function whose body's Constant keeps its value in the file `location`."""
    body = [helper.make_node("Constant", [], ["k"], value=_external_tensor(location, "k")),
            helper.make_node("Add", ["a", "k"], ["b"])]
    function = helper.make_function("local.fn", "AddK", ["a"], ["b"], body, OPSET)
    graph = helper.make_graph([helper.make_node("AddK", ["x"], ["y"], domain="local.fn")], "g",
                              [vi("x", F, ["N", 1])], [vi("y", F, ["N", 1])])
    proto = helper.make_model(graph, opset_imports=OPSET + [helper.make_opsetid("local.fn", 1)],
                              functions=[function])
    proto.ir_version = 9
    return proto.SerializeToString()


@pytest.mark.parametrize("build", [sparse_constant_model, function_constant_model])
def test_external_data_in_a_sparse_constant_or_a_function_body_is_refused_without_opening_it(
        con, tmp_path, monkeypatch, build):
    """A sparse Constant was not looked at: onnxruntime read a file of the working directory into it."""
    monkeypatch.chdir(tmp_path)
    with FifoWatch(str(tmp_path / "weights.bin")) as watch:
        message = fails(con, sqlpredict.ProgrammingError,
                        "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p",
                        [build("weights.bin")])
    assert "model is refused" in message and "external" in message
    assert not watch.opened, "the model value made the engine open its external data file"


def test_custom_op_domain_refused(con):
    blob = model([helper.make_node("Foo", ["x"], ["y"], domain="my.custom.ops")],
                 [vi("x", F, ["N", 1])], [vi("y", F, ["N", 1])],
                 opsets=OPSET + [helper.make_opsetid("my.custom.ops", 1)])
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p", [blob])
    assert "model is refused" in message and "my.custom.ops" in message and "custom" in message


# ------------------------------------------------------------------ syntax (spec 1, 8)


@pytest.mark.parametrize("runtime", ["R", "ONNXRUNTIME", "PYTHON", "ONNX2"])
def test_runtime_other_than_onnx(con, runtime):
    message = fails(con, sqlpredict.ProgrammingError,
                    f"SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d, RUNTIME = {runtime}) WITH (y REAL) AS p",
                    [IDENTITY], parse_error=True)
    assert "RUNTIME" in message and "ONNX" in message


@pytest.mark.parametrize("runtime", ["ONNX", "onnx", "Onnx"])
def test_runtime_onnx_any_case(con, runtime):
    cur = con.cursor()
    cur.execute(f"SELECT d.id, p.y FROM predict(model = ?, data = t AS d, runtime = {runtime}) WITH (y REAL) AS p "
                "ORDER BY d.id", [IDENTITY])
    assert cur.fetchall() == [(1, 1.5), (2, None)]


@pytest.mark.parametrize(("args", "params", "words"), [
    ("MODEL = ?", [IDENTITY], ["DATA", "missing"]),
    ("DATA = t AS d", [], ["MODEL", "missing"]),
    ("DATA = t AS d, MODEL = ?", [IDENTITY], ["MODEL", "order"]),
    ("MODEL = ?, RUNTIME = ONNX, DATA = t AS d", [IDENTITY], ["DATA", "order"]),
    ("MODEL = ?, MODEL = ?, DATA = t AS d", [IDENTITY, IDENTITY], ["MODEL", "twice"]),
    ("MODEL = ?, DATA = t AS d, DATA = t AS e", [IDENTITY], ["DATA", "twice"]),
    ("MODEL = ?, DATA = t AS d, RUNTIME = ONNX, RUNTIME = ONNX", [IDENTITY], ["RUNTIME", "twice"]),
    ("MODEL ?, DATA = t AS d", [IDENTITY], ["'='", "MODEL"]),
    ("MODEL = ?, DATA = t AS d, INPUT = x", [IDENTITY], ["MODEL", "DATA", "RUNTIME"]),
])
def test_bad_predict_syntax(con, args, params, words):
    message = fails(con, sqlpredict.ProgrammingError,
                    f"SELECT p.y FROM PREDICT({args}) WITH (y REAL) AS p", params, parse_error=True)
    for word in words:
        assert word in message, (word, message)


def test_bad_syntax_in_the_duckdb_dialect():
    con = sqlpredict.connect(dialect="duckdb")
    con.cursor().execute("CREATE TABLE t (x FLOAT)")
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(DATA = t AS d, MODEL = ?) WITH (y FLOAT) AS p", [IDENTITY],
                    parse_error=True)
    assert "out of order" in message


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_parse_errors_start_with_predict(dialect):
    con = sqlpredict.connect(dialect=dialect)
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        con.cursor().execute("SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d, RUNTIME = R) AS p", [IDENTITY])
    assert str(info.value).startswith("PREDICT: RUNTIME = R is not supported"), str(info.value)


def test_every_error_leaves_the_connection_usable_in_a_transaction():
    """With autocommit off (PEP 249's default), a PREDICT error does not poison the transaction."""
    con = sqlpredict.connect()
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT, x REAL)")
    cur.execute("INSERT INTO t VALUES (1, 1.5), (2, NULL)")
    con.commit()
    for sql, params in [
        ("SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (nope REAL) AS p", [IDENTITY]),
        ("SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p", [b"junk"]),
        ("SELECT p.y FROM PREDICT(MODEL = ?) WITH (y REAL) AS p", [IDENTITY]),
    ]:
        with pytest.raises(sqlpredict.ProgrammingError):
            cur.execute(sql, params)
        still_works(con)
    cur.execute("INSERT INTO t VALUES (3, 2.5)")
    with pytest.raises(sqlpredict.ProgrammingError):
        cur.execute("SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (nope REAL) AS p", [IDENTITY])
    cur.execute(GOOD_QUERY, [IDENTITY])
    assert cur.fetchall() == [(1, 1.5), (2, None), (3, 2.5)]


def test_a_sequence_output_named_in_with_is_a_type_error_not_a_crash(con):
    """A non-tensor output that is not a map (here a sequence of tensors) has no SQL type."""
    x = helper.make_tensor_value_info("x", F, ["N", 1])
    y = helper.make_tensor_value_info("y", F, ["N", 1])
    seq = helper.make_tensor_sequence_value_info("s", F, None)
    nodes = [helper.make_node("Identity", ["x"], ["y"]), helper.make_node("SequenceConstruct", ["x"], ["s"])]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y, seq]),
                              opset_imports=[helper.make_opsetid("", 17)], ir_version=9).SerializeToString()
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.s FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (s FLOAT) AS p", [model])
    assert message.startswith("PREDICT: output 's' has type seq(tensor(float)), which has no SQL type"), message
    rows = con.cursor().execute("SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) AS p", [model]).fetchall()
    assert rows  # without WITH, the sequence is left out and the tensor output comes back


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
@pytest.mark.parametrize("name", ["unit price", "select", "Order"])
def test_fixes_quote_names_that_need_it_and_run_as_written(dialect, name):
    """A fix names columns as the dialect must write them: with a space, or a keyword, quoted."""
    con = sqlpredict.connect(dialect=dialect, null_inputs="error")
    cur = con.cursor()
    quoted = sqlpredict.dialects.quote_identifier(name, sqlpredict.dialects.get_dialect(dialect))
    cur.execute(f"CREATE TABLE q (id INT, {quoted} DOUBLE)")
    cur.execute(f"INSERT INTO q VALUES (1, 1.5), (2, NULL)")
    model = identity(name=name)
    query = "SELECT d.id, p.y FROM PREDICT(MODEL = ?, DATA = {}) WITH (y REAL) AS p"
    cast = fails(con, sqlpredict.ProgrammingError, query.format("q AS d"), [model])
    fix = re.search(r"write (.*) in DATA", cast).group(1)
    nulls = fails(con, sqlpredict.DataError, query.format(f"(SELECT id, {fix} FROM q) AS d"), [model])
    keep = re.search(r"\(WHERE (.*)\) or", nulls).group(1)
    cur.execute(query.format(f"(SELECT id, {fix} FROM q WHERE {keep}) AS d"), [model])
    assert cur.fetchall() == [(1, 1.5)]
    missing = fails(con, sqlpredict.ProgrammingError, query.format("(SELECT id FROM q) AS d"), [model])
    alias = re.search(r"expression AS (.*)\)$", missing).group(1)
    cur.execute(query.format(f"(SELECT CAST(2.5 AS REAL) AS {alias}) AS d").replace("d.id, ", ""), [model])
    assert cur.fetchall() == [(2.5,)]
    con.close()


def test_a_null_element_of_an_array_input_is_named_as_such_with_a_filter_that_works():
    con = sqlpredict.connect(dialect="duckdb", null_inputs="error")
    cur = con.cursor()
    cur.execute("CREATE TABLE a AS SELECT * FROM (VALUES (1, [1, NULL, 3]::FLOAT[3]), (2, [1, 2, 3]::FLOAT[3])) v(id, x)")
    vec = identity(F, ("N", 3))
    query = "SELECT d.id, p.y FROM PREDICT(MODEL = ?, DATA = {}) WITH (y FLOAT[3]) AS p"
    message = fails(con, sqlpredict.DataError, query.format("a AS d"), [vec])
    assert message.startswith("PREDICT: column \"x\" (input 'x') has a NULL element in a row")
    keep = re.search(r"\(WHERE (.*)\) or", message).group(1)
    cur.execute(query.format(f"(SELECT * FROM a WHERE {keep}) AS d"), [vec])
    assert [(i, list(y)) for i, y in cur.fetchall()] == [(2, [1.0, 2.0, 3.0])]
    con.close()


@pytest.mark.parametrize("elem", [TensorProto.INT8, TensorProto.INT16, TensorProto.UINT8, TensorProto.INT32])
def test_the_fix_for_a_date_column_fits_the_inputs_integer_type(con, elem):
    """Seconds since 1970 overflow a 1- or 2-byte integer: the example there is the month."""
    con.cursor().execute("CREATE TABLE days (x DATE)")
    con.cursor().execute("INSERT INTO days VALUES ('2024-05-17')")
    model = identity(elem)
    query = "SELECT p.y FROM PREDICT(MODEL = ?, DATA = {}) AS p"
    message = fails(con, sqlpredict.ProgrammingError, query.format("days AS d"), [model])
    fix = re.search(r"write (.*) in DATA", message).group(1)
    value = con.cursor().execute(query.format(f"(SELECT {fix} FROM days) AS d"), [model]).fetchall()[0][0]
    assert value == (5 if elem != TensorProto.INT32 else 1715904000)


@pytest.mark.parametrize("bad_row", [0, 9000])
def test_an_error_in_data_has_its_class_in_any_batch(bad_row):
    """DuckDB's conversion error while DATA is read is a DataError, in the first batch or a later one."""
    con = sqlpredict.connect(dialect="duckdb", batch_size=1000)
    con.execute("CREATE TABLE s AS SELECT range AS id, CASE WHEN range = ? THEN 'x' ELSE '1.5' END AS x "
                "FROM range(12000)", [bad_row])
    with pytest.raises(sqlpredict.DataError, match="Could not convert string 'x'"):
        con.execute("SELECT count(p.y) FROM PREDICT(MODEL = ?, DATA = (SELECT id, CAST(x AS REAL) AS x FROM s) "
                    "AS d) WITH (y REAL) AS p", [IDENTITY]).fetchall()
    con.close()


@pytest.mark.parametrize(("dialect", "column"), [("tsql", "x UNIQUEIDENTIFIER"), ("duckdb", "x UUID"),
                                                 ("duckdb", "x BLOB")])
def test_a_column_no_cast_makes_a_number_of_gets_no_cast_fix(dialect, column):
    """`write CAST(x AS REAL)` was suggested for a UUID, and fails as written (no such CAST)."""
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    con.execute(f"CREATE TABLE t (id INT, {column})")
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y REAL) AS p", [IDENTITY])
    assert message.startswith("PREDICT: input 'x' expects ")
    assert "no CAST turns a" in message and "into a number" in message and "CAST(x AS" not in message


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_a_with_type_that_does_not_exist_is_a_predict_error_that_names_the_output(dialect):
    """It was DuckDB's 'Catalog Error: Type with name NOTATYPE does not exist! Did you mean ...'."""
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    con.execute("CREATE TABLE t (id INT, x REAL)")
    message = fails(con, sqlpredict.ProgrammingError,
                    "SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (y NOTATYPE) AS p", [IDENTITY])
    assert message.startswith("PREDICT: WITH declares y as NOTATYPE, which is not a SQL type")
    fix = message.rsplit("e.g. ", 1)[1]
    con.execute("INSERT INTO t VALUES (1, 2.5)")
    assert con.execute(f"SELECT p.y FROM PREDICT(MODEL = ?, DATA = t AS d) WITH ({fix}) AS p",
                       [IDENTITY]).fetchall() == [(2.5,)]


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_predict_written_where_a_value_goes_says_it_is_a_table_source(dialect):
    """It was DuckDB's parser error on `PREDICT(MODEL MODEL = $1, ...)`, text the user did not write."""
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    con.execute("CREATE TABLE t (id INT, x REAL)")
    message = fails(con, sqlpredict.ProgrammingError, "SELECT PREDICT(MODEL = ?, DATA = t) AS y FROM t", [IDENTITY])
    assert message.startswith("PREDICT: PREDICT is a table source") and "FROM PREDICT(" in message
