"""T-SQL string semantics where DuckDB's differ: collations, LEN and LIKE's character classes.

- SQL Server compares strings under a collation, by default its installation's
  SQL_Latin1_General_CP1_CI_AS: case-insensitive, accent-sensitive. DuckDB compares bytes. A T-SQL
  connection makes DuckDB's NOCASE its session's default (`DEFAULT_COLLATION`), so `=`, `<`, IN,
  LIKE, joins, GROUP BY, DISTINCT and ORDER BY ignore case as they do in SQL Server, and a
  `COLLATE` clause with a SQL Server collation name becomes the DuckDB collation with the same
  case and accent rules (`duckdb_collation`).
- `LEN(x)` does not count trailing spaces (`LEN('abc  ')` is 3); DuckDB's length does. Of a
  VARBINARY value, LEN and DATALENGTH count its bytes, where DuckDB would count its escaped text.
- `DATALENGTH(x)` of text counts characters: the bytes of a VARCHAR in SQL Server's default
  single-byte code page (an N'...' literal counts two bytes a character, as NVARCHAR does; an
  NVARCHAR column, which DuckDB does not tell from VARCHAR, counts one).
- T-SQL's LIKE has character classes, `[ab]`, `[a-f]`, `[^0-9]`; DuckDB's LIKE reads `[` as itself,
  so `LIKE '[ab]%'` matches nothing. A pattern written as a literal with a class becomes the
  regular expression that means the same, matched against the whole value.
"""

from __future__ import annotations

import re
import typing as t
import unicodedata

from sqlglot import exp


# DuckDB's collation for SQL Server's default, made the session default of every T-SQL connection.
DEFAULT_COLLATION = "nocase"


def set_session_collation(con: t.Any, collation: str) -> None:
    """Make `collation` the default of one DuckDB connection (SESSION: others to the same database keep theirs)."""
    con.execute(f"SET SESSION default_collation = '{collation}'")


def duckdb_collation(name: str) -> str | None:
    """The DuckDB collation with a SQL Server collation's case and accent rules; None for a name it cannot be.

    SQL Server's names end in their rules: `_CI`/`_CS` (case), `_AI`/`_AS` (accents), or `_BIN`/`_BIN2`
    (compare code points). The language part (Latin1_General, French, ...) is not kept: DuckDB orders
    strings by their bytes.
    """
    parts = set(name.upper().split("_"))
    if name.upper() == "DATABASE_DEFAULT":
        return DEFAULT_COLLATION
    if parts & {"BIN", "BIN2"}:
        return "c"
    if not parts & {"CI", "CS"}:
        return None
    rules = (["nocase"] if "CI" in parts else []) + (["noaccent"] if "AI" in parts else [])
    return ".".join(rules) or "c"


def collation_names(statement: exp.Expression) -> t.Iterator[tuple[exp.Expression, str]]:
    """Each COLLATE clause of a statement (expression or column definition), with the name it gives."""
    for node in statement.find_all(exp.Collate, exp.CollateColumnConstraint):
        named = node.expression if isinstance(node, exp.Collate) else node.this
        yield node, named.name


def adapt_strings(statement: exp.Expression) -> None:
    """Give COLLATE, LEN and LIKE in a T-SQL statement their T-SQL results."""
    for node, name in list(collation_names(statement)):
        collation = duckdb_collation(name)
        if collation is not None:
            node.set("expression" if isinstance(node, exp.Collate) else "this", exp.Var(this=collation))
    for length in list(statement.find_all(exp.Length)):
        _without_trailing_spaces(length)
    for func in list(statement.find_all(exp.Anonymous)):
        if func.name.upper() == "DATALENGTH" and len(func.expressions) == 1:
            func.replace(_data_length(func.expressions[0]))
    for like in list(statement.find_all(exp.Like)):
        _character_classes(like)


def _without_trailing_spaces(length: exp.Length) -> None:
    text = length.this
    if isinstance(text, exp.Trim) and text.args.get("position") == "TRAILING":  # done on an earlier pass
        return
    trimmed = length.copy()
    trimmed.set("this", exp.Trim(this=exp.cast(text.copy(), exp.DataType.Type.TEXT), position="TRAILING"))
    # sqlglot reads LEN(x) as LENGTH(CAST(x AS TEXT)): the value's own type is x's
    value = text.this if isinstance(text, exp.Cast) and text.to.is_type(exp.DataType.Type.TEXT) else text
    length.replace(_bytes_if_binary(value, trimmed))


def _data_length(value: exp.Expression) -> exp.Expression:
    if isinstance(value, exp.National):
        return exp.Mul(this=exp.Length(this=value.copy()), expression=exp.Literal.number(2))
    return _bytes_if_binary(value, exp.Length(this=exp.cast(value.copy(), exp.DataType.Type.TEXT)))


def _bytes_if_binary(value: exp.Expression, text_length: exp.Expression) -> exp.Expression:
    """A VARBINARY value's byte count, else `text_length` (typeof is known when DuckDB binds the query)."""
    is_blob = exp.EQ(this=exp.Anonymous(this="typeof", expressions=[value.copy()]), expression=exp.Literal.string("BLOB"))
    octets = exp.Anonymous(this="octet_length", expressions=[exp.cast(value.copy(), exp.DataType.Type.VARBINARY)])
    return exp.Case(ifs=[exp.If(this=is_blob, true=octets)], default=text_length)


def _character_classes(like: exp.Like) -> None:
    pattern = like.expression
    escape_node = like.parent if isinstance(like.parent, exp.Escape) else None
    escape = escape_node.expression.name if escape_node is not None else None
    collation = _collation_of(like.this) or _collation_of(pattern)  # `x COLLATE c LIKE p` or `LIKE p COLLATE c`
    if isinstance(pattern, exp.Collate):
        pattern = pattern.this
    written = isinstance(pattern, exp.National) or (isinstance(pattern, exp.Literal) and pattern.is_string)
    if not (written and "[" in pattern.name):
        return
    rules = collation or DEFAULT_COLLATION
    text = _without_accents(pattern.name) if "noaccent" in rules else pattern.name
    regex = like_regex(text, escape)
    if regex is None:
        return
    if "nocase" in rules:
        regex = "(?i)" + regex
    operand = like.this.this if isinstance(like.this, exp.Collate) else like.this
    if "noaccent" in rules:
        operand = exp.func("strip_accents", operand)
    match: exp.Expression = exp.RegexpFullMatch(this=operand, expression=exp.Literal.string(regex))
    if like.args.get("negate"):
        match = exp.Not(this=match)
    (escape_node or like).replace(match)


def _collation_of(node: exp.Expression) -> str | None:
    """The DuckDB collation a COLLATE on this LIKE operand gives it (through parentheses); None: the default.

    A column declared with a collation of its own is not seen here (that needs the catalog): a LIKE with
    a character class on it follows the default unless the operand has its own COLLATE.
    """
    while isinstance(node, exp.Paren):
        node = node.this
    return node.expression.name.lower() if isinstance(node, exp.Collate) else None


def _without_accents(text: str) -> str:
    """What DuckDB's strip_accents leaves of a pattern: the letters without their combining marks."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


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
