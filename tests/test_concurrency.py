"""Threads and interrupts: 8 threads on one connection, every result exact; interrupt() stops PREDICT.

Threads each use their own cursor on one shared connection, mixing models
and tables (committed tables stream from a sibling connection, a temp table
scores on the user's connection), for a sustained period. Every result must
equal onnxruntime run directly, every thread must finish before its
deadline, the session cache must stay within its byte bound, and the
process's memory must not keep growing from round to round.

`run_threads` and `interrupt_once` are reused by benchmarks/stress.py.
"""

from __future__ import annotations

import gc
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import onnx_models  # noqa: E402

import sqlpredict  # noqa: E402
from sqlpredict import sessions, stream  # noqa: E402

THREADS = 8
MODELS = [onnx_models.linear(weights=(1.0 + k, -0.5 * k), bias=float(k)) for k in range(12)]
MODELS += [onnx_models.linear(names=("f0", "f1", "f2"), weights=(0.5, k, -1.0), bias=-float(k)) for k in range(6)]
# Room for three sessions, as the cache counts one: the model's bytes twice (sqlpredict's and onnxruntime's)
# and onnxruntime's own overhead.
CACHE_BYTES = 3 * (2 * max(len(m) for m in MODELS) + sessions.SESSION_OVERHEAD_BYTES)
TABLES = {"t_small": 150, "t_big": 2000, "#t_temp": 400}


def table_values(name: str) -> dict[str, np.ndarray]:
    n = TABLES[name]
    rng = np.random.default_rng(abs(hash(name)) % 1000)
    return {c: rng.normal(size=n).astype(np.float32) * 10 for c in ("f0", "f1", "f2")}


def make_connection(cache_bytes: int = CACHE_BYTES, batch_size: int = 256):
    con = sqlpredict.connect(autocommit=True, session_cache_bytes=cache_bytes, batch_size=batch_size)
    cur = con.cursor()
    for name in TABLES:
        values = table_values(name)
        cur.execute(f"CREATE TABLE {name} (id INT, f0 REAL, f1 REAL, f2 REAL)")
        cur.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?)",
                        [(i, float(values["f0"][i]), float(values["f1"][i]), float(values["f2"][i]))
                         for i in range(TABLES[name])])
    return con


def expected(model: bytes, table: str) -> list[float]:
    values = table_values(table)
    names = ["f0", "f1", "f2"] if model in MODELS[12:] else ["f0", "f1"]
    feeds = {n: values[n].reshape(-1, 1) for n in names}
    return [float(v) for v in onnx_models.run_direct(model, feeds)[0].reshape(-1)]


EXPECTED = {(i, t): expected(m, t) for i, m in enumerate(MODELS) for t in TABLES}
QUERY = ("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = {table} AS d, RUNTIME = ONNX) "
         "WITH (score REAL) AS p ORDER BY d.id")


def run_threads(con, seconds: float, seed: int, threads: int = THREADS, deadline_slack: float = 30.0) -> dict:
    """8 threads score random (model, table) pairs for `seconds`; returns counts; raises on any broken guarantee."""
    stop = time.monotonic() + seconds
    failures: list[str] = []
    counts = {"queries": 0, "rows": 0, "max_cache_len": 0, "max_cache_bytes": 0}
    lock = threading.Lock()

    def work(k: int) -> None:
        rng = random.Random(seed * 100 + k)
        cur = con.cursor()
        try:
            while time.monotonic() < stop:
                i = rng.randrange(len(MODELS))
                table = rng.choice(list(TABLES))
                rows = cur.execute(QUERY.format(table=table), [MODELS[i]]).fetchall()
                got = [r[1] for r in rows]
                ok = [r[0] for r in rows] == list(range(TABLES[table])) and got == EXPECTED[(i, table)]
                size, length = con.cache.size_bytes, len(con.cache)
                with lock:
                    counts["queries"] += 1
                    counts["rows"] += len(rows)
                    counts["max_cache_len"] = max(counts["max_cache_len"], length)
                    counts["max_cache_bytes"] = max(counts["max_cache_bytes"], size)
                    if not ok:
                        failures.append(f"thread {k}: model {i} on {table}: result differs from onnxruntime")
                    if size > con.cache.max_bytes:
                        failures.append(f"thread {k}: cache holds {size} bytes > bound {con.cache.max_bytes}")
        except BaseException as exc:  # noqa: BLE001
            with lock:
                failures.append(f"thread {k}: {type(exc).__name__}: {exc}")

    workers = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
    for w in workers:
        w.start()
    hard = time.monotonic() + seconds + deadline_slack
    for w in workers:
        w.join(max(0.0, hard - time.monotonic()))
    alive = [w.name for w in workers if w.is_alive()]
    assert not alive, f"threads still running after their deadline (deadlock?): {alive}"
    assert not failures, "\n".join(failures[:10])
    return counts


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def test_eight_threads_one_connection_exact_and_bounded():
    con = make_connection()
    rss = []
    total = 0
    for round_ in range(4):
        counts = run_threads(con, seconds=1.0, seed=round_)
        total += counts["queries"]
        assert counts["max_cache_bytes"] <= CACHE_BYTES
        assert len(con.cache) <= len(MODELS)
        gc.collect()
        rss.append(rss_mb())
    assert total >= 40, f"only {total} queries ran: the threads did not get to work"
    assert con.cache.loads > len(con.cache), "no eviction happened: the bound was not exercised"
    # Memory: after a warm-up round, later rounds must not keep adding (allowance for allocator noise).
    assert rss[-1] - rss[1] < 40, f"RSS grew across rounds: {rss}"
    con.close()


# ------------------------------------------------------------------ interrupts

LONG_SOURCE = "(SELECT CAST(i % 1000 AS REAL) AS f0, CAST(i % 7 AS REAL) AS f1 FROM range(200000000) r(i)) AS d"


def interrupt_once(path: str, dialect: str = "duckdb", after: float = 0.7) -> dict:
    """Start a long PREDICT, interrupt it from another thread; return timings; raise if a guarantee breaks."""
    con = sqlpredict.connect(dialect=dialect, autocommit=path == "streaming", batch_size=8192)
    cur = con.cursor()
    if path == "on_connection":
        # Earlier uncommitted writes: PREDICT scores on the user's connection before the statement runs.
        cur.execute("CREATE TABLE marker (x INT)")
        cur.execute("INSERT INTO marker VALUES (1)")
    sql = (f"SELECT SUM(p.score) FROM PREDICT(MODEL = ?, DATA = {LONG_SOURCE}) WITH (score REAL) AS p")
    outcome: dict = {}

    def run() -> None:
        start = time.monotonic()
        try:
            cur.execute(sql, [onnx_models.linear()])
            outcome["result"] = "finished"
        except BaseException as exc:  # noqa: BLE001
            outcome["result"] = exc
        outcome["ended"] = time.monotonic()
        outcome["started"] = start

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    time.sleep(after)
    sent = time.monotonic()
    con.interrupt()
    worker.join(30)
    assert not worker.is_alive(), "PREDICT still running 30 s after interrupt()"
    result = outcome["result"]
    assert isinstance(result, sqlpredict.OperationalError), f"{type(result).__name__}: {result}"
    latency = outcome["ended"] - sent
    after_rows = con.cursor().execute(
        "SELECT p.score FROM PREDICT(MODEL = ?, DATA = (SELECT CAST(1 AS REAL) AS f0, CAST(2 AS REAL) AS f1) AS d) "
        "WITH (score REAL) AS p", [onnx_models.linear()]).fetchall()
    assert after_rows == [(pytest.approx(-3.5),)]
    con.close()
    return {"latency": latency, "message": str(result)[:120]}


@pytest.mark.parametrize("path", ["streaming", "on_connection"])
@pytest.mark.parametrize("dialect", ["duckdb", "tsql"])
def test_interrupt_stops_a_long_predict(path, dialect):
    timing = interrupt_once(path, dialect)
    assert timing["latency"] < 2.0, timing


# ------------------------------------------------------------------ read-ahead workers
#
# From its third batch on, a stream scores on one worker thread and reads DATA
# on another (stream.PredictStream._ahead). Results must not depend on them,
# their jobs must be over when the statement ends however it ends, a one-batch
# query must not give them any, and the threads are kept for the next statement.

AHEAD_ROWS = 5000
AHEAD_BATCH = 128  # 40 batches


def ahead_connection(path: str):
    con = sqlpredict.connect(dialect="duckdb", autocommit=path == "streaming", batch_size=AHEAD_BATCH)
    cur = con.cursor()
    cur.execute("CREATE TABLE src AS SELECT i AS id, CAST(sin(i) * 100 AS REAL) AS f0, "
                f"CAST(cos(i) * 10 AS REAL) AS f1 FROM range({AHEAD_ROWS}) r(i)")
    if path == "on_connection":  # uncommitted rows: DATA is scored on the user's connection first
        cur.execute("INSERT INTO src VALUES (-1, 1.0, 2.0)")
    return con


def started_jobs(monkeypatch) -> list[str]:
    """The names of the jobs handed to the read-ahead and score-ahead workers from now on."""
    names: list[str] = []
    original = stream.WORKERS.start

    def start(job, name):
        names.append(name)
        return original(job, name)

    monkeypatch.setattr(stream.WORKERS, "start", start)
    return names


def started_threads(monkeypatch) -> list[str]:
    names: list[str] = []
    original = threading.Thread.start

    def start(self):
        names.append(self.name)
        return original(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    return names


def busy_workers() -> list[str]:
    """Workers still running a statement's job: a worker is named after its job until it is idle again."""
    return [t.name for t in threading.enumerate() if t.name in ("sqlpredict-read", "sqlpredict-score")]


@pytest.mark.parametrize("path", ["streaming", "on_connection"])
@pytest.mark.parametrize("prefetch", ["1", "0"])
def test_many_batches_score_exactly_with_and_without_read_ahead(path, prefetch, monkeypatch):
    monkeypatch.setenv("SQLPREDICT_PREFETCH", prefetch)
    started = started_jobs(monkeypatch)
    model = onnx_models.linear(weights=(0.25, -2.0), bias=3.0)
    con = ahead_connection(path)
    rows = con.cursor().execute(
        "SELECT d.id, d.f0, d.f1, p.score FROM PREDICT(MODEL = ?, DATA = src AS d) WITH (score REAL) AS p "
        "ORDER BY d.id", [model]).fetchall()
    ids = np.array([r[0] for r in rows])
    f0, f1 = (np.array([r[k] for r in rows], dtype=np.float32).reshape(-1, 1) for k in (1, 2))
    direct = onnx_models.run_direct(model, {"f0": f0, "f1": f1})[0].reshape(-1)
    assert len(rows) == AHEAD_ROWS + (path == "on_connection")
    assert list(ids) == sorted(set(ids.tolist()))  # every row once
    assert np.array_equal(np.array([r[3] for r in rows], dtype=np.float32), direct)
    workers = sorted(started)
    if prefetch == "0":
        assert workers == []
    elif path == "streaming":
        assert workers == ["sqlpredict-read", "sqlpredict-score"]
    else:  # scored before the statement runs: only DATA is read ahead
        assert workers == ["sqlpredict-read"]
    assert busy_workers() == []
    con.close()


@pytest.mark.parametrize("path", ["streaming", "on_connection"])
def test_default_batches_score_exactly(path, monkeypatch):
    """connect()'s own batch size, over enough rows for the workers to start (3.3 default batches)."""
    started = started_jobs(monkeypatch)
    con = sqlpredict.connect(dialect="duckdb", autocommit=path == "streaming")
    rows = 3 * con.batch_size + 40_000
    model = onnx_models.linear(weights=(0.25, -2.0), bias=3.0)
    cur = con.cursor()
    cur.execute("CREATE TABLE src AS SELECT i AS id, CAST(sin(i) * 100 AS REAL) AS f0, "
                f"CAST(cos(i) * 10 AS REAL) AS f1 FROM range({rows}) r(i)")
    if path == "on_connection":  # uncommitted rows: DATA is scored on the user's connection first
        cur.execute("INSERT INTO src VALUES (-1, 1.0, 2.0)")
    table = cur.execute("SELECT d.id, d.f0, d.f1, p.score FROM PREDICT(MODEL = ?, DATA = src AS d) "
                        "WITH (score REAL) AS p ORDER BY d.id", [model]).fetch_arrow_table()
    f0, f1 = (table.column(c).to_numpy().reshape(-1, 1) for c in ("f0", "f1"))
    direct = onnx_models.run_direct(model, {"f0": f0, "f1": f1})[0].reshape(-1)
    assert table.num_rows == rows + (path == "on_connection")
    assert np.array_equal(table.column("id").to_numpy(), np.arange(-1 if path == "on_connection" else 0, rows))
    assert np.array_equal(table.column("score").to_numpy(), direct)
    assert "sqlpredict-read" in started  # the batches were read ahead
    assert busy_workers() == []
    con.close()


def test_a_one_batch_query_gives_workers_no_job(monkeypatch):
    started = started_jobs(monkeypatch)
    con = ahead_connection("streaming")
    rows = con.cursor().execute(
        f"SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = (SELECT * FROM src WHERE id < {AHEAD_BATCH}) AS d) "
        "WITH (score REAL) AS p", [onnx_models.linear()]).fetchall()
    assert len(rows) == AHEAD_BATCH
    assert started == []
    con.close()


@pytest.mark.parametrize("path", ["streaming", "on_connection"])
@pytest.mark.parametrize("ending", ["limit", "failure"])
def test_workers_are_gone_when_a_statement_ends_early(path, ending, monkeypatch):
    started = started_jobs(monkeypatch)
    con = ahead_connection(path)
    cur = con.cursor()
    if ending == "limit":
        rows = cur.execute("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = src AS d) WITH (score REAL) AS p "
                           "LIMIT 1000", [onnx_models.linear()]).fetchall()  # 8 of 40 batches: workers ran
        assert len(rows) == 1000
    else:  # row 4000 scores 2e38 + 3e38, infinite in float32, which SMALLINT cannot hold: batch 32 of 40
        cur.execute("UPDATE src SET f0 = CAST(1e38 AS REAL), f1 = CAST(-1e38 AS REAL) WHERE id = 4000")
        with pytest.raises(sqlpredict.DataError, match="^PREDICT:"):
            cur.execute("SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = src AS d) WITH (score SMALLINT) AS p",
                        [onnx_models.linear()])
    assert "sqlpredict-read" in started  # the statement ended while workers ran
    assert busy_workers() == []
    # The connection goes on normally.
    assert cur.execute("SELECT count(*) FROM src").fetchall()[0][0] == AHEAD_ROWS + (path == "on_connection")
    con.close()


@pytest.mark.parametrize("pause", [False, True])
def test_both_workers_end_whichever_started_first(pause, monkeypatch):
    """The scorer starts the reader on its own thread, so the reader could be listed before the
    scorer, and was then stopped first: the scorer, waiting on the reader's next batch, waited
    forever (and close() for its 5 s timeout). `pause` makes that order likely: the thread that
    hands the scorer its job pauses while the scorer starts its reader. DATA is slow to compute,
    so when LIMIT ends the statement the scorer is waiting on the reader."""
    original = stream.WORKERS.start

    def start(job, name):
        done = original(job, name)
        if pause and name == "sqlpredict-score":
            time.sleep(0.3)
        return done

    monkeypatch.setattr(stream.WORKERS, "start", start)
    con = sqlpredict.connect(dialect="duckdb", autocommit=True, batch_size=8192)
    slow = ("(SELECT CAST(i AS REAL) AS f0, CAST(length(md5(md5(md5(md5(CAST(i AS VARCHAR)))))) AS REAL) AS f1 "
            "FROM range(2000000) r(i)) AS d")
    rows = con.cursor().execute(f"SELECT d.f0, p.score FROM PREDICT(MODEL = ?, DATA = {slow}) WITH (score REAL) AS p "
                                "LIMIT 30000", [onnx_models.linear()]).fetchall()
    assert len(rows) == 30000
    f0 = np.array([r[0] for r in rows], dtype=np.float32).reshape(-1, 1)
    direct = onnx_models.run_direct(onnx_models.linear(), {"f0": f0, "f1": np.full_like(f0, 32.0)})[0]
    assert np.array_equal(np.array([r[1] for r in rows], dtype=np.float32), direct.reshape(-1))
    assert busy_workers() == []
    con.close()


def test_workers_are_kept_for_the_next_statement(monkeypatch):
    """Threads started for each statement and ended after it left their malloc arenas full of freed
    memory, and a long-lived process grew (benchmarks/README.md, "Worker threads kept"): the next
    statements reuse the workers the first one started."""
    con = ahead_connection("streaming")
    cur = con.cursor()
    sql = "SELECT d.id, p.score FROM PREDICT(MODEL = ?, DATA = src AS d) WITH (score REAL) AS p ORDER BY d.id"
    first = cur.execute(sql, [onnx_models.linear()]).fetchall()
    started = started_threads(monkeypatch)
    jobs = started_jobs(monkeypatch)
    for _ in range(3):
        assert cur.execute(sql, [onnx_models.linear()]).fetchall() == first
    assert sorted(jobs) == ["sqlpredict-read"] * 3 + ["sqlpredict-score"] * 3  # the workers had jobs
    assert [n for n in started if n.startswith("sqlpredict-")] == []
    assert busy_workers() == []
    con.close()


FORK_SCRIPT = """
import os, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import onnx_models, sqlpredict

def scores(model, sql_type):
    con = sqlpredict.connect(dialect="duckdb", autocommit=True, batch_size=128)
    cur = con.cursor()
    cur.execute("CREATE TABLE src AS SELECT i AS id, CAST(sin(i) * 100 AS REAL) AS f0, "
                "CAST(cos(i) * 10 AS REAL) AS f1 FROM range(5000) r(i)")
    table = cur.execute(f"SELECT d.f0, d.f1, p.score FROM PREDICT(MODEL = ?, DATA = src AS d) "
                        f"WITH (score {sql_type}) AS p ORDER BY d.id", [model]).fetch_arrow_table()
    feeds = {c: table.column(c).to_numpy().reshape(-1, 1) for c in ("f0", "f1")}
    return table.column("score").to_numpy(), onnx_models.run_direct(model, feeds)[0].reshape(-1)

# 40 batches: the parent's workers ran, and are idle now. SMALLINT is applied with DuckDB's CAST, on
# the scoring worker's own cursor of the scratch database.
scores(onnx_models.linear(), "SMALLINT")
pid = os.fork()
if pid == 0:  # a database and a model of the child's own
    got, direct = scores(onnx_models.linear(weights=(0.75, -1.5), bias=2.0), "REAL")
    os._exit(0 if np.array_equal(got, direct) else 3)
print("child exit status", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_scores_after_its_parent_kept_workers():
    """The parent's idle workers do not exist in a forked child: a child that handed them its
    jobs would wait forever for its batches. Nor do their threads: the child releases what they
    held, and a DuckDB database of their own (a scratch database per thread) crashed it there.
    A process of its own, so that no other test's connections are open when it forks."""
    tests = str(Path(__file__).resolve().parent)
    try:
        done = subprocess.run([sys.executable, "-c", FORK_SCRIPT, tests], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the forked child's PREDICT never finished")
    assert done.stdout.strip() == "child exit status 0", done.stdout + done.stderr


def test_the_session_cache_counts_what_a_session_holds_so_many_small_models_stay_bounded():
    """Each session counted only its model's bytes: 200 small models (4 KB) never reached a 1 GiB bound while
    onnxruntime held about 0.45 MB for each, and memory grew without bound. A session now counts its
    overhead too, so a bound of ten sessions keeps ten."""
    con = sqlpredict.connect(autocommit=True, session_cache_bytes=10 * sessions.SESSION_OVERHEAD_BYTES + 10**5)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (f0 REAL, f1 REAL)")
    cur.execute("INSERT INTO t VALUES (1, 2)")
    for k in range(40):
        model = onnx_models.linear(weights=(1.0, float(k)), bias=0.0)
        score = cur.execute("SELECT p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score REAL) AS p",
                            [model]).fetchone()[0]
        assert score == 1.0 + 2.0 * k
    assert con.cache.loads == 40
    assert len(con.cache) <= 10
