"""Model values that are not good models: each is a PREDICT: error, never a crash, hang or file read.

Mutants of several real models (a hand-built linear model, a skl2onnx
logistic classifier with ZipMap, a decision tree and a random forest) are
scored in a child process, so a segfault or abort inside onnxruntime is seen
here as a failed test, not as a dead test run. The child writes one line per
mutant as soon as that mutant is done: the parent knows which mutant killed
or hung the child.

`python tests/test_fuzz_models.py --worker IN OUT` is the child; the stress
script (benchmarks/stress.py) calls `run_mutants` with thousands of mutants.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import ModelProto, TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import onnx_models  # noqa: E402
import sk_models  # noqa: E402

ROWS = 64
# The DATA table every mutant is scored against: the columns of all base models.
TABLE_SQL = ("CREATE TABLE t (f0 REAL, f1 REAL, f2 REAL, i0 BIGINT, i1 BIGINT, i2 BIGINT, "
             "x REAL[4], color VARCHAR, size REAL)")
QUERY = "SELECT * FROM PREDICT(MODEL = ?, DATA = t AS d, RUNTIME = ONNX) AS p"
GOOD = onnx_models.linear()
GOOD_QUERY = "SELECT p.score FROM PREDICT(MODEL = ?, DATA = t AS d) WITH (score REAL) AS p"


# ------------------------------------------------------------------ base models


def base_models() -> dict[str, bytes]:
    """The real models mutants are made from."""
    return {
        "linear": onnx_models.linear(),
        "zipmap_classifier": sk_models.logistic_classifier(n=300).onnx,
        "tree": sk_models.int_classifier(n=300).onnx,
        "forest": sk_models.random_forest(n=300).onnx,
        "mlp": sk_models.mlp(n=50).onnx,
        "onehot": sk_models.string_regressor(n=300).onnx,
    }


# ------------------------------------------------------------------ byte-level mutants


def random_bytes(rng: random.Random) -> bytes:
    n = rng.choice([0, 1, 2, 3, 7, 16, 100, 1000, 5000])
    head = rng.choice([b"", b"\x08\x09", b"\x08\x07\x12", b"\x3a", b"ONNX"])
    return head + bytes(rng.getrandbits(8) for _ in range(n))


def truncated(blob: bytes, rng: random.Random) -> bytes:
    return blob[: rng.randrange(0, len(blob))]


def bit_flipped(blob: bytes, rng: random.Random) -> bytes:
    data = bytearray(blob)
    for _ in range(rng.choice([1, 1, 2, 4, 16])):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


def byte_smashed(blob: bytes, rng: random.Random) -> bytes:
    """A run of bytes replaced by one interesting value (0x00, 0xff, 0x7f, 0x80)."""
    data = bytearray(blob)
    i = rng.randrange(len(data))
    n = rng.randrange(1, 9)
    value = rng.choice([0x00, 0xFF, 0x7F, 0x80, 0x01])
    data[i:i + n] = bytes([value]) * min(n, len(data) - i)
    return bytes(data)


def spliced(blob: bytes, other: bytes, rng: random.Random) -> bytes:
    """The head of one model and the tail of another."""
    return blob[: rng.randrange(len(blob))] + other[rng.randrange(len(other)):]


def duplicated_span(blob: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(blob))
    j = min(len(blob), i + rng.randrange(1, 200))
    return blob[:j] + blob[i:j] + blob[j:]


# ------------------------------------------------------------------ structural mutants


def _proto(blob: bytes) -> ModelProto:
    m = ModelProto()
    m.ParseFromString(blob)
    return m


def _external(tensor: TensorProto, location: str) -> None:
    tensor.data_location = TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.ClearField("int64_data")
    tensor.ClearField("double_data")


def structural(blob: bytes, rng: random.Random, trap: str) -> tuple[str, bytes]:
    """One change to the graph's structure; returns (what, bytes).

    `trap` is a path (a FIFO in the tests) that external-data mutants point at:
    opening it for reading would block, which the parent sees as a hang.
    """
    m = _proto(blob)
    g = m.graph
    kinds = [
        "drop_node", "drop_input", "drop_output", "drop_initializer", "dangling_node", "extra_output",
        "dup_output_name", "opset_low", "opset_high", "no_opset", "ir_low", "ir_high", "custom_domain",
        "external_initializer", "external_trap_abs", "external_attr_tensor", "external_sparse",
        "bad_elem_type", "negative_dim", "huge_initializer", "raw_data_short", "unknown_op",
        "bad_attribute", "cycle", "ml_opset_high", "function_custom", "empty_graph", "rename_input",
        "zero_dim_initializer", "shared_output_names", "huge_dims_constant", "wrong_attr_type",
        "tree_bad_ids", "external_function_constant", "custom_domain_opset_only",
    ]
    kind = rng.choice(kinds)
    if kind == "drop_node" and g.node:
        del g.node[rng.randrange(len(g.node))]
    elif kind == "drop_input" and g.input:
        del g.input[rng.randrange(len(g.input))]
    elif kind == "drop_output" and g.output:
        del g.output[rng.randrange(len(g.output))]
    elif kind == "drop_initializer" and g.initializer:
        del g.initializer[rng.randrange(len(g.initializer))]
    elif kind == "dangling_node":
        g.node.append(helper.make_node("Relu", ["nowhere"], ["dangling"]))
    elif kind == "extra_output":
        g.output.append(helper.make_tensor_value_info("not_computed", TensorProto.FLOAT, ["N", 1]))
    elif kind == "dup_output_name" and len(g.node) > 1:
        g.node[-1].output[0] = g.node[0].output[0]
    elif kind == "opset_low":
        for op in m.opset_import:
            op.version = 1
    elif kind == "opset_high":
        for op in m.opset_import:
            if op.domain in ("", "ai.onnx"):
                op.version = rng.choice([30, 99, 10**6, 2**62])
    elif kind == "ml_opset_high":
        m.opset_import.append(helper.make_opsetid("ai.onnx.ml", 99)) if not any(
            o.domain == "ai.onnx.ml" for o in m.opset_import) else None
        for op in m.opset_import:
            if op.domain == "ai.onnx.ml":
                op.version = 99
    elif kind == "no_opset":
        del m.opset_import[:]
    elif kind == "ir_low":
        m.ir_version = rng.choice([0, 1, 2])
    elif kind == "ir_high":
        m.ir_version = rng.choice([11, 14, 99, 2**40])
    elif kind in ("custom_domain", "custom_domain_opset_only"):
        m.opset_import.append(helper.make_opsetid("com.example.evil", 1))
        if kind == "custom_domain":
            g.node.append(helper.make_node("Evil", [g.input[0].name] if g.input else [], ["evil_out"],
                                           domain="com.example.evil"))
    elif kind == "external_initializer" and g.initializer:
        _external(g.initializer[rng.randrange(len(g.initializer))], os.path.basename(trap))
    elif kind == "external_trap_abs" and g.initializer:
        _external(g.initializer[rng.randrange(len(g.initializer))], trap)
    elif kind == "external_attr_tensor":
        t = numpy_helper.from_array(np.zeros((2, 2), dtype=np.float32), "c")
        _external(t, trap)
        g.node.insert(0, helper.make_node("Constant", [], ["ext_const"], value=t))
    elif kind == "external_sparse":
        values = numpy_helper.from_array(np.ones(2, dtype=np.float32), "sv")
        _external(values, trap)
        indices = numpy_helper.from_array(np.array([0, 3], dtype=np.int64), "si")
        sparse = helper.make_sparse_tensor(values, indices, [4])
        g.node.insert(0, helper.make_node("Constant", [], ["ext_sparse"], sparse_value=sparse))
    elif kind == "external_function_constant":
        t = numpy_helper.from_array(np.zeros((2,), dtype=np.float32), "fc")
        _external(t, trap)
        body = [helper.make_node("Constant", [], ["k"], value=t), helper.make_node("Add", ["a", "k"], ["b"])]
        fn = helper.make_function("local.fn", "AddK", ["a"], ["b"], body, [helper.make_opsetid("", 17)])
        m.functions.append(fn)
        m.opset_import.append(helper.make_opsetid("local.fn", 1))
        g.node.append(helper.make_node("AddK", ["fn_in"], ["fn_out"], domain="local.fn"))
    elif kind == "function_custom":
        body = [helper.make_node("Evil", ["a"], ["b"], domain="com.example.evil")]
        fn = helper.make_function("local.fn", "Wrap", ["a"], ["b"], body,
                                  [helper.make_opsetid("com.example.evil", 1)])
        m.functions.append(fn)
        m.opset_import.append(helper.make_opsetid("local.fn", 1))
        if g.input:
            g.node.append(helper.make_node("Wrap", [g.input[0].name], ["wrapped"], domain="local.fn"))
            g.output.append(helper.make_tensor_value_info("wrapped", TensorProto.FLOAT, None))
    elif kind == "bad_elem_type" and g.input:
        g.input[rng.randrange(len(g.input))].type.tensor_type.elem_type = rng.choice([0, 17, 23, 99])
    elif kind == "negative_dim" and g.input:
        dims = g.input[0].type.tensor_type.shape.dim
        if dims:
            dims[-1].Clear()
            dims[-1].dim_value = -5
    elif kind == "huge_initializer" and g.initializer:
        t = g.initializer[rng.randrange(len(g.initializer))]
        del t.dims[:]
        t.dims.extend([2**31, 2**31])
    elif kind == "raw_data_short" and g.initializer:
        t = g.initializer[rng.randrange(len(g.initializer))]
        t.dims.append(1000)
    elif kind == "zero_dim_initializer" and g.initializer:
        t = g.initializer[rng.randrange(len(g.initializer))]
        del t.dims[:]
        t.dims.extend([0])
    elif kind == "huge_dims_constant":
        g.node.insert(0, helper.make_node(
            "ConstantOfShape", ["huge_shape"], ["huge"],
            value=numpy_helper.from_array(np.array([1.0], dtype=np.float32))))
        g.initializer.append(numpy_helper.from_array(np.array([2**20, 2**20, 2**20], dtype=np.int64),
                                                     "huge_shape"))
        g.output.append(helper.make_tensor_value_info("huge", TensorProto.FLOAT, None))
    elif kind == "unknown_op" and g.node:
        g.node[rng.randrange(len(g.node))].op_type = rng.choice(["NoSuchOp", "", "relu", "Conv"])
    elif kind == "bad_attribute" and g.node:
        g.node[rng.randrange(len(g.node))].attribute.append(helper.make_attribute("bogus", 7))
    elif kind == "wrong_attr_type" and g.node:
        node = g.node[rng.randrange(len(g.node))]
        if node.attribute:
            a = node.attribute[rng.randrange(len(node.attribute))]
            a.type = rng.choice([1, 2, 3, 4, 6, 7, 8])
    elif kind == "tree_bad_ids":
        for node in g.node:
            for a in node.attribute:
                if a.name.endswith("nodes_truenodeids") or a.name.endswith("nodes_falsenodeids") \
                        or a.name.endswith("nodes_featureids"):
                    for i in range(len(a.ints)):
                        if rng.random() < 0.2:
                            a.ints[i] = rng.choice([-1, 10**6, 2**40, 3])
                elif a.name in ("class_ids", "target_ids", "nodes_treeids") and a.ints:
                    a.ints[rng.randrange(len(a.ints))] = rng.choice([-7, 10**6])
    elif kind == "cycle" and len(g.node) > 1:
        g.node[0].input.append(g.node[-1].output[0])
    elif kind == "empty_graph":
        del g.node[:]
    elif kind == "rename_input" and g.input:
        g.input[0].name = rng.choice(["", "f0; DROP TABLE t; --", "ü", "f0"])
    elif kind == "shared_output_names" and len(g.output) > 1:
        g.output[1].name = g.output[0].name
    data = m.SerializeToString()
    if data == blob:  # the change did not apply to this model (no initializer, one output, ...)
        kind += "(unchanged)"
    return kind, data


def mutants(count: int, seed: int, trap: str) -> list[tuple[str, bytes]]:
    """`count` mutants, a mix of byte-level and structural ones, from every base model."""
    rng = random.Random(seed)
    bases = base_models()
    names = list(bases)
    out: list[tuple[str, bytes]] = []
    for i in range(count):
        base = names[i % len(names)]
        blob = bases[base]
        pick = rng.random()
        if pick < 0.06:
            out.append((f"{i}:random_bytes", random_bytes(rng)))
        elif pick < 0.22:
            out.append((f"{i}:{base}:truncated", truncated(blob, rng)))
        elif pick < 0.45:
            out.append((f"{i}:{base}:bit_flip", bit_flipped(blob, rng)))
        elif pick < 0.55:
            out.append((f"{i}:{base}:smash", byte_smashed(blob, rng)))
        elif pick < 0.60:
            out.append((f"{i}:{base}:splice", spliced(blob, bases[rng.choice(names)], rng)))
        elif pick < 0.63:
            out.append((f"{i}:{base}:dup_span", duplicated_span(blob, rng)))
        else:
            kind, data = structural(blob, rng, trap)
            out.append((f"{i}:{base}:{kind}", data))
    return out


# ------------------------------------------------------------------ the child


def worker(in_path: str, out_path: str) -> None:
    """Score every mutant on one connection; one JSON line per mutant, flushed before the next."""
    import sqlpredict

    with open(in_path, "rb") as f:
        items = pickle.load(f)
    con = sqlpredict.connect(autocommit=True, session_cache_bytes=1 << 20, batch_size=16)
    cur = con.cursor()
    cur.execute(TABLE_SQL)
    rows = [(float(i) / 7, -float(i), 0.5 * i, i - 30, 2 * i, -i, [0.1 * i, 1.0, -1.0, 2.0],
             ["red", "green", "blue", "amber"][i % 4], float(i % 10)) for i in range(ROWS)]
    cur.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    expected = cur.execute(GOOD_QUERY, [GOOD]).fetchall()
    with open(out_path, "a", encoding="utf-8") as out:
        for name, blob in items:
            out.write(json.dumps({"start": name}) + "\n")
            out.flush()
            record = {"name": name}
            try:
                got = con.cursor().execute(QUERY, [blob]).fetchall()
                record.update(outcome="ok", rows=len(got))
            except sqlpredict.Error as exc:
                record.update(outcome="error", cls=type(exc).__name__, message=str(exc)[:300])
            except BaseException as exc:  # noqa: BLE001 - anything else is what the test looks for
                record.update(outcome="foreign", cls=type(exc).__name__, message=str(exc)[:300])
            try:
                record["usable"] = con.cursor().execute(GOOD_QUERY, [GOOD]).fetchall() == expected
            except BaseException as exc:  # noqa: BLE001
                record["usable"] = False
                record["usable_error"] = f"{type(exc).__name__}: {exc}"[:300]
            out.write(json.dumps(record) + "\n")
            out.flush()
    con.close()


def run_mutants(items: list[tuple[str, bytes]], timeout: float, workdir: str) -> dict:
    """Score `items` in a child process; returns {'returncode', 'records', 'last_started', 'timed_out'}."""
    in_path = os.path.join(workdir, "mutants.pickle")
    out_path = os.path.join(workdir, "outcomes.jsonl")
    with open(in_path, "wb") as f:
        pickle.dump(items, f)
    if os.path.exists(out_path):
        os.unlink(out_path)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", in_path, out_path],
                            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    timed_out = False
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        output, _ = proc.communicate()
    records, last_started = [], None
    if os.path.exists(out_path):
        with open(out_path, encoding="utf-8") as f:
            for line in f:
                entry = json.loads(line)
                if "start" in entry:
                    last_started = entry["start"]
                else:
                    records.append(entry)
    return {"returncode": proc.returncode, "records": records, "last_started": last_started,
            "timed_out": timed_out, "output": output.decode(errors="replace")[-3000:]}


def problems(result: dict, expected_count: int) -> list[str]:
    """What broke the guarantee: a dead or hung child, a foreign exception, a message, a dead connection."""
    found = []
    if result["timed_out"]:
        found.append(f"child hung (killed after timeout) while scoring mutant {result['last_started']}")
    elif result["returncode"] != 0:
        found.append(f"child died with code {result['returncode']} while scoring mutant "
                     f"{result['last_started']}\n{result['output']}")
    elif len(result["records"]) != expected_count:
        found.append(f"child reported {len(result['records'])} of {expected_count} mutants")
    for r in result["records"]:
        if r["outcome"] == "foreign":
            found.append(f"{r['name']}: {r['cls']} is not a sqlpredict Error: {r['message']}")
        elif r["outcome"] == "error" and not r["message"].startswith("PREDICT:"):
            found.append(f"{r['name']}: {r['cls']} message does not start with PREDICT: {r['message']!r}")
        if not r["usable"]:
            found.append(f"{r['name']}: the connection no longer scores: {r.get('usable_error')}")
    return found


@pytest.fixture
def trap(tmp_path):
    """A FIFO that nobody writes: a model that makes the engine open it blocks the child (a hang)."""
    path = tmp_path / "weights.bin"
    os.mkfifo(path)
    return str(path)


def _run(items, tmp_path, timeout):
    result = run_mutants(items, timeout, str(tmp_path))
    found = problems(result, len(items))
    assert not found, "\n".join(found[:20])
    return result["records"]


def test_fuzzed_models_in_a_child_process(tmp_path, trap):
    items = mutants(300, seed=20250601, trap=trap)
    records = _run(items, tmp_path, timeout=150)
    errors = [r for r in records if r["outcome"] == "error"]
    assert len(errors) > len(records) // 2, "most mutants must be refused; the mutator is not mutating"


def test_external_data_never_opens_a_file(tmp_path, trap):
    """Each place a tensor can live, pointing at a FIFO: refused without opening it (no hang)."""
    rng = random.Random(1)
    kinds = ["external_initializer", "external_trap_abs", "external_attr_tensor", "external_sparse",
             "external_function_constant"]
    items = []
    for base, blob in base_models().items():
        for kind in kinds:
            # Some kinds need a part the model lacks (a tree ensemble has no initializers): try a bounded number.
            for _ in range(400):
                got, data = structural(blob, rng, trap)
                if got == kind:
                    items.append((f"{base}:{kind}", data))
                    break
    assert {name.split(":")[1] for name, _ in items} == set(kinds), "every external-data kind must be tried"
    records = _run(items, tmp_path, timeout=60)
    for r in records:
        if "external" in r["name"] and "function" not in r["name"] and "sparse" not in r["name"]:
            assert r["outcome"] == "error" and "external file" in r["message"], r
        else:
            assert r["outcome"] == "error", r


def test_external_data_with_a_real_file_is_refused_and_not_read(tmp_path):
    """The weights exist next to the process's working directory: still refused, and not read (atime)."""
    import sqlpredict

    weights = tmp_path / "W.bin"
    weights.write_bytes(np.array([2.0, -3.0], dtype=np.float32).tobytes())
    os.utime(weights, (0, 0))  # atime at the epoch: any read moves it (relatime updates an old atime)
    m = _proto(onnx_models.linear())
    for init in m.graph.initializer:
        if init.name == "W":
            _external(init, str(weights))
    con = sqlpredict.connect(autocommit=True)
    con.execute("CREATE TABLE t (f0 REAL, f1 REAL)")
    con.execute("INSERT INTO t VALUES (1, 2)")
    with pytest.raises(sqlpredict.ProgrammingError, match=r"^PREDICT: .*external file"):
        con.execute(GOOD_QUERY, [m.SerializeToString()])
    assert os.stat(weights).st_atime == 0
    assert con.execute(GOOD_QUERY, [GOOD]).fetchall() == [(pytest.approx(-3.5),)]


def test_custom_operator_domains_are_refused(tmp_path):
    import sqlpredict

    con = sqlpredict.connect(autocommit=True)
    con.execute("CREATE TABLE t (f0 REAL, f1 REAL)")
    con.execute("INSERT INTO t VALUES (1, 2)")
    rng = random.Random(2)
    for kind in ("custom_domain", "custom_domain_opset_only", "function_custom"):
        while True:
            got, data = structural(onnx_models.linear(), rng, "/nonexistent")
            if got == kind:
                break
        with pytest.raises(sqlpredict.ProgrammingError, match=r"^PREDICT: .*(custom|corrupt)"):
            con.execute(GOOD_QUERY, [data])
    assert con.execute(GOOD_QUERY, [GOOD]).fetchall() == [(pytest.approx(-3.5),)]


def test_a_crashing_child_fails_the_check(tmp_path):
    """The harness itself: a child that dies is reported, so a segfault cannot pass unseen."""
    fake = {"returncode": -11, "records": [], "last_started": "0:x", "timed_out": False, "output": ""}
    assert problems(fake, 1) and "died" in problems(fake, 1)[0]
    hung = dict(fake, timed_out=True, returncode=-9)
    assert "hung" in problems(hung, 1)[0]


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--worker":
    worker(sys.argv[2], sys.argv[3])
