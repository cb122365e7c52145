"""Benchmark: sqlpredict's PREDICT against the same scoring written by hand.

    python benchmarks/run.py [--scale 1.0] [--out benchmarks/results] [--only a,b] [--keep]

Builds the models and one DuckDB file of data, then runs every system on
every workload, each pair in a fresh child process (benchmarks/systems.py) so
that its peak RSS is its own. Writes results.md, results.png and
results.json under --out. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from workloads import (HAND, HAND_ALL, PLAIN, PLAIN_INPUTS, PREDICT, PREDICT_ALL, SYSTEM_LABELS,  # noqa: E402
                       UDF, Sizes, Workload, build_data, workloads)

TIE_RATIO = 1.10  # PREDICT <= 1.10x the hand loop's time
UDF_SPEEDUP = 3.0  # PREDICT >= 3x faster than the scalar UDF on (a)
FILTER_SPEEDUP = 20.0  # (d): PREDICT with the filter >= 20x faster than scoring all rows then filtering
OVERHEAD_MS = 5.0  # (g): < 5 ms per query
FLAT_RATIO = 1.25  # (a): peak RSS at 10M rows <= 1.25x the peak at 1M


# ---------------------------------------------------------------- preparing


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="row counts relative to the spec's (default 1.0)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"), help="where results.md/.png/.json go")
    parser.add_argument("--work", default=None, help="scratch folder for data and models (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--only", default=None, help="comma-separated workload keys, e.g. a,b,a@tenth")
    parser.add_argument("--trials", type=int, default=3, help="timed runs per process; the median of all counts")
    parser.add_argument("--rounds", type=int, default=3,
                        help="processes per system and workload, the systems taking turns round by round")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per system and workload")
    return parser.parse_args(argv)


def build_models(models_dir: str) -> None:
    from models import build_all

    os.makedirs(models_dir, exist_ok=True)
    for name, blob in build_all().items():
        with open(os.path.join(models_dir, f"{name}.onnx"), "wb") as f:
            f.write(blob)


# ---------------------------------------------------------------- running


def run_child(job: dict, timeout: float) -> dict:
    """One system on one workload in a fresh Python process; its RESULT line as a dict."""
    cmd = [sys.executable, os.path.join(HERE, "systems.py"), json.dumps(job)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {"error": f"child exited with {done.returncode}: {' | '.join(tail)}"}


def table_name(w: Workload, system: str) -> str:
    return "r_" + "".join(c if c.isalnum() else "_" for c in f"{w.key}_{system}")


def compare(db_path: str, w: Workload, table: str, reference: str) -> dict:
    """Max abs difference of every output against the reference, row by row on id; rows that do not pair up."""
    import duckdb

    diffs = []
    for o in w.outputs:
        if o.width is None:
            diffs.append(f"abs(r.{o.name}::DOUBLE - h.{o.name}::DOUBLE)")
        else:
            diffs += [f"abs(r.{o.name}[{i}]::DOUBLE - h.{o.name}[{i}]::DOUBLE)" for i in range(1, o.width + 1)]
    diff = f"greatest({', '.join(diffs)})" if len(diffs) > 1 else diffs[0]
    sql = (f"SELECT count(r.id), max({diff}), count(*) FILTER (WHERE {diff} IS NULL) "
           f"FROM {table} r FULL OUTER JOIN {reference} h USING (id)")
    db = duckdb.connect(db_path)
    try:
        rows, max_diff, unpaired = db.execute(sql).fetchall()[0]
    finally:
        db.close()
    return {"out_rows": rows, "max_abs_diff": max_diff, "mismatched_rows": unpaired}


def drop_tables(db_path: str, tables: list[str]) -> None:
    import duckdb

    db = duckdb.connect(db_path)
    try:
        for t in tables:
            db.execute(f"DROP TABLE IF EXISTS {t}")
        db.execute("CHECKPOINT")
    finally:
        db.close()


def run_workload(w: Workload, paths: dict, trials: int, rounds: int, timeout: float) -> list[dict]:
    """Every system of one workload, `rounds` times in turn; the hand loop runs first and is the reference.

    Taking turns spreads a burst of load from other tenants of the machine over
    every system instead of one.
    """
    results: dict[str, list[dict]] = {system: [] for system in w.systems}
    for _ in range(rounds):
        for system in w.systems:
            job = {"db": paths["db"], "models": paths["models"], "workload": w.to_json(), "system": system,
                   "target": table_name(w, system), "trials": w.trials or trials}
            results[system].append(run_child(job, timeout))
    records, written = [], []
    reference = table_name(w, HAND) if HAND in w.systems else None
    for system in w.systems:
        target = table_name(w, system)
        result = merge_rounds(results[system])
        record = {"workload": w.key, "title": w.title, "section": w.section, "system": system,
                  "rows": w.rows * w.repeat, "repeat": w.repeat, **result}
        if "error" not in result and w.sink == "table":
            written.append(target)
            if reference and system not in (HAND, PLAIN, PLAIN_INPUTS):
                record.update(compare(paths["db"], w, target, reference))
        records.append(record)
        print(progress_line(record), flush=True)
    drop_tables(paths["db"], written)
    return records


def merge_rounds(rounds: list[dict]) -> dict:
    """One record from a system's rounds: medians over every trial, the highest peak RSS."""
    failed = [r for r in rounds if "error" in r]
    if failed:
        return failed[0]
    trials = [x for r in rounds for x in r["trial_seconds"]]
    cpu = [x for r in rounds for x in r["trial_cpu_seconds"]]
    peak = max(rounds, key=lambda r: r["peak_rss_mb"])
    return {**rounds[-1], "seconds": statistics.median(trials), "trial_seconds": trials,
            "cpu_seconds": statistics.median(cpu), "trial_cpu_seconds": cpu,
            "peak_rss_mb": peak["peak_rss_mb"], "rss_before_mb": peak["rss_before_mb"]}


def progress_line(r: dict) -> str:
    head = f"  {r['workload']:<12} {r['system']:<26}"
    if "error" in r:
        return f"{head} FAILED: {r['error']}"
    diff = f"  max|diff| {r['max_abs_diff']:.3g}" if r.get("max_abs_diff") is not None else ""
    return f"{head} {r['seconds']:8.3f} s  {r['rows'] / r['seconds']:>14,.0f} rows/s  {r['peak_rss_mb']:7.0f} MB{diff}"


# ---------------------------------------------------------------- facts about the run


def machine() -> dict:
    import psutil

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "logical_cores": psutil.cpu_count(logical=True),
            "physical_cores": psutil.cpu_count(logical=False),
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("sqlpredict", "duckdb", "onnxruntime", "onnxruntime-gpu", "onnx", "pyarrow", "numpy", "pandas",
                 "scikit-learn", "skl2onnx", "sqlglot"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


# ---------------------------------------------------------------- report


def find(records: list[dict], workload: str, system: str) -> dict | None:
    for r in records:
        if r["workload"] == workload and r["system"] == system and "error" not in r:
            return r
    return None


def ratio_to_hand(records: list[dict], r: dict) -> float | None:
    hand = find(records, r["workload"], HAND)
    if hand is None or "error" in r:
        return None
    return r["seconds"] / hand["seconds"]


def fmt(value, spec: str = ".3f", missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def results_table(records: list[dict]) -> list[str]:
    lines = ["| workload | system | rows | seconds | CPU seconds | rows/s | ratio to hand loop | peak RSS MB | "
             "RSS growth MB | max abs diff |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        label = f"({r['workload']}) {r['title']}" if r["section"] == "main" else f"{r['workload']}: {r['title']}"
        name = SYSTEM_LABELS[r["system"]]
        if "error" in r:
            lines.append(f"| {label} | {name} | {r['rows']:,} | FAILED: {r['error']} | | | | | | |")
            continue
        diff = fmt(r.get("max_abs_diff"), ".2g")
        if r.get("mismatched_rows"):
            diff += f" ({r['mismatched_rows']} rows unpaired/NULL)"
        lines.append(
            f"| {label} | {name} | {r['rows']:,} | {r['seconds']:.3f} | {fmt(r.get('cpu_seconds'), '.3f')} | "
            f"{r['rows'] / r['seconds']:,.0f} | "
            f"{fmt(ratio_to_hand(records, r), '.2f')} | {r['peak_rss_mb']:.0f} | "
            f"{r['peak_rss_mb'] - r['rss_before_mb']:.0f} | {diff} |")
    return lines


def target_rows(records: list[dict], sizes: Sizes) -> list[tuple[str, str, bool | None]]:
    """(target, what was measured, met) for each target of the brief."""
    rows = []
    for key in "abcef":
        p, h = find(records, key, PREDICT), find(records, key, HAND)
        if p and h:
            ratio = p["seconds"] / h["seconds"]
            rows.append((f"({key}) PREDICT <= {TIE_RATIO:.2f}x hand loop",
                         f"{ratio:.2f}x ({p['seconds']:.3f} s vs {h['seconds']:.3f} s)", ratio <= TIE_RATIO))
        else:
            rows.append((f"({key}) PREDICT <= {TIE_RATIO:.2f}x hand loop", "not measured", None))
    p, u = find(records, "a", PREDICT), find(records, "a", UDF)
    if p and u:
        speedup = u["seconds"] / p["seconds"]
        rows.append((f"(a) PREDICT >= {UDF_SPEEDUP:.0f}x faster than the scalar UDF",
                     f"{speedup:.2f}x ({p['seconds']:.3f} s vs {u['seconds']:.3f} s)", speedup >= UDF_SPEEDUP))
    p, pa_, ha = find(records, "d", PREDICT), find(records, "d", PREDICT_ALL), find(records, "d", HAND_ALL)
    if p and pa_:
        speedup = pa_["seconds"] / p["seconds"]
        hand_text = f"; vs hand loop scoring all: {ha['seconds'] / p['seconds']:.1f}x" if ha else ""
        rows.append((f"(d) PREDICT with the filter >= {FILTER_SPEEDUP:.0f}x faster than scoring all then filtering",
                     f"{speedup:.1f}x ({p['seconds']:.3f} s vs {pa_['seconds']:.3f} s{hand_text})",
                     speedup >= FILTER_SPEEDUP))
    p, plain = find(records, "g", PREDICT), find(records, "g", PLAIN)
    if p and plain:
        ms = (p["seconds"] - plain["seconds"]) / p["repeat"] * 1000
        rows.append((f"(g) PREDICT overhead < {OVERHEAD_MS:.0f} ms per query",
                     f"{ms:.2f} ms ({p['seconds'] / p['repeat'] * 1000:.2f} ms vs "
                     f"{plain['seconds'] / plain['repeat'] * 1000:.2f} ms per query)", ms < OVERHEAD_MS))
    # Two sinks, both reported. Writing a table grows DuckDB's buffer pool with the columns read and the
    # table written, for every system: the plain CREATE TABLE that reads the model's inputs grows as
    # PREDICT does, so with DuckDB's default memory_limit it cannot show PREDICT's own memory. The
    # count/sum sink over Parquet holds nothing but what the stream itself holds.
    for label, small_key, big_key in (("count/sum over read_parquet", "a-agg@tenth", "a-agg"),
                                      ("CREATE TABLE from a DuckDB table, DuckDB's buffer pool capped at 64MB",
                                       "a-lim@tenth", "a-lim"),
                                      ("CREATE TABLE from a DuckDB table, DuckDB's default memory_limit",
                                       "a@tenth", "a")):
        small, big = find(records, small_key, PREDICT), find(records, big_key, PREDICT)
        if small and big:
            ratio = big["peak_rss_mb"] / small["peak_rss_mb"]
            context = ""
            hand_small, hand_big = find(records, small_key, HAND), find(records, big_key, HAND)
            if hand_small and hand_big:
                context = f"; hand loop {hand_big['peak_rss_mb'] / hand_small['peak_rss_mb']:.2f}x"
            for system, words in ((PLAIN, "without PREDICT"), (PLAIN_INPUTS, "without PREDICT, reading the inputs")):
                plain_small, plain_big = find(records, small_key, system), find(records, big_key, system)
                if plain_small and plain_big:
                    context += f"; {words} {plain_big['peak_rss_mb'] / plain_small['peak_rss_mb']:.2f}x"
            rows.append((f"(a) PREDICT peak RSS flat from {sizes.big_tenth:,} to {sizes.big:,} rows "
                         f"(<= {FLAT_RATIO:.2f}x), {label}",
                         f"{small['peak_rss_mb']:.0f} MB -> {big['peak_rss_mb']:.0f} MB ({ratio:.2f}x{context})",
                         ratio <= FLAT_RATIO))
    return rows


def flatness_lines(records: list[dict], sizes: Sizes) -> list[str]:
    pairs = [("PREDICT, CREATE TABLE from table", "a@tenth", "a", PREDICT),
             ("hand loop, CREATE TABLE from table", "a@tenth", "a", HAND),
             ("same CREATE TABLE without PREDICT", "a@tenth", "a", PLAIN),
             ("same CREATE TABLE without PREDICT, reading the inputs", "a@tenth", "a", PLAIN_INPUTS),
             ("PREDICT, CREATE TABLE, memory_limit 64MB", "a-lim@tenth", "a-lim", PREDICT),
             ("hand loop, CREATE TABLE, memory_limit 64MB", "a-lim@tenth", "a-lim", HAND),
             ("same CREATE TABLE without PREDICT, memory_limit 64MB", "a-lim@tenth", "a-lim", PLAIN),
             ("same CREATE TABLE without PREDICT, reading the inputs, memory_limit 64MB", "a-lim@tenth", "a-lim",
              PLAIN_INPUTS),
             ("PREDICT over read_parquet, count/sum only", "a-agg@tenth", "a-agg", PREDICT),
             ("same count/sum over read_parquet without PREDICT", "a-agg@tenth", "a-agg", PLAIN),
             ("same count/sum over read_parquet without PREDICT, reading the inputs", "a-agg@tenth", "a-agg",
              PLAIN_INPUTS)]
    lines = [f"| measurement | peak RSS MB at {sizes.big_tenth:,} rows | peak RSS MB at {sizes.big:,} rows | "
             "ratio | RSS growth MB (small -> big) |", "|---|---:|---:|---:|---:|"]
    for label, small_key, big_key, system in pairs:
        small, big = find(records, small_key, system), find(records, big_key, system)
        if small and big:
            lines.append(f"| {label} | {small['peak_rss_mb']:.0f} | {big['peak_rss_mb']:.0f} | "
                         f"{big['peak_rss_mb'] / small['peak_rss_mb']:.2f} | "
                         f"{small['peak_rss_mb'] - small['rss_before_mb']:.0f} -> "
                         f"{big['peak_rss_mb'] - big['rss_before_mb']:.0f} |")
    return lines


def repeat_lines(records: list[dict], trials: int) -> list[str]:
    """Peak RSS after (a)'s statements in one process against after a-rep's: a long-lived process."""
    lines = ["| system | statements (a) | peak RSS MB | statements (a-rep) | peak RSS MB | ratio |",
             "|---|---:|---:|---:|---:|---:|"]
    for system in (PREDICT, HAND, PLAIN_INPUTS):
        few, many = find(records, "a", system), find(records, "a-rep", system)
        if few and many:
            lines.append(f"| {SYSTEM_LABELS[system]} | {trials} | {few['peak_rss_mb']:.0f} | {many['repeat']} | "
                         f"{many['peak_rss_mb']:.0f} | {many['peak_rss_mb'] / few['peak_rss_mb']:.2f} |")
    return lines


def overhead_lines(records: list[dict]) -> list[str]:
    lines = []
    for r in records:
        if r["workload"] == "g" and "error" not in r:
            lines.append(f"- {SYSTEM_LABELS[r['system']]}: {r['seconds'] / r['repeat'] * 1000:.2f} ms per query")
    return lines


def write_markdown(path: str, meta: dict, records: list[dict], sizes: Sizes) -> None:
    m, v = meta["machine"], meta["versions"]
    main = [r for r in records if r["section"] == "main"]
    flat = [r for r in records if r["section"] == "flat"]
    lines = [
        "# sqlpredict PREDICT benchmark",
        "",
        f"- Date: {meta['date']}",
        f"- Command: `{meta['command']}` (scale {meta['scale']}, {meta['total_seconds']:.0f} s in all)",
        f"- Machine: {m['cpu']}, {m['logical_cores']} logical / {m['physical_cores']} physical cores, "
        f"{m['ram_gib']} GiB RAM; {m['os']}; Python {m['python']}",
        f"- Load average at start / end: {m['load_average']} / {meta['load_average_end']}",
        f"- Provider: {meta['provider']}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "- onnxruntime session options, the same for every system (sqlpredict's own): "
        "log_severity_level=3, inter_op_num_threads=1, intra_op_num_threads=0 (onnxruntime's default: one per "
        "physical core), session.intra_op.allow_spinning=0 (no spin-waiting between runs), "
        "graph_optimization_level=ORT_ENABLE_ALL (default), providers as above.",
        f"- Rows: (a)/(e) {sizes.big:,}; (b)/(c)/(d)/(f) {sizes.mid:,}; (g) {sizes.small:,} rows x {sizes.repeat}.",
        "",
        f"Seconds: the median of {meta['rounds'] * meta['trials']} timed runs of the measured work "
        f"(time.perf_counter, wall time): {meta['rounds']} rounds, in which the systems of a workload take "
        f"turns, each system a fresh process timing {meta['trials']} runs. CPU seconds: the median of the same "
        "runs' time.process_time, the CPU time of every thread of the process (DuckDB's and onnxruntime's "
        "included; the machine's cores bound how far it can exceed the wall time). In each process, "
        "connections, the onnxruntime session and the UDF are set up, and the system runs its work once over "
        "1 row (first-call costs, PREDICT's session cache), before the clock starts. Peak RSS is the highest "
        "VmHWM of a system's processes; RSS growth is that VmHWM minus the RSS just before its clock started. "
        "Ratio: seconds / the hand loop's seconds (below 1 is faster). max abs diff: the largest difference "
        "from the hand loop's outputs, rows joined on id.",
        "",
        "## Results",
        "",
        *results_table(main),
        "",
        "### (g) per-query times",
        "",
        *overhead_lines(records),
        "",
        "## Memory flatness of (a)",
        "",
        *flatness_lines(records, sizes),
        "",
        "(a)'s statement run again and again in one process, as a long-lived one would (each process "
        "first runs it over 1 row, then over all the rows as many times as the table says):",
        "",
        *repeat_lines(records, meta["trials"]),
        "",
        *results_table(flat),
        "",
        "## Targets",
        "",
        "| target | measured | status |",
        "|---|---|---|",
    ]
    for target, measured, met in target_rows(records, sizes):
        status = "not measured" if met is None else ("met" if met else "**missed**")
        lines.append(f"| {target} | {measured} | {status} |")
    if meta["scale"] < 1.0:
        lines += ["", f"Scale {meta['scale']}: the targets are meant for scale 1.0; at small scale fixed "
                  "costs dominate and the verdicts above say little."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_chart(path: str, records: list[dict], meta: dict) -> None:
    """Grouped bars of rows/s, one group per workload, one colour per system (log scale)."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    main = [r for r in records if r["section"] == "main" and "error" not in r]
    keys = list(dict.fromkeys(r["workload"] for r in main))
    systems = list(dict.fromkeys(r["system"] for r in main))
    palette = plt.get_cmap("tab20").colors  # 20 distinct colours: more systems than tab10 has
    colors = {s: palette[(2 * i) % 20 + (2 * i) // 20] for i, s in enumerate(systems)}
    fig, ax = plt.subplots(figsize=(13, 6))
    for j, key in enumerate(keys):
        present = [r for r in main if r["workload"] == key]
        width = 0.84 / len(present)
        for i, r in enumerate(present):
            x = j + (i - (len(present) - 1) / 2) * width
            ax.bar(x, r["rows"] / r["seconds"], width, color=colors[r["system"]])
    ax.set_xticks(range(len(keys)))
    titles = {r["workload"]: r["title"] for r in main}
    ax.set_xticklabels([f"({k})\n" + textwrap.fill(titles[k], 20) for k in keys], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("rows per second (log scale)")
    ax.set_title(f"sqlpredict PREDICT vs the same scoring by hand: scale {meta['scale']}, "
                 f"{meta['machine']['cpu']}, {meta['machine']['logical_cores']} cores, {meta['provider']}",
                 fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[s]) for s in systems]
    ax.legend(handles, [SYSTEM_LABELS[s] for s in systems], fontsize=7, ncol=2)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    sizes = Sizes.at_scale(args.scale)
    work = args.work or tempfile.mkdtemp(prefix="sqlpredict-bench-")
    os.makedirs(work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    paths = {"db": os.path.join(work, "bench.duckdb"), "models": os.path.join(work, "models")}
    meta = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": "python benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "scale": args.scale, "trials": args.trials, "rounds": args.rounds, "machine": machine(),
            "versions": versions()}
    try:
        print(f"models and data in {work} (scale {args.scale}) ...", flush=True)
        build_models(paths["models"])
        if os.path.exists(paths["db"]):
            os.remove(paths["db"])
        build_data(paths["db"], work, sizes)
        from models import providers

        meta["provider"] = providers()[0]
        selected = set(args.only.split(",")) if args.only else None
        records = []
        for w in workloads(sizes, work):
            if selected is None or w.key in selected:
                print(f"({w.key}) {w.title}: {w.rows:,} rows x {w.repeat}", flush=True)
                records += run_workload(w, paths, args.trials, args.rounds, args.timeout)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    meta["total_seconds"] = time.perf_counter() - started
    meta["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "sizes": sizes.__dict__, "records": records}, f, indent=1, default=str)
    write_markdown(os.path.join(args.out, "results.md"), meta, records, sizes)
    write_chart(os.path.join(args.out, "results.png"), records, meta)
    print(f"wrote {args.out}/results.md, results.png, results.json in {meta['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
