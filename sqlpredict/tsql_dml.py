"""T-SQL's UPDATE and DELETE may name their target through the FROM clause; DuckDB's cannot.

In SQL Server `UPDATE s SET ... FROM dbo.scores AS s JOIN ...` updates dbo.scores, and
`UPDATE dbo.scores SET ... FROM dbo.scores JOIN ...` updates only the rows the join keeps;
`DELETE s FROM ...` is the same for DELETE. DuckDB reads the UPDATE texts as an update of a
table named `s`, or of every row of scores joined once more to itself. So such statements are
rewritten: the FROM clause, joins and WHERE as written pick the target's rows by rowid. DuckDB's
DELETE has no TOP (n) either, so DELETE TOP (n) picks its n rows the same way."""

from __future__ import annotations

from sqlglot import exp

from .errors import NotSupportedError

TARGET = "__sqlpredict_target"
SOURCE = "__sqlpredict_source"
ROWID = "__sqlpredict_rowid"


def adapt_dml_targets(statement: exp.Expression) -> None:
    """Rewrite every UPDATE and DELETE whose target is a table source of its own FROM clause."""
    for update in list(statement.find_all(exp.Update)):
        _update(update)
    for delete in list(statement.find_all(exp.Delete)):
        _delete(delete)


def _update(update: exp.Update) -> None:
    target, from_ = update.this, update.args.get("from_")
    if not isinstance(target, exp.Table) or not isinstance(from_, exp.From):
        return
    entry = _target_entry(target, from_.this, _cte_names(update))
    if entry is None:
        return
    if entry is from_.this and not entry.args.get("joins"):  # FROM names the target alone
        update.set("this", entry.copy())
        update.set("from_", None)
        return
    source = exp.select(exp.alias_(_rowid(entry), ROWID)).from_(from_.this.copy())
    for number, assignment in enumerate(update.expressions):
        source = source.select(exp.alias_(assignment.expression.copy(), f"v{number}"), copy=False)
        assignment.set("expression", exp.column(f"v{number}", table=SOURCE))
    where = update.args.get("where")
    if isinstance(where, exp.Where):
        source = source.where(where.this.copy(), copy=False)
    update.set("this", _as_target(entry))
    update.set("from_", exp.From(this=exp.Subquery(this=source, alias=exp.TableAlias(this=exp.to_identifier(SOURCE)))))
    update.set("where", exp.Where(this=exp.column("rowid", table=TARGET).eq(exp.column(ROWID, table=SOURCE))))


def _delete(delete: exp.Delete) -> None:
    """DuckDB's DELETE has neither a FROM source of its own nor TOP (n): both pick the target's rows by rowid."""
    top = delete.args.get("limit")
    delete.set("limit", None)
    tables = delete.args.get("tables") or []
    source = delete.this
    entry = None
    if isinstance(source, exp.Table) and not tables:  # DELETE [FROM] t ...: the target is its own source
        entry = source
    elif isinstance(source, exp.Table) and len(tables) == 1:
        entry = _target_entry(tables[0], source, _cte_names(delete))
    if entry is None:
        if top is not None:  # dropping TOP would delete every row the WHERE keeps
            raise NotSupportedError("DELETE TOP (n) is supported only from one table, named once in the "
                                    "statement; pick the rows in a WHERE ... IN (SELECT TOP (n) ...) instead")
        return
    delete.set("tables", None)
    if entry is source and not source.args.get("joins") and top is None:  # DELETE s FROM t AS s WHERE ...
        return
    rows = exp.select(_rowid(entry)).from_(source.copy())
    where = delete.args.get("where")
    if isinstance(where, exp.Where):
        rows = rows.where(where.this.copy(), copy=False)
    rows.set("limit", top)  # TOP (n) [PERCENT] of the rows the FROM and WHERE keep, as SELECT TOP takes them
    delete.set("this", _as_target(entry))
    delete.set("where", exp.Where(this=exp.column("rowid", table=TARGET).isin(query=rows)))


def _target_entry(target: exp.Table, first: exp.Expression, ctes: set[str]) -> exp.Table | None:
    """The one table source of FROM that the target names: by its alias, or by its own name if it has none."""
    entries = [first] + [join.this for join in first.args.get("joins") or []]
    found = [e for e in entries if isinstance(e, exp.Table) and _names(target, e) and e.name.lower() not in ctes]
    return found[0] if len(found) == 1 else None


def _names(target: exp.Table, entry: exp.Table) -> bool:
    if not isinstance(entry.this, exp.Identifier) or target.args.get("catalog"):
        return False
    if entry.alias:
        return not target.db and target.name.lower() == entry.alias.lower()
    same_schema = not target.db or not entry.db or target.db.lower() == entry.db.lower()
    return same_schema and target.name.lower() == entry.name.lower()


def _cte_names(statement: exp.Expression) -> set[str]:
    with_ = statement.args.get("with_")
    return {cte.alias.lower() for cte in with_.expressions} if isinstance(with_, exp.With) else set()


def _rowid(entry: exp.Table) -> exp.Column:
    """The entry's rowid, qualified as the FROM clause exposes it (its alias, else its name)."""
    name = entry.args["alias"].this if entry.alias else entry.this
    return exp.Column(this=exp.to_identifier("rowid"), table=name.copy())


def _as_target(entry: exp.Table) -> exp.Table:
    table = entry.copy()
    table.set("joins", None)
    table.set("alias", exp.TableAlias(this=exp.to_identifier(TARGET)))
    return table
