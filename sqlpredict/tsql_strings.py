"""T-SQL string semantics where DuckDB's differ.

- `LEN(x)` does not count trailing spaces (`LEN('abc  ')` is 3); DuckDB's length does.
"""

from __future__ import annotations

from sqlglot import exp


def adapt_strings(statement: exp.Expression) -> None:
    """Give LEN in a T-SQL statement its T-SQL result."""
    for length in list(statement.find_all(exp.Length)):
        _without_trailing_spaces(length)


def _without_trailing_spaces(length: exp.Length) -> None:
    text = length.this
    if isinstance(text, exp.Trim) and text.args.get("position") == "TRAILING":  # done on an earlier pass
        return
    length.set("this", exp.Trim(this=exp.cast(text, exp.DataType.Type.TEXT), position="TRAILING"))

