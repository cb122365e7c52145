"""T-SQL's OUTPUT clause as DuckDB's RETURNING.

DuckDB's RETURNING sees one row of the target: the new one for INSERT and
UPDATE, the removed one for DELETE; a MERGE's RETURNING also has
`merge_action` ('INSERT', 'UPDATE' or 'DELETE'), and none of the source's
columns. So OUTPUT is translated where that row gives SQL Server's answer
exactly, and refused, saying what to write, where it would not:

- INSERTED.c is c, except in a MERGE's DELETE rows, where it is NULL;
- DELETED.c is c in a DELETE; in an UPDATE, and in a MERGE's UPDATE rows,
  only when the statement sets no value to c (the value before the change,
  which DuckDB does not return, is then the value after it); NULL in a
  MERGE's INSERT rows;
- `$action` is `merge_action`.
"""

from __future__ import annotations

from sqlglot import exp

from .errors import NotSupportedError, ProgrammingError

ACTION = "$action"  # T-SQL's name for the MERGE action, and the name of its output column
_MERGE_ACTION = "merge_action"


def output_as_returning(tree: exp.Expression, line: int) -> None:
    """OUTPUT INSERTED.c (INSERT, UPDATE, MERGE), DELETED.c (DELETE, MERGE) and $action (MERGE) as RETURNING."""
    returning = tree.args["returning"]
    if returning.args.get("into"):
        raise NotSupportedError(f"line {line}: OUTPUT ... INTO is not supported; use OUTPUT without INTO and "
                                "read its rows from the result (INSERT them into the table in a second statement)")
    if isinstance(tree, exp.Merge):
        returning.set("expressions", [_merge_item(item, _updated_columns(tree), line)
                                      for item in returning.expressions])
        return
    statement = type(tree).__name__.upper()
    row = "DELETED" if isinstance(tree, exp.Delete) else "INSERTED"
    updated = {a.this.name.lower() for a in tree.expressions} if isinstance(tree, exp.Update) else set()
    for column in list(returning.find_all(exp.Column)):
        prefix = column.table.upper()
        if prefix == row or (prefix == "DELETED" and isinstance(tree, exp.Update) and not isinstance(
                column.this, exp.Star) and column.name.lower() not in updated):
            column.set("table", None)
        elif prefix == "DELETED" and isinstance(tree, exp.Update):
            raise NotSupportedError(
                f"line {line}: OUTPUT DELETED.{column.name} in an UPDATE that sets {', '.join(sorted(updated))} "
                "(the row before the change) is not supported: DuckDB returns only the updated row; SELECT the "
                "old values before the UPDATE, or output DELETED.<column> only for columns the UPDATE does not set"
            )
        elif prefix in ("INSERTED", "DELETED"):
            raise ProgrammingError(f"line {line}: {prefix}.{column.name} does not exist in {statement} ... OUTPUT; "
                                   f"use {row}.{column.name}")


def _updated_columns(merge: exp.Merge) -> set[str]:
    """The lower-case names of the target columns that any of the MERGE's UPDATE actions sets."""
    whens = merge.args.get("whens")
    names = set()
    for when in whens.expressions if whens else []:
        then = when.args.get("then")
        if isinstance(then, exp.Update):
            names.update(assignment.this.name.lower() for assignment in then.expressions)
    return names


def _merge_item(item: exp.Expression, updated: set[str], line: int) -> exp.Expression:
    """One OUTPUT item of a MERGE, named as SQL Server names it: its alias, its column's name, `$action`."""
    value = item.this if isinstance(item, exp.Alias) else item
    if isinstance(value, exp.Column) and isinstance(value.this, exp.Star):
        return _merge_star(value, updated, line)
    if isinstance(item, exp.Alias):
        name = item.alias
    elif isinstance(value, exp.Column):
        name = ACTION if _is_action(value) else value.name
    else:  # SQL Server leaves an expression unnamed; its text says more than DuckDB's name for the CASE
        name = value.sql(dialect="tsql")
    translated = value.transform(lambda node: _merge_column(node, updated, line)
                                 if isinstance(node, exp.Column) else node)
    return exp.alias_(translated, name, quoted=True)


def _merge_column(column: exp.Column, updated: set[str], line: int) -> exp.Expression:
    """$action, INSERTED.c or DELETED.c as what DuckDB's MERGE ... RETURNING gives for each action."""
    if _is_action(column):
        return exp.column(_MERGE_ACTION)
    row = column.table.upper()
    value = exp.Column(this=column.this.copy())
    if row == "INSERTED":
        return _unless(value, "DELETE")
    if row == "DELETED" and column.name.lower() not in updated:
        return _unless(value, "INSERT")
    if row == "DELETED":
        raise NotSupportedError(
            f"line {line}: OUTPUT DELETED.{column.name} in a MERGE that updates {column.name} (its value before "
            "the UPDATE) is not supported: DuckDB's MERGE ... RETURNING gives only the updated row; SELECT the old "
            "values into a #temp table before the MERGE, or output DELETED.<column> only for columns no UPDATE sets"
        )
    raise NotSupportedError(
        f"line {line}: OUTPUT {column.sql(dialect='tsql')} in a MERGE is not supported: DuckDB's MERGE ... "
        "RETURNING gives only the target's row, not the source's; output $action, INSERTED.<column> or "
        "DELETED.<column> of the target, and join the rows to the source afterwards"
    )


def _merge_star(star: exp.Column, updated: set[str], line: int) -> exp.Expression:
    """INSERTED.* or DELETED.*: every column of the target (DuckDB's COLUMNS(*) of the returned row)."""
    row = star.table.upper()
    every = exp.Columns(this=exp.Star())
    if row == "INSERTED":
        return _unless(every, "DELETE")
    if row == "DELETED" and not updated:
        return _unless(every, "INSERT")
    if row == "DELETED":
        listed = ", ".join(sorted(updated))
        raise NotSupportedError(
            f"line {line}: OUTPUT DELETED.* in a MERGE that updates {listed} (their values before the UPDATE) is "
            "not supported: DuckDB's MERGE ... RETURNING gives only the updated row; list DELETED.<column> for "
            "the columns no UPDATE sets, and SELECT the old values of the others into a #temp table before the MERGE"
        )
    raise NotSupportedError(f"line {line}: OUTPUT {star.sql(dialect='tsql')} in a MERGE is not supported: DuckDB's "
                            "MERGE ... RETURNING gives only the target's row; use INSERTED.* or DELETED.*")


def _unless(value: exp.Expression, action: str) -> exp.Case:
    """`value`, or NULL in the rows of `action`, where SQL Server's INSERTED or DELETED row has none."""
    return exp.case().when(exp.column(_MERGE_ACTION).neq(exp.Literal.string(action)), value)


def _is_action(column: exp.Column) -> bool:
    return not column.table and column.name.lower() == ACTION
