"""Running batches: DATA streamed as Arrow record batches through one session.

A scored stream reads DATA from one of two places:

* a sibling connection to the same database (`con.cursor()`), when the
  user's transaction has no uncommitted writes and DATA reads no temporary
  table or macro. Batches are then scored while the user's statement consumes them,
  so memory is bounded by the batch size, not the table size. The sibling
  sees what is committed, which is READ COMMITTED, SQL Server's default.
* the user's own connection otherwise, so that PREDICT sees uncommitted rows,
  temp tables and macros, and the rows of another PREDICT that DATA reads. DuckDB runs one
  query per connection at a time, so DATA is then read and scored completely
  before the user's statement starts.

From the third batch on, one worker thread reads DATA ahead and another
scores ahead of DuckDB (`PredictStream._ahead`), so the three overlap.
`SQLPREDICT_PREFETCH=0` in the environment turns both off. The worker
threads are kept from one statement to the next (`Workers`).
"""

from __future__ import annotations

import os
import queue
import threading
import typing as t

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from . import engine_calls
from .binding import Binding
from .dialects import to_duckdb
from .errors import OperationalError, from_duckdb, from_duckdb_message
from .scoring import Scorer
from .sessions import CompiledModel
from .tsql_strings import set_session_collation
from .values import lossless_export, restore_export

if t.TYPE_CHECKING:
    from .planner import StreamRecipe

# Rows per batch, unless connect(batch_size=...) says otherwise: DuckDB's row group size
# (60 vectors of 2,048 rows). Against 65,536 it cut (a) by about 9% and (c) by about 13% in
# benchmarks/ (fewer hand-offs between DuckDB, the worker threads and onnxruntime), for a
# few MB more in flight: see benchmarks/README.md, "Large batches".
DEFAULT_BATCH_SIZE = 122_880

SessionStatements = t.Tuple[t.Tuple[str, t.List[t.Any]], ...]  # (SQL, its parameter values) each
_LOCAL_SETTINGS = "SELECT name, value FROM duckdb_settings() WHERE scope = 'LOCAL'"


def session_statements(con: duckdb.DuckDBPyConnection) -> SessionStatements | None:
    """The statements that give a sibling connection the session of `con`: a SET SESSION for each
    setting whose session value differs from a new connection's (search_path, TimeZone,
    integer_division, ...) and a SET VARIABLE for each variable. Each is tried on a new connection
    first; None where one fails, and DATA must then be read on `con` itself."""
    probe = con.cursor()
    try:
        defaults = dict(probe.execute(_LOCAL_SETTINGS).fetchall())
        statements: list[tuple[str, list[t.Any]]] = []
        for name, value in con.execute(_LOCAL_SETTINGS).fetchall():
            if name == "schema" or value == defaults.get(name):  # the schema follows from search_path
                continue
            if value is None:
                return None
            item = exp.SetItem(this=exp.EQ(this=exp.to_identifier(name), expression=exp.Literal.string(value)),
                               kind="SESSION")
            statements.append((to_duckdb(exp.Set(expressions=[item])), []))
        for name, value, typ in con.execute("SELECT name, value, type FROM duckdb_variables()").fetchall():
            target = exp.DataType.build(typ, dialect="duckdb").sql(dialect="duckdb")
            variable = exp.to_identifier(name, quoted=True).sql(dialect="duckdb")
            statements.append((f"SET VARIABLE {variable} = CAST($1 AS {target})", [value]))
        for sql, params in statements:
            probe.execute(sql, params or None)
    except (duckdb.Error, SqlglotError):
        return None
    finally:
        probe.close()
    return tuple(statements)


class PredictStream:
    """One PREDICT's scored rows: DATA's columns, then the outputs."""

    def __init__(self, name: str, data_sql: str, data_params: list[t.Any], compiled: CompiledModel,
                 binding: Binding, output_columns: list[str], null_inputs: str, batch_size: int,
                 progress: t.Callable[[int], None] | None = None, passed_columns: list[str] | None = None,
                 own_names: dict[str, str] | None = None, lossless: bool = False) -> None:
        self.name = name
        self.lossless = lossless  # DATA has columns standard Arrow changes: read it with DuckDB's extensions
        self.own_names = own_names or {}  # private name -> the statement's own, for error messages
        self.data_sql = data_sql
        self.data_params = data_params
        self.scorer = Scorer(compiled, binding, null_inputs)
        self.output_columns = output_columns
        self.passed_columns = passed_columns  # DATA columns handed on to DuckDB; None: all
        self._passed: list[int] = []  # their positions in DATA's batches
        self.batch_size = batch_size
        self.progress = progress  # called with each batch's row count once it is scored
        self.streaming = False
        self.registered = False  # a view under `name` (planner.register)
        self.error: BaseException | None = None
        self.schema: pa.Schema | None = None
        self._sibling: duckdb.DuckDBPyConnection | None = None
        self._source: pa.RecordBatchReader | None = None
        self._scored: list[pa.RecordBatch] | None = None
        self._workers: list[Prefetcher] = []  # threads scoring and reading ahead, in start order
        self._closed = False
        self._lock = threading.Lock()  # orders starting workers against close()
        self.prefetch = os.environ.get("SQLPREDICT_PREFETCH", "1") != "0"
        self.recipe: StreamRecipe | None = None  # how to make this stream again without planning

    def open(self, con: duckdb.DuckDBPyConnection, streaming: bool, collation: str | None = None,
             settings: SessionStatements = ()) -> None:
        """Start reading DATA; on the user's connection, read and score it all now.

        A sibling connection does not inherit the user's session: `collation` is the user's
        default collation, which DATA's filters must compare strings under, and `settings` the
        statements that give it the rest (see session_statements).
        """
        self.streaming = streaming
        source_con = con
        try:
            if streaming:
                self._sibling = source_con = con.cursor()
                if collation:
                    set_session_collation(source_con, collation)
                for sql, params in settings:
                    source_con.execute(sql, params or None)
            if self.lossless:
                lossless_export(source_con)
            self._source = engine_calls.arrow_reader(source_con, self.data_sql, self.data_params, self.batch_size)
        except duckdb.Error as exc:
            self.close()
            self._restore(con, streaming)
            raise from_duckdb(exc) from exc
        source_fields = list(self._source.schema)
        passed = None if self.passed_columns is None else set(self.passed_columns)
        self._passed = [i for i, f in enumerate(source_fields) if passed is None or f.name in passed]
        fields = [source_fields[i] for i in self._passed]
        fields += [pa.field(name, typ) for name, typ in zip(self.output_columns, self.scorer.output_types)]
        self.schema = pa.schema(fields)
        if not streaming:
            try:
                self.materialise()
            finally:
                self._restore(con, streaming)

    def _restore(self, con: duckdb.DuckDBPyConnection, streaming: bool) -> None:
        """The user's connection exports standard Arrow again once DATA is read on it (a sibling closes)."""
        if self.lossless and not streaming:
            try:
                restore_export(con)
            except duckdb.Error:
                pass  # an aborted transaction: the connection's recovery restores it after the ROLLBACK

    def materialise(self) -> None:
        """Score every row now and keep them, so they can be read more than once.

        A statement on the user's connection reads DATA this way, and so does
        a PREDICT whose DATA reads another PREDICT: the statement may then read
        the first one's rows again.
        """
        if self._scored is not None:
            return
        try:
            self._scored = list(self._score_all())
        except BaseException:
            self.close()  # a reader thread may still be reading ahead
            raise
        finally:
            self._source = None
        self._close_sibling()

    def _read(self) -> t.Iterator[pa.RecordBatch]:
        """DATA's batches, read ahead on a thread of their own from the third on (see `_ahead`)."""
        if self.prefetch:
            return self._ahead(self._read_source(), "sqlpredict-read")
        return self._read_source()

    def _read_source(self) -> t.Iterator[pa.RecordBatch]:
        """DATA's batches; a failure while reading (an interrupt, an I/O error) is a PEP 249 error."""
        assert self._source is not None
        while True:
            try:
                batch = self._source.read_next_batch()
            except StopIteration:
                return
            except duckdb.Error as exc:
                raise from_duckdb(exc) from exc
            except (OSError, pa.ArrowException) as exc:
                # DuckDB's error in a later batch reaches the reader as Arrow's: its class from its message
                raise from_duckdb_message(str(exc)) or OperationalError(f"PREDICT: reading DATA stopped: {exc}") \
                    from exc
            yield batch

    def _score_all(self) -> t.Iterator[pa.RecordBatch]:
        assert self.schema is not None
        for batch in self._read():
            outputs = self.scorer.score(batch)
            if self.progress is not None:
                self.progress(batch.num_rows)
            yield pa.RecordBatch.from_arrays([batch.column(i) for i in self._passed] + outputs, schema=self.schema)

    def _guarded(self) -> t.Iterator[pa.RecordBatch]:
        """Keep our own exception: DuckDB reports reader failures as text only."""
        try:
            yield from self._score_all()
        except BaseException as exc:
            self.error = exc
            raise

    def relation(self) -> pa.Table | pa.RecordBatchReader:
        """What the user's statement scans in place of PREDICT: the rows when they are held (a
        table may be scanned more than once), else the stream that scores them as DuckDB reads."""
        assert self.schema is not None
        if self._scored is not None:
            return pa.Table.from_batches(self._scored, schema=self.schema)
        if self.prefetch:
            return pa.RecordBatchReader.from_batches(self.schema, self._ahead(self._guarded(), "sqlpredict-score"))
        return pa.RecordBatchReader.from_batches(self.schema, self._guarded())

    def _ahead(self, batches: t.Iterator[pa.RecordBatch], name: str) -> t.Iterator[pa.RecordBatch]:
        """`batches` run on a worker thread ahead of their consumer, from the third batch on.

        Two workers overlap reading DATA, scoring and DuckDB's consuming: one
        scores ahead of DuckDB, one reads ahead of it. The first two batches
        pass through on the consuming thread, so a one-batch query, which has
        nothing to overlap, gives no worker a job.
        """
        count = 0
        for batch in batches:
            yield batch
            count += 1
            if count == 2:
                break
        else:
            return
        with self._lock:  # the scorer starts the reader: it waits here until it is listed itself
            if self._closed:  # the statement is over; nothing reads these batches any more
                raise OperationalError("PREDICT: the scored stream was read after its statement ended")
            worker = Prefetcher(batches, depth=2, name=name)
            self._workers.append(worker)
        yield from worker

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:  # the scorer, then the reader it takes from
            worker.stop()
        self._source = None
        self._scored = None
        self._close_sibling()

    def _close_sibling(self) -> None:
        if self._sibling is not None:
            try:
                self._sibling.close()
            finally:
                self._sibling = None


class StaticRelation:
    """A small table computed before the statement runs (describe_model's rows), registered like a stream."""

    def __init__(self, name: str, table: pa.Table, own_name: str = "describe_model") -> None:
        self.name = name
        self.table = table
        self.own_names = {name: own_name}
        self.registered = False  # a view under `name` (planner.register)
        self.error: BaseException | None = None

    def relation(self) -> pa.Table:
        return self.table

    def materialise(self) -> None:
        """Its rows are already held."""

    def close(self) -> None:
        """Nothing to release."""


IDLE_WORKER = "sqlpredict-idle"  # a kept worker's thread name between jobs


class Workers:
    """The threads that read and score ahead (and run the command line's batches), kept between statements.

    A pair of threads started for each statement and ended after it left memory
    behind: glibc gives threads malloc arenas, and what the ended threads had
    freed stayed in them. Ten CREATE TABLE statements of benchmark (a) (10M
    rows) in one process peaked at 942 MB that way, and at 716 MB with the
    threads kept (benchmarks/README.md, "Worker threads kept between statements").
    A job goes to an idle worker, or to a new one when every worker is busy,
    so a job never queues behind another (the scorer's job waits on its reader's):
    there are as many workers as jobs have ever run at once. A worker's
    thread is named after its job while it runs one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue] = []  # one inbox per idle worker

    def start(self, job: t.Callable[[], None], name: str) -> threading.Event:
        """Run `job` on a worker; the event is set once that worker is idle again."""
        done = threading.Event()
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), daemon=True, name=IDLE_WORKER).start()
        inbox.put((job, name, done))
        return done

    def _serve(self, inbox: queue.SimpleQueue) -> None:
        me = threading.current_thread()
        while True:
            job, name, done = inbox.get()
            me.name = name
            try:
                job()
            finally:
                del job  # the statement's batches go with it, not with the idle worker
                me.name = IDLE_WORKER
                with self._lock:
                    self._idle.append(inbox)
                done.set()

    def forget(self) -> None:
        """In a forked child: the parent's workers did not come along, so none is idle."""
        self._lock = threading.Lock()
        self._idle = []


WORKERS = Workers()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WORKERS.forget)


class Prefetcher:
    """Runs an iterator of batches on a worker thread, ahead of the thread that consumes them.

    One reads DATA ahead of scoring, one scores ahead of DuckDB. onnxruntime
    and DuckDB both release the GIL, so reading DATA, scoring and the user's
    statement overlap. At most `depth` batches wait in memory per worker.
    """

    _DONE = object()

    def __init__(self, batches: t.Iterator[pa.RecordBatch], depth: int, name: str) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._finished = WORKERS.start(lambda: self._run(batches), name)

    def _run(self, batches: t.Iterator[pa.RecordBatch]) -> None:
        try:
            for batch in batches:
                if not self._put(batch):
                    return
            self._put(self._DONE)
        except BaseException as exc:  # handed to the consuming thread, which raises it
            self._put(exc)

    def _put(self, item: object) -> bool:
        """Queue `item`; False once the consumer has stopped (the job then ends)."""
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return not self._stopped.is_set()
            except queue.Full:
                continue
        return False

    def __iter__(self) -> t.Iterator[pa.RecordBatch]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        """The statement is over (finished, failed or interrupted): end the job, free its worker.

        Emptying the queue wakes a worker blocked on a full one at once, instead
        of at its next 0.1 s check; an interrupted statement returns sooner. A
        worker stopped while another still takes from it would leave that one
        waiting forever: PredictStream.close stops the scorer before its reader.
        """
        self._stopped.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._finished.wait(timeout=5)
