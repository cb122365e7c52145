"""T-SQL scoring scripts run unchanged (issue 3): one test per construct.

Every test runs a script written the way SQL Server users write it (mixed case,
brackets, leading commas, no semicolons where T-SQL needs none) and ends in a
PREDICT whose numbers are checked against onnxruntime run directly on the same
values. Constructs sqlpredict does not run yet are strict xfails whose reason
says what is missing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sqlpredict
from sqlpredict import engine_calls
from onnx_models import linear, run_direct

MODEL = linear(("f0", "f1"), weights=(2.0, -3.0), bias=0.5)
F0 = [1.5, -1.0, 0.125, 40.25]
F1 = [2.0, 0.25, -7.5, 3.0]
IDS = [1, 2, 3, 4]

SETUP = """
CREATE TABLE [dbo].[Features] (
      [Id] INT NOT NULL
    , [f0] REAL
    , [f1] REAL
)
INSERT INTO [dbo].[Features] ([Id], [f0], [f1])
VALUES (1, 1.5, 2.0)
     , (2, -1.0, 0.25)
     , (3, 0.125, -7.5)
     , (4, 40.25, 3.0)
"""

MODELS_TABLE = """
CREATE TABLE models ([id] [int] IDENTITY(1,1) NOT NULL, [data] [varbinary](max) NULL, [description] varchar(1000))
"""

SCORE = """
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
"""


# ------------------------------------------------------------------ helpers


def direct(f0, f1, model: bytes = MODEL) -> np.ndarray:
    """The model run directly by onnxruntime on the same float32 values."""
    feeds = {"f0": np.array(f0, np.float32).reshape(-1, 1), "f1": np.array(f1, np.float32).reshape(-1, 1)}
    return run_direct(model, feeds)[0].reshape(-1)


def assert_scores(got, f0, f1, model: bytes = MODEL) -> None:
    """PREDICT's scores equal the direct run: bitwise as float32 (same provider, same values)."""
    expected = direct(f0, f1, model)
    values = np.array([float(v) for v in got], np.float64)
    np.testing.assert_array_equal(values.astype(np.float32), expected)


def assert_model_one_scores(con) -> None:
    """The models table's model 1, read into @model, scores the features table as onnxruntime does."""
    rows = run(con, "DECLARE @model VARBINARY(MAX) = (SELECT data FROM models WHERE id = 1)\n" + SCORE)[-1]
    ids, scores = scored(rows)
    assert ids == IDS
    assert_scores(scores, F0, F1)


def result_sets(cur) -> list[list[tuple]]:
    """Every result set of the last execute, in order."""
    sets = []
    while cur.description is not None:
        sets.append(cur.fetchall())
        if not cur.nextset():
            break
    return sets


def run(con, script: str, params=None) -> list[list[tuple]]:
    cur = con.cursor()
    cur.execute(script, params)
    return result_sets(cur)


@pytest.fixture()
def con():
    connection = sqlpredict.connect()
    yield connection
    connection.close()


@pytest.fixture()
def loaded(con):
    """A connection with the features table and the models table holding MODEL as id 1."""
    run(con, MODELS_TABLE + "INSERT INTO models (description, data) VALUES ('linear', ?)\n" + SETUP, [MODEL])
    con.commit()
    return con


def scored(rows: list[tuple]) -> tuple[list[int], list[float]]:
    return [r[0] for r in rows], [r[1] for r in rows]


# ------------------------------------------------------------------ batches


def test_statements_separated_by_semicolons(con):
    sets = run(con, SETUP.replace("\n)\n", "\n);\n") + ";"
               "DECLARE @model VARBINARY(MAX) = ?; SELECT COUNT(*) FROM [dbo].[Features];" + SCORE + ";", [MODEL])
    assert sets[0] == [(4,)]
    ids, scores = scored(sets[1])
    assert ids == IDS
    assert_scores(scores, F0, F1)


def test_statements_on_their_own_lines_without_semicolons(con):
    sets = run(con, SETUP + """
CREATE TABLE [dbo].[Extra] ([Id] INT, [f0] REAL, [f1] REAL)
INSERT INTO [dbo].[Extra] SELECT [Id] + 10, [f0], [f1] FROM [dbo].[Features] WHERE [Id] <= 2
UPDATE [dbo].[Extra] SET [f1] = [f1] * 2 WHERE [Id] = 11
DELETE FROM [dbo].[Extra] WHERE [Id] = 12
SELECT [Id], [f1] FROM [dbo].[Extra]
DECLARE @model VARBINARY(MAX) = ?
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Extra] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
""", [MODEL])
    assert sets[0] == [(11, 4.0)]
    assert sets[1][0][0] == 11
    assert_scores([sets[1][0][1]], [1.5], [4.0])


def test_cte_with_leading_semicolon_after_declare(con):
    sets = run(con, SETUP + """
DECLARE @model VARBINARY(MAX) = ?

;WITH predict_input AS (
    SELECT [Id]
         , CAST([f0] AS REAL) AS [f0]
         , CAST([f1] AS REAL) AS [f1]
    FROM [dbo].[Features]
)
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = predict_input AS d, RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
""", [MODEL])
    ids, scores = scored(sets[0])
    assert ids == IDS
    assert_scores(scores, F0, F1)


def test_go_splits_batches_and_a_variable_lives_for_its_batch(con):
    script = SETUP + "\nGO\nDECLARE @model VARBINARY(MAX) = ?\n" + SCORE + "\ngo\n\nGO -- comment\nSELECT 1 AS [after]\nGO\n"
    sets = run(con, script, [MODEL])
    assert_scores(scored(sets[0])[1], F0, F1)
    assert sets[1] == [(1,)]
    with pytest.raises(sqlpredict.ProgrammingError, match=r"@model"):
        run(con, "DECLARE @model VARBINARY(MAX) = ?\nGO\n" + SCORE, [MODEL])
    assert_scores(scored(run(con, "DECLARE @model VARBINARY(MAX) = ?\n" + SCORE, [MODEL])[0])[1], F0, F1)


def test_go_splits_batches_in_a_script_with_windows_line_ends(con):
    """SSMS saves scripts with CRLF line ends: GO lines split them too, and a CRLF inside a string is kept."""
    script = ("CREATE TABLE notes (n VARCHAR(20))\r\nGO\r\nINSERT INTO notes VALUES ('a\r\nb')\r\n"
              "SELECT n FROM notes\r\ngo 2 \r\nSELECT 2 AS [b] -- done\r\nGO -- end\r\n")
    assert run(con, script) == [[("a\r\nb",)], [("a\r\nb",), ("a\r\nb",)], [(2,)]]
    with pytest.raises(sqlpredict.ProgrammingError, match="line 3: Incorrect syntax near 'GO'"):
        run(con, "SELECT 1 AS [a]\r\nGO\r\nSELECT 2 AS [b]; GO\r\n")


def test_go_n_runs_the_batch_n_times(loaded):
    """GO 3 runs the batch before it three times, as sqlcmd and SSMS do; each run is a batch of its own."""
    sets = run(loaded, """
CREATE TABLE #log ([n] INT, [score] FLOAT)
GO
DECLARE @model VARBINARY(MAX) = ?
DECLARE @k INT = 1
INSERT INTO #log SELECT @k, p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p WHERE d.[Id] = 4
SET @k = @k + 1
SELECT @k AS [k]
GO 3
SELECT COUNT(*) AS [runs], SUM([n]) AS [total] FROM #log
SELECT [score] FROM #log
""", [MODEL])
    assert sets[:3] == [[(2,)]] * 3  # @k starts again at 1 in every run: a variable lives for its batch
    assert sets[3] == [(3, 3)]
    assert_scores([r[0] for r in sets[4]], [F0[3]] * 3, [F1[3]] * 3)
    with pytest.raises(sqlpredict.ProgrammingError, match="GO 0"):
        run(loaded, "INSERT INTO #log VALUES (9, 9)\nGO 0\n")
    assert run(loaded, "SELECT COUNT(*) FROM #log")[0] == [(3,)]


def test_go_n_runs_are_made_one_at_a_time(con):
    """GO with a huge count holds one run at a time: the first run's error ends the script at once."""
    with pytest.raises(sqlpredict.DataError):
        run(con, "SELECT 1 AS [a]\nGO\nSELECT 1 / 0 AS [b]\nGO 100000000000\n")


@pytest.mark.parametrize("script", ["SELECT 1 AS [a]; GO", "SELECT 1 AS [a]; go 2", "SELECT 1 AS [a];GO;"])
def test_go_after_a_statement_on_its_line_is_a_syntax_error(con, script):
    """SQL Server's Msg 102: GO separates batches only on a line of its own, so here it is not one."""
    with pytest.raises(sqlpredict.ProgrammingError, match="line 1: Incorrect syntax near 'GO'"):
        run(con, script)


@pytest.mark.parametrize(("script", "near"), [("SELECT 1 AS [a]; p", "p"), ("SELECT 1 AS [a]\nGO\nSELECT 2; f(1)", "f"),
                                           ("SELECT 1 AS [a]; p q", "p")])
def test_a_name_alone_after_a_statement_is_a_syntax_error(con, script, near):
    """Msg 102: only a batch's first statement may name a procedure without EXEC."""
    with pytest.raises(sqlpredict.ProgrammingError, match=f"Incorrect syntax near '{near}'"):
        run(con, script)


def test_a_procedure_named_without_exec_at_a_batch_start_says_to_write_exec(con):
    with pytest.raises(sqlpredict.NotSupportedError, match="line 3: .*write EXEC p"):
        run(con, "SELECT 1 AS [a]\nGO\np\n")


def test_a_batch_of_comments_only_runs_nothing(con):
    sets = run(con, "SELECT 1 AS [a]\nGO\n-- only a comment\n/* and a block */\nGO\nSELECT 2 AS [b]\nGO\n")
    assert sets == [[(1,)], [(2,)]]


def test_comments_line_and_block(con):
    sets = run(con, """/* Scoring script
   GO ; SELECT 'not a statement'
*/
-- SELECT 'not a statement either';
""" + SETUP + """
DECLARE @model VARBINARY(MAX) = ? -- the model bytes
/* block */ SELECT d.[Id] /* inline */, p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) -- no RUNTIME: older scripts leave it out
WITH ([score] FLOAT) AS p ORDER BY d.[Id] -- done
""", [MODEL])
    assert len(sets) == 1
    assert_scores(scored(sets[0])[1], F0, F1)


def test_set_nocount_on_and_other_session_options(con):
    sets = run(con, """SET NOCOUNT ON
SET ANSI_NULLS ON
SET QUOTED_IDENTIFIER ON
SET TRANSACTION ISOLATION LEVEL READ COMMITTED
GO
SET XACT_ABORT ON;
""" + SETUP + "\nDECLARE @model VARBINARY(MAX) = ?\n" + SCORE, [MODEL])
    assert_scores(scored(sets[0])[1], F0, F1)


def test_several_options_in_one_set_as_ssms_writes_them(con):
    """SSMS scripts begin `SET ANSI_NULLS, QUOTED_IDENTIFIER ON`: every option of the list takes the value."""
    sets = run(con, """SET ANSI_NULLS, QUOTED_IDENTIFIER ON
GO
set nocount, xact_abort on
""" + SETUP + "\nSET ANSI_PADDING, ANSI_WARNINGS, ARITHABORT OFF\nDECLARE @model VARBINARY(MAX) = ?\n" + SCORE, [MODEL])
    ids, scores = scored(sets[0])
    assert ids == IDS
    assert_scores(scores, F0, F1)


def test_set_statistics_is_accepted_and_reports_nothing(con):
    """Tuning scripts start `SET STATISTICS IO, TIME ON`: SQL Server then prints costs, sqlpredict prints none."""
    sets = run(con, "SET STATISTICS IO ON\nSET STATISTICS IO, TIME ON\n" + SETUP
               + "\nDECLARE @model VARBINARY(MAX) = ?\n" + SCORE + "\nSET STATISTICS TIME, IO OFF\n", [MODEL])
    assert len(sets) == 1
    ids, scores = scored(sets[0])
    assert ids == IDS
    assert_scores(scores, F0, F1)
    with pytest.raises(sqlpredict.NotSupportedError, match="SET STATISTICS BOGUS ON"):
        run(con, "SET STATISTICS BOGUS ON\n")


@pytest.mark.parametrize("options", ["FOO_BAR", "ANSI_NULLS, FOO_BAR", "FOO_BAR, QUOTED_IDENTIFIER"])
def test_an_unknown_option_is_refused_alone_or_in_a_list(con, options):
    with pytest.raises(sqlpredict.NotSupportedError, match=r"^line 2: SET FOO_BAR is not supported$"):
        run(con, f"CREATE TABLE [dbo].[Ran] ([a] INT)\nSET {options} ON\n")
    assert run(con, "SELECT table_name FROM information_schema.tables WHERE table_name = 'Ran'") == [[]]


@pytest.mark.parametrize("level", ["READ UNCOMMITTED", "read committed"])
def test_isolation_levels_whose_guarantee_sqlpredict_gives_are_accepted(loaded, level):
    """sqlpredict runs READ COMMITTED, which gives READ UNCOMMITTED's guarantee and more."""
    sets = run(loaded, f"SET TRANSACTION ISOLATION LEVEL {level}\n"
               "DECLARE @model VARBINARY(MAX) = (SELECT data FROM models WHERE id = 1)\n" + SCORE)
    ids, scores = scored(sets[0])
    assert ids == IDS
    assert_scores(scores, F0, F1)


@pytest.mark.parametrize("level, words", [
    ("REPEATABLE READ", ["latest commit"]),
    ("Snapshot", ["latest commit", "when the transaction began"]),
    ("SERIALIZABLE", ["latest commit", "write skew"]),
])
def test_isolation_levels_whose_guarantee_sqlpredict_cannot_give_are_refused(loaded, level, words):
    """Accepting them would promise what a transaction here does not keep: it is refused, with why, and the
    batch runs none of its statements."""
    with pytest.raises(sqlpredict.NotSupportedError) as info:
        run(loaded, f"CREATE TABLE [dbo].[Ran] ([a] INT)\nSET TRANSACTION ISOLATION LEVEL {level}\n")
    message = str(info.value)
    assert "line 2" in message and f"ISOLATION LEVEL {level.upper()} is not supported" in message, message
    for word in words + ["use READ COMMITTED"]:
        assert word in message, (word, message)
    tables = "SELECT table_name FROM information_schema.tables WHERE table_name = 'Ran'"
    assert run(loaded, tables) == [[]]


def test_set_option_on_ends_before_insert_update_delete(loaded):
    """SET NOCOUNT ON ends at ON, as in SQL Server: the DML after it, with no ';' between, runs on its own.

    It is the first line of most stored procedures.
    """
    sets = run(loaded, """
CREATE TABLE [dbo].[Scores] ([Id] INT, [score] FLOAT)
GO
SET NOCOUNT ON
INSERT INTO [dbo].[Scores] ([Id], [score])
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
SET XACT_ABORT ON
UPDATE [dbo].[Scores] SET [score] = -[score] WHERE [Id] = 1
SET ANSI_NULLS ON
DELETE FROM [dbo].[Scores] WHERE [Id] = 4
SELECT [Id], [score] FROM [dbo].[Scores] ORDER BY [Id]
GO
CREATE PROCEDURE dbo.usp_Rescore @id INT
AS
BEGIN
    SET NOCOUNT ON
    DELETE FROM [dbo].[Scores] WHERE [Id] = @id
    INSERT INTO [dbo].[Scores] ([Id], [score])
    SELECT d.[Id], p.[score]
    FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
    WHERE d.[Id] = @id
END
GO
EXEC dbo.usp_Rescore 1
SELECT [Id], [score] FROM [dbo].[Scores] ORDER BY [Id]
""")
    expected = direct(F0[:3], F1[:3])
    ids, scores = scored(sets[0])
    assert ids == [1, 2, 3]
    np.testing.assert_array_equal(np.array(scores, np.float32), expected * np.array([-1, 1, 1], np.float32))
    ids, scores = scored(sets[1])
    assert ids == [1, 2, 3]
    assert_scores(scores, F0[:3], F1[:3])


def test_set_rowcount_0_is_accepted_and_other_counts_refused(loaded):
    """SET ROWCOUNT 0 means no limit; SET ROWCOUNT n would cut every later result at n rows, so it is refused
    rather than ignored (ignoring it would return rows SQL Server does not)."""
    sets = run(loaded, "SET ROWCOUNT 0\nDECLARE @model VARBINARY(MAX) = (SELECT data FROM models WHERE id = 1)\n"
               + SCORE)
    ids, scores = scored(sets[0])
    assert ids == IDS
    assert_scores(scores, F0, F1)
    with pytest.raises(sqlpredict.NotSupportedError, match=r"line 2: SET ROWCOUNT .*TOP \(n\)"):
        run(loaded, "DECLARE @model VARBINARY(MAX) = (SELECT data FROM models WHERE id = 1)\nSET ROWCOUNT 2\n"
            + SCORE)


def test_use_and_three_part_names_warn_once(con):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sets = run(con, "USE [onnx]\nGO\n" + SETUP + """
GO
USE onnx
DECLARE @model VARBINARY(MAX) = ?
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [onnx].[dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
""", [MODEL])
        run(con, "SELECT COUNT(*) FROM [AnyName].[dbo].[Features]")
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1, messages
    assert_scores(scored(sets[0])[1], F0, F1)


def test_use_warning_names_the_database(con):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(con, "USE [onnx]\nGO\n" + SETUP)
    assert any("onnx" in str(w.message) for w in caught)
    assert_scores(scored(run(con, "DECLARE @model VARBINARY(MAX) = ?\n" + SCORE, [MODEL])[0])[1], F0, F1)


def test_three_part_name_without_use_warns(con):
    run(con, SETUP)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sets = run(con, "DECLARE @model VARBINARY(MAX) = ?\n" + SCORE.replace("[dbo].[Features]", "[onnx].[dbo].[Features]"),
                   [MODEL])
    assert_scores(scored(sets[0])[1], F0, F1)
    assert any(issubclass(w.category, UserWarning) for w in caught)


# ------------------------------------------------------------------ variables


def test_declare_several_variables_in_one_statement(loaded):
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
      , @minId INT = 2
      , @label NVARCHAR(20) = N'scored'
      , @unset FLOAT
SELECT @minId AS [minId], @label AS [label], @unset AS [unset]
SELECT d.[Id], p.[score], @label AS [label]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
WHERE d.[Id] >= @minId
ORDER BY d.[Id]
""")
    assert sets[0] == [(2, "scored", None)]
    assert [r[0] for r in sets[1]] == [2, 3, 4]
    assert {r[2] for r in sets[1]} == {"scored"}
    assert_scores([r[1] for r in sets[1]], F0[1:], F1[1:])


def test_set_variable(loaded):
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX)
DECLARE @id INT
SET @model = (SELECT [data] FROM models WHERE [description] = 'linear')
SET @id = 1 + 2
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
WHERE d.[Id] = @id
""")
    assert sets[0][0][0] == 3
    assert_scores([sets[0][0][1]], [F0[2]], [F1[2]])


def test_select_assign_last_row_wins_and_no_row_leaves_the_value(loaded):
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX)
DECLARE @id INT = -1
SELECT @model = [data] FROM models
SELECT @id = [Id] FROM [dbo].[Features] ORDER BY [Id]
SELECT @id AS [last]
SELECT @id = [Id] FROM [dbo].[Features] WHERE [Id] > 100
SELECT @id AS [unchanged]
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
WHERE d.[Id] = @id
""")
    assert sets[0] == [(4,)]
    assert sets[1] == [(4,)]
    assert_scores([sets[2][0][1]], [F0[3]], [F1[3]])


def test_model_equals_variable_and_dbapi_parameter(loaded):
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM [dbo].[models] WHERE [id] = 1)
SELECT p.[score] FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p ORDER BY d.[Id]
SELECT p.[score] FROM PREDICT(MODEL = ?, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p ORDER BY d.[Id]
SELECT p.[score] FROM PREDICT(MODEL = (SELECT [data] FROM models WHERE [id] = 1), DATA = [dbo].[Features] AS d)
WITH ([score] FLOAT) AS p ORDER BY d.[Id]
""", [MODEL])
    assert len(sets) == 3
    for rows in sets:
        assert_scores([r[0] for r in rows], F0, F1)


# ------------------------------------------------------------------ the models table


def test_models_table_identity_numbers_rows_1_2_3(con):
    other = linear(("f0", "f1"), weights=(-1.0, 0.5), bias=2.0)
    sets = run(con, MODELS_TABLE + """
INSERT INTO models (description, data) VALUES ('first', ?)
INSERT INTO models (description, data) VALUES ('second', ?)
INSERT INTO models ([data], [description]) VALUES (?, 'third')
SELECT [id], [description] FROM models ORDER BY [id]
""", [MODEL, other, MODEL])
    assert sets[0] == [(1, "first"), (2, "second"), (3, "third")]
    run(con, SETUP)
    rows = run(con, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 2)
""" + SCORE)[0]
    assert_scores(scored(rows)[1], F0, F1, other)


@pytest.mark.parametrize("path", ["'models/linear.onnx'", "N'models/linear.onnx'"])
def test_openrowset_bulk_single_blob_registers_a_model(con, tmp_path, monkeypatch, path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "linear.onnx").write_bytes(MODEL)
    monkeypatch.chdir(tmp_path)
    held = run(con, f"DECLARE @m VARBINARY(MAX) = (SELECT BulkColumn FROM OPENROWSET(BULK {path}, SINGLE_BLOB) AS x)\n"
                    "SELECT DATALENGTH(@m)")
    assert held == [[(len(MODEL),)]]
    sets = run(con, MODELS_TABLE + f"""
INSERT INTO models (description, data)
SELECT 'linear model', BulkColumn
FROM OPENROWSET(BULK {path}, SINGLE_BLOB) AS f
GO
""" + SETUP + """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [description] = 'linear model')
SELECT [id], [description] FROM models
""" + SCORE)
    assert sets[0] == [(1, "linear model")]
    assert_scores(scored(sets[1])[1], F0, F1)


def test_openrowset_missing_file_is_a_clear_error(loaded, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        run(loaded, """
INSERT INTO models (description, data)
SELECT 'missing', BulkColumn FROM OPENROWSET(BULK 'no/such/model.onnx', SINGLE_BLOB) AS f
""")
    message = str(info.value)
    assert "no/such/model.onnx" in message and "no such file" in message
    assert run(loaded, "SELECT COUNT(*) FROM models")[0] == [(1,)]
    assert_scores(scored(run(loaded, "DECLARE @model VARBINARY(MAX) = (SELECT data FROM models WHERE id = 1)\n"
                                     + SCORE)[0])[1], F0, F1)


def test_exec_sp_describe_model(loaded):
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
EXEC sp_describe_model @model = @model
EXECUTE sp_describe_model @model
""" + SCORE)
    for rows in sets[:2]:
        assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
            ("input", "f0", "tensor(float)", "real"),
            ("input", "f1", "tensor(float)", "real"),
            ("output", "score", "tensor(float)", "real"),
        ]
    assert_scores(scored(sets[2])[1], F0, F1)


# ------------------------------------------------------------------ temp tables


def test_temp_table_with_bracketed_qualifier(loaded):
    sets = run(loaded, """
CREATE TABLE #TempNewResults ([Id] INT, [timestamp] DATETIME, [f0] REAL, [f1] REAL)
INSERT INTO #TempNewResults
SELECT [Id], DATEADD(hour, [Id], CAST('2024-01-01' AS DATETIME)), [f0], [f1] FROM [dbo].[Features]
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
SELECT [#TempNewResults].[Id], [#TempNewResults].[timestamp], p.[score]
FROM PREDICT(MODEL = @model, DATA = [#TempNewResults], RUNTIME = ONNX) WITH ([score] FLOAT) AS p
ORDER BY [#TempNewResults].[Id]
""")
    rows = sets[0]
    assert [r[0] for r in rows] == IDS
    assert rows[0][1] == dt.datetime(2024, 1, 1, 1)
    assert_scores([r[2] for r in rows], F0, F1)


def test_select_into_temp_table_lives_for_the_connection(loaded):
    run(loaded, "SELECT [Id], [f0], [f1] INTO #scoring FROM [dbo].[Features] WHERE [Id] IN (2, 4)")
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
SELECT d.[Id], p.[score] FROM PREDICT(MODEL = @model, DATA = #scoring AS d) WITH ([score] FLOAT) AS p ORDER BY d.[Id]
""")
    assert [r[0] for r in sets[0]] == [2, 4]
    assert_scores([r[1] for r in sets[0]], [F0[1], F0[3]], [F1[1], F1[3]])


# ------------------------------------------------------------------ views


@pytest.mark.parametrize("lookup", ["catalog call", "bind"])
def test_view_over_predict_stored_in_the_file_and_dropped(tmp_path, lookup, monkeypatch):
    """Whether the views' table exists comes from DuckDB's catalog, or where a DuckDB cannot say
    (engine_calls.name_exists), from binding a SELECT over it."""
    if lookup == "bind":
        monkeypatch.setattr(engine_calls, "name_exists", lambda con, schema, name: None)
    path = str(tmp_path / "scores.duckdb")
    con = sqlpredict.connect(path)
    run(con, MODELS_TABLE + "INSERT INTO models (description, data) VALUES ('linear', ?)\n" + SETUP, [MODEL])
    sets = run(con, """
GO
CREATE VIEW [dbo].[Feature Scores]
AS
SELECT d.[Id]
     , p.[score]
FROM PREDICT(MODEL = (SELECT [data] FROM [dbo].[models] WHERE [id] = 1)
           , DATA = [dbo].[Features] AS d
           , RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
GO
SELECT [Id], [score] FROM [dbo].[Feature Scores] ORDER BY [Id]
""")
    assert_scores(scored(sets[0])[1], F0, F1)
    con.commit()
    con.close()

    con = sqlpredict.connect(path)
    rows = run(con, "SELECT v.[Id], v.[score] FROM [Feature Scores] AS v WHERE v.[Id] > 1 ORDER BY v.[Id]")[0]
    assert [r[0] for r in rows] == [2, 3, 4]
    assert_scores([r[1] for r in rows], F0[1:], F1[1:])
    run(con, "DROP VIEW [dbo].[Feature Scores]")
    with pytest.raises(sqlpredict.ProgrammingError):
        run(con, "SELECT * FROM [Feature Scores]")
    con.commit()
    con.close()

    con = sqlpredict.connect(path)
    with pytest.raises(sqlpredict.ProgrammingError):
        run(con, "SELECT * FROM [dbo].[Feature Scores]")
    assert_model_one_scores(con)
    con.close()


def test_views_over_a_predict_view_at_any_depth_survive_reopening(tmp_path):
    path = str(tmp_path / "scores.duckdb")
    con = sqlpredict.connect(path)
    run(con, MODELS_TABLE + "INSERT INTO models (description, data) VALUES ('linear', ?)\n" + SETUP, [MODEL])
    run(con, """
GO
CREATE VIEW dbo.v_scores AS
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = (SELECT [data] FROM [dbo].[models] WHERE [id] = 1), DATA = [dbo].[Features] AS d)
WITH ([score] FLOAT) AS p
GO
CREATE VIEW dbo.v_top AS SELECT [Id], [score] FROM dbo.v_scores WHERE [Id] > 1
GO
CREATE VIEW dbo.v_best AS SELECT MAX(t.[score]) AS best, COUNT(*) AS n FROM [dbo].[v_top] AS t
GO
""")
    expected = direct(F0, F1)
    assert run(con, "SELECT best, n FROM dbo.v_best")[0] == [(float(expected[1:].max()), 3)]
    con.commit()
    con.close()

    con = sqlpredict.connect(path)
    rows = run(con, "SELECT [Id], [score] FROM dbo.v_top ORDER BY [Id]")[0]
    assert [r[0] for r in rows] == [2, 3, 4]
    assert_scores([r[1] for r in rows], F0[1:], F1[1:])
    assert run(con, "SELECT best, n FROM v_best")[0] == [(float(expected[1:].max()), 3)]
    con.close()


SCORES_VIEW = """
CREATE {} VIEW [dbo].[Results] AS
SELECT d.[Id], p.[score] FROM PREDICT(MODEL = (SELECT [data] FROM models WHERE [id] = 1), DATA = [dbo].[Features] AS d)
WITH ([score] FLOAT) AS p
"""


def test_a_view_and_a_table_cannot_share_a_name(loaded):
    run(loaded, "CREATE TABLE [dbo].[Results] ([Id] INT, [score] FLOAT)\nINSERT INTO [Results] VALUES (99, 9.5)")
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        run(loaded, SCORES_VIEW.format(""))
    assert str(info.value).startswith("There is already an object named 'Results' in the database (a table)")
    assert run(loaded, "SELECT [Id], [score] FROM dbo.Results")[0] == [(99, 9.5)]

    run(loaded, "DROP TABLE [Results]\nGO\n" + SCORES_VIEW.format(""))
    for statement in ("CREATE TABLE [dbo].[Results] ([Id] INT)", "SELECT [Id] INTO Results FROM [dbo].[Features]",
                      "CREATE VIEW Results AS SELECT 1 AS [Id]"):
        with pytest.raises(sqlpredict.ProgrammingError) as info:
            run(loaded, statement)
        assert str(info.value).startswith("There is already an object named 'Results' in the database"), statement
    rows = run(loaded, "SELECT [Id], [score] FROM dbo.Results ORDER BY [Id]")[0]
    assert [r[0] for r in rows] == IDS
    assert_scores([r[1] for r in rows], F0, F1)


def test_create_or_alter_view_replaces_a_view_of_either_kind(loaded):
    run(loaded, "CREATE VIEW [dbo].[Results] AS SELECT 1 AS [Id]\nGO\n" + SCORES_VIEW.format("OR ALTER"))
    rows = run(loaded, "SELECT [Id], [score] FROM Results ORDER BY [Id]")[0]
    assert_scores([r[1] for r in rows], F0, F1)
    run(loaded, "CREATE OR ALTER VIEW [dbo].[Results] AS SELECT 7 AS [Id]")
    assert run(loaded, "SELECT * FROM Results")[0] == [(7,)]


# ------------------------------------------------------------------ INSERT, MERGE, SELECT @v = from PREDICT


def test_insert_select_data_star_and_output_by_position(loaded):
    sets = run(loaded, """
CREATE TABLE [dbo].[Scored] ([Id] INT, [f0] REAL, [f1] REAL, [Score] FLOAT, [ScoredAt] DATETIME2(7))
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
INSERT INTO [dbo].[Scored]
SELECT d.*, p.[score], SYSDATETIME()
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
SELECT [Id], [f0], [f1], [Score] FROM [dbo].[Scored] ORDER BY [Id]
""")
    rows = sets[0]
    assert [r[0] for r in rows] == IDS
    assert [r[1] for r in rows] == F0 and [r[2] for r in rows] == F1
    assert_scores([r[3] for r in rows], F0, F1)


def test_insert_with_column_list_select_from_predict(loaded):
    sets = run(loaded, """
CREATE TABLE [dbo].[Predictions] ([PredictionId] INT IDENTITY(1,1), [FeatureId] INT, [Predicted] FLOAT)
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
INSERT INTO [dbo].[Predictions] ([FeatureId], [Predicted])
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
WHERE d.[Id] <> 3
SELECT [PredictionId], [FeatureId], [Predicted] FROM [dbo].[Predictions] ORDER BY [FeatureId]
""")
    rows = sets[0]
    assert sorted(r[0] for r in rows) == [1, 2, 3]
    assert [r[1] for r in rows] == [1, 2, 4]
    assert_scores([r[2] for r in rows], [F0[0], F0[1], F0[3]], [F1[0], F1[1], F1[3]])


def test_merge_using_select_from_predict(loaded):
    sets = run(loaded, """
CREATE TABLE [dbo].[Latest] ([Id] INT, [Score] FLOAT, [Updated] BIT)
INSERT INTO [dbo].[Latest] VALUES (1, 0, 0), (3, 0, 0), (99, 5, 0)
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
MERGE [dbo].[Latest] AS tgt
USING (
    SELECT d.[Id], p.[score]
    FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
) AS src
ON tgt.[Id] = src.[Id]
WHEN MATCHED THEN
    UPDATE SET tgt.[Score] = src.[score], tgt.[Updated] = 1
WHEN NOT MATCHED BY TARGET THEN
    INSERT ([Id], [Score], [Updated]) VALUES (src.[Id], src.[score], 0);
SELECT [Id], [Score], [Updated] FROM [dbo].[Latest] ORDER BY [Id]
""")
    rows = sets[0]
    assert [r[0] for r in rows] == [1, 2, 3, 4, 99]
    assert [r[2] for r in rows] == [True, False, True, False, False]
    assert rows[-1][1] == 5
    assert_scores([r[1] for r in rows[:4]], F0, F1)


def test_update_from_predict_and_merge_using_predict_read_its_aliases(loaded):
    sets = run(loaded, """
CREATE TABLE [dbo].[Latest] ([Id] INT, [Score] FLOAT)
INSERT INTO [dbo].[Latest] VALUES (1, 0), (3, 0), (99, 5)
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
UPDATE [dbo].[Latest] SET [Score] = p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
WHERE [Latest].[Id] = d.[Id]
SELECT [Id], [Score] FROM [dbo].[Latest] ORDER BY [Id]
MERGE [dbo].[Latest] AS tgt
USING PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
ON tgt.[Id] = d.[Id]
WHEN MATCHED AND d.[Id] = 3 THEN UPDATE SET tgt.[Score] = -p.[score]
WHEN NOT MATCHED BY TARGET THEN INSERT ([Id], [Score]) VALUES (d.[Id], p.[score]);
SELECT [Id], [Score] FROM [dbo].[Latest] ORDER BY [Id]
""")
    expected = direct(F0, F1)
    assert [r[0] for r in sets[0]] == [1, 3, 99] and sets[0][2][1] == 5
    assert_scores([r[1] for r in sets[0][:2]], [F0[0], F0[2]], [F1[0], F1[2]])
    assert [r[0] for r in sets[1]] == [1, 2, 3, 4, 99]
    scores = [r[1] for r in sets[1][:4]]
    scores[2] = -scores[2]
    np.testing.assert_array_equal(np.array(scores, np.float32), expected)


def test_select_assign_from_predict(loaded):
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
DECLARE @score FLOAT, @id INT
SELECT @id = d.[Id], @score = p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
SELECT @id AS [id], @score AS [score]
""")
    assert sets[0][0][0] == 4
    assert_scores([sets[0][0][1]], [F0[3]], [F1[3]])


# ------------------------------------------------------------------ stored procedures

PROCEDURE = """
CREATE PROCEDURE [dbo].[usp_ScoreFeature]
      @FeatureId INT
    , @Scale FLOAT = 1.0
    , @ModelName VARCHAR(100) = 'linear'
    , @Result FLOAT OUTPUT
AS
BEGIN
    SET NOCOUNT ON

    DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM [dbo].[models] WHERE [description] = @ModelName)

    SELECT @Result = p.[score] * @Scale
    FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX)
    WITH ([score] FLOAT) AS p
    WHERE d.[Id] = @FeatureId

    SELECT d.[Id], p.[score]
    FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX)
    WITH ([score] FLOAT) AS p
    WHERE d.[Id] = @FeatureId
END
"""


def test_procedure_defaults_named_and_positional_exec_and_output(loaded):
    sets = run(loaded, "GO\n" + PROCEDURE + """
GO
DECLARE @r FLOAT
EXEC [dbo].[usp_ScoreFeature] @FeatureId = 2, @Result = @r OUTPUT
SELECT @r AS [r]
GO
DECLARE @r FLOAT
EXEC usp_ScoreFeature 3, 2.0, 'linear', @r OUTPUT
SELECT @r AS [r]
GO
DECLARE @r FLOAT = 123
EXECUTE dbo.usp_ScoreFeature @FeatureId = 4, @Scale = 10, @Result = @r
SELECT @r AS [not written back without OUTPUT]
""")
    expected = direct(F0, F1)
    assert sets[0] == [(2, pytest.approx(float(expected[1])))]
    assert_scores([sets[1][0][0]], [F0[1]], [F1[1]])
    assert_scores([sets[2][0][1]], [F0[2]], [F1[2]])
    assert sets[3][0][0] == float(expected[2]) * 2.0
    assert sets[5] == [(123,)]


def test_procedure_is_stored_in_the_file_and_callproc_runs_it(tmp_path):
    path = str(tmp_path / "procs.duckdb")
    con = sqlpredict.connect(path)
    run(con, MODELS_TABLE + "INSERT INTO models (description, data) VALUES ('linear', ?)\n" + SETUP, [MODEL])
    run(con, PROCEDURE)
    con.commit()
    con.close()

    con = sqlpredict.connect(path)
    sets = run(con, "DECLARE @r FLOAT\nEXEC [dbo].[usp_ScoreFeature] @FeatureId = 1, @Result = @r OUTPUT\nSELECT @r")
    assert_scores([sets[1][0][0]], [F0[0]], [F1[0]])
    cur = con.cursor()
    out = cur.callproc("usp_ScoreFeature", [4, 1.0, "linear", None])
    assert out[:3] == [4, 1.0, "linear"]
    assert cur.fetchall()[0][0] == 4
    assert_scores([out[3]], [F0[3]], [F1[3]])
    out = cur.callproc("[dbo].[usp_ScoreFeature]", [3, 1.0, "linear", None])
    assert_scores([out[3]], [F0[2]], [F1[2]])
    con.close()


# ------------------------------------------------------------------ procedure bodies checked at CREATE

BAD_BODIES = {
    "syntax error": (sqlpredict.ProgrammingError, "Expected table name", "    SELECT [Id] FROM WHERE (\n"),
    "WHILE": (sqlpredict.NotSupportedError, "WHILE", "    WHILE @id < 3\n        SET @id = @id + 1\n"),
    "cursor": (sqlpredict.NotSupportedError, "cursor",
               "    DECLARE c CURSOR FOR SELECT [Id] FROM [dbo].[Features]\n    OPEN c\n"),
    "PRINT": (sqlpredict.NotSupportedError, "PRINT", "    PRINT 'scored'\n"),
}


def bad_procedure(verb: str, bad: str) -> str:
    """A script whose third batch creates a procedure with the bad statement on line 8 of the script."""
    return (f"SELECT 1 AS [before]\nGO\n{verb} PROCEDURE dbo.usp_Checked @id INT\nAS\nBEGIN\n"
            f"    SET NOCOUNT ON\n    SELECT [Id] FROM [dbo].[Features] WHERE [Id] = @id\n{BAD_BODIES[bad][2]}END\n")


@pytest.mark.parametrize("bad", list(BAD_BODIES))
def test_a_procedure_body_sqlpredict_would_refuse_is_refused_at_create_and_not_stored(loaded, bad):
    """SQL Server compiles the whole body at CREATE PROCEDURE: the error comes then, with its line in the
    script, and nothing is stored, so EXEC finds no procedure."""
    error, words, _ = BAD_BODIES[bad]
    with pytest.raises(error) as info:
        run(loaded, bad_procedure("CREATE", bad))
    message = str(info.value)
    assert "line 8" in message and words.lower() in message.lower(), message
    with pytest.raises(sqlpredict.ProgrammingError, match="Could not find stored procedure 'usp_Checked'"):
        run(loaded, "EXEC dbo.usp_Checked 1")


@pytest.mark.parametrize("bad", ["syntax error", "WHILE"])
def test_create_or_alter_with_a_refused_body_keeps_the_old_procedure(loaded, bad):
    run(loaded, "CREATE PROCEDURE dbo.usp_Checked @id INT AS SELECT @id * 10 AS [old]")
    with pytest.raises(BAD_BODIES[bad][0], match="line 8"):
        run(loaded, bad_procedure("CREATE OR ALTER", bad))
    assert run(loaded, "EXEC dbo.usp_Checked 2") == [[(20,)]]


def test_a_procedure_may_name_a_table_that_is_created_later(loaded):
    """Deferred name resolution: only the body's text is checked at CREATE, its tables when it runs."""
    run(loaded, """
CREATE PROCEDURE dbo.usp_ScoreLater @id INT
AS
    DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
    SELECT d.[Id], d.[note], p.[score]
    FROM PREDICT(MODEL = @model, DATA = [dbo].[Later] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
    WHERE d.[Id] >= @id
    ORDER BY d.[Id]
""")
    with pytest.raises(sqlpredict.Error, match="Later"):
        run(loaded, "EXEC dbo.usp_ScoreLater 1")
    run(loaded, "SELECT [Id], [f0], [f1], 'n' + CAST([Id] AS VARCHAR(3)) AS [note] INTO [dbo].[Later] "
                "FROM [dbo].[Features]")
    rows = run(loaded, "EXEC dbo.usp_ScoreLater @id = 3")[0]
    assert [r[:2] for r in rows] == [(3, "n3"), (4, "n4")]
    assert_scores([r[2] for r in rows], F0[2:], F1[2:])


def test_a_procedure_using_its_parameters_in_a_predict_is_accepted_and_scores(loaded):
    run(loaded, """
CREATE PROCEDURE dbo.usp_ScoreFrom
      @FromId INT
    , @Model VARBINARY(MAX)
AS
BEGIN
    SELECT d.[Id], p.[score]
    FROM PREDICT(MODEL = @Model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
    WHERE d.[Id] >= @FromId
    ORDER BY d.[Id]
END
""")
    ids, scores = scored(run(loaded, "EXEC dbo.usp_ScoreFrom @FromId = 2, @Model = ?", [MODEL])[0])
    assert ids == [2, 3, 4]
    assert_scores(scores, F0[1:], F1[1:])


def test_a_procedures_temp_tables_are_dropped_when_it_ends_so_it_runs_again(loaded):
    """SQL Server drops the #temp tables a procedure made at its end; the caller's own #temp tables stay."""
    run(loaded, """
CREATE PROCEDURE dbo.usp_ScoreInto @id INT
AS
    SELECT d.[Id], p.[score] INTO #scored
    FROM PREDICT(MODEL = (SELECT [data] FROM models WHERE [id] = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
    WHERE d.[Id] = @id
    INSERT INTO #kept SELECT [Id] FROM #scored
    SELECT [Id], [score] FROM #scored
""")
    run(loaded, "CREATE TABLE #kept ([Id] INT)")
    for k in (1, 2):
        ids, scores = scored(run(loaded, f"EXEC dbo.usp_ScoreInto {k}")[0])
        assert ids == [k]
        assert_scores(scores, [F0[k - 1]], [F1[k - 1]])
    assert run(loaded, "SELECT [Id] FROM #kept ORDER BY [Id]") == [[(1,), (2,)]]
    with pytest.raises(sqlpredict.ProgrammingError, match="scored"):
        run(loaded, "SELECT * FROM #scored")
    cur = loaded.cursor()
    cur.callproc("dbo.usp_ScoreInto", [3])
    assert cur.fetchall()[0][0] == 3


def test_drop_procedure(loaded):
    run(loaded, "CREATE PROCEDURE dbo.p1 AS SELECT 1 AS one\nGO\nCREATE PROC p2 AS SELECT 2 AS two")
    run(loaded, "DROP PROCEDURE dbo.p1\nDROP PROC IF EXISTS p2\nDROP PROCEDURE IF EXISTS never_made")
    for name in ("p1", "p2"):
        with pytest.raises(sqlpredict.ProgrammingError, match=f"Could not find stored procedure '{name}'"):
            run(loaded, f"EXEC {name}")
    with pytest.raises(sqlpredict.ProgrammingError, match="Cannot drop the procedure 'p1', because it does not exist"):
        run(loaded, "DROP PROCEDURE p1")


def test_alter_view_changes_an_existing_view(loaded):
    run(loaded, """
CREATE VIEW dbo.vp AS SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = (SELECT [data] FROM models WHERE [id] = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
GO
CREATE VIEW dbo.vplain AS SELECT [Id] FROM [dbo].[Features]
GO
ALTER VIEW dbo.vp AS SELECT d.[Id], p.[score] * 2 AS [twice]
FROM PREDICT(MODEL = (SELECT [data] FROM models WHERE [id] = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
GO
ALTER VIEW dbo.vplain ([Key]) AS SELECT [Id] * 10 FROM [dbo].[Features]
""")
    rows = run(loaded, "SELECT [Id], [twice] FROM dbo.vp ORDER BY [Id]")[0]
    assert [r[0] for r in rows] == IDS
    np.testing.assert_array_equal(np.array([r[1] for r in rows]), 2 * direct(F0, F1).astype(np.float64))
    assert run(loaded, "SELECT [Key] FROM dbo.vplain ORDER BY [Key]") == [[(10,), (20,), (30,), (40,)]]
    with pytest.raises(sqlpredict.ProgrammingError, match="Invalid object name 'nothere'.*ALTER VIEW changes"):
        run(loaded, "ALTER VIEW nothere AS SELECT 1 AS one")
    with pytest.raises(sqlpredict.ProgrammingError, match="'Features' is a table, not a view"):
        run(loaded, "ALTER VIEW dbo.Features AS SELECT 1 AS one")


def test_a_predict_views_column_list_names_its_columns(loaded):
    """CREATE VIEW v (a, b) AS ... and ALTER VIEW v (a, b) AS ... over PREDICT name the view's columns."""
    body = ("SELECT d.[Id], p.[score] FROM PREDICT(MODEL = (SELECT [data] FROM models WHERE [id] = 1), "
            "DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p")
    run(loaded, f"CREATE VIEW dbo.named ([key], [value]) AS {body}")
    cur = loaded.cursor()
    rows = cur.execute("SELECT * FROM dbo.named ORDER BY [key]").fetchall()
    assert [c[0] for c in cur.description] == ["key", "value"] and [r[0] for r in rows] == IDS
    assert_scores([r[1] for r in rows], F0, F1)
    run(loaded, f"ALTER VIEW dbo.named ([k2], [v2]) AS {body} WHERE d.[Id] > 2")
    rows = cur.execute("SELECT [k2], [v2] FROM dbo.named ORDER BY [k2]").fetchall()
    assert [r[0] for r in rows] == [3, 4]
    assert_scores([r[1] for r in rows], F0[2:], F1[2:])


@pytest.mark.parametrize(("script", "message"), [
    ("CREATE VIEW dbo.vv AS SELECT 1 AS one\nSELECT 2 AS two",
     "line 2: CREATE VIEW must be the only statement in its batch.*put GO on the line after"),
    ("SELECT 0 AS zero\nALTER VIEW dbo.vv AS\nWITH c AS (SELECT 1 AS one) SELECT one FROM c\nSELECT 2 AS two",
     "line 3: ALTER VIEW must be the only statement in its batch"),
    ("SET NOCOUNT ON\nCREATE PROCEDURE dbo.pa AS SELECT 1 AS one",
     "line 3: CREATE PROCEDURE must be the first statement in a batch.*put GO on the line before it"),
    ("DECLARE @x INT = 1\nSELECT @x\nDECLARE @x VARCHAR(3) = 'abc'", "line 4: The variable name '@x' has already "
     "been declared"),
    ("DECLARE @a INT, @a INT", "line 2: The variable name '@a' has already been declared"),
])
def test_what_sql_server_refuses_when_it_compiles_a_batch_runs_none_of_it(con, script, message):
    """Msg 111 (CREATE VIEW alone, CREATE PROCEDURE first) and Msg 134 (a variable declared twice)."""
    run(con, "CREATE TABLE marks ([n] INT)")
    with pytest.raises(sqlpredict.ProgrammingError, match=message):
        run(con, "INSERT INTO marks VALUES (1)\n" + script)  # the statements start at line 2
    assert run(con, "SELECT COUNT(*) FROM marks") == [[(0,)]]
    view = "CREATE VIEW dbo.vw AS\nWITH c AS (SELECT 1 AS one)\nSELECT one FROM c\nUNION ALL\nSELECT 2"
    run(con, view)  # alone in its batch, a view's query may start with WITH and hold UNION
    assert run(con, "SELECT one FROM dbo.vw ORDER BY one") == [[(1,), (2,)]]


def test_comments_may_come_before_create_procedure(loaded):
    """SSMS's procedure template opens with a comment block; the CREATE is still the batch's first statement."""
    run(loaded, "-- ====\n-- Author: me\n-- ====\n/* more */\nCREATE PROCEDURE dbo.commented AS SELECT 1 AS [one]")
    assert run(loaded, "EXEC dbo.commented") == [[(1,)]]


def test_a_procedure_parameter_declared_again_in_the_body_is_refused_at_create(loaded):
    with pytest.raises(sqlpredict.ProgrammingError, match="The variable name '@id' has already been declared"):
        run(loaded, "CREATE PROCEDURE dbo.dup @id INT AS\nDECLARE @id INT = 2\nSELECT @id")
    with pytest.raises(sqlpredict.ProgrammingError, match="Could not find stored procedure 'dup'"):
        run(loaded, "EXEC dbo.dup 1")


@pytest.mark.parametrize(("statement", "message"), [
    ("INSERT INTO #t EXEC dbo.p1", "INSERT ... EXEC is outside what sqlpredict runs"),
    ("INSERT #t ([n]) EXECUTE dbo.p1 2", "INSERT ... EXEC is outside what sqlpredict runs"),
    ("SELECT SCOPE_IDENTITY() AS [id]", "SCOPE_IDENTITY\\(\\) is outside what sqlpredict runs.*OUTPUT INSERTED"),
    ("SELECT IDENT_CURRENT('models')", "IDENT_CURRENT\\(\\) is outside what sqlpredict runs"),
])
def test_statements_outside_what_sqlpredict_runs_say_what_to_write(con, statement, message):
    run(con, "CREATE TABLE #t ([n] INT)\nGO\nCREATE PROCEDURE dbo.p1 @n INT = 1 AS SELECT @n AS [n]")
    with pytest.raises(sqlpredict.NotSupportedError, match=message):
        run(con, "INSERT INTO #t VALUES (1)\n" + statement)
    assert run(con, "SELECT COUNT(*) FROM #t") == [[(0,)]]


def test_a_syntax_errors_position_is_counted_in_the_script(con):
    with pytest.raises(sqlpredict.ProgrammingError, match=r"^line 3: .*Line 4, Col: "):
        run(con, "SELECT 1 AS [a]\n\nSELECT [b]\nFROM (SELECT 2 AS [b]) AS s WHERE WHERE 1 = 1")


# ------------------------------------------------------------------ outside what sqlpredict runs

UNSUPPORTED = {
    "IF": ("IF", "IF @n > 0\n    SELECT 1\n"),
    "IF BEGIN": ("IF", "IF EXISTS (SELECT 1 FROM models)\nBEGIN\n    SELECT 1\nEND\n"),
    "WHILE": ("WHILE", "WHILE @n < 3\n    SET @n = @n + 1\n"),
    "TRY/CATCH": ("TRY", "BEGIN TRY\n    SELECT 1 / 0\nEND TRY\nBEGIN CATCH\n    SELECT 0\nEND CATCH\n"),
    "cursor": ("CURSOR", "DECLARE c CURSOR FOR SELECT [id] FROM models\nOPEN c\n"),
    "EXEC('...')": ("dynamic SQL", "EXEC('SELECT 1')\n"),
    "EXEC (@sql)": ("dynamic SQL", "EXEC (@n)\n"),
    "sp_executesql": ("sp_executesql", "EXEC sp_executesql N'SELECT @x', N'@x INT', @x = 1\n"),
    "OPEN cursor": ("cursor", "OPEN c\n"),
    "DEALLOCATE cursor": ("cursor", "DEALLOCATE c\n"),
    "RAISERROR": ("RAISERROR", "RAISERROR('no model', 16, 1)\n"),
    "GOTO": ("control flow", "GOTO done\n"),
    "RETURN": ("control flow", "RETURN\n"),
}


@pytest.mark.parametrize("construct", list(UNSUPPORTED))
def test_control_flow_and_dynamic_sql_are_not_supported(loaded, construct):
    word, body = UNSUPPORTED[construct]
    script = "-- line 1\nDECLARE @n INT = 1\n" + body  # the construct begins on line 3
    with pytest.raises(sqlpredict.NotSupportedError) as info:
        run(loaded, script)
    message = str(info.value)
    assert word.lower() in message.lower(), message
    assert "line 3" in message, message
    assert_model_one_scores(loaded)


REFUSED = {
    "PRINT": "PRINT 'done'\n",
    "IF": "IF @n > 0\n    SELECT 1\n",
    "WHILE": "WHILE @n < 3\n    SET @n = @n + 1\n",
    "@@ROWCOUNT": "SELECT @@ROWCOUNT AS [rc]\n",
    "RAISERROR": "RAISERROR('no model', 16, 1)\n",
    "syntax error": "INSERT INTO [dbo].[Scores] VALUES (1,\n",
}


@pytest.mark.parametrize("autocommit", [False, True])
@pytest.mark.parametrize("construct", list(REFUSED))
def test_a_batch_with_a_refused_statement_runs_none_of_it(construct, autocommit):
    """SQL Server compiles a whole batch before it runs any of it: the statements before the refused one
    have not run either, and the batches before that batch have."""
    con = sqlpredict.connect(autocommit=autocommit)
    run(con, MODELS_TABLE + "INSERT INTO models (description, data) VALUES ('linear', ?)\n" + SETUP, [MODEL])
    con.commit()
    script = """CREATE TABLE [dbo].[Ran] ([a] INT)
GO
DECLARE @n INT = 1
CREATE TABLE [dbo].[Scores] ([Id] INT, [score] FLOAT)
INSERT INTO [dbo].[Scores] ([Id], [score])
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
DELETE FROM [dbo].[Features] WHERE [Id] = 1
""" + REFUSED[construct]
    cur = con.cursor()
    with pytest.raises((sqlpredict.NotSupportedError, sqlpredict.ProgrammingError), match="line 9"):
        cur.execute(script)
    assert run(con, "SELECT COUNT(*) FROM [dbo].[Features]")[0] == [(4,)]
    tables = "SELECT table_name FROM information_schema.tables WHERE table_name IN ('Ran', 'Scores')"
    assert run(con, tables)[0] == [("Ran",)]
    con.close()


def test_print_is_refused_with_what_to_write_instead(loaded):
    with pytest.raises(sqlpredict.NotSupportedError) as info:
        run(loaded, "DECLARE @n INT = 4\nPRINT 'rows: ' + CAST(@n AS VARCHAR(10))\n")
    message = str(info.value)
    assert "line 2" in message and "PRINT 'rows: '" in message, message
    assert "SELECT <expression> AS [message]" in message, message


SYSTEM_VARIABLES = {
    "SELECT": ("@@ROWCOUNT", "SELECT @@ROWCOUNT AS [rc]"),
    "SET": ("@@IDENTITY", "SET @n = @@IDENTITY"),
    "DECLARE": ("@@VERSION", "DECLARE @v VARCHAR(200) = @@version"),
    "SELECT @v =": ("@@ROWCOUNT", "SELECT @n = @@ROWCOUNT FROM models"),
}


@pytest.mark.parametrize("where", list(SYSTEM_VARIABLES))
def test_system_variables_are_not_supported_and_named(loaded, where):
    name, statement = SYSTEM_VARIABLES[where]
    with pytest.raises(sqlpredict.NotSupportedError) as info:
        run(loaded, "-- line 1\nDECLARE @n INT = 1\n" + statement)
    message = str(info.value)
    assert name in message and "line 3" in message, message


# ------------------------------------------------------------------ the T-SQL the samples use


def test_top_in_parentheses_and_bare(loaded):
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT TOP (1) [data] FROM models ORDER BY [id] DESC)
DECLARE @n INT = 2
SELECT TOP (2) d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p ORDER BY p.[score] DESC
SELECT TOP 1 d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p ORDER BY d.[Id] DESC
SELECT TOP (@n) d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p ORDER BY d.[Id]
""")
    expected = direct(F0, F1)
    order = np.argsort(-expected, kind="stable")[:2]
    assert [r[0] for r in sets[0]] == [IDS[i] for i in order]
    assert_scores([r[1] for r in sets[0]], [F0[i] for i in order], [F1[i] for i in order])
    assert [r[0] for r in sets[1]] == [4]
    assert_scores([sets[1][0][1]], [F0[3]], [F1[3]])
    assert [r[0] for r in sets[2]] == [1, 2]


def test_top_with_ties_keeps_every_row_tied_with_the_last(loaded):
    """TOP (n) [PERCENT] WITH TIES returns the first n rows and every row tied with the n-th, as SQL Server."""
    f0, f1 = F0 + [F0[2]], F1 + [F1[2]]  # row 5 scores exactly as row 3
    scores = direct(f0, f1)
    sets = run(loaded, """
INSERT INTO [dbo].[Features] ([Id], [f0], [f1]) VALUES (5, 0.125, -7.5)
SELECT TOP (2) WITH TIES d.[Id], p.[score]
FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
ORDER BY p.[score] DESC
SELECT TOP (50) PERCENT WITH TIES d.[Id], p.[score] AS [s]
FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
ORDER BY [s]
""")
    ids = IDS + [5]
    last = np.sort(scores)[::-1][1]  # the 2nd highest score
    assert sorted(r[0] for r in sets[0]) == sorted(i for i, v in zip(ids, scores) if v >= last)
    assert len(sets[0]) == 3
    last = np.sort(scores)[int(np.ceil(50 * len(ids) / 100)) - 1]  # 50 percent of 5 rows, rounded up: 3
    assert sorted(r[0] for r in sets[1]) == sorted(i for i, v in zip(ids, scores) if v <= last)
    assert len(sets[1]) == 4
    with pytest.raises(sqlpredict.ProgrammingError, match="ORDER BY"):
        run(loaded, "SELECT TOP (1) WITH TIES [Id] FROM [dbo].[Features]")


@pytest.mark.parametrize("rows", [1, 2, 3, 7, 10, 11])
def test_top_percent_rounds_up_as_sql_server_does(con, rows):
    """TOP (p) PERCENT returns ceil(p% of the rows), in SQL Server 2 of 3 rows for 50 PERCENT; DuckDB's
    LIMIT p PERCENT rounds down. The same with ORDER BY, without, WITH TIES, a parameter and a variable."""
    percents = [0, 1, 10, 25, 33.4, 50, 66, 99, 100]
    script = f"CREATE TABLE dbo.r (id INT)\nINSERT INTO dbo.r SELECT i FROM range(1, {rows + 1}) AS x(i)\n"
    for p in percents:
        script += (f"SELECT TOP ({p}) PERCENT id FROM dbo.r ORDER BY id DESC\n"
                   f"SELECT TOP {p} PERCENT id FROM dbo.r\n"
                   f"SELECT TOP ({p}) PERCENT WITH TIES id FROM dbo.r ORDER BY id\n"
                   "SELECT TOP (?) PERCENT id FROM dbo.r ORDER BY id\n"
                   f"DECLARE @p{percents.index(p)} FLOAT = {p}\n"
                   f"SELECT TOP (@p{percents.index(p)}) PERCENT id FROM dbo.r ORDER BY id\n")
    sets = run(con, script, percents)
    for i, p in enumerate(percents):
        count = math.ceil(p * rows / 100)
        first = list(range(1, count + 1))
        ordered, unordered, ties, parameter, variable = sets[5 * i:5 * i + 5]
        assert [r[0] for r in ordered] == list(range(rows, rows - count, -1)), (p, rows)
        assert len(unordered) == count and len(set(unordered)) == count, (p, rows)
        assert [r[0] for r in ties] == first and [r[0] for r in parameter] == first, (p, rows)
        assert [r[0] for r in variable] == first, (p, rows)


def test_top_percent_of_predict_rounds_up_and_delete_top_percent_too(loaded):
    """30 PERCENT of the 4 scored rows is 2 (1.2 rounded up), as SQL Server returns; DELETE TOP (p) PERCENT
    deletes as many."""
    sets = run(loaded, """
SELECT TOP (30) PERCENT d.[Id], p.[score]
FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
DELETE TOP (30) PERCENT FROM [dbo].[Features] OUTPUT DELETED.[Id]
SELECT COUNT(*) FROM [dbo].[Features]
""")
    ids, scores = scored(sets[0])
    assert ids == IDS[:2]
    assert_scores(scores, F0[:2], F1[:2])
    assert len(sets[1]) == 2 and sets[2] == [(2,)]


@pytest.mark.parametrize("script, params", [
    ("SELECT TOP (150) PERCENT [Id] FROM [dbo].[Features]", None),
    ("SELECT TOP (-1) PERCENT WITH TIES [Id] FROM [dbo].[Features] ORDER BY [Id]", None),
    ("SELECT TOP (?) PERCENT [Id] FROM [dbo].[Features]", [100.5]),
])
def test_top_percent_outside_0_to_100_is_refused(loaded, script, params):
    with pytest.raises(sqlpredict.ProgrammingError, match="Percent values must be between 0 and 100"):
        run(loaded, script, params)


def test_select_distinct_top_percent_is_refused_not_miscounted(loaded):
    """DuckDB applies DISTINCT after the QUALIFY that counts the percentage; SQL Server counts distinct rows."""
    with pytest.raises(sqlpredict.NotSupportedError, match="derived table"):
        run(loaded, "SELECT DISTINCT TOP (50) PERCENT [f0] FROM [dbo].[Features]")


def test_offset_fetch_pages_as_sql_server_does(loaded):
    """OFFSET n ROWS FETCH NEXT m ROWS ONLY belongs to its statement (FETCH here is no cursor's FETCH).

    The page is SQL Server's: ORDER BY puts NULLs first ascending and last descending.
    """
    scores = direct(F0, F1)
    sets = run(loaded, """
INSERT INTO [dbo].[Features] ([Id], [f0], [f1]) VALUES (5, NULL, 1.0)
CREATE TABLE [dbo].[Page] ([Id] INT, [score] FLOAT)
DECLARE @skip INT = 1, @take INT = 2
INSERT INTO [dbo].[Page]
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
ORDER BY p.[score] DESC
OFFSET @skip ROWS FETCH NEXT @take ROWS ONLY
SELECT [Id], [score] FROM [dbo].[Page] ORDER BY [score] DESC
SELECT d.[Id]
FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
ORDER BY p.[score] OFFSET 0 ROWS FETCH FIRST 2 ROWS ONLY
""")
    descending = np.argsort(-scores, kind="stable")
    ids, got = scored(sets[0])
    assert ids == [IDS[i] for i in descending[1:3]]
    assert_scores(got, [F0[i] for i in descending[1:3]], [F1[i] for i in descending[1:3]])
    assert sets[1] == [(5,), (IDS[int(np.argmin(scores))],)]


IRON_NAMES = ["% Iron Feed", "% Silica Feed", "Starch Flow", "Amina Flow", "Ore Pulp pH", "Flotation Column 01 Air Flow"]
IRON_ROWS = [
    ("2017-03-10 01:00:00", 55.2, 16.98, 3019.53, 557.434, 10.0664, 249.214),
    ("2017-03-10 02:00:00", 52.7, 22.06, 2891.02, 495.19, 9.84, 250.78),
    ("2017-03-10 03:00:00", 57.44, 12.1, 3270.1, 601.9, 10.38, 248.05),
]


def test_bracketed_names_with_spaces_and_symbols():
    iron = linear(tuple(IRON_NAMES), weights=(-0.045, 0.062, -0.00011, 0.0021, -0.35, 0.0012), bias=5.25)
    con = sqlpredict.connect()
    columns = "\n".join(f"    , [{n}] REAL" for n in IRON_NAMES)
    values = "\n     , ".join("(" + ", ".join([f"'{r[0]}'"] + [str(v) for v in r[1:]]) + ")" for r in IRON_ROWS)
    sets = run(con, f"""
CREATE TABLE [dbo].[Flotation Plant Data] (
      [date] DATETIME
{columns}
)
INSERT INTO [dbo].[Flotation Plant Data] VALUES {values}
DECLARE @model VARBINARY(MAX) = ?
;WITH [Scoring Input] AS (
    SELECT [date], [% Iron Feed], [% Silica Feed], [Starch Flow], [Amina Flow], [Ore Pulp pH]
         , [Flotation Column 01 Air Flow]
    FROM [dbo].[Flotation Plant Data]
)
SELECT d.[date], d.[% Iron Feed], p.[score] AS [% Silica Concentrate]
FROM PREDICT(MODEL = @model, DATA = [Scoring Input] AS d, RUNTIME = ONNX) WITH ([score] REAL) AS p
ORDER BY d.[date]
""", [iron])
    rows = sets[0]
    assert [r[0] for r in rows] == [dt.datetime.fromisoformat(r[0]) for r in IRON_ROWS]
    feeds = {n: np.array([r[i + 1] for r in IRON_ROWS], np.float32).reshape(-1, 1) for i, n in enumerate(IRON_NAMES)}
    expected = run_direct(iron, feeds)[0].reshape(-1)
    np.testing.assert_array_equal(np.array([r[2] for r in rows], np.float32), expected)
    con.close()


def test_cast_convert_and_isnull(loaded):
    run(loaded, "INSERT INTO [dbo].[Features] ([Id], [f0], [f1]) VALUES (5, NULL, 1.0)")
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
;WITH predict_input AS (
    SELECT CONVERT(VARCHAR(10), [Id]) AS [Key]
         , [Id]
         , CAST(ISNULL([f0], 0) AS REAL) AS [f0]
         , CONVERT(REAL, [f1] * 2) AS [f1]
    FROM [dbo].[Features]
)
SELECT d.[Key], p.[score]
FROM PREDICT(MODEL = @model, DATA = predict_input AS d) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
""")
    rows = sets[0]
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert_scores([r[1] for r in rows], F0 + [0.0], [2 * v for v in F1] + [2.0])


def test_dateadd_getdate_sysdatetime(loaded):
    before = dt.datetime.now() - dt.timedelta(minutes=5)
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
DECLARE @since DATETIME = DATEADD(day, -7, GETDATE())
DECLARE @now DATETIME2(7) = SYSDATETIME()
;WITH readings AS (
    SELECT [Id], [f0], [f1]
         , DATEADD(hour, [Id], CAST('2024-01-01T00:00:00' AS DATETIME2(7))) AS [ReadingTime]
         , GETDATE() AS [LoadedAt]
    FROM [dbo].[Features]
)
SELECT d.[ReadingTime], d.[LoadedAt], p.[score], DATEADD(minute, 30, d.[ReadingTime]) AS [Due]
FROM PREDICT(MODEL = @model, DATA = readings AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
WHERE d.[LoadedAt] >= @since AND d.[LoadedAt] <= DATEADD(minute, 1, @now)
ORDER BY d.[ReadingTime]
""")
    rows = sets[0]
    assert [r[0] for r in rows] == [dt.datetime(2024, 1, 1, h) for h in IDS]
    assert all(r[1] >= before for r in rows)
    assert [r[3] for r in rows] == [dt.datetime(2024, 1, 1, h, 30) for h in IDS]
    assert_scores([r[2] for r in rows], F0, F1)


def test_pivot_builds_the_model_input(loaded):
    sets = run(loaded, """
CREATE TABLE [dbo].[Readings] ([Id] INT, [Sensor] VARCHAR(10), [Value] REAL)
INSERT INTO [dbo].[Readings]
SELECT [Id], 'f0', [f0] FROM [dbo].[Features]
UNION ALL
SELECT [Id], 'f1', [f1] FROM [dbo].[Features]
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
;WITH wide AS (
    SELECT [Id], [f0], [f1]
    FROM (SELECT [Id], [Sensor], [Value] FROM [dbo].[Readings]) AS src
    PIVOT (MAX([Value]) FOR [Sensor] IN ([f0], [f1])) AS pvt
)
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = wide AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
""")
    ids, scores = scored(sets[0])
    assert ids == IDS
    assert_scores(scores, F0, F1)


def test_hex_literals_for_models_and_values(con):
    hex_model = "0x" + MODEL.hex().upper()
    sets = run(con, MODELS_TABLE + f"""
INSERT INTO models (description, data) VALUES ('from hex', {hex_model})
""" + SETUP + f"""
DECLARE @unused INT
;WITH x AS (SELECT [Id], [f0], [f1], 0x0A0B AS [Tag] FROM [dbo].[Features])
SELECT d.[Tag], p.[score]
FROM PREDICT(MODEL = {hex_model}, DATA = x AS d) WITH ([score] FLOAT) AS p ORDER BY d.[Id]
SELECT p.[score]
FROM PREDICT(MODEL = (SELECT [data] FROM models WHERE [id] = 1), DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
""")
    assert {r[0] for r in sets[0]} == {b"\x0a\x0b"}
    assert_scores([r[1] for r in sets[0]], F0, F1)
    assert_scores([r[0] for r in sets[1]], F0, F1)


def test_0x_alone_is_the_empty_binary_constant(con):
    """T-SQL's `0x` is an empty varbinary; a column named [0x] stays a column."""
    sets = run(con, """
CREATE TABLE [blobs] ([0x] INT, [b] VARBINARY(MAX))
INSERT INTO [blobs] VALUES (7, 0x), (8, 0x0A)
SELECT 0x AS [e], DATALENGTH(0x) AS [n], [0x] FROM [blobs] WHERE [b] = 0x
""")
    assert sets == [[(b"", 0, 7)]]


def test_national_strings(loaded):
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
DECLARE @site NVARCHAR(50) = N'Zürich Nord'
;WITH x AS (SELECT [Id], [f0], [f1], N'Zürich Nord' AS [Site], N'Prévision' AS [Kind] FROM [dbo].[Features])
SELECT d.[Site], d.[Kind], p.[score]
FROM PREDICT(MODEL = @model, DATA = x AS d) WITH ([score] FLOAT) AS p
WHERE d.[Site] = @site AND d.[Kind] = N'Prévision'
ORDER BY d.[Id]
""")
    rows = sets[0]
    assert {(r[0], r[1]) for r in rows} == {("Zürich Nord", "Prévision")}
    assert_scores([r[2] for r in rows], F0, F1)


def test_numeric_output_types(loaded):
    cur = loaded.cursor()
    cur.execute("""
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
SELECT d.[Id], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] NUMERIC(25,17)) AS p
ORDER BY d.[Id]
""")
    assert cur.description[1][4:6] == (25, 17)
    rows = cur.fetchall()
    assert all(isinstance(r[1], decimal.Decimal) for r in rows)
    expected = direct(F0, F1)
    quantum = decimal.Decimal(1).scaleb(-17)
    assert [r[1] for r in rows] == [decimal.Decimal(float(v)).quantize(quantum) for v in expected]
    assert_scores([r[1] for r in rows], F0, F1)


def test_datetime_and_datetime2_columns_pass_through_predict(loaded):
    sets = run(loaded, """
CREATE TABLE [dbo].[Timed] ([Id] INT, [Taken] DATETIME2(7), [Logged] DATETIME, [f0] REAL, [f1] REAL)
INSERT INTO [dbo].[Timed]
SELECT [Id], CAST('2024-05-06 07:08:09.123456' AS DATETIME2(7)), CAST('2024-05-06 07:08:09.123' AS DATETIME), [f0], [f1]
FROM [dbo].[Features]
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
SELECT d.*, p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Timed] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
""")
    rows = sets[0]
    assert {(r[1], r[2]) for r in rows} == {(dt.datetime(2024, 5, 6, 7, 8, 9, 123456), dt.datetime(2024, 5, 6, 7, 8, 9, 123000))}
    assert_scores([r[5] for r in rows], F0, F1)


def test_datetime2_7_keeps_its_seven_fractional_digits(loaded):
    sets = run(loaded, """
CREATE TABLE [dbo].[Timed] ([Id] INT, [Taken] DATETIME2(7), [f0] REAL, [f1] REAL)
INSERT INTO [dbo].[Timed] SELECT [Id], '2024-05-06 07:08:09.1234567', [f0], [f1] FROM [dbo].[Features]
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
SELECT CONVERT(VARCHAR(27), d.[Taken], 121) AS [Taken], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Timed] AS d) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
""")
    assert_scores([r[1] for r in sets[0]], F0, F1)
    assert {r[0] for r in sets[0]} == {"2024-05-06 07:08:09.1234567"}


def test_convert_style_121_writes_the_fractional_digits_the_type_keeps(con):
    """SQL Server writes DATETIME with 3 digits, DATETIME2(n) with n (none and no '.' for 0), DATETIME2 with 7;
    sqlglot's strftime wrote 6 for all, and the text 'None' for style 127."""
    con.execute("CREATE TABLE [dbo].[Taken] ([At] DATETIME2)")
    con.execute("INSERT INTO [dbo].[Taken] VALUES ('2024-05-06 07:08:09.1234567')")
    rows = con.execute("""
SELECT CONVERT(VARCHAR, CAST([At] AS DATETIME), 121), CONVERT(VARCHAR, CAST([At] AS DATETIME2(3)), 121),
       CONVERT(VARCHAR, CAST([At] AS DATETIME2(5)), 21), CONVERT(VARCHAR, CAST([At] AS DATETIME2(0)), 121),
       CONVERT(VARCHAR, [At], 126), CONVERT(NVARCHAR(40), [At], 127), TRY_CONVERT(VARCHAR(23), [At], 25),
       CONVERT(VARCHAR, CAST(NULL AS DATETIME), 121)
FROM [dbo].[Taken]""").fetchall()
    assert rows == [("2024-05-06 07:08:09.123", "2024-05-06 07:08:09.123", "2024-05-06 07:08:09.12345",
                     "2024-05-06 07:08:09", "2024-05-06T07:08:09.1234567", "2024-05-06T07:08:09.1234567",
                     "2024-05-06 07:08:09.123", None)]
    declared = con.execute("DECLARE @at DATETIME2 = '2024-05-06 07:08:09.1234567'\n"
                           "SELECT CONVERT(VARCHAR(27), @at, 121)").fetchall()
    assert declared == [("2024-05-06 07:08:09.1234567",)]


def test_numeric_variable_keeps_its_declared_type(loaded):
    cur = loaded.cursor()
    cur.execute("""
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
DECLARE @threshold NUMERIC(10,3) = 1.5
SELECT @threshold AS [threshold], p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
""")
    assert cur.description[0][4:6] == (10, 3)
    assert_scores([r[1] for r in cur.fetchall()], F0, F1)


def test_duckdb_dialect_read_blob_registers_a_model(tmp_path, monkeypatch):
    (tmp_path / "m.onnx").write_bytes(MODEL)
    monkeypatch.chdir(tmp_path)
    con = sqlpredict.connect(dialect="duckdb")
    sets = run(con, """
CREATE TABLE models (id INTEGER, data BLOB, description VARCHAR);
INSERT INTO models SELECT 1, content, 'linear' FROM read_blob('m.onnx');
CREATE TABLE features (id INTEGER, f0 REAL, f1 REAL);
INSERT INTO features VALUES (1, 1.5, 2.0), (2, -1.0, 0.25), (3, 0.125, -7.5), (4, 40.25, 3.0);
SELECT d.id, p.score
FROM PREDICT(MODEL = (SELECT data FROM models WHERE id = 1), DATA = features AS d) WITH (score DOUBLE) AS p
ORDER BY d.id;
""")
    assert_scores(scored(sets[0])[1], F0, F1)
    con.close()


def test_string_concatenation_with_plus(loaded):
    sets = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
;WITH x AS (SELECT N'House ' + CONVERT(NVARCHAR(10), [Id]) AS [Label], [Id], [f0], [f1] FROM [dbo].[Features])
SELECT d.[Label] + N'!', p.[score]
FROM PREDICT(MODEL = @model, DATA = x AS d) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
""")
    assert [r[0] for r in sets[0]] == [f"House {i}!" for i in IDS]
    assert_scores([r[1] for r in sets[0]], F0, F1)


def test_convert_that_fails_is_an_error_not_null(loaded):
    with pytest.raises(sqlpredict.DataError):
        run(loaded, "SELECT CONVERT(INT, 'abc') AS [x]")
    assert_model_one_scores(loaded)


@pytest.mark.parametrize(("value", "numeric"), [(261.07501220703125, "NUMERIC(25,17)"), (100.5, "NUMERIC(25,20)"),
                                              (107.0, "NUMERIC(25,20)"), (-0.1, "NUMERIC(38,17)")])
def test_numeric_output_has_the_floats_digits_and_no_others(value, numeric):
    """DuckDB's CAST of a float to a NUMERIC wider than 18 digits added digits: 261.07501220703125 came out
    261.07501220703125504 and 100.5 as 100.49999999999999475712. SQL's CAST gives the float's exact value,
    rounded half away from zero to the scale."""
    model = linear(("f0", "f1"), weights=(1.0, 0.0), bias=0.0)
    con = sqlpredict.connect()
    rows = run(con, f"""
CREATE TABLE [t] ([f0] REAL, [f1] REAL)
INSERT INTO [t] VALUES ({value!r}, 0)
DECLARE @model VARBINARY(MAX) = ?
SELECT p.[score] FROM PREDICT(MODEL = @model, DATA = [t] AS d) WITH ([score] {numeric}) AS p
""", [model])[0]
    con.close()
    expected = float(direct([value], [0.0], model)[0])  # float32, as a double: its exact value
    scale = int(numeric.rstrip(")").split(",")[1])
    assert rows[0][0] == decimal.Decimal(expected).quantize(decimal.Decimal(1).scaleb(-scale), decimal.ROUND_HALF_UP)


def test_a_float_cast_to_a_wide_numeric_has_the_floats_digits(con):
    """The same rule in T-SQL CASTs and CONVERTs, for float and real operands, whose type the tables tell: 107 was
    107.00000000000001048576 and 100.5 was 100.49999999999999475712."""
    run(con, "CREATE TABLE f (r REAL, d FLOAT)\nINSERT INTO f VALUES (107, 100.5)")
    rows = run(con, "DECLARE @w REAL = 107\nSELECT CAST(@w AS NUMERIC(25,20)), CAST(r AS NUMERIC(25,20)), "
                    "CONVERT(NUMERIC(38,20), d), CAST(CAST(100.5 AS FLOAT) AS NUMERIC(25,20)) FROM f")[-1]
    assert rows == [(decimal.Decimal("107"), decimal.Decimal("107"), decimal.Decimal("100.5"),
                     decimal.Decimal("100.5"))]
    assert all(str(v).endswith("0" * 19) for v in rows[0])  # scale 20 kept, no stray digits


NO_PANDAS_DATETIME2 = r'''
import sys
sys.modules["pandas"] = None  # as on a machine without pandas (not a dependency): importing it fails
import sqlpredict
cur = sqlpredict.connect().cursor()
cur.execute("CREATE TABLE t (d DATETIME2(7))")
cur.execute("INSERT INTO t VALUES ('2024-06-01 08:00:00.7654321')")
cur.execute("""DECLARE @d DATETIME2(7) = '2024-06-01 08:00:00.1234567'
DECLARE @e DATETIME2(7)
SELECT @e = d FROM t
INSERT INTO t VALUES (@d)
SELECT CAST(@d AS VARCHAR(40)), CAST(@e AS VARCHAR(40)), @d""")
print(repr(cur.fetchall()))
print(repr(cur.execute("SELECT CAST(d AS VARCHAR(40)) FROM t ORDER BY d").fetchall()))
'''


def test_datetime2_variables_keep_100ns_without_pandas():
    """pyarrow turns a nanosecond timestamp into Python only through pandas; a variable must not need it."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", NO_PANDAS_DATETIME2], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == repr([("2024-06-01 08:00:00.1234567", "2024-06-01 08:00:00.7654321",
                              dt.datetime(2024, 6, 1, 8, 0, 0, 123456))])
    assert lines[1] == repr([("2024-06-01 08:00:00.1234567",), ("2024-06-01 08:00:00.7654321",)])


def test_a_failed_create_table_with_identity_changes_nothing():
    """The IDENTITY sequence is made after the table: a CREATE TABLE that fails leaves no sequence behind and
    no uncommitted change to roll back, so the error does not say one was rolled back."""
    con = sqlpredict.connect()
    con.execute("CREATE TABLE t (id INT IDENTITY(1,1), a INT)")
    con.commit()
    sequences = con.execute("SELECT count(*) FROM duckdb_sequences()").fetchall()
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        con.execute("CREATE TABLE t (id INT IDENTITY(1,1), a INT)")
    assert "already exists" in str(info.value) and "rolled back" not in str(info.value)
    assert con.execute("SELECT count(*) FROM duckdb_sequences()").fetchall() == sequences
    con.execute("INSERT INTO t (a) VALUES (7), (8)")
    assert con.execute("SELECT id, a FROM t ORDER BY id").fetchall() == [(1, 7), (2, 8)]
    con.close()


def test_output_inserted_returns_the_identity_values_as_pyodbc_reads_them(con):
    """SQL Server: OUTPUT INSERTED.col returns the inserted rows (here the IDENTITY values 1, 2, 3)."""
    cur = con.cursor()
    cur.execute("CREATE TABLE u (id INT IDENTITY(1,1), v VARCHAR(10))")
    assert cur.execute("INSERT INTO u (v) OUTPUT INSERTED.id VALUES (?)", "x").fetchall() == [(1,)]
    cur.execute("INSERT INTO u (v) OUTPUT INSERTED.id, INSERTED.v VALUES (?), (?)", "y", "z")
    assert [d[0] for d in cur.description] == ["id", "v"] and cur.rowcount == 2
    assert cur.fetchall() == [(2, "y"), (3, "z")]
    assert run(con, "UPDATE u SET v = 'w' OUTPUT INSERTED.* WHERE id >= 2") == [[(2, "w"), (3, "w")]]
    # DELETED of a column the UPDATE does not set is its value, the same before and after
    assert run(con, "UPDATE u SET v = 'v' OUTPUT DELETED.id, INSERTED.v WHERE id = 3") == [[(3, "v")]]
    assert run(con, "SELECT id, v FROM u ORDER BY id") == [[(1, "x"), (2, "w"), (3, "v")]]


def test_output_deleted_returns_the_deleted_rows(con):
    """SQL Server: DELETE ... OUTPUT DELETED.col returns the rows it deleted, FROM or no FROM, TOP (n) or not."""
    cur = con.cursor()
    cur.execute("CREATE TABLE u (id INT IDENTITY(1,1), v VARCHAR(10))")
    cur.execute("INSERT INTO u (v) VALUES ('a'), ('b'), ('b'), ('c'), ('d'), ('e'), ('f'), ('g')")
    assert cur.execute("DELETE FROM u OUTPUT DELETED.id WHERE id = ?", 1).fetchall() == [(1,)]
    assert [d[0] for d in cur.description] == ["id"] and cur.rowcount == 1
    cur.execute("DELETE u OUTPUT DELETED.id, DELETED.v AS [was] WHERE v = 'b'")
    assert [d[0] for d in cur.description] == ["id", "was"] and cur.rowcount == 2
    assert sorted(cur.fetchall()) == [(2, "b"), (3, "b")]
    assert run(con, "DELETE FROM u OUTPUT DELETED.* WHERE id = 4") == [[(4, "c")]]
    cur.execute("DELETE TOP (2) FROM u OUTPUT DELETED.id WHERE id > 4")
    taken = {row[0] for row in cur.fetchall()}
    assert len(taken) == 2 and taken <= {5, 6, 7, 8}
    assert run(con, "SELECT id FROM u ORDER BY id") == [[(i,) for i in sorted({5, 6, 7, 8} - taken)]]
    first = min({5, 6, 7, 8} - taken)
    cur.execute("CREATE TABLE gone (id INT); INSERT INTO gone VALUES (?)", first)
    assert run(con, "DELETE FROM u OUTPUT DELETED.id FROM u JOIN gone AS g ON u.id = g.id") == [[(first,)]]
    assert run(con, "SELECT COUNT(*) FROM u") == [[(1,)]]


@pytest.mark.parametrize("sql, error, words", [
    ("UPDATE u SET v = 'n' OUTPUT DELETED.v WHERE id = 1", sqlpredict.NotSupportedError, ["DELETED.v", "UPDATE"]),
    ("UPDATE u SET v = 'n' OUTPUT DELETED.* WHERE id = 1", sqlpredict.NotSupportedError,
     ["DELETED.* in an UPDATE that sets v", "columns the UPDATE does not set"]),
    ("DELETE FROM u OUTPUT INSERTED.v WHERE id = 1", sqlpredict.ProgrammingError, ["use DELETED.v"]),
    ("INSERT INTO u (v) OUTPUT DELETED.id VALUES ('n')", sqlpredict.ProgrammingError, ["use INSERTED.id"]),
    ("INSERT INTO u (v) OUTPUT INSERTED.id INTO @t VALUES ('n')", sqlpredict.NotSupportedError, ["OUTPUT ... INTO"]),
])
def test_output_that_returning_cannot_give_is_refused_and_changes_nothing(con, sql, error, words):
    cur = con.cursor()
    cur.execute("CREATE TABLE u (id INT IDENTITY(1,1), v VARCHAR(10)); INSERT INTO u (v) VALUES ('x')")
    con.commit()
    with pytest.raises(error) as info:
        cur.execute(sql)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert run(con, "SELECT id, v FROM u") == [[(1, "x")]]


MERGE_TABLES = """
CREATE TABLE dbo.Prices (id INT IDENTITY(1,1), k INT, price FLOAT, note VARCHAR(10))
INSERT INTO dbo.Prices (k, price, note) VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c')
CREATE TABLE dbo.Incoming (k INT, price FLOAT)
INSERT INTO dbo.Incoming VALUES (1, 11), (4, 44)
"""


def test_merge_output_gives_the_action_and_the_inserted_and_deleted_rows_as_sql_server(con):
    """SQL Server: $action is 'INSERT', 'UPDATE' or 'DELETE'; INSERTED is NULL in a DELETE's row, DELETED in an
    INSERT's, and DELETED of a column no UPDATE sets is its value (the same before and after). This MERGE was
    refused (NotSupportedError)."""
    run(con, MERGE_TABLES)
    cur = con.cursor()
    cur.execute("""
MERGE [dbo].[Prices] AS tgt
USING [dbo].[Incoming] AS src ON tgt.[k] = src.[k]
WHEN MATCHED THEN UPDATE SET tgt.[price] = src.[price]
WHEN NOT MATCHED BY TARGET THEN INSERT ([k], [price], [note]) VALUES (src.[k], src.[price], 'new')
WHEN NOT MATCHED BY SOURCE AND tgt.[k] = 3 THEN DELETE
OUTPUT $action, INSERTED.[id], INSERTED.[price], DELETED.[k], DELETED.[note] AS [old_note], INSERTED.[k] * 2;
""")
    assert [d[0] for d in cur.description] == ["$action", "id", "price", "k", "old_note", "INSERTED.[k] * 2"]
    assert cur.rowcount == 3
    assert sorted(cur.fetchall()) == [
        ("DELETE", None, None, 3, "c", None),
        ("INSERT", 4, 44.0, None, None, 8),
        ("UPDATE", 1, 11.0, 1, "a", 2),
    ]
    assert run(con, "SELECT id, k, price, note FROM dbo.Prices ORDER BY id") == [
        [(1, 1, 11.0, "a"), (2, 2, 20.0, "b"), (4, 4, 44.0, "new")]]


def test_merge_output_star_of_both_rows_when_no_update_changes_them(con):
    """INSERTED.* and DELETED.* are every column of the target, NULL in the rows of the other action."""
    run(con, MERGE_TABLES)
    rows = run(con, """
MERGE dbo.Prices AS tgt USING dbo.Incoming AS src ON tgt.k = src.k
WHEN MATCHED THEN DELETE
WHEN NOT MATCHED THEN INSERT (k, price, note) VALUES (src.k, src.price, 'new')
OUTPUT $action AS [act], DELETED.*, INSERTED.*;
""")[0]
    assert sorted(rows) == [("DELETE", 1, 1, 10.0, "a", None, None, None, None),
                            ("INSERT", None, None, None, None, 4, 4, 44.0, "new")]


def test_merge_using_predict_outputs_the_scores_it_wrote(loaded):
    run(loaded, "CREATE TABLE [dbo].[Latest] ([Id] INT, [Score] FLOAT)\nINSERT INTO [dbo].[Latest] VALUES (1, 0), (3, 0)")
    rows = run(loaded, """
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
MERGE [dbo].[Latest] AS tgt
USING PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d, RUNTIME = ONNX) WITH ([score] FLOAT) AS p
ON tgt.[Id] = d.[Id]
WHEN MATCHED THEN UPDATE SET tgt.[Score] = p.[score]
WHEN NOT MATCHED BY TARGET THEN INSERT ([Id], [Score]) VALUES (d.[Id], p.[score])
OUTPUT $action, INSERTED.[Id], INSERTED.[Score];
""")[-1]
    rows.sort(key=lambda r: r[1])
    assert [(r[0], r[1]) for r in rows] == [("UPDATE", 1), ("INSERT", 2), ("UPDATE", 3), ("INSERT", 4)]
    assert_scores([r[2] for r in rows], F0, F1)


@pytest.mark.parametrize("output, words", [
    ("OUTPUT DELETED.price", ["DELETED.price", "updates price", "#temp table"]),
    ("OUTPUT $action, DELETED.*", ["DELETED.*", "updates price", "list DELETED.<column>"]),
    ("OUTPUT src.k", ["OUTPUT src.k in a MERGE", "not the source's"]),
    ("OUTPUT k", ["OUTPUT k in a MERGE"]),
    ("OUTPUT $action, INSERTED.id INTO #log", ["OUTPUT ... INTO"]),
])
def test_merge_output_that_returning_cannot_give_is_refused_and_changes_nothing(con, output, words):
    """DuckDB's RETURNING has neither an updated column's old value nor the source's columns: refused, with what
    to write instead, before anything runs."""
    run(con, MERGE_TABLES + "CREATE TABLE #log (a VARCHAR(10), id INT)")
    with pytest.raises(sqlpredict.NotSupportedError) as info:
        run(con, "MERGE dbo.Prices AS tgt USING dbo.Incoming AS src ON tgt.k = src.k "
                 f"WHEN MATCHED THEN UPDATE SET price = src.price {output};")
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert run(con, "SELECT k, price FROM dbo.Prices ORDER BY k") == [[(1, 10.0), (2, 20.0), (3, 30.0)]]



def test_select_into_reports_the_rows_it_wrote(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE s (a INT); INSERT INTO s VALUES (1), (2), (3)")
    assert cur.execute("SELECT a INTO s2 FROM s WHERE a > 1").rowcount == 2


# ------------------------------------------------------------------ T-SQL meanings DuckDB spells differently


DML_TABLES = """
CREATE TABLE dbo.scores (id INT, y REAL)
INSERT INTO dbo.scores VALUES (1, 0), (2, 0), (3, 0)
CREATE TABLE dbo.newvals (id INT, y REAL)
INSERT INTO dbo.newvals VALUES (1, 10), (2, 20)
CREATE TABLE dbo.s (id INT, y REAL)
INSERT INTO dbo.s VALUES (1, -1), (2, -2)
"""


def test_update_through_an_alias_updates_the_aliased_table(con):
    """SQL Server updates the table the alias stands for, only in the rows the join keeps; a table
    that happens to be called like the alias is left alone."""
    sets = run(con, DML_TABLES + """
UPDATE s SET s.y = n.y FROM dbo.scores AS s INNER JOIN dbo.newvals AS n ON s.id = n.id
SELECT id, y FROM dbo.scores ORDER BY id
SELECT id, y FROM dbo.s ORDER BY id
UPDATE dbo.scores SET y = scores.y + n.y FROM dbo.scores JOIN dbo.newvals AS n ON scores.id = n.id WHERE n.y > ?
SELECT id, y FROM dbo.scores ORDER BY id
UPDATE x SET y = 7 FROM dbo.scores x WHERE x.id = 3
SELECT id, y FROM dbo.scores ORDER BY id
""", [15])
    assert sets[0] == [(1, 10.0), (2, 20.0), (3, 0.0)]
    assert sets[1] == [(1, -1.0), (2, -2.0)]
    assert sets[2] == [(1, 10.0), (2, 40.0), (3, 0.0)]
    assert sets[3] == [(1, 10.0), (2, 40.0), (3, 7.0)]


def test_delete_through_an_alias_deletes_the_joined_rows(con):
    sets = run(con, DML_TABLES + """
DELETE s FROM dbo.scores AS s JOIN dbo.newvals AS n ON s.id = n.id WHERE n.y > 15
SELECT id FROM dbo.scores ORDER BY id
SELECT id FROM dbo.s ORDER BY id
DELETE scores FROM dbo.scores WHERE id = 3
SELECT id FROM dbo.scores ORDER BY id
""")
    assert sets == [[(1,), (3,)], [(1,), (2,)], [(1,)]]


def test_integer_division_truncates_toward_zero(con):
    """SQL Server's `/` on two integers gives an integer, its fraction truncated (7/2 is 3, -7/2 is -3);
    a decimal or float operand divides as before."""
    cur = con.cursor()
    cur.execute("SELECT 7 / 2 AS [a], -7 / 2 AS [b], 7.0 / 2 AS [c], CAST(7 AS FLOAT) / 2 AS [d], 7 / 2.0 AS [e]")
    assert cur.fetchall() == [(3, -3, 3.5, 3.5, 3.5)]
    assert [d[1] for d in cur.description][:2] == ["INTEGER", "INTEGER"]
    sets = run(con, """
CREATE TABLE dbo.t (id INT, k BIGINT)
INSERT INTO dbo.t VALUES (1, -5), (2, 5), (3, 9)
SELECT id / 2 AS [bucket], COUNT(*) AS [n], SUM(k / 2) AS [halves] FROM dbo.t GROUP BY id / 2 ORDER BY 1
""")
    assert sets[0] == [(0, 1, -2), (1, 2, 6)]


def test_set_compound_assignment(con):
    """SET @v += x is SET @v = @v + (x), for each compound operator T-SQL has; += on text appends."""
    sets = run(con, """
DECLARE @n INT = 1, @q INT = 7, @f FLOAT = 1.5, @m INT = 7, @b INT = 6, @s VARCHAR(20) = 'ab'
SET @n += 10
SET @q /= 2
SET @f *= 2 + 1
SET @m -= 2 - 1
SET @m %= 4
SET @b &= 3
SET @s += 'cd'
SELECT @n, @q, @f, @m, @b, @s
""")
    assert sets[0] == [(11, 3, 4.5, 2, 2, "abcd")]


def test_convert_hex_text_to_varbinary_styles_1_and_2(con):
    """CONVERT(VARBINARY(MAX), '0x0A0B0C', 1) is the three bytes 0A 0B 0C (style 2: the digits without 0x),
    as SQL Server's CONVERT documents; a model kept as a hex string loads this way."""
    cur = con.cursor()
    cur.execute("SELECT CONVERT(VARBINARY(MAX), '0x0A0B0C', 1), CONVERT(VARBINARY(MAX), '0a0b0c', 2), "
                "DATALENGTH(CONVERT(VARBINARY(MAX), '0x0A0B0C', 1)), CONVERT(VARBINARY(MAX), NULL, 1), "
                "TRY_CONVERT(VARBINARY(MAX), '0A0B0C', 1)")
    assert cur.fetchall() == [(b"\x0a\x0b\x0c", b"\x0a\x0b\x0c", 3, None, None)]
    with pytest.raises(sqlpredict.Error, match=r"must start with 0x"):
        cur.execute("SELECT CONVERT(VARBINARY(MAX), '0A0B0C', 1)")
    sets = run(con, SETUP + """
DECLARE @hex VARCHAR(MAX) = ?
DECLARE @model VARBINARY(MAX) = CONVERT(VARBINARY(MAX), @hex, 1)
""" + SCORE, ["0x" + MODEL.hex().upper()])
    assert_scores(scored(sets[0])[1], F0, F1)


def test_cast_and_convert_to_a_sized_character_type_cut_the_text(con):
    """SQL Server keeps n characters of a CAST or CONVERT to VARCHAR(n), NVARCHAR(n) or CHAR(n), and of a
    value assigned to a VARCHAR(n) variable: CONVERT(VARCHAR(10), dt, 120) is the day, yyyy-mm-dd."""
    sets = run(con, """
CREATE TABLE dbo.readings (ts DATETIME, v INT)
INSERT INTO dbo.readings VALUES ('2024-03-05 10:11:12', 1), ('2024-03-05 23:59:59', 2), ('2024-03-06 00:00:00', 4)
SELECT CONVERT(VARCHAR(10), ts, 120) AS [day], SUM(v) AS [total] FROM dbo.readings
GROUP BY CONVERT(VARCHAR(10), ts, 120) ORDER BY 1
SELECT CAST('abcdef' AS VARCHAR(3)), CONVERT(NVARCHAR(2), N'xyz'), CAST('abcdef' AS CHAR(1)),
       CAST('abcdef' AS VARCHAR(MAX))
DECLARE @s VARCHAR(3) = 'abcdef'
SELECT @s
SET @s = 'wxyz'
SELECT @s
SELECT @s = [name] FROM (VALUES ('long name')) AS v([name])
SELECT @s
""")
    assert sets[0] == [("2024-03-05", 3), ("2024-03-06", 4)]
    assert sets[1] == [("abc", "xy", "a", "abcdef")]
    assert sets[2:] == [[("abc",)], [("wxy",)], [("lon",)]]
    run(con, "CREATE PROCEDURE dbo.code @s VARCHAR(2) AS SELECT @s AS [s]")
    assert run(con, "EXEC dbo.code @s = 'abcd'") == [[("ab",)]]


def test_cast_and_convert_to_an_integer_type_truncate(loaded):
    """SQL Server truncates a decimal or float value converted to an integer type; its CAST docs give
    CAST(10.6496 AS INT) = 10 and CAST(-10.6496 AS INT) = -10, while CAST to NUMERIC rounds (11, -11)."""
    cur = loaded.cursor()
    cur.execute("SELECT CAST(10.6496 AS INT), CAST(-10.6496 AS INT), CAST(10.6496 AS NUMERIC), "
                "CAST(-10.6496 AS NUMERIC), CONVERT(INT, CAST(-2.7 AS FLOAT)), CAST(CAST(0.9 AS REAL) AS BIGINT)")
    assert cur.fetchall() == [(10, -10, 11, -11, -2, 0)]
    sets = run(loaded, """
CREATE TABLE dbo.m (id INT, price DECIMAL(10,2), ratio FLOAT, flag BIT, code VARCHAR(5), bucket SMALLINT)
INSERT INTO dbo.m VALUES (1, 10.75, 2.5, 1, '42', NULL), (2, -3.5, -0.5, 0, '7', NULL)
SELECT CAST(price AS INT), CONVERT(SMALLINT, ratio), CAST(flag AS INT), CAST(code AS INT) FROM dbo.m ORDER BY id
UPDATE dbo.m SET bucket = CAST(price * 2 AS SMALLINT)
SELECT bucket FROM dbo.m ORDER BY id
DECLARE @i INT = 10.6, @j INT
SET @j = (SELECT MIN(price) FROM dbo.m)
SELECT @i, @j
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
SELECT d.[Id], CAST(p.[score] AS INT) AS [bucket]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Features] AS d) WITH ([score] FLOAT) AS p
ORDER BY d.[Id]
;WITH whole AS (SELECT [Id], CAST(CAST([f0] AS INT) AS REAL) AS [f0], [f1] FROM [dbo].[Features])
SELECT p.[score] FROM PREDICT(MODEL = @model, DATA = whole AS d) WITH ([score] FLOAT) AS p ORDER BY d.[Id]
""")
    assert sets[0] == [(10, 2, 1, 42), (-3, 0, 0, 7)]
    assert sets[1] == [(21,), (-7,)]
    assert sets[2] == [(10, -3)]
    assert [r[1] for r in sets[3]] == [int(v) for v in np.trunc(direct(F0, F1))]
    assert_scores([r[0] for r in sets[4]], np.trunc(F0), F1)


def test_avg_of_integers_is_an_integer(con):
    """SQL Server's AVG of an int column is an int: the sum divided by the count, truncated toward zero."""
    sets = run(con, """
CREATE TABLE dbo.a (g VARCHAR(1), v INT, big BIGINT, f FLOAT)
INSERT INTO dbo.a VALUES ('x', 1, 9000000000000000001, 1.0), ('x', 2, 9000000000000000002, 2.0),
                         ('y', -1, 1, 0.5), ('y', -2, 2, 0.25)
SELECT g, AVG(v), AVG(big), AVG(f), AVG(DISTINCT v) FROM dbo.a GROUP BY g ORDER BY g
SELECT v, AVG(v) OVER (PARTITION BY g) FROM dbo.a ORDER BY v
""")
    assert sets[0] == [("x", 1, 9000000000000000001, 1.5, 1), ("y", -1, 1, 0.375, -1)]
    assert sets[1] == [(-2, -1), (-1, -1), (1, 1), (2, 1)]


def test_len_does_not_count_trailing_spaces(con):
    """SQL Server's LEN leaves out trailing spaces (leading ones count); DATALENGTH counts every byte."""
    cur = con.cursor()
    cur.execute("SELECT LEN('abc  '), LEN(N'  ab'), LEN(12345), LEN(''), DATALENGTH('abc  ')")
    assert cur.fetchall() == [(3, 4, 5, 0, 5)]


def test_like_character_classes(con):
    """T-SQL's LIKE reads [C-P] as one character of the range, [^a] as any other, [%] as a percent sign;
    the examples are those of SQL Server's LIKE docs."""
    sets = run(con, """
CREATE TABLE dbo.names (n VARCHAR(20))
INSERT INTO dbo.names VALUES ('Carsen'), ('Karsen'), ('Larsen'), ('Arsen'), ('Zarsen'), ('5%'), ('50')
SELECT n FROM dbo.names WHERE n LIKE '[C-P]arsen' ORDER BY n
SELECT n FROM dbo.names WHERE n LIKE '[^C-P]%' ORDER BY n
SELECT n FROM dbo.names WHERE n NOT LIKE N'%[a-z]%' ORDER BY n
SELECT n FROM dbo.names WHERE n LIKE '5[%]'
""")
    assert sets == [[("Carsen",), ("Karsen",), ("Larsen",)], [("5%",), ("50",), ("Arsen",), ("Zarsen",)],
                    [("5%",), ("50",)], [("5%",)]]


# ------------------------------------------------------------------ collation


CITIES = """
CREATE TABLE dbo.Houses (Id INT, City VARCHAR(20), f0 REAL, f1 REAL)
INSERT INTO dbo.Houses VALUES (1, 'Lyon', 1.5, 2.0), (2, 'lyon', -1.0, 0.25), (3, 'Paris', 0.125, -7.5),
                              (4, 'LYON', 40.25, 3.0), (5, 'Évry', 2.5, 1.0), (6, 'evry', 3.5, -1.0)
"""


def test_strings_compare_ignoring_case_as_under_sql_servers_default_collation(con):
    """SQL Server's default collation (SQL_Latin1_General_CP1_CI_AS) ignores case and keeps accents, in =, IN,
    LIKE, joins, GROUP BY, DISTINCT and ORDER BY: a script's `WHERE City = 'lyon'` finds 'Lyon'."""
    sets = run(con, CITIES + """
CREATE TABLE #wanted (City VARCHAR(20))
INSERT INTO #wanted VALUES ('PARIS')
SELECT Id FROM dbo.Houses WHERE City = 'lyon' ORDER BY Id
SELECT Id FROM dbo.Houses WHERE City IN ('paris', 'EVRY') ORDER BY Id
SELECT Id FROM dbo.Houses WHERE City LIKE 'l%' ORDER BY Id
SELECT Id FROM dbo.Houses WHERE City LIKE '[k-m]yon' ORDER BY Id
SELECT COUNT(*) FROM dbo.Houses GROUP BY City ORDER BY COUNT(*) DESC, MIN(Id)
SELECT COUNT(DISTINCT City) FROM dbo.Houses
SELECT h.Id FROM dbo.Houses AS h JOIN #wanted AS w ON w.City = h.City
SELECT TOP (3) City FROM dbo.Houses WHERE City NOT LIKE '%vry' ORDER BY City DESC, Id
""")
    assert sets == [[(1,), (2,), (4,)], [(3,), (6,)], [(1,), (2,), (4,)], [(1,), (2,), (4,)],
                    [(3,), (1,), (1,), (1,)], [(4,)], [(3,)], [("Paris",), ("Lyon",), ("lyon",)]]



_ASCII_WORDS = st.text(alphabet="abcXYZ_ 09", max_size=4)


@settings(max_examples=60, deadline=None)
@given(a=_ASCII_WORDS, b=_ASCII_WORDS)
def test_string_comparisons_are_those_of_the_lowercased_strings(a, b):
    """For ASCII text, SQL Server's default collation compares as the lowercased strings do, parameters too."""
    con = sqlpredict.connect()
    row = con.execute("SELECT CASE WHEN ? = ? THEN 1 ELSE 0 END, CASE WHEN ? < ? THEN 1 ELSE 0 END, "
                      "CASE WHEN ? LIKE ? THEN 1 ELSE 0 END", [a, b, a, b, a, b]).fetchone()
    con.close()
    assert row == (int(a.lower() == b.lower()), int(a.lower() < b.lower()),
                   int(re.fullmatch(re.escape(b.lower()).replace("_", "."), a.lower(), re.S) is not None))

def test_collate_takes_sql_server_collation_names(con):
    """COLLATE with a SQL Server name keeps its case and accent rules: _CS and _BIN compare case, _AI ignores
    accents; in a column definition the rule stays with the column."""
    sets = run(con, CITIES + """
CREATE TABLE dbo.Exact (City VARCHAR(20) COLLATE Latin1_General_CS_AS)
INSERT INTO dbo.Exact SELECT City FROM dbo.Houses
SELECT Id FROM dbo.Houses WHERE City = 'lyon' COLLATE Latin1_General_CS_AS
SELECT Id FROM dbo.Houses WHERE City COLLATE Latin1_General_BIN2 LIKE 'L%' ORDER BY Id
SELECT Id FROM dbo.Houses WHERE City COLLATE Latin1_General_BIN LIKE '[K-M]yon'
SELECT Id FROM dbo.Houses WHERE City COLLATE French_CI_AI = 'EVRY' ORDER BY Id
SELECT Id FROM dbo.Houses WHERE City COLLATE DATABASE_DEFAULT = 'LYON' ORDER BY Id
SELECT COUNT(*) FROM dbo.Exact WHERE City = 'LYON'
SELECT Id FROM dbo.Houses WHERE (City COLLATE Latin1_General_CS_AS) LIKE 'l[y]%' ORDER BY Id
SELECT Id FROM dbo.Houses WHERE City LIKE 'L[y]%' COLLATE Latin1_General_CS_AS ORDER BY Id
SELECT Id FROM dbo.Houses WHERE City COLLATE Latin1_General_CI_AI LIKE '[e]vry' ORDER BY Id
""")
    assert sets == [[(2,)], [(1,), (4,)], [(1,)], [(5,), (6,)], [(1,), (2,), (4,)], [(1,)], [(2,)], [(1,)],
                    [(5,), (6,)]]


def test_an_unknown_collation_is_a_syntax_error_and_its_batch_runs_nothing(con):
    with pytest.raises(sqlpredict.ProgrammingError, match=r"line 2: Invalid collation 'Klingon_Ordering'.*_CI or _CS"):
        run(con, "CREATE TABLE t (x INT)\nSELECT 1 WHERE 'a' = 'A' COLLATE Klingon_Ordering")
    with pytest.raises(sqlpredict.ProgrammingError, match="t"):
        run(con, "SELECT x FROM t")  # the batch ran none of its statements


def test_a_filter_on_a_text_column_of_data_ignores_case_where_the_model_reads_data(con):
    """DATA is read on a connection of its own (while the statement streams): a WHERE on a data column,
    moved into DATA, compares strings as the statement does, so it keeps the rows the statement would."""
    run(con, CITIES)
    con.commit()  # DATA streams from a sibling connection only outside uncommitted writes
    rows = run(con, """
DECLARE @model VARBINARY(MAX) = ?
SELECT d.Id, p.score FROM PREDICT(MODEL = @model, DATA = dbo.Houses AS d) WITH (score REAL) AS p
WHERE d.City = 'LYON' AND p.score IS NOT NULL ORDER BY d.Id
""", [MODEL])[0]
    ids, scores = scored(rows)
    assert ids == [1, 2, 4]
    assert_scores(scores, [1.5, -1.0, 40.25], [2.0, 0.25, 3.0])


def test_the_duckdb_dialect_keeps_duckdbs_byte_comparison(tmp_path):
    """Only T-SQL connections ignore case: the session setting does not reach a DuckDB-dialect connection,
    even to the same database in the same process."""
    path = str(tmp_path / "c.duckdb")
    tsql = sqlpredict.connect(path, autocommit=True)
    duck = sqlpredict.connect(path, dialect="duckdb")
    try:
        assert tsql.execute("SELECT CASE WHEN 'a' = 'A' THEN 1 ELSE 0 END").fetchall() == [(1,)]
        assert duck.execute("SELECT 'a' = 'A', 'a' = 'A' COLLATE NOCASE").fetchall() == [(False, True)]
    finally:
        duck.close()
        tsql.close()


# ------------------------------------------------------------------ indexes

SSMS_INDEXES = """
CREATE UNIQUE NONCLUSTERED INDEX [UX_Features_Id] ON [dbo].[Features]
(
\t[Id] ASC
)WITH (PAD_INDEX = OFF, STATISTICS_NORECOMPUTE = OFF, SORT_IN_TEMPDB = OFF, IGNORE_DUP_KEY = OFF, DROP_EXISTING = OFF, ONLINE = OFF, ALLOW_ROW_LOCKS = ON, ALLOW_PAGE_LOCKS = ON) ON [PRIMARY]
GO
CREATE CLUSTERED INDEX [CX_Features_f0] ON [dbo].[Features] ([f0] DESC) INCLUDE ([f1])
GO
CREATE NONCLUSTERED INDEX IX_Features_f1 ON dbo.Features (f1) WHERE f1 > 0
"""


def test_index_statements_as_ssms_scripts_them(loaded):
    """SSMS's CREATE [UNIQUE] [NON]CLUSTERED INDEX with storage options runs; a UNIQUE index refuses a
    duplicate as SQL Server's would, and PREDICT over the indexed table scores as before."""
    run(loaded, SSMS_INDEXES)
    names = {r[0] for r in loaded.cursor().execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    assert names == {"UX_Features_Id", "CX_Features_f0", "IX_Features_f1"}
    with pytest.raises(sqlpredict.IntegrityError, match="UX_Features_Id|Duplicate key"):
        run(loaded, "INSERT INTO dbo.Features (Id, f0, f1) VALUES (1, 0, 0)")
    assert_model_one_scores(loaded)


@pytest.mark.parametrize("drop", ["DROP INDEX UX_Features_Id ON dbo.Features",
                                  "DROP INDEX [dbo].[Features].[UX_Features_Id]",
                                  "DROP INDEX Features.UX_Features_Id",
                                  "DROP INDEX IF EXISTS [UX_Features_Id] ON [dbo].[Features]"])
def test_drop_index_in_its_t_sql_forms(loaded, drop):
    run(loaded, SSMS_INDEXES)
    loaded.commit()
    run(loaded, drop)
    loaded.commit()  # DuckDB goes on checking a dropped UNIQUE index until the DROP commits
    run(loaded, "INSERT INTO dbo.Features (Id, f0, f1) VALUES (1, 0, 0)")  # no longer unique
    assert run(loaded, "SELECT COUNT(*) FROM dbo.Features WHERE Id = 1")[-1] == [(2,)]


def test_drop_index_on_a_table_of_another_schema(con):
    run(con, "CREATE SCHEMA sales\nGO\nCREATE TABLE sales.t (a INT)\nCREATE UNIQUE INDEX ux ON sales.t (a)")
    con.commit()
    run(con, "DROP INDEX ux ON sales.t")
    con.commit()
    run(con, "INSERT INTO sales.t VALUES (1), (1)")
    assert run(con, "SELECT COUNT(*) FROM sales.t")[-1] == [(2,)]


def test_a_filtered_unique_index_is_refused_and_its_batch_runs_nothing(con):
    """Without its filter the index would refuse rows SQL Server admits, so it is not run filterless."""
    with pytest.raises(sqlpredict.NotSupportedError, match=r"line 2: a filtered UNIQUE index \(WHERE a > 0\)"):
        run(con, "CREATE TABLE t (a INT)\nCREATE UNIQUE INDEX ux ON t (a) WHERE a > 0")
    with pytest.raises(sqlpredict.ProgrammingError):
        run(con, "SELECT a FROM t")


@pytest.mark.parametrize(("sql", "words"), [("ALTER INDEX ix ON t REBUILD", "nothing to REBUILD"),
                                            ("UPDATE STATISTICS t", "keeps its statistics itself")])
def test_index_maintenance_is_refused_with_what_to_do(con, sql, words):
    with pytest.raises(sqlpredict.NotSupportedError, match=words):
        run(con, sql)


# ------------------------------------------------------------------ keys as SSMS scripts them

SSMS_MODELS_TABLE = """
SET ANSI_NULLS ON
GO
SET QUOTED_IDENTIFIER ON
GO
CREATE TABLE [dbo].[models](
\t[id] [int] IDENTITY(1,1) NOT NULL,
\t[data] [varbinary](max) NULL,
\t[description] [varchar](1000) NULL,
 CONSTRAINT [PK_models] PRIMARY KEY CLUSTERED 
(
\t[id] ASC
)WITH (PAD_INDEX = OFF, STATISTICS_NORECOMPUTE = OFF, IGNORE_DUP_KEY = OFF, ALLOW_ROW_LOCKS = ON, ALLOW_PAGE_LOCKS = ON, OPTIMIZE_FOR_SEQUENTIAL_KEY = OFF) ON [PRIMARY]
) ON [PRIMARY] TEXTIMAGE_ON [PRIMARY]
GO
"""


def test_the_models_table_as_ssms_scripts_it(con):
    """SSMS's CREATE TABLE with a CLUSTERED PRIMARY KEY, its index options and filegroups: the key is kept
    (a duplicate id is refused), the storage clauses are dropped, and the model it holds scores."""
    run(con, SSMS_MODELS_TABLE + "INSERT INTO models (description, data) VALUES ('linear', ?)\n" + SETUP, [MODEL])
    con.commit()
    with pytest.raises(sqlpredict.IntegrityError, match="(?i)duplicate key"):
        run(con, "SET IDENTITY_INSERT models ON\nINSERT INTO models (id, description) VALUES (1, 'again')")
    assert_model_one_scores(con)


@pytest.mark.parametrize("table", [
    "CREATE TABLE t (a INT NOT NULL, b INT NOT NULL, CONSTRAINT pk_t PRIMARY KEY NONCLUSTERED (a DESC, b ASC))",
    "CREATE TABLE t (a INT NOT NULL, b INT NOT NULL, CONSTRAINT uq_t UNIQUE NONCLUSTERED (a DESC, b) "
    "WITH (PAD_INDEX = OFF) ON [PRIMARY])",
    "CREATE TABLE t (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY CLUSTERED (a, b))",
    "CREATE TABLE t (a INT NOT NULL, b INT NOT NULL)\nALTER TABLE t ADD CONSTRAINT pk_t PRIMARY KEY CLUSTERED (a, b)",
])
def test_table_keys_with_their_sql_server_storage_clauses(con, table):
    run(con, table + "\nINSERT INTO t VALUES (1, 1), (1, 2)")
    con.commit()
    with pytest.raises(sqlpredict.IntegrityError):
        run(con, "INSERT INTO t VALUES (1, 2)")
    assert run(con, "SELECT a, b FROM t ORDER BY b")[-1] == [(1, 1), (1, 2)]


@pytest.mark.parametrize("column", ["a INT NOT NULL PRIMARY KEY NONCLUSTERED",
                                    "a INT NOT NULL CONSTRAINT pk_t PRIMARY KEY CLUSTERED",
                                    "a INT UNIQUE NONCLUSTERED"])
def test_column_keys_with_their_index_kind(con, column):
    run(con, f"CREATE TABLE t ({column}, b INT)\nINSERT INTO t VALUES (1, 1)")
    con.commit()
    with pytest.raises(sqlpredict.IntegrityError):
        run(con, "INSERT INTO t VALUES (1, 2)")


# ------------------------------------------------------------------ ALTER TABLE


def _columns(con) -> list[tuple]:
    return run(con, "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                    "WHERE table_name = 't' ORDER BY ordinal_position")[-1]


def test_alter_table_in_its_t_sql_forms(con):
    """ALTER COLUMN and DROP COLUMN were split into two statements at their second verb; several
    changes in one ALTER TABLE, which DuckDB does not take, are made one after another."""
    run(con, "CREATE TABLE t (c INT, a INT, b INT, x INT)\nINSERT INTO t VALUES (1, 2, 3, 4)")
    run(con, "ALTER TABLE t ALTER COLUMN c BIGINT NOT NULL\nALTER TABLE t DROP COLUMN b, x\n"
             "ALTER TABLE t ADD score FLOAT, label VARCHAR(20) NULL")
    con.commit()
    assert _columns(con) == [("c", "BIGINT", "NO"), ("a", "INTEGER", "YES"), ("score", "DOUBLE", "YES"),
                             ("label", "VARCHAR", "YES")]
    with pytest.raises(sqlpredict.IntegrityError):
        run(con, "INSERT INTO t (c) VALUES (NULL)")
    run(con, "ALTER TABLE t ALTER COLUMN c BIGINT NULL\nINSERT INTO t (c) VALUES (NULL)")
    assert run(con, "SELECT COUNT(*) FROM t")[-1] == [(2,)]


def test_alter_table_with_several_changes_makes_all_or_none(tmp_path):
    """In autocommit mode the changes of one ALTER TABLE run in one transaction: the second failing
    (the column exists) leaves the first undone, as SQL Server's one statement would."""
    con = sqlpredict.connect(str(tmp_path / "db.duckdb"), autocommit=True)
    run(con, "CREATE TABLE t (c INT, y INT)")
    with pytest.raises(sqlpredict.ProgrammingError, match='"y" already exists'):
        run(con, "ALTER TABLE t ADD w INT, y INT")
    assert _columns(con) == [("c", "INTEGER", "YES"), ("y", "INTEGER", "YES")]
    assert not con.in_user_transaction
    run(con, "ALTER TABLE t ADD w INT, v INT")
    assert [c[0] for c in _columns(con)] == ["c", "y", "w", "v"]


def test_alter_table_with_check_is_one_statement(con):
    """`WITH CHECK` after ALTER TABLE t starts no CTE, and DuckDB, which always checks, gets it without."""
    run(con, "CREATE TABLE t (c INT NOT NULL)\nALTER TABLE [dbo].[t] WITH CHECK ADD CONSTRAINT pk_t PRIMARY KEY (c)\n"
             "INSERT INTO t VALUES (1)")
    con.commit()
    with pytest.raises(sqlpredict.IntegrityError):
        run(con, "INSERT INTO t VALUES (1)")


@pytest.mark.parametrize("sql", ["SELECT Id FROM dbo.Features FOR JSON PATH",
                                 "SELECT Id FROM dbo.Features FOR XML RAW",
                                 "SELECT STUFF((SELECT ',' + CAST(Id AS VARCHAR(10)) FROM dbo.Features "
                                 "FOR XML PATH('')), 1, 1, '')"])
def test_for_json_and_for_xml_are_refused_not_ignored(loaded, sql):
    """DuckDB would return the plain rows: a different result from the one document SQL Server returns."""
    with pytest.raises(sqlpredict.NotSupportedError, match="STRING_AGG"):
        run(loaded, sql)


def test_string_agg_joins_values_as_for_xml_path_scripts_mean(loaded):
    rows = run(loaded, "SELECT STRING_AGG(CAST(Id AS VARCHAR(10)), ',') FROM dbo.Features")[-1]
    assert sorted(rows[0][0].split(",")) == [str(i) for i in IDS]


# ------------------------------------------------------------------ APPLY


def test_cross_apply_over_predict_scores(loaded):
    """CROSS APPLY is DuckDB's CROSS JOIN LATERAL; sqlglot wrote INNER JOIN LATERAL without ON."""
    rows = run(loaded, "DECLARE @model VARBINARY(MAX) = (SELECT data FROM models WHERE id = 1)\n"
                       "SELECT d.Id, p.score, x.doubled FROM PREDICT(MODEL = @model, DATA = dbo.Features AS d) "
                       "WITH (score FLOAT) AS p CROSS APPLY (SELECT p.score * 2 AS doubled) AS x ORDER BY d.Id")[-1]
    ids, scores = scored(rows)
    assert ids == IDS
    assert_scores(scores, F0, F1)
    assert [r[2] for r in rows] == [2 * r[1] for r in rows]


def test_outer_apply_keeps_rows_the_applied_query_finds_nothing_for(loaded):
    run(loaded, "CREATE TABLE dbo.Notes (Id INT, Note VARCHAR(20))\n"
                "INSERT INTO dbo.Notes VALUES (1, 'b'), (1, 'a'), (3, 'c')")
    rows = run(loaded, "SELECT f.Id, n.Note FROM dbo.Features AS f OUTER APPLY "
                       "(SELECT TOP 1 Note FROM dbo.Notes WHERE Notes.Id = f.Id ORDER BY Note) AS n ORDER BY f.Id")[-1]
    assert rows == [(1, "a"), (2, None), (3, "c"), (4, None)]
    rows = run(loaded, "SELECT f.Id, n.Note FROM dbo.Features f CROSS APPLY "
                       "(SELECT TOP 1 Note FROM dbo.Notes WHERE Notes.Id = f.Id ORDER BY Note) n ORDER BY f.Id")[-1]
    assert rows == [(1, "a"), (3, "c")]


@pytest.mark.parametrize(("sql", "words"), [
    ("CREATE DATABASE onnx", "serves one database"),
    ("DROP DATABASE IF EXISTS onnx", "serves one database"),
    ("CREATE FUNCTION dbo.f (@x FLOAT) RETURNS FLOAT AS BEGIN RETURN @x * 2 END", "user-defined functions"),
    ("CREATE FUNCTION dbo.g (@x INT) RETURNS TABLE AS RETURN (SELECT @x AS a)", "as a view or a CTE"),
    ("THROW 50001, 'no model', 1;", "THROW is outside"),
])
def test_statements_outside_what_sqlpredict_runs_say_so_and_their_batch_runs_nothing(con, sql, words):
    """These gave DuckDB parser errors on SQL the user did not write, or 'Must declare @x'."""
    with pytest.raises(sqlpredict.NotSupportedError, match=rf"line 2: .*{words}"):
        run(con, "CREATE TABLE t (x INT)\n" + sql)
    with pytest.raises(sqlpredict.ProgrammingError):
        run(con, "SELECT x FROM t")


def test_the_if_refusal_gives_the_drop_table_if_exists_fix_and_the_fix_runs(con):
    run(con, "CREATE TABLE t (x INT)")
    with pytest.raises(sqlpredict.NotSupportedError, match="write DROP TABLE IF EXISTS t"):
        run(con, "IF OBJECT_ID('dbo.t') IS NOT NULL DROP TABLE dbo.t")
    run(con, "DROP TABLE IF EXISTS dbo.t\nDROP TABLE IF EXISTS dbo.t")
    with pytest.raises(sqlpredict.ProgrammingError):
        run(con, "SELECT x FROM t")


def test_insert_without_a_column_list_skips_the_identity_column(con):
    """As in SQL Server, the values go to the other columns and IDENTITY numbers the rows: the Synapse
    lab registers its model with `INSERT INTO [wwi_ml].[MLModel] SELECT Model, '...'`."""
    run(con, MODELS_TABLE + "CREATE TABLE #t (id INT IDENTITY(10, 5), x INT)\nCREATE SCHEMA ml\nGO\n"
             "CREATE TABLE ml.m (Id INT IDENTITY(1,1), Model VARBINARY(MAX), Description VARCHAR(100))")
    run(con, "INSERT INTO models VALUES (?, 'linear')\nINSERT INTO dbo.models SELECT data, 'copy' FROM models\n"
             "INSERT INTO [#t] VALUES (7), (8)\nINSERT ml.m SELECT data, 'lab' FROM models WHERE id = 1", [MODEL])
    assert run(con, "SELECT id, description FROM models ORDER BY id")[-1] == [(1, "linear"), (2, "copy")]
    assert run(con, "SELECT id, x FROM #t ORDER BY id")[-1] == [(10, 7), (15, 8)]
    rows = run(con, "DECLARE @model VARBINARY(MAX) = (SELECT Model FROM ml.m WHERE Id = 1)\n" + SETUP + SCORE)[-1]
    ids, scores = scored(rows)
    assert ids == IDS
    assert_scores(scores, F0, F1)


@pytest.mark.parametrize("declared, numbers", [
    ("IDENTITY(100, -1)", [100, 99, 98]),
    ("IDENTITY(0, 1)", [0, 1, 2]),
    ("IDENTITY(-5, 5)", [-5, 0, 5]),
    ("IDENTITY", [1, 2, 3]),
    ("IDENTITY NOT NULL", [1, 2, 3]),
])
def test_identity_numbers_from_its_seed_by_its_step_with_their_signs(con, declared, numbers):
    """SQL Server's seed may be 0 or negative, its step negative, and a bare IDENTITY is IDENTITY(1, 1). The
    step's sign was lost (100, 101, ...), a seed below 1 was refused, and a bare IDENTITY numbered nothing."""
    run(con, f"CREATE TABLE t (id BIGINT {declared}, v INT)\nINSERT INTO t (v) VALUES (1), (2)\n"
             "INSERT INTO t VALUES (3)")
    assert run(con, "SELECT id FROM t ORDER BY v") == [[(n,) for n in numbers]]


def test_an_insert_into_a_missing_table_in_a_transaction_with_writes_keeps_them(con):
    """Reading the target's columns must not fail: a failed query would abort the transaction."""
    run(con, "CREATE TABLE t (id INT IDENTITY(1,1), x INT)")
    con.commit()
    run(con, "INSERT INTO t VALUES (1)")
    with pytest.raises(sqlpredict.ProgrammingError, match="nosuch"):
        run(con, "INSERT INTO nosuch VALUES (1)")
    assert run(con, "SELECT id, x FROM t")[-1] == [(1, 1)]


# ------------------------------------------------------------------ dates


def _sql_server_weekday(day: dt.date) -> int:
    return day.isoweekday() % 7 + 1  # DATEFIRST 7: Sunday 1 ... Saturday 7


def _sql_server_week(day: dt.date) -> int:
    """Week 1 holds January 1st; a week starts on Sunday: count the Sundays after January 1st up to day."""
    first = dt.date(day.year, 1, 1)
    return 1 + sum(1 for n in range(1, (day - first).days + 1) if (first + dt.timedelta(n)).isoweekday() == 7)


_SHARED_CON = None


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_datepart_weekday_and_week_count_as_sql_server_does(day):
    global _SHARED_CON
    _SHARED_CON = _SHARED_CON or sqlpredict.connect()
    rows = run(_SHARED_CON, "DECLARE @d DATETIME = ?\nSELECT DATEPART(weekday, @d), DATEPART(dw, @d), "
                            "DATEPART(week, @d), DATEPART(wk, @d), DATEPART(iso_week, @d)", [day])[-1]
    assert rows == [(_sql_server_weekday(day), _sql_server_weekday(day), _sql_server_week(day),
                     _sql_server_week(day), day.isocalendar()[1])]


def test_datepart_of_a_string_literal_and_known_days(con):
    rows = run(con, "SELECT DATEPART(weekday, '2024-03-17'), DATEPART(week, '2024-01-07'), "
                    "DATEPART(week, '2024-12-31'), DATEPART(month, '2024-03-17')")[-1]
    assert rows == [(1, 2, 53, 3)]


@pytest.mark.parametrize(("text", "style"), [("31/12/2024", 103), ("12/31/2024", 101), ("31.12.2024", 104),
                                             ("31-12-2024", 105), ("2024/12/31", 111), ("20241231", 112),
                                             ("2024-12-31 00:00:00", 120), ("2024-12-31T00:00:00.000", 126)])
def test_convert_text_to_datetime_reads_the_styles_layout(con, text, style):
    """sqlglot gave DuckDB TRY_CAST(text AS TIMESTAMP), which ignored the style: the day came out NULL."""
    rows = run(con, f"SELECT CONVERT(DATETIME, '{text}', {style}), CONVERT(DATE, '{text}', {style})")[-1]
    assert rows == [(dt.datetime(2024, 12, 31), dt.date(2024, 12, 31))]


def test_convert_with_a_style_raises_on_text_that_does_not_fit_it_and_try_convert_gives_null(con):
    with pytest.raises(sqlpredict.DataError):
        run(con, "SELECT CONVERT(DATETIME, '2024-12-31', 103)")
    assert run(con, "SELECT TRY_CONVERT(DATETIME, '2024-12-31', 103)")[-1] == [(None,)]


def test_convert_of_a_date_value_ignores_the_style_as_sql_server_does(con):
    run(con, "CREATE TABLE d (x DATE)\nINSERT INTO d VALUES ('2024-12-31')")
    assert run(con, "SELECT CONVERT(DATETIME, x, 103) FROM d")[-1] == [(dt.datetime(2024, 12, 31),)]


def test_utc_now_choose_and_sysdatetimeoffset(con):
    rows = run(con, "SELECT GETUTCDATE(), SYSUTCDATETIME(), SYSDATETIMEOFFSET(), CHOOSE(2, 'a', 'b', 'c'), "
                    "CHOOSE(4, 'a', 'b', 'c')")[-1]
    utc = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert abs(rows[0][0] - utc) < dt.timedelta(minutes=1) and rows[0][0].tzinfo is None
    assert abs(rows[0][1] - utc) < dt.timedelta(minutes=1)
    assert abs(rows[0][2] - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)
    assert rows[0][3:] == ("b", None)


def test_set_datefirst_other_than_sunday_is_refused_not_ignored(con):
    """Accepted and ignored, it would make DATEPART(weekday) silently count from the wrong day."""
    run(con, "SET DATEFIRST 7")
    with pytest.raises(sqlpredict.NotSupportedError, match=r"DATEFIRST other than 7.*\+ 5\) % 7 \+ 1"):
        run(con, "SET DATEFIRST 1")
    assert run(con, "SELECT (DATEPART(weekday, '2024-03-18') + 5) % 7 + 1")[-1] == [(1,)]  # the fix: Monday 1


def test_len_and_datalength_count_bytes_of_binary_and_characters_of_text(con):
    """DATALENGTH of text with a non-ASCII character failed (a CAST to BLOB), and LEN of VARBINARY counted its
    escaped text (LEN(0x0102) was 8)."""
    run(con, "CREATE TABLE s (v VARCHAR(20), b VARBINARY(MAX))\nINSERT INTO s VALUES ('Genève  ', 0x010203)")
    assert run(con, "SELECT LEN(v), DATALENGTH(v), LEN(b), DATALENGTH(b) FROM s")[-1] == [(6, 8, 3, 3)]
    assert run(con, "SELECT LEN(0x0102), DATALENGTH(0x0102), DATALENGTH(N'abc'), DATALENGTH(NULL)")[-1] == \
        [(2, 2, 6, None)]
    run(con, "CREATE TABLE models (id INT, data VARBINARY(MAX))\nINSERT INTO models VALUES (1, ?)", [MODEL])
    assert run(con, "SELECT DATALENGTH(data) FROM models")[-1] == [(len(MODEL),)]


def test_format_of_numbers_with_the_n_and_f_formats_and_str(con):
    """FORMAT(x, 'N2') was DuckDB's 'number_to_str does not exist', STR(...) 'str does not exist'."""
    rows = run(con, "SELECT FORMAT(1234.5, 'N2'), FORMAT(1234.5, 'N'), FORMAT(1234567.891, 'N0'), "
                    "FORMAT(-1234.5, 'F1'), FORMAT(CAST(NULL AS FLOAT), 'N2'), "
                    "STR(3.14159, 8, 2), STR(123.4), STR(12345678901.0), STR(-2.5, 6, 1)")[-1]
    assert rows == [("1,234.50", "1,234.50", "1,234,568", "-1234.5", None,
                     "    3.14", "       123", "*" * 10, "  -2.5")]


@pytest.mark.parametrize("sql", ["SELECT FORMAT(0.256, 'P1')", "SELECT FORMAT(12, '000')",
                                 "SELECT FORMAT(1.5, 'N2', 'de-DE')"])
def test_other_number_formats_are_refused_with_the_ones_that_run(con, sql):
    with pytest.raises(sqlpredict.NotSupportedError, match="standard formats 'N' and 'F'"):
        run(con, sql)


# ------------------------------------------------------------------ IDENTITY_INSERT


IDENTITY_ROWS = "SELECT id, description FROM models ORDER BY id"


def test_set_identity_insert_keeps_explicit_values_and_the_numbering_continues_past_them(con):
    """As SQL Server scripts a table's data (SSMS "Generate Scripts"): explicit ids between SET IDENTITY_INSERT
    ON and OFF, then the numbering goes on after the highest of them, not from where it was (which reached 10
    and failed on a duplicate key, or gave a second row 2)."""
    run(con, MODELS_TABLE.replace("NOT NULL", "NOT NULL PRIMARY KEY") + "INSERT INTO models (description) VALUES ('one')")
    run(con, """
SET IDENTITY_INSERT [dbo].[models] ON
INSERT [dbo].[models] ([id], [description]) VALUES (10, N'ten')
INSERT [dbo].[models] ([id], [description]) VALUES (4, N'four')
SET IDENTITY_INSERT [dbo].[models] OFF
GO
INSERT INTO models (description) VALUES ('next'), ('after')
""")
    assert run(con, IDENTITY_ROWS) == [[(1, "one"), (4, "four"), (10, "ten"), (11, "next"), (12, "after")]]
    run(con, "SET IDENTITY_INSERT models ON\nINSERT INTO models (id, description) VALUES (7, 'below')\n"
             "SET IDENTITY_INSERT models OFF\nINSERT INTO models (description) VALUES ('never back')")
    assert run(con, IDENTITY_ROWS)[-1][-2:] == [(12, "after"), (13, "never back")]


def test_identity_insert_holds_for_the_connection_until_off(con):
    """SET IDENTITY_INSERT is a session setting: it holds across execute() calls and batches."""
    run(con, MODELS_TABLE)
    cur = con.cursor()
    cur.execute("SET IDENTITY_INSERT models ON")
    cur.execute("INSERT INTO models (id, description) VALUES (?, ?)", [5, "five"])
    con.cursor().execute("INSERT INTO models (id, description) SELECT 6, 'six'")
    cur.execute("SET IDENTITY_INSERT models OFF")
    cur.execute("INSERT INTO models (description) VALUES ('seven')")
    assert run(con, IDENTITY_ROWS) == [[(5, "five"), (6, "six"), (7, "seven")]]


def test_an_explicit_identity_value_without_identity_insert_is_msg_544_and_writes_nothing(con):
    """SQL Server refuses the whole statement (Msg 544); sqlpredict gave the column the value and numbered
    over it later. The transaction's earlier writes stay."""
    run(con, MODELS_TABLE + "INSERT INTO models (description) VALUES ('one')")
    con.commit()
    run(con, "INSERT INTO models (description) VALUES ('two')")
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        run(con, "INSERT INTO models (description) VALUES ('three')\n"
                 "INSERT INTO models ([Id], description) VALUES (3, 'x'), (4, 'y')")
    assert str(info.value).startswith("line 2: Cannot insert explicit value for identity column in table 'models' "
                                      "when IDENTITY_INSERT is set to OFF")
    assert "SET IDENTITY_INSERT models ON" in str(info.value)
    assert run(con, IDENTITY_ROWS) == [[(1, "one"), (2, "two"), (3, "three")]]
    con.rollback()
    assert run(con, IDENTITY_ROWS) == [[(1, "one")]]


def test_msg_544_in_executemany_and_in_merge_writes_nothing(con):
    run(con, MODELS_TABLE + "INSERT INTO models (description) VALUES ('one')")
    con.commit()
    cur = con.cursor()
    with pytest.raises(sqlpredict.ProgrammingError, match="Msg 544"):
        cur.executemany("INSERT INTO models (id, description) VALUES (?, ?)", [(7, "a"), (8, "b")])
    with pytest.raises(sqlpredict.ProgrammingError, match="Msg 544"):
        run(con, "MERGE models AS m USING (SELECT 9 AS id, 'c' AS d) AS s ON m.id = s.id "
                 "WHEN NOT MATCHED THEN INSERT (id, description) VALUES (s.id, s.d);")
    assert run(con, IDENTITY_ROWS) == [[(1, "one")]]


def test_explicit_identity_values_from_executemany_and_merge_move_the_numbering(con):
    run(con, MODELS_TABLE + "SET IDENTITY_INSERT models ON")
    con.cursor().executemany("INSERT INTO models (id, description) VALUES (?, ?)", [(7, "a"), (3, "b")])
    run(con, "MERGE models AS m USING (SELECT 20 AS id, 'c' AS d) AS s ON m.id = s.id "
             "WHEN NOT MATCHED THEN INSERT (id, description) VALUES (s.id, s.d);\n"
             "SET IDENTITY_INSERT models OFF")
    con.cursor().executemany("INSERT INTO models (description) VALUES (?)", [("d",), ("e",)])
    run(con, "MERGE models AS m USING (SELECT 0 AS id, 'f' AS d) AS s ON m.id = s.id "
             "WHEN NOT MATCHED THEN INSERT VALUES (NULL, s.d);")  # no column list: the other columns, as in SQL Server
    assert run(con, IDENTITY_ROWS) == [[(3, "b"), (7, "a"), (20, "c"), (21, "d"), (22, "e"), (23, "f")]]


@pytest.mark.parametrize("script, message", [
    ("INSERT INTO models (description) VALUES ('n')",
     "Explicit value must be specified for identity column in table 'models' .*Msg 545.*name id in the column list"),
    ("INSERT INTO models VALUES (5, NULL, 'n')",
     "can only be specified when a column list is used and IDENTITY_INSERT is ON .*Msg 8101"),
    ("SET IDENTITY_INSERT other ON",
     "IDENTITY_INSERT is already ON for table 'dbo.models'. Cannot perform SET operation for table 'other' "
     ".*SET IDENTITY_INSERT dbo.models OFF"),
    ("SET IDENTITY_INSERT plain ON", "Table 'plain' does not have the identity property.*Msg 8106"),
    ("SET IDENTITY_INSERT nosuch ON", 'Cannot find the object "nosuch" because it does not exist'),
])
def test_what_sql_server_refuses_around_identity_insert_is_refused_and_writes_nothing(con, script, message):
    run(con, MODELS_TABLE + "CREATE TABLE other (id INT IDENTITY(1,1), v INT)\nCREATE TABLE plain (id INT)\n"
             "SET IDENTITY_INSERT [dbo].[models] ON\nINSERT INTO models (id, description) VALUES (1, 'one')")
    with pytest.raises(sqlpredict.ProgrammingError, match=message):
        run(con, script)
    assert run(con, IDENTITY_ROWS) == [[(1, "one")]]
    run(con, "SET IDENTITY_INSERT models OFF\nSET IDENTITY_INSERT other ON\nINSERT other (id, v) VALUES (9, 9)")


def test_identity_insert_on_a_temp_table_and_one_set_in_a_procedure_ends_with_it(con):
    """A #temp table takes SET IDENTITY_INSERT too; one set inside a procedure is undone when the procedure
    returns, as SQL Server restores the SET options a procedure changed."""
    run(con, "CREATE TABLE #t (id INT IDENTITY(1,1), v INT)\nSET IDENTITY_INSERT #t ON\n"
             "INSERT INTO #t (id, v) VALUES (5, 5)\nSET IDENTITY_INSERT [#t] OFF\nINSERT INTO #t (v) VALUES (6)")
    assert run(con, "SELECT id, v FROM #t ORDER BY id") == [[(5, 5), (6, 6)]]
    run(con, MODELS_TABLE + "GO\nCREATE PROCEDURE dbo.load_model @id INT AS\nSET IDENTITY_INSERT models ON\n"
             "INSERT INTO models (id, description) VALUES (@id, 'loaded')")
    run(con, "EXEC dbo.load_model @id = 40")
    with pytest.raises(sqlpredict.ProgrammingError, match="Msg 544"):
        run(con, "INSERT INTO models (id, description) VALUES (41, 'outside')")
    run(con, "INSERT INTO models (description) VALUES ('numbered')")
    assert run(con, IDENTITY_ROWS) == [[(40, "loaded"), (41, "numbered")]]


def test_a_kept_plan_does_not_skip_the_identity_insert_rules(loaded):
    """A PREDICT statement run again reuses its plan without the batch runner (plans.py): it must not
    skip Msg 545 once IDENTITY_INSERT is ON, nor Msg 544 once it is OFF again."""
    run(loaded, "CREATE TABLE scored (n INT IDENTITY(1,1), id INT, score FLOAT)")
    predict = "FROM PREDICT(MODEL = ?, DATA = dbo.Features AS d, RUNTIME = ONNX) WITH (score FLOAT) AS p"
    numbered = f"INSERT INTO scored (id, score) SELECT d.Id, p.score {predict}"
    explicit = f"INSERT INTO scored (n, id, score) SELECT d.Id + 100, d.Id, p.score {predict} WHERE d.Id = ?"
    cur = loaded.cursor()
    cur.execute(numbered, [MODEL])
    cur.execute(numbered, [MODEL])
    assert loaded.plans.reused == 1
    cur.execute("SET IDENTITY_INSERT scored ON")
    with pytest.raises(sqlpredict.ProgrammingError, match="Msg 545"):
        cur.execute(numbered, [MODEL])
    cur.execute(explicit, [MODEL, 1])
    cur.execute(explicit, [MODEL, 2])
    cur.execute("SET IDENTITY_INSERT scored OFF")
    with pytest.raises(sqlpredict.ProgrammingError, match="Msg 544"):
        cur.execute(explicit, [MODEL, 3])
    cur.execute(numbered, [MODEL])
    assert run(loaded, "SELECT n FROM scored ORDER BY n") == [[(n,) for n in [*range(1, 9), 101, 102, 103, 104,
                                                                                   105, 106]]]


def test_identity_columns_are_read_again_once_a_table_may_have_changed(tmp_path):
    """A connection keeps what it read of a table's IDENTITY columns while its transaction lasts (DuckDB's
    catalog does not change under a transaction), until its own CREATE or DROP; another transaction's
    changes are seen from the next one."""
    path = str(tmp_path / "identity.duckdb")
    first, second = sqlpredict.connect(path), sqlpredict.connect(path)
    try:
        run(first, "CREATE TABLE t (id INT IDENTITY(1,1), v INT)")
        first.commit()
        run(first, "INSERT INTO t (v) VALUES (1)")
        run(first, "INSERT INTO t (v) VALUES (2)")
        run(first, "DROP TABLE t")
        run(first, "CREATE TABLE t (id INT, v INT)")
        run(first, "INSERT INTO t (id, v) VALUES (5, 5)")
        first.commit()
        run(second, "DROP TABLE t\nCREATE TABLE t (id INT IDENTITY(1,1), v INT)")
        second.commit()
        with pytest.raises(sqlpredict.ProgrammingError, match="Msg 544"):
            run(first, "INSERT INTO t (id, v) VALUES (6, 6)")
    finally:
        first.close()
        second.close()


def test_identity_insert_on_names_that_need_quoting(con):
    """A quote or a space in the table's or the column's name: the sequence's name holds them, and the fix a
    message suggests is written as T-SQL quotes it."""
    run(con, "CREATE TABLE [o'brien t] ([i'd] INT IDENTITY(1,1), [v] INT)\nINSERT INTO [o'brien t] (v) VALUES (1)")
    with pytest.raises(sqlpredict.ProgrammingError) as info:
        run(con, "INSERT INTO [o'brien t] ([i'd], v) VALUES (7, 2)")
    assert "leave [i'd] out of the column list" in str(info.value)
    assert "SET IDENTITY_INSERT [o'brien t] ON" in str(info.value)
    run(con, "SET IDENTITY_INSERT [o'brien t] ON\nINSERT INTO [o'brien t] ([i'd], v) VALUES (7, 2)\n"
             "SET IDENTITY_INSERT [o'brien t] OFF\nINSERT INTO [o'brien t] (v) VALUES (3)")
    assert run(con, "SELECT [i'd], v FROM [o'brien t] ORDER BY v") == [[(1, 1), (7, 2), (8, 3)]]


def test_a_rolled_back_explicit_identity_value_leaves_a_gap(con):
    """DuckDB's setval, like SQL Server's IDENTITY, is not undone by a ROLLBACK: the numbering stays past
    the rolled-back value, and no generated value can meet a row that another transaction still holds."""
    run(con, MODELS_TABLE + "INSERT INTO models (description) VALUES ('one')")
    con.commit()
    run(con, "SET IDENTITY_INSERT models ON\nINSERT INTO models (id, description) VALUES (50, 'gone')\n"
             "SET IDENTITY_INSERT models OFF")
    con.rollback()
    run(con, "INSERT INTO models (description) VALUES ('two')")
    assert run(con, IDENTITY_ROWS) == [[(1, "one"), (51, "two")]]


def test_a_float_cast_to_text_is_written_as_sql_server_writes_it(loaded):
    """Style 0: at most 6 significant digits, scientific with a three-digit exponent where needed. DuckDB
    wrote every digit: 'Score: ' + CAST(@f AS VARCHAR(20)) was 'Score: 237.04998779296875'."""
    run(loaded, "CREATE TABLE f (r REAL, d FLOAT, n NUMERIC(10,2))\nINSERT INTO f VALUES (237.05, 1234567, 1.25)")
    rows = run(loaded, "DECLARE @f REAL = 237.05\nSELECT 'Score: ' + CAST(@f AS VARCHAR(20)), CAST(r AS VARCHAR(20)), "
                       "CONVERT(VARCHAR(30), d), CAST(CAST(0.00001 AS FLOAT) AS VARCHAR(10)), CAST(n AS VARCHAR(10)) "
                       "FROM f")[-1]
    assert rows == [("Score: 237.05", "237.05", "1.23457e+006", "1e-005", "1.25")]
    scored_rows = run(loaded, "DECLARE @model VARBINARY(MAX) = (SELECT data FROM models WHERE id = 1)\n"
                              "SELECT d.Id, CAST(p.score AS VARCHAR(30)) FROM PREDICT(MODEL = @model, "
                              "DATA = dbo.Features AS d) WITH (score FLOAT) AS p ORDER BY d.Id")[-1]
    expected = direct(F0, F1)
    assert [r[1] for r in scored_rows] == [f"{float(v):g}".replace("e+0", "e+00").replace("e-0", "e-00")
                                           for v in expected]
