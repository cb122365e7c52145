"""Real models for the scoring tests: scikit-learn, LightGBM and hand-built ONNX networks.

Every builder fits on small seeded data and returns a `Built`: the ONNX bytes,
the fitted estimator (when there is one), the DATA columns the model binds to
with their T-SQL and DuckDB types, and the rows to score. Models are written
with IR version 9, which onnxruntime 1.31 loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 9
OPSETS = {"": 17, "ai.onnx.ml": 3}
COLORS = np.array(["red", "green", "blue", "amber"], dtype=object)


@dataclass(frozen=True)
class Column:
    name: str
    tsql: str
    duckdb: str
    dtype: np.dtype
    width: int | None = None  # k for a FLOAT[k] / DOUBLE[k] array column


@dataclass
class Built:
    """A model and the rows it scores."""

    onnx: bytes
    columns: list[Column]
    data: dict[str, np.ndarray]  # column name -> values; [n] or [n, k]
    estimator: object = None
    outputs: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(next(iter(self.data.values())))

    def frame(self):
        """The rows as the pandas DataFrame the scikit-learn estimator was fitted on."""
        return _frame(self.columns, np.stack([self.data[c.name] for c in self.columns], axis=1))

    def feeds(self, rows: slice | np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The inputs onnxruntime takes for these rows: [n,1] per scalar column, [n,k] per array."""
        sel = slice(None) if rows is None else rows
        out = {}
        for c in self.columns:
            v = self.data[c.name][sel]
            out[c.name] = v if c.width is not None else v.reshape(-1, 1)
        return out


def finish(model: onnx.ModelProto) -> bytes:
    """Pin the IR version onnxruntime 1.31 loads and check the model."""
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _numeric_frame(n: int, seed: int, dtype) -> np.ndarray:
    rng = _rng(seed)
    x = rng.normal(size=(n, 3)) * np.array([1.0, 10.0, 0.1]) + np.array([0.0, 5.0, -1.0])
    return x.astype(dtype)


def _target(x: np.ndarray, seed: int) -> np.ndarray:
    rng = _rng(seed + 1)
    return (1.5 * x[:, 0] - 0.25 * x[:, 1] + 7.0 * x[:, 2] + rng.normal(scale=0.1, size=len(x))).astype(np.float64)


def _initial_types(columns: list[Column], batch: int | None):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType

    kinds = {np.dtype(np.float32): FloatTensorType, np.dtype(np.float64): DoubleTensorType,
             np.dtype(np.int64): Int64TensorType, np.dtype(object): StringTensorType}
    return [(c.name, kinds[c.dtype]([batch, c.width or 1])) for c in columns]


def _convert(estimator, columns: list[Column], batch: int | None, options=None) -> bytes:
    from skl2onnx import convert_sklearn

    onx = convert_sklearn(estimator, initial_types=_initial_types(columns, batch), target_opset=OPSETS,
                          options=options)
    return finish(onx)


_FLOAT_COLS = [Column(f"f{i}", "REAL", "FLOAT", np.dtype(np.float32)) for i in range(3)]
_DOUBLE_COLS = [Column(f"f{i}", "FLOAT", "DOUBLE", np.dtype(np.float64)) for i in range(3)]
_INT_COLS = [Column(f"i{i}", "BIGINT", "BIGINT", np.dtype(np.int64)) for i in range(3)]


@lru_cache(maxsize=None)
def float_regressor(batch: int | None = None, n: int = 2000) -> Built:
    """StandardScaler + LinearRegression over three float32 inputs f0, f1, f2."""
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = _numeric_frame(n, 1, np.float32)
    est = make_pipeline(StandardScaler(), LinearRegression()).fit(x, _target(x, 1))
    data = {c.name: x[:, i] for i, c in enumerate(_FLOAT_COLS)}
    return Built(_convert(est, _FLOAT_COLS, batch), _FLOAT_COLS, data, est, ["variable"])


@lru_cache(maxsize=None)
def double_regressor(batch: int | None = None, n: int = 2000) -> Built:
    """StandardScaler + Ridge computed in double over three float64 inputs."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = _numeric_frame(n, 2, np.float64)
    est = make_pipeline(StandardScaler(), Ridge(alpha=0.5)).fit(x, _target(x, 2))
    data = {c.name: x[:, i] for i, c in enumerate(_DOUBLE_COLS)}
    return Built(_convert(est, _DOUBLE_COLS, batch), _DOUBLE_COLS, data, est, ["variable"])


@lru_cache(maxsize=None)
def int_classifier(batch: int | None = None, n: int = 2000) -> Built:
    """DecisionTreeClassifier over three int64 inputs, integer labels 0..2, ZipMap probabilities."""
    from sklearn.tree import DecisionTreeClassifier

    rng = _rng(3)
    x = rng.integers(-50, 50, size=(n, 3)).astype(np.int64)
    y = np.digitize(x[:, 0] + 2 * x[:, 1] - x[:, 2], [-40, 40]).astype(np.int64)
    est = _by_column(DecisionTreeClassifier(max_depth=5, random_state=0), _INT_COLS).fit(_frame(_INT_COLS, x), y)
    data = {c.name: x[:, i] for i, c in enumerate(_INT_COLS)}
    return Built(_convert(est, _INT_COLS, batch), _INT_COLS, data, est, ["output_label", "output_probability"])


_STRING_COLS = [Column("color", "VARCHAR(20)", "VARCHAR", np.dtype(object)),
                Column("size", "REAL", "FLOAT", np.dtype(np.float32))]


@lru_cache(maxsize=None)
def string_regressor(batch: int | None = None, n: int = 2000) -> Built:
    """OneHotEncoder on a string column plus a scaled float column, then LinearRegression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = _rng(4)
    color = COLORS[rng.integers(0, len(COLORS), size=n)]
    size = rng.uniform(0.0, 10.0, size=n).astype(np.float32)
    effect = {"red": 3.0, "green": -1.0, "blue": 0.5, "amber": 10.0}
    y = np.array([effect[c] for c in color]) + 0.7 * size + rng.normal(scale=0.1, size=n)
    import pandas as pd

    frame = pd.DataFrame({"color": color, "size": size})
    est = Pipeline([
        ("prep", ColumnTransformer([("onehot", OneHotEncoder(handle_unknown="ignore"), ["color"]),
                                    ("scale", StandardScaler(), ["size"])])),
        ("lr", LinearRegression()),
    ]).fit(frame, y)
    data = {"color": color, "size": size}
    return Built(_convert(est, _STRING_COLS, batch), _STRING_COLS, data, est, ["variable"])


def _by_column(est, columns: list[Column]):
    """Pipeline whose first step picks the named columns, so each column is its own ONNX input."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    return Pipeline([("columns", ColumnTransformer([("pick", "passthrough", [c.name for c in columns])])),
                     ("model", est)])


def _frame(columns: list[Column], x: np.ndarray):
    import pandas as pd

    return pd.DataFrame({c.name: x[:, i] for i, c in enumerate(columns)})


def _classifier_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = _numeric_frame(n, seed, np.float32)
    score = x[:, 0] + 0.1 * (x[:, 1] - 5.0) + 3.0 * (x[:, 2] + 1.0)
    return x, np.digitize(score, [-0.6, 0.6])


@lru_cache(maxsize=None)
def logistic_classifier(labels: str = "int", zipmap: bool = True, batch: int | None = None,
                        n: int = 1500) -> Built:
    """LogisticRegression over f0..f2 with three classes, integer or string labels.

    With zipmap=True the probabilities are a ZipMap (sequence of maps); with
    zipmap=False they are an [N,3] float tensor.
    """
    from sklearn.linear_model import LogisticRegression

    x, y = _classifier_data(n, 5)
    target = y.astype(np.int64) if labels == "int" else np.array(["low", "mid", "high"], dtype=object)[y]
    model = LogisticRegression(max_iter=500)
    est = _by_column(model, _FLOAT_COLS).fit(_frame(_FLOAT_COLS, x), target)
    options = None if zipmap else {id(model): {"zipmap": False}}
    data = {c.name: x[:, i] for i, c in enumerate(_FLOAT_COLS)}
    outputs = ["output_label", "output_probability"] if zipmap else ["label", "probabilities"]
    return Built(_convert(est, _FLOAT_COLS, batch, options), _FLOAT_COLS, data, est, outputs)


@lru_cache(maxsize=None)
def random_forest(batch: int | None = None, n: int = 1500) -> Built:
    """RandomForestRegressor over f0..f2 (a TreeEnsembleRegressor node)."""
    from sklearn.ensemble import RandomForestRegressor

    x = _numeric_frame(n, 6, np.float32)
    forest = RandomForestRegressor(n_estimators=12, max_depth=6, random_state=0, n_jobs=1)
    est = _by_column(forest, _FLOAT_COLS).fit(_frame(_FLOAT_COLS, x), _target(x, 6))
    data = {c.name: x[:, i] for i, c in enumerate(_FLOAT_COLS)}
    return Built(_convert(est, _FLOAT_COLS, batch), _FLOAT_COLS, data, est, ["variable"])


@lru_cache(maxsize=None)
def lightgbm_regressor(n: int = 1500) -> Built:
    """LightGBM regressor converted by onnxmltools: one [N,4] float input named 'features'."""
    import lightgbm
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    rng = _rng(7)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = np.sin(x[:, 0]) + x[:, 1] * x[:, 2] - 0.5 * x[:, 3]
    est = lightgbm.LGBMRegressor(n_estimators=20, num_leaves=8, random_state=0, verbose=-1,
                                 n_jobs=1).fit(x, y)
    onx = convert_lightgbm(est, initial_types=[("features", FloatTensorType([None, 4]))], target_opset=15)
    cols = [Column("features", "REAL[4]", "FLOAT[4]", np.dtype(np.float32), 4)]
    return Built(finish(onx), cols, {"features": x}, est, ["variable"])


def _dense(name: str, rng: np.random.Generator, k_in: int, k_out: int, dtype) -> list[TensorProto]:
    w = rng.normal(scale=1.0 / np.sqrt(k_in), size=(k_in, k_out)).astype(dtype)
    b = rng.normal(scale=0.1, size=(k_out,)).astype(dtype)
    return [numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(b, f"{name}_b")]


@lru_cache(maxsize=None)
def mlp(k: int = 4, hidden: int = 16, dtype: str = "float32", batch: int | str | None = "N",
        n: int = 1000) -> Built:
    """A two-layer network built with onnx.helper: x [N,k] -> Relu -> y [N,k], and softmax(y) as probs [N,k]."""
    np_dtype = np.dtype(dtype)
    elem = helper.np_dtype_to_tensor_dtype(np_dtype)
    rng = _rng(8)
    inits = _dense("l1", rng, k, hidden, np_dtype) + _dense("l2", rng, hidden, k, np_dtype)
    nodes = [
        helper.make_node("MatMul", ["x", "l1_w"], ["h0"]),
        helper.make_node("Add", ["h0", "l1_b"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "l2_w"], ["y0"]),
        helper.make_node("Add", ["y0", "l2_b"], ["y"]),
        helper.make_node("Softmax", ["y"], ["probs"], axis=-1),
        helper.make_node("ReduceSum", ["y", "axes1"], ["total"], keepdims=1),
    ]
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axes1"))
    graph = helper.make_graph(
        nodes, f"mlp_{dtype}",
        [helper.make_tensor_value_info("x", elem, [batch, k])],
        [helper.make_tensor_value_info("y", elem, [batch, k]),
         helper.make_tensor_value_info("probs", elem, [batch, k]),
         helper.make_tensor_value_info("total", elem, [batch, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION)
    x = _rng(9).normal(size=(n, k)).astype(np_dtype)
    duck = "FLOAT" if np_dtype == np.float32 else "DOUBLE"
    cols = [Column("x", f"{duck}[{k}]", f"{duck}[{k}]", np_dtype, k)]
    return Built(finish(model), cols, {"x": x}, None, ["y", "probs", "total"])


@lru_cache(maxsize=None)
def identity_float(n: int = 8) -> Built:
    """y = x * 1 and a float32 flag isnan(x): shows NaN and infinities reach the model as values."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "one"], ["y"]),
         helper.make_node("IsNaN", ["x"], ["nan"]),
         helper.make_node("IsInf", ["x"], ["inf"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("nan", TensorProto.BOOL, ["N", 1]),
         helper.make_tensor_value_info("inf", TensorProto.BOOL, ["N", 1])],
        [numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION)
    x = np.array([0.5, np.nan, np.inf, -np.inf, -0.0, 3.4e38, 1e-45, -2.0], dtype=np.float32)[:n]
    cols = [Column("x", "REAL", "FLOAT", np.dtype(np.float32))]
    return Built(finish(model), cols, {"x": x}, None, ["y", "nan", "inf"])


@lru_cache(maxsize=None)
def one_row_network(kind: str = "reshape", k: int = 4, n: int = 400) -> Built:
    """A batch-1 export whose graph assumes one row inside, as tracing exporters write them.

    kind="reshape": x [1,k] is reshaped to the constant shape [1,k] (a traced Flatten);
    kind="sum": the output sums over every axis (a traced global pooling), [1,1].
    Making the batch dimension symbolic alone does not let these score a batch.
    """
    rng = _rng(10)
    inits = _dense("l1", rng, k, k, np.float32)
    if kind == "reshape":
        inits.append(numpy_helper.from_array(np.array([1, k], dtype=np.int64), "shape"))
        nodes = [helper.make_node("Reshape", ["x", "shape"], ["flat"]),
                 helper.make_node("MatMul", ["flat", "l1_w"], ["h"]),
                 helper.make_node("Add", ["h", "l1_b"], ["y"])]
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, k])
    else:
        nodes = [helper.make_node("MatMul", ["x", "l1_w"], ["h"]),
                 helper.make_node("Add", ["h", "l1_b"], ["a"]),
                 helper.make_node("ReduceSum", ["a"], ["y0"], keepdims=1),
                 helper.make_node("Reshape", ["y0", "shape"], ["y"])]
        inits.append(numpy_helper.from_array(np.array([1, 1], dtype=np.int64), "shape"))
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])
    graph = helper.make_graph(nodes, f"one_row_{kind}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                              [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION)
    x = _rng(11).normal(size=(n, k)).astype(np.float32)
    cols = [Column("x", f"REAL[{k}]", f"FLOAT[{k}]", np.dtype(np.float32), k)]
    return Built(finish(model), cols, {"x": x}, None, ["y"])
