"""T-SQL string semantics where DuckDB's differ: LEN and LIKE's character classes.

- `LEN(x)` does not count trailing spaces (`LEN('abc  ')` is 3); DuckDB's length does.
- T-SQL's LIKE has character classes, `[ab]`, `[a-f]`, `[^0-9]`; DuckDB's LIKE reads `[` as itself,
  so `LIKE '[ab]%'` matches nothing. A pattern written as a literal with a class becomes the
  regular expression that means the same, matched against the whole value.
"""

from __future__ import annotations

import re

from sqlglot import exp


def adapt_strings(statement: exp.Expression) -> None:
    """Give LEN and LIKE in a T-SQL statement their T-SQL results."""
    for length in list(statement.find_all(exp.Length)):
        _without_trailing_spaces(length)
    for like in list(statement.find_all(exp.Like)):
        _character_classes(like)


def _without_trailing_spaces(length: exp.Length) -> None:
    text = length.this
    if isinstance(text, exp.Trim) and text.args.get("position") == "TRAILING":  # done on an earlier pass
        return
    length.set("this", exp.Trim(this=exp.cast(text, exp.DataType.Type.TEXT), position="TRAILING"))


def _character_classes(like: exp.Like) -> None:
    pattern = like.expression
    escape_node = like.parent if isinstance(like.parent, exp.Escape) else None
    escape = escape_node.expression.name if escape_node is not None else None
    written = isinstance(pattern, exp.National) or (isinstance(pattern, exp.Literal) and pattern.is_string)
    if not (written and "[" in pattern.name):
        return
    regex = like_regex(pattern.name, escape)
    if regex is None:
        return
    match: exp.Expression = exp.RegexpFullMatch(this=like.this, expression=exp.Literal.string(regex))
    if like.args.get("negate"):
        match = exp.Not(this=match)
    (escape_node or like).replace(match)


def like_regex(pattern: str, escape: str | None = None) -> str | None:
    """The regular expression a T-SQL LIKE pattern means; None where a `[` opens no class."""
    out, i = ["(?s)"], 0
    while i < len(pattern):
        ch = pattern[i]
        if escape and ch == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                return None
            body = pattern[i + 1:end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\").replace("[", "\\[") + "]")
            i = end + 1
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return "".join(out)
