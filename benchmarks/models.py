"""Model builders and onnxruntime session settings shared by the benchmark.

Every model reads eight float32 columns f0..f7, one ONNX input per column of
shape [N,1] (the SQL Edge convention), and is written with IR version 9:
onnx 1.23 writes IR 14 by default, which onnxruntime 1.31 cannot load.

Every system in the benchmark builds its onnxruntime session with
`session_options()` and `providers()`, the same settings sqlpredict uses
(sqlpredict/sessions.py), so the systems differ only in how rows travel.
"""

from __future__ import annotations

import numpy as np

FEATURES = [f"f{i}" for i in range(8)]
IR_VERSION = 9
OPSETS = {"": 17, "ai.onnx.ml": 3}
TRAIN_ROWS = 5000
SEED = 7


# ---------------------------------------------------------------- session settings


def session_options():
    """sqlpredict's own options: quiet log, one inter-op thread, intra-op threads left to onnxruntime,
    no spin-waiting between runs. Every system uses them, so the comparison is of the pipelines."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # intra_op_num_threads stays 0: onnxruntime uses one thread per physical core.
    # graph_optimization_level stays at its default, ORT_ENABLE_ALL.
    return options


def providers() -> list[str]:
    """The providers sqlpredict picks by default: CUDA first when usable, else CPU."""
    from sqlpredict.sessions import default_providers

    return list(default_providers())


def make_session(model: bytes):
    import onnxruntime as ort

    return ort.InferenceSession(model, session_options(), providers=providers())


# ---------------------------------------------------------------- helpers


def _finish(model) -> bytes:
    """Pin IR version 9 and check the model."""
    import onnx

    if model.ir_version > IR_VERSION:
        model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString()


def training_data(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """A small sample with the benchmark tables' distribution: f0..f7 uniform in [0, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.random((TRAIN_ROWS, len(FEATURES)), dtype=np.float32)
    y = (x @ np.linspace(-2.0, 3.0, len(FEATURES)) + np.sin(6 * x[:, 0]) * x[:, 1]
         + rng.normal(scale=0.05, size=TRAIN_ROWS))
    return x, y.astype(np.float32)


def _sklearn_to_onnx(estimator, options=None) -> bytes:
    """Convert with one [N,8] input, then split it into one [N,1] input per column."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    model = convert_sklearn(estimator, initial_types=[("features", FloatTensorType([None, len(FEATURES)]))],
                            target_opset=OPSETS, options=options)
    return _finish(_one_input_per_column(model))


def _one_input_per_column(model):
    """Replace the graph input 'features' [N,8] by inputs f0..f7 [N,1] and a Concat."""
    from onnx import TensorProto, helper

    graph = model.graph
    del graph.input[:]
    graph.input.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 1]) for n in FEATURES)
    graph.node.insert(0, helper.make_node("Concat", FEATURES, ["features"], axis=1, name="concat_columns"))
    return model


# ---------------------------------------------------------------- the models


def linear_regression(batch: int | str = "N") -> bytes:
    """(a), (e), (g): a fitted linear regression, score = x @ w + b, one [batch,1] input per column.

    Built with onnx.helper (Concat, MatMul, Add) from scikit-learn's fitted
    coefficients; `batch=1` gives the fixed-batch model of workload (f).
    """
    from onnx import TensorProto, helper, numpy_helper
    from sklearn.linear_model import LinearRegression

    x, y = training_data()
    fitted = LinearRegression().fit(x, y)
    w = numpy_helper.from_array(fitted.coef_.astype(np.float32).reshape(-1, 1), "W")
    b = numpy_helper.from_array(np.array([fitted.intercept_], dtype=np.float32), "B")
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [batch, 1]) for n in FEATURES]
    output = helper.make_tensor_value_info("score", TensorProto.FLOAT, [batch, 1])
    nodes = [
        helper.make_node("Concat", FEATURES, ["x"], axis=1),
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "B"], ["score"]),
    ]
    graph = helper.make_graph(nodes, "linear_regression", inputs, [output], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSETS[""])])
    return _finish(model)


def tree_ensemble(trees: int = 100, depth: int = 8) -> bytes:
    """(b), (d): a RandomForestRegressor, `trees` trees of depth `depth`, output 'variable' [N,1]."""
    from sklearn.ensemble import RandomForestRegressor

    x, y = training_data()
    forest = RandomForestRegressor(n_estimators=trees, max_depth=depth, random_state=SEED, n_jobs=-1).fit(x, y)
    return _sklearn_to_onnx(forest)


def classifier(classes: int = 3) -> bytes:
    """(c): a LogisticRegression over `classes` classes, zipmap=False.

    Outputs 'label' (int64 [N]) and 'probabilities' (float [N,classes]).
    """
    from sklearn.linear_model import LogisticRegression

    x, y = training_data()
    labels = np.digitize(y, np.quantile(y, np.linspace(0, 1, classes + 1)[1:-1]))
    fitted = LogisticRegression(max_iter=500).fit(x, labels)
    return _sklearn_to_onnx(fitted, options={id(fitted): {"zipmap": False}})


def relax_batch(model: bytes) -> bytes:
    """The fixed-batch model with its batch dimension of 1 made symbolic, as a hand-writer would.

    The systems written by hand score workload (f) with this, in whole
    batches; PREDICT gets the original [1,1] model and must do it itself.
    """
    import onnx

    proto = onnx.load_from_string(model)
    for value in list(proto.graph.input) + list(proto.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        dim.Clear()
        dim.dim_param = "N"
    return _finish(proto)


def build_all() -> dict[str, bytes]:
    """Every model the benchmark uses, by name."""
    batch1 = linear_regression(batch=1)
    return {
        "linear": linear_regression(),
        "forest": tree_ensemble(),
        "classifier": classifier(),
        "linear_batch1": batch1,
        "linear_batch1_relaxed": relax_batch(batch1),
    }
