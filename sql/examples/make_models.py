"""Build the small ONNX models the example scripts load with OPENROWSET(BULK ...).

Run once from the repository root:  python sql/examples/make_models.py

numpy and onnx.helper only. Models are written with IR version 9 / opset 17,
which every onnxruntime sqlpredict supports loads (onnx 1.23 would otherwise
write IR 14).

- house_price.onnx: the SQL Edge ONNX quickstart's shape: a linear regression of a
  house price on four REAL features, each a [None, 1] float input.
- iron_ore.onnx: the SQL Edge iron-ore flotation sample's shape: the inputs are
  named as the plant's columns are, with spaces and symbols ("% Iron Feed"),
  and the output is "% Silica Concentrate".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent

HOUSE_FEATURES = {"area_m2": 2.1, "bedrooms": 14.0, "age_years": -0.8, "distance_km": -4.5}
HOUSE_BIAS = 55.0

IRON_FEATURES = {
    "% Iron Feed": -0.045,
    "% Silica Feed": 0.062,
    "Starch Flow": -0.00011,
    "Amina Flow": 0.0021,
    "Ore Pulp pH": -0.35,
    "Flotation Column 01 Air Flow": 0.0012,
}
IRON_BIAS = 5.25


def linear(name: str, features: dict[str, float], bias: float, output: str) -> bytes:
    """output = concat(inputs) @ W + b, one [None, 1] float input per feature."""
    names = list(features)
    w = numpy_helper.from_array(np.array(list(features.values()), np.float32).reshape(-1, 1), "W")
    b = numpy_helper.from_array(np.array([bias], np.float32), "B")
    nodes = [
        helper.make_node("Concat", names, ["features"], axis=1),
        helper.make_node("MatMul", ["features", "W"], ["weighted"]),
        helper.make_node("Add", ["weighted", "B"], [output]),
    ]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in names],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, 1])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, ir_version=9, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="sqlpredict-examples")
    return model.SerializeToString()


MODELS = {
    "house_price.onnx": lambda: linear("house_price", HOUSE_FEATURES, HOUSE_BIAS, "score"),
    "iron_ore.onnx": lambda: linear("iron_ore", IRON_FEATURES, IRON_BIAS, "% Silica Concentrate"),
}


def main() -> None:
    for file, build in MODELS.items():
        (HERE / file).write_bytes(build())
        print(f"wrote {HERE / file}")


if __name__ == "__main__":
    main()
