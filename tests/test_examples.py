"""Every script in sql/examples/ runs through `sqlpredict run` as CI runs it, and its scores are right.

Each script runs in a subprocess from the repository root (its OPENROWSET paths
are relative to it) on a fresh in-memory database, with --format json: one JSON
array per result set, one per line. Every result set that carries a model's
score next to that model's inputs is checked against onnxruntime run directly
on the same input values.
"""

from __future__ import annotations

import decimal
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "sql" / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.sql"))

# score column -> the model file whose output it is
SCORE_COLUMNS = {"predicted_price": "house_price.onnx", "% Silica Concentrate": "iron_ore.onnx"}

# script -> (number of result sets, number of them that carry scores to check)
EXPECTED = {
    "quickstart.sql": (2, 2),
    "variables.sql": (2, 1),
    "temp_tables.sql": (1, 1),
    "insert_predictions.sql": (2, 1),
    "merge_predictions.sql": (1, 1),
    "stored_procedure.sql": (4, 2),
    "view_over_predict.sql": (2, 1),
    "describe_model.sql": (3, 1),
    "iron_ore.sql": (2, 1),
    "tsql_functions.sql": (1, 1),
}


def run_script(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sqlpredict", "run", str(path.relative_to(ROOT)), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def json_sets(stdout: str) -> list[list[dict]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def session(model_file: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(EXAMPLES / model_file), providers=["CPUExecutionProvider"])


def check_scores(rows: list[dict]) -> bool:
    """Check the score column of a result set against onnxruntime; False if it has none."""
    if not rows:
        return False
    for column, model_file in SCORE_COLUMNS.items():
        if column not in rows[0]:
            continue
        sess = session(model_file)
        names = [i.name for i in sess.get_inputs()]
        if not all(n in rows[0] for n in names):
            continue
        feeds = {n: np.array([r[n] for r in rows], np.float32).reshape(-1, 1) for n in names}
        expected = sess.run(None, feeds)[0].reshape(-1)
        got = np.array([float(r[column]) for r in rows], np.float64)
        np.testing.assert_allclose(got, expected.astype(np.float64), rtol=1e-6, atol=0)
        # json prints the float32 value in full (FLOAT) or as its shortest text (REAL): it must round
        # back to the very float32 onnxruntime computed
        np.testing.assert_array_equal(got.astype(np.float32), expected)
        return True
    return False


def test_every_example_is_listed():
    assert {p.name for p in SCRIPTS} == set(EXPECTED)


def test_model_files_are_the_ones_make_models_builds(tmp_path):
    """The committed .onnx files are what make_models.py writes (so they can be rebuilt)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_models
    finally:
        sys.path.remove(str(EXAMPLES))
    for name, build in make_models.MODELS.items():
        assert (EXAMPLES / name).read_bytes() == build(), name


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_example_runs_and_scores_match_onnxruntime(path):
    done = run_script(path, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    sets = json_sets(done.stdout)
    total, scored = EXPECTED[path.name]
    assert len(sets) == total, done.stdout
    assert sum(check_scores(rows) for rows in sets) == scored


def test_quickstart_table_output_and_view(tmp_path):
    """The default table format works too, and the view lives in a database file after the run."""
    database = tmp_path / "quickstart.duckdb"
    done = run_script(EXAMPLES / "quickstart.sql", "--database", str(database))
    assert done.returncode == 0, done.stderr
    assert "predicted_price" in done.stdout and "(5 rows)" in done.stdout and "(4 rows)" in done.stdout
    import sqlpredict

    con = sqlpredict.connect(str(database))
    rows = con.execute("SELECT [house_id], [area_m2], [bedrooms], [age_years], [distance_km], [predicted_price] "
                       "FROM [dbo].[house_price_predictions] ORDER BY [house_id]").fetchall()
    con.close()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    keys = ["house_id", "area_m2", "bedrooms", "age_years", "distance_km", "predicted_price"]
    assert check_scores([dict(zip(keys, r)) for r in rows])


def test_example_details():
    """Values the scripts compute besides the scores."""
    out = {p.name: json_sets(run_script(p, "--format", "json").stdout)
           for p in (EXAMPLES / "variables.sql", EXAMPLES / "insert_predictions.sql",
                     EXAMPLES / "merge_predictions.sql", EXAMPLES / "stored_procedure.sql",
                     EXAMPLES / "describe_model.sql")}
    variables = out["variables.sql"]
    best = max(variables[0], key=lambda r: r["predicted_price"])
    assert variables[1] == [{"ModelId": 1, "TopListing": best["ListingId"], "MaxPredictedPrice": best["predicted_price"]}]
    log = out["insert_predictions.sql"][1]
    assert [r["LogId"] for r in log] == [1, 2, 3]
    half_up = [float(decimal.Decimal(r["predicted_price"]).quantize(decimal.Decimal("0.01"), decimal.ROUND_HALF_UP))
               for r in out["insert_predictions.sql"][0]]  # CAST to NUMERIC rounds half away from zero
    assert [r["Price"] for r in log] == half_up
    merged = out["merge_predictions.sql"][0]
    assert [(r["HouseId"], r["Revision"]) for r in merged] == [(1, 2), (2, 1), (3, 2), (4, 1)]
    proc = out["stored_procedure.sql"]
    assert proc[1][0]["PredictedPrice"] == proc[0][0]["predicted_price"]
    assert proc[3][0]["PredictedPrice"] == proc[2][0]["predicted_price"]
    described = out["describe_model.sql"]
    assert [r["name"] for r in described[1]] == [i.name for i in session("iron_ore.onnx").get_inputs()] + [
        "% Silica Concentrate"]
    assert {r["sql_type"] for r in described[0]} == {"real"}
