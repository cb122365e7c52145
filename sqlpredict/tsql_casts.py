"""CAST and CONVERT with T-SQL's meaning where DuckDB's differs.

- `CONVERT(VARBINARY(MAX), '0x0A0B0C', 1)` reads hex digits after `0x` (style 2: without it);
  DuckDB's CAST would give the bytes of the text.
"""

from __future__ import annotations

from sqlglot import exp


def adapt_conversions(statement: exp.Expression) -> None:
    """Give every CAST and CONVERT in a T-SQL statement its T-SQL result."""
    for convert in list(statement.find_all(exp.Convert)):
        _hex_style(convert)


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
