"""Planning a statement: every PREDICT becomes a scored Arrow stream.

DuckDB's Python API has no table functions written in Python, so PREDICT is
planned outside DuckDB and executed inside it:

1. MODEL is evaluated to bytes (parameter, hex literal, scalar subquery, variable).
2. DATA becomes a query of its own, `SELECT * FROM <source> [WHERE <pushed filters>]`,
   described by DuckDB to learn column names and types, and bound to the model.
3. That query is streamed as Arrow record batches through the scorer, and the
   scored stream is registered on the connection under a private name.
4. PREDICT in the statement is replaced by that name; `d.` and `p.` references
   are rewritten to it, and the statement runs on the user's connection.

Where the stream reads DATA from is decided in `stream.py`.
"""

from __future__ import annotations

import itertools
import os
import re
import typing as t
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
from sqlglot import exp

from . import engine_calls
from .binding import Binding, bind
from .dialects import PredictSource, to_duckdb
from .errors import DataError, Error, NotSupportedError, ProgrammingError, from_duckdb
from .pushdown import enclosing_filters, pushable_filters
from .sessions import CompiledModel, SessionCache
from .stream import DEFAULT_BATCH_SIZE, PredictStream, SessionStatements, StaticRelation
from .tsql_casts import adapt_conversions
from .tsql_dates import adapt_dates
from .tsql_dml import adapt_dml_targets
from .tsql_ddl import adapt_ddl
from .tsql_numbers import adapt_integer_results, catalog_types
from .tsql_strings import adapt_strings
from .values import changed_by_arrow

STREAM_PREFIX = "__sqlpredict_stream_"
_names = itertools.count(1)


@dataclass
class PlanContext:
    """What planning needs from the connection."""

    con: duckdb.DuckDBPyConnection
    dialect: str
    params: t.Sequence[t.Any]
    cache: SessionCache
    providers: tuple[str, ...]
    null_inputs: str = "propagate"
    batch_size: int = DEFAULT_BATCH_SIZE
    threads: int | None = None
    progress: t.Callable[[int], None] | None = None
    can_stream: bool = True  # False while the transaction holds uncommitted writes
    is_temp: t.Callable[[str], bool] = lambda name: False  # a temporary table or view of the connection
    is_temp_function: t.Callable[[str], bool] = lambda name: False  # a temporary macro of the connection
    collation: str | None = None  # the session's default collation, which DATA read elsewhere must share
    settings: SessionStatements = ()  # statements giving DATA read elsewhere the user's session
    # Set when planning read something besides DATA's columns that can change under the statement's text:
    # the types of the tables a T-SQL statement names, or a file OPENROWSET(BULK ...) reads.
    read_outside: bool = False


@dataclass(frozen=True)
class StreamRecipe:
    """One PREDICT's plan: what makes its stream, and what the plan was made from.

    plans.py makes the stream again from it, for the same statement with new
    values, once it has checked that what the plan was made from still holds.
    """

    name: str
    data: tuple[str, tuple[int, ...]]  # DATA's query as the stream reads it: SQL, the indexes of its values
    binding: Binding
    output_columns: tuple[str, ...]
    passed_columns: tuple[str, ...] | None
    own_names: tuple[tuple[str, str], ...]
    lossless: bool
    # What it was made from:
    model_index: int | None  # MODEL is this parameter (None: a literal or a query, evaluated each time)
    digest: str  # and was this model: the binding is the model's
    described: tuple[str, tuple[int, ...]]  # DATA's query as described (SQL, the indexes of its values),
    columns: tuple[tuple[str, str], ...]  # and the columns it had: names, DuckDB types
    maybe_temp: tuple[str, ...] | None  # see tables_maybe_temp
    calls: tuple[str, ...]  # the functions DATA's query calls that sqlglot does not know: macros, perhaps temporary

    def streams_from_sibling(self, ctx: PlanContext) -> bool:
        """Whether DATA can be read on a sibling connection, as the stream module says: it cannot see the
        user's temporary tables, views and macros."""
        return ctx.can_stream and self.maybe_temp is not None and not any(ctx.is_temp(n) for n in self.maybe_temp) \
            and not any(ctx.is_temp_function(n) for n in self.calls)

    def make(self, compiled: CompiledModel, ctx: PlanContext) -> PredictStream:
        """The stream, opened: DATA is being read."""
        stream = PredictStream(
            name=self.name,
            data_sql=self.data[0],
            data_params=[ctx.params[i] for i in self.data[1]],
            compiled=compiled,
            binding=self.binding,
            output_columns=list(self.output_columns),
            passed_columns=None if self.passed_columns is None else list(self.passed_columns),
            null_inputs=ctx.null_inputs,
            batch_size=ctx.batch_size,
            progress=ctx.progress,
            own_names=dict(self.own_names),
            lossless=self.lossless,
        )
        stream.recipe = self
        stream.open(ctx.con, streaming=self.streams_from_sibling(ctx), collation=ctx.collation,
                    settings=ctx.settings)
        return stream


@dataclass
class PreparedStatement:
    """A statement ready to run on the user's connection."""

    node: exp.Expression
    sql: str
    params: list[t.Any]
    streams: list[PredictStream | StaticRelation]
    # DuckDB source-registry handles the statement reads its streams through (see `_expose`); empty
    # where the connection registers the streams as views under their own names instead.
    sources: list[t.Any] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)  # each value's index in the statement's parameters
    read_outside: bool = False  # see PlanContext: the plan cannot be kept (plans.py)

    def in_own_names(self, error: Error) -> Error:
        """DuckDB's error about the rewritten statement, with the names the statement itself wrote
        in place of the private names of streams and renamed outputs. The caret (^^^) under
        DuckDB's quote of the text is left out: it no longer points at the name."""
        text = str(error)
        names = {private: own for stream in self.streams for private, own in stream.own_names.items()}
        for private, own in names.items():
            text = re.sub(rf"\b{re.escape(private)}\b", own, text)
        text = _CUT_NAME.sub(lambda cut: _whole_name(cut, names), text)
        if text == str(error):
            return error
        return type(error)(_CARET.sub("", text))


_CARET = re.compile(r"\n[ \t]*\^+[ \t]*(?=\n|$)")
# DuckDB quotes a long line of the statement cut short with "...", which can cut a private name.
_CUT_NAME = re.compile(r"\b(__\w+)\.\.\.")


def _whole_name(cut: re.Match, names: dict[str, str]) -> str:
    """A private name cut short, as the statement's own name where only one private name begins so."""
    owners = {own for private, own in names.items() if private.startswith(cut.group(1))}
    return f"{owners.pop()}..." if len(owners) == 1 else cut.group(0)


def placeholders(node: exp.Expression) -> list[exp.Placeholder]:
    return [p for p in node.find_all(exp.Placeholder) if "index" in p.meta]


def number_markers(tree: exp.Expression, offset: int) -> int:
    """Give each marker of a DuckDB-dialect statement the index of its value; how many values it takes.

    The statement takes the values after the `offset` that earlier statements took. Its `?` take
    them in order; DuckDB's `$n` takes the n-th, each time it appears, so the statement takes as
    many as its highest n. As in DuckDB, no number may be left out. DuckDB 2.0 gives a `?` the
    number after the highest `$n` before it (so in `?, $1` both are the first value); here one
    statement may not use both, as that is more often a slip than meant.
    """
    plain: list[exp.Placeholder] = []  # `?`: the parser gave each its index, in order
    numbered: list[tuple[int, exp.Placeholder]] = []
    for ph in tree.find_all(exp.Placeholder):
        if "index" in ph.meta:
            plain.append(ph)
            continue
        name = ph.this.name if isinstance(ph.this, exp.Expression) else ph.this
        if name is None:
            continue
        if not str(name).isdigit():
            raise named_marker_error(str(name))
        if int(name) < 1:
            raise ProgrammingError(f"parameter ${name}: numbered parameters start at $1")
        numbered.append((int(name), ph))
    if plain and numbered:
        raise mixed_markers_error()
    plain.sort(key=lambda ph: ph.meta["index"])
    for position, ph in enumerate(plain):
        ph.meta["index"] = offset + position
    if not numbered:
        return len(plain)
    used = {number for number, _ in numbered}
    missing = sorted(set(range(1, max(used) + 1)) - used)
    if missing:
        raise ProgrammingError(
            f"the statement uses ${max(used)} but not ${missing[0]}: numbered parameters "
            f"are $1 to ${max(used)}, each used at least once, with as many values"
        )
    for number, ph in numbered:
        ph.meta["index"] = offset + number - 1
    return max(used)


def named_marker_error(name: str) -> ProgrammingError:
    return ProgrammingError(
        f"the named parameter ${name} is not supported: parameters are a list of values; "
        f"write $1, $2, ... for their positions, or ?"
    )


def mixed_markers_error() -> ProgrammingError:
    return ProgrammingError(
        "the statement uses both ? and $n parameter markers: use one kind in a statement, "
        "? for each value in turn or $1, $2, ... for the values by position"
    )


def render(node: exp.Expression, params: t.Sequence[t.Any], last_use: bool = False) -> tuple[str, list[t.Any]]:
    """DuckDB SQL for a tree, with its markers renumbered `$n` and their values in order.

    A value used twice (`$1` written twice) is passed once, as DuckDB's own `$1` is one parameter.
    Values are always passed to DuckDB as parameters, never spliced into text.
    With `last_use`, the tree is not copied first (the generator may change it).
    """
    sql, indexes = render_indexed(node, last_use)
    return sql, [params[index] for index in indexes]


def render_indexed(node: exp.Expression, last_use: bool = False) -> tuple[str, list[int]]:
    """`render` without the values: the SQL and, for each of its `$n`, the index of its value."""
    indexes: list[int] = []
    numbers: dict[int, int] = {}
    for ph in placeholders(node):
        index = ph.meta["index"]
        if index not in numbers:
            numbers[index] = len(numbers) + 1
            indexes.append(index)
        ph.meta["dollar"] = numbers[index]
    return to_duckdb(node, copy=not last_use), indexes


def prepare(statement: exp.Expression, ctx: PlanContext) -> PreparedStatement:
    """Plan every PREDICT in a statement, innermost first; the tree is changed in place (callers own it)."""
    if ctx.dialect == "tsql":  # the connection has already adapted the T-SQL (adapt_tsql), views' bodies too
        ctx.read_outside = check_bulk_files(statement)
    if statement.find(exp.Predict) is not None:  # PREDICT(...) where a value goes: sqlglot reads BigQuery's
        raise ProgrammingError("PREDICT: PREDICT is a table source, not a function: write it in FROM, as in "
                               "SELECT d.*, p.score FROM PREDICT(MODEL = @model, DATA = t AS d) WITH (score FLOAT) "
                               "AS p")
    streams: list[PredictStream | StaticRelation] = []
    try:
        for table in list(statement.find_all(exp.Table)):
            if isinstance(table.this, exp.Anonymous) and table.this.name.lower() == "describe_model":
                streams.append(plan_describe_model(table, ctx))
        while True:
            found = list(statement.find_all(PredictSource))
            if not found:
                break
            ready = [n for n in found if _reads_no_predict(n)] or found
            innermost = max(ready, key=lambda n: _depth(n))
            streams.append(plan_predict(innermost, ctx, {s.name: s for s in streams}))
        if reads_streams_twice(statement):
            for stream in streams:
                stream.materialise()
        if ctx.dialect == "tsql":
            registered = {s.name: s.schema if isinstance(s, PredictStream) else s.table.schema for s in streams}
            adapt_integer_results(statement, lambda tables: _catalog_types(ctx, tables, registered))
        sources = _expose(statement, streams, ctx.con)
        sql, indexes = render_indexed(statement, last_use=True)
    except BaseException:
        for stream in streams:
            stream.close()
            unregister(ctx.con, stream)
        raise
    return PreparedStatement(statement, sql, [ctx.params[i] for i in indexes], streams, sources, indexes,
                             ctx.read_outside)


def _catalog_types(ctx: PlanContext, tables: set[str], registered: dict[str, pa.Schema]) -> dict[str, dict[str, str]]:
    """tsql_numbers.catalog_types, noted in the context: the plan now depends on those tables' types."""
    ctx.read_outside = True
    return catalog_types(ctx.con, tables, registered)


def _expose(statement: exp.Expression, streams: list[PredictStream | StaticRelation],
            con: duckdb.DuckDBPyConnection) -> list[t.Any]:
    """Each stream under a name from DuckDB's source registry (engine_calls.register_source),
    renamed so in the statement; the handles keep the names. An empty list: the DuckDB
    has no registry, and the connection registers the streams as views by their own names.
    """
    sources, names = [], {}
    for stream in streams:
        handle = source_handle(con, stream)
        if handle is None:
            return []  # the same for every stream: the registry is the connection's
        sources.append(handle)
        names[stream.name] = handle.name
    for table in statement.find_all(exp.Table):
        if isinstance(table.this, exp.Identifier) and not table.db and table.name in names:
            table.set("this", exp.to_identifier(names[table.name]))
    return sources


def source_handle(con: duckdb.DuckDBPyConnection, stream: PredictStream | StaticRelation) -> t.Any | None:
    """The stream in DuckDB's source registry: a handle whose name statements read it by, which error
    messages give back as the stream's own name. None: the DuckDB has no registry."""
    handle = engine_calls.register_source(con, stream.relation())
    if handle is not None:
        stream.own_names[handle.name] = stream.own_names.get(stream.name, stream.name)
    return handle


def register(con: duckdb.DuckDBPyConnection, stream: PredictStream | StaticRelation) -> None:
    """The stream as a view under its own name, for DATA that reads it (and where `_expose` cannot)."""
    con.register(stream.name, stream.relation())
    stream.registered = True


def unregister(con: duckdb.DuckDBPyConnection, stream: PredictStream | StaticRelation) -> None:
    """Drop the stream's view, if `register` made one (dropping a missing one costs as much as a drop)."""
    if stream.registered:
        stream.registered = False
        try:
            con.unregister(stream.name)
        except duckdb.Error:
            pass


def _reads_no_predict(node: PredictSource) -> bool:
    """Whether MODEL, DATA and the CTEs DATA reads hold no PREDICT still to plan: those go first."""
    data = node.args["data"]
    parts = [node.args["model"], data, *_ctes_read(data, _visible_ctes(node))]
    return not any(part.find(PredictSource) for part in parts)


def _depth(node: exp.Expression) -> int:
    depth = 0
    while node.parent is not None:
        node, depth = node.parent, depth + 1
    return depth


_STRING_FUNCTIONS = {"CONCAT", "UPPER", "LOWER", "LEFT", "RIGHT", "SUBSTRING", "REPLACE", "LTRIM", "RTRIM",
                     "TRIM", "FORMAT", "REPLICATE", "REVERSE", "STUFF", "CHAR", "NCHAR", "QUOTENAME"}


def _is_text(node: exp.Expression) -> bool:
    """Whether T-SQL's `+` on this operand means string concatenation (judged from the SQL alone)."""
    if isinstance(node, (exp.National, exp.DPipe, exp.Concat)) or (isinstance(node, exp.Literal) and node.is_string):
        return True
    if isinstance(node, (exp.Cast, exp.TryCast)):
        return node.to.is_type(*exp.DataType.TEXT_TYPES)
    if isinstance(node, exp.Convert):
        return isinstance(node.this, exp.DataType) and node.this.is_type(*exp.DataType.TEXT_TYPES)
    if isinstance(node, exp.Paren):
        return _is_text(node.this)
    if isinstance(node, exp.Anonymous):
        return node.name.upper() in _STRING_FUNCTIONS
    return isinstance(node, exp.Func) and node.sql_name().upper() in _STRING_FUNCTIONS


def adapt_tsql(statement: exp.Expression) -> bool:
    """What T-SQL means, said so DuckDB runs it.

    Names: `dbo` is `main`, any database name is this one (three-part names),
    and `#t` stays `#t` (sqlglot drops the `#` and marks the identifier
    temporary) so it cannot meet a table `t`. SET targets in UPDATE and MERGE
    may be qualified in T-SQL (`SET tgt.score = ...`), not in DuckDB. GETDATE()
    and SYSDATETIME() are local date-times without a time zone. `'a' + x`
    concatenates; CONVERT raises on a bad value as CAST does (only TRY_CONVERT
    gives NULL). Index and ALTER TABLE statements lose what only SQL Server's storage reads
    (`tsql_ddl.py`). Returns whether a database name was dropped.
    """
    dropped_database = False
    adapt_ddl(statement)
    for ident in statement.find_all(exp.Identifier):
        if ident.args.get("temporary"):
            ident.set("this", "#" + ident.name)
            ident.set("temporary", None)
            ident.set("quoted", True)
    for node in list(statement.find_all(exp.Table, exp.Column)):
        db = node.args.get("db")
        if isinstance(db, exp.Identifier) and db.name.lower() == "dbo":
            node.set("db", None)
        if isinstance(node, exp.Table) and node.args.get("catalog") is not None:
            node.set("catalog", None)
            dropped_database = True
    adapt_dml_targets(statement)
    for update in list(statement.find_all(exp.Update)):
        for assignment in update.expressions:
            if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column):
                assignment.this.set("table", None)
    for now in list(statement.find_all(exp.CurrentTimestamp)):
        now.replace(exp.Anonymous(this="current_localtimestamp", expressions=[]))
    for convert in list(statement.find_all(exp.Convert)):
        if not convert.args.get("safe") and convert.args.get("style") is None:
            convert.replace(exp.Cast(this=convert.expression, to=convert.this))
    adapt_conversions(statement)
    adapt_strings(statement)
    adapt_dates(statement)
    for add in reversed(list(statement.find_all(exp.Add))):  # innermost first: 'a' + x + 'b'
        if _is_text(add.this) or _is_text(add.expression):
            add.replace(exp.DPipe(this=add.this, expression=add.expression, safe=True))
    for select in list(statement.find_all(exp.Select)):
        _top(select)
    return dropped_database


def _top(select: exp.Select) -> None:
    """TOP (n) WITH TIES and TOP (p) PERCENT, which DuckDB lacks or counts otherwise, as a QUALIFY.

    WITH TIES keeps the rows that rank() puts n or better: rank() is one more than the number of
    rows sorted strictly before a row, so those are the first n and every row tied with the n-th,
    what SQL Server returns. PERCENT keeps ceil(p% of the rows), as SQL Server rounds up, where
    DuckDB's LIMIT p PERCENT rounds down; without WITH TIES the rows are numbered by row_number().
    """
    limit = select.args.get("limit")
    options = limit.args.get("limit_options") if isinstance(limit, exp.Limit) else None
    if not isinstance(options, exp.LimitOptions):
        return
    ties, percent = bool(options.args.get("with_ties")), bool(options.args.get("percent"))
    if not (ties or percent):
        return
    order = select.args.get("order")
    if ties and not isinstance(order, exp.Order):
        raise ProgrammingError("The TOP N WITH TIES clause is not allowed without a corresponding ORDER BY "
                               "clause; add ORDER BY with the columns whose ties it keeps")
    clause = "TOP (n) WITH TIES" if ties else "TOP (p) PERCENT"
    if select.args.get("distinct"):  # DuckDB applies DISTINCT after QUALIFY, SQL Server's TOP after DISTINCT
        raise NotSupportedError(f"SELECT DISTINCT {clause} is outside what sqlpredict runs; select "
                                f"DISTINCT in a derived table and take {clause} from it")
    keys = [_order_key(ordered, select, clause) for ordered in order.expressions] if order else []
    number = exp.Window(this=exp.Rank() if ties else exp.RowNumber(),
                        order=exp.Order(expressions=keys) if keys else None)
    count = limit.expression.copy()
    if percent:
        count = _percent_of_rows(count)
    select.set("limit", None)
    select.set("qualify", exp.Qualify(this=exp.LTE(this=number, expression=count)))


_PERCENT_RANGE = "Percent values must be between 0 and 100"


def _percent_of_rows(percent: exp.Expression) -> exp.Expression:
    """ceil(p% of the rows): SQL Server converts p to float, refuses one outside 0..100, and rounds up."""
    rows = exp.Window(this=exp.Count(this=exp.Star()))
    count = exp.func("ceil", exp.Div(this=exp.Mul(this=exp.cast(percent.copy(), "DOUBLE"), expression=rows),
                                     expression=exp.Literal.number(100)))
    value = _constant_number(percent)
    if value is not None:
        if not 0 <= value <= 100:
            raise ProgrammingError(f"TOP ({percent.sql(dialect='tsql')}) PERCENT: {_PERCENT_RANGE}")
        return count
    # a parameter or variable: its value is known only when the statement runs
    in_range = exp.Between(this=exp.cast(percent.copy(), "DOUBLE"), low=exp.Literal.number(0),
                           high=exp.Literal.number(100))
    refused = exp.func("error", exp.Literal.string(f"TOP (p) PERCENT: {_PERCENT_RANGE}"))
    return exp.Case(ifs=[exp.If(this=in_range, true=count)], default=refused)


def _constant_number(node: exp.Expression) -> float | None:
    """The value of a number written in the statement (`50`, `(-5)`, `33.4`), or None."""
    while isinstance(node, exp.Paren):
        node = node.this
    sign = 1.0
    if isinstance(node, exp.Neg):
        sign, node = -1.0, node.this
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return sign * float(node.name)
        except ValueError:
            return None
    return None


def _order_key(ordered: exp.Ordered, select: exp.Select, clause: str) -> exp.Ordered:
    """An ORDER BY term as an expression a window can sort by: positions and select-list aliases resolved."""
    key = ordered.copy()
    term = key.this
    items = select.expressions
    if isinstance(term, exp.Literal) and term.is_int:
        position = int(term.name)
        if not 1 <= position <= len(items) or items[position - 1].is_star:
            raise NotSupportedError(f"{clause} ... ORDER BY {position}: name the column instead of "
                                    "its position in the select list")
        key.set("this", items[position - 1].unalias().copy())
    elif isinstance(term, exp.Column) and not term.table:
        for item in items:
            if isinstance(item, exp.Alias) and item.alias.lower() == term.name.lower():
                key.set("this", item.this.copy())
                break
    return key


def check_bulk_files(statement: exp.Expression) -> bool:
    """OPENROWSET(BULK 'path', ...) on a missing file is an error, not zero rows. Whether there is any."""
    paths = [node.meta["bulk_path"] for node in statement.find_all(exp.Subquery) if "bulk_path" in node.meta]
    for path in paths:
        if not os.path.isfile(path):
            raise ProgrammingError(
                f"OPENROWSET(BULK '{path}'): no such file (paths are relative to the working directory "
                f"{os.getcwd()})"
            )
    return bool(paths)


# ---------------------------------------------------------------- one PREDICT


# The statements whose clauses may name a PREDICT's aliases: the nearest one around a PREDICT is its scope.
_SCOPES = (exp.Select, exp.Update, exp.Delete, exp.Merge)


def plan_predict(node: PredictSource, ctx: PlanContext,
                 planned: dict[str, PredictStream | StaticRelation] | None = None) -> PredictStream:
    """One PREDICT as a scored stream; `planned` are the streams planned before it, by name."""
    scope = node.find_ancestor(*_SCOPES)
    select = scope if isinstance(scope, exp.Select) else None
    model = model_value(node, ctx)
    compiled = ctx.cache.get(model, ctx.providers, ctx.threads)
    data = node.args["data"]
    data_alias = _data_alias(data)
    query = _data_query(node, data)
    _register_streams_read(query, planned or {}, ctx)
    described = render_indexed(query)
    columns = describe(described[0], [ctx.params[i] for i in described[1]], ctx)
    binding = bind(compiled.info, columns, _declared(node), ctx.dialect)
    data_names = [c for c, _ in columns]
    if select is not None:
        for conjunct in pushable_filters(select, node, data_alias, data_names, binding) + \
                enclosing_filters(select, node, data_alias, data_names, binding):
            query = query.where(conjunct.copy(), copy=False)
    stream_name = f"{STREAM_PREFIX}{next(_names)}"
    output_columns = _output_columns(binding, data_names)
    own_names = {column: label for column, label in output_columns if column != label}
    own_names[stream_name] = node.alias_name or data_alias or "PREDICT"
    _replace(node, scope, stream_name, data, data_names, output_columns)
    used = used_columns(select, stream_name, data_names)
    if used is not None:
        inputs = {b.column.lower() for b in binding.inputs}
        read = [n for n in data_names if n.lower() in inputs or n in used]
        query.set("expressions", [exp.column(exp.to_identifier(n, quoted=True)) for n in read])
    if ctx.dialect == "tsql":  # DATA leaves the statement here, before the statement's own pass in prepare
        adapt_integer_results(query, lambda tables: _catalog_types(ctx, tables, {}))
    maybe_temp = tables_maybe_temp(query)
    sql, indexes = render_indexed(query, last_use=True)
    recipe = StreamRecipe(
        name=stream_name,
        data=(sql, tuple(indexes)),
        binding=binding,
        output_columns=tuple(col for col, _ in output_columns),
        passed_columns=None if used is None else tuple(used),
        own_names=tuple(own_names.items()),
        lossless=changed_by_arrow(typ for name, typ in columns if used is None or name in used),
        model_index=_marker_index(node.args["model"]),
        digest=ctx.cache.digest(model),
        described=(described[0], tuple(described[1])),
        columns=tuple(columns),
        maybe_temp=maybe_temp,
        calls=tuple(sorted({call.name for call in query.find_all(exp.Anonymous)})),
    )
    return recipe.make(compiled, ctx)


def _marker_index(model: exp.Expression) -> int | None:
    """The parameter MODEL is (`?`, `$n`, a T-SQL variable), or None for a literal or a query."""
    return model.meta["index"] if isinstance(model, exp.Placeholder) and "index" in model.meta else None


def model_value(node: PredictSource, ctx: PlanContext) -> bytes:
    """Evaluate MODEL = ... to the model's bytes."""
    return evaluate_model(node.args["model"], ctx)


def evaluate_model(expr: exp.Expression, ctx: PlanContext) -> bytes:
    """A model value: a parameter, a 0x literal, a scalar subquery (T-SQL variables arrive as parameters)."""
    if isinstance(expr, exp.Placeholder) and "index" in expr.meta:
        value = _param(ctx, expr.meta["index"])
        if isinstance(value, bytes):
            return value  # the common case, without generating the clause's text for messages
        if value is None:
            variable = expr.meta.get("variable")
            raise DataError(
                f"PREDICT: MODEL is NULL: {variable} holds NULL, so the query that set it found no row or "
                f"returned NULL; check that the DECLARE or SET of {variable} selects an existing model"
                if variable else
                "PREDICT: MODEL is NULL: the parameter given for MODEL = ? is None; pass the model's bytes"
            )
        return _model_bytes(value, expr.sql(dialect=ctx.dialect))
    text = expr.sql(dialect=ctx.dialect)
    if any(isinstance(c, exp.Column) and c.find_ancestor(exp.Select) is None for c in expr.find_all(exp.Column)):
        raise ProgrammingError(
            f"PREDICT: MODEL = {text} is not a value; MODEL takes @variable, ?, (SELECT data FROM models "
            "WHERE ...) or a 0x... literal"
        )
    query = exp.select(expr.copy())
    if isinstance(expr, exp.Subquery):  # its rows, up to two, so a query that finds several can say so
        query = exp.select("*").from_(expr.copy()).limit(2)
    sql, values = render(query, ctx.params)
    try:
        rows = ctx.con.execute(sql, values).fetchall()
    except duckdb.Error as exc:
        raise _model_query_error(exc, text) from exc
    if len(rows) > 1 or (rows and len(rows[0]) > 1):
        found = "more than one row" if len(rows) > 1 else f"{len(rows[0])} columns"
        raise ProgrammingError(
            f"PREDICT: the MODEL query returned {found} (MODEL = {text}); it must select one model's bytes, "
            "e.g. (SELECT data FROM models WHERE id = 1)"
        )
    return _model_bytes(rows[0][0] if rows else None, text)


def plan_describe_model(table: exp.Table, ctx: PlanContext) -> StaticRelation:
    """`FROM describe_model(<model>)`: a model's inputs and outputs as rows (spec 6)."""
    from .describe import describe_rows

    call = table.this
    if len(call.expressions) != 1:
        raise ProgrammingError("describe_model takes one argument: the model's bytes")
    columns, rows = describe_rows(evaluate_model(call.expressions[0], ctx), ctx.dialect)
    name = f"{STREAM_PREFIX}{next(_names)}"
    alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier("describe_model"))
    table.replace(exp.Table(this=exp.to_identifier(name), alias=alias))
    data = pa.table({column: [row[i] for row in rows] for i, column in enumerate(columns)},
                    schema=pa.schema([(column, pa.string()) for column in columns]))
    return StaticRelation(name, data, alias.name)


def _param(ctx: PlanContext, index: int) -> t.Any:
    if index >= len(ctx.params):
        raise ProgrammingError(
            f"the statement has more ? parameter markers than the {len(ctx.params)} values given"
        )
    return ctx.params[index]


def _model_query_error(exc: BaseException, text: str) -> Exception:
    err = from_duckdb(exc)
    return type(err)(f"PREDICT: the MODEL query failed ({text}): {err}")


def _model_bytes(value: t.Any, text: str) -> bytes:
    if value is None:
        raise DataError(
            f"PREDICT: MODEL is NULL: the model query found no row or returned NULL (MODEL = {text}); "
            "check that the query selects an existing model"
        )
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    kind = "varchar" if isinstance(value, str) else type(value).__name__
    raise ProgrammingError(
        f"PREDICT: MODEL must be varbinary (BLOB) holding an ONNX model, but MODEL = {text} is {kind}; "
        "pass the model's bytes"
    )


def _data_alias(data: exp.Expression) -> str | None:
    """How DATA's columns are qualified: its alias, else a table's own name."""
    if data.alias:
        return data.alias
    if isinstance(data, exp.Table) and isinstance(data.this, exp.Identifier):
        return data.name
    return None


def _data_query(node: PredictSource, data: exp.Expression) -> exp.Select:
    query = exp.Select(expressions=[exp.Star()], from_=exp.From(this=data.copy()))  # built, not parsed from "*"
    ctes = _ctes_read(data, _visible_ctes(node))
    if ctes:
        query.set("with_", exp.With(expressions=[c.copy() for c in ctes]))
    return query


def reads_streams_twice(statement: exp.Expression) -> bool:
    """Whether DuckDB reads the statement's sources twice: a PIVOT's once for its values and again for its
    rows. Its streams must then hold their rows."""
    return any(_pivot_finds_its_values(p) for p in statement.find_all(exp.Pivot))


def _pivot_finds_its_values(pivot: exp.Pivot) -> bool:
    """A PIVOT without an IN list for each column it pivots on: DuckDB reads its source to find them."""
    if pivot.args.get("unpivot"):
        return False
    on = pivot.args.get("fields") or pivot.expressions
    return not on or any(not isinstance(e, exp.In) for e in on)


def _ctes_read(data: exp.Expression, ctes: list[exp.CTE]) -> list[exp.CTE]:
    """The CTEs DATA reads, directly or through one another, in their order: a CTE it does not
    read (one with a PREDICT of its own, say) stays out of DATA's query."""
    wanted = {tbl.name.lower() for tbl in data.find_all(exp.Table) if not tbl.db}
    kept = []
    for cte in reversed(ctes):
        if cte.alias.lower() in wanted:
            kept.append(cte)
            wanted |= {tbl.name.lower() for tbl in cte.this.find_all(exp.Table) if not tbl.db}
    return kept[::-1]


def _register_streams_read(query: exp.Select, planned: dict[str, PredictStream | StaticRelation],
                           ctx: PlanContext) -> None:
    """DATA that reads another PREDICT (a CTE, derived table or view with PREDICT in it) reads its
    scored rows, held in memory and registered on the user's connection before DATA is described."""
    for tbl in query.find_all(exp.Table):
        stream = planned.get(tbl.name) if isinstance(tbl.this, exp.Identifier) else None
        if stream is not None:
            stream.materialise()
            register(ctx.con, stream)


def _visible_ctes(node: exp.Expression) -> list[exp.CTE]:
    """CTEs in scope at a PREDICT: those of enclosing WITHs defined before it."""
    ctes: list[exp.CTE] = []
    parent = node.parent
    while parent is not None:
        with_ = parent.args.get("with_")
        if isinstance(with_, exp.With):
            own: list[exp.CTE] = []
            for cte in with_.expressions:
                if any(n is node for n in cte.walk()):
                    break
                own.append(cte)
            ctes = own + ctes
        parent = parent.parent
    return ctes


def describe(sql: str, values: list[t.Any], ctx: PlanContext) -> list[tuple[str, str]]:
    """DATA's column names and DuckDB types, from DATA's query and its values.

    Binding runs nothing: it costs a fraction of a DESCRIBE, and a bind
    error does not abort the user's transaction.
    """
    try:
        return engine_calls.columns(ctx.con, sql, values)
    except duckdb.Error as exc:
        err = from_duckdb(exc)
        raise type(err)(f"PREDICT: DATA could not be read: {err}") from exc


def _declared(node: PredictSource) -> list[tuple[str, str]] | None:
    columns = node.args.get("columns")
    if not columns:
        return None
    declared = []
    for col in columns:
        kind = col.args.get("kind")
        if kind is None:
            raise ProgrammingError(f"PREDICT: WITH column '{col.name}' needs a type, e.g. {col.name} FLOAT")
        declared.append((col.name, to_duckdb(kind)))
    return declared


def tables_maybe_temp(query: exp.Select) -> tuple[str, ...] | None:
    """The names in DATA's query that a temporary table of the connection would answer to: DATA that
    reads one must be read on the user's connection. None: DATA reads another stream, which also must.

    DuckDB looks for `t` and `main.t` in the temp catalog first; only a database-qualified name skips it.
    """
    tables = [tbl for tbl in query.find_all(exp.Table) if isinstance(tbl.this, exp.Identifier)]
    if any(tbl.name.startswith(STREAM_PREFIX) for tbl in tables):
        return None
    return tuple(tbl.name for tbl in tables if tbl.catalog.lower() in ("", "temp"))


def _output_columns(binding: Binding, data_names: list[str]) -> list[tuple[str, str]]:
    """(stream column, result label) per output; renamed where a data column has the name."""
    taken = {n.lower() for n in data_names}
    result = []
    for out in binding.outputs:
        column = out.name
        if column.lower() in taken:
            column = f"__sqlpredict_out_{len(result)}_{out.name}"
        taken.add(column.lower())
        result.append((column, out.name))
    return result


def used_columns(select: exp.Select | None, stream: str, data_names: list[str]) -> list[str] | None:
    """The DATA columns the statement reads besides the model; None means all.

    DATA is read with these and the model's inputs only, so other columns stay
    in DuckDB, and the scored stream carries these only: a column that only
    feeds the model does not travel back to DuckDB.
    """
    if select is None:
        return None
    if any(isinstance(e, exp.Star) for e in select.expressions) or select.find(exp.Columns):
        return None  # *, or DuckDB's COLUMNS(...): columns chosen by pattern, so all of them
    for join in select.args.get("joins") or []:
        if join.args.get("using") or join.args.get("kind") == "NATURAL" or join.method == "NATURAL":
            return None
    wanted = set()
    data_lower = {n.lower() for n in data_names}
    for col in select.find_all(exp.Column):
        if isinstance(col.this, exp.Star):
            if col.table == stream:
                return None
            continue
        if col.table == stream or (not col.table and col.name.lower() in data_lower):
            wanted.add(col.name.lower())
        elif col.table and not col.db and col.table.lower() in data_lower:
            wanted.add(col.table.lower())  # s.a: field a of DATA's struct column s
    return [n for n in data_names if n.lower() in wanted]


# ---------------------------------------------------------------- replacing PREDICT


def _replace(node: PredictSource, scope: exp.Expression | None, stream: str, data: exp.Expression,
             data_names: list[str], output_columns: list[tuple[str, str]]) -> None:
    """Put the stream in PREDICT's place, and point the `d.` and `p.` references of its scope
    (the SELECT, UPDATE, DELETE or MERGE it stands in) at the stream's columns."""
    data_alias, pred_alias = _data_alias(data), node.alias_name or None
    table = exp.Table(this=exp.to_identifier(stream), alias=exp.TableAlias(this=exp.to_identifier(stream)))
    if node.args.get("joins"):
        table.set("joins", node.args["joins"])
    node.replace(table)
    if scope is None:
        return
    labels = {label.lower(): (column, label) for column, label in output_columns}
    data_lower = {n.lower() for n in data_names}
    aliases = {a.lower() for a in (data_alias, pred_alias) if a}
    _refuse_ambiguous(scope, data_lower & labels.keys(), data_alias, pred_alias)
    if isinstance(scope, exp.Select):
        _expand_stars(scope, stream, data_alias, pred_alias, data_names, output_columns)
    for col in list(scope.find_all(exp.Column)):
        if col.db and not col.catalog and col.db.lower() in aliases and col.table.lower() in data_lower \
                and not _shadowed(col, scope, col.db.lower()):
            # d.s.a: field a of DATA's struct column s, written (stream.s).a so DuckDB cannot read a schema
            struct = exp.Column(this=col.args["table"], table=exp.to_identifier(stream))
            col.replace(exp.Dot(this=exp.Paren(this=struct), expression=col.this))
            continue
        qualifier = col.table.lower() if col.table else ""
        if not qualifier or qualifier not in aliases or _shadowed(col, scope, qualifier):
            continue
        name = col.name.lower()
        is_output = bool(pred_alias) and qualifier == pred_alias.lower()
        is_data = bool(data_alias) and qualifier == data_alias.lower()
        if is_output and (not is_data or name in labels):
            if name not in labels:
                raise _unknown_reference(col, data, data_names, output_columns, is_data, is_output)
            column, label = labels[name]
            _point(col, stream, column, label)
        else:
            if name not in data_lower and not isinstance(col.this, exp.Star):
                raise _unknown_reference(col, data, data_names, output_columns, is_data, is_output)
            col.set("table", exp.to_identifier(stream))
            col.set("db", None)
            col.set("catalog", None)


def _refuse_ambiguous(scope: exp.Expression, names: set[str], data_alias: str | None,
                      pred_alias: str | None) -> None:
    """An unqualified name that is both a DATA column and an output is SQL Server's Msg 209 (spec 1:
    only `*`, `d.*` and `p.*` keep both). ORDER BY may name the select list's own columns."""
    if not names:
        return
    order = scope.args.get("order")
    selected = {e.alias_or_name.lower() for e in scope.expressions} if isinstance(scope, exp.Select) else set()
    for col in scope.find_all(exp.Column):
        name = col.name.lower()
        if col.table or name not in names or _is_target(col) or _nested_query(col, scope) is not None:
            continue
        if order is not None and name in selected and col.find_ancestor(exp.Order) is order:
            continue
        output = f"{pred_alias}.{col.name}" if pred_alias else f"p.{col.name} after naming PREDICT (WITH (...) AS p)"
        raise ProgrammingError(
            f"PREDICT: ambiguous column name '{col.name}': it is both a DATA column and a PREDICT output; "
            f"write {data_alias or 'd'}.{col.name} for the DATA column or {output} for the output"
        )


def _is_target(col: exp.Column) -> bool:
    """A column an UPDATE sets or a MERGE inserts into: the target table's, whatever PREDICT holds."""
    parent = col.parent
    if isinstance(parent, exp.EQ) and col.arg_key == "this" and isinstance(parent.parent, exp.Update):
        return parent.arg_key == "expressions"
    return isinstance(parent, exp.Tuple) and parent.arg_key == "this" and isinstance(parent.parent, exp.Insert)


def _nested_query(col: exp.Column, scope: exp.Expression) -> exp.Select | None:
    """The innermost query between a column and PREDICT's scope, if the column is in one."""
    node = col.parent
    while node is not None and node is not scope:
        if isinstance(node, exp.Select):
            return node
        node = node.parent
    return None


def _shadowed(col: exp.Column, scope: exp.Expression, qualifier: str) -> bool:
    """Whether a query nested in the scope has a source of its own named like PREDICT's alias."""
    node = col.parent
    while node is not None and node is not scope:
        if isinstance(node, exp.Select):
            sources = [f.this for f in [node.args.get("from_")] if f] + [j.this for j in node.args.get("joins") or []]
            if any(s.alias_or_name.lower() == qualifier for s in sources):
                return True
        node = node.parent
    return False


def _unknown_reference(col: exp.Column, data: exp.Expression, data_names: list[str],
                       output_columns: list[tuple[str, str]], is_data: bool, is_output: bool) -> ProgrammingError:
    """`d.nope` or `p.nope`: say which of DATA's columns or PREDICT's outputs exist, and where a name is."""
    reference = f"{col.table}.{col.name}"
    name = col.name.lower()
    outputs = [label for _, label in output_columns]
    columns = f"DATA ({_source_label(data)}) has columns: {', '.join(data_names) or 'none'}"
    declared = f"WITH declares: {', '.join(outputs) or 'nothing'}"
    if not is_data:
        hint = f"; {col.name} is a DATA column" if name in {n.lower() for n in data_names} else ""
        return ProgrammingError(f"PREDICT: {reference} is not a PREDICT output; {declared}{hint}")
    if is_output:  # PREDICT and DATA share the alias
        return ProgrammingError(f"PREDICT: {reference} is neither a DATA column nor a PREDICT output; "
                                f"{columns}; {declared}")
    hint = f"; {col.name} is a PREDICT output, not a DATA column" if name in {o.lower() for o in outputs} else ""
    return ProgrammingError(f"PREDICT: {reference} is not a column of DATA; {columns}{hint}")


def _source_label(data: exp.Expression) -> str:
    """How an error names DATA: `t AS d`, or `(...) AS d` for a query or a table function."""
    alias = _data_alias(data) or ""
    if isinstance(data, exp.Table) and isinstance(data.this, exp.Identifier):
        name = exp.table_name(data)
        return f"{name} AS {data.alias}" if data.alias else name
    return f"(...) AS {alias}"


def _point(col: exp.Column, stream: str, column: str, label: str) -> None:
    col.set("this", exp.to_identifier(column))
    col.set("table", exp.to_identifier(stream))
    if column != label and isinstance(col.parent, exp.Select) and col.arg_key == "expressions":
        col.replace(exp.alias_(col.copy(), label))


def _expand_stars(select: exp.Select, stream: str, data_alias: str | None, pred_alias: str | None,
                  data_names: list[str], output_columns: list[tuple[str, str]]) -> None:
    """`d.*` is every DATA column, `p.*` the outputs only, `*` both (spec 1)."""
    renamed = any(column != label for column, label in output_columns)
    data_cols = [exp.column(n, table=stream) for n in data_names]
    out_cols = [
        exp.alias_(exp.column(c, table=stream), label) if c != label else exp.column(c, table=stream)
        for c, label in output_columns
    ]
    expanded: list[exp.Expression] = []
    changed = False
    for item in select.expressions:
        star_table = item.table.lower() if isinstance(item, exp.Column) and isinstance(item.this, exp.Star) else None
        if star_table and pred_alias and star_table == pred_alias.lower():
            expanded.extend(c.copy() for c in out_cols)
            changed = True
        elif star_table and data_alias and star_table == data_alias.lower():
            expanded.extend(c.copy() for c in data_cols)
            changed = True
        elif isinstance(item, exp.Star) and renamed:
            expanded.extend(_expand_bare_star(select, stream, data_cols, out_cols))
            changed = True
        else:
            expanded.append(item)
    if changed:
        select.set("expressions", expanded)


def _expand_bare_star(select: exp.Select, stream: str, data_cols: list, out_cols: list) -> list[exp.Expression]:
    sources = [select.args["from_"].this] + [j.this for j in select.args.get("joins") or []]
    items: list[exp.Expression] = []
    for source in sources:
        if isinstance(source, exp.Table) and source.name == stream:
            items.extend(c.copy() for c in data_cols + out_cols)
        else:
            items.append(exp.Column(this=exp.Star(), table=exp.to_identifier(source.alias_or_name)))
    return items
