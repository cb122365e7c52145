"""A model value: checked, described, and prepared for batch scoring.

A model arrives as bytes from a table. Nothing in those bytes may make the
engine open a file (external tensor data) or load a library (custom operator
domains), so both are refused here, before onnxruntime sees the bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import onnx
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError
from onnx import ModelProto, TensorProto

from .errors import ProgrammingError

# Operator domains that onnxruntime implements itself: no library is loaded for them.
BUILTIN_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "ai.onnx.training", "ai.onnx.preview.training"}


@dataclass(frozen=True)
class TensorInfo:
    """One graph input or output as the binding rules see it."""

    name: str
    onnx_type: str  # "tensor(float)", "seq(map(int64,tensor(float)))", ...
    shape: tuple[int | str | None, ...] | None  # None when the value is not a tensor

    @property
    def shape_text(self) -> str:
        if self.shape is None:
            return "(no shape)"
        return "[" + ",".join("N" if d is None else str(d) for d in self.shape) + "]"


@dataclass(frozen=True)
class ModelInfo:
    digest: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    batch_bytes: bytes  # the model with a fixed batch dimension of 1 relaxed to N
    original_bytes: bytes
    relaxed: bool  # True when batch_bytes differs from original_bytes


def model_digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def parse_model(blob: bytes) -> ModelProto:
    """Parse and check model bytes; any failure is a PREDICT: error, never a crash."""
    proto = ModelProto()
    try:
        proto.ParseFromString(blob)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ProgrammingError(f"PREDICT: model is corrupt or invalid: it is not an ONNX protobuf ({exc})") from exc
    if not proto.HasField("graph") or not proto.graph.node and not proto.graph.output:
        raise ProgrammingError("PREDICT: model is corrupt or invalid: the bytes hold no ONNX graph")
    check_text_fields(proto)
    refuse_files_and_libraries(proto)
    check_value_types(proto)
    try:
        onnx.checker.check_model(proto)
    except (onnx.checker.ValidationError, Exception) as exc:  # noqa: BLE001 - the checker raises several types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProgrammingError(f"PREDICT: model is corrupt or invalid: {reason}") from exc
    return proto


def _graphs(graph: onnx.GraphProto):
    yield graph
    yield from _subgraphs(graph.node)


def _subgraphs(nodes):
    """The graphs held in nodes' attributes (If, Loop, Scan bodies), and theirs in turn."""
    for node in nodes:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            for sub in attr.graphs:
                yield from _graphs(sub)


def _all_graphs(proto: ModelProto):
    """The main graph, its subgraphs, and those inside the model's local functions."""
    yield from _graphs(proto.graph)
    for function in proto.functions:
        yield from _subgraphs(function.node)


def _sparse(sparse: onnx.SparseTensorProto):
    yield sparse.values
    yield sparse.indices


def _tensors(proto: ModelProto):
    """Every tensor the model holds: initializers, and attributes (dense or sparse) of every node,
    in subgraphs and local functions too."""
    nodes = [node for function in proto.functions for node in function.node]
    for g in _all_graphs(proto):
        yield from g.initializer
        for sparse in g.sparse_initializer:
            yield from _sparse(sparse)
        nodes.extend(g.node)
    for node in nodes:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("sparse_tensor"):
                yield from _sparse(attr.sparse_tensor)
            for sparse in attr.sparse_tensors:
                yield from _sparse(sparse)


def refuse_files_and_libraries(proto: ModelProto) -> None:
    """A model value must never make the engine read a file or load a library."""
    for tensor in _tensors(proto):
        if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
            raise ProgrammingError(
                f"PREDICT: model is refused: tensor '{tensor.name}' keeps its data in an external file; "
                "a model stored in a table must be self-contained: save it with "
                "onnx.save_model(model, path, save_as_external_data=False)"
            )
    domains = {op.domain for op in proto.opset_import} | {n.domain for g in _all_graphs(proto) for n in g.node}
    custom = sorted(d for d in domains if d not in BUILTIN_DOMAINS and d not in {f.domain for f in proto.functions})
    if custom:
        raise ProgrammingError(
            f"PREDICT: model is refused: it uses operators from custom domain(s) {', '.join(custom)}, "
            "which need a custom operator library; sqlpredict never loads libraries for a model value"
        )


def check_text_fields(proto: ModelProto) -> None:
    """Every string field must be text.

    ONNX's protobuf schema is proto2, whose string fields the Python runtime
    hands back as bytes when they are not valid UTF-8 (one flipped bit in a
    name does it). Names and domains are joined, compared and shown in
    messages; bytes there would raise TypeError far from here.
    """
    string = FieldDescriptor.TYPE_STRING
    stack: list = [proto]
    while stack:
        message = stack.pop()
        for field, value in message.ListFields():
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                if _is_repeated(field):
                    stack.extend(value)
                else:
                    stack.append(value)
            elif field.type == string:
                values = value if _is_repeated(field) else [value]
                if any(not isinstance(v, str) for v in values):
                    raise ProgrammingError(
                        f"PREDICT: model is corrupt or invalid: field {message.DESCRIPTOR.name}.{field.name} "
                        "is not valid UTF-8 text"
                    )


def _is_repeated(field: FieldDescriptor) -> bool:
    repeated = getattr(field, "is_repeated", None)  # protobuf 6 has is_repeated; older ones label
    return bool(repeated) if repeated is not None else field.label == FieldDescriptor.LABEL_REPEATED


_KNOWN_ELEM_TYPES = {v for v in TensorProto.DataType.values() if v != TensorProto.UNDEFINED}


def check_value_types(proto: ModelProto) -> None:
    """Every graph input and output must have a type this onnx knows.

    onnx.checker does not look at the element types of graph inputs and
    outputs, and a bit flip readily makes one 99 or 0: describing such a
    value (and binding it) would fail with a KeyError, not a PREDICT: error.
    """
    for value in list(proto.graph.input) + list(proto.graph.output):
        problem = _type_problem(value.type)
        if problem:
            raise ProgrammingError(
                f"PREDICT: model is corrupt or invalid: graph value '{value.name}' has {problem}"
            )


def _type_problem(tp: onnx.TypeProto, depth: int = 0) -> str | None:
    kind = tp.WhichOneof("value")
    if depth > 8:
        return "a type nested too deeply"
    if kind == "tensor_type":
        elem = tp.tensor_type.elem_type
        return None if elem in _KNOWN_ELEM_TYPES else f"an unknown element type ({elem})"
    if kind == "sequence_type":
        return _type_problem(tp.sequence_type.elem_type, depth + 1)
    if kind == "map_type":
        if tp.map_type.key_type not in _KNOWN_ELEM_TYPES:
            return f"an unknown map key type ({tp.map_type.key_type})"
        return _type_problem(tp.map_type.value_type, depth + 1)
    if kind == "optional_type":
        return _type_problem(tp.optional_type.elem_type, depth + 1)
    if kind == "sparse_tensor_type":
        elem = tp.sparse_tensor_type.elem_type
        return None if elem in _KNOWN_ELEM_TYPES else f"an unknown element type ({elem})"
    return f"no type ({kind or 'unset'})"


def _tensor_info(value: onnx.ValueInfoProto) -> TensorInfo:
    kind = value.type.WhichOneof("value")
    onnx_type = _type_text(value.type)
    if kind != "tensor_type":
        return TensorInfo(value.name, onnx_type, None)
    shape: list[int | str | None] = []
    if value.type.tensor_type.HasField("shape"):
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_value") and dim.dim_value > 0:
                shape.append(dim.dim_value)
            elif dim.HasField("dim_param"):
                shape.append(dim.dim_param)
            else:
                shape.append(None)
    return TensorInfo(value.name, onnx_type, tuple(shape))


def _type_text(tp: onnx.TypeProto) -> str:
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        return f"tensor({onnx.helper.tensor_dtype_to_string(tp.tensor_type.elem_type).split('.')[-1].lower()})"
    if kind == "sequence_type":
        return f"seq({_type_text(tp.sequence_type.elem_type)})"
    if kind == "map_type":
        key = onnx.helper.tensor_dtype_to_string(tp.map_type.key_type).split(".")[-1].lower()
        return f"map({key},{_type_text(tp.map_type.value_type)})"
    return kind or "unknown"


def relax_batch_dimension(proto: ModelProto) -> bool:
    """Turn a fixed batch dimension of 1 on inputs and outputs into a symbolic N.

    Models exported for one row at a time (the SQL Edge quickstart's default)
    then score whole batches in one call. Returns whether anything changed.
    """
    changed = False
    initializers = {init.name for init in proto.graph.initializer}
    for value in list(proto.graph.input) + list(proto.graph.output):
        if value.name in initializers or value.type.WhichOneof("value") != "tensor_type":
            continue
        dims = value.type.tensor_type.shape.dim
        if len(dims) in (1, 2) and dims[0].HasField("dim_value") and dims[0].dim_value == 1:
            dims[0].Clear()
            dims[0].dim_param = "N"
            changed = True
    if changed:
        del proto.graph.value_info[:]
    return changed


def describe_model(blob: bytes) -> ModelInfo:
    """Check a model value and describe its graph inputs and outputs."""
    proto = parse_model(blob)
    initializers = {init.name for init in proto.graph.initializer}
    inputs = tuple(_tensor_info(v) for v in proto.graph.input if v.name not in initializers)
    outputs = tuple(_tensor_info(v) for v in proto.graph.output)
    relaxed = relax_batch_dimension(proto)
    batch_bytes = proto.SerializeToString() if relaxed else blob
    return ModelInfo(model_digest(blob), inputs, outputs, batch_bytes, blob, relaxed)
