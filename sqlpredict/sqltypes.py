"""The type table of spec section 3: ONNX elements, SQL types, and exact conversions.

Every rule about which column type may feed which model input lives here, so
that binding, error messages and property tests all read the same table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

# DuckDB type name -> numpy dtype of the values, for the types a model can take.
DUCKDB_NUMPY: dict[str, np.dtype] = {
    "FLOAT": np.dtype(np.float32),
    "DOUBLE": np.dtype(np.float64),
    "TINYINT": np.dtype(np.int8),
    "SMALLINT": np.dtype(np.int16),
    "INTEGER": np.dtype(np.int32),
    "BIGINT": np.dtype(np.int64),
    "UTINYINT": np.dtype(np.uint8),
    "USMALLINT": np.dtype(np.uint16),
    "UINTEGER": np.dtype(np.uint32),
    "UBIGINT": np.dtype(np.uint64),
    "BOOLEAN": np.dtype(np.bool_),
    "VARCHAR": np.dtype(object),
}
NUMPY_DUCKDB: dict[np.dtype, str] = {v: k for k, v in DUCKDB_NUMPY.items()}

# ONNX tensor element name (as onnxruntime reports it) -> numpy dtype.
ONNX_NUMPY: dict[str, np.dtype] = {
    "float": np.dtype(np.float32),
    "double": np.dtype(np.float64),
    "int8": np.dtype(np.int8),
    "int16": np.dtype(np.int16),
    "int32": np.dtype(np.int32),
    "int64": np.dtype(np.int64),
    "uint8": np.dtype(np.uint8),
    "uint16": np.dtype(np.uint16),
    "uint32": np.dtype(np.uint32),
    "uint64": np.dtype(np.uint64),
    "bool": np.dtype(np.bool_),
    "string": np.dtype(object),
}

# DuckDB type -> T-SQL name, where T-SQL has one (for messages in the T-SQL dialect).
# DuckDB's TINYINT is a signed int8, which T-SQL lacks (T-SQL's tinyint is 0..255,
# DuckDB's UTINYINT): it must never be called "tinyint" to a T-SQL user. The T-SQL
# dialect reads INT1 as that signed byte, so messages and fixes use that name.
TSQL_NAMES: dict[str, str] = {
    "TINYINT": "int1",
    "FLOAT": "real",
    "DOUBLE": "float",
    "SMALLINT": "smallint",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "UTINYINT": "tinyint",
    "BOOLEAN": "bit",
    "VARCHAR": "varchar",
    "BLOB": "varbinary",
    "TIMESTAMP": "datetime",  # DATETIME, SMALLDATETIME and DATETIME2(0) to (6)
    "TIMESTAMP_NS": "datetime2",  # DATETIME2, DATETIME2(7)
    "DATE": "date",
    "TIME": "time",
    "UUID": "uniqueidentifier",
    "TIMESTAMP WITH TIME ZONE": "datetimeoffset",
}

# The type to write in a CAST so that a column binds, per dialect.
# Every target must parse back, in the T-SQL dialect, to the DuckDB type on the
# left: TINYINT would read as T-SQL's unsigned tinyint, so int8 inputs say INT1.
TSQL_CAST_TARGET: dict[str, str] = {
    "TINYINT": "INT1",
    "FLOAT": "REAL",
    "DOUBLE": "FLOAT",
    "SMALLINT": "SMALLINT",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
    "UTINYINT": "TINYINT",
    "BOOLEAN": "BIT",
    "VARCHAR": "VARCHAR(MAX)",
}

_ARRAY = re.compile(r"^(?P<elem>.+)\[(?P<size>\d+)\]$")
_INT_BITS = {np.dtype(t): (np.iinfo(t).bits, np.iinfo(t).min < 0) for t in
             (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)}
_MANTISSA = {np.dtype(np.float32): 24, np.dtype(np.float64): 53}


@dataclass(frozen=True)
class SqlType:
    """A column's DuckDB type, split into element type and fixed array size."""

    name: str  # as DuckDB prints it, e.g. "FLOAT[3]" or "DECIMAL(18,3)"
    elem: str  # "FLOAT" for "FLOAT[3]"
    size: int | None  # 3 for "FLOAT[3]", None for a scalar

    @property
    def numpy(self) -> np.dtype | None:
        return DUCKDB_NUMPY.get(self.elem)


def parse_sql_type(name: str) -> SqlType:
    """Split a DuckDB type name into element and fixed array size."""
    name = name.strip()
    match = _ARRAY.match(name)
    if match:
        return SqlType(name, match["elem"].strip().upper(), int(match["size"]))
    return SqlType(name, name.upper(), None)


def onnx_elem_name(onnx_type: str) -> str | None:
    """'tensor(float)' -> 'float'; None for sequences, maps and other non-tensors."""
    match = re.fullmatch(r"tensor\((\w+)\)", onnx_type)
    return match.group(1) if match else None


def converts_exactly(src: np.dtype, dst: np.dtype) -> bool:
    """True when every value of `src` converts to `dst` without loss (CAST rules)."""
    if src == dst:
        return True
    if src.kind in "bO" or dst.kind in "bO":
        return False
    if src.kind == "f":
        return dst.kind == "f" and _MANTISSA[dst] >= _MANTISSA[src]
    src_bits, src_signed = _INT_BITS[src]
    if dst.kind == "f":
        return src_bits - int(src_signed) <= _MANTISSA[dst]
    dst_bits, dst_signed = _INT_BITS[dst]
    if src_signed and not dst_signed:
        return False
    return dst_bits - int(dst_signed) >= src_bits - int(src_signed)


def sql_name(duckdb_type: str, dialect: str) -> str:
    """A type's name as a user of the connection's dialect writes it."""
    if dialect != "tsql":
        return duckdb_type
    parsed = parse_sql_type(duckdb_type)
    if parsed.size is not None:
        return f"{sql_name(parsed.elem, dialect)}[{parsed.size}]"
    if parsed.elem.startswith("DECIMAL"):
        return parsed.elem.lower().replace("decimal", "numeric")
    return TSQL_NAMES.get(parsed.elem, duckdb_type.lower())


def cast_target(elem: np.dtype, size: int | None, dialect: str) -> str:
    """The type to write in CAST(... AS <type>) so a column binds to an input."""
    duck = NUMPY_DUCKDB[elem]
    base = TSQL_CAST_TARGET.get(duck, duck) if dialect == "tsql" else duck
    if size is None:
        return base
    return f"{base.removesuffix('(MAX)')}[{size}]"


def arrow_type(elem: np.dtype, size: int | None = None) -> pa.DataType:
    """The Arrow type that carries a model's values into DuckDB."""
    base = pa.string() if elem == np.dtype(object) else pa.from_numpy_dtype(elem)
    return pa.list_(base, size) if size is not None else base


def natural_sql_type(elem: np.dtype, size: int | None = None) -> str:
    """The DuckDB type an output has when WITH does not declare one."""
    duck = NUMPY_DUCKDB[elem]
    return f"{duck}[{size}]" if size is not None else duck


# DuckDB types T-SQL has no type for although sqlpredict's T-SQL reads a name
# for them: the signed byte (int8) is INT1 only here, never in SQL Server.
TSQL_ONLY_HERE = {"TINYINT"}


def tsql_native_name(duckdb_type: str) -> str | None:
    """The T-SQL name of a scalar DuckDB type that T-SQL itself has (spec section 3), else None.

    None for arrays (T-SQL has none), for int8 (spec: "(none)") and for the
    unsigned types wider than a byte.
    """
    parsed = parse_sql_type(duckdb_type)
    if parsed.size is not None or parsed.elem in TSQL_ONLY_HERE:
        return None
    return TSQL_NAMES.get(parsed.elem)


def onnx_duckdb_type(onnx_type: str) -> str | None:
    """The DuckDB type of an ONNX tensor element or of a ZipMap-style map, or None.

    'tensor(float)' -> 'FLOAT'; 'seq(map(int64,tensor(float)))' and
    'map(string,tensor(double))' -> 'MAP(BIGINT, FLOAT)' / 'MAP(VARCHAR, DOUBLE)',
    the type a non-tensor output has when WITH names it.
    """
    elem = onnx_elem_name(onnx_type)
    if elem is not None:
        return NUMPY_DUCKDB[ONNX_NUMPY[elem]] if elem in ONNX_NUMPY else None
    match = re.fullmatch(r"(?:seq\()?map\((\w+),tensor\((\w+)\)\)\)?", onnx_type)
    if match and match.group(1) in ONNX_NUMPY and match.group(2) in ONNX_NUMPY:
        key, value = (NUMPY_DUCKDB[ONNX_NUMPY[g]] for g in match.groups())
        return f"MAP({key}, {value})"
    return None
