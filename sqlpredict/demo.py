"""`sqlpredict demo`: the SQL Edge PREDICT workflow end to end, in one second.

It shows a newcomer the whole path (store a model as a BLOB, fill a table,
score it from SQL) and proves to them that the numbers are right by running
onnxruntime directly on the same values. The model is a linear regression of
house prices fitted with numpy and written with onnx.helper, so the demo
needs nothing beyond sqlpredict's own dependencies (no scikit-learn).
"""

from __future__ import annotations

import sys
import typing as t

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from . import output

# The feature columns, one REAL column and one ONNX input [None, 1] each,
# with the range the training data is drawn from.
FEATURES: dict[str, tuple[float, float]] = {
    "area_m2": (35.0, 205.0),
    "bedrooms": (1.0, 5.0),
    "age_years": (0.0, 60.0),
    "distance_km": (0.5, 20.0),
}
# The price (in thousands) the synthetic market pays per unit of each feature.
_TRUE_PRICE = {"area_m2": 2.1, "bedrooms": 14.0, "age_years": -0.8, "distance_km": -4.5}
_TRUE_BASE = 55.0
ROWS = 5000
SHOWN_ROWS = 8
TOLERANCE = 1e-4  # float32 model: any provider or batch size stays far inside this


# ------------------------------------------------------------------ the model


def fit_house_prices(samples: int = 2000, seed: int = 7) -> tuple[np.ndarray, float]:
    """Least-squares fit of price on the features over noisy synthetic sales."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.uniform(lo, hi, samples) for lo, hi in FEATURES.values()])
    truth = x @ np.array(list(_TRUE_PRICE.values())) + _TRUE_BASE
    y = truth + rng.normal(0.0, 12.0, samples)
    design = np.column_stack([x, np.ones(samples)])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    return solution[:-1], float(solution[-1])


def build_model(weights: np.ndarray, bias: float) -> bytes:
    """An ONNX graph score = concat(inputs) @ W + b, one [None,1] float input per feature.

    One input per column is how SQL Edge binds DATA columns to a model.
    IR version 9 / opset 17, so every onnxruntime this package supports loads it.
    """
    names = list(FEATURES)
    w = numpy_helper.from_array(np.asarray(weights, np.float32).reshape(len(names), 1), "W")
    b = numpy_helper.from_array(np.array([bias], np.float32), "B")
    nodes = [
        helper.make_node("Concat", names, ["features"], axis=1),
        helper.make_node("MatMul", ["features", "W"], ["weighted"]),
        helper.make_node("Add", ["weighted", "B"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes, "house_price",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in names],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, ir_version=9, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="sqlpredict-demo")
    onnx.checker.check_model(model)
    return model.SerializeToString()


# ------------------------------------------------------------------ the SQL


def data_sql(rows: int = ROWS) -> str:
    """Deterministic house rows made by SQL alone, spread over each feature's range."""
    return (
        "INSERT INTO dbo.houses (id, area_m2, bedrooms, age_years, distance_km)\n"
        "SELECT i,\n"
        "       CAST(35 + (i * 37) % 171 AS REAL),\n"
        "       CAST(1 + (i * 7) % 5 AS REAL),\n"
        "       CAST((i * 13) % 61 AS REAL),\n"
        "       CAST(0.5 + ((i * 29) % 40) / 2.0 AS REAL)\n"
        f"FROM range({int(rows)}) AS r(i)"
    )


PREDICT_SQL = (
    "SELECT d.*, p.score\n"
    "FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1),\n"
    "             DATA = dbo.houses AS d,\n"
    "             RUNTIME = ONNX) WITH (score FLOAT) AS p\n"
    "ORDER BY d.id"
)


class _Step:
    """Prints each step's explanation and SQL before running it, so the demo reads as a tutorial."""

    def __init__(self, cursor: t.Any, out: t.TextIO) -> None:
        self.cursor, self.out, self.number = cursor, out, 0

    def say(self, text: str) -> None:
        self.number += 1
        self.out.write(f"\n-- {self.number}. {text}\n")

    def run(self, sql: str, params: t.Sequence[t.Any] | None = None, shown: str | None = None) -> t.Any:
        self.out.write(_indent(shown or sql) + "\n")
        return self.cursor.execute(sql, params)


def _indent(sql: str) -> str:
    return "\n".join("   " + line for line in sql.splitlines())


# ------------------------------------------------------------------ the check


def score_directly(model: bytes, result: output.ResultSet) -> np.ndarray:
    """The model run by onnxruntime itself on the feature values PREDICT returned."""
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {name: np.array(_column(result, name), np.float32).reshape(-1, 1) for name in FEATURES}
    return session.run(["score"], feeds)[0].reshape(-1).astype(np.float64)


def _column(result: output.ResultSet, name: str) -> list[t.Any]:
    index = result.columns.index(name)
    return [row[index] for row in result.rows]


def compare(expected: np.ndarray, result: output.ResultSet) -> float:
    """Largest absolute difference between PREDICT's scores and onnxruntime's (inf on a shape or NULL mismatch)."""
    got = _column(result, "score")
    if len(got) != len(expected) or any(v is None for v in got):
        return float("inf")
    return float(np.max(np.abs(np.array(got, np.float64) - expected), initial=0.0))


# ------------------------------------------------------------------ the demo


def run_demo(out: t.TextIO = sys.stdout, *, database: str = ":memory:", rows: int = ROWS) -> int:
    """Run the demo, printing every step; 0 when PREDICT matches onnxruntime, 1 otherwise."""
    import sqlpredict

    weights, bias = fit_house_prices()
    model = build_model(weights, bias)
    out.write(f"sqlpredict {sqlpredict.__version__} demo: scoring an ONNX model stored in a table, "
              "as Azure SQL Edge's PREDICT does.\n")
    out.write(f"The model: house price (thousands) = {_formula(weights, bias)}, "
              f"fitted with numpy least squares ({len(model)} bytes of ONNX).\n")
    con = sqlpredict.connect(database)
    try:
        step = _Step(con.cursor(), out)
        _load(step, model, rows)
        step.say("Score every house with PREDICT; the model is read from the models table.")
        result = output.from_cursor(step.run(PREDICT_SQL))
        out.write("\n" + output.format_table(result, max_rows=SHOWN_ROWS))
        con.commit()
    finally:
        con.close()
    return _report(out, model, result)


def _load(step: _Step, model: bytes, rows: int) -> None:
    step.say("Create the models table SQL Edge scripts use (ONNX models are VARBINARY(MAX) values).")
    step.run("DROP TABLE IF EXISTS models;\n"
             "CREATE TABLE models (id INT, data VARBINARY(MAX), description VARCHAR(1000))")
    step.say("Store the model with a DB-API parameter, as pyodbc scripts did.")
    step.run("INSERT INTO models (id, data, description) VALUES (1, ?, ?)", [model, "house price, linear"])
    step.say(f"Create a table of {rows} houses, one REAL column per model input.")
    step.run("DROP TABLE IF EXISTS dbo.houses;\n"
             "CREATE TABLE dbo.houses (id INT, area_m2 REAL, bedrooms REAL, age_years REAL, distance_km REAL)")
    step.run(data_sql(rows))


def _report(out: t.TextIO, model: bytes, result: output.ResultSet) -> int:
    out.write("\n-- Check: run onnxruntime directly on the same feature values.\n")
    diff = compare(score_directly(model, result), result)
    out.write(f"   {len(result.rows)} scores compared, max abs difference {diff:.3g}\n")
    if diff <= TOLERANCE:
        out.write("OK: PREDICT's scores equal the model's own.\n")
        return 0
    out.write(f"FAILED: PREDICT's scores differ from onnxruntime's by more than {TOLERANCE:g}.\n")
    return 1


def _formula(weights: np.ndarray, bias: float) -> str:
    terms = " ".join(f"{'-' if w < 0 else '+'} {abs(w):.2f}*{name}" for name, w in zip(FEATURES, weights))
    return f"{bias:.1f} {terms}"


__all__ = ["FEATURES", "fit_house_prices", "build_model", "data_sql", "PREDICT_SQL", "run_demo"]
