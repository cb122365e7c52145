"""SQL Server's answers to COMMIT and ROLLBACK that find nothing to end (Msgs 3902, 3903 and 6401).

SQL Server counts open transactions in @@TRANCOUNT: each BEGIN TRANSACTION
adds one, COMMIT takes one away and ROLLBACK ends them all. A COMMIT or
ROLLBACK at 0 is an error, not a no-op, and a porting script that relies on
it must fail here as it fails there. Under IMPLICIT_TRANSACTIONS ON (what
pyodbc's autocommit=False sets) the transaction the first statement opens is
a level too; connection.py decides when that applies.

`ROLLBACK TRANSACTION name` must name the outermost BEGIN TRANSACTION (names
are case-sensitive in SQL Server, whatever the collation); savepoints are
not supported (sqlglot does not read SAVE TRANSACTION).
"""

from __future__ import annotations

from sqlglot import exp

from .errors import NotSupportedError, ProgrammingError


def transaction_name(tree: exp.Expression | None) -> str | None:
    """The name a BEGIN, COMMIT or ROLLBACK statement gives, None without one (WORK is not a name)."""
    name = tree.this if tree is not None else None
    if name is None:
        return None
    if isinstance(name, exp.Identifier):
        if not name.quoted and name.name.upper() == "WORK":
            return None
        return name.name
    raise NotSupportedError(f"a transaction named by a variable ({name.sql(dialect='tsql')}) is not supported: "
                            "write the name itself, as in BEGIN TRANSACTION t1 ... ROLLBACK TRANSACTION t1")


def nothing_to_end(control: str) -> ProgrammingError:
    """Msg 3902 (COMMIT) or 3903 (ROLLBACK): @@TRANCOUNT is 0."""
    number, word = (3902, "COMMIT") if control == "COMMIT" else (3903, "ROLLBACK")
    return ProgrammingError(
        f"The {word} TRANSACTION request has no corresponding BEGIN TRANSACTION (SQL Server's Msg {number}): "
        f"no transaction is open on this connection (@@TRANCOUNT is 0), so there is nothing to {word.lower()}; "
        f"open one with BEGIN TRANSACTION before the statements the {word} should end, or remove the {word}")


def unknown_name(name: str, outermost: str | None, implicit: bool) -> ProgrammingError:
    """Msg 6401: ROLLBACK TRANSACTION names no transaction; the open one stays open. `implicit`: the
    outermost is the unnamed one that autocommit off opened (IMPLICIT_TRANSACTIONS ON)."""
    if implicit:
        held = ("the outermost transaction is the unnamed one that autocommit off opened with the first statement, "
                "as autocommit is off (SQL Server's IMPLICIT_TRANSACTIONS ON, as under pyodbc)")
    elif outermost:
        held = f"the outermost transaction is named {outermost}"
    else:
        held = "the outermost transaction has no name"
    fix = f"ROLLBACK TRANSACTION {outermost}" if outermost else "ROLLBACK TRANSACTION"
    return ProgrammingError(
        f"Cannot roll back {name}. No transaction or savepoint of that name was found (SQL Server's Msg 6401): "
        f"{held} (names are case-sensitive), and it is still open; write {fix} to roll it back")
