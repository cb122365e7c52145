"""CAST and CONVERT with T-SQL's meaning where DuckDB's differs.

- To a sized character type (`VARCHAR(n)`, `NVARCHAR(n)`, `CHAR(n)`, `NCHAR(n)`) SQL Server cuts
  the text to n characters, so `CONVERT(VARCHAR(10), dt, 120)` is the day `yyyy-mm-dd`. DuckDB
  ignores n, and the T-SQL types are read as plain VARCHAR (dialects.tsql_type_meaning), which
  keeps n in the type's meta for this module.
- `CONVERT(VARBINARY(MAX), '0x0A0B0C', 1)` reads hex digits after `0x` (style 2: without it);
  DuckDB's CAST would give the bytes of the text.
- `FORMAT(x, 'N2')` and `'F2'` write a number as .NET's standard formats do for en-US: thousands
  separators for N, a fixed number of decimals (2 by default); other number formats are refused
  (`format_refusal`). `STR(x, length, decimals)` right-aligns
  the rounded number in `length` characters, or gives that many `*` when it does not fit.
- `CONVERT(VARCHAR, x, 121)` (and 21, 25, 126, 127) writes as many fractional digits as x's type
  keeps: DATETIME 3, DATETIME2(n) n, DATETIME2 7. sqlglot writes strftime's `%f` (6 digits) for
  all of them, and nothing usable for 127. The digits come from the type in the tree (a CAST or
  CONVERT to DATETIME or DATETIME2(n), see `FRACTION`) or, failing that, from DuckDB's type at run
  time: TIMESTAMP_NS (DATETIME2(7)) gives 7, and the other types keep `%f`'s 6, as DuckDB's TIMESTAMP
  does not tell DATETIME from DATETIME2(6).
- `CONVERT(DATETIME, '31/12/2024', 103)` reads the text in the style's layout and raises on
  text that does not fit it; a date or time value is converted as CAST converts it, since SQL
  Server reads the style only from text. sqlglot gives DuckDB a TRY_CAST that ignores the
  style, so the day came out NULL.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.tsql import TSQL as _TSQL

LENGTH = "tsql_length"  # meta key: the n of a T-SQL VARCHAR(n) read as VARCHAR
FRACTION = "tsql_fraction"  # meta key: the fractional digits of a T-SQL DATETIME or DATETIME2(n) read as TIMESTAMP

_CHARACTER = {exp.DataType.Type.VARCHAR, exp.DataType.Type.NVARCHAR, exp.DataType.Type.CHAR,
              exp.DataType.Type.NCHAR}


def character_length(dtype: exp.DataType) -> int | None:
    """n of a T-SQL VARCHAR(n), NVARCHAR(n), CHAR(n) or NCHAR(n); None for MAX, no length and other types."""
    if dtype.this not in _CHARACTER or not dtype.expressions:
        return None
    size = dtype.expressions[0]
    text = size.name if isinstance(size, (exp.Literal, exp.DataTypeParam, exp.Var)) else ""
    return int(text) if text.isdigit() else None


def declared_length(dtype: exp.DataType) -> int | None:
    """The character length recorded on a type read from T-SQL (see `sized`)."""
    return dtype.meta_get(LENGTH)


def sized(dtype: exp.DataType, length: int | None) -> exp.DataType:
    """Record a character length on a type: CASTs to it are cut to that many characters."""
    if length is not None:
        dtype.meta[LENGTH] = length
    return dtype


def with_fraction(dtype: exp.DataType, digits: int | None) -> exp.DataType:
    """Record the fractional digits a T-SQL date-time type keeps: CONVERT's styles 121 and 126 write them."""
    if digits is not None:
        dtype.meta[FRACTION] = digits
    return dtype


def adapt_conversions(statement: exp.Expression) -> None:
    """Give every CAST and CONVERT in a T-SQL statement its T-SQL result."""
    for convert in list(statement.find_all(exp.Convert)):
        _hex_style(convert)
        _date_style(convert)
        _fraction_style(convert)
    for number in list(statement.find_all(exp.NumberToStr)):
        spec = _format_spec(number)
        if spec is not None:
            number.replace(exp.Anonymous(this="format", expressions=[exp.Literal.string(spec), number.this.copy()]))
    for func in list(statement.find_all(exp.Anonymous)):
        if func.name.upper() == "STR" and 1 <= len(func.expressions) <= 3:
            func.replace(_str(*func.expressions))
    for node in list(statement.find_all(exp.Cast, exp.Convert)):
        _cut_to_length(node)


def _cut_to_length(node: exp.Cast | exp.Convert) -> None:
    dtype = node.to if isinstance(node, exp.Cast) else node.this
    if not isinstance(dtype, exp.DataType):
        return
    length = dtype.meta.pop(LENGTH, None) if dtype._meta else None  # popped: a second pass leaves it
    if length is not None:
        node.replace(exp.Left(this=node.copy(), expression=exp.Literal.number(length)))


def _hex_style(convert: exp.Convert) -> None:
    """CONVERT(VARBINARY, text, 1) and (..., 2): hex digits, with and without `0x`, to their bytes."""
    style = convert.args.get("style")
    to = convert.this
    if not (isinstance(to, exp.DataType) and to.is_type(exp.DataType.Type.VARBINARY)
            and isinstance(style, exp.Literal) and style.name in ("1", "2")):
        return
    text = convert.expression
    safe = bool(convert.args.get("safe"))
    if style.name == "2":
        value: exp.Expression = exp.Unhex(this=text)
    else:
        digits = exp.Unhex(this=exp.Substring(this=text.copy(), start=exp.Literal.number(3)))
        refused = exp.null() if safe else exp.func("error", exp.Literal.string(
            "CONVERT(VARBINARY, <text>, 1): the text must start with 0x and then hex digits; "
            "for hex digits without 0x use style 2"))
        prefixed = exp.ILike(this=text.copy(), expression=exp.Literal.string("0x%"))
        value = exp.Case(ifs=[exp.If(this=exp.or_(prefixed, exp.Is(this=text.copy(), expression=exp.null())),
                                     true=digits)], default=refused)
    convert.replace(exp.Try(this=value) if safe else value)


_DATE_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.DATETIME, exp.DataType.Type.DATETIME2,
               exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMP_NS, exp.DataType.Type.SMALLDATETIME}
# Styles whose layout is ISO 8601 (yyyy-mm-dd[ hh:mi:ss[.fff]], with T): DuckDB's CAST reads them all.
_ISO_STYLES = {"20", "21", "23", "120", "121", "126", "127"}


def _date_style(convert: exp.Convert) -> None:
    """CONVERT(<date or time type>, x, style): text in the style's layout (strptime), or x as CAST gives it."""
    style, to = convert.args.get("style"), convert.this
    if not (isinstance(to, exp.DataType) and to.this in _DATE_TYPES and isinstance(style, exp.Literal)):
        return
    layout = None if style.name in _ISO_STYLES else _TSQL.CONVERT_FORMAT_MAPPING.get(style.name)
    value = convert.expression
    cast = exp.Cast(this=value.copy(), to=to.copy())
    if layout is not None:
        text = exp.Cast(this=value.copy(), to=exp.DataType.build("VARCHAR"))
        parsed = exp.Cast(this=exp.Anonymous(this="strptime", expressions=[text, exp.Literal.string(layout)]),
                          to=to.copy())
        is_text = exp.EQ(this=exp.Anonymous(this="typeof", expressions=[value.copy()]),
                         expression=exp.Literal.string("VARCHAR"))
        cast = exp.Case(ifs=[exp.If(this=is_text, true=parsed)], default=cast)
    convert.replace(exp.Try(this=cast) if convert.args.get("safe") else cast)


# Styles that write a date-time with its fraction, and the layout before the fraction.
_FRACTION_STYLES = {"21": "%Y-%m-%d %H:%M:%S", "25": "%Y-%m-%d %H:%M:%S", "121": "%Y-%m-%d %H:%M:%S",
                    "126": "%Y-%m-%dT%H:%M:%S", "127": "%Y-%m-%dT%H:%M:%S"}


def _fraction_style(convert: exp.Convert) -> None:
    """CONVERT(VARCHAR, x, 121) and the like: the fraction with as many digits as x's type keeps."""
    style, to = convert.args.get("style"), convert.this
    if not (isinstance(to, exp.DataType) and to.this in _CHARACTER | {exp.DataType.Type.TEXT}
            and isinstance(style, exp.Literal) and style.name in _FRACTION_STYLES):
        return
    value = convert.expression
    whole = exp.Anonymous(this="strftime", expressions=[value.copy(), exp.Literal.string(_FRACTION_STYLES[style.name])])
    text = exp.DPipe(this=whole, expression=_fraction(value, _declared_digits(value)))
    convert.replace(exp.TryCast(this=text, to=to.copy()) if convert.args.get("safe") else
                    exp.Cast(this=text, to=to.copy()))


def _declared_digits(value: exp.Expression) -> int | None:
    """The fractional digits of a value CAST or CONVERTed to a date-time type in the statement itself."""
    if not isinstance(value, (exp.Cast, exp.Convert)):
        return None
    to = value.to if isinstance(value, exp.Cast) else value.this
    if not isinstance(to, exp.DataType):
        return None
    if to.is_type(exp.DataType.Type.TIMESTAMP_NS):
        return 7
    return to.meta_get(FRACTION)


def _fraction(value: exp.Expression, digits: int | None) -> exp.Expression:
    """'.' and the digits; where the statement does not say them, chosen by DuckDB's type at run time
    (typeof is folded when the query is planned)."""
    if digits is not None:
        return _digits(value, digits)
    is_ns = exp.EQ(this=exp.Anonymous(this="typeof", expressions=[value.copy()]),
                   expression=exp.Literal.string("TIMESTAMP_NS"))
    return exp.Case(ifs=[exp.If(this=is_ns, true=_digits(value, 7))], default=_digits(value, 6))


def _digits(value: exp.Expression, digits: int) -> exp.Expression:
    """'.' and the first `digits` fractional digits (none, and no '.', for 0): %g has 3, %f 6, %n 9."""
    if digits <= 0:
        return exp.Literal.string("")
    code = "%g" if digits <= 3 else "%f" if digits <= 6 else "%n"
    fraction = exp.Anonymous(this="strftime", expressions=[value.copy(), exp.Literal.string("." + code)])
    return exp.Left(this=fraction, expression=exp.Literal.number(digits + 1))


_STANDARD_NUMBER = re.compile(r"^([NF])(\d{0,2})$", re.IGNORECASE)


def _format_spec(number: exp.NumberToStr) -> str | None:
    """The fmt specification (DuckDB's format()) of a FORMAT(x, 'N2') that sqlpredict writes; None: refused."""
    fmt, culture = number.args.get("format"), number.args.get("culture")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string) or culture is not None:
        return None
    match = _STANDARD_NUMBER.match(fmt.name)
    if match is None:
        return None
    kind, digits = match[1].upper(), match[2]
    places = int(digits) if digits else 2
    return f"{{:{',' if kind == 'N' else ''}.{places}f}}"


def format_refusal(statement: exp.Expression) -> str | None:
    """Why a FORMAT of a number cannot run: a format other than N and F, or a culture."""
    for number in statement.find_all(exp.NumberToStr):
        if _format_spec(number) is None:
            return (f"FORMAT({number.this.sql('tsql')}, {number.args['format'].sql('tsql')}...) is outside what "
                    "sqlpredict runs: it writes numbers with the standard formats 'N' and 'F' (N2: 1,234.50; "
                    "F2: 1234.50) in en-US, and dates with 'yyyy-MM-dd'-style patterns")
    return None


def _str(value: exp.Expression, length: exp.Expression | None = None,
         decimals: exp.Expression | None = None) -> exp.Expression:
    """STR(x, length, decimals): the number rounded to `decimals`, right-aligned in `length` characters."""
    width = length.copy() if length is not None else exp.Literal.number(10)
    places = decimals.copy() if decimals is not None else exp.Literal.number(0)
    pattern = exp.DPipe(this=exp.DPipe(this=exp.Literal.string("%."), expression=exp.cast(places, "VARCHAR")),
                        expression=exp.Literal.string("f"))
    text = exp.Anonymous(this="printf", expressions=[pattern, exp.cast(value.copy(), "DOUBLE")])
    fits = exp.LTE(this=exp.Length(this=text.copy()), expression=width.copy())
    padded = exp.Anonymous(this="lpad", expressions=[text, width.copy(), exp.Literal.string(" ")])
    stars = exp.Anonymous(this="repeat", expressions=[exp.Literal.string("*"), width])
    return exp.Case(ifs=[exp.If(this=exp.Is(this=text.copy(), expression=exp.null()), true=exp.null()),
                         exp.If(this=fits, true=padded)], default=stars)
