"""Stress run for issue 6: bad models, bad SQL, failures midway, threads, interrupts, hostile names.

Outside the regular suite; it reuses the suite's checks at scale and prints
what it tried and what held. Reproduce the committed output with

    python benchmarks/stress.py --scale 1 | tee benchmarks/stress_results.txt

(`--scale 0.1` for a quick run while developing). Exit status 1 when any
guarantee broke.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_atomicity as atomicity  # noqa: E402
import test_concurrency as concurrency  # noqa: E402
import test_fuzz_models as fuzz_models  # noqa: E402
import test_fuzz_sql as fuzz_sql  # noqa: E402
import test_hostile_names as hostile  # noqa: E402

import sqlpredict  # noqa: E402

BROKEN: list[str] = []


def say(text: str = "") -> None:
    print(text, flush=True)


def section(title: str) -> float:
    say()
    say(f"== {title}")
    return time.monotonic()


def models(scale: float) -> None:
    start = section("model values: mutants scored in child processes")
    total = max(100, int(2400 * scale))
    chunk = 400
    outcomes: Counter = Counter()
    kinds: Counter = Counter()
    children = 0
    with tempfile.TemporaryDirectory() as work:
        trap = os.path.join(work, "trap.bin")
        os.mkfifo(trap)
        for seed, first in enumerate(range(0, total, chunk)):
            items = fuzz_models.mutants(min(chunk, total - first), seed=1000 + seed, trap=trap)
            result = fuzz_models.run_mutants(items, timeout=300, workdir=work)
            children += 1
            found = fuzz_models.problems(result, len(items))
            BROKEN.extend(f"model fuzz: {p}" for p in found)
            for r in result["records"]:
                outcomes[r["outcome"] if r["outcome"] != "error" else f"error:{r['cls']}"] += 1
                kinds[r["name"].split(":")[-1]] += 1
            if found:
                say(f"  chunk {seed}: {len(found)} problems, first: {found[0][:300]}")
    scored = sum(outcomes.values())
    say(f"  tried {total} mutants in {children} child processes; reported back: {scored}")
    say(f"  outcomes: {dict(sorted(outcomes.items()))}")
    say(f"  mutation kinds: {dict(sorted(kinds.items()))}")
    held = scored == total and not any(b.startswith("model fuzz") for b in BROKEN)
    say(f"  held: no crash, no hang, no file opened (FIFO trap), every error a sqlpredict Error "
        f"with a PREDICT: message, connection usable after each: {'YES' if held else 'NO'}")
    say(f"  ({time.monotonic() - start:.0f} s)")


def sql(scale: float) -> None:
    from hypothesis import HealthCheck, given, settings

    start = section("SQL text: hypothesis-generated PREDICT clauses, both dialects")
    examples = max(50, int(2000 * scale))
    for dialect in ("tsql", "duckdb"):
        outcomes: Counter = Counter()

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(text=fuzz_sql.predict_clause())
        def run(text):
            outcomes[fuzz_sql.check_one(dialect, text)] += 1

        try:
            run()
        except BaseException as exc:  # noqa: BLE001
            BROKEN.append(f"sql fuzz ({dialect}): {type(exc).__name__}: {str(exc)[:500]}")
        say(f"  {dialect}: {sum(outcomes.values())} statements: {dict(outcomes)} "
            "(syntax = ProgrammingError with line/col inside the text; semantic = ProgrammingError naming the "
            "problem; ok = ran)")
    held = not any(b.startswith("sql fuzz") for b in BROKEN)
    say(f"  held: only ProgrammingError, positions inside the text, connection usable: {'YES' if held else 'NO'}")
    say(f"  ({time.monotonic() - start:.0f} s)")


def atomic(scale: float) -> None:
    from sqlpredict import stream as stream_module

    start = section("atomicity: INSERT ... SELECT FROM PREDICT failing late")
    rounds = max(1, int(5 * scale))
    cases = [(f, m, s) for f in atomicity.FAILURES for m in ("autocommit", "transaction", "transaction_after_writes")
             for s in ("src", "#src")]
    original = stream_module.PredictStream.open
    ok = 0
    tried = 0
    try:
        for _ in range(rounds):
            for failure, mode, source in cases:
                tried += 1
                seen: list[bool] = []

                def spy(self, con, streaming, _seen=seen):
                    _seen.append(streaming)
                    return original(self, con, streaming)

                stream_module.PredictStream.open = spy
                try:
                    atomicity.test_failed_insert_leaves_target_unchanged(failure, mode, source, seen)
                    ok += 1
                except BaseException as exc:  # noqa: BLE001
                    BROKEN.append(f"atomicity {failure}/{mode}/{source}: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        stream_module.PredictStream.open = original
    say(f"  {tried} failing INSERTs ({len(cases)} cases x {rounds} rounds: NULL at row 140/200, SMALLINT "
        "overflow at row 140, Reshape failure on batch 9 of 13; autocommit / transaction / transaction after "
        "writes; committed table (streamed) / temp table (on the connection))")
    say(f"  held: target row count and checksum unchanged, right error class, connection kept working: "
        f"{ok}/{tried}")
    say(f"  ({time.monotonic() - start:.0f} s)")


def threads(scale: float) -> None:
    start = section("concurrency: 8 threads, own cursors, one connection")
    seconds = max(2.0, 120 * scale)
    rounds = 6
    con = concurrency.make_connection()
    rss, totals = [], Counter()
    try:
        for round_ in range(rounds):
            counts = concurrency.run_threads(con, seconds=seconds / rounds, seed=100 + round_)
            totals.update({"queries": counts["queries"], "rows": counts["rows"]})
            totals["max_cache_bytes"] = max(totals["max_cache_bytes"], counts["max_cache_bytes"])
            totals["max_cache_len"] = max(totals["max_cache_len"], counts["max_cache_len"])
            gc.collect()
            rss.append(round(concurrency.rss_mb(), 1))
    except BaseException as exc:  # noqa: BLE001
        BROKEN.append(f"concurrency: {type(exc).__name__}: {str(exc)[:500]}")
    grew = rss[-1] - rss[1] if len(rss) > 1 else 0.0
    if grew >= 40:
        BROKEN.append(f"concurrency: RSS grew across rounds: {rss}")
    say(f"  {seconds:.0f} s in {rounds} rounds, {len(concurrency.MODELS)} distinct models, 3 tables "
        f"(2 committed, 1 temp): {totals['queries']} queries, {totals['rows']} rows, all equal to onnxruntime "
        "run directly")
    say(f"  session cache bound {concurrency.CACHE_BYTES} bytes: largest seen {totals['max_cache_bytes']} bytes, "
        f"{totals['max_cache_len']} sessions; {con.cache.loads} session loads (evictions happened)")
    say(f"  RSS after each round (MB): {rss} (growth after warm-up: {grew:.1f} MB)")
    held = not any(b.startswith("concurrency") for b in BROKEN)
    say(f"  held: exact results, every thread joined before its deadline, cache within bound, "
        f"RSS flat: {'YES' if held else 'NO'}")
    say(f"  ({time.monotonic() - start:.0f} s)")
    con.close()


def interrupts(scale: float) -> None:
    start = section("interrupts: connection.interrupt() from another thread during a long PREDICT")
    repeats = max(1, int(5 * scale))
    for path in ("streaming", "on_connection"):
        latencies, failures = [], []
        for i in range(repeats):
            for dialect in ("duckdb", "tsql"):
                try:
                    timing = concurrency.interrupt_once(path, dialect, after=0.3 + 0.2 * (i % 4))
                    latencies.append(timing["latency"])
                    if timing["latency"] >= 2.0:
                        failures.append(f"slow: {timing['latency']:.2f} s")
                except BaseException as exc:  # noqa: BLE001
                    failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        worst = f"{max(latencies):.3f} s" if latencies else "n/a"
        say(f"  {path}: {2 * repeats} interrupts, {len(latencies)} stopped with OperationalError and the next "
            f"statement ran; worst latency {worst}")
        for f in sorted(set(failures)):
            say(f"    FAILED ({failures.count(f)}x): {f}")
        if failures:
            BROKEN.append(f"interrupts/{path}: {failures[0]}")
    say(f"  ({time.monotonic() - start:.0f} s)")


def names(scale: float) -> None:
    start = section("hostile names and injected values")
    tried = ok = 0
    for dialect in ("tsql", "duckdb"):
        for name in hostile.NAMES:
            tried += 1
            try:
                hostile.test_hostile_table_column_and_model_names(dialect, name)
                ok += 1
            except BaseException as exc:  # noqa: BLE001
                BROKEN.append(f"names {dialect} {name!r}: {type(exc).__name__}: {str(exc)[:300]}")
        for test in (hostile.test_parameter_values_are_never_spliced, hostile.test_hostile_names_in_insert_select):
            tried += 1
            try:
                test(dialect)
                ok += 1
            except BaseException as exc:  # noqa: BLE001
                BROKEN.append(f"names {dialect} {test.__name__}: {type(exc).__name__}: {str(exc)[:300]}")
    say(f"  {tried} checks ({len(hostile.NAMES)} hostile names x 2 dialects in DATA, WITH, pass-through, model "
        f"inputs/outputs; {len(hostile.INJECTIONS)} injection values as parameters): {ok} held")
    say(f"  ({time.monotonic() - start:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    import duckdb
    import onnxruntime

    say(f"# sqlpredict stress run (issue 6), scale {args.scale}")
    say("# reproduce: python benchmarks/stress.py --scale 1 | tee benchmarks/stress_results.txt")
    say(f"# sqlpredict {sqlpredict.__version__}, duckdb {duckdb.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"python {platform.python_version()}, {os.cpu_count()} cpus")
    began = time.monotonic()
    steps = {"models": models, "sql": sql, "atomicity": atomic, "threads": threads, "interrupts": interrupts,
             "names": names}
    for name, step in steps.items():
        if args.only and name not in args.only:
            continue
        try:
            step(args.scale)
        except BaseException:  # noqa: BLE001
            BROKEN.append(f"{name}: the step itself failed:\n{traceback.format_exc()}")
    say()
    say(f"== summary ({time.monotonic() - began:.0f} s)")
    if BROKEN:
        say(f"  {len(BROKEN)} broken guarantee(s):")
        for b in BROKEN:
            say(f"  - {b}")
        return 1
    say("  every guarantee held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
