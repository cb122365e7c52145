"""`sqlpredict demo`: the SQL Edge ONNX quickstart, run unchanged and explained batch by batch.

The quickstart script and its model ship inside the package (sql/examples in
the repository is the package `sqlpredict.examples`), so the demo runs the
same file users can read and run with `sqlpredict run`. Each batch's leading
comments are the explanation; at the end the scores are checked against
onnxruntime run directly on the same feature values.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import typing as t
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from . import output
from .script import Batch, split_batches

SCRIPT = "quickstart.sql"
MODEL = "house_price.onnx"
MODEL_PATH = Path("sql") / "examples" / MODEL  # where the script's OPENROWSET reads it, from its working directory
FEATURES = ("area_m2", "bedrooms", "age_years", "distance_km")
TOLERANCE = 1e-4


def _examples() -> t.Any:
    """sql/examples: installed as sqlpredict.examples, or beside the package in a source tree."""
    try:
        return resources.files("sqlpredict.examples")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "sql" / "examples"


def quickstart() -> tuple[str, bytes]:
    """The quickstart script's text and the model file it registers."""
    examples = _examples()
    return examples.joinpath(SCRIPT).read_text(encoding="utf-8"), examples.joinpath(MODEL).read_bytes()


def explain(batch: Batch) -> tuple[list[str], str]:
    """The comment paragraph just above a batch's SQL (its explanation), and the SQL.

    Comments separated from the SQL by a blank line, such as the file's own
    header, are not the step's explanation.
    """
    lines = batch.text.strip("\n").splitlines()
    comments: list[str] = []
    while lines and (lines[0].lstrip().startswith("--") or not lines[0].strip()):
        line = lines.pop(0).strip()
        if not line:
            comments = []
        elif line.startswith("--"):
            comments.append(line.lstrip("-").strip())
    return [c for c in comments if c], "\n".join(lines)


@contextlib.contextmanager
def _working_directory(path: Path) -> t.Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_demo(out: t.TextIO = sys.stdout, *, database: str = ":memory:") -> int:
    """Run the quickstart, printing every step; 0 when PREDICT matches onnxruntime, 1 otherwise."""
    import sqlpredict

    script, model = quickstart()
    out.write(f"sqlpredict {sqlpredict.__version__} demo: the Azure SQL Edge ONNX quickstart, run unchanged.\n"
              f"The script is sql/examples/{SCRIPT}; `sqlpredict run` runs it the same way.\n")
    database = database if database == ":memory:" else str(Path(database).resolve())
    with tempfile.TemporaryDirectory() as folder, _working_directory(Path(folder)):
        MODEL_PATH.parent.mkdir(parents=True)
        MODEL_PATH.write_bytes(model)
        con = sqlpredict.connect(database, autocommit=True)
        try:
            with warnings.catch_warnings():  # the script's USE onnx: one database answers to every name
                warnings.simplefilter("ignore")
                scored = _run_script(con, script, out)
            features = output.from_cursor(con.cursor().execute(
                "SELECT house_id, " + ", ".join(FEATURES) + " FROM features ORDER BY house_id"))
        finally:
            con.close()
    return _report(out, model, features, scored)


def _run_script(con: t.Any, script: str, out: t.TextIO) -> output.ResultSet | None:
    """Run batch by batch; returns the result that holds predicted prices for every house."""
    scored = None
    step = 0
    for batch in split_batches(script):
        comments, sql = explain(batch)
        if not sql.strip():
            continue
        step += 1
        out.write(f"\n-- {step}. " + (" ".join(comments) if comments else "Run:") + "\n")
        out.write("\n".join("   " + line for line in sql.splitlines()) + "\n")
        cur = con.cursor().execute(sql)
        while cur.description is not None:
            result = output.from_cursor(cur)
            out.write("\n" + output.format_table(result))
            if "predicted_price" in result.columns and (scored is None or len(result.rows) > len(scored.rows)):
                scored = result
            if not cur.nextset():
                break
    return scored


def score_directly(model: bytes, features: output.ResultSet) -> np.ndarray:
    """The model run by onnxruntime itself on the feature values in the table."""
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {name: np.array(_column(features, name), np.float32).reshape(-1, 1) for name in FEATURES}
    return session.run(["score"], feeds)[0].reshape(-1).astype(np.float64)


def _column(result: output.ResultSet, name: str) -> list[t.Any]:
    index = result.columns.index(name)
    return [row[index] for row in result.rows]


def _report(out: t.TextIO, model: bytes, features: output.ResultSet, scored: output.ResultSet | None) -> int:
    out.write("\n-- Check: run onnxruntime directly on the same feature values.\n")
    if scored is None:
        out.write("FAILED: the quickstart returned no predicted prices.\n")
        return 1
    expected = dict(zip(_column(features, "house_id"), score_directly(model, features)))
    got = dict(zip(_column(scored, "house_id"), _column(scored, "predicted_price")))
    if sorted(got) != sorted(expected) or any(v is None for v in got.values()):
        out.write("FAILED: PREDICT did not score every house.\n")
        return 1
    diff = max(abs(float(got[k]) - expected[k]) for k in expected)
    out.write(f"   {len(got)} scores compared, max abs difference {diff:.3g}\n")
    if diff <= TOLERANCE:
        out.write("OK: PREDICT's scores equal the model's own.\n")
        return 0
    out.write(f"FAILED: PREDICT's scores differ from onnxruntime's by more than {TOLERANCE:g}.\n")
    return 1


__all__ = ["quickstart", "explain", "run_demo", "score_directly"]
