"""T-SQL's date functions, said so DuckDB computes what SQL Server does.

- `DATEPART(weekday, d)` counts from Sunday = 1 (SQL Server's default DATEFIRST 7, us_english);
  DuckDB's DAYOFWEEK counts from Sunday = 0.
- `DATEPART(week, d)`: week 1 holds January 1st and weeks start on Sunday; DuckDB's WEEK is the
  ISO week (`DATEPART(iso_week, d)` in T-SQL).
- DATEPART of a string literal reads it as a date-time, as SQL Server converts it.
- `GETUTCDATE()` and `SYSUTCDATETIME()` are the UTC date-time without a time zone;
  `SYSDATETIMEOFFSET()` is the current instant with its zone.
- `CHOOSE(i, a, b, ...)` is the i-th value, NULL outside 1..n.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

_DATE = "__tsql_date__"  # the operand's place in the templates below
_TEMPLATES = {
    "WEEKDAY": f"EXTRACT(DAYOFWEEK FROM {_DATE}) + 1",
    "WEEK": f"(dayofyear({_DATE}) + dayofweek(date_trunc('year', {_DATE})) - 1) // 7 + 1",
}
_UTC_NOW = "CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)"


def adapt_dates(statement: exp.Expression) -> None:
    """Give the date functions of a T-SQL statement their T-SQL results."""
    for extract in list(statement.find_all(exp.Extract)):
        _datepart(extract)
    for func in list(statement.find_all(exp.Anonymous)):
        name = func.name.upper()
        if name in ("GETUTCDATE", "SYSUTCDATETIME") and not func.expressions:
            func.replace(sqlglot.parse_one(_UTC_NOW, read="duckdb"))
        elif name == "CHOOSE" and len(func.expressions) >= 2:
            func.replace(_choose(func.expressions))
    for now in list(statement.find_all(exp.CurrentTimestampLTZ)):
        now.replace(exp.Anonymous(this="get_current_timestamp", expressions=[]))


def _datepart(extract: exp.Extract) -> None:
    operand = extract.expression
    if isinstance(operand, exp.Literal) and operand.is_string:
        operand = exp.Cast(this=operand.copy(), to=exp.DataType.build("TIMESTAMP"))
        extract.set("expression", operand)
    part = extract.this.name.upper() if isinstance(extract.this, exp.Var) else ""
    template = _TEMPLATES.get("WEEKDAY" if part == "DAYOFWEEK" else part)
    if template is None:
        return
    tree = sqlglot.parse_one(template, read="duckdb")
    for place in list(tree.find_all(exp.Column)):
        if place.name == _DATE:
            place.replace(operand.copy())
    extract.replace(exp.Paren(this=tree))


def _choose(args: list[exp.Expression]) -> exp.Expression:
    index, values = args[0], args[1:]
    return exp.Case(this=index.copy(), ifs=[exp.If(this=exp.Literal.number(i), true=v.copy())
                                            for i, v in enumerate(values, start=1)])
