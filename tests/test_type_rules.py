"""Property tests for the type and binding rules of PREDICT (spec sections 1, 2, 3).

Every test drives the public surface only: `sqlpredict.connect()`, cursors and
SQL. The rules are checked against tables written here from the spec text, not
read from `sqlpredict.sqltypes`, and expected values are computed with numpy
(or with a plain SQL CAST for the suggested fixes), never with sqlpredict's
own conversion code.

The central property, for a column of SQL type S feeding an ONNX input of
element type E (both dialects, shapes [N,1] and [N]):

* if (S, E) is an allowed pair, PREDICT binds and the model (an Identity)
  returns exactly numpy's conversion of the stored values;
* otherwise PREDICT raises ProgrammingError whose message holds the fix
  `CAST(col AS T) AS col`; copying that fix into DATA binds, and the model
  returns exactly what `SELECT CAST(col AS T)` returns (or, where that CAST
  itself fails on a value, the PREDICT fails the same way).
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import sqlpredict

# ------------------------------------------------------------------ the spec, written out

# Spec section 3, column 1: the ONNX elements, with numpy dtypes and TensorProto codes.
ONNX_ELEMS = {
    "float": (np.float32, TensorProto.FLOAT),
    "double": (np.float64, TensorProto.DOUBLE),
    "int32": (np.int32, TensorProto.INT32),
    "int64": (np.int64, TensorProto.INT64),
    "int16": (np.int16, TensorProto.INT16),
    "uint8": (np.uint8, TensorProto.UINT8),
    "int8": (np.int8, TensorProto.INT8),
    "bool": (np.bool_, TensorProto.BOOL),
    "string": (object, TensorProto.STRING),
}

# Spec section 3: "int8/int16/uint8 to any wider integer or to float/double,
# int32 to int64 or double, float32 to double" -- plus every element to itself.
SPEC_WIDENINGS = {
    ("int8", "int16"), ("int8", "int32"), ("int8", "int64"), ("int8", "float"), ("int8", "double"),
    ("int16", "int32"), ("int16", "int64"), ("int16", "float"), ("int16", "double"),
    ("uint8", "int16"), ("uint8", "int32"), ("uint8", "int64"), ("uint8", "float"), ("uint8", "double"),
    ("int32", "int64"), ("int32", "double"),
    ("float", "double"),
}
SPEC_ALLOWED = SPEC_WIDENINGS | {(e, e) for e in ONNX_ELEMS}

# Column types as each dialect writes them in CREATE TABLE, with the ONNX element
# whose values they hold (None: no ONNX element; such columns never bind directly).
# T-SQL names keep their T-SQL meaning (spec 1): FLOAT is double, REAL float32,
# TINYINT unsigned, BIT boolean. T-SQL has no signed byte; the dialect reads INT1.
TSQL_COLUMNS = {
    "REAL": "float", "FLOAT": "double", "INT": "int32", "BIGINT": "int64", "SMALLINT": "int16",
    "TINYINT": "uint8", "INT1": "int8", "BIT": "bool", "VARCHAR(40)": "string", "NVARCHAR(40)": "string",
    "NUMERIC(10,2)": None, "DATE": None, "DATETIME2(7)": None, "TIME": None,
}
DUCKDB_COLUMNS = {
    "FLOAT": "float", "REAL": "float", "DOUBLE": "double", "INTEGER": "int32", "BIGINT": "int64",
    "SMALLINT": "int16", "UTINYINT": "uint8", "TINYINT": "int8", "BOOLEAN": "bool", "VARCHAR": "string",
    "DECIMAL(10,2)": None, "DATE": None, "TIMESTAMP": None, "TIME": None,
    # Wider unsigned types are not in the spec's table; they follow its principle:
    # they bind where every value converts exactly.
    "USMALLINT": "uint16", "UINTEGER": "uint32", "UBIGINT": "uint64",
}
COLUMNS = {"tsql": TSQL_COLUMNS, "duckdb": DUCKDB_COLUMNS}

# The DuckDB type of each ONNX element's values (what no-WITH returns, spec 4).
NATURAL = {
    "float": "FLOAT", "double": "DOUBLE", "int32": "INTEGER", "int64": "BIGINT", "int16": "SMALLINT",
    "uint8": "UTINYINT", "int8": "TINYINT", "bool": "BOOLEAN", "string": "VARCHAR",
}
# The type to declare in WITH for each element, per dialect (spec 3's T-SQL column).
WITH_TYPE = {
    "tsql": {"float": "REAL", "double": "FLOAT", "int32": "INT", "int64": "BIGINT", "int16": "SMALLINT",
             "uint8": "TINYINT", "int8": "INT1", "bool": "BIT", "string": "VARCHAR(100)"},
    "duckdb": {"float": "FLOAT", "double": "DOUBLE", "int32": "INTEGER", "int64": "BIGINT",
               "int16": "SMALLINT", "uint8": "UTINYINT", "int8": "TINYINT", "bool": "BOOLEAN",
               "string": "VARCHAR"},
}

_UNSIGNED_RANGE = {"uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}
_INT_RANGE = {
    "int8": (-(2**7), 2**7 - 1), "uint8": (0, 255), "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1), **_UNSIGNED_RANGE,
}
_MANTISSA = {"float": 24, "double": 53}
SRC_DTYPES = {**{e: d for e, (d, _) in ONNX_ELEMS.items()},
              "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64}


def allowed(src: str | None, dst: str) -> bool:
    """The spec's rule for a column holding `src` values feeding a `dst` input."""
    if src is None:
        return False  # decimals, dates and times never bind (spec 3)
    if src in _UNSIGNED_RANGE:  # beyond the table: exactness, worked out from ranges
        lo, hi = _INT_RANGE[src]
        if dst in _MANTISSA:
            return hi <= 2 ** _MANTISSA[dst]
        if dst in _INT_RANGE:
            dlo, dhi = _INT_RANGE[dst]
            return dlo <= lo and hi <= dhi
        return False
    return (src, dst) in SPEC_ALLOWED


# ------------------------------------------------------------------ models and connections

OPSET = [helper.make_opsetid("", 17)]


@functools.lru_cache(maxsize=None)
def identity_model(elem: str, rank: int, name: str = "x") -> bytes:
    """y = Identity(x); x and y of element `elem`, shape [N,1] (rank 2) or [N] (rank 1)."""
    code = ONNX_ELEMS[elem][1]
    shape = ["N", 1] if rank == 2 else ["N"]
    x = helper.make_tensor_value_info(name, code, shape)
    y = helper.make_tensor_value_info("y", code, shape)
    graph = helper.make_graph([helper.make_node("Identity", [name], ["y"])], "identity", [x], [y])
    return helper.make_model(graph, ir_version=9, opset_imports=OPSET).SerializeToString()


@functools.lru_cache(maxsize=None)
def two_input_model(a: str, b: str) -> bytes:
    """Inputs a and b (double [N,1]); outputs ya = a, yb = b."""
    ins = [helper.make_tensor_value_info(n, TensorProto.DOUBLE, ["N", 1]) for n in (a, b)]
    outs = [helper.make_tensor_value_info(n, TensorProto.DOUBLE, ["N", 1]) for n in ("ya", "yb")]
    nodes = [helper.make_node("Identity", [a], ["ya"]), helper.make_node("Identity", [b], ["yb"])]
    graph = helper.make_graph(nodes, "two", ins, outs)
    return helper.make_model(graph, ir_version=9, opset_imports=OPSET).SerializeToString()


@functools.lru_cache(maxsize=None)
def _connection(dialect: str) -> sqlpredict.Connection:
    return sqlpredict.connect(dialect=dialect, autocommit=True)


def cursor(dialect: str):
    return _connection(dialect).cursor()


def quote(name: str, dialect: str) -> str:
    return f"[{name}]" if dialect == "tsql" else f'"{name}"'


_tables = iter(range(10**9))


class Table:
    """A scratch table t(rid INT, <name> <sql_type>) holding `values`, dropped on exit."""

    def __init__(self, dialect: str, sql_type: str, name: str, values: list) -> None:
        self.dialect, self.name = dialect, name
        self.table = f"tr_{next(_tables)}"
        self.cur = cursor(dialect)
        col = quote(name, dialect)
        self.cur.execute(f"CREATE TABLE {self.table} (rid INT, {col} {sql_type})")
        if values:
            rows = ", ".join("(?, ?)" for _ in values)
            params = [p for i, v in enumerate(values) for p in (i, v)]
            self.cur.execute(f"INSERT INTO {self.table} (rid, {col}) VALUES {rows}", params)

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc) -> None:
        self.cur.execute(f"DROP TABLE {self.table}")

    def stored(self, expr: str | None = None) -> list:
        """The column's values as stored (or an expression over them), in rid order."""
        self.cur.execute(f"SELECT {expr or quote(self.name, self.dialect)} FROM {self.table} ORDER BY rid")
        return [r[0] for r in self.cur.fetchall()]

    def predict(self, model: bytes, elem: str, data: str | None = None, use_with: bool = True) -> tuple[list, list]:
        """Run PREDICT; returns (rows of (rid, y), description)."""
        source = data or self.table
        with_clause = f" WITH (y {WITH_TYPE[self.dialect][elem]})" if use_with else ""
        self.cur.execute(
            f"SELECT d.rid, p.y FROM PREDICT(MODEL = ?, DATA = {source} AS d, RUNTIME = ONNX){with_clause} AS p "
            "ORDER BY d.rid",
            [model],
        )
        return self.cur.fetchall(), self.cur.description


# ------------------------------------------------------------------ values

# "write CAST(<expr> AS <type>) AS <col> in DATA": expr is the column itself, or for
# dates and times (which no CAST turns into a number) an expression over it.
_FIX = re.compile(r"write (?P<fix>CAST\((?P<expr>.+) AS (?P<type>[A-Za-z0-9_]+(?:\([A-Za-z0-9_, ]+\))?"
                  r"(?:\[\d+\])?)\) AS (?P<col>\[[^\]]+\]|\"[^\"]+\"|\w+)) in DATA")
_TEMPORAL = ("DATE", "DATETIME2(7)", "TIMESTAMP", "TIME")


def numpy_convert(values: list, src: str, dst: str) -> list:
    """The exact conversion of stored values, done by numpy (None stays None)."""
    out = []
    for v in values:
        if v is None:
            out.append(None)
        elif dst == "string":
            out.append(v)
        else:
            out.append(np.array([v], dtype=SRC_DTYPES[src]).astype(ONNX_ELEMS[dst][0])[0].item())
    return out


def same(a, b) -> bool:
    """Equal values; floats bitwise (NaN equals NaN, -0.0 differs from 0.0)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or isinstance(a, bool):
            return False
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


def assert_same(got: list, want: list) -> None:
    assert len(got) == len(want)
    bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if not same(g, w)]
    assert not bad, f"rows differ (index, got, want): {bad[:5]}"


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_numeric_text = st.one_of(st.integers(-(10**6), 10**6).map(str),
                          st.floats(allow_nan=False, width=32).map(repr), st.just(" 42 "))


def value_strategy(src: str | None, sql_type: str) -> st.SearchStrategy:
    """Values valid for a column type: any of its values, boundaries, NaN and infinities included."""
    if src == "float":
        return st.floats(width=32)
    if src == "double":
        return st.floats()
    if src in _INT_RANGE:
        lo, hi = _INT_RANGE[src]
        return st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0]))
    if src == "bool":
        return st.booleans()
    if src == "string":
        return st.one_of(_text, _numeric_text)
    upper = sql_type.upper()
    if upper.startswith(("NUMERIC", "DECIMAL")):
        return st.decimals(min_value=-(10**7) + 1, max_value=10**7 - 1, places=2, allow_nan=False,
                           allow_infinity=False)
    if upper == "DATE":
        return st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))
    if upper == "TIME":
        return st.times()
    return st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1))


def boundary_values(src: str | None, sql_type: str) -> list:
    """A fixed sample per type for the exhaustive pair test: extremes, zero, NULL."""
    if src == "float":
        return [0.0, -0.0, 1.5, float(np.finfo(np.float32).max), float("nan"), float("-inf"), None]
    if src == "double":
        return [0.1, -2.5, 1e300, 2.0**60 + 1.0 * 0, float("inf"), float("nan"), None]
    if src in _INT_RANGE:
        lo, hi = _INT_RANGE[src]
        return [lo, hi, 0, 1, None]
    if src == "bool":
        return [True, False, None]
    if src == "string":
        return ["1.5", "-7", "text", "", None]
    upper = sql_type.upper()
    if upper.startswith(("NUMERIC", "DECIMAL")):
        return [decimal.Decimal("0.10"), decimal.Decimal("-12345.67"), None]
    if upper == "DATE":
        return [dt.date(2024, 2, 29), None]
    if upper == "TIME":
        return [dt.time(12, 30, 1, 250000), dt.time(23, 59, 59), None]
    return [dt.datetime(2024, 2, 29, 12, 30, 1, 250000), None]


# ------------------------------------------------------------------ the property


def check_pair(dialect: str, sql_type: str, elem: str, rank: int, name: str, values: list,
               use_with: bool = True) -> None:
    """The central property for one (column type, input element) pair and one set of values."""
    src = COLUMNS[dialect][sql_type]
    model = identity_model(elem, rank, name)
    with Table(dialect, sql_type, name, values) as t:
        stored = t.stored()
        try:
            rows, description = t.predict(model, elem, use_with=use_with)
        except sqlpredict.ProgrammingError as exc:
            message = str(exc)
            assert not allowed(src, elem), f"{sql_type} -> {elem} is allowed by the spec but failed: {message}"
            check_type_error(t, message, sql_type, elem, name)
            return
        assert allowed(src, elem), f"{sql_type} -> {elem} bound, but the spec forbids it"
        assert [r[0] for r in rows] == list(range(len(values)))
        assert description[1][1] == NATURAL[elem]
        assert_same([r[1] for r in rows], numpy_convert(stored, src, elem))


def check_type_error(t: Table, message: str, sql_type: str, elem: str, name: str) -> None:
    """The message names input, column, both types and the fix; the fix works as written."""
    dialect = t.dialect
    assert message.startswith(f"PREDICT: input '{name}' expects ")
    assert f"(tensor({elem})" in message
    assert f'column "{name}" is ' in message
    fix = _FIX.search(message)
    assert fix, f"no CAST fix in: {message}"
    col = name if name.isidentifier() else quote(name, dialect)
    assert fix["col"] == col
    if sql_type in _TEMPORAL and elem != "string":
        assert "no CAST turns a date or time into a number" in message
        assert col in fix["expr"]
    else:
        assert fix["expr"] == col
    fixed = f"CAST({fix['expr']} AS {fix['type']})"
    try:
        expected = t.stored(fixed)
        where = ""
    except sqlpredict.DataError:
        # The CAST rejects some value (300 into TINYINT, 'text' into REAL): the fixed query must
        # fail the way SQL CAST does, never bind wrongly...
        with pytest.raises(sqlpredict.DataError):
            t.predict(identity_model(elem, 2, name), elem, data=f"(SELECT rid, {fix['fix']} FROM {t.table})")
        # ...and on the rows CAST accepts, it binds and gives exactly what CAST gives.
        where = f" WHERE TRY_CAST({fix['expr']} AS {fix['type']}) IS NOT NULL OR {col} IS NULL"
        t.cur.execute(f"SELECT {fixed} FROM {t.table}{where} ORDER BY rid")
        expected = [r[0] for r in t.cur.fetchall()]
    rows, _ = t.predict(identity_model(elem, 2, name), elem,
                        data=f"(SELECT rid, {fix['fix']} FROM {t.table}{where})")
    got = [r[1] for r in rows]
    if elem == "string":
        assert got == expected
    else:
        # What CAST produced, converted exactly to the input's type by numpy.
        want = [None if v is None else np.array([v]).astype(ONNX_ELEMS[elem][0])[0].item() for v in expected]
        assert_same(got, want)


# ------------------------------------------------------------------ tests

PAIRS = [(d, s, e) for d in COLUMNS for s in COLUMNS[d] for e in ONNX_ELEMS]
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize(("dialect", "sql_type", "elem"), PAIRS, ids=["-".join(p) for p in PAIRS])
def test_every_pair_at_the_boundaries(dialect, sql_type, elem):
    """Every (column type, input type) pair once, with extreme values and NULL."""
    src = COLUMNS[dialect][sql_type]
    check_pair(dialect, sql_type, elem, 2, "x", boundary_values(src, sql_type))


@pytest.mark.parametrize("dialect", list(COLUMNS))
@pytest.mark.parametrize("elem", list(ONNX_ELEMS))
@SETTINGS
@given(data=st.data())
def test_pair_property(dialect, elem, data):
    """Drawn column type, shape, name and values: exact values, or an error whose fix works."""
    sql_type = data.draw(st.sampled_from(sorted(COLUMNS[dialect])), label="sql_type")
    rank = data.draw(st.sampled_from([1, 2]), label="rank")
    name = data.draw(st.sampled_from(["x", "Feature 1"]), label="name")
    src = COLUMNS[dialect][sql_type]
    values = data.draw(st.lists(st.one_of(st.none(), value_strategy(src, sql_type)), max_size=6), label="values")
    use_with = data.draw(st.booleans(), label="use_with")
    check_pair(dialect, sql_type, elem, rank, name, values, use_with)


def bound_pairs(dialect: str) -> set[tuple[str, str]]:
    """Every (column element, input element) pair that binds, found by running PREDICT."""
    found = set()
    for sql_type, src in COLUMNS[dialect].items():
        if src is None or src in _UNSIGNED_RANGE:
            continue
        for elem in ONNX_ELEMS:
            with Table(dialect, sql_type, "x", []) as t:
                try:
                    t.predict(identity_model(elem, 2), elem)
                except sqlpredict.ProgrammingError:
                    continue
                found.add((src, elem))
    return found


@pytest.mark.parametrize("dialect", list(COLUMNS))
def test_allowed_pairs_are_exactly_the_spec_list(dialect):
    assert bound_pairs(dialect) == SPEC_ALLOWED


def test_spec_table_sanity():
    """The table above says what the spec says, checked against numpy's own promotion rules."""
    for src, dst in SPEC_WIDENINGS:
        s, d = ONNX_ELEMS[src][0], ONNX_ELEMS[dst][0]
        assert np.can_cast(s, d, casting="safe"), (src, dst)
    # Lossy conversions the spec names explicitly.
    for pair in [("double", "float"), ("int64", "int32"), ("int32", "float"), ("int64", "float"),
                 ("int64", "double"), ("uint8", "int8"), ("int8", "uint8"), ("bool", "int32"),
                 ("string", "double"), ("int32", "string")]:
        assert pair not in SPEC_ALLOWED


# ------------------------------------------------------------------ names (spec 2)


@pytest.mark.parametrize("dialect", list(COLUMNS))
def test_names_match_case_insensitively(dialect):
    cur = cursor(dialect)
    double = "FLOAT" if dialect == "tsql" else "DOUBLE"
    model = two_input_model("Age", "INCOME")
    cur.execute(
        f"SELECT d.*, p.ya, p.YB FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(3 AS {double}) AS age, "
        f"CAST(4 AS {double}) AS Income, 'keep' AS extra) AS d) WITH (YA {double}, yb {double}) AS p",
        [model],
    )
    assert cur.fetchall() == [(3.0, 4.0, "keep", 3.0, 4.0)]
    # Extra DATA columns pass through with their own names; outputs keep the spelling WITH gave them.
    assert [c[0] for c in cur.description] == ["age", "Income", "extra", "YA", "yb"]


@pytest.mark.parametrize("dialect", list(COLUMNS))
def test_exact_case_is_preferred(dialect):
    """Input 'x' takes column "x" even when DATA also has a column that differs only in case."""
    cur = cursor(dialect)
    double = "FLOAT" if dialect == "tsql" else "DOUBLE"
    cur.execute(
        f"SELECT p.y FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(1 AS {double}) AS x, "
        f"CAST(2 AS {double}) AS X) AS d) WITH (y {double}) AS p",
        [identity_model("double", 2, "x")],
    )
    assert cur.fetchall() == [(1.0,)]


@pytest.mark.parametrize("dialect", list(COLUMNS))
def test_two_case_only_matches_are_an_error(dialect):
    """Input 'Xx' with DATA columns xx and XX (neither exact) is ambiguous (spec 2).

    DuckDB keeps the first and renames the second XX_1, so the rule must see through that rename.
    """
    cur = cursor(dialect)
    double = "FLOAT" if dialect == "tsql" else "DOUBLE"
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        cur.execute(
            f"SELECT p.y FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(1 AS {double}) AS xx, "
            f"CAST(2 AS {double}) AS XX) AS d) WITH (y {double}) AS p",
            [identity_model("double", 2, "Xx")],
        )
    message = str(info.value)
    assert message.startswith("PREDICT: input 'Xx'")
    assert "xx" in message and "XX" in message and "case" in message


def test_two_outputs_differing_in_case():
    """WITH picks the exact-case output; a WITH name matching two outputs only by case is an error."""
    ins = [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", 1])]
    outs = [helper.make_tensor_value_info(n, TensorProto.DOUBLE, ["N", 1]) for n in ("ab", "AB")]
    neg = helper.make_node("Neg", ["x"], ["AB"])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["ab"]), neg], "g", ins, outs)
    model = helper.make_model(graph, ir_version=9, opset_imports=OPSET).SerializeToString()
    cur = cursor("tsql")
    cur.execute("SELECT p.* FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(2 AS FLOAT) AS x) AS d) "
                "WITH (AB FLOAT) AS p", [model])
    assert cur.fetchall() == [(-2.0,)]
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        cur.execute("SELECT p.* FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(2 AS FLOAT) AS x) AS d) "
                    "WITH (Ab FLOAT) AS p", [model])
    message = str(info.value)
    assert message.startswith("PREDICT: WITH column 'Ab'") and "ab" in message and "AB" in message
    assert "DATA" not in message  # the outputs are the model's; DATA cannot rename them
    # SQL column names ignore case: both outputs cannot be result columns, so neither WITH nor no WITH returns both
    with pytest.raises(sqlpredict.ProgrammingError, match="PREDICT: WITH lists 'ab' and 'AB'.*list each output once"):
        cur.execute("SELECT p.* FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(2 AS FLOAT) AS x) AS d) "
                    "WITH (ab FLOAT, AB FLOAT) AS p", [model])
    with pytest.raises(sqlpredict.ProgrammingError, match=r"outputs 'ab' and 'AB' differ only in case.*WITH \(ab float\)"):
        cur.execute("SELECT p.* FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(2 AS FLOAT) AS x) AS d) AS p", [model])


def test_no_with_leaves_out_outputs_that_are_not_one_value_per_row():
    """An output of fixed length (a constant, a Shape) is not per row: no WITH returns the others."""
    ins = [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", 1])]
    outs = [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", 1]),
            helper.make_tensor_value_info("k", TensorProto.FLOAT, [3]),
            helper.make_tensor_value_info("s", TensorProto.INT64, [2])]
    const = helper.make_node("Constant", [], ["k"], value=helper.make_tensor("c", TensorProto.FLOAT, [3], [1, 2, 3]))
    graph = helper.make_graph([helper.make_node("Neg", ["x"], ["y"]), const, helper.make_node("Shape", ["x"], ["s"])],
                              "g", ins, outs)
    model = helper.make_model(graph, ir_version=9, opset_imports=OPSET).SerializeToString()
    for dialect in ("tsql", "duckdb"):
        cur = cursor(dialect)
        cur.execute("SELECT p.* FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(2 AS DOUBLE) AS x) AS d) AS p", [model])
        assert cur.fetchall() == [(-2.0,)] and [c[0] for c in cur.description] == ["y"]


# ------------------------------------------------------------------ T-SQL type names (spec 1)


def test_tsql_float_is_double_and_real_is_single():
    cur = cursor("tsql")
    cur.execute("SELECT CAST(0.1 AS FLOAT) AS f, CAST(0.1 AS REAL) AS r, CAST(0.1 AS FLOAT(24)) AS f24, "
                "CAST(0.1 AS FLOAT(53)) AS f53")
    f, r, f24, f53 = cur.fetchone()
    assert f == 0.1 and f53 == 0.1  # 8-byte: exactly Python's 0.1
    assert r == f24 == float(np.float32(0.1)) != 0.1  # 4-byte
    assert [c[1] for c in cur.description] == ["DOUBLE", "FLOAT", "FLOAT", "DOUBLE"]


def test_tsql_tinyint_bit_and_others_in_create_table_and_cast():
    cur = cursor("tsql")
    cur.execute("CREATE TABLE tsql_types (t TINYINT, b BIT, n NUMERIC(25,17), d DATETIME2(7), "
                "v VARBINARY(MAX), f FLOAT, r REAL, i1 INT1)")
    try:
        cur.execute("INSERT INTO tsql_types VALUES (255, 1, 1.12345678901234567, '2024-02-29 12:30:01.1234567', "
                    "0x4F4E4E58, 0.1, 0.1, -128)")
        cur.execute("SELECT * FROM tsql_types")
        t, b, n, d, v, f, r, i1 = cur.fetchone()
        assert (t, b, v, f, i1) == (255, True, b"ONNX", 0.1, -128)
        assert n == decimal.Decimal("1.12345678901234567")
        assert d == dt.datetime(2024, 2, 29, 12, 30, 1, 123456)
        assert r == float(np.float32(0.1))
        assert [c[1] for c in cur.description] == ["UTINYINT", "BOOLEAN", "DECIMAL(25,17)", "TIMESTAMP_NS", "BLOB",
                                                    "DOUBLE", "FLOAT", "TINYINT"]
        with pytest.raises(sqlpredict.DataError):
            cur.execute("INSERT INTO tsql_types (t) VALUES (256)")
        with pytest.raises(sqlpredict.DataError):
            cur.execute("SELECT CAST(-1 AS TINYINT)")
        cur.execute("SELECT CAST(255 AS TINYINT), CAST(2 AS BIT), CAST(0 AS BIT), CAST(0x0102 AS VARBINARY(MAX))")
        assert cur.fetchone() == (255, True, False, b"\x01\x02")
    finally:
        cur.execute("DROP TABLE tsql_types")


def test_tsql_type_names_in_with():
    """WITH applies T-SQL meanings: FLOAT keeps a double exactly, REAL rounds, NUMERIC(25,17) is decimal."""
    cur = cursor("tsql")
    model_y = identity_model("double", 2, "x")
    cur.execute("SELECT p.y FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(0.1 AS FLOAT) AS x) AS d) "
                "WITH (y FLOAT) AS p", [model_y])
    assert cur.fetchall() == [(0.1,)] and cur.description[0][1] == "DOUBLE"
    for declared, want, typ in [
        ("REAL", float(np.float32(0.1)), "FLOAT"),
        ("NUMERIC(25,17)", None, "DECIMAL(25,17)"),
        ("FLOAT(24)", float(np.float32(0.1)), "FLOAT"),
        ("VARCHAR(MAX)", "0.1", "VARCHAR"),
    ]:
        if want is None:  # SQL CAST semantics: whatever CAST of the same double gives
            cur.execute(f"SELECT CAST(CAST(0.1 AS FLOAT) AS {declared})")
            want = cur.fetchone()[0]
            assert isinstance(want, decimal.Decimal) and abs(want - decimal.Decimal("0.1")) < decimal.Decimal("1e-16")
        cur.execute(f"SELECT p.y FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(0.1 AS FLOAT) AS x) AS d) "
                    f"WITH (y {declared}) AS p", [model_y])
        assert cur.fetchall() == [(want,)], declared
        assert cur.description[0][1] == typ, declared
    cur.execute("SELECT p.y FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(255 AS TINYINT) AS x) AS d) "
                "WITH (y TINYINT) AS p", [identity_model("uint8", 2, "x")])
    assert cur.fetchall() == [(255,)] and cur.description[0][1] == "UTINYINT"
    cur.execute("SELECT p.y FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(1 AS BIT) AS x) AS d) "
                "WITH (y BIT) AS p", [identity_model("bool", 2, "x")])
    assert cur.fetchall() == [(True,)] and cur.description[0][1] == "BOOLEAN"


def test_model_in_varbinary_max_column():
    cur = cursor("tsql")
    cur.execute("CREATE TABLE type_models (id INT, data VARBINARY(MAX), description VARCHAR(1000))")
    try:
        cur.execute("INSERT INTO type_models (id, data, description) VALUES (1, ?, 'identity')",
                    [identity_model("float", 2, "x")])
        cur.execute("SELECT p.y FROM PREDICT(MODEL = (SELECT data FROM type_models WHERE id = 1), "
                    "DATA = (SELECT CAST(1.5 AS REAL) AS x) AS d, RUNTIME = ONNX) WITH (y REAL) AS p")
        assert cur.fetchall() == [(1.5,)]
    finally:
        cur.execute("DROP TABLE type_models")


def test_tsql_identity_column():
    cur = cursor("tsql")
    cur.execute("CREATE TABLE ident_models (id INT IDENTITY(1,1), data VARBINARY(MAX), description VARCHAR(1000))")
    try:
        cur.execute("INSERT INTO ident_models (data, description) VALUES (0x01, 'a'), (0x02, 'b')")
        cur.execute("SELECT id, data FROM ident_models ORDER BY id")
        assert cur.fetchall() == [(1, b"\x01"), (2, b"\x02")]
    finally:
        cur.execute("DROP TABLE IF EXISTS ident_models")
