"""Fuzzing the PREDICT clause grammar: any text is a result or a ProgrammingError, never anything else.

hypothesis builds PREDICT clauses from the grammar's pieces (spec 1) with
arguments missing, doubled, reordered, malformed, bad WITH lists and junk
tokens, in both dialects, spread over several lines. A syntax error must be a
ProgrammingError whose message gives the line and column (within the
statement; T-SQL adds the statement's line in the script), and that position
must lie inside the statement's text; an error found after parsing (an
unknown table, a value of the wrong type) must start with `PREDICT:` or name
what is wrong. The connection must keep working after each one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import onnx_models  # noqa: E402

import sqlpredict  # noqa: E402

MODEL = onnx_models.linear()
POSITION = re.compile(r"Line (\d+), Col: (\d+)")

MODEL_VALUES = ["?", "@m", "0x0102", "(SELECT data FROM models WHERE id = 1)", "42", "'text'", "?, ?",
                "(SELECT data FROM models", "SELECT", "", "@", "0x", "((?))", "CAST(? AS VARBINARY(MAX))"]
DATA_VALUES = ["t", "t AS d", "t d", "[t]", '"t"', "(SELECT f0, f1 FROM t) AS d", "nosuch", "", "t AS",
               "(SELECT", "read_csv(", "t,", "t AS d AS e", "1", "'t'", "t WHERE f0 > 0"]
RUNTIME_VALUES = ["ONNX", "onnx", "Onnx", "TF", "", "'ONNX'", "ONNX ONNX", "?", "1"]
KEYS = ["MODEL", "DATA", "RUNTIME", "model", "Data", "runtime", "MODELS", "DAT", "", "WITH"]
JUNK = [";", ",", "(", ")", "=", "==", "[", "]", "'", '"', "--", "/*", "*/", "@@", "#", "GO", "SELECT", "FROM",
        "PREDICT", "PREDICT(", "WITH", "AS", "p", "NULL", "0x", "?", "ü", "\t", "..", "::"]
WITH_COLUMNS = ["score REAL", "score FLOAT", "score", "REAL", "score REAL,", "score VARCHAR(", "score REAL REAL",
                "[score] REAL", '"score" REAL', "score INT", "nosuch REAL", "score NUMERIC(5, 2)", "score REAL[3]",
                ", score REAL", "score BIT", "score DECIMAL(", "score MAP(", "1 REAL"]
TAILS = ["", " AS p", " p", " AS", " AS p AS q", " AS p WHERE", " AS p ORDER BY", " AS p;", " AS p GO", " AS [p"]


@st.composite
def predict_clause(draw) -> str:
    args = []
    for key in ("MODEL", "DATA", "RUNTIME"):
        if draw(st.integers(0, 9)) == 0 and key != "RUNTIME":
            continue  # missing
        if key == "RUNTIME" and draw(st.booleans()):
            continue  # RUNTIME may be left out
        values = {"MODEL": MODEL_VALUES, "DATA": DATA_VALUES, "RUNTIME": RUNTIME_VALUES}[key]
        name = key if draw(st.integers(0, 5)) else draw(st.sampled_from(KEYS))
        eq = "=" if draw(st.integers(0, 7)) else draw(st.sampled_from(["", "==", ":", "= ="]))
        value = values[0] if draw(st.integers(0, 2)) else draw(st.sampled_from(values))
        args.append(f"{name} {eq} {value}")
        if draw(st.integers(0, 9)) == 0:
            args.append(args[-1])  # doubled
    if draw(st.integers(0, 4)) == 0:
        args = draw(st.permutations(args))
    for _ in range(draw(st.integers(0, 2))):
        args.insert(draw(st.integers(0, len(args))), draw(st.sampled_from(JUNK)))
    sep = draw(st.sampled_from([", ", ",\n  ", " , ", " ", ",,"])) if draw(st.integers(0, 6)) == 0 else ", "
    with_part = ""
    if draw(st.booleans()):
        cols = draw(st.lists(st.sampled_from(WITH_COLUMNS), min_size=0, max_size=3))
        open_, close = ("(", ")") if draw(st.integers(0, 7)) else draw(st.sampled_from([("", ""), ("(", ""), ("[", "]")]))
        with_part = f"\n WITH {open_}{', '.join(cols)}{close}"
    tail = draw(st.sampled_from(TAILS))
    junk_end = draw(st.sampled_from(JUNK)) if draw(st.integers(0, 5)) == 0 else ""
    if tail.endswith("WHERE") and junk_end == "?":
        # `WHERE ?` is a well-formed statement: the model bytes bound there are a DataError (BLOB is
        # not BOOLEAN), not a malformed PREDICT clause, which is what this generator is for.
        junk_end = ""
    prefix = draw(st.sampled_from(["SELECT * FROM ", "SELECT *\nFROM\n  ", "SELECT p.score FROM ",
                                   "INSERT INTO out_t SELECT p.score FROM "]))
    return f"{prefix}PREDICT({sep.join(args)}){with_part}{tail} {junk_end}"


def _connection(dialect: str):
    con = sqlpredict.connect(dialect=dialect, autocommit=True)
    con.execute("CREATE TABLE t (f0 REAL, f1 REAL)")
    con.execute("INSERT INTO t VALUES (1, 2), (3, 4)")
    con.execute("CREATE TABLE models (id INT, data BLOB)" if dialect == "duckdb"
                else "CREATE TABLE models (id INT, data VARBINARY(MAX))")
    con.execute("INSERT INTO models VALUES (1, ?)", [MODEL])
    con.execute("CREATE TABLE out_t (score FLOAT)")
    return con


CONNECTIONS = {d: _connection(d) for d in ("tsql", "duckdb")}
GOOD = "SELECT p.score FROM PREDICT(MODEL = ?, DATA = t AS d, RUNTIME = ONNX) WITH (score REAL) AS p ORDER BY 1"


def check_one(dialect: str, sql: str) -> str:
    """Run one fuzzed statement; return 'ok', 'syntax' or 'semantic'; assert the guarantees."""
    con = CONNECTIONS[dialect]
    params = [MODEL] * sql.count("?")
    try:
        con.cursor().execute(sql, params)
        outcome = "ok"
    except sqlpredict.ProgrammingError as exc:
        message = str(exc)
        where = POSITION.search(message)
        if where:
            line, col = int(where.group(1)), int(where.group(2))
            lines = sql.split("\n")
            # T-SQL splits a batch into statements (`WITH ...` after a complete statement starts a new
            # one) and gives the statement's line in the script, and the position as a line of the script.
            script_line = re.search(r"^line (\d+):|statement at line (\d+) of the script", message)
            first = int(next(g for g in script_line.groups() if g)) if script_line else 1
            assert 1 <= first <= line <= len(lines), (sql, message)
            if first == 1 and line == 1 and not script_line:
                assert 0 <= col <= len(lines[0]) + 1, (sql, message)
            elif first == 1:
                assert 0 <= col <= max(len(x) for x in lines) + 1, (sql, message)
            outcome = "syntax"
        else:
            # Parsed, then refused while planning: it names what is wrong.
            assert message.startswith("PREDICT:") or re.search(
                r"(Error|error|parameter|declare|not supported|PREDICT|line \d+)", message), (sql, message)
            outcome = "semantic"
        assert "\x1b[" not in message, message
    except sqlpredict.Error as exc:
        pytest.fail(f"{type(exc).__name__} instead of ProgrammingError for {sql!r}: {exc}")
    assert con.cursor().execute(GOOD, [MODEL]).fetchall() == [(pytest.approx(-5.5),), (pytest.approx(-3.5),)]
    return outcome


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sql=predict_clause())
def test_fuzzed_predict_clause(dialect, sql):
    check_one(dialect, sql)


SYNTAX_CASES = [
    ("SELECT * FROM PREDICT(DATA = t, MODEL = ?)", 1),
    ("SELECT * FROM PREDICT(MODEL = ?)", 1),
    ("SELECT * FROM PREDICT(DATA = t)", 1),
    ("SELECT * FROM PREDICT()", 1),
    ("SELECT * FROM PREDICT(MODEL = ?, MODEL = ?, DATA = t)", 1),
    ("SELECT * FROM PREDICT(MODEL = ?, DATA = t, DATA = t)", 1),
    ("SELECT * FROM PREDICT(MODEL = ?, RUNTIME = ONNX, DATA = t)", 1),
    ("SELECT *\nFROM PREDICT(MODEL ?, DATA = t)", 2),
    ("SELECT *\nFROM\nPREDICT(MODEL = ?, DATA = t, RUNTIME = TF)", 3),
    ("SELECT * FROM PREDICT(MODEL = ?, DATA = t\n", 1),
    ("SELECT * FROM PREDICT(MODEL = ?, DATA = t) WITH score REAL", 1),
    ("SELECT * FROM PREDICT(MODELS = ?, DATA = t)", 1),
    ("SELECT * FROM PREDICT(MODEL = , DATA = t)", 1),
    ("SELECT * FROM PREDICT(MODEL = ?, DATA = )", 1),
    ("SELECT * FROM PREDICT(MODEL = ?; DATA = t)", 1),
]


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
@pytest.mark.parametrize("sql,line", SYNTAX_CASES)
def test_each_grammar_error_gives_its_position(dialect, sql, line):
    con = CONNECTIONS[dialect]
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        con.cursor().execute(sql, [MODEL] * sql.count("?"))
    message = str(info.value)
    # T-SQL reads `WITH score REAL` after a complete statement as the next statement (a CTE).
    assert "PREDICT" in message or (dialect == "tsql" and "Expecting (" in message), message
    where = POSITION.search(message)
    assert where, f"no position in {message!r}"
    assert int(where.group(1)) == line, message


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_with_column_without_type_is_a_programming_error(dialect):
    con = CONNECTIONS[dialect]
    with pytest.raises(sqlpredict.ProgrammingError, match="^PREDICT: WITH column 'score' needs a type"):
        con.cursor().execute("SELECT * FROM PREDICT(MODEL = ?, DATA = t) WITH (score) AS p", [MODEL])
