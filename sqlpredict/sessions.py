"""onnxruntime sessions: provider choice, and one cached session per model value.

Sessions are cached by the SHA-256 of the model bytes (and the providers),
so the same query run again costs no model load. The cache is bounded in
bytes, least recently used evicted; a session is counted as what it holds:
the model's bytes twice (sqlpredict's copy and onnxruntime's weights), the
rewritten batch-1 model if any, and half a MiB of onnxruntime's own.
"""

from __future__ import annotations

import ctypes
import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache

import onnxruntime as ort

from .errors import OperationalError, ProgrammingError
from .model import ModelInfo, describe_model, model_digest

DEFAULT_CACHE_BYTES = 1 << 30
# What an onnxruntime session of a small model holds beyond the model's weights: measured at 0.45 MB
# (RSS of 200 cached sessions of a 4 KB model).
SESSION_OVERHEAD_BYTES = 1 << 19


@lru_cache(maxsize=1)
def cuda_problem() -> str | None:
    """Why the CUDA provider cannot run here, or None when it can.

    Checked quietly with ctypes, so machines without CUDA see no error spam
    from onnxruntime trying and failing to load the provider.
    """
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "this onnxruntime has no CUDA provider (install onnxruntime-gpu)"
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
            return "no GPU is visible to the CUDA driver"
    except OSError:
        return "no NVIDIA driver (libcuda.so.1) is installed"
    try:
        if hasattr(ort, "preload_dlls"):
            ort.preload_dlls()
        capi = os.path.join(os.path.dirname(ort.__file__), "capi")
        ctypes.CDLL(os.path.join(capi, "libonnxruntime_providers_shared.so"), mode=ctypes.RTLD_GLOBAL)
        ctypes.CDLL(os.path.join(capi, "libonnxruntime_providers_cuda.so"))
    except OSError as exc:
        return f"onnxruntime's CUDA provider cannot load its libraries ({exc})"
    return None


def default_providers() -> tuple[str, ...]:
    """CUDA first when it can really run, else the CPU provider alone."""
    if cuda_problem() is None:
        return ("CUDAExecutionProvider", "CPUExecutionProvider")
    return ("CPUExecutionProvider",)


def resolve_providers(providers: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Validate a connection's `providers=` list against what onnxruntime offers and can run.

    CUDA named alone is a demand: where it cannot run, that is an error, not
    onnxruntime's silent fallback to the CPU after a screen of log lines.
    CUDA named before another provider is a preference: the others are used,
    with one warning that says why.
    """
    if providers is None:
        return default_providers()
    available = ort.get_available_providers()
    if isinstance(providers, str):  # tuple() would make one provider of each letter
        raise ProgrammingError(f"providers takes a list of provider names, not the string {providers!r}; "
                               f"write providers=[{providers!r}] (this onnxruntime offers {available})")
    chosen = tuple(providers)
    unknown = [p for p in chosen if p not in available]
    if unknown or not chosen:
        raise ProgrammingError(
            f"providers {list(chosen)} are not available; this onnxruntime offers {available}"
        )
    problem = cuda_problem() if "CUDAExecutionProvider" in chosen else None
    if problem is None:
        return chosen
    rest = tuple(p for p in chosen if p != "CUDAExecutionProvider")
    if not rest:
        raise OperationalError(
            f"providers {list(chosen)} ask for CUDA, but it cannot run here: {problem}; "
            "leave providers out to use the CUDA provider where it can run and the CPU otherwise, "
            "or add 'CPUExecutionProvider' after it"
        )
    warnings.warn(f"sqlpredict: CUDA cannot run here ({problem}); scoring with {list(rest)}",
                  RuntimeWarning, stacklevel=4)
    return rest


@dataclass
class CompiledModel:
    """A model ready to score: its description and a session."""

    info: ModelInfo
    session: ort.InferenceSession
    providers: tuple[str, ...]
    per_row: bool  # True when the relaxed batch model cannot score batches
    threads: int | None = None
    original_session: ort.InferenceSession | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def open_original(self) -> ort.InferenceSession:
        """A session on the model's own bytes, for scoring one row at a time."""
        if not self.info.relaxed:
            return self.session
        return ort.InferenceSession(self.info.original_bytes, _session_options(self.threads),
                                    providers=list(self.providers))


def _session_options(threads: int | None) -> ort.SessionOptions:
    """Quiet, and sharing the cores with DuckDB rather than fighting it.

    onnxruntime's intra-op threads spin-wait between runs by default. DuckDB
    reads DATA and writes the results on the same cores meanwhile: on 2 cores,
    spinning made benchmark (a) take 1.2x to 1.4x as long. Without it, tree
    ensembles keep their parallel speed-up (benchmarks/README.md).
    """
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _build(info: ModelInfo, providers: tuple[str, ...], threads: int | None) -> CompiledModel:
    options = _session_options(threads)
    try:
        session = ort.InferenceSession(info.batch_bytes, options, providers=list(providers))
        return CompiledModel(info, session, providers, per_row=False, threads=threads)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        if not info.relaxed:
            raise ProgrammingError(f"PREDICT: model is corrupt or invalid: {_first_line(exc)}") from exc
    try:
        session = ort.InferenceSession(info.original_bytes, options, providers=list(providers))
    except Exception as exc:  # noqa: BLE001
        raise ProgrammingError(f"PREDICT: model is corrupt or invalid: {_first_line(exc)}") from exc
    return CompiledModel(info, session, providers, per_row=True, threads=threads, original_session=session)


def held_bytes(compiled: CompiledModel) -> int:
    """The memory a cached session holds, as the cache counts it (see the module's docstring)."""
    info = compiled.info
    relaxed = len(info.batch_bytes) if info.relaxed else 0
    return 2 * len(info.original_bytes) + relaxed + SESSION_OVERHEAD_BYTES


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class SessionCache:
    """LRU cache of CompiledModel by (model hash, providers), bounded in model bytes."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, CompiledModel] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # sessions built; tests and benchmarks read it
        # The digests of the last model objects seen, by identity: hashing a 100 MB model takes 75 ms, and
        # a program passing the same bytes to every execute would pay it every time. Each entry keeps its
        # bytes alive, so an id is not reused while it is here.
        self._digests: OrderedDict[int, tuple[bytes, str]] = OrderedDict()

    def digest(self, blob: bytes) -> str:
        """The model's digest, the cache's key (kept for the last model objects seen).

        Bytes equal to those of a model object seen lately have its digest: a model read from a
        table by a subquery or a T-SQL variable is new bytes on every statement, and comparing
        them takes a quarter of the time of hashing them again.
        """
        with self._lock:
            seen = self._digests.get(id(blob))
            if seen is not None and seen[0] is blob:
                self._digests.move_to_end(id(blob))
                return seen[1]
            kept = list(self._digests.items())
        same = next(((key, d) for key, (b, d) in reversed(kept) if len(b) == len(blob) and b == blob), None)
        digest = model_digest(blob) if same is None else same[1]
        with self._lock:
            if same is not None:  # the new object stands for the content: one copy is kept, not one a statement
                self._digests.pop(same[0], None)
            self._digests[id(blob)] = (blob, digest)
            while len(self._digests) > 8:
                self._digests.popitem(last=False)
        return digest

    def get(self, blob: bytes, providers: tuple[str, ...], threads: int | None = None) -> CompiledModel:
        key = (self.digest(blob), providers, threads)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        compiled = _build(describe_model(blob), providers, threads)
        with self._lock:
            self.loads += 1
            self._items[key] = compiled
            self._items.move_to_end(key)
            self._evict()
        return compiled

    def _evict(self) -> None:
        while len(self._items) > 1 and self.size_bytes > self.max_bytes:
            self._items.popitem(last=False)

    @property
    def size_bytes(self) -> int:
        return sum(held_bytes(c) for c in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _quiet_run_options() -> ort.RunOptions:
    """Failures come back as exceptions; onnxruntime need not also print them to stderr."""
    options = ort.RunOptions()
    options.log_severity_level = 4
    return options


def run_session(compiled: CompiledModel, names: list[str], feeds: dict) -> list:
    """Run the session; failures inside the runtime are OperationalError.

    A relaxed model (fixed batch of 1 made symbolic) can still assume one row
    inside the graph, e.g. a Reshape to [1,k]: it then fails, or gives other
    than one value per row, for a batch. Such a model is scored one row at a
    time with its original bytes from then on.
    """
    if not compiled.per_row:
        try:
            values = compiled.session.run(names, feeds, _quiet_run_options())
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            if not compiled.info.relaxed:
                raise OperationalError(f"PREDICT: onnxruntime failed while scoring: {_first_line(exc)}") from exc
            values = None
        if values is not None and (not compiled.info.relaxed or _one_per_row(values, _row_count(feeds))):
            return values
        values = _score_per_row(compiled, names, feeds)
        compiled.per_row = True
        return values
    return _score_per_row(compiled, names, feeds)


def _row_count(feeds: dict) -> int:
    return len(next(iter(feeds.values()))) if feeds else 0


def _one_per_row(values: list, rows: int) -> bool:
    def length(value) -> int:
        if isinstance(value, list):
            return len(value)
        return value.shape[0] if getattr(value, "ndim", 0) else -1

    return all(length(v) == rows for v in values)


def _score_per_row(compiled: CompiledModel, names: list[str], feeds: dict) -> list:
    try:
        return _run_per_row(compiled, names, feeds)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        raise OperationalError(f"PREDICT: onnxruntime failed while scoring: {_first_line(exc)}") from exc


def _original_session(compiled: CompiledModel) -> ort.InferenceSession:
    with compiled.lock:
        if compiled.original_session is None:
            compiled.original_session = compiled.open_original()
        return compiled.original_session


def _run_per_row(compiled: CompiledModel, names: list[str], feeds: dict) -> list:
    """Fallback for models whose batch dimension cannot be relaxed."""
    import numpy as np

    session = _original_session(compiled)
    rows = _row_count(feeds)
    options = _quiet_run_options()
    parts = [session.run(names, {k: v[i : i + 1] for k, v in feeds.items()}, options) for i in range(rows)]
    return [np.concatenate([p[j] for p in parts]) if rows else np.empty((0,)) for j in range(len(names))]
