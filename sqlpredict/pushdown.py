"""Filters moved into DATA, so the model never scores the rows they drop (spec 7).

A WHERE conjunct that reads only DATA's columns is added to DATA's own query,
and stays in the statement too, so moving it never changes the result. So is
one of the query around a view, a CTE read once or a derived table whose body
is PREDICT's SELECT, translated through the body's columns. A conjunct is not
moved when it could keep other rows in DATA than in the statement, or change
what a join pairs: under a RIGHT or FULL join (the statement's own, or the
enclosing query's), a POSITIONAL join, PREDICT on the right of an ASOF, SEMI
or ANTI join, or with a function whose value changes from call to call.
"""

from __future__ import annotations

from sqlglot import exp

from .binding import Binding
from .dialects import PredictSource


def pushable_filters(select: exp.Select, node: PredictSource, data_alias: str | None,
                     data_names: list[str], binding: Binding) -> list[exp.Expression]:
    """WHERE conjuncts on data columns alone, to run before the model (spec 7).

    They stay in the outer WHERE too, so pushing never changes the result.
    """
    where = select.args.get("where")
    if where is None or not _filters_commute(select, node):
        return []
    single_source = not select.args.get("joins")
    outputs = {o.name.lower() for o in binding.outputs}
    data_lower = {n.lower() for n in data_names}
    return [c for c in _conjuncts(where) if _only_data(c, data_alias, data_lower, outputs, single_source)]


def _conjuncts(where: exp.Where) -> list[exp.Expression]:
    return where.this.flatten() if isinstance(where.this, exp.And) else [where.this]


def enclosing_filters(select: exp.Select, node: PredictSource, data_alias: str | None,
                      data_names: list[str], binding: Binding) -> list[exp.Expression]:
    """WHERE conjuncts of the query around a view, CTE or derived table whose body is PREDICT's SELECT,
    on columns that body passes through from DATA: `SELECT * FROM scored WHERE region = 'x'` over a view
    `scored` of PREDICT must not make the model score other regions (spec 7).

    Only a body that filters and projects (no grouping, DISTINCT, LIMIT or window) lets a filter
    through, translated to DATA's own columns; the conjuncts stay where they were too.
    """
    if not _filters_commute(select, node) or not _only_projects(select):
        return []
    found = _enclosing_query(select)
    if found is None:
        return []
    outer, source_alias = found
    if not _joins_keep_from_rows(outer.args.get("joins") or []):  # the body is the outer query's FROM source
        return []
    where = outer.args.get("where")
    if where is None:
        return []
    outputs = {o.name.lower() for o in binding.outputs}
    data_lower = {n.lower() for n in data_names}
    single_source = not select.args.get("joins")
    passed = _passed_data_columns(select, data_alias, data_names, data_lower, outputs, single_source)
    alone = not outer.args.get("joins")
    translated = (_translated(c, passed, source_alias, alone) for c in _conjuncts(where))
    return [c for c in translated if c is not None and _only_data(c, data_alias, data_lower, outputs, single_source)]


def _only_projects(select: exp.Select) -> bool:
    if any(select.args.get(k) for k in ("group", "having", "distinct", "limit", "offset", "qualify", "order")):
        return False
    if isinstance(select.parent, exp.SetOperation):
        return False
    return not any(item.find(exp.AggFunc, exp.Window) for item in select.expressions)


def _enclosing_query(select: exp.Select) -> tuple[exp.Select, str] | None:
    """The SELECT that reads `select` as its FROM source (a derived table, a view's body, or a CTE read
    once), with the name it reads it by."""
    parent = select.parent
    if isinstance(parent, exp.Subquery) and isinstance(parent.parent, exp.From) and not parent.alias_column_names:
        outer = parent.parent.parent
        return (outer, parent.alias_or_name) if isinstance(outer, exp.Select) else None
    if isinstance(parent, exp.CTE) and isinstance(parent.parent, exp.With) and not parent.alias_column_names:
        name = parent.alias_or_name.lower()
        root = parent.parent.parent
        reads = [t for t in root.find_all(exp.Table) if not t.db and t.name.lower() == name]
        if len(reads) != 1 or not isinstance(reads[0].parent, exp.From):
            return None
        outer = reads[0].parent.parent
        return (outer, reads[0].alias_or_name) if isinstance(outer, exp.Select) else None
    return None


def _passed_data_columns(select: exp.Select, data_alias: str | None, data_names: list[str], data_lower: set[str],
                         outputs: set[str], single_source: bool) -> dict[str, exp.Column | None]:
    """Each column name the body gives, with the DATA column it passes through unchanged (None: another)."""
    passed: dict[str, exp.Column | None] = {}
    for item in select.expressions:
        star = item if isinstance(item, exp.Star) else item.this if isinstance(item, exp.Column) else None
        if isinstance(star, exp.Star):
            table = item.table.lower() if isinstance(item, exp.Column) else ""
            if not table or (data_alias and table == data_alias.lower()):
                for name in data_names:
                    _pass(passed, name.lower(), exp.column(name, table=data_alias) if data_alias else exp.column(name))
            if not table or table != (data_alias or "").lower():
                for name in outputs:
                    _pass(passed, name, None)
            continue
        inner = item.this if isinstance(item, exp.Alias) else item
        is_data = isinstance(inner, exp.Column) and not isinstance(inner.this, exp.Star) and (
            (inner.table and data_alias and inner.table.lower() == data_alias.lower())
            or (not inner.table and single_source and inner.name.lower() in data_lower
                and inner.name.lower() not in outputs))
        _pass(passed, item.alias_or_name.lower(), inner if is_data else None)
    return passed


def _pass(passed: dict[str, exp.Column | None], name: str, column: exp.Column | None) -> None:
    passed[name] = None if name in passed else column  # a name given twice is not one column


def _translated(conjunct: exp.Expression, passed: dict[str, exp.Column | None], source: str,
                alone: bool) -> exp.Expression | None:
    """The outer conjunct over DATA's columns, or None when it reads anything else."""
    translated = conjunct.copy()
    for col in list(translated.find_all(exp.Column)):
        if col.table and col.table.lower() != source.lower() or not col.table and not alone:
            return None
        target = passed.get(col.name.lower())
        if target is None:
            return None
        col.replace(target.copy())
    return translated


def _filters_commute(select: exp.Select, node: PredictSource) -> bool:
    """Whether filtering PREDICT's rows before the joins of its SELECT leaves the joins' rows the same.

    PREDICT joined to what comes before it commutes only through an inner or cross join: an ASOF join
    matches each row with the nearest of PREDICT's rows, a SEMI or ANTI join by whether any matches.
    """
    joins = select.args.get("joins") or []
    if not _joins_keep_from_rows(joins):
        return False
    if isinstance(node.parent, exp.Join):
        join = node.parent
        return not any(j.side for j in joins) and join.method.upper() in ("", "NATURAL") \
            and join.kind.upper() in ("", "INNER", "CROSS")
    return isinstance(node.parent, exp.From)


def _joins_keep_from_rows(joins: list[exp.Join]) -> bool:
    """Whether filtering the FROM source's rows first leaves each of its rows joined as before: not under
    a RIGHT or FULL join, which gives the source's columns NULLs for the rows it lacks, nor a POSITIONAL
    join, which pairs rows by their position."""
    return not any(j.side in ("RIGHT", "FULL") or j.method.upper() == "POSITIONAL" for j in joins)


# Functions whose value changes from call to call: a filter with one, run in DATA and again in the
# statement, would keep fewer rows than once (random() < 0.5 keeps a quarter).
_VOLATILE = (exp.Rand, exp.Randn, exp.Uuid)
_VOLATILE_NAMES = {"NEXTVAL", "SETSEED", "CURRVAL"}


def _only_data(conjunct: exp.Expression, alias: str | None, data_lower: set[str], outputs: set[str],
               single_source: bool) -> bool:
    if conjunct.find(exp.Select, exp.Subquery, exp.AggFunc, exp.Window, exp.Parameter, exp.Star, exp.Columns,
                     *_VOLATILE):
        return False
    if any(f.name.upper() in _VOLATILE_NAMES for f in conjunct.find_all(exp.Anonymous)):
        return False
    columns = list(conjunct.find_all(exp.Column))
    if not columns:
        return False
    for col in columns:
        if col.table:
            if alias is None or col.table.lower() != alias.lower():
                return False
        elif not single_source or col.name.lower() not in data_lower or col.name.lower() in outputs:
            return False
    return True
