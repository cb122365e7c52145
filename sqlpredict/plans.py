"""Reusing plans: a parameterised PREDICT statement run again is not planned again.

A program that scores in a loop runs one text with new values each time
(`cursor.execute(sql, [model, ...])`). Planning it (sqlglot's parse, binding
the model to DATA, pushing filters down, writing DuckDB's SQL) costs about
2 ms, as much as DuckDB's own work over 1,000 rows (benchmarks/README.md,
"Plans kept"). A connection keeps the plans of its last statements by their
text, and reuses one only while what it was made from still holds:

* MODEL is a parameter, and its value is the same model (by digest);
* DATA's query, bound again, has the same column names and types;
* the views stored with sqlpredict are the same;
* where DATA is read from (a sibling connection, or the user's own when it
  reads a temporary table or macro, or the transaction holds writes) is
  decided again, and the session settings the sibling shares are read again.

Everything else the plan holds is SQL text that DuckDB binds afresh on every
run. Where a check fails the text is planned again, which also gives any
error in full.

An operation of one statement is kept: in T-SQL, one whose batch runner
passes it on as it is (no variables, no INSERT without a column list), and
whose planning read no table's types for T-SQL's integer arithmetic
(`tsql_numbers.adapt_integer_results`) and no OPENROWSET file.
"""

from __future__ import annotations

import re
import typing as t
from collections import OrderedDict
from dataclasses import dataclass

from sqlglot import exp

from .errors import Error
from .planner import PlanContext, PreparedStatement, StreamRecipe, describe, reads_streams_twice, source_handle
from .stream import PredictStream

MAX_PLANS = 32  # per connection; a plan is a small tree and a few strings


@dataclass(frozen=True)
class Plan:
    """A statement with one PREDICT, planned: DuckDB's SQL and what it was made from."""

    node: exp.Expression  # the planned tree, read only: the connection asks it what kind of change it is
    sql: str  # DuckDB's SQL, which reads the stream by the registry name `source`
    source: str
    indexes: tuple[int, ...]  # each of its values' index in the statement's parameters
    markers: int  # how many values the statement takes
    kind: str  # DuckDB's statement type
    stream: StreamRecipe
    views: dict[str, str]  # the stored views it was planned with: name -> definition
    creates: exp.Expression | None  # a statement that makes a table, as written (the connection checks the name)


def plan_of(prepared: PreparedStatement, markers: int, kind: str, views: dict[str, str],
            creates: exp.Expression | None = None) -> Plan | None:
    """The plan of a statement just planned, or None where it cannot be reused: more or fewer than one
    PREDICT, MODEL not a parameter, DATA reading another stream, a statement that reads its stream
    twice (which holds the rows), or one whose planning read more than DATA's columns (a T-SQL
    statement's table types, a file: PlanContext.read_outside)."""
    if len(prepared.streams) != 1 or len(prepared.sources) != 1 or prepared.read_outside:
        return None
    stream = prepared.streams[0]
    recipe = stream.recipe if isinstance(stream, PredictStream) else None
    if recipe is None or recipe.model_index is None or recipe.maybe_temp is None:
        return None
    if reads_streams_twice(prepared.node):
        return None
    source = prepared.sources[0].name
    named = sum(1 for table in prepared.node.find_all(exp.Table) if table.name == source)
    if named != len(_name_pattern(source).findall(prepared.sql)):
        return None  # the name is also elsewhere in the text: it could not be swapped for the next one's
    return Plan(prepared.node, prepared.sql, source, tuple(prepared.indexes), markers, kind, recipe, dict(views),
                creates)


def reuse(plan: Plan, ctx: PlanContext, views: dict[str, str]) -> PreparedStatement | None:
    """The statement ready to run with ctx's values, DATA being read; None where the plan no longer holds."""
    recipe = plan.stream
    if views != plan.views or len(ctx.params) != plan.markers:
        return None
    model = ctx.params[recipe.model_index]
    if not isinstance(model, bytes) or ctx.cache.digest(model) != recipe.digest:
        return None
    sql, indexes = recipe.described
    try:
        columns = describe(sql, [ctx.params[i] for i in indexes], ctx)
    except Error:
        return None
    if tuple(columns) != recipe.columns:
        return None
    stream = recipe.make(ctx.cache.get(model, ctx.providers, ctx.threads), ctx)
    try:
        handle = source_handle(ctx.con, stream)
    except BaseException:
        stream.close()
        raise
    if handle is None:  # as when it was planned, where the registry was there: not expected
        stream.close()
        return None
    sql = _name_pattern(plan.source).sub(lambda _: handle.name, plan.sql)
    values = [ctx.params[i] for i in plan.indexes]
    return PreparedStatement(plan.node, sql, values, [stream], [handle], list(plan.indexes))


def _name_pattern(name: str) -> t.Pattern[str]:
    return re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")


Key = t.Tuple[str, str]  # (dialect, the operation's text)


class PlanCache:
    """The plans of a connection's last statements, by dialect and text."""

    def __init__(self, size: int = MAX_PLANS) -> None:
        self.size = size
        self._plans: OrderedDict[Key, Plan] = OrderedDict()
        self.reused = 0  # statements run from a kept plan; tests and benchmarks read it

    def get(self, key: Key) -> Plan | None:
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
        return plan

    def put(self, key: Key, plan: Plan) -> None:
        self._plans[key] = plan
        self._plans.move_to_end(key)
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)

    def forget(self, key: Key) -> None:
        self._plans.pop(key, None)

    def __len__(self) -> int:
        return len(self._plans)
