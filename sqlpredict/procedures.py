"""T-SQL stored procedures without control flow: CREATE PROCEDURE text, parameters, EXEC arguments.

A procedure is stored as its CREATE text in the catalog (so it lives in the
database file) and read back here each time it is executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.tokens import TokenType

from .dialects import TSQL, to_duckdb
from .errors import ProgrammingError
from .tsql_casts import declared_length

_HEAD = re.compile(
    # comments before it (SSMS's template); possessive, so a batch that is not a CREATE fails at once
    r"^(?:\s|--[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)*+"
    r"(?P<verb>CREATE\s+OR\s+ALTER|CREATE|ALTER)\s+PROC(?:EDURE)?\s+"
    r"(?P<name>(?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]+)(?:\s*\.\s*(?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]+))*)",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class ProcParameter:
    name: str  # without '@'
    sql_type: str  # DuckDB type
    default: exp.Expression | None
    output: bool
    length: int | None = None  # n of a VARCHAR(n) parameter


@dataclass(frozen=True)
class Procedure:
    name: str
    parameters: tuple[ProcParameter, ...]
    body: str
    body_line: int  # line of the body's first line within the CREATE text
    replace: bool


def is_create_procedure(text: str) -> bool:
    return _HEAD.match(text) is not None


def parse_procedure(text: str) -> Procedure:
    head = _HEAD.match(text)
    if head is None:
        raise ProgrammingError("could not read CREATE PROCEDURE")
    name = _last_part(head["name"])
    rest = text[head.end():]
    tokens = TSQL().tokenize(rest)
    depth, split = 0, None
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.text.upper() == "AS" and token.token_type != TokenType.IDENTIFIER:
            split = token
            break
    if split is None:
        raise ProgrammingError(f"CREATE PROCEDURE {name}: expected AS before the procedure body")
    params_text = rest[:split.start].strip()
    body = rest[split.end + 1:]
    body_line = text[: head.end() + split.end + 1].count("\n") + 1
    return Procedure(name, _parameters(params_text, name), _unwrap(body), body_line,
                     replace="ALTER" in head["verb"].upper())


def _last_part(name: str) -> str:
    part = re.split(r"\s*\.\s*", name)[-1]
    return part.strip("[]\"")


def _parameters(text: str, proc: str) -> tuple[ProcParameter, ...]:
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if not text.strip():
        return ()
    params = []
    for piece in _split_commas(text):
        match = re.match(r"^\s*@(?P<name>\w+)\s+(?:AS\s+)?(?P<rest>.+?)\s*$", piece, re.IGNORECASE | re.DOTALL)
        if match is None:
            raise ProgrammingError(f"CREATE PROCEDURE {proc}: could not read parameter '{piece.strip()}'")
        rest = match["rest"]
        output = bool(re.search(r"\b(OUT|OUTPUT)\s*$", rest, re.IGNORECASE))
        rest = re.sub(r"\s+(OUT|OUTPUT|READONLY)\s*$", "", rest, flags=re.IGNORECASE)
        type_text, _, default_text = rest.partition("=")
        dtype = TSQL().parse(f"SELECT CAST(NULL AS {type_text.strip()})")[0].expressions[0].to
        default = TSQL().parse(f"SELECT {default_text.strip()}")[0].expressions[0] if default_text.strip() else None
        params.append(ProcParameter(match["name"], to_duckdb(dtype), default, output, declared_length(dtype)))
    return tuple(params)


def _split_commas(text: str) -> list[str]:
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return pieces


def _unwrap(body: str) -> str:
    """AS BEGIN ... END: the statements between (BEGIN TRAN is a statement, not a wrapper).

    The lines before BEGIN's end stay as empty lines, so a statement keeps its line in the CREATE text.
    """
    match = re.match(r"^\s*BEGIN\b(?!\s+TRAN)", body, re.IGNORECASE)
    if match and re.search(r"\bEND\s*;?\s*$", body, re.IGNORECASE):
        inner = re.sub(r"\bEND\s*;?\s*$", "", body[match.end():], flags=re.IGNORECASE)
        return "\n" * body[:match.end()].count("\n") + inner
    return body


@dataclass
class Argument:
    name: str | None  # None for a positional argument
    value: exp.Expression
    output: bool


def exec_arguments(tree: exp.Execute) -> list[Argument]:
    args = []
    for item in tree.expressions or []:
        output = False
        if isinstance(item, exp.Alias) and item.alias.upper() in ("OUTPUT", "OUT"):
            item, output = item.this, True
        if isinstance(item, exp.EQ) and isinstance(item.this, exp.Parameter):
            args.append(Argument(item.this.name, item.expression, output))
        else:
            args.append(Argument(None, item, output))
    return args


def match_arguments(proc: Procedure, args: list[Argument]) -> dict[str, Argument | None]:
    """Parameter name (lower) -> the argument given for it, as SQL Server matches them."""
    matched: dict[str, Argument | None] = {p.name.lower(): None for p in proc.parameters}
    names = [p.name for p in proc.parameters]
    for position, arg in enumerate(args):
        if arg.name is None:
            if position >= len(names):
                raise ProgrammingError(f"Procedure or function {proc.name} has too many arguments specified")
            matched[names[position].lower()] = arg
        elif arg.name.lower() in matched:
            matched[arg.name.lower()] = arg
        else:
            raise ProgrammingError(f"@{arg.name} is not a parameter for procedure {proc.name}")
    for param in proc.parameters:
        if matched[param.name.lower()] is None and param.default is None:
            raise ProgrammingError(
                f"Procedure or function '{proc.name}' expects parameter '@{param.name}', which was not supplied"
            )
    return matched
