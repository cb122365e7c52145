"""Describing a model (spec section 6): rows per input/output, the PREDICT template, the CLI.

Each row is checked against what the model really has, read back with
onnxruntime's get_inputs()/get_outputs(); each template is run, on a table
built from the columns its comment lists, and its outputs compared with
onnxruntime run directly on the same values.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx_models import make, run_direct
from sk_models import logistic_classifier

import sqlpredict
from sqlpredict.describe import COLUMNS, describe_rows, predict_template
from sqlpredict.model import describe_model

ROWS = 12
RNG = np.random.default_rng(7)
WORDS = np.array(["red", "green", "blue"], dtype=object)

# Spec section 3, written out independently of sqlpredict.sqltypes.
TSQL = {"tensor(float)": "real", "tensor(double)": "float", "tensor(int64)": "bigint", "tensor(string)": "varchar",
        "tensor(int32)": "int", "tensor(bool)": "bit"}
DUCKDB = {"tensor(float)": "FLOAT", "tensor(double)": "DOUBLE", "tensor(int64)": "BIGINT", "tensor(string)": "VARCHAR",
          "tensor(int32)": "INTEGER", "tensor(bool)": "BOOLEAN"}


def v(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def mixed_model() -> bytes:
    """float/double/int64/string inputs [None,1] and [N], an [N,3] input; outputs computed from each."""
    nodes = [
        helper.make_node("Mul", ["x_float", "x_float"], ["sq"]),
        helper.make_node("Neg", ["x_double"], ["neg"]),
        helper.make_node("Identity", ["x_int"], ["same_int"]),
        helper.make_node("Identity", ["x_str"], ["same_str"]),
        helper.make_node("ReduceSum", ["vec", "axes"], ["vec_sum"], keepdims=1),
        helper.make_node("Relu", ["vec"], ["vec_relu"]),
    ]
    inputs = [v("x_float", TensorProto.FLOAT, [None, 1]), v("x_double", TensorProto.DOUBLE, ["batch", 1]),
              v("x_int", TensorProto.INT64, ["N", 1]), v("x_str", TensorProto.STRING, [None]),
              v("vec", TensorProto.FLOAT, [None, 3])]
    outputs = [v("sq", TensorProto.FLOAT, [None, 1]), v("neg", TensorProto.DOUBLE, ["batch", 1]),
               v("same_int", TensorProto.INT64, ["N", 1]), v("same_str", TensorProto.STRING, [None]),
               v("vec_sum", TensorProto.FLOAT, [None, 1]), v("vec_relu", TensorProto.FLOAT, [None, 3])]
    return make(nodes, inputs, outputs, [helper.make_tensor("axes", TensorProto.INT64, [1], [1])])


def fixed_batch_model() -> bytes:
    """The SQL Edge quickstart's export: every input and output of shape [1,1]."""
    nodes = [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Sub", ["a", "b"], ["diff"])]
    return make(nodes, [v("a", TensorProto.FLOAT, [1, 1]), v("b", TensorProto.FLOAT, [1, 1])],
                [v("s", TensorProto.FLOAT, [1, 1]), v("diff", TensorProto.FLOAT, [1, 1])])


def odd_model() -> bytes:
    """Inputs no column binds to ([N,3,4], float16) and an int8 one, which T-SQL has no type for."""
    nodes = [helper.make_node("Identity", ["small"], ["small_out"]),
             helper.make_node("Identity", ["cube"], ["cube_out"]),
             helper.make_node("Cast", ["half"], ["half_out"], to=TensorProto.FLOAT)]
    return make(nodes, [v("small", TensorProto.INT8, [None, 1]), v("cube", TensorProto.FLOAT, [None, 3, 4]),
                        v("half", TensorProto.FLOAT16, [None, 1])],
                [v("small_out", TensorProto.INT8, [None, 1]), v("cube_out", TensorProto.FLOAT, [None, 3, 4]),
                 v("half_out", TensorProto.FLOAT, [None, 1])])


# ------------------------------------------------------------------ independent reading of the model


def ort_shape_text(shape) -> str:
    return "[" + ",".join("N" if d is None else str(d) for d in shape) + "]"


def ort_rows(blob: bytes) -> list[tuple[str, str, str, object]]:
    """(direction, name, type, shape text or None) as onnxruntime reports them."""
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    rows = []
    for direction, args in (("input", session.get_inputs()), ("output", session.get_outputs())):
        for a in args:
            rows.append((direction, a.name, a.type, ort_shape_text(a.shape) if a.type.startswith("tensor") else None))
    return rows


def by_name(rows: list[tuple]) -> dict[tuple[str, str], dict]:
    return {(r[0], r[1]): dict(zip(COLUMNS, r)) for r in rows}


def check_against_ort(blob: bytes, dialect: str) -> dict[tuple[str, str], dict]:
    columns, rows = describe_rows(blob, dialect)
    assert columns == ["direction", "name", "onnx_type", "shape", "sql_type", "note"]
    assert [r[:4] for r in rows] == ort_rows(blob)  # inputs then outputs, in graph order
    return by_name(rows)


# ------------------------------------------------------------------ the rules


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_mixed_model_rows(dialect):
    blob = mixed_model()
    rows = check_against_ort(blob, dialect)
    names = TSQL if dialect == "tsql" else DUCKDB
    for (direction, name), row in rows.items():
        if name in ("vec", "vec_relu"):
            assert row["sql_type"] == "FLOAT[3]"
            if dialect == "tsql":
                assert "T-SQL has no array type" in row["note"]
            else:
                assert row["note"] is None
        else:
            assert row["sql_type"] == names[row["onnx_type"]], row
            assert row["note"] is None, row
    assert rows[("input", "x_double")]["shape"] == "[batch,1]"
    assert rows[("input", "x_str")]["shape"] == "[N]"


def test_fixed_batch_rows():
    rows = check_against_ort(fixed_batch_model(), "tsql")
    for row in rows.values():
        assert row["shape"] == "[1,1]" and row["sql_type"] == "real"
        assert row["note"] == "fixed batch 1: scored in batches anyway"


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_zipmap_classifier_rows(dialect):
    built = logistic_classifier(zipmap=True)
    rows = check_against_ort(built.onnx, dialect)
    prob = rows[("output", "output_probability")]
    assert prob["onnx_type"] == "seq(map(int64,tensor(float)))"
    assert prob["shape"] is None and prob["sql_type"] is None
    assert prob["note"].startswith("sequence of maps (ZipMap): left out of WITH unless named")
    assert rows[("output", "output_label")]["sql_type"] == ("bigint" if dialect == "tsql" else "BIGINT")
    for i in range(3):
        assert rows[("input", f"f{i}")]["sql_type"] == ("real" if dialect == "tsql" else "FLOAT")


def test_classifier_without_zipmap_rows():
    built = logistic_classifier(zipmap=False)
    tsql = check_against_ort(built.onnx, "tsql")
    duck = check_against_ort(built.onnx, "duckdb")
    assert tsql[("output", "probabilities")]["shape"] == "[N,3]"
    assert tsql[("output", "probabilities")]["sql_type"] == duck[("output", "probabilities")]["sql_type"] == "FLOAT[3]"
    assert "T-SQL has no array type" in tsql[("output", "probabilities")]["note"]
    assert duck[("output", "probabilities")]["note"] is None


def test_unbindable_and_dialect_only_types():
    blob = odd_model()
    tsql = check_against_ort(blob, "tsql")
    duck = check_against_ort(blob, "duckdb")
    for rows in (tsql, duck):
        cube = rows[("input", "cube")]
        assert cube["sql_type"] is None and cube["note"] == "shape [N,3,4]: not one value or one array per row"
        assert rows[("output", "cube_out")]["sql_type"] is None
        assert "not one value or one array per row" in rows[("output", "cube_out")]["note"]
        assert rows[("input", "half")]["sql_type"] is None and "float16 has no SQL type" in rows[("input", "half")]["note"]
        assert rows[("output", "half_out")]["sql_type"] == ("real" if rows is tsql else "FLOAT")
    assert tsql[("input", "small")]["sql_type"] is None
    assert tsql[("input", "small")]["note"].startswith("int8 has no T-SQL type")
    assert "use the DuckDB dialect (TINYINT)" in tsql[("input", "small")]["note"]
    assert duck[("input", "small")]["sql_type"] == "TINYINT" and duck[("input", "small")]["note"] is None


def test_invalid_bytes_raise_the_model_error():
    with pytest.raises(sqlpredict.ProgrammingError) as expected:
        describe_model(b"not a model")
    for call in (describe_rows, predict_template):
        with pytest.raises(sqlpredict.ProgrammingError) as got:
            call(b"not a model")
        assert str(got.value) == str(expected.value)
        assert str(got.value).startswith("PREDICT: model is corrupt or invalid")


def test_template_quotes_identifiers():
    nodes = [helper.make_node("Identity", ["my input"], ["the]out"])]
    blob = make(nodes, [v("my input", TensorProto.FLOAT, [None, 1])], [v("the]out", TensorProto.FLOAT, [None, 1])])
    tsql = predict_template(blob, "tsql", "dbo.my table")
    assert "-- DATA needs columns: [my input] real" in tsql
    assert "p.[the]]out]" in tsql and "WITH ([the]]out] REAL) AS p" in tsql
    assert "DATA = dbo.[my table] AS d" in tsql
    duck = predict_template(blob, "duckdb", "my table")
    assert '"my input" FLOAT' in duck and 'p."the]out"' in duck and 'DATA = "my table" AS d' in duck


# ------------------------------------------------------------------ the template runs


def needed_columns(template: str) -> list[tuple[str, str]]:
    line = next(ln for ln in template.splitlines() if ln.startswith("-- DATA needs columns: "))
    parts = re.findall(r'(\[[^\]]+\]|"[^"]+"|\w+) ([A-Za-z0-9_\[\]()]+)(?:, |$)', line.split(": ", 1)[1])
    return [(n.strip('[]"'), typ) for n, typ in parts]


def values_for(typ: str, n: int) -> np.ndarray:
    base = typ.upper()
    if base.endswith("[3]"):
        return RNG.normal(size=(n, 3)).astype(np.float32)
    if base in ("REAL", "FLOAT") and typ in ("real", "FLOAT"):
        return RNG.normal(size=n).astype(np.float32)
    if base in ("FLOAT", "DOUBLE"):
        return RNG.normal(size=n)
    if base == "BIGINT":
        return RNG.integers(-1000, 1000, size=n).astype(np.int64)
    if base == "VARCHAR":
        return WORDS[RNG.integers(0, len(WORDS), size=n)]
    raise AssertionError(typ)


def run_template(blob: bytes, dialect: str) -> tuple[list[str], dict[str, np.ndarray], list[tuple]]:
    """Make the table the template's comment asks for, run the template, return (columns, data, rows)."""
    template = predict_template(blob, dialect)
    needed = needed_columns(template)
    assert [n for n, _ in needed] == [i.name for i in ort.InferenceSession(blob).get_inputs()]
    data = {name: values_for(typ, ROWS) for name, typ in needed}
    con = sqlpredict.connect(dialect=dialect)
    cur = con.cursor()
    cur.execute(f"CREATE TABLE models (id INT, data {'VARBINARY(MAX)' if dialect == 'tsql' else 'BLOB'})")
    cur.execute("INSERT INTO models (id, data) VALUES (1, ?)", [blob])
    cur.execute("CREATE TABLE scored_rows (" + ", ".join(f'"{n}" {typ}' for n, typ in needed) + ")")
    placeholders = ", ".join("?" for _ in needed)
    cur.executemany(f"INSERT INTO scored_rows VALUES ({placeholders})",
                    [tuple(py(data[n][r]) for n, _ in needed) for r in range(ROWS)])
    cur.execute(template.replace("dbo.my_table", "scored_rows"))
    names = [d[0] for d in cur.description]
    return names, data, cur.fetchall()


def py(value):
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value


def feeds_for(blob: bytes, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    feeds = {}
    for i in ort.InferenceSession(blob).get_inputs():
        x = data[i.name]
        feeds[i.name] = x if x.ndim == 2 else x.reshape([-1] + [1] * (len(i.shape) - 1))
    return feeds


def assert_outputs_equal(blob, names, data, rows, expected_outputs, n_inputs):
    direct = run_direct(blob, feeds_for(blob, data))
    out_names = [o.name for o in ort.InferenceSession(blob).get_outputs()]
    assert names[:n_inputs] == list(data) and names[n_inputs:] == expected_outputs
    for j, name in enumerate(expected_outputs):
        want = direct[out_names.index(name)]
        got = [r[n_inputs + j] for r in rows]
        if want.dtype == object:
            assert got == want.reshape(-1).tolist()
        else:
            np.testing.assert_array_equal(np.array(got, dtype=want.dtype).reshape(want.shape), want)


def test_template_runs_mixed_model_duckdb():
    blob = mixed_model()
    names, data, rows = run_template(blob, "duckdb")
    assert_outputs_equal(blob, names, data, rows, ["sq", "neg", "same_int", "same_str", "vec_sum", "vec_relu"], 5)


def test_template_mixed_model_tsql_leaves_arrays_to_the_duckdb_dialect():
    template = predict_template(mixed_model(), "tsql")
    assert "-- DATA needs columns: x_float real, x_double float, x_int bigint, x_str varchar, vec FLOAT[3]" \
        in template
    assert "vec_relu" not in template.split("WITH (")[1]  # T-SQL parses no array type in WITH
    assert "-- output vec_relu left out of WITH: T-SQL has no array type" in template


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_template_runs_zipmap_classifier(dialect):
    blob = logistic_classifier(zipmap=True).onnx
    names, data, rows = run_template(blob, dialect)
    assert_outputs_equal(blob, names, data, rows, ["output_label"], 3)


@pytest.mark.parametrize("dialect,outputs", [("tsql", ["label"]), ("duckdb", ["label", "probabilities"])])
def test_template_runs_classifier_without_zipmap(dialect, outputs):
    blob = logistic_classifier(zipmap=False).onnx
    names, data, rows = run_template(blob, dialect)
    assert_outputs_equal(blob, names, data, rows, outputs, 3)


def test_template_runs_fixed_batch_model():
    blob = fixed_batch_model()
    names, data, rows = run_template(blob, "tsql")
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    for r, row in enumerate(rows):  # the model takes one row at a time when run directly
        s, diff = session.run(None, {k: data[k][r:r + 1].reshape(1, 1) for k in ("a", "b")})
        assert row[2:] == (float(s[0, 0]), float(diff[0, 0]))


# ------------------------------------------------------------------ the command line


def run_cli_all(calls: dict[str, list[str]]) -> dict[str, subprocess.CompletedProcess]:
    """Run every CLI call at once (each is a fresh interpreter; started together they overlap)."""
    procs = {key: subprocess.Popen([sys.executable, "-m", "sqlpredict", *args], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for key, args in calls.items()}
    done = {}
    for key, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        done[key] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """The model file, and what the command printed for each way of calling it."""
    folder = tmp_path_factory.mktemp("describe")
    path = folder / "classifier.onnx"
    path.write_bytes(logistic_classifier(zipmap=False).onnx)
    bad = folder / "bad.onnx"
    bad.write_bytes(b"\x00\x01 not onnx")
    return path, run_cli_all({
        "table": ["describe", str(path), "--dialect", "duckdb"],
        "json": ["describe", str(path), "--format", "json"],
        "csv": ["describe", str(path), "--format", "csv", "--dialect", "tsql"],
        "template": ["describe", str(path), "--template", "--table", "sales"],
        "missing": ["describe", str(folder / "nope.onnx")],
        "invalid": ["describe", str(bad)],
        "help": ["describe", "--help"],
    })


def test_cli_table_prints_rows_then_template(cli):
    model_file, runs = cli
    proc = runs["table"]
    assert proc.returncode == 0, proc.stderr
    blob = model_file.read_bytes()
    _, rows = describe_rows(blob, "duckdb")
    lines = proc.stdout.splitlines()
    assert lines[0].split() == COLUMNS
    assert lines[2].split()[:5] == ["input", "f0", "tensor(float)", "[N,1]", "FLOAT"]
    assert f"({len(rows)} rows)" in lines
    assert proc.stdout.endswith(predict_template(blob, "duckdb"))


def test_cli_json_and_csv_are_the_rows_only(cli):
    model_file, runs = cli
    columns, rows = describe_rows(model_file.read_bytes(), "tsql")
    assert runs["json"].returncode == 0, runs["json"].stderr
    assert json.loads(runs["json"].stdout) == [dict(zip(columns, r)) for r in rows]
    assert runs["csv"].returncode == 0, runs["csv"].stderr
    parsed = list(csv.reader(io.StringIO(runs["csv"].stdout)))
    assert parsed[0] == columns
    assert parsed[1:] == [["" if x is None else x for x in r] for r in rows]


def test_cli_template_only(cli):
    model_file, runs = cli
    assert runs["template"].returncode == 0, runs["template"].stderr
    assert runs["template"].stdout == predict_template(model_file.read_bytes(), "tsql", "sales")


def test_cli_errors_are_one_paragraph(cli):
    _, runs = cli
    missing, invalid = runs["missing"], runs["invalid"]
    for proc in (missing, invalid):
        assert proc.returncode == 1 and proc.stdout == ""
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "No such file or directory" in missing.stderr and "nope.onnx" in missing.stderr
    assert "PREDICT: model is corrupt or invalid" in invalid.stderr
    helped = runs["help"]
    assert helped.returncode == 0 and "MODEL.onnx" in helped.stdout and "--dialect" in helped.stdout


def test_describe_model_table_function_in_sql_matches_onnxruntime() -> None:
    """DuckDB dialect: SELECT * FROM describe_model(<blob>) (spec 6), the model read from a table."""
    import onnxruntime as ort

    from onnx_models import linear

    model = linear(("a", "b"))
    con = sqlpredict.connect(dialect="duckdb", autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE models AS SELECT 1 AS id, ?::BLOB AS data", [model])
    rows = cur.execute("SELECT direction, name, onnx_type FROM describe_model((SELECT data FROM models WHERE id = 1)) "
                       "AS m ORDER BY direction, name").fetchall()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    expected = sorted([("input", i.name, i.type) for i in session.get_inputs()]
                      + [("output", o.name, o.type) for o in session.get_outputs()])
    assert rows == expected


@pytest.mark.parametrize(("script", "params", "words"), [
    ("DECLARE @m VARBINARY(MAX) = (SELECT CAST(NULL AS VARBINARY(MAX)))\nEXEC sp_describe_model @model = @m", None,
     "@m is NULL"),
    ("EXEC sp_describe_model @model = ?", [None], "parameter given for @model is None"),
])
def test_sp_describe_model_of_a_null_model_is_a_data_error_as_in_predict(script, params, words):
    con = sqlpredict.connect()
    with pytest.raises(sqlpredict.DataError, match=f"PREDICT: MODEL is NULL: .*{words}"):
        con.cursor().execute(script, params)
