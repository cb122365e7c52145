"""The two SQL dialects sqlpredict reads: T-SQL and DuckDB, each taught PREDICT.

Each dialect is a sqlglot subclass that overrides only what differs: the
PREDICT table source, T-SQL's type names (FLOAT is an 8-byte double, BIT a
boolean, ...) and numbered `?` parameters. Everything is generated as DuckDB
SQL by `DuckDB.Generator`, so identifiers are always quoted by sqlglot.
"""

from __future__ import annotations

import functools
import logging
import re
import typing as t

from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB as _DuckDB
from sqlglot.dialects.tsql import TSQL as _TSQL
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from .tsql_casts import character_length, sized, with_fraction

PREDICT_ARGS = ("MODEL", "DATA", "RUNTIME")


class PredictSource(exp.Expression):
    """`PREDICT(MODEL = m, DATA = src [AS d] [, RUNTIME = ONNX]) [WITH (...)] [AS p]`."""

    arg_types = {
        "model": True,
        "data": True,
        "runtime": False,
        "columns": False,
        "alias": False,
        "joins": False,
        "pivots": False,
    }

    @property
    def alias_name(self) -> str:
        alias = self.args.get("alias")
        return alias.name if alias else ""


class PredictParserMixin:
    """Parses PREDICT wherever a table source may stand, and numbers `?`."""

    def reset(self) -> None:  # type: ignore[override]
        super().reset()  # type: ignore[misc]
        self.placeholder_count = 0

    def _parse_placeholder(self) -> exp.Expression | None:
        node = super()._parse_placeholder()  # type: ignore[misc]
        if isinstance(node, exp.Placeholder) and not node.this:
            node.meta["index"] = self.placeholder_count
            self.placeholder_count += 1
        return node

    def _parse_table(self, *args: t.Any, **kwargs: t.Any) -> exp.Expression | None:
        curr, nxt = self._curr, self._next  # type: ignore[attr-defined]
        if (
            curr is not None
            and nxt is not None
            and curr.text.upper() == "PREDICT"
            and nxt.token_type == TokenType.L_PAREN
            and not kwargs.get("schema")
        ):
            return self._parse_predict(joins=bool(kwargs.get("joins")))
        return super()._parse_table(*args, **kwargs)  # type: ignore[misc]

    def _parse_hex_model(self) -> exp.Expression | None:
        """`MODEL = 0x4F4E...` in DuckDB SQL, whose tokenizer reads it as the number 0 and a name `x4F4E...`."""
        p = t.cast(t.Any, self)
        zero, name = p._curr, p._next
        if zero is None or name is None or zero.token_type != TokenType.NUMBER or zero.text != "0" \
                or name.start != zero.end + 1 or not re.fullmatch(r"[xX][0-9a-fA-F]*", name.text):
            return None
        p._advance(2)
        return exp.HexString(this=name.text[1:])

    def _parse_predict(self, joins: bool) -> PredictSource:
        p = t.cast(t.Any, self)
        start = p._curr
        p._advance(2)  # PREDICT (
        args: dict[str, t.Any] = {}
        seen: list[str] = []
        while True:
            key = (p._curr.text.upper() if p._curr else "")
            if key not in PREDICT_ARGS:
                p.raise_error(
                    "PREDICT: expected MODEL =, DATA = or RUNTIME = "
                    f"but found '{p._curr.text if p._curr else 'end of text'}'"
                )
            if key in seen:
                p.raise_error(f"PREDICT: argument {key} is given twice")
            if seen and PREDICT_ARGS.index(seen[-1]) > PREDICT_ARGS.index(key):
                p.raise_error(
                    f"PREDICT: argument {key} is out of order; write MODEL, DATA, RUNTIME in that order"
                )
            seen.append(key)
            p._advance()
            if not p._match(TokenType.EQ):
                p.raise_error(f"PREDICT: expected '=' after {key}")
            if key == "MODEL":
                args["model"] = self._parse_hex_model() or p._parse_bitwise()
                if args["model"] is None:
                    p.raise_error("PREDICT: MODEL = needs a value (@variable, ?, (SELECT ...) or 0x...)")
            elif key == "DATA":
                args["data"] = super()._parse_table()  # type: ignore[misc]
                if args["data"] is None:
                    p.raise_error("PREDICT: DATA = needs a table, view, CTE, (SELECT ...) or table function")
            else:
                runtime = p._curr
                p._advance()
                if runtime is None or runtime.text.upper() != "ONNX":
                    p.raise_error(
                        f"PREDICT: RUNTIME = {runtime.text if runtime else ''} is not supported; "
                        "sqlpredict runs RUNTIME = ONNX (or leave RUNTIME out)",
                        runtime,
                    )
                args["runtime"] = exp.var("ONNX")
            if not p._match(TokenType.COMMA):
                break
        for needed in ("MODEL", "DATA"):
            if needed not in seen:
                p.raise_error(f"PREDICT: argument {needed} is missing", start)
        if not p._match(TokenType.R_PAREN):
            p.raise_error("PREDICT: expected ')' to close the argument list")
        if p._match(TokenType.WITH):
            if not p._match(TokenType.L_PAREN, advance=False):
                p.raise_error("PREDICT: WITH must be followed by (column type, ...)")
            args["columns"] = p._parse_wrapped_csv(p._parse_field_def)
        alias = p._parse_table_alias()
        if alias:
            args["alias"] = alias
        node = PredictSource(**args)
        if joins:
            for join in p._parse_joins():
                node.append("joins", join)
        return node


BULK_READERS = {"SINGLE_BLOB": "read_blob", "SINGLE_CLOB": "read_text", "SINGLE_NCLOB": "read_text"}


class OpenRowsetMixin:
    """`OPENROWSET(BULK 'path', SINGLE_BLOB) AS f` is DuckDB's read_blob, with BulkColumn."""

    def _parse_table(self, *args: t.Any, **kwargs: t.Any) -> exp.Expression | None:
        curr, nxt = self._curr, self._next  # type: ignore[attr-defined]
        if curr is not None and nxt is not None and curr.text.upper() == "OPENROWSET" \
                and nxt.token_type == TokenType.L_PAREN:
            return self._parse_openrowset()
        return super()._parse_table(*args, **kwargs)  # type: ignore[misc]

    def _parse_openrowset(self) -> exp.Expression:
        p = t.cast(t.Any, self)
        p._advance(2)
        if not p._match_text_seq("BULK"):
            p.raise_error("OPENROWSET: only OPENROWSET(BULK 'path', SINGLE_BLOB) is supported")
        path = p._parse_string()
        if isinstance(path, exp.National):  # N'path': the same path, as Unicode text
            path = exp.Literal.string(path.name)
        if not isinstance(path, exp.Literal) or not p._match(TokenType.COMMA):
            p.raise_error("OPENROWSET(BULK ...) needs a quoted file path and SINGLE_BLOB, SINGLE_CLOB or SINGLE_NCLOB")
        option = p._curr.text.upper() if p._curr else ""
        if option not in BULK_READERS:
            p.raise_error(f"OPENROWSET(BULK ...): {option or 'the option'} is not supported; use SINGLE_BLOB")
        p._advance()
        if not p._match(TokenType.R_PAREN):
            p.raise_error("OPENROWSET: expected ')'")
        alias = p._parse_table_alias()
        reader = exp.Anonymous(this=BULK_READERS[option], expressions=[path])
        body = exp.select(exp.alias_(exp.column("content"), "BulkColumn")).from_(reader)
        node = exp.Subquery(this=body, alias=alias or exp.TableAlias(this=exp.to_identifier("f")))
        node.meta["bulk_path"] = path.name
        return node


COMPOUND_ASSIGNMENTS: dict[TokenType, type[exp.Binary]] = {
    TokenType.PLUS: exp.Add, TokenType.DASH: exp.Sub, TokenType.STAR: exp.Mul, TokenType.SLASH: exp.Div,
    TokenType.MOD: exp.Mod, TokenType.AMP: exp.BitwiseAnd, TokenType.PIPE: exp.BitwiseOr,
    TokenType.CARET: exp.BitwiseXor,
}


class CompoundAssignmentMixin:
    """`SET @v += x` (and -=, *=, /=, %=, &=, |=, ^=) is `SET @v = @v + (x)`, as T-SQL defines it."""

    def _parse_set_item_assignment(self, kind: str | None = None) -> exp.Expression | None:
        p = t.cast(t.Any, self)
        index = p._index
        if kind is None and p._match(TokenType.PARAMETER):
            target = p._parse_parameter()
            op, eq = p._curr, p._next
            if op is not None and eq is not None and op.token_type in COMPOUND_ASSIGNMENTS \
                    and eq.token_type == TokenType.EQ and eq.start == op.end + 1:
                p._advance(2)
                value = p._parse_assignment()
                if value is None:
                    p.raise_error(f"SET @{target.name} {op.text}= needs a value after it")
                combined = COMPOUND_ASSIGNMENTS[op.token_type](this=target.copy(), expression=exp.paren(value))
                if isinstance(combined, exp.Div):
                    combined.set("typed", p.dialect.TYPED_DIVISION)
                return p.expression(exp.SetItem(this=exp.EQ(this=target, expression=combined)))
            p._retreat(index)
        return super()._parse_set_item_assignment(kind)  # type: ignore[misc]


class SetOptionListMixin:
    """`SET ANSI_NULLS, QUOTED_IDENTIFIER ON`, as SSMS scripts write it: one SET item per option, each ON or OFF.

    T-SQL gives every option of the list the value after the last one; sqlglot would read the first
    option as an assignment with no value. The items are those of the separate SETs, so each option
    is accepted or refused as it is on its own.
    """

    # SET STATISTICS IO, TIME ON: what SQL Server reports after each statement; sqlpredict reports none.
    STATISTICS_KINDS = {"IO", "TIME", "PROFILE", "XML"}

    def _parse_set(self, unset: bool = False, tag: bool = False) -> exp.Expression:
        p = t.cast(t.Any, self)
        index = p._index
        statistics = p._curr is not None and p._curr.text.upper() == "STATISTICS"
        if statistics:
            p._advance()
        names = [p._parse_id_var(any_token=False)]
        while names[-1] is not None and p._match(TokenType.COMMA):
            names.append(p._parse_id_var(any_token=False))
        value = p._curr
        on_off = all(names) and value is not None and value.text.upper() in ("ON", "OFF") and not p._next
        if statistics and on_off and all(n.name.upper() in self.STATISTICS_KINDS for n in names):
            p._advance()
            item = exp.SetItem(this=exp.EQ(this=exp.column("STATISTICS"), expression=exp.var(value.text)))
            return p.expression(exp.Set(expressions=[p.expression(item)], unset=unset, tag=tag))
        if not statistics and len(names) > 1 and on_off:
            p._advance()
            items = [p.expression(exp.SetItem(this=exp.EQ(this=exp.column(name), expression=exp.var(value.text))))
                     for name in names]
            return p.expression(exp.Set(expressions=items, unset=unset, tag=tag))
        p._retreat(index)
        return super()._parse_set(unset=unset, tag=tag)  # type: ignore[misc]


class TSQLDeleteMixin:
    """T-SQL's DELETE [TOP (n) [PERCENT]] [FROM] target [OUTPUT ...] [FROM source] [WHERE ...].

    sqlglot reads OUTPUT only before the target's FROM or after WHERE, and TOP as a table name.
    The tree is the one sqlglot builds for the forms it reads: `this` is the target, or, with a
    FROM source, `tables` holds the target and `this` the source (tsql_dml finds the target there).
    TOP is kept as the DELETE's `limit`, which tsql_dml turns into the rows to delete.
    """

    def _parse_delete(self) -> exp.Delete:
        p = t.cast(t.Any, self)
        hint = p._parse_hint()
        top = p._parse_limit(top=True)
        if isinstance(top, exp.Limit) and isinstance(top.args.get("limit_options"), exp.LimitOptions) \
                and top.args["limit_options"].args.get("with_ties"):
            p.raise_error("DELETE TOP (n) takes no WITH TIES; write DELETE TOP (n) [PERCENT] FROM ...")
        p._match(TokenType.FROM)
        target = p._parse_table()
        if target is None:
            p.raise_error("DELETE needs the table to delete from: DELETE FROM <table> ...")
        returning = p._parse_returning()
        source = p._parse_table(joins=True) if p._match(TokenType.FROM) else None
        where = p._parse_where()
        if source is not None:
            node = exp.Delete(hint=hint, tables=[target], this=source, where=where, returning=returning, limit=top)
        else:
            node = exp.Delete(hint=hint, this=target, where=where, returning=returning, limit=top)
        return p.expression(node)


class TSQLKeysMixin:
    """Keys and tables as SSMS scripts them: `[CONSTRAINT pk] PRIMARY KEY | UNIQUE [CLUSTERED | NONCLUSTERED]
    [(c ASC, ...)] [WITH (PAD_INDEX = OFF, ...)] [ON [PRIMARY]]`, and `) ON [PRIMARY] TEXTIMAGE_ON [PRIMARY]`.

    The index kind, the key's sort order, its options and the filegroups only say how SQL Server
    stores the key (DuckDB has one kind of index, unordered keys and no filegroups): they are read
    and left out of the tree. sqlglot would read CLUSTERED as a constraint of its own, leaving the
    key without its columns, and would not read `UNIQUE (c DESC)` or TEXTIMAGE_ON at all.
    """

    STORAGE_KINDS = ("CLUSTERED", "NONCLUSTERED")

    def _parse_primary_key(self, *args: t.Any, **kwargs: t.Any) -> exp.Expression:
        p = t.cast(t.Any, self)
        p._match_texts(self.STORAGE_KINDS)
        node = super()._parse_primary_key(*args, **kwargs)  # type: ignore[misc]
        if isinstance(node, exp.PrimaryKey):
            node.set("expressions", [_unordered(e) for e in node.expressions])
            node.set("include", None)  # WITH (...) and ON [PRIMARY], read as index parameters
            node.set("options", [o for o in node.args.get("options") or [] if not str(o).upper().startswith("ON ")])
        return node

    def _parse_unique(self) -> exp.Expression:
        p = t.cast(t.Any, self)
        p._match_texts(("KEY", "INDEX"))
        p._match_texts(self.STORAGE_KINDS)
        if not p._match(TokenType.L_PAREN, advance=False):
            return super()._parse_unique()  # type: ignore[misc]
        columns = [_unordered(e) for e in p._parse_wrapped_csv(p._parse_ordered)]
        p._parse_index_params()  # WITH (...) and ON [PRIMARY]
        return p.expression(exp.UniqueColumnConstraint(this=exp.Schema(expressions=columns)))


def _unordered(node: exp.Expression) -> exp.Expression:
    """A key column without the ASC/DESC that orders SQL Server's index of it."""
    return node.this if isinstance(node, exp.Ordered) else node


class TSQLTypesMixin:
    """T-SQL type names keep their T-SQL meaning (see spec section 1)."""

    def _parse_types(self, *args: t.Any, **kwargs: t.Any) -> exp.Expression | None:
        node = super()._parse_types(*args, **kwargs)  # type: ignore[misc]
        if not isinstance(node, exp.DataType):
            return node
        node = tsql_type_meaning(node)
        return self._parse_fixed_array(node)

    def _parse_fixed_array(self, node: exp.DataType) -> exp.DataType:
        """`REAL[3]` (beyond T-SQL): the tokenizer reads `[3]` as a bracketed name."""
        curr = self._curr  # type: ignore[attr-defined]
        if curr is None or curr.token_type != TokenType.IDENTIFIER or not curr.text.isdigit():
            return node
        self._advance()  # type: ignore[attr-defined]
        return exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[node],
                            values=[exp.Literal.number(int(curr.text))], nested=True)


def _params(dtype: exp.DataType) -> list[str]:
    return [p.name.upper() for p in dtype.expressions]


def tsql_type_meaning(dtype: exp.DataType) -> exp.DataType:
    """Map a parsed T-SQL type to the DuckDB type with the same meaning."""
    T = exp.DataType.Type
    kind = dtype.this
    params = _params(dtype)
    if kind == T.DOUBLE and params:  # FLOAT(n): n <= 24 is 4-byte REAL
        n = int(params[0]) if params[0].isdigit() else 53
        return exp.DataType.build("FLOAT" if n <= 24 else "DOUBLE")
    if kind in (T.VARBINARY, T.BINARY, T.IMAGE):
        return exp.DataType.build("BLOB")
    if kind in (T.VARCHAR, T.NVARCHAR, T.CHAR, T.NCHAR, T.TEXT):  # DuckDB ignores n; CASTs keep it in meta
        return sized(exp.DataType.build("VARCHAR"), character_length(dtype))
    if kind == T.DATETIME2 and (not params or not params[0].isdigit() or int(params[0]) > 6):
        return exp.DataType(this=exp.DataType.Type.TIMESTAMP_NS)  # DATETIME2 defaults to 7 digits: 100 ns
    if kind == T.DATETIME:  # 1/300 s, written with 3 digits
        return with_fraction(exp.DataType.build("TIMESTAMP"), 3)
    if kind == T.DATETIME2:
        return with_fraction(exp.DataType.build("TIMESTAMP"), int(params[0]) if params else 7)
    if kind == T.SMALLDATETIME:
        return exp.DataType.build("TIMESTAMP")
    if kind in (T.TIME,) and params:
        return exp.DataType.build("TIME")
    if kind == T.MONEY:
        return exp.DataType.build("DECIMAL(19, 4)")
    if kind == T.SMALLMONEY:
        return exp.DataType.build("DECIMAL(10, 4)")
    if kind == T.DECIMAL and not params:  # T-SQL's default precision and scale
        return exp.DataType.build("DECIMAL(18, 0)")
    if kind == T.ROWVERSION:
        return exp.DataType.build("BLOB")
    return dtype


def predictsource_sql(gen: t.Any, node: PredictSource) -> str:
    """Print PREDICT back as text (error messages, stored views)."""
    parts = [f"MODEL = {gen.sql(node, 'model')}", f"DATA = {gen.sql(node, 'data')}"]
    if node.args.get("runtime"):
        parts.append("RUNTIME = ONNX")
    text = f"PREDICT({', '.join(parts)})"
    if node.args.get("columns"):
        text += f" WITH ({gen.expressions(node, key='columns', flat=True)})"
    alias = gen.sql(node, "alias")
    if alias:
        text += f" AS {alias}"
    joins = gen.expressions(node, key="joins", sep="", flat=True)
    return text + (" " + joins.strip() if joins else "")


def placeholder_sql(gen: t.Any, node: exp.Placeholder) -> str:
    """`?` parameters are renumbered `$n` so PREDICT can consume some of them."""
    if "dollar" in node.meta:
        return f"${node.meta['dollar']}"
    return "?"


class TSQL(_TSQL):
    class Tokenizer(_TSQL.Tokenizer):
        KEYWORDS = {
            **_TSQL.Tokenizer.KEYWORDS,
            "FLOAT": TokenType.DOUBLE,
            "REAL": TokenType.FLOAT,
            "BIT": TokenType.BOOLEAN,
            "TINYINT": TokenType.UTINYINT,
        }

        def tokenize(self, sql: str) -> list[Token]:
            """`0x` alone is T-SQL's empty binary constant; sqlglot reads it as the identifier "0x"."""
            tokens = super().tokenize(sql)
            for i, token in enumerate(tokens):
                if token.token_type == TokenType.IDENTIFIER and token.text.upper() == "0X" \
                        and sql[token.start] == "0":
                    tokens[i] = Token(TokenType.HEX_STRING, "", token.line, token.col, token.start, token.end,
                                      token.comments)
            return tokens

    class Parser(PredictParserMixin, OpenRowsetMixin, TSQLTypesMixin, CompoundAssignmentMixin, SetOptionListMixin,
                 TSQLDeleteMixin, TSQLKeysMixin, _TSQL.Parser):
        # T-SQL's five isolation levels: sqlglot's own table spells READ UNCOMMITTED "UNCOMITTED"
        # and lacks SNAPSHOT, so SET TRANSACTION ISOLATION LEVEL with either would not parse.
        # `) TEXTIMAGE_ON [PRIMARY]`: where SQL Server keeps a table's large values; DuckDB has no filegroups.
        PROPERTY_PARSERS = {
            **_TSQL.Parser.PROPERTY_PARSERS,
            "TEXTIMAGE_ON": lambda self: self.expression(exp.OnProperty(this=self._parse_id_var())),
        }
        TRANSACTION_CHARACTERISTICS = {
            **_TSQL.Parser.TRANSACTION_CHARACTERISTICS,
            "ISOLATION": (
                ("LEVEL", "READ", "UNCOMMITTED"),
                ("LEVEL", "READ", "COMMITTED"),
                ("LEVEL", "REPEATABLE", "READ"),
                ("LEVEL", "SNAPSHOT"),
                ("LEVEL", "SERIALIZABLE"),
            ),
        }

    class Generator(_TSQL.Generator):
        TRANSFORMS = {**_TSQL.Generator.TRANSFORMS, PredictSource: predictsource_sql}


class DuckDB(_DuckDB):
    class Tokenizer(_DuckDB.Tokenizer):
        # `?::VARCHAR` is DuckDB's cast of a `?` marker; sqlglot reads `?::` as one token,
        # Databricks' try-cast operator, and then finds no value before it.
        KEYWORDS = {text: kind for text, kind in _DuckDB.Tokenizer.KEYWORDS.items() if text != "?::"}

    class Parser(PredictParserMixin, _DuckDB.Parser):
        pass

    class Generator(_DuckDB.Generator):
        TRANSFORMS = {
            **_DuckDB.Generator.TRANSFORMS,
            PredictSource: predictsource_sql,
            exp.Placeholder: placeholder_sql,
        }

        def div_sql(self, expression: exp.Div) -> str:
            """T-SQL's `/` (typed: integers divide as integers, truncating) is DuckDB's `//`.

            DuckDB's `//` divides integers as integers and every other number as `/`
            does, so the operand types need not be known here.
            """
            if expression.args.get("typed"):
                return self.binary(expression, "//")
            return super().div_sql(expression)

        def join_sql(self, expression: exp.Join) -> str:
            """T-SQL's CROSS APPLY is DuckDB's CROSS JOIN LATERAL, OUTER APPLY its LEFT JOIN LATERAL ... ON TRUE.

            sqlglot writes either as `INNER|LEFT JOIN LATERAL (...)` with no ON, which DuckDB cannot read.
            """
            lateral = expression.this
            if not isinstance(lateral, exp.Lateral) or lateral.args.get("cross_apply") is None:
                return super().join_sql(expression)
            join = expression.copy()
            cross = join.this.args["cross_apply"]
            join.this.set("cross_apply", None)
            if cross:
                join.set("kind", "CROSS")
            else:
                join.set("side", "LEFT")
                join.set("on", exp.true())
            return super().join_sql(join)


DIALECTS: dict[str, type] = {"tsql": TSQL, "duckdb": DuckDB}


def get_dialect(name: str) -> t.Any:
    """The dialect instance for a connection's `dialect=` name."""
    try:
        return DIALECTS[name.lower()]()
    except KeyError:
        raise ValueError(f"dialect must be 'tsql' or 'duckdb', not {name!r}") from None


@functools.lru_cache(maxsize=512)
def _parse_cached(dialect: str, sql: str) -> tuple[exp.Expression | None, ...]:
    return tuple(get_dialect(dialect).parse(sql))


# sqlglot logs a warning before it falls back to an opaque Command; sqlpredict reports those itself.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def parse(dialect: str, sql: str) -> list[exp.Expression]:
    """Parse SQL text, reusing the trees of text seen before (a short query's parse is most of its cost).

    Callers get their own copies, which they may change.
    """
    return [tree.copy() for tree in _parse_cached(dialect, sql) if tree is not None]


def to_duckdb(node: exp.Expression, copy: bool = True) -> str:
    """Generate DuckDB SQL; identifiers are quoted by sqlglot, never by hand.

    sqlglot's generator may rewrite the tree it is given, so it copies it
    first; `copy=False` skips that for a tree that is not used again.
    """
    return DuckDB().generate(node, copy=copy, identify=False)


def mixes_markers(sql: str) -> bool:
    """Whether one statement of DuckDB SQL uses both `?` and `$n` markers (strings and comments
    are not read for them). Text the tokenizer cannot read is left to DuckDB to report."""
    try:
        tokens = DuckDB().tokenize(sql)
    except TokenError:
        return False
    kinds: set[str] = set()
    for token, after in zip(tokens, [*tokens[1:], None]):
        if token.token_type == TokenType.SEMICOLON:
            kinds = set()
        elif token.token_type == TokenType.PLACEHOLDER:
            kinds.add("?")
        elif token.token_type == TokenType.PARAMETER and after is not None and after.token_type == TokenType.NUMBER \
                and after.start == token.end + 1:
            kinds.add("$")
        if len(kinds) == 2:
            return True
    return False


def named_marker(sql: str) -> str | None:
    """The first named `$name` marker of DuckDB SQL (strings and comments are not read for it)."""
    try:
        tokens = DuckDB().tokenize(sql)
    except TokenError:
        return None
    for token, after in zip(tokens, tokens[1:]):
        if token.token_type == TokenType.PARAMETER and after.start == token.end + 1 \
                and after.token_type != TokenType.NUMBER:
            return after.text
    return None


def quote_identifier(name: str, dialect: t.Any) -> str:
    """An identifier as the given dialect writes it (for error messages and fixes).

    A keyword (`select`, `order`) is quoted too, so that a fix written with it can be run as it is.
    """
    reserved = name.upper() in dialect.tokenizer_class.KEYWORDS
    return exp.to_identifier(name, quoted=True if reserved else None).sql(dialect=dialect)
