"""PREDICT scores real models exactly as onnxruntime does when run directly.

Each test loads rows into a table through SQL, scores them with PREDICT, and
compares every output with `onnxruntime.InferenceSession(...).run` on the same
values: bitwise (np.array_equal on the same dtype) for the same provider and
the same rows in one call, which is how sqlpredict runs a batch. Declared WITH
types are checked against numpy or DuckDB's CAST of the direct result.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import numpy as np
import onnx
import onnxruntime as ort
import pyarrow as pa
import pytest

import sqlpredict

import sk_models as M

CPU = ["CPUExecutionProvider"]
DIALECTS = ["tsql", "duckdb"]
SQL_TYPES = {
    "tsql": {np.dtype(np.float32): "REAL", np.dtype(np.float64): "FLOAT", np.dtype(np.int64): "BIGINT",
             np.dtype(object): "VARCHAR(100)", np.dtype(np.bool_): "BIT"},
    "duckdb": {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE", np.dtype(np.int64): "BIGINT",
               np.dtype(object): "VARCHAR", np.dtype(np.bool_): "BOOLEAN"},
}
ARROW = {np.dtype(np.float32): pa.float32(), np.dtype(np.float64): pa.float64(), np.dtype(np.int64): pa.int64(),
         np.dtype(object): pa.string(), np.dtype(np.bool_): pa.bool_()}


# ---------------------------------------------------------------- helpers


_sessions: dict[bytes, ort.InferenceSession] = {}


def direct_session(blob: bytes) -> ort.InferenceSession:
    if blob not in _sessions:
        _sessions[blob] = ort.InferenceSession(blob, providers=CPU)
    return _sessions[blob]


def direct(built: M.Built, names: list[str], rows: np.ndarray | slice | None = None,
           per_row: bool = False) -> dict[str, object]:
    """onnxruntime run directly on the model's rows: one call, or one call per row for batch-1 models."""
    session = direct_session(built.onnx)
    feeds = built.feeds(rows)
    if not per_row:
        return dict(zip(names, session.run(names, feeds)))
    n = len(next(iter(feeds.values())))
    parts = [session.run(names, {k: v[i:i + 1] for k, v in feeds.items()}) for i in range(n)]
    out = {}
    for j, name in enumerate(names):
        if isinstance(parts[0][j], list):
            out[name] = [m for p in parts for m in p[j]]
        else:
            out[name] = np.concatenate([p[j] for p in parts])
    return out


def relaxed(blob: bytes) -> bytes:
    """The model with its fixed batch dimension of 1 made symbolic, done here independently of sqlpredict."""
    model = onnx.load_from_string(blob)
    for value in list(model.graph.input) + list(model.graph.output):
        if value.type.HasField("tensor_type"):
            value.type.tensor_type.shape.dim[0].dim_param = "batch"
    return model.SerializeToString()


def assert_close_per_row(got: np.ndarray, per_row: np.ndarray) -> None:
    """Per-row runs use other kernels than one batched call: equal within float32 rounding."""
    assert got.dtype == per_row.dtype and got.shape == per_row.shape
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, per_row, rtol=2e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, per_row)


def column_type(c: M.Column, dialect: str) -> str:
    return c.tsql if dialect == "tsql" else c.duckdb


def load(cur, built: M.Built, dialect: str, table: str = "t", nulls: dict[str, list[int]] | None = None,
         values: dict[str, np.ndarray] | None = None) -> None:
    """CREATE TABLE t (id INT, <model columns>) and fill it with one INSERT ... SELECT unnest(?)."""
    values = values or built.data
    nulls = nulls or {}
    defs = ", ".join(f"{c.name} {column_type(c, dialect)}" for c in built.columns)
    cur.execute(f"CREATE TABLE {table} (id INT, {defs})")
    n = len(values[built.columns[0].name])
    params: list[list] = [list(range(n))]
    for c in built.columns:
        col = values[c.name].tolist()
        for i in nulls.get(c.name, []):
            col[i] = None
        params.append(col)
    unnests = ", ".join("unnest(?)" for _ in params)
    cur.execute(f"INSERT INTO {table} SELECT {unnests}", params)


def connect(dialect: str = "tsql", **kw) -> sqlpredict.Connection:
    return sqlpredict.connect(dialect=dialect, providers=CPU, **kw)


def predict(cur, blob: bytes, with_clause: str = "", select: str = "d.id, p.*", table: str = "t") -> pa.Table:
    cur.execute(f"SELECT {select} FROM PREDICT(MODEL = ?, DATA = {table} AS d, RUNTIME = ONNX) {with_clause} AS p "
                "ORDER BY d.id", [blob])
    return cur.fetch_arrow_table()


def as_numpy(column: pa.ChunkedArray, width: int | None = None) -> np.ndarray:
    arr = column.combine_chunks()
    if width is None:
        return arr.to_numpy(zero_copy_only=False)
    assert arr.type == pa.list_(arr.type.value_type, width)
    assert arr.null_count == 0
    return arr.values.to_numpy(zero_copy_only=False).reshape(-1, width)


def assert_bitwise(got: np.ndarray, expected: np.ndarray) -> None:
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert np.array_equal(got, expected, equal_nan=got.dtype.kind == "f"), _first_difference(got, expected)


def _first_difference(got: np.ndarray, expected: np.ndarray) -> str:
    diff = np.flatnonzero(~((got == expected) | ((got != got) & (expected != expected))).reshape(len(got), -1).all(1))
    i = int(diff[0]) if len(diff) else -1
    return f"{len(diff)} rows differ; first at row {i}: got {got[i]!r}, expected {expected[i]!r}"


# ---------------------------------------------------------------- one value per row, every input type


SCALAR_MODELS = {
    "float32": M.float_regressor,
    "float64": M.double_regressor,
    "int64": M.int_classifier,
    "string": M.string_regressor,
    "forest": M.random_forest,
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("kind", sorted(SCALAR_MODELS))
def test_scalar_model_equals_direct_run(kind: str, dialect: str) -> None:
    built = SCALAR_MODELS[kind]()
    output = built.outputs[0]
    out_type = direct_session(built.onnx).get_outputs()[0].type
    dtype = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64}[out_type]
    con = connect(dialect)
    cur = con.cursor()
    load(cur, built, dialect)
    table = predict(cur, built.onnx, f"WITH ({output} {SQL_TYPES[dialect][np.dtype(dtype)]})")
    assert table.column_names == ["id", output]
    assert table.schema.field(output).type == ARROW[np.dtype(dtype)]
    assert_bitwise(as_numpy(table.column("id")), np.arange(built.rows, dtype=np.int32))
    expected = direct(built, [output])[output].reshape(-1)
    assert_bitwise(as_numpy(table.column(output)), expected)


@pytest.mark.parametrize("kind", sorted(SCALAR_MODELS))
def test_fixed_batch_of_one_scores_many_rows(kind: str) -> None:
    """The SQL Edge quickstart exports [1,1] inputs; PREDICT must score thousands of rows with them."""
    built = SCALAR_MODELS[kind](batch=1, n=5000 if kind == "float32" else 1200)
    shapes = [i.shape for i in direct_session(built.onnx).get_inputs()]
    assert all(s == [1, 1] for s in shapes), shapes
    output = built.outputs[0]
    con = connect()
    cur = con.cursor()
    load(cur, built, "tsql")
    table = predict(cur, built.onnx, select=f"d.id, p.{output}")
    assert table.num_rows == built.rows
    got = as_numpy(table.column(output))
    per_row = direct(built, [output], per_row=True)[output].reshape(-1)
    assert_close_per_row(got, per_row)
    batched = replace(built, onnx=relaxed(built.onnx))
    assert_bitwise(got, direct(batched, [output])[output].reshape(-1))


def test_fixed_batch_of_one_array_input_scores_many_rows() -> None:
    built = M.mlp(batch=1, n=3000)
    con = connect("duckdb")
    cur = con.cursor()
    load(cur, built, "duckdb")
    table = predict(cur, built.onnx)
    assert table.column_names == ["id", "y", "probs", "total"]
    names = ["y", "probs", "total"]
    per_row = direct(built, names, per_row=True)
    batched = direct(replace(built, onnx=relaxed(built.onnx)), names)
    for name, width in [("y", 4), ("probs", 4), ("total", None)]:
        got = as_numpy(table.column(name), width)
        assert_close_per_row(got, per_row[name].reshape(got.shape))
        assert_bitwise(got, batched[name].reshape(got.shape))


def test_many_batches_equal_one_direct_run() -> None:
    """Small Arrow batches (and a NULL in some) must not shift or drop rows."""
    built = M.float_regressor()
    nulls = [5, 333, 334, 1999]
    con = connect(batch_size=333)
    cur = con.cursor()
    load(cur, built, "tsql", nulls={"f2": nulls})
    table = predict(cur, built.onnx, "WITH (variable REAL)")
    got = table.column("variable").combine_chunks()
    assert got.is_null().to_numpy(zero_copy_only=False).nonzero()[0].tolist() == nulls
    valid = np.ones(built.rows, dtype=bool)
    valid[nulls] = False
    scored = got.filter(pa.array(valid)).to_numpy(zero_copy_only=False)
    per_batch = []
    for start in range(0, built.rows, 333):
        rows = np.flatnonzero(valid[start:start + 333]) + start
        per_batch.append(direct(built, ["variable"], rows)["variable"].reshape(-1))
    assert_bitwise(scored, np.concatenate(per_batch))
    per_row = direct(built, ["variable"], valid, per_row=True)["variable"].reshape(-1)
    assert_close_per_row(scored, per_row)


# ---------------------------------------------------------------- classifiers: labels, ZipMap, probabilities


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("labels", ["int", "str"])
def test_classifier_label_and_zipmap_skipped(labels: str, dialect: str) -> None:
    built = M.logistic_classifier(labels)
    con = connect(dialect)
    cur = con.cursor()
    load(cur, built, dialect)
    label_type = "BIGINT" if labels == "int" else SQL_TYPES[dialect][np.dtype(object)]
    table = predict(cur, built.onnx, f"WITH (output_label {label_type})")
    assert table.column_names == ["id", "output_label"]
    expected = direct(built, ["output_label"])["output_label"]
    got = as_numpy(table.column("output_label"))
    if labels == "int":
        assert table.schema.field("output_label").type == pa.int64()
        assert_bitwise(got, expected)
    else:
        assert table.schema.field("output_label").type == pa.string()
        assert got.tolist() == expected.tolist()
        assert set(got.tolist()) == {"low", "mid", "high"}
    np.testing.assert_array_equal(expected, built.estimator.predict(built.frame()))

    no_with = predict(cur, built.onnx, select="*")
    assert no_with.column_names == ["id", "f0", "f1", "f2", "output_label"]
    assert as_numpy(no_with.column("output_label")).tolist() == expected.tolist()


@pytest.mark.parametrize("labels", ["int", "str"])
def test_zipmap_named_in_with_is_a_map(labels: str) -> None:
    built = M.logistic_classifier(labels)
    con = connect("duckdb")
    cur = con.cursor()
    load(cur, built, "duckdb")
    key = "BIGINT" if labels == "int" else "VARCHAR"
    table = predict(cur, built.onnx, f"WITH (output_label {key}, output_probability MAP({key}, FLOAT))")
    expected = direct(built, ["output_probability"])["output_probability"]
    got = table.column("output_probability").to_pylist()
    assert len(got) == len(expected)
    for row, want in zip(got, expected):
        assert dict(row) == want
        assert all(np.float32(v) == v for v in dict(row).values())


@pytest.mark.parametrize("rows", [0, 10])
def test_zipmap_declared_as_a_number_is_a_with_error(rows: int) -> None:
    """A map per row has no CAST to INT: the query's mistake, seen before any row is scored (even with none)."""
    built = M.logistic_classifier("int", n=40)
    con = connect()
    cur = con.cursor()
    load(cur, built, "tsql")
    cur.execute(f"DELETE FROM t WHERE id >= {rows}")
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        predict(cur, built.onnx, "WITH (output_probability INT)")
    message = str(info.value)
    assert message.startswith("PREDICT: WITH declares output_probability as int, but output "
                              "'output_probability' gives map(") and "declare a MAP or VARCHAR" in message
    as_text = predict(cur, built.onnx, "WITH (output_probability VARCHAR(200))").column("output_probability")
    assert len(as_text) == rows and all(v.startswith("{0=") for v in as_text.to_pylist())  # CAST to text


@pytest.mark.parametrize("labels", ["int", "str"])
def test_zipmap_fetches_as_dicts_at_any_depth(labels: str) -> None:
    """fetchall gives a MAP as DuckDB's own client does: a dict, in a list or a struct too."""
    built = M.logistic_classifier(labels, n=40)
    con = connect("duckdb")
    cur = con.cursor()
    load(cur, built, "duckdb")
    key = "BIGINT" if labels == "int" else "VARCHAR"
    rows = cur.execute(
        "SELECT p.output_probability, [p.output_probability], {'m': p.output_probability} "
        f"FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (output_probability MAP({key}, FLOAT)) AS p ORDER BY d.id",
        [built.onnx]).fetchall()
    expected = direct(built, ["output_probability"])["output_probability"]
    assert len(rows) == len(expected)
    for (plain, in_list, in_struct), want in zip(rows, expected):
        assert type(plain) is dict and plain == want
        assert in_list == [plain] and in_struct == {"m": plain}


def test_label_int64_into_int_and_varchar() -> None:
    built = M.logistic_classifier("int")
    con = connect()
    cur = con.cursor()
    load(cur, built, "tsql")
    table = predict(cur, built.onnx, "WITH (output_label INT)")
    assert table.schema.field("output_label").type == pa.int32()
    expected = direct(built, ["output_label"])["output_label"]
    assert_bitwise(as_numpy(table.column("output_label")), expected.astype(np.int32))
    table = predict(cur, built.onnx, "WITH (output_label VARCHAR(10))")
    assert table.column("output_label").to_pylist() == [str(v) for v in expected.tolist()]


@pytest.mark.parametrize("labels", ["int", "str"])
def test_probabilities_as_float_array(labels: str) -> None:
    built = M.logistic_classifier(labels, zipmap=False)
    con = connect("duckdb")
    cur = con.cursor()
    load(cur, built, "duckdb")
    label_type = "BIGINT" if labels == "int" else "VARCHAR"
    table = predict(cur, built.onnx, f"WITH (label {label_type}, probabilities FLOAT[3])")
    assert table.schema.field("probabilities").type == pa.list_(pa.float32(), 3)
    expected = direct(built, ["label", "probabilities"])
    assert_bitwise(as_numpy(table.column("probabilities"), 3), expected["probabilities"])
    assert as_numpy(table.column("label")).tolist() == expected["label"].tolist()
    np.testing.assert_allclose(expected["probabilities"], built.estimator.predict_proba(built.frame()), atol=1e-5)

    no_with = predict(cur, built.onnx)
    assert no_with.column_names == ["id", "label", "probabilities"]
    assert_bitwise(as_numpy(no_with.column("probabilities"), 3), expected["probabilities"])

    as_double = predict(cur, built.onnx, "WITH (probabilities DOUBLE[3])")
    assert as_double.schema.field("probabilities").type == pa.list_(pa.float64(), 3)
    assert_bitwise(as_numpy(as_double.column("probabilities"), 3), expected["probabilities"].astype(np.float64))


def test_fixed_batch_classifier_with_probability_array() -> None:
    built = M.logistic_classifier("str", zipmap=False, batch=1, n=1500)
    con = connect("duckdb")
    cur = con.cursor()
    load(cur, built, "duckdb")
    table = predict(cur, built.onnx, "WITH (label VARCHAR, probabilities FLOAT[3])")
    per_row = direct(built, ["label", "probabilities"], per_row=True)
    batched = direct(replace(built, onnx=relaxed(built.onnx)), ["probabilities"])
    assert as_numpy(table.column("label")).tolist() == per_row["label"].tolist()
    got = as_numpy(table.column("probabilities"), 3)
    assert_close_per_row(got, per_row["probabilities"])
    assert_bitwise(got, batched["probabilities"])


def test_fixed_batch_zipmap_classifier() -> None:
    built = M.int_classifier(batch=1, n=800)
    con = connect()
    cur = con.cursor()
    load(cur, built, "tsql")
    table = predict(cur, built.onnx, "WITH (output_label BIGINT)")
    expected = direct(built, ["output_label"], per_row=True)["output_label"]
    assert_bitwise(as_numpy(table.column("output_label")), expected)


# ---------------------------------------------------------------- array inputs: LightGBM and networks


def test_lightgbm_array_input() -> None:
    built = M.lightgbm_regressor()
    con = connect("duckdb")
    cur = con.cursor()
    load(cur, built, "duckdb")
    table = predict(cur, built.onnx, "WITH (variable FLOAT)")
    expected = direct(built, ["variable"])["variable"].reshape(-1)
    assert_bitwise(as_numpy(table.column("variable")), expected)
    np.testing.assert_allclose(expected, built.estimator.predict(built.data["features"]), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_array_in_array_out(dtype: str) -> None:
    built = M.mlp(dtype=dtype)
    con = connect("duckdb")
    cur = con.cursor()
    load(cur, built, "duckdb")
    names = ["y", "probs", "total"]
    expected = direct(built, names)

    table = predict(cur, built.onnx, select="*")
    duck = "FLOAT" if dtype == "float32" else "DOUBLE"
    assert [(d[0], d[1]) for d in cur.description] == [
        ("id", "INTEGER"), ("x", f"{duck}[4]"), ("y", f"{duck}[4]"), ("probs", f"{duck}[4]"), ("total", duck)]
    assert_bitwise(as_numpy(table.column("x"), 4), built.data["x"])
    assert_bitwise(as_numpy(table.column("y"), 4), expected["y"])
    assert_bitwise(as_numpy(table.column("probs"), 4), expected["probs"])
    assert_bitwise(as_numpy(table.column("total")), expected["total"].reshape(-1))

    subset = predict(cur, built.onnx, f"WITH (probs {duck}[4])")
    assert subset.column_names == ["id", "probs"]
    assert_bitwise(as_numpy(subset.column("probs"), 4), expected["probs"])

    reordered = predict(cur, built.onnx, f"WITH (total DOUBLE, y {duck}[4])")
    assert reordered.column_names == ["id", "total", "y"]
    assert_bitwise(as_numpy(reordered.column("total")), expected["total"].reshape(-1).astype(np.float64))
    assert_bitwise(as_numpy(reordered.column("y"), 4), expected["y"])


# ---------------------------------------------------------------- declared types: SQL CAST of the model's values


def _duckdb_cast(values: np.ndarray, sql_type: str) -> list:
    con = duckdb.connect()
    return [r[0] for r in con.from_arrow(pa.table({"v": pa.array(values)})).project(
        f"CAST(v AS {sql_type}) AS v").fetchall()]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_declared_types_cast_float_output(dialect: str) -> None:
    built = M.float_regressor()
    con = connect(dialect)
    cur = con.cursor()
    load(cur, built, dialect)
    expected = direct(built, ["variable"])["variable"].reshape(-1)
    double = "FLOAT" if dialect == "tsql" else "DOUBLE"
    real = "REAL"

    table = predict(cur, built.onnx, f"WITH (variable {double})")
    assert table.schema.field("variable").type == pa.float64()
    assert_bitwise(as_numpy(table.column("variable")), expected.astype(np.float64))

    table = predict(cur, built.onnx, f"WITH (variable {real})")
    assert table.schema.field("variable").type == pa.float32()
    assert_bitwise(as_numpy(table.column("variable")), expected)

    cur.execute("SELECT d.id, p.variable FROM PREDICT(MODEL = ?, DATA = t AS d, RUNTIME = ONNX) "
                "WITH (variable NUMERIC(25,17)) AS p ORDER BY d.id", [built.onnx])
    assert cur.description[1][1].upper().replace(" ", "") == "DECIMAL(25,17)"
    got = [r[1] for r in cur.fetchall()]
    assert all(isinstance(v, Decimal) for v in got)
    assert got == _exact_decimals(expected, 17)
    np.testing.assert_allclose(np.array([float(v) for v in got]), expected.astype(np.float64), rtol=1e-6)


def _exact_decimals(values: np.ndarray, scale: int) -> list[Decimal]:
    """Each float's exact value rounded half away from zero to `scale` places, by Python's decimal."""
    return [Decimal(float(v)).quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP) for v in values]


@pytest.mark.parametrize("tsql_type, duckdb_type", [
    ("NUMERIC(25,17)", "DECIMAL(25,17)"), ("DECIMAL(9,3)", "DECIMAL(9,3)"), ("SMALLINT", "SMALLINT"),
    ("INT", "INTEGER"), ("BIGINT", "BIGINT"), ("VARCHAR(40)", "VARCHAR"), ("BIT", "BOOLEAN")])
def test_declared_type_is_sql_cast_of_direct_result(tsql_type: str, duckdb_type: str) -> None:
    built = M.float_regressor(n=300)
    outputs = direct(built, ["variable"])["variable"].reshape(-1)
    # SQL CAST: DuckDB's, but for a NUMERIC wider than 18 digits, whose DuckDB CAST of a float adds digits
    expected = _exact_decimals(outputs, 17) if duckdb_type == "DECIMAL(25,17)" else _duckdb_cast(outputs, duckdb_type)
    for dialect, sql_type in [("tsql", tsql_type), ("duckdb", duckdb_type)]:
        con = connect(dialect)
        cur = con.cursor()
        load(cur, built, dialect)
        cur.execute(f"SELECT p.variable FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (variable {sql_type}) AS p "
                    "ORDER BY d.id", [built.onnx])
        assert [r[0] for r in cur.fetchall()] == expected


@pytest.mark.parametrize("declared", ["DATE", "DATETIME2", "VARBINARY(MAX)", "UNIQUEIDENTIFIER"])
@pytest.mark.parametrize("rows", [0, 10])
def test_declared_type_without_cast_is_a_programming_error(declared: str, rows: int) -> None:
    built = M.float_regressor(n=10)
    con = connect()
    cur = con.cursor()
    load(cur, built, "tsql")
    cur.execute(f"DELETE FROM t WHERE id >= {rows}")
    with pytest.raises(sqlpredict.ProgrammingError, match=r"^PREDICT: .*variable"):
        predict(cur, built.onnx, f"WITH (variable {declared})")


def test_declared_type_overflow_is_a_data_error() -> None:
    built = M.float_regressor()
    assert np.abs(direct(built, ["variable"])["variable"]).max() > 10
    con = connect()
    cur = con.cursor()
    load(cur, built, "tsql")
    with pytest.raises(sqlpredict.DataError, match=r"^PREDICT: .*variable"):
        predict(cur, built.onnx, "WITH (variable NUMERIC(3,2))")
    with pytest.raises(sqlpredict.DataError, match=r"^PREDICT: .*variable"):
        predict(cur, built.onnx, "WITH (variable TINYINT)")


# ---------------------------------------------------------------- NULLs and odd values


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("kind", ["float32", "string", "int64"])
def test_null_input_gives_null_outputs_and_passes_data(kind: str, dialect: str) -> None:
    built = SCALAR_MODELS[kind](n=600) if kind != "float32" else M.float_regressor(n=600)
    column = built.columns[0].name
    nulls = [0, 7, 8, 599]
    con = connect(dialect)
    cur = con.cursor()
    load(cur, built, dialect, nulls={column: nulls})
    output = built.outputs[0]
    table = predict(cur, built.onnx, select=f"d.*, p.{output}")
    assert table.num_rows == built.rows
    assert table.column_names == ["id"] + [c.name for c in built.columns] + [output]
    got = table.column(output).combine_chunks()
    assert np.flatnonzero(got.is_null().to_numpy(zero_copy_only=False)).tolist() == nulls
    assert np.flatnonzero(table.column(column).combine_chunks().is_null().to_numpy(zero_copy_only=False)).tolist() \
        == nulls
    for c in built.columns[1:]:
        assert table.column(c.name).to_pylist() == built.data[c.name].tolist()
    valid = np.ones(built.rows, dtype=bool)
    valid[nulls] = False
    expected = direct(built, [output], valid)[output].reshape(-1)
    assert_bitwise(got.filter(pa.array(valid)).to_numpy(zero_copy_only=False), expected)

    strict = connect(dialect, null_inputs="error")
    scur = strict.cursor()
    load(scur, built, dialect, nulls={column: nulls})
    with pytest.raises(sqlpredict.DataError, match=rf"^PREDICT: .*\b{column}\b"):
        predict(scur, built.onnx, select=f"d.*, p.{output}")


def test_null_array_input_gives_null_outputs() -> None:
    built = M.mlp(n=300)
    nulls = [3, 150]
    con = connect("duckdb")
    cur = con.cursor()
    load(cur, built, "duckdb", nulls={"x": nulls})
    table = predict(cur, built.onnx, "WITH (probs FLOAT[4], total FLOAT)")
    valid = np.ones(built.rows, dtype=bool)
    valid[nulls] = False
    expected = direct(built, ["probs", "total"], valid)
    probs = table.column("probs").combine_chunks()
    assert np.flatnonzero(probs.is_null().to_numpy(zero_copy_only=False)).tolist() == nulls
    assert_bitwise(as_numpy(pa.chunked_array([probs.filter(pa.array(valid))]), 4), expected["probs"])
    total = table.column("total").combine_chunks()
    assert np.flatnonzero(total.is_null().to_numpy(zero_copy_only=False)).tolist() == nulls
    assert_bitwise(total.filter(pa.array(valid)).to_numpy(zero_copy_only=False), expected["total"].reshape(-1))


def test_all_rows_null() -> None:
    built = M.logistic_classifier("str", zipmap=False, n=50)
    con = connect("duckdb")
    cur = con.cursor()
    load(cur, built, "duckdb", nulls={"f1": list(range(50))})
    table = predict(cur, built.onnx, "WITH (label VARCHAR, probabilities FLOAT[3])")
    assert table.num_rows == 50
    assert table.column("label").null_count == 50
    assert table.column("probabilities").null_count == 50


@pytest.mark.parametrize("dialect", DIALECTS)
def test_nan_and_infinity_reach_the_model(dialect: str) -> None:
    built = M.identity_float()
    con = connect(dialect)
    cur = con.cursor()
    load(cur, built, dialect)
    table = predict(cur, built.onnx)
    assert table.column_names == ["id", "y", "nan", "inf"]
    assert table.schema.field("nan").type == pa.bool_()
    x = built.data["x"]
    assert table.column("y").null_count == 0
    got = as_numpy(table.column("y"))
    assert_bitwise(got, x)
    assert np.signbit(got).tolist() == np.signbit(x).tolist()
    assert as_numpy(table.column("nan")).tolist() == np.isnan(x).tolist()
    assert as_numpy(table.column("inf")).tolist() == np.isinf(x).tolist()
    expected = direct(built, ["y", "nan", "inf"])
    assert_bitwise(got, expected["y"].reshape(-1))


def test_nan_into_a_real_model() -> None:
    built = M.float_regressor(n=200)
    values = {k: v.copy() for k, v in built.data.items()}
    values["f0"][[1, 2, 3]] = [np.nan, np.inf, -np.inf]
    con = connect()
    cur = con.cursor()
    load(cur, built, "tsql", values=values)
    table = predict(cur, built.onnx, "WITH (variable REAL)")
    session = direct_session(built.onnx)
    expected = session.run(["variable"], {k: v.reshape(-1, 1) for k, v in values.items()})[0].reshape(-1)
    got = table.column("variable").combine_chunks()
    assert got.null_count == 0
    assert_bitwise(got.to_numpy(zero_copy_only=False), expected)
    assert np.isnan(expected[1]) and np.isinf(expected[2]) and np.isinf(expected[3])


# ---------------------------------------------------------------- session cache


def test_session_cache_builds_one_session_per_model() -> None:
    con = connect(session_cache_bytes=1 << 26)
    cur = con.cursor()
    built = M.float_regressor()
    load(cur, built, "tsql")
    assert con.cache.loads == 0
    first = predict(cur, built.onnx, "WITH (variable REAL)")
    assert con.cache.loads == 1
    second = predict(cur, built.onnx, "WITH (variable REAL)")
    assert con.cache.loads == 1
    assert first.equals(second)
    predict(cur, bytes(built.onnx), "WITH (variable FLOAT)")
    assert con.cache.loads == 1
    other = M.random_forest()
    predict(cur, other.onnx, "WITH (variable REAL)")
    assert con.cache.loads == 2
    predict(cur, built.onnx, "WITH (variable REAL)")
    assert con.cache.loads == 2


def test_session_cache_for_stored_model() -> None:
    con = connect(session_cache_bytes=1 << 26)
    cur = con.cursor()
    built = M.string_regressor(n=300)
    load(cur, built, "tsql")
    cur.execute("CREATE TABLE models (id INT, data VARBINARY(MAX), description VARCHAR(1000))")
    cur.execute("INSERT INTO models VALUES (1, ?, 'string model')", [built.onnx])
    expected = direct(built, ["variable"])["variable"].reshape(-1)
    for _ in range(2):
        cur.execute("SELECT d.id, p.variable FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), "
                    "DATA = t AS d, RUNTIME = ONNX) WITH (variable REAL) AS p ORDER BY d.id")
        assert_bitwise(as_numpy(cur.fetch_arrow_table().column("variable")), expected)
    assert con.cache.loads == 1


@pytest.mark.parametrize("kind", ["reshape", "sum"])
def test_batch_of_one_graph_that_assumes_one_row(kind: str, capfd) -> None:
    """Relaxing the batch dimension is not enough for these: the rows must still come out right, quietly."""
    built = M.one_row_network(kind)
    con = connect("duckdb", session_cache_bytes=1 << 26, batch_size=150)
    cur = con.cursor()
    load(cur, built, "duckdb")
    expected = direct(built, ["y"], per_row=True)["y"]
    for _ in range(2):
        table = predict(cur, built.onnx)
        width = 4 if kind == "reshape" else None
        got = as_numpy(table.column("y"), width)
        assert_bitwise(got, expected.reshape(got.shape))
    assert con.cache.loads == 1
    assert "onnxruntime" not in capfd.readouterr().err
