"""Describing a model: its inputs and outputs with the SQL types they bind to.

One module for the two ways to ask: SQL (`EXEC sp_describe_model @model = ...`)
and the command line (`sqlpredict describe MODEL.onnx`). Spec section 6: what
SQL Edge users needed Netron for.

Nothing here decides on its own what binds: each input is tried against the
binding rules (`binding.bind_inputs` with a column of the input's natural
type), each output through `binding.bind_outputs`, and the type names come
from `sqltypes`. This module only words the answer.
"""

from __future__ import annotations

import dataclasses
import typing as t

from sqlglot import exp

from .binding import bind_inputs, bind_outputs
from .dialects import get_dialect, quote_identifier
from .errors import ProgrammingError
from .model import ModelInfo, TensorInfo, describe_model
from .sqltypes import (
    ONNX_NUMPY,
    cast_target,
    onnx_duckdb_type,
    onnx_elem_name,
    tsql_native_name,
)

COLUMNS = ["direction", "name", "onnx_type", "shape", "sql_type", "note"]
MODEL_QUERY = "(SELECT data FROM models WHERE id = 1)"


@dataclasses.dataclass
class _Entry:
    """One graph input or output, as described."""

    direction: str
    info: TensorInfo
    sql_type: str | None  # the type named in the dialect; None when no SQL type binds
    notes: list[str]
    duckdb_type: str | None = None  # the DuckDB type that binds (also for T-SQL arrays and int8)
    # what to write for it in this dialect: the DATA column's type (inputs), the WITH type (outputs);
    # None: no type binds (inputs), left out of WITH (outputs)
    declare: str | None = None

    @property
    def shape(self) -> str | None:
        return self.info.shape_text if self.info.shape is not None else None

    def row(self) -> tuple:
        note = "; ".join(self.notes) or None
        return (self.direction, self.info.name, self.info.onnx_type, self.shape, self.sql_type, note)


def describe_rows(blob: bytes, dialect: str = "tsql") -> tuple[list[str], list[tuple]]:
    """Columns (direction, name, onnx_type, shape, sql_type, note) and one row per input, then per output."""
    return list(COLUMNS), [e.row() for e in _entries(blob, dialect)]


def predict_template(blob: bytes, dialect: str = "tsql", table: str = "dbo.my_table") -> str:
    """A ready-to-edit PREDICT query for the model, with a comment naming the DATA columns it needs."""
    entries = _entries(blob, dialect)
    d = get_dialect(dialect)
    inputs = [e for e in entries if e.direction == "input"]
    outputs = [e for e in entries if e.direction == "output"]
    q = lambda name: quote_identifier(name, d)  # noqa: E731

    needs = ", ".join(f"{q(e.info.name)} {e.declare or '(no SQL type)'}" for e in inputs)
    lines = [f"-- DATA needs columns: {needs or '(none)'}"]
    for e in inputs:
        if e.sql_type is None or e.duckdb_type is None:
            lines.append(f"--   {q(e.info.name)}: {'; '.join(e.notes)}")
    declared = [e for e in outputs if e.declare is not None]
    for e in outputs:
        if e.declare is None:
            lines.append(f"-- output {q(e.info.name)} left out of WITH: {'; '.join(e.notes) or 'no SQL type'}")
    select = ", ".join(["d.*"] + [f"p.{q(e.info.name)}" for e in declared])
    lines.append(f"SELECT {select}")
    lines.append(f"FROM PREDICT(MODEL = {MODEL_QUERY},")
    lines.append(f"             DATA = {_table_name(table, d)} AS d, RUNTIME = ONNX)")
    if declared:
        lines.append(f"WITH ({', '.join(f'{q(e.info.name)} {e.declare}' for e in declared)}) AS p")
    else:
        lines.append("AS p")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ rules


def _entries(blob: bytes, dialect: str) -> list[_Entry]:
    get_dialect(dialect)  # an unknown dialect is a ValueError, before the model is read
    dialect = dialect.lower()
    model = describe_model(blob)
    relaxed = describe_model(model.batch_bytes) if model.relaxed else model
    entries = []
    for info, batch in zip(model.inputs, relaxed.inputs):
        entries.append(_describe_input(model, info, batch, dialect))
    for info, batch in zip(model.outputs, relaxed.outputs):
        entries.append(_describe_output(model, info, batch, dialect))
    return entries


def _kind(onnx_type: str) -> str:
    if onnx_type.startswith("seq(map("):
        return "sequence of maps (ZipMap)"
    if onnx_type.startswith("seq("):
        return "sequence"
    if onnx_type.startswith("map("):
        return "map"
    return onnx_type


def _shape_note(info: TensorInfo, batch: TensorInfo) -> str | None:
    """Why a tensor of this shape is not one value or one array per row, or None when it is."""
    shape = batch.shape or ()
    if len(shape) == 2 and not isinstance(shape[1], int):
        return f"shape {info.shape_text}: its second dimension is not fixed, so not one array of k values per row"
    if len(shape) not in (1, 2):
        return f"shape {info.shape_text}: not one value or one array per row"
    return None


def _batch_notes(info: TensorInfo, batch: TensorInfo) -> list[str]:
    if batch.shape != info.shape:
        return ["fixed batch 1: scored in batches anyway"]
    first = info.shape[0] if info.shape else None
    if isinstance(first, int):
        return [f"fixed batch {first}: onnxruntime takes exactly {first} rows per call, so tables of "
                f"other sizes fail; re-export the model with a symbolic batch dimension"]
    return []


def _per_row(model: ModelInfo, batch: TensorInfo, dialect: str):
    """The binding rules' view of one tensor: (width, natural DuckDB type), or None when not per row."""
    probe = dataclasses.replace(model, inputs=(), outputs=(batch,))
    bound = bind_outputs(probe, None, dialect)  # no WITH: exactly the per-row tensors
    return (bound[0].width, bound[0].natural_type) if bound else None


def _describe_input(model: ModelInfo, info: TensorInfo, batch: TensorInfo, dialect: str) -> _Entry:
    elem = onnx_elem_name(info.onnx_type)
    if elem is None:
        return _Entry("input", info, None, [f"{_kind(info.onnx_type)}: no SQL column can supply it"])
    if elem not in ONNX_NUMPY:
        return _Entry("input", info, None, [f"{elem} has no SQL type"])
    per_row = _per_row(model, batch, dialect)
    if per_row is None:
        return _Entry("input", info, None, [_shape_note(info, batch) or f"shape {info.shape_text}: not bound"])
    width, natural = per_row
    # Ask the binding rules whether a column of that type binds (it must: this is the type to give it).
    probe = dataclasses.replace(model, inputs=(batch,), outputs=())
    try:
        bind_inputs(probe, [(info.name, natural)], dialect)
    except ProgrammingError as exc:
        return _Entry("input", info, None, [str(exc).removeprefix("PREDICT: ")])
    sql_type, notes = _dialect_type(natural, elem, width, dialect, "supply it as")
    column_type = sql_type or (cast_target(ONNX_NUMPY[elem], None, dialect) if width is None else natural)
    return _Entry("input", info, sql_type, notes + _batch_notes(info, batch), natural, column_type)


def _describe_output(model: ModelInfo, info: TensorInfo, batch: TensorInfo, dialect: str) -> _Entry:
    elem = onnx_elem_name(info.onnx_type)
    if elem is None:
        note = f"{_kind(info.onnx_type)}: left out of WITH unless named"
        map_type = onnx_duckdb_type(info.onnx_type)
        if map_type and dialect == "tsql":
            note += " (declare it varchar to get its text; as a map it needs the DuckDB dialect)"
        elif map_type:
            note += f" (declare it {map_type})"
        return _Entry("output", info, None, [note])
    if elem not in ONNX_NUMPY:
        return _Entry("output", info, None, [f"{elem} has no SQL type; leave it out of WITH"])
    per_row = _per_row(model, batch, dialect)
    if per_row is None:
        note = _shape_note(info, batch) or f"shape {info.shape_text}: not returned"
        return _Entry("output", info, None, [note + "; leave it out of WITH"])
    width, natural = per_row
    sql_type, notes = _dialect_type(natural, elem, width, dialect, "declare it")
    if dialect != "tsql":
        declare = natural
    elif width is None:
        declare = cast_target(ONNX_NUMPY[elem], None, dialect)
    else:
        declare = None  # T-SQL parses no array type; no WITH returns it (every per-row output)
    return _Entry("output", info, sql_type, notes + _batch_notes(info, batch), natural, declare)


def _dialect_type(natural: str, elem: str, width: int | None, dialect: str, verb: str) -> tuple[str | None, list[str]]:
    """The type's name in the dialect, and notes where the dialect has no name for it."""
    if dialect != "tsql":
        return natural, []
    if width is not None:
        return natural, [f"T-SQL has no array type: {verb} {natural} with the DuckDB dialect"]
    name = tsql_native_name(natural)
    if name is not None:
        return name, []
    alias = cast_target(ONNX_NUMPY[elem], None, dialect)
    here = f"sqlpredict's T-SQL reads {alias} as it, or " if alias != natural else ""
    return None, [f"{elem} has no T-SQL type; {here}use the DuckDB dialect ({natural})"]


def _table_name(table: str, dialect: t.Any) -> str:
    """The DATA table, each part quoted by the dialect (`dbo.my_table`, `[my schema].[t]`)."""
    try:
        parsed = exp.to_table(table, dialect=dialect)
    except Exception:  # noqa: BLE001 - not a table name the dialect reads: one identifier
        return quote_identifier(table, dialect)
    parts = [p.name for p in parsed.parts] if parsed is not None else []
    if not parts or any(not p for p in parts):
        return quote_identifier(table, dialect)
    return ".".join(quote_identifier(p, dialect) for p in parts)


__all__ = ["COLUMNS", "describe_rows", "predict_template"]
