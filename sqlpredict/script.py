"""T-SQL scripts: batches split at GO, and statements split where T-SQL ends them.

SQL Server scripts often have no semicolons: a statement ends where the next
one begins (`DECLARE @m ... SELECT ...`, `;WITH` after a DECLARE). sqlglot
needs one statement at a time, so this module finds the boundaries on the
token stream, with the few rules T-SQL itself uses, and hands each
statement's own text to the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from .dialects import TSQL
from .errors import ProgrammingError

# A line holding only GO (and a count, a comment), ended by LF or by CRLF (Windows; what SSMS saves).
_GO = re.compile(r"^[ \t]*GO(?:[ \t]+(?P<count>\d+))?[ \t]*(?:--[^\r\n]*)?\r?$", re.IGNORECASE | re.MULTILINE)

# Words that begin a statement when they stand at the top level of a batch.
STARTS = {
    "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "DECLARE", "SET", "CREATE", "ALTER", "DROP",
    "TRUNCATE", "EXEC", "EXECUTE", "USE", "PRINT", "IF", "WHILE", "BEGIN", "COMMIT", "ROLLBACK",
    "WITH", "RETURN", "GOTO", "RAISERROR", "THROW", "FETCH", "OPEN", "CLOSE", "DEALLOCATE",
}
_SET_OPERATORS = {"UNION", "ALL", "EXCEPT", "INTERSECT", "DISTINCT"}
_CTE_BODY_STARTS = {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"}


@dataclass(frozen=True)
class Statement:
    text: str
    line: int  # 1-based line of the statement's first token in the whole script


@dataclass(frozen=True)
class Batch:
    text: str
    line: int  # 1-based line where the batch starts in the script
    count: int = 1  # GO n: run the batch n times


def split_batches(script: str) -> list[Batch]:
    """Split at lines that hold only GO, as sqlcmd and SSMS do; `GO n` runs the batch before it n times."""
    batches, start, line = [], 0, 1
    for match in _GO.finditer(script):
        count = int(match["count"] or 1)
        go_line = line + script[start:match.start()].count("\n")
        if count < 1:
            raise ProgrammingError(f"line {go_line}: GO {match['count']}: the count after GO is how many times "
                                   "to run the batch, a positive number; write GO alone to run it once")
        batches.append(Batch(script[start:match.start()], line, count))
        line = go_line
        start = match.end()
    batches.append(Batch(script[start:], line))
    return [b for b in batches if b.text.strip()]


def split_statements(batch: str, first_line: int = 1) -> list[Statement]:
    """Split one batch into statements at semicolons and at T-SQL's own boundaries."""
    try:
        tokens = TSQL().tokenize(batch)
    except TokenError as exc:
        raise ProgrammingError(f"could not read the script near line {first_line}: {exc}") from exc
    groups = _group(tokens)
    statements = []
    for group in groups:
        text = batch[group[0].start:group[-1].end + 1].strip()
        if text:
            statements.append(Statement(text, first_line + group[0].line - 1))
    return statements


def view_query(text: str) -> str:
    """The query of `CREATE [OR ALTER] VIEW name [(columns)] AS <query>`: the text after the first top-level AS."""
    depth = 0
    for token in TSQL().tokenize(text):
        depth += (token.token_type == TokenType.L_PAREN) - (token.token_type == TokenType.R_PAREN)
        if depth == 0 and token.token_type == TokenType.ALIAS:
            return text[token.end + 1:]
    return ""


def _group(tokens: list[Token]) -> list[list[Token]]:
    groups: list[list[Token]] = []
    current: list[Token] = []
    state = _State()
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.SEMICOLON:
            if current:
                groups.append(current)
            current, state = [], _State()
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if current and state.depth == 0 and _starts_statement(token, following, state, current):
            groups.append(current)
            current, state = [], _State()
        current.append(token)
        state.advance(token, len(current))
    if current:
        groups.append(current)
    return groups


class _State:
    """What the statement being read has seen so far, at its top level."""

    def __init__(self) -> None:
        self.depth = 0
        self.first = ""
        self.whole_batch = False  # CREATE PROCEDURE/VIEW/FUNCTION: the rest of the batch
        self.seen: set[str] = set()
        self.kind = ""  # the statement's verb; for WITH ..., the verb after the CTEs

    def advance(self, token: Token, position: int) -> None:
        word = token.text.upper()
        if token.token_type == TokenType.L_PAREN:
            self.depth += 1
        elif token.token_type == TokenType.R_PAREN:
            self.depth = max(0, self.depth - 1)
        if self.depth > 0 or token.token_type == TokenType.R_PAREN:
            return
        if position == 1:
            self.first = word
            self.kind = "" if word == "WITH" else word
        elif not self.kind and word in _CTE_BODY_STARTS:
            self.kind = word
        elif position == 2 and self.first in ("CREATE", "ALTER") and word in _WHOLE_BATCH:
            self.whole_batch = True
        self.seen.add(word)

    @property
    def cte_open(self) -> bool:
        """WITH x AS (...) has been read but its main statement has not begun."""
        return self.first == "WITH" and not self.kind


_WHOLE_BATCH = {"PROCEDURE", "PROC", "VIEW", "FUNCTION", "TRIGGER", "OR"}
_QUOTED = {TokenType.IDENTIFIER, TokenType.STRING, TokenType.NATIONAL_STRING}


def _starts_statement(token: Token, following: Token | None, state: _State, current: list[Token]) -> bool:
    word = token.text.upper()
    if word not in STARTS or token.token_type in _QUOTED:
        return False
    if state.whole_batch or state.kind == "MERGE":
        return False  # CREATE PROC/VIEW owns its batch; T-SQL ends MERGE with ';'
    previous = current[-1].text.upper()
    if word == "WITH":
        # WITH name AS (...) begins a CTE; WITH (...) is a table hint or PREDICT's WITH; TOP (n) WITH TIES;
        # ALTER TABLE t WITH [NO]CHECK ADD CONSTRAINT ...
        return following is not None and following.token_type != TokenType.L_PAREN \
            and following.text.upper() not in ("TIES", "CHECK", "NOCHECK")
    if word in ("ALTER", "DROP") and state.first == "ALTER" and following is not None \
            and following.text.upper() in ("COLUMN", "CONSTRAINT"):
        return False  # ALTER TABLE t ALTER COLUMN c ..., ALTER TABLE t DROP COLUMN c
    if state.cte_open:
        return False
    if word == "SELECT":
        return _select_starts(previous, state)
    if word == "SET":
        return not (state.kind == "UPDATE" and "SET" not in state.seen)
    if word in ("EXEC", "EXECUTE"):
        return not (state.kind == "INSERT" and not ({"SELECT", "VALUES"} & state.seen))
    if word == "IF" and state.first in ("DROP", "CREATE", "ALTER") and following is not None \
            and following.text.upper() in ("EXISTS", "NOT"):
        return False  # DROP TABLE IF EXISTS, CREATE TABLE IF NOT EXISTS
    if word == "FETCH" and previous in ("ROW", "ROWS") and "OFFSET" in state.seen:
        return False  # OFFSET n ROWS FETCH NEXT m ROWS ONLY: paging, not a cursor's FETCH
    if word in ("COMMIT", "ROLLBACK", "BEGIN") and state.first == "BEGIN" and len(current) == 1:
        return False
    if word in ("INSERT", "UPDATE", "DELETE") and previous in ("THEN", "ON", "INSTEAD", "FOR", "AFTER"):
        # ON DELETE CASCADE, FOR INSERT: part of the statement; SET NOCOUNT ON ends the SET
        return state.first == "SET"
    return True


def _select_starts(previous: str, state: _State) -> bool:
    if previous in _SET_OPERATORS or previous in ("AS", "("):
        return False
    return not (state.kind == "INSERT" and not ({"SELECT", "VALUES"} & state.seen))
