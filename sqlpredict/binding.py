"""Binding a model to a relation: graph inputs to DATA columns, WITH to outputs.

This is spec sections 2, 3 and 4 in one place. The result, a `Binding`, says
which column feeds each input (with its dtype and width) and which output
fills each result column (with the declared type to CAST to).
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

import numpy as np

from .dialects import get_dialect, quote_identifier
from .errors import ProgrammingError
from .model import ModelInfo, TensorInfo
from .sqltypes import (
    ONNX_NUMPY,
    SqlType,
    cast_target,
    converts_exactly,
    natural_sql_type,
    onnx_duckdb_type,
    onnx_elem_name,
    parse_sql_type,
    sql_name,
)


@dataclass(frozen=True)
class InputBinding:
    input: TensorInfo
    column: str  # the DATA column's name, as the relation spells it
    column_type: SqlType
    dtype: np.dtype  # what the model takes
    width: int | None  # k for an [N,k] input fed by an array column
    rank: int  # 1 for [N], 2 for [N,1] and [N,k]
    dialect: str = "duckdb"  # the connection's: messages write names and fixes as its users do


@dataclass(frozen=True)
class OutputBinding:
    output: TensorInfo
    name: str  # the result column's name (as WITH wrote it, or the output's name)
    dtype: np.dtype | None  # None for non-tensor outputs (ZipMap maps)
    width: int | None  # k for [N,k] outputs returned as arrays
    natural_type: str  # DuckDB type of the values the model gives
    declared_type: str | None  # DuckDB type WITH declared, applied with CAST
    dialect: str = "duckdb"  # the connection's: messages name types as its users write them


@dataclass(frozen=True)
class Binding:
    inputs: tuple[InputBinding, ...]
    outputs: tuple[OutputBinding, ...]


_DUCKDB_RENAME = re.compile(r"(?P<base>.+)_\d+")


def match_name(wanted: str, names: list[str], what: str) -> str | None:
    """Case-insensitive match, exact case preferred; two case-only matches are an error.

    `what` is "input" (names are DATA columns) or "WITH column" (names are model
    outputs); the message says which, since only DATA columns can be renamed.

    DuckDB never shows two columns that differ only in case: it keeps the first
    and renames the next `X_1`, `X_2`. So for inputs, a case-only match `xx`
    next to a column `XX_1` whose base also matches (and is not `xx` itself)
    is the spec's ambiguous pair, not a clean match: binding `xx` silently
    would feed the input a column the user may not have meant.
    """
    if wanted in names:
        return wanted
    found = [n for n in names if n.lower() == wanted.lower()]
    if what == "input" and len(found) == 1:
        renamed = [n for n in names if (m := _DUCKDB_RENAME.fullmatch(n))
                   and m["base"].lower() == wanted.lower() and m["base"] != found[0]]
        if renamed:
            bases = [_DUCKDB_RENAME.fullmatch(n)["base"] for n in renamed]
            fix = (f"SQL names ignore case, so one relation cannot hold both under their own names; keep only "
                   f"one of them in DATA" if wanted in bases else
                   f"none is spelled exactly '{wanted}'. Keep only one of them in DATA, or name one exactly "
                   f"{wanted}")
            raise ProgrammingError(
                f"PREDICT: input '{wanted}' matches DATA columns that differ only in case: \"{found[0]}\", "
                + ", ".join(f'"{base}" (which DuckDB renamed "{n}")' for base, n in zip(bases, renamed))
                + f"; {fix}"
            )
    if len(found) > 1:
        kinds = "DATA columns" if what == "input" else "model outputs"
        fix = ("rename all but one in DATA" if what == "input"
               else f"write one of them in WITH with its exact case ({', '.join(found)})")
        raise ProgrammingError(
            f"PREDICT: {what} '{wanted}' matches several {kinds} that differ only in case "
            f"({', '.join(found)}); {fix}"
        )
    return found[0] if found else None


def _per_row_width(info: TensorInfo, kind: str) -> tuple[int, int | None]:
    """(rank, width) of a tensor that carries one value (or one array) per row."""
    shape = info.shape or ()
    if shape and isinstance(shape[0], int) and shape[0] > 1:
        raise ProgrammingError(
            f"PREDICT: {kind} '{info.name}' has a fixed first dimension of {shape[0]} (shape {info.shape_text}); "
            "sqlpredict scores any number of rows and needs the first dimension to be N, -1, None or 1: "
            "export the model with a dynamic batch dimension"
        )
    if len(shape) == 1:
        return 1, None
    if len(shape) == 2:
        k = shape[1]
        if k == 1:
            return 2, None
        if isinstance(k, int):
            return 2, k
        raise ProgrammingError(
            f"PREDICT: {kind} '{info.name}' has shape {info.shape_text} whose second dimension is not fixed; "
            "sqlpredict needs one value or one fixed-size array per row"
        )
    raise ProgrammingError(
        f"PREDICT: {kind} '{info.name}' has shape {info.shape_text}; sqlpredict binds {kind}s of shape "
        "[N], [N,1] or [N,k] (one value or one array of k values per row)"
    )


def bind_inputs(model: ModelInfo, columns: list[tuple[str, str]], dialect: str) -> tuple[InputBinding, ...]:
    names = [c for c, _ in columns]
    types = dict(columns)
    bound = []
    for info in model.inputs:
        elem = onnx_elem_name(info.onnx_type)
        if elem is None or elem not in ONNX_NUMPY:
            raise ProgrammingError(
                f"PREDICT: input '{info.name}' has type {info.onnx_type}, which no SQL column can supply"
            )
        column = match_name(info.name, names, "input")
        if column is None:
            listed = ", ".join(f'"{n}" {sql_name(types[n], dialect)}' for n in names) or "none"
            raise ProgrammingError(
                f"PREDICT: input '{info.name}' ({info.onnx_type}, shape {info.shape_text}) has no DATA column "
                f"of that name; DATA has columns: {listed}. Add a column named {info.name} to DATA "
                f"(for example: expression AS {_ident(info.name, dialect)})"
            )
        rank, width = _per_row_width(info, "input")
        dtype = ONNX_NUMPY[elem]
        col_type = parse_sql_type(types[column])
        _check_input_type(info, column, col_type, dtype, width, dialect)
        bound.append(InputBinding(info, column, col_type, dtype, width, rank, dialect))
    return tuple(bound)


def _check_input_type(info: TensorInfo, column: str, col_type: SqlType, dtype: np.dtype,
                      width: int | None, dialect: str) -> None:
    src = col_type.numpy
    if width == col_type.size and src is not None and converts_exactly(src, dtype):
        return  # the common case: no message to build (a short query's planning time counts)
    wanted = natural_sql_type(dtype, width)
    fix = (f"write CAST({_ident(column, dialect)} AS {cast_target(dtype, width, dialect)}) "
           f"AS {_ident(column, dialect)} in DATA")
    head = (f"PREDICT: input '{info.name}' expects {sql_name(wanted, dialect)} ({info.onnx_type}"
            f"{'' if width is None else ', shape ' + info.shape_text}) but column \"{column}\" is "
            f"{sql_name(col_type.name, dialect)}")
    is_list = col_type.size is not None or col_type.elem.endswith("[]")
    if width is not None and col_type.elem.endswith("[]"):
        raise ProgrammingError(f"{head}, a list of any length; {fix} (each list must hold {width} values)")
    if width is not None and col_type.size is None:
        raise ProgrammingError(
            f"{head}. SQL Edge refused inputs of shape {info.shape_text}; sqlpredict binds them to a "
            f"fixed-size array column of {width} values, which DATA builds from {width} values: "
            f"{_array_fix(column, dtype, width, dialect)}"
        )
    if width is not None and col_type.size != width:
        raise ProgrammingError(f"{head}, an array of {col_type.size} values, and no CAST changes an array's "
                               f"length; {_array_fix(column, dtype, width, dialect)}")
    if width is None and is_list:
        col = _ident(column, dialect)
        raise ProgrammingError(f"{head}, {'an array' if col_type.size else 'a list'}; the input takes one value per "
                               f"row: write CAST(list_extract({col}, 1) AS {cast_target(dtype, None, dialect)}) "
                               f"AS {col} in DATA, or the element the model was trained on")
    if src is None and dtype != np.dtype(object) and _is_temporal(col_type.elem):
        raise ProgrammingError(f"{head}; {_temporal_fix(column, dtype, width, dialect, col_type.elem)}")
    if src is None and dtype != np.dtype(object) and col_type.elem in _NO_NUMBER:
        raise ProgrammingError(f"{head}; no CAST turns a {sql_name(col_type.name, dialect)} into a number, so "
                               "DATA must give the model the number it was trained on, computed from other columns")
    raise ProgrammingError(f"{head}; {fix}")


_NO_NUMBER = {"UUID", "BLOB", "BIT", "MAP", "STRUCT", "UNION"}  # types no CAST makes a number of


def _array_fix(column: str, dtype: np.dtype, width: int, dialect: str) -> str:
    """How DATA builds a k-value array column: from k values (columns or expressions) with list_value."""
    values = ", ".join(f"v{i}" for i in range(1, width + 1)) if width <= 4 else "v1, v2, ..., v" + str(width)
    return (f"write CAST(list_value({values}) AS {cast_target(dtype, width, dialect)}) "
            f"AS {_ident(column, dialect)} in DATA")


def _is_temporal(elem: str) -> bool:
    return elem.startswith(("DATE", "TIME", "INTERVAL"))


def _temporal_fix(column: str, dtype: np.dtype, width: int | None, dialect: str, elem: str) -> str:
    """The fix for a date/time column feeding a number: SQL has no CAST from one to the other.

    Suggesting CAST(d AS REAL) would be a fix that always fails ("Unimplemented
    type for cast"), so the message says which number to compute instead.
    """
    col = _ident(column, dialect)
    target = cast_target(dtype, width, dialect)
    if elem.startswith("TIME") and not elem.startswith("TIMESTAMP"):  # a time of day: no date to count from
        if dtype.itemsize >= 4:
            example = (f"DATEPART(hour, {col}) * 3600 + DATEPART(minute, {col}) * 60 + DATEPART(second, {col})"
                       if dialect == "tsql" else f"epoch({col})")
            meaning = "seconds since midnight"
        else:
            example = f"DATEPART(hour, {col})" if dialect == "tsql" else f"hour({col})"
            meaning = "the hour, 0 to 23"
    elif dtype.itemsize >= 4:
        example = f"DATEDIFF(second, '1970-01-01', {col})" if dialect == "tsql" else f"epoch({col})"
        meaning = "seconds since 1970"
    else:  # seconds since 1970 overflow a 1- or 2-byte input: a small number, the month, is the example
        example = f"DATEPART(month, {col})" if dialect == "tsql" else f"month({col})"
        meaning = "the month, 1 to 12"
    return (f"no CAST turns a date or time into a number, so DATA must compute the number the model was "
            f"trained on, e.g. write CAST({example} AS {target}) AS {col} in DATA ({meaning})")


def _ident(name: str, dialect: str) -> str:
    return quote_identifier(name, get_dialect(dialect))


def bind_outputs(model: ModelInfo, declared: list[tuple[str, str]] | None, dialect: str) -> tuple[OutputBinding, ...]:
    """WITH names outputs (a subset is fine); no WITH returns every per-row tensor output."""
    outputs = {o.name: o for o in model.outputs}
    if declared is None:
        returned = [o for o in model.outputs if _is_per_row_tensor(o)]
        _one_column_each([o.name for o in returned], lambda a, b: (
            f"PREDICT: the model's outputs '{a}' and '{b}' differ only in case, and SQL column names ignore case, "
            f"so both cannot be returned; name the one you want in WITH, e.g. WITH ({_ident(a, dialect)} "
            f"{sql_name(_bind_output(outputs[a], a, None, dialect).natural_type, dialect)})"))
        return tuple(_bind_output(o, o.name, None, dialect) for o in returned)
    _one_column_each([name for name, _ in declared], lambda a, b: (
        f"PREDICT: WITH lists '{a}' and '{b}', which name one column, since SQL column names ignore case; "
        "list each output once"))
    bound = []
    for name, type_name in declared:
        match = match_name(name, list(outputs), "WITH column")
        if match is None:
            listed = ", ".join(f"'{o.name}' {o.onnx_type} {o.shape_text}" for o in model.outputs)
            raise ProgrammingError(
                f"PREDICT: WITH column '{name}' is not an output of the model; the model's outputs are: {listed}"
            )
        bound.append(_bind_output(outputs[match], name, type_name, dialect))
    return tuple(bound)


def _one_column_each(names: list[str], message: t.Callable[[str, str], str]) -> None:
    """Result columns are named case-insensitively (as in T-SQL and DuckDB): two names may not differ only in case."""
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            raise ProgrammingError(message(seen[name.lower()], name))
        seen[name.lower()] = name


def _is_per_row_tensor(info: TensorInfo) -> bool:
    """Tensor outputs with one value or one fixed-size array per row (what no-WITH returns)."""
    if info.shape is None or onnx_elem_name(info.onnx_type) not in ONNX_NUMPY:
        return False
    if info.shape and isinstance(info.shape[0], int) and info.shape[0] > 1:
        return False  # a fixed number of values (a constant, a shape), whatever the rows
    return len(info.shape) == 1 or (len(info.shape) == 2 and isinstance(info.shape[1], int))


def _bind_output(info: TensorInfo, name: str, declared: str | None, dialect: str) -> OutputBinding:
    elem = onnx_elem_name(info.onnx_type)
    if elem is None:  # ZipMap: a sequence of maps, returned as a DuckDB MAP when WITH names it
        map_type = onnx_duckdb_type(info.onnx_type)
        if map_type is None:
            raise ProgrammingError(f"PREDICT: output '{info.name}' has type {info.onnx_type}, which has no SQL type; "
                                   "leave it out of WITH")
        return OutputBinding(info, name, None, None, map_type, declared, dialect)
    if elem not in ONNX_NUMPY:
        raise ProgrammingError(f"PREDICT: output '{info.name}' has type {info.onnx_type}, which has no SQL type")
    dtype = ONNX_NUMPY[elem]
    _, width = _per_row_width(info, "output")
    natural = natural_sql_type(dtype, width)
    if declared is not None:
        declared_type = parse_sql_type(declared)
        if width is not None and declared_type.size != width:
            raise ProgrammingError(
                f"PREDICT: output '{info.name}' gives {width} values per row (shape {info.shape_text}) but WITH "
                f"declares {name} as {sql_name(declared, dialect)}; declare it as an array of {width} values, "
                f"e.g. {name} {sql_name(natural, dialect)}"
            )
        if width is None and declared_type.size is not None:
            raise ProgrammingError(
                f"PREDICT: output '{info.name}' gives one value per row (shape {info.shape_text}) but WITH "
                f"declares {name} as the array {sql_name(declared, dialect)}; declare a scalar type"
            )
    return OutputBinding(info, name, dtype, width, natural, declared, dialect)


def bind(model: ModelInfo, columns: list[tuple[str, str]], declared: list[tuple[str, str]] | None,
         dialect: str) -> Binding:
    return Binding(bind_inputs(model, columns, dialect), bind_outputs(model, declared, dialect))
