"""Scoring one Arrow record batch: columns to tensors, one session call, tensors to columns.

Rows with a NULL in any bound column are not scored (their outputs are NULL)
unless the connection says null_inputs="error". Declared WITH types are
applied with DuckDB's own CAST, so overflow behaves as SQL says it does.
"""

from __future__ import annotations

import functools

import duckdb
import numpy as np
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from . import scratch
from .binding import Binding, InputBinding, OutputBinding
from .dialects import get_dialect, quote_identifier
from .errors import DataError, OperationalError, ProgrammingError
from .sessions import CompiledModel, run_session
from .sqltypes import arrow_type, converts_exactly, parse_sql_type, sql_name
from .tsql_numbers import exact_decimal, is_wide_decimal


def duckdb_arrow_type(sql_type: str) -> pa.DataType:
    """The Arrow type DuckDB gives a value of `sql_type`."""
    return _duckdb_type(sql_type)[1]


@functools.lru_cache(maxsize=256)
def _duckdb_type(sql_type: str) -> tuple[str, pa.DataType]:
    """DuckDB's own name for a type as written (BITSTRING is BIT), and the Arrow type it gives
    a value of it: asked once per type name."""
    relation = scratch.cursor().sql(f"SELECT CAST(NULL AS {sql_type}) AS v")
    return str(relation.types[0]), relation.to_arrow_table().schema.field("v").type


class Scorer:
    """Scores batches for one bound PREDICT."""

    def __init__(self, compiled: CompiledModel, binding: Binding, null_inputs: str = "propagate") -> None:
        self.compiled = compiled
        self.binding = binding
        self.null_inputs = null_inputs
        for out in binding.outputs:
            _check_declared_cast(out)
        self.output_types = [self._result_type(o) for o in binding.outputs]

    def _result_type(self, out: OutputBinding) -> pa.DataType:
        if out.declared_type is not None:
            return duckdb_arrow_type(out.declared_type)
        if out.dtype is None:
            return duckdb_arrow_type(out.natural_type)
        return arrow_type(out.dtype, out.width)

    def score(self, batch: pa.RecordBatch) -> list[pa.Array]:
        """The output columns for one batch, in binding order."""
        n = batch.num_rows
        valid = self._valid_rows(batch)
        scored = int(valid.sum()) if valid is not None else n
        feeds = {b.input.name: self._tensor(batch.column(b.column), b, valid) for b in self.binding.inputs}
        if scored == 0 or not self.binding.outputs:
            values = [None] * len(self.binding.outputs)
        else:
            names = [o.output.name for o in self.binding.outputs]
            values = run_session(self.compiled, names, feeds)
        return [self._column(out, value, valid, n, scored, typ)
                for out, value, typ in zip(self.binding.outputs, values, self.output_types)]

    def _valid_rows(self, batch: pa.RecordBatch) -> np.ndarray | None:
        """Boolean mask of rows whose bound columns are all non-NULL; None when all are."""
        mask = None
        for b in self.binding.inputs:
            col = batch.column(b.column)
            nulls = _null_rows(col, b.width)
            if nulls is None:
                continue
            if self.null_inputs == "error":
                raise _null_error(b, whole=bool(col.null_count))
            mask = ~nulls if mask is None else mask & ~nulls
        return mask

    def _tensor(self, col: pa.Array, b: InputBinding, valid: np.ndarray | None) -> np.ndarray:
        values = _to_numpy(col, b.width)
        if valid is not None:
            values = values[valid]  # first: NULL slots hold arbitrary numbers, which a cast could warn about
        if values.dtype != b.dtype:
            values = values.astype(b.dtype)
        if b.width is None and b.rank == 2:
            values = values.reshape(-1, 1)
        return values

    def _column(self, out: OutputBinding, value, valid: np.ndarray | None, n: int, scored: int,
                typ: pa.DataType) -> pa.Array:
        if out.dtype is None:
            arr = _map_column(out, value, valid, n, scored)
        else:
            arr = _tensor_column(out, value, valid, n, scored)
        if arr.type != typ:
            arr = _cast(arr, out, typ)
        return arr


def _check_declared_cast(out: OutputBinding) -> None:
    """A WITH type that no value of the output can CAST to is a mistake in the query, not in the data.

    Checked once, before any row is scored, by casting a zero of the output's
    type: DuckDB reports a missing cast only when it meets a non-NULL value.
    """
    if out.declared_type is None:
        return
    try:
        known = _duckdb_type(out.declared_type)[0]
    except duckdb.CatalogException as exc:
        raise ProgrammingError(
            f"PREDICT: WITH declares {out.name} as {out.declared_type}, which is not a SQL type; declare the "
            f"output's own type, e.g. {out.name} {sql_name(out.natural_type, out.dialect)}") from exc
    if out.dtype == np.dtype(object):
        return
    if known == "BIT":
        # DuckDB's bit string reaches the statement as the BLOB of its internal form, through Arrow
        raise ProgrammingError(
            f"PREDICT: WITH declares {out.name} as a bit string (DuckDB's BIT), which no model output fills; "
            f"declare BOOLEAN for a true/false output, or a numeric type, e.g. {out.name} "
            f"{sql_name(out.natural_type, out.dialect)}"
        )
    problem = _cast_problem(out.natural_type, out.declared_type, out.width)
    if problem is not None:
        declared, natural = sql_name(out.declared_type, out.dialect), sql_name(out.natural_type, out.dialect)
        raise ProgrammingError(
            f"PREDICT: WITH declares {out.name} as {declared}, but output '{out.output.name}' gives "
            f"{natural} values ({out.output.onnx_type}), which do not convert to {declared} "
            f"({problem}); declare {'a MAP or VARCHAR' if out.dtype is None else 'a numeric or character type'}"
            f", e.g. {out.name} {natural}"
        )


@functools.lru_cache(maxsize=256)
def _cast_problem(natural_type: str, declared_type: str, width: int | None) -> str | None:
    """DuckDB's first line of error for CAST(zero AS natural AS declared), or None: asked once per pair."""
    zero = "0" if width is None else "[" + ", ".join("0" * width) + "]"
    if natural_type.startswith("MAP"):  # a ZipMap output: one map per row
        zero = "MAP {'0': '0'}"
    try:
        scratch.cursor().sql(f"SELECT CAST(CAST({zero} AS {natural_type}) AS {declared_type})").fetchall()
    except duckdb.Error as exc:
        return str(exc).splitlines()[0]
    return None


def _null_error(b: InputBinding, whole: bool) -> DataError:
    """null_inputs='error': which column, and the filter that keeps its NULLs away from the model."""
    col = quote_identifier(b.column, get_dialect(b.dialect))
    what, keep = ((f"column \"{b.column}\" (input '{b.input.name}') is NULL in a row", f"{col} IS NOT NULL")
                  if whole else
                  (f"column \"{b.column}\" (input '{b.input.name}') has a NULL element in a row",
                   f"list_count({col}) = {b.width}"))
    return DataError(f"PREDICT: {what}, and the connection was opened with null_inputs='error'; filter those "
                     f"rows out in DATA (WHERE {keep}) or open the connection with null_inputs='propagate'")


def _null_rows(col: pa.Array, width: int | None) -> np.ndarray | None:
    nulls = None
    if col.null_count:
        nulls = _bools(col.is_null())
    if width is not None:
        child = _fixed_children(col, width)
        if child.null_count:
            inner = _bools(child.is_null()).reshape(-1, width).any(axis=1)
            nulls = inner if nulls is None else nulls | inner
    return nulls


def _fixed_children(col: pa.Array, width: int) -> pa.Array:
    return col.values.slice(col.offset * width, len(col) * width)


def _to_numpy(col: pa.Array, width: int | None) -> np.ndarray:
    """A column's values as numpy. Where a value is NULL the result holds some number: the caller
    drops those rows (_valid_rows) before the model sees them."""
    if width is not None:
        return _numbers(_fixed_children(col, width)).reshape(-1, width)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_string_view(col.type):
        return np.array(col.to_pylist(), dtype=object)  # to_pylist, unlike pa.array, imports no pandas
    return _numbers(col)


def _numbers(col: pa.Array) -> np.ndarray:
    """A numeric column as numpy, without copying.

    pyarrow's to_numpy, fill_null and pa.scalar import pandas the first time
    (about 0.3 s and 50 MB, on a user's first query), so integers and floats
    are viewed through their data buffer, and booleans unpacked from their
    bits, NULL slots included.
    """
    if pa.types.is_boolean(col.type):
        return _bools(col)
    dtype = _NUMPY_OF_ARROW.get(col.type.id)
    if dtype is None:  # no other type binds to an input today
        if col.null_count:
            col = col.fill_null(0)
        return col.to_numpy(zero_copy_only=False)
    return np.frombuffer(col.buffers()[1], dtype=dtype, count=len(col), offset=col.offset * dtype.itemsize)


def _bools(mask: pa.BooleanArray) -> np.ndarray:
    """A boolean array's values as numpy, unpacked from Arrow's bits (a NULL slot holds some value)."""
    bits = np.frombuffer(mask.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[mask.offset:mask.offset + len(mask)].astype(bool)


_NUMPY_OF_ARROW = {pa.from_numpy_dtype(np.dtype(name)).id: np.dtype(name) for name in (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64")}


def _tensor_column(out: OutputBinding, value, valid, n: int, scored: int) -> pa.Array:
    shape = (n,) if out.width is None else (n, out.width)
    if value is None:
        value = np.zeros((0,) + shape[1:], dtype=out.dtype)
    value = np.asarray(value)
    if value.ndim == 0 or value.shape[0] != scored or value.size != scored * (out.width or 1):
        raise OperationalError(
            f"PREDICT: output '{out.output.name}' gave shape {list(value.shape)} for {scored} rows; "
            "sqlpredict needs one value (or one array) per row"
        )
    value = value.reshape((scored,) + shape[1:])
    if out.dtype == np.dtype(object):
        items = value.tolist()
        if valid is not None:
            full = [None] * n
            for i, item in zip(np.flatnonzero(valid), items):
                full[i] = item
            items = full
        return _arrow_strings(items)
    if value.dtype != out.dtype:
        value = value.astype(out.dtype)
    if valid is not None:
        full = np.zeros(shape, dtype=out.dtype)
        full[valid] = value
        value = full
    if out.width is None:
        return _arrow_numbers(value, valid)
    flat = _arrow_numbers(value.reshape(-1), None)
    mask = None if valid is None else _arrow_numbers(~valid, None)
    return pa.FixedSizeListArray.from_arrays(flat, out.width, mask=mask)


def _arrow_numbers(values: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """A numeric numpy array as an Arrow array over the same memory, NULL where `valid` is False.

    pa.array(ndarray) imports pandas on its first call (see _numbers); Arrow's
    buffers are built directly instead. Booleans are packed to Arrow's bits.
    """
    values = np.ascontiguousarray(values)
    data = np.packbits(values, bitorder="little") if values.dtype == np.bool_ else values
    validity = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = 0 if valid is None else int(len(valid) - np.count_nonzero(valid))
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [validity, pa.py_buffer(data)],
                                 null_count=nulls)


def _arrow_strings(items: list[str | None]) -> pa.Array:
    """Python strings as an Arrow string array, built from its buffers: pa.array imports pandas.

    ASCII text (the usual class labels) is encoded in one call; otherwise each
    string is encoded on its own to find where it ends.
    """
    valid = None
    if None in items:
        valid = np.fromiter((s is not None for s in items), dtype=np.bool_, count=len(items))
        items = [s if s is not None else "" for s in items]
    text = "".join(items)  # onnxruntime gives a string tensor's values as str
    data = text.encode("utf-8")
    pieces = items if len(data) == len(text) else [s.encode("utf-8") for s in items]
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, pieces), dtype=np.int64, count=len(items)), out=offsets[1:])
    large = offsets[-1] > np.iinfo(np.int32).max
    typ = pa.large_string() if large else pa.string()
    nulls = 0 if valid is None else len(items) - int(np.count_nonzero(valid))
    validity = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    buffers = [validity, pa.py_buffer(offsets if large else offsets.astype(np.int32)), pa.py_buffer(data)]
    return pa.Array.from_buffers(typ, len(items), buffers, null_count=nulls)


def _map_column(out: OutputBinding, value, valid, n: int, scored: int) -> pa.Array:
    """A ZipMap output (one dict per row) as DuckDB's MAP, built from Arrow buffers."""
    items = list(value) if value is not None else []
    if valid is not None:
        full: list = [None] * n
        for i, item in zip(np.flatnonzero(valid), items):
            full[i] = item
        items = full
    typ = duckdb_arrow_type(out.natural_type)
    keys: list = []
    values: list = []
    offsets = np.zeros(len(items) + 1, dtype=np.int32)
    for i, m in enumerate(items):
        if m is not None:
            keys.extend(m.keys())
            values.extend(m.values())
        offsets[i + 1] = len(keys)
    key_array = _arrow_strings(keys) if pa.types.is_string(typ.key_type) else _arrow_numbers(
        np.array(keys, dtype=typ.key_type.to_pandas_dtype()), None)
    value_array = _arrow_numbers(np.array(values, dtype=typ.item_type.to_pandas_dtype()), None)
    is_null = np.fromiter((m is None for m in items), dtype=np.bool_, count=len(items))
    mask = _arrow_numbers(is_null, None) if is_null.any() else None
    return pa.MapArray.from_arrays(_arrow_numbers(offsets, None), key_array, value_array, type=typ, mask=mask)


def _cast(arr: pa.Array, out: OutputBinding, typ: pa.DataType) -> pa.Array:
    """Apply WITH's declared type with SQL CAST semantics (DuckDB's own CAST)."""
    if out.dtype is not None and out.width is None and pa.types.is_primitive(typ):
        target = typ.to_pandas_dtype() if not pa.types.is_boolean(typ) else np.bool_
        if converts_exactly(out.dtype, np.dtype(target)):
            return arr.cast(typ)
    con = scratch.cursor()
    declared = out.declared_type or parse_sql_type(str(typ)).name
    relation = con.from_arrow(pa.table({"v": arr}))
    exact = _exact_cast(declared) if out.dtype is not None and out.dtype.kind == "f" else None
    try:
        table = relation.project(f"{exact or f'CAST(v AS {declared})'} AS v").to_arrow_table()
    except (duckdb.ConversionException, duckdb.OutOfRangeException) as exc:
        raise _overflow(relation, out, declared) from exc
    return table.column("v").combine_chunks()


@functools.lru_cache(maxsize=64)
def _exact_cast(declared: str) -> str | None:
    """CAST(v AS declared) of a float through its exact decimal text, for a NUMERIC wider than 18 digits,
    whose DuckDB CAST adds digits the float does not have (100.5 as 100.49999999999999475712); None for
    other types. The rule is T-SQL CAST's too (tsql_numbers)."""
    try:
        dtype = exp.DataType.build(declared, dialect="duckdb")
    except SqlglotError:
        return None
    return exact_decimal(exp.column("v"), dtype).sql(dialect="duckdb") if is_wide_decimal(dtype) else None


def _overflow(relation: duckdb.DuckDBPyRelation, out: OutputBinding, declared: str) -> DataError:
    """The first value that does not fit WITH's type, with the types named as the user writes them."""
    bad = relation.filter(f"v IS NOT NULL AND TRY_CAST(v AS {declared}) IS NULL").limit(1).fetchall()
    value = f"the value {bad[0][0]!r}" if bad else "a value"
    return DataError(
        f"PREDICT: output '{out.output.name}' gives {value}, which does not fit column {out.name} declared as "
        f"{sql_name(declared, out.dialect)} in WITH; declare a wider type in WITH, e.g. "
        f"{out.name} {sql_name(out.natural_type, out.dialect)}"
    )
