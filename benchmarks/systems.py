"""One system on one workload, in a process of its own (run.py starts one per pair).

    python benchmarks/systems.py '<job as JSON>'

prints one JSON line: seconds, peak RSS, RSS before the clock started. Each
system sets up (connections, onnxruntime session, UDF registration), runs
its work once over 1 row to pay first-call costs, then times the measured
work. Results go to the table job["target"] in the benchmark's DuckDB file,
for run.py to compare with the hand-written loop's.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import pyarrow as pa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from models import make_session, providers  # noqa: E402
from workloads import (HAND, HAND_ALL, HAND_BIG, PANDAS, PLAIN, PLAIN_INPUTS, PREDICT, PREDICT_64K,  # noqa: E402
                       PREDICT_ALL, PREDICT_NO_PLANS, PREDICT_NO_PREFETCH, PREDICT_SPIN, UDF, Output, Workload)

BATCH_ROWS = 65536  # the hand loop's batch, as issue 5 defines it ("Arrow batches of 64K")
BIG_BATCH_ROWS = 122_880  # sqlpredict's default batch_size (stream.DEFAULT_BATCH_SIZE)
SINK = "scored"  # name of the registered reader the hand-written systems write from


# ---------------------------------------------------------------- SQL pieces


def input_select(w: Workload, extra: tuple[str, ...] = (), filtered: bool = True) -> str:
    """What the hand-written systems read: id and the model's inputs, filtered as the workload says."""
    cols = ", ".join(["id", *w.inputs, *[c for c in extra if c not in w.inputs]])
    where = f" WHERE {w.filter}" if w.filter and filtered else ""
    return f"SELECT {cols} FROM {w.source}{where}"


def output_names(w: Workload) -> str:
    return ", ".join(o.name for o in w.outputs)


def sink_sql(w: Workload, target: str, select: str) -> str:
    """Wrap the scoring SELECT (columns id, outputs...) in the workload's sink."""
    if w.sink == "aggregate":
        return f"SELECT count(*), sum({w.outputs[0].name}) FROM ({select})"
    return f"CREATE OR REPLACE TABLE {target} AS {select}"


def predict_clause(w: Workload, data: str | None = None) -> str:
    with_list = ", ".join(f"{o.name} {o.sql_type}" for o in w.outputs)
    return f"PREDICT(MODEL = ?, DATA = {data or w.source} AS d) WITH ({with_list}) AS p"


def predict_sql(w: Workload, target: str) -> str:
    outs = ", ".join(f"p.{o.name}" for o in w.outputs)
    where = f" WHERE d.{w.filter}" if w.filter else ""
    return sink_sql(w, target, f"SELECT d.id, {outs} FROM {predict_clause(w)}{where}")


def predict_all_then_filter_sql(w: Workload, target: str) -> str:
    """Score every row in a CTE, filter outside it on a computed copy of the column: the filter cannot reach
    DATA (one on the column itself, passed through unchanged, would: see pushdown.enclosing_filters)."""
    outs = ", ".join(f"p.{o.name}" for o in w.outputs)
    column = w.filter.split()[0]
    scored = f"SELECT d.id, d.{column} + 0 AS {column}, {outs} FROM {predict_clause(w)}"
    return sink_sql(w, target, f"WITH s AS ({scored}) SELECT id, {output_names(w)} FROM s WHERE {w.filter}")


# ---------------------------------------------------------------- tensors <-> Arrow


def to_arrow(output: Output, value: np.ndarray) -> pa.Array:
    """One output tensor as an Arrow column: [N]/[N,1] flat, [N,k] as FixedSizeList (DuckDB FLOAT[k])."""
    flat = pa.array(np.ascontiguousarray(value).reshape(-1))
    if output.width is None:
        return flat
    return pa.FixedSizeListArray.from_arrays(flat, output.width)


def arrow_type(output: Output, value_type: pa.DataType) -> pa.DataType:
    return value_type if output.width is None else pa.list_(value_type, output.width)


def output_schema(w: Workload, session, extra: tuple[pa.Field, ...] = ()) -> pa.Schema:
    numpy_of = {"tensor(float)": pa.float32(), "tensor(int64)": pa.int64(), "tensor(double)": pa.float64()}
    types = {o.name: numpy_of[o.type] for o in session.get_outputs()}
    fields = [pa.field("id", pa.int64()), *extra]
    fields += [pa.field(o.name, arrow_type(o, types[o.name])) for o in w.outputs]
    return pa.schema(fields)


def feeds_of(columns, names: list[str]) -> dict[str, np.ndarray]:
    """{input: [n,1] float32}, from anything with a column per name (Arrow batch, dict of arrays, DataFrame)."""
    return {n: np.asarray(columns[n]).reshape(-1, 1) for n in names}


# ---------------------------------------------------------------- the systems
#
# Each system_* function sets up what lasts (connections, the onnxruntime
# session, the UDF) and returns a System whose prepare(workload, target)
# gives run(i): the work the clock measures. run_job calls prepare twice:
# once for a 1-row warm-up, once for the measured workload.


@dataclass
class System:
    prepare: Callable[[Workload, str], Callable[[int], object]]
    execute: Callable[[str], object]  # plain SQL on the system's connection (cleanup)
    close: Callable[[], None]


def _finish(db, w: Workload, sql: str):
    """Run the sink statement; an aggregate sink's row comes back."""
    cursor = db.execute(sql)
    return cursor.fetchall() if w.sink == "aggregate" else None


def system_predict(job: dict, w: Workload, all_then_filter: bool = False, prefetch: bool = True,
                   spin: bool = False, batch_size: int | None = None, keep_plans: bool = True) -> System:
    """sqlpredict: one SQL statement, results written by DuckDB itself."""
    import sqlpredict

    os.environ["SQLPREDICT_PREFETCH"] = "1" if prefetch else "0"  # this child process only
    os.environ["SQLPREDICT_KEEP_PLANS"] = "1" if keep_plans else "0"
    if spin:
        _spin_wait_on()

    sized = {} if batch_size is None else {"batch_size": batch_size}
    con = sqlpredict.connect(job["db"], dialect="duckdb", autocommit=True, providers=providers(), **sized)
    cur = con.cursor()
    limit_memory(cur, w)
    model = read_model(job, w.model)

    def prepare(wl: Workload, target: str):
        sql = predict_all_then_filter_sql(wl, target) if all_then_filter else predict_sql(wl, target)

        def run(_: int):
            cur.execute(sql, [model])
            return cur.fetchall() if wl.sink == "aggregate" else None

        return run

    return System(prepare, cur.execute, con.close)


def limit_memory(con, w: Workload) -> None:
    """The workload's DuckDB memory_limit (a setting of the database, so the readers' cursors share it)."""
    if w.memory_limit:
        con.execute(f"SET memory_limit = '{w.memory_limit}'")  # a constant of workloads.py, not input


def _spin_wait_on() -> None:
    """Measure what sqlpredict's no-spinning choice is worth: its sessions with onnxruntime's default."""
    from sqlpredict import sessions

    own = sessions._session_options

    def spinning(threads):
        options = own(threads)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        return options

    sessions._session_options = spinning


def system_plain_select(job: dict, w: Workload, read_inputs: bool = False) -> System:
    """The same statement as PREDICT's with the model left out, through the same sqlpredict cursor.

    With `read_inputs` the score is the sum of the model's input columns, so DuckDB reads (and its
    buffer pool caches) the same columns PREDICT reads; otherwise it is one column, f0.
    """
    import sqlpredict

    con = sqlpredict.connect(job["db"], dialect="duckdb", autocommit=True, providers=providers())
    cur = con.cursor()
    limit_memory(cur, w)

    def prepare(wl: Workload, target: str):
        score = " + ".join(f"d.{c}" for c in wl.inputs) if read_inputs else "d.f0"
        sql = sink_sql(wl, target, f"SELECT d.id, {score} AS score FROM {wl.source} AS d")
        return lambda _: _finish(cur, wl, sql)

    return System(prepare, cur.execute, con.close)


def system_hand_loop(job: dict, w: Workload, all_then_filter: bool = False, batch_rows: int = BATCH_ROWS) -> System:
    """Read Arrow batches on one connection, score each with onnxruntime, write through a registered reader."""
    import duckdb

    db = duckdb.connect(job["db"])
    limit_memory(db, w)
    reader_con = db.cursor()
    session = make_session(read_model(job, w.hand_model))
    names = [o.name for o in w.outputs]
    column = w.filter.split()[0] if all_then_filter else None
    schema = output_schema(w, session, (pa.field(column, pa.float32()),) if column else ())

    def scored(reader: pa.RecordBatchReader):
        for batch in reader:
            values = session.run(names, feeds_of(batch, w.inputs))
            keep = [batch.column("id")] + ([batch.column(column)] if column else [])
            yield pa.RecordBatch.from_arrays(keep + [to_arrow(o, v) for o, v in zip(w.outputs, values)],
                                             schema=schema)

    def prepare(wl: Workload, target: str):
        select = input_select(wl, extra=(column,) if column else (), filtered=not all_then_filter)
        final = f"SELECT id, {output_names(wl)} FROM {SINK}" + (f" WHERE {wl.filter}" if column else "")
        sql = sink_sql(wl, target, final)

        def run(_: int):
            source = reader_con.sql(select).to_arrow_reader(batch_rows)
            db.register(SINK, pa.RecordBatchReader.from_batches(schema, scored(source)))
            try:
                return _finish(db, wl, sql)
            finally:
                db.unregister(SINK)

        return run

    return System(prepare, db.execute, db.close)


def system_udf(job: dict, w: Workload) -> System:
    """A DuckDB Arrow scalar UDF around the same session: DuckDB calls it once per vector (2,048 rows)."""
    import duckdb

    db = duckdb.connect(job["db"])
    session = make_session(read_model(job, w.hand_model))
    names = [o.name for o in w.outputs]

    def score(*columns):
        values = session.run(names, {n: c.to_numpy().reshape(-1, 1) for n, c in zip(w.inputs, columns)})
        arrays = [to_arrow(o, v) for o, v in zip(w.outputs, values)]
        return arrays[0] if len(arrays) == 1 else pa.StructArray.from_arrays(arrays, names=names)

    if len(w.outputs) == 1:
        return_type = w.outputs[0].sql_type
        call = f"score_udf({', '.join(w.inputs)}) AS {w.outputs[0].name}"
    else:
        return_type = db.struct_type({o.name: o.sql_type for o in w.outputs})
        call = f"UNNEST(score_udf({', '.join(w.inputs)}))"
    db.create_function("score_udf", _fixed_arity(score, len(w.inputs)), ["FLOAT"] * len(w.inputs),
                       return_type, type="arrow")

    def prepare(wl: Workload, target: str):
        where = f" WHERE {wl.filter}" if wl.filter else ""
        sql = sink_sql(wl, target, f"SELECT id, {call} FROM {wl.source}{where}")
        return lambda _: _finish(db, wl, sql)

    return System(prepare, db.execute, db.close)


def _fixed_arity(fn, n: int):
    """DuckDB's create_function reads the parameter count from the signature: no *args."""
    params = ", ".join(f"x{i}" for i in range(n))
    scope: dict = {"fn": fn}
    exec(f"def udf({params}):\n    return fn({params})", scope)  # noqa: S102 - a fixed, local template
    return scope["udf"]


def system_pandas(job: dict, w: Workload) -> System:
    """Read the rows into a DataFrame, score them in one session call, write the frame back."""
    import duckdb
    import pandas as pd

    db = duckdb.connect(job["db"])
    session = make_session(read_model(job, w.hand_model))
    names = [o.name for o in w.outputs]
    casts = ", ".join(f"CAST({o.name} AS {o.sql_type}) AS {o.name}" for o in w.outputs)

    def prepare(wl: Workload, target: str):
        sql = sink_sql(wl, target, f"SELECT id, {casts} FROM pandas_out")

        def run(_: int):
            frame = db.sql(input_select(wl)).df()
            values = session.run(names, feeds_of(frame, wl.inputs))
            out = pd.DataFrame({"id": frame["id"].to_numpy()})
            for o, v in zip(wl.outputs, values):
                out[o.name] = v.reshape(-1) if o.width is None else list(v)
            db.register("pandas_out", out)
            try:
                return _finish(db, wl, sql)
            finally:
                db.unregister("pandas_out")

        return run

    return System(prepare, db.execute, db.close)


SYSTEMS = {
    HAND: system_hand_loop,
    PREDICT: system_predict,
    UDF: system_udf,
    PANDAS: system_pandas,
    PREDICT_ALL: lambda job, w: system_predict(job, w, all_then_filter=True),
    HAND_ALL: lambda job, w: system_hand_loop(job, w, all_then_filter=True),
    PLAIN: system_plain_select,
    PLAIN_INPUTS: lambda job, w: system_plain_select(job, w, read_inputs=True),
    PREDICT_NO_PREFETCH: lambda job, w: system_predict(job, w, prefetch=False),
    PREDICT_SPIN: lambda job, w: system_predict(job, w, spin=True),
    PREDICT_NO_PLANS: lambda job, w: system_predict(job, w, keep_plans=False),
    PREDICT_64K: lambda job, w: system_predict(job, w, batch_size=BATCH_ROWS),
    HAND_BIG: lambda job, w: system_hand_loop(job, w, batch_rows=BIG_BATCH_ROWS),
}


# ---------------------------------------------------------------- measuring


def read_model(job: dict, name: str) -> bytes:
    with open(os.path.join(job["models"], f"{name}.onnx"), "rb") as f:
        return f.read()


def memory_mb(field_name: str) -> float:
    """VmHWM (peak) or VmRSS (now) of this process, in MB.

    VmHWM belongs to this process's own address space; ru_maxrss is not used
    because after fork+exec it can carry the parent's high-water mark.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def warm_sample(w: Workload) -> Workload:
    """The workload over 1 row that passes its filter."""
    where = f" WHERE {w.filter}" if w.filter else ""
    return replace(w, source=f"(SELECT * FROM {w.source}{where} LIMIT 1)", repeat=1)


def run_job(job: dict) -> dict:
    """Set the system up, warm it up on 1 row, then time the workload `trials` times (the median counts)."""
    w = Workload.from_json(job["workload"])
    system = SYSTEMS[job["system"]](job, w)
    warm_target = job["target"] + "_warm"
    system.prepare(warm_sample(w), warm_target)(0)
    if w.sink == "table":
        system.execute(f"DROP TABLE {warm_target}")
    run = system.prepare(w, job["target"])
    rss_before = memory_mb("VmRSS")
    result, trials, cpu = None, [], []
    for _ in range(job.get("trials", 1)):  # (g)'s 100 queries are one trial
        start, start_cpu = time.perf_counter(), time.process_time()
        for i in range(w.repeat):
            result = run(i)
        trials.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)  # every thread of this process: DuckDB's, onnxruntime's
    peak = memory_mb("VmHWM")
    system.close()
    return {"seconds": statistics.median(trials), "trial_seconds": trials, "cpu_seconds": statistics.median(cpu),
            "trial_cpu_seconds": cpu,
            "peak_rss_mb": peak,
            "rss_before_mb": rss_before, "aggregate": [list(r) for r in result] if isinstance(result, list) else None}


def main() -> None:
    job = json.loads(sys.argv[1])
    try:
        out = run_job(job)
    except Exception as exc:  # noqa: BLE001 - reported to run.py, which keeps going
        out = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
               "traceback": traceback.format_exc()}
    sys.stdout.write("\nRESULT " + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown (and DuckDB's nanobind leak report)


if __name__ == "__main__":
    main()
