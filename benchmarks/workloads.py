"""The workloads: which data, which model, which outputs, which systems.

A Workload is plain data (it travels to each child process as JSON). The
tables live in one DuckDB file built once per run by `build_data`; every
system of every workload reads the same rows.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from models import FEATURES

# Systems, in the order they run. "hand" runs first: its results are the reference.
HAND = "hand"
PREDICT = "predict"
UDF = "udf"
PANDAS = "pandas"
PREDICT_ALL = "predict_all_then_filter"
HAND_ALL = "hand_all_then_filter"
PLAIN = "plain_select"
PLAIN_INPUTS = "plain_select_inputs"
PREDICT_NO_PREFETCH = "predict_no_prefetch"
PREDICT_SPIN = "predict_spin"
PREDICT_64K = "predict_64k"
PREDICT_NO_PLANS = "predict_no_plans"
HAND_BIG = "hand_big_batches"
MAIN_SYSTEMS = [HAND, PREDICT, UDF, PANDAS]

SYSTEM_LABELS = {
    HAND: "hand-written loop",
    PREDICT: "sqlpredict PREDICT",
    UDF: "DuckDB Arrow UDF",
    PANDAS: "pandas + onnxruntime",
    PREDICT_ALL: "PREDICT, score all then filter",
    HAND_ALL: "hand loop, score all then filter",
    PLAIN: "same SELECT without PREDICT",
    PLAIN_INPUTS: "same SELECT without PREDICT, reading the inputs",
    PREDICT_NO_PREFETCH: "PREDICT, prefetch off",
    PREDICT_SPIN: "PREDICT, onnxruntime spin-wait on",
    PREDICT_NO_PLANS: "PREDICT, plans not kept",
    PREDICT_64K: "PREDICT, 65,536-row batches",
    HAND_BIG: "hand loop, 122,880-row batches",
}


@dataclass
class Output:
    """One model output as the result table stores it."""

    name: str
    sql_type: str  # DuckDB type: FLOAT, BIGINT, FLOAT[3]
    width: int | None = None  # k for an [N,k] output stored as FLOAT[k]


@dataclass
class Workload:
    key: str  # "a", "b", ... or "a@1M" for the memory-flatness runs
    title: str
    model: str  # model file PREDICT scores with
    hand_model: str  # model file the hand-written systems score with
    source: str  # DATA: a table name or read_parquet('...')
    rows: int  # rows DATA holds (what every system reads)
    outputs: list[Output]
    systems: list[str]
    filter: str | None = None  # a condition on data columns, e.g. "f0 < 0.01"
    repeat: int = 1  # how many times the query runs (workload g)
    sink: str = "table"  # "table": CREATE TABLE AS; "aggregate": count(*) and sum of the first output
    section: str = "main"  # "main" or "flat" (memory flatness)
    memory_limit: str | None = None  # DuckDB's memory_limit for the run, e.g. "64MB"; None: DuckDB's default
    trials: int | None = None  # timed runs per process; None: the command's --trials
    inputs: list[str] = field(default_factory=lambda: list(FEATURES))

    def to_json(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_json(data: dict) -> Workload:
        data = dict(data)
        data["outputs"] = [Output(**o) for o in data["outputs"]]
        return Workload(**data)


@dataclass
class Sizes:
    big: int  # (a), (e): 10M at scale 1
    mid: int  # (b), (c), (d), (f): 1M at scale 1
    small: int = 1000  # (g): 1,000 rows, at every scale
    repeat: int = 100  # (g): runs of the small query

    @staticmethod
    def at_scale(scale: float) -> Sizes:
        return Sizes(big=max(1000, round(10_000_000 * scale)), mid=max(1000, round(1_000_000 * scale)))

    @property
    def big_tenth(self) -> int:
        """The 1M side of the memory-flatness check."""
        return max(100, self.big // 10)


SCORE = [Output("score", "FLOAT")]
VARIABLE = [Output("variable", "FLOAT")]
CLASSES = [Output("label", "BIGINT"), Output("probabilities", "FLOAT[3]", width=3)]


def parquet_source(work: str, name: str) -> str:
    return f"read_parquet('{os.path.join(work, name)}')"


def workloads(sizes: Sizes, work: str) -> list[Workload]:
    """Workloads (a) to (g), then the memory-flatness runs of (a)."""
    big_parquet = parquet_source(work, "big.parquet")
    tenth_parquet = parquet_source(work, "big_tenth.parquet")
    return [
        Workload("a", "linear regression, 8 inputs", "linear", "linear", "big", sizes.big, SCORE,
                 MAIN_SYSTEMS + [PLAIN, PLAIN_INPUTS, PREDICT_NO_PREFETCH, PREDICT_SPIN, PREDICT_64K, HAND_BIG]),
        Workload("b", "random forest, 100 trees depth 8", "forest", "forest", "mid", sizes.mid, VARIABLE,
                 MAIN_SYSTEMS + [PREDICT_NO_PREFETCH, PREDICT_SPIN, PREDICT_64K]),
        Workload("c", "classifier, label + probabilities", "classifier", "classifier", "mid", sizes.mid, CLASSES,
                 MAIN_SYSTEMS + [PREDICT_SPIN, PREDICT_64K, HAND_BIG]),
        Workload("d", "(b) WHERE d.f0 < 0.01", "forest", "forest", "mid", sizes.mid, VARIABLE,
                 MAIN_SYSTEMS + [PREDICT_ALL, HAND_ALL], filter="f0 < 0.01"),
        Workload("e", "(a) from read_parquet", "linear", "linear", big_parquet, sizes.big, SCORE, MAIN_SYSTEMS),
        Workload("f", "(a) model fixed at batch 1", "linear_batch1", "linear_batch1_relaxed", "mid", sizes.mid,
                 SCORE, MAIN_SYSTEMS + [PREDICT_64K]),
        Workload("g", f"(a) over {sizes.small:,} rows, {sizes.repeat} queries", "linear", "linear", "small",
                 sizes.small, SCORE, MAIN_SYSTEMS + [PLAIN, PREDICT_NO_PLANS], repeat=sizes.repeat),
        # Memory flatness of (a): peak RSS at a tenth of the rows against all of them.
        Workload("a@tenth", "(a) CREATE TABLE, 1/10 of the rows", "linear", "linear", "big_tenth",
                 sizes.big_tenth, SCORE, [HAND, PREDICT, PLAIN, PLAIN_INPUTS], section="flat"),
        # The same, with DuckDB's buffer pool capped: what then grows is the pipeline's own memory.
        Workload("a-lim@tenth", "(a) CREATE TABLE, memory_limit 64MB, 1/10 of the rows", "linear", "linear",
                 "big_tenth", sizes.big_tenth, SCORE, [HAND, PREDICT, PLAIN, PLAIN_INPUTS], section="flat",
                 memory_limit="64MB"),
        Workload("a-lim", "(a) CREATE TABLE, memory_limit 64MB", "linear", "linear", "big", sizes.big, SCORE,
                 [HAND, PREDICT, PLAIN, PLAIN_INPUTS], section="flat", memory_limit="64MB"),
        Workload("a-agg@tenth", "(a) over Parquet, aggregate only, 1/10 of the rows", "linear", "linear",
                 tenth_parquet, sizes.big_tenth, SCORE, [PREDICT, PLAIN, PLAIN_INPUTS], sink="aggregate",
                 section="flat"),
        Workload("a-agg", "(a) over Parquet, aggregate only", "linear", "linear", big_parquet, sizes.big, SCORE,
                 [PREDICT, PLAIN, PLAIN_INPUTS], sink="aggregate", section="flat"),
        # A long-lived process: (a)'s statement 10 times in one process, against (a)'s 3 (its --trials).
        Workload("a-rep", "(a) CREATE TABLE, 10 statements in one process", "linear", "linear", "big", sizes.big,
                 SCORE, [HAND, PREDICT, PLAIN_INPUTS], section="flat", repeat=10, trials=1),
    ]


def build_data(db_path: str, work: str, sizes: Sizes) -> None:
    """The tables and Parquet files: id BIGINT, f0..f7 FLOAT uniform in [0, 1)."""
    import duckdb

    columns = ", ".join(f"random()::FLOAT AS {name}" for name in FEATURES)
    db = duckdb.connect(db_path)
    try:
        db.execute("SELECT setseed(0.42)")
        db.execute(f"CREATE TABLE big AS SELECT range AS id, {columns} FROM range({sizes.big}) ORDER BY id")
        db.execute(f"CREATE TABLE big_tenth AS SELECT * FROM big WHERE id < {sizes.big_tenth} ORDER BY id")
        db.execute(f"CREATE TABLE mid AS SELECT * FROM big WHERE id < {sizes.mid} ORDER BY id")
        db.execute(f"CREATE TABLE small AS SELECT * FROM big WHERE id < {sizes.small} ORDER BY id")
        db.execute(f"COPY big TO '{os.path.join(work, 'big.parquet')}' (FORMAT parquet)")
        db.execute(f"COPY big_tenth TO '{os.path.join(work, 'big_tenth.parquet')}' (FORMAT parquet)")
        db.execute("CHECKPOINT")
    finally:
        db.close()
