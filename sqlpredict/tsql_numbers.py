"""T-SQL's numeric results where DuckDB's differ: CASTs to integer and wide NUMERIC types, and AVG of integers.

SQL Server truncates a decimal or float value CAST or CONVERTed to an integer type
(`CAST(10.6496 AS INT)` is 10, `CAST(-3.5 AS INT)` is -3) where DuckDB rounds, and AVG of an
integer column is an integer, its fraction truncated, where DuckDB's is a DOUBLE. A float CAST
to a NUMERIC wider than 18 digits gets digits the float does not have in DuckDB (107 becomes
107.00000000000001048576); it goes through the float's exact decimal text instead (see
`exact_decimal`). A float CAST or CONVERTed to text has at most 6 significant digits, in
scientific notation where SQL Server's style 0 uses it ('237.05', '1.23457e+006'), where
DuckDB writes every digit ('237.04998779296875'). All depend on the operand's type, which the SQL text alone does not tell for a
column: sqlglot's annotate_types works it out from the column types DuckDB's catalog gives for
the statement's tables. Where it cannot (an operand of unknown type), DuckDB's own result stands.
"""

from __future__ import annotations

import typing as t

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

T = exp.DataType.Type
# The integer types a T-SQL CAST names, as the T-SQL dialect reads them (TINYINT is UTINYINT, INT1 TINYINT).
_INTEGER_TARGETS = {T.TINYINT, T.UTINYINT, T.SMALLINT, T.INT, T.BIGINT}
# The column types whose AVG is an integer in SQL Server (int for the narrow ones, bigint for bigint).
_AVERAGED_AS_INTEGERS = _INTEGER_TARGETS | {T.USMALLINT, T.UINT}
_DML = (exp.Update, exp.Merge, exp.Delete)
_KEY = "tsql_operand"  # meta: which CAST or AVG a node of the annotated copy stands for
# meta of a column that holds a `?` value (executemany reads its rows from a table): typed as the `?` is
BOUND_VALUE = "bound_value"

ColumnTypes = t.Callable[[set[str]], dict[str, dict[str, str]]]


def adapt_integer_results(statement: exp.Expression, column_types: ColumnTypes) -> None:
    """Truncate fractional operands of integer CASTs and make AVG of integers an integer, as SQL Server does.

    `column_types` gives {table: {column: DuckDB type}} for the table names asked; it is
    called only when the statement has such a CAST or an AVG.
    """
    casts = [c for c in statement.find_all(exp.Cast) if c.to.this in _INTEGER_TARGETS
             and not isinstance(c.this, exp.Trunc)]
    averages = [a for a in statement.find_all(exp.Avg)  # FILTER and PIVOT take one aggregate call
                if not isinstance(a.parent, exp.Filter) and a.find_ancestor(exp.Pivot) is None]
    wide = [c for c in statement.find_all(exp.Cast) if is_wide_decimal(c.to) and not c.meta_get(_EXACT)]
    texts = [c for c in statement.find_all(exp.Cast) if c.to.this in _TEXT_TARGETS and not c.meta_get(_EXACT)]
    if not casts and not averages and not wide and not texts:
        return
    types = _operand_types(statement, [*casts, *averages, *wide, *texts], column_types)
    for number, cast in enumerate(wide, start=len(casts) + len(averages)):
        operand = types.get(number)
        if operand is not None and operand.is_type(T.FLOAT, T.DOUBLE):
            cast.replace(exact_decimal(cast.this, cast.to))
    for number, cast in enumerate(texts, start=len(casts) + len(averages) + len(wide)):
        operand = types.get(number)
        if operand is not None and operand.is_type(T.FLOAT, T.DOUBLE):
            cast.set("this", _style_zero(cast.this))
            cast.meta[_EXACT] = True
    for number, cast in enumerate(casts):
        operand = types.get(number)
        if operand is not None and operand.is_type(*exp.DataType.REAL_TYPES):
            cast.set("this", exp.Trunc(this=cast.this))
    for number, average in enumerate(averages, start=len(casts)):
        operand = types.get(number)
        if operand is not None and operand.this in _AVERAGED_AS_INTEGERS:
            _integer_average(average, "BIGINT" if operand.this in (T.BIGINT, T.UINT) else "INT")


_EXACT = "tsql_float_cast"  # meta: a CAST of a float already written as T-SQL's (a second pass leaves it)


_TEXT_TARGETS = {T.VARCHAR, T.NVARCHAR, T.CHAR, T.NCHAR, T.TEXT}


def _style_zero(value: exp.Expression) -> exp.Expression:
    """A float as SQL Server's CAST to text writes it (style 0): C's %g, with a three-digit exponent."""
    general = exp.Anonymous(this="printf", expressions=[exp.Literal.string("%g"), value.copy()])
    return exp.Anonymous(this="regexp_replace", expressions=[
        general, exp.Literal.string(r"e([+-])(\d\d)$"), exp.Literal.string(r"e\10\2")])


def is_wide_decimal(dtype: exp.Expression) -> bool:
    """NUMERIC(p, s) with p > 18: DuckDB's CAST of a float to it is inexact (a 128-bit multiplication)."""
    if not (isinstance(dtype, exp.DataType) and dtype.this == T.DECIMAL and dtype.expressions):
        return False
    precision = dtype.expressions[0]
    text = precision.name if isinstance(precision, (exp.Literal, exp.DataTypeParam)) else ""
    return text.isdigit() and int(text) > 18


def exact_decimal(value: exp.Expression, dtype: exp.DataType) -> exp.Cast:
    """CAST(float AS NUMERIC(p, s)): the float's exact value rounded to s places (107 is 107.000...,
    100.5 is 100.500...), through its exact decimal text.

    A double's binary fraction ends within 60 decimal places for any value above 2**-8, and
    DuckDB's CAST of the text to DECIMAL rounds it half away from zero, as SQL does.
    """
    text = exp.Anonymous(this="printf", expressions=[
        exp.Literal.string("%.60f"), exp.Cast(this=value.copy(), to=exp.DataType.build("DOUBLE"))])
    cast = exp.Cast(this=text, to=dtype.copy())
    cast.meta[_EXACT] = True
    return cast


def _operand_types(statement: exp.Expression, nodes: list[exp.Expression],
                   column_types: ColumnTypes) -> dict[int, exp.DataType]:
    """The type of each node's operand, by the node's position in `nodes`; unknown ones are left out."""
    for number, node in enumerate(nodes):
        node.meta[_KEY] = number
    copy = statement.copy()
    for node in nodes:
        node.meta.pop(_KEY)
    for column in list(copy.find_all(exp.Column)):
        if column.meta_get(BOUND_VALUE):  # of unknown type, as the `?` it stands for: executemany = execute
            column.replace(exp.Placeholder())
    tables = {table.name.lower() for table in copy.find_all(exp.Table) if table.name}
    try:
        schema = MappingSchema(column_types(tables) if tables else {}, dialect="duckdb")
    except SqlglotError:  # a column type sqlglot cannot read
        return {}
    found: dict[int, exp.DataType] = {}
    roots = [copy, *(_dml_query(dml) for dml in copy.find_all(*_DML) if dml.this is not None)]
    for root in roots:
        try:
            qualified = qualify(root, schema=schema, dialect="duckdb", validate_qualify_columns=False,
                                quote_identifiers=False, identify=False)
            annotate_types(qualified, schema=schema, dialect="duckdb")
        except SqlglotError:  # a statement sqlglot cannot follow keeps DuckDB's results
            continue
        for node in qualified.find_all(exp.Cast, exp.Avg):
            number = node.meta_get(_KEY)
            operand = node.this.expressions[0] if isinstance(node.this, exp.Distinct) else node.this
            if number is not None and isinstance(operand, exp.Expression) and operand.type is not None \
                    and not operand.is_type(T.UNKNOWN):
                found[number] = operand.type
    return found


def _dml_query(dml: exp.Expression) -> exp.Select:
    """A SELECT of the CASTs and AVGs that stand directly in an UPDATE, MERGE or DELETE, over its tables.

    sqlglot types the expressions of SELECTs; this gives those of the other statements a SELECT.
    """
    own = [node.copy() for node in dml.find_all(exp.Cast, exp.Avg) if node.meta_get(_KEY) is not None
           and _statement(node) is dml]
    query = exp.select(*own, copy=False).from_(dml.this.copy(), copy=False)
    from_ = dml.args.get("from_")
    for source in (from_.this if isinstance(from_, exp.From) else None, dml.args.get("using")):
        if isinstance(source, exp.Expression):
            query = query.join(source.copy(), copy=False)
    return query


def _statement(node: exp.Expression) -> exp.Expression | None:
    """The SELECT, UPDATE, MERGE or DELETE whose tables a node's columns come from (MERGE's WHEN ... THEN
    UPDATE names no table of its own)."""
    owner = node.find_ancestor(exp.Select, *_DML)
    while isinstance(owner, exp.Update) and owner.this is None:
        owner = owner.find_ancestor(exp.Select, *_DML)
    return owner


def _integer_average(average: exp.Avg, sql_type: str) -> None:
    """AVG(x) of integers as SQL Server computes it: SUM(x) / COUNT(x) in integers, truncated."""
    window = average.parent if isinstance(average.parent, exp.Window) and average.arg_key == "this" else None
    parts = []
    for aggregate in (exp.Sum(this=average.this.copy()), exp.Count(this=average.this.copy())):
        if window is not None:
            part = window.copy()
            part.set("this", aggregate)
            parts.append(part)
        else:
            parts.append(aggregate)
    result = exp.Cast(this=exp.IntDiv(this=parts[0], expression=parts[1]), to=exp.DataType.build(sql_type))
    (window or average).replace(result)


def catalog_types(con: duckdb.DuckDBPyConnection, tables: set[str],
                  registered: dict[str, pa.Schema]) -> dict[str, dict[str, str]]:
    """{table: {column: DuckDB type}} for the named tables and views, and for Arrow data registered by name.

    Temporary objects come last, so they win over a main table of the same name, as in DuckDB.
    """
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE lower(table_name) IN (SELECT unnest($1::VARCHAR[])) ORDER BY database_name = 'temp', column_index",
        [sorted(tables)],
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        found.setdefault(table.lower(), {})[column] = data_type
    for name, schema in registered.items():
        relation = con.from_arrow(schema.empty_table())
        found[name.lower()] = {column: str(kind) for column, kind in zip(relation.columns, relation.types)}
    return found
