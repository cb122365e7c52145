"""Small ONNX models built with onnx.helper, shared by the tests.

onnx 1.23 writes IR version 14 by default, which onnxruntime 1.31 cannot
load, so every model here is written with IR version 9.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 9
OPSET = 17


def make(nodes, inputs, outputs, initializers=()) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    return model.SerializeToString()


def linear(names=("f0", "f1"), weights=(2.0, -3.0), bias=0.5, batch="N", elem=TensorProto.FLOAT) -> bytes:
    """score = sum(w_i * x_i) + b, one [batch,1] input per column."""
    np_type = np.float32 if elem == TensorProto.FLOAT else np.float64
    inputs = [helper.make_tensor_value_info(n, elem, [batch, 1]) for n in names]
    output = helper.make_tensor_value_info("score", elem, [batch, 1])
    w = numpy_helper.from_array(np.array(weights, dtype=np_type).reshape(-1, 1), "W")
    b = numpy_helper.from_array(np.array([bias], dtype=np_type), "B")
    nodes = [
        helper.make_node("Concat", list(names), ["x"], axis=1),
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "B"], ["score"]),
    ]
    return make(nodes, inputs, [output], [w, b])


def run_direct(model: bytes, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The independent computation: onnxruntime run directly on the same values."""
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)
