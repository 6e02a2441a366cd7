"""Measuring helpers: AWS call counting on the local stack, timing statistics, the machine description.

AWS calls are counted with a wrapper around ``botocore.client.BaseClient._make_api_call`` (every boto3 call
goes through it). Only calls made *for a function handler* count: the wrapper reads a ``contextvars`` variable
that :meth:`InProcessRuntime.invoke` (wrapped) sets for the invocation. The application's thread pools run their
tasks in a copy of the submitting context (``contextvars.copy_context().run``, see ``dunning.concurrency``), so a
call made on a pool thread for a handler is that handler's call; the test harness, the event-source pollers
(they stand in for the Lambda service) and Step Functions' own Lambda calls run outside any invocation's
context and are not counted.

CPU of an invocation = the handler thread's CPU plus the CPU of every task its pools ran (``submit`` is wrapped
while a counter is installed, timing each task's thread CPU and adding it to the invocation that submitted it),
so work on pool threads is counted whether or not the application copies its context. The whole process's CPU
over the run window is recorded too (handlers + moto + pollers + harness), as an upper bound.

Cross-check: an independent counter on botocore's ``before-call`` event (registered on every client created
while a counter is installed) sees every call in the process with its thread; calls on the invocation's own
thread or on pool threads started by an invocation must equal the attributed calls, per operation
(:func:`cross_check`). A difference means calls that a handler made but the attribution missed.
"""

from __future__ import annotations

import contextvars
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import botocore.client

from tests.benchmarks.ddbmeter import Meter, item_size

# ---------------------------------------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 200 samples is the 198th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def spread(values: Sequence[float]) -> float:
    """(max - min) / median: how noisy the rounds were."""
    if not values:
        return math.nan
    m = median(values)
    return (max(values) - min(values)) / m if m else math.nan


def reference_rate(seconds: float = 0.2) -> float:
    """A fixed pure-Python workload (dict/str/int churn), in loops per CPU second: the machine-speed yardstick
    measured in the same run as a benchmark, so that figures can also be read as ratios to it."""
    loops = 0
    start = time.process_time()
    while True:
        d: dict[str, int] = {}
        for i in range(200):
            d[str(i)] = i * i
        loops += sum(d.values()) > 0
        if loops % 50 == 0 and time.process_time() - start >= seconds:
            break
    return loops / (time.process_time() - start)


# ---------------------------------------------------------------------------------------------- machine


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    mem = "n/a"
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            mem = f"{int(fh.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = "n/a"
    with suppress(OSError):
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                timeout=5, check=False).stdout.strip() or "n/a"
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory": mem,
        "load_at_start": _load(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "commit": commit,
        "packages": {d: _version(d) for d in ("boto3", "botocore", "moto", "pydantic", "aws-lambda-powertools",
                                              "fpdf2", "uharfbuzz", "pypdf", "jinja2", "babel", "weasyprint")},
    }


# ---------------------------------------------------------------------------------------------- AWS calls


@dataclass
class Invocation:
    function: str  # logical id, e.g. RenderLetterFunction
    wall_ms: float
    cpu_ms: float  # CPU of the handler's thread + its pool tasks' threads (our code, botocore, parsing)
    records: int  # event records for event-source invocations, 0 for Step Functions tasks
    errored: bool
    in_bytes: int
    out_bytes: int
    log_bytes: int
    started: float
    pool_cpu_ms: float = 0.0  # of cpu_ms: the part spent on pool threads
    pool_tasks: int = 0
    render_cpu_ms: float = 0.0  # of cpu_ms: build_letter_context + render_letter (the render itself)
    renders: int = 0
    # of cpu_ms: opening a TCP connection per AWS call. moto's server (werkzeug) closes every connection after
    # its response, so each call connects again; on AWS botocore keeps its connections alive, so the cost model
    # uses cpu_ms - connect_cpu_ms
    connect_cpu_ms: float = 0.0


@dataclass
class Call:
    function: str
    service: str
    operation: str
    resource: str
    items: int = 0  # DynamoDB items written / keys read / items returned
    write_units: float = 0.0  # DynamoDB WRU of the base table (1 per started KB of the larger of before/after)
    index_write_units: float = 0.0  # DynamoDB WRU of the global secondary indexes the writes changed
    read_units: float = 0.0  # DynamoDB RRU (eventually consistent: 0.5 per started 4 KB)
    bytes_out: int = 0  # S3 PutObject body size; DynamoDB bytes written (PutItem / BatchWriteItem puts)
    max_item: int = 0  # largest DynamoDB item written / request items in one batch call


@dataclass
class _Invoking:
    """What the invocation running in this context accumulates: its pool tasks' CPU."""

    function: str
    thread: int
    pool_cpu_s: float = 0.0
    pool_tasks: int = 0
    render_cpu_s: float = 0.0  # of which: rendering letters (context + template + layout + PDF)
    renders: int = 0
    connect_cpu_s: float = 0.0  # of which: opening TCP connections to the local endpoint (see Invocation)
    logged_bytes: int = 0  # what this invocation logged through the Powertools logger
    lock: threading.Lock = field(default_factory=threading.Lock)


_current: contextvars.ContextVar[_Invoking | None] = contextvars.ContextVar("bench_invocation", default=None)
_counters: list[AwsCallCounter] = []
_original_make_api_call = botocore.client.BaseClient._make_api_call
_original_submit = ThreadPoolExecutor.submit
_metering = threading.local()
_pool_threads: dict[int, str] = {}  # thread ident -> function of the invocation whose pool task runs there
_invoking_threads: dict[int, str] = {}  # thread ident -> function being invoked on it


def current_function() -> str | None:
    inv = _current.get()
    return inv.function if inv is not None else None


def _timed_submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``ThreadPoolExecutor.submit`` while a counter is installed: the task's thread CPU goes to the invocation
    that submitted it (read here, in the submitting thread). The task itself runs as the caller passed it: the
    context it sees is the one the application gives it."""
    inv = _current.get()
    if inv is None:
        return _original_submit(self, fn, *args, **kwargs)

    def task() -> Any:
        ident = threading.get_ident()
        _pool_threads[ident] = inv.function
        t0 = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time() - t0
            _pool_threads.pop(ident, None)
            with inv.lock:
                inv.pool_cpu_s += spent
                inv.pool_tasks += 1

    return _original_submit(self, task)


# ------------------------------------------------------------------- independent count: botocore events


@dataclass
class EventCall:
    service: str
    operation: str
    thread: str  # "handler" (an invocation's own thread), "pool" (a pool task of an invocation), or the name
    function: str | None  # the invocation the thread worked for (from the thread registries, not the context)


_event_calls: list[EventCall] = []
_event_lock = threading.Lock()
_original_create_client = botocore.client.ClientCreator.create_client


def _on_before_call(model: Any = None, **_: Any) -> None:
    if not _counters:
        return
    ident = threading.get_ident()
    if getattr(_metering, "active", False):
        kind, fn = "meter", None
    elif ident in _invoking_threads:
        kind, fn = "handler", _invoking_threads[ident]
    elif ident in _pool_threads:
        kind, fn = "pool", _pool_threads[ident]
    else:
        kind, fn = threading.current_thread().name, None
    call = EventCall(model.service_model.service_name if model is not None else "?",
                     model.name if model is not None else "?", kind, fn)
    with _event_lock:
        _event_calls.append(call)


def _counting_create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
    client = _original_create_client(self, *args, **kwargs)
    client.meta.events.register("before-call", _on_before_call)
    return client


_meter = Meter()


def _patched_make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    function = current_function()
    body = api_params.get("Body") if operation_name == "PutObject" else None
    size = len(body) if isinstance(body, bytes | str) else 0  # measured before botocore wraps the body
    service = self.meta.service_model.service_name
    metered = function is not None and _counters and service == "dynamodb" and operation_name in Meter.WRITES
    if metered:  # the items before the write, read outside the count (see ddbmeter)
        def raw(op: str, params: dict[str, Any]) -> Any:
            _metering.active = True  # the meter's own reads: the event counter files them as the harness's
            try:
                return _original_make_api_call(self, op, params)
            finally:
                _metering.active = False

        planned = _meter.before(operation_name, api_params, raw)
    response = _original_make_api_call(self, operation_name, api_params)
    if function is not None:
        wru = _meter.after(operation_name, planned, raw) if metered else None
        for counter in list(_counters):
            counter.record(function, service, operation_name, api_params, response, size, wru)
    return response


def _av_size(item: dict[str, Any]) -> int:
    """DynamoDB item size (attribute names plus values, DynamoDB's rules; see ddbmeter)."""
    return item_size(item)


def _dynamo_units(operation: str, params: dict[str, Any], response: dict[str, Any]
                  ) -> tuple[int, float, float, int, int]:
    """(items, WRU, RRU, bytes written, largest item) of one DynamoDB call (base table only)."""
    items = 0
    wru = 0.0
    rru = 0.0
    written = 0
    largest = 0
    if operation == "BatchWriteItem":
        for reqs in params.get("RequestItems", {}).values():
            for r in reqs:
                items += 1
                size = _av_size(r["PutRequest"]["Item"]) if "PutRequest" in r else 100
                written += size
                largest = max(largest, size)
                wru += math.ceil(size / 1024)
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        items = 1
        size = _av_size(params.get("Item", {})) if operation == "PutItem" else 0
        written, largest = size, size
        wru += max(1, math.ceil(size / 1024))
    elif operation == "BatchGetItem":
        for resp_items in response.get("Responses", {}).values():
            for it in resp_items:
                items += 1
                rru += 0.5 * math.ceil(_av_size(it) / 4096)
        keys = sum(len(v.get("Keys", [])) for v in params.get("RequestItems", {}).values())
        rru += 0.5 * max(0, keys - items)  # keys not found still cost a read unit
    elif operation == "GetItem":
        items = 1
        rru += 0.5 if not params.get("ConsistentRead") else 1.0
    elif operation in ("Query", "Scan"):
        returned = response.get("Items", [])
        items = len(returned)
        scanned = response.get("ScannedCount", items)
        size = sum(_av_size(i) for i in returned)
        if scanned > items and items:  # filtered items were read too
            size = int(size * scanned / items)
        rru += 0.5 * max(1, math.ceil(size / 4096))
    return items, wru, rru, written, largest


class PerFunctionCache(dict):  # type: ignore[type-arg]
    """Stands in for ``dunning.store.blobs._config_cache`` so that each function keeps its own configuration
    cache, as each Lambda function has its own containers (in one process they would share one)."""

    def __init__(self) -> None:
        super().__init__()
        self.per_function: dict[str, dict[str, Any]] = {}

    def _mine(self) -> dict[str, Any]:
        return self.per_function.setdefault(current_function() or "", {})

    def get(self, key: str, default: Any = None) -> Any:
        return self._mine().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._mine()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._mine()[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._mine()

    def clear(self) -> None:
        self.per_function.clear()


class AwsCallCounter:
    """Counts AWS API calls made by handlers, and every handler invocation, on a local stack."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.physical_to_logical = {v: k for k, v in stack.resources.items()}
        for name, value in stack.outputs.items():
            self.physical_to_logical.setdefault(value, name.replace("Name", "").replace("Url", ""))
        self.calls: list[Call] = []
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._runtime_invoke: Callable[..., Any] | None = None
        self._saved_cache: Any = None
        self._saved_stream: Any = None
        self.logged: dict[str, int] = {}  # bytes logged through the Powertools logger, by function

    # -------------------------------------------------------------- install
    def install(self) -> AwsCallCounter:
        runtime = self.stack.runtime
        original = runtime.invoke
        self._runtime_invoke = original
        counter = self

        def invoke(fn: Any, event: Any) -> tuple[str, bool, str]:
            source = runtime.source_for(fn.code)
            logical = source.logical_id if source is not None else fn.function_name
            raw = event if isinstance(event, str | bytes) else json.dumps(event or {}, default=str)
            parsed = json.loads(raw) if isinstance(raw, str | bytes) and raw else {}
            records = len(parsed.get("Records", [])) if isinstance(parsed, dict) else 0
            ident = threading.get_ident()
            inv = _Invoking(logical, ident)
            token = _current.set(inv)
            previous = _invoking_threads.get(ident)
            _invoking_threads[ident] = logical
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            try:
                payload, errored, logs = original(fn, event)
            finally:
                cpu_s = time.thread_time() - cpu0
                _current.reset(token)
                if previous is None:
                    _invoking_threads.pop(ident, None)
                else:
                    _invoking_threads[ident] = previous
            # this invocation's own lines: a per-function delta would also count the invocations of the same
            # function running meanwhile on other threads
            with inv.lock:
                pool_s, tasks, logged = inv.pool_cpu_s, inv.pool_tasks, inv.logged_bytes
            with counter._lock:
                counter.invocations.append(Invocation(
                    logical, (time.perf_counter() - wall0) * 1000, (cpu_s + pool_s) * 1000, records,
                    errored, len(raw), len(payload), len(logs.encode()) + logged, wall0, pool_s * 1000, tasks,
                    inv.render_cpu_s * 1000, inv.renders, inv.connect_cpu_s * 1000))
            return payload, errored, logs

        runtime.invoke = invoke
        from dunning.store import blobs

        self._saved_cache = blobs._config_cache
        blobs._config_cache = PerFunctionCache()  # type: ignore[assignment]
        logged = self.logged
        emit = logging.StreamHandler.emit
        self._saved_stream = emit

        def counting_emit(handler: logging.StreamHandler, record: logging.LogRecord) -> None:  # type: ignore[type-arg]
            function = current_function()
            if function is not None:
                size = len(handler.format(record).encode()) + 1
                logged[function] = logged.get(function, 0) + size
                inv = _current.get()
                if inv is not None:
                    with inv.lock:
                        inv.logged_bytes += size
            emit(handler, record)

        logging.StreamHandler.emit = counting_emit  # type: ignore[method-assign]
        _counters.append(self)
        botocore.client.BaseClient._make_api_call = _patched_make_api_call
        ThreadPoolExecutor.submit = _timed_submit  # type: ignore[method-assign]
        self._saved_render = _time_renders() + _time_connects()
        botocore.client.ClientCreator.create_client = _counting_create_client  # type: ignore[method-assign]
        _register_existing_clients()
        return self

    def uninstall(self) -> None:
        if self in _counters:
            _counters.remove(self)
        if self._runtime_invoke is not None:
            from dunning.store import blobs

            self.stack.runtime.invoke = self._runtime_invoke
            self._runtime_invoke = None
            blobs._config_cache = self._saved_cache
            logging.StreamHandler.emit = self._saved_stream  # type: ignore[method-assign]
        if not _counters:
            botocore.client.BaseClient._make_api_call = _original_make_api_call
            ThreadPoolExecutor.submit = _original_submit  # type: ignore[method-assign]
            for module, name, fn in getattr(self, "_saved_render", []):
                setattr(module, name, fn)
            botocore.client.ClientCreator.create_client = _original_create_client  # type: ignore[method-assign]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.invocations.clear()

    # -------------------------------------------------------------- recording
    def _resource(self, params: dict[str, Any]) -> str:
        name = params.get("TableName") or params.get("Bucket") or params.get("QueueUrl") or ""
        if not name and params.get("RequestItems"):
            name = next(iter(params["RequestItems"]))
        if not name and params.get("FunctionName"):
            name = params["FunctionName"]
        return str(self.physical_to_logical.get(name, name))

    def record(self, function: str, service: str, operation: str, params: dict[str, Any],
               response: dict[str, Any], body_size: int = 0, metered: tuple[int, int] | None = None) -> None:
        call = Call(function, service, operation, self._resource(params))
        if service == "dynamodb":
            call.items, call.write_units, call.read_units, call.bytes_out, call.max_item = _dynamo_units(
                operation, params, response)
            if metered is not None:
                call.write_units, call.index_write_units = metered
        elif service == "s3" and operation == "PutObject":
            call.bytes_out = body_size
        with self._lock:
            self.calls.append(call)

    # -------------------------------------------------------------- views
    @contextmanager
    def window(self) -> Iterator[dict[str, Any]]:
        """Collect what happens inside the block: ``{"calls": [...], "invocations": [...], "events": [...],
        "process_cpu_s": ..., "wall_s": ...}`` (events: the independent botocore event count)."""
        out: dict[str, Any] = {}
        c0, i0, e0 = len(self.calls), len(self.invocations), len(_event_calls)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        yield out
        out["process_cpu_s"] = time.process_time() - cpu0
        out["wall_s"] = time.perf_counter() - wall0
        out["calls"] = self.calls[c0:]
        out["invocations"] = self.invocations[i0:]
        out["events"] = _event_calls[e0:]


def _time_renders() -> list[tuple[Any, str, Any]]:
    """Time the render itself inside the handlers (``build_letter_context`` + ``render_letter``, what the
    letters benchmark times alone): the letter delivery imports them at call time, so the module attributes
    are what it calls. Returns what to restore."""
    import dunning.letters.context as context_module
    import dunning.letters.render as render_module

    saved = []
    for module, name in ((context_module, "build_letter_context"), (render_module, "render_letter")):
        original = getattr(module, name)

        def timed(*args: Any, _original: Any = original, _count: bool = name == "render_letter", **kwargs: Any) -> Any:
            inv = _current.get()
            t0 = time.thread_time()
            try:
                return _original(*args, **kwargs)
            finally:
                if inv is not None:
                    with inv.lock:
                        inv.render_cpu_s += time.thread_time() - t0
                        inv.renders += _count

        saved.append((module, name, original))
        setattr(module, name, timed)
    return saved


def _time_connects() -> list[tuple[Any, str, Any]]:
    """Time the TCP connection setup of botocore's HTTP connections inside invocations."""
    import urllib3.connection

    original = urllib3.connection.HTTPConnection.connect

    def connect(self: Any) -> Any:
        inv = _current.get()
        t0 = time.thread_time()
        try:
            return original(self)
        finally:
            if inv is not None:
                with inv.lock:
                    inv.connect_cpu_s += time.thread_time() - t0

    urllib3.connection.HTTPConnection.connect = connect  # type: ignore[method-assign]
    return [(urllib3.connection.HTTPConnection, "connect", original)]


def _register_existing_clients() -> None:
    """Clients created before the counter was installed (the functions' cached clients) get the event too."""
    import gc

    for obj in gc.get_objects():
        if isinstance(obj, botocore.client.BaseClient):
            obj.meta.events.unregister("before-call", _on_before_call)
            obj.meta.events.register("before-call", _on_before_call)


def cross_check(calls: Sequence[Call], events: Sequence[EventCall]) -> list[dict[str, Any]]:
    """Per function and operation: attributed calls vs botocore ``before-call`` events on that function's
    invocation threads and pool threads. Rows with a difference are mismatches."""
    attributed = Counter((c.function, f"{c.service}.{c.operation}") for c in calls)
    seen = Counter((e.function, f"{e.service}.{e.operation}") for e in events if e.function is not None)
    rows = []
    for key in sorted(set(attributed) | set(seen), key=lambda k: (k[0] or "", k[1])):
        pool = sum(1 for e in events if e.function == key[0] and f"{e.service}.{e.operation}" == key[1]
                   and e.thread == "pool")
        rows.append({"function": key[0], "operation": key[1], "attributed": attributed[key], "events": seen[key],
                     "on_pool_threads": pool, "ok": attributed[key] == seen[key]})
    return rows


def other_threads(events: Sequence[EventCall]) -> Counter[tuple[str, str]]:
    """Calls outside every invocation (harness, pollers, Step Functions), by thread kind and operation."""
    return Counter((e.thread.split("-")[0].split(" ")[0] if e.thread else "?", f"{e.service}.{e.operation}")
                   for e in events if e.function is None)


def by_function_operation(calls: Sequence[Call]) -> Counter[tuple[str, str, str, str]]:
    return Counter((c.function, c.service, c.operation, c.resource) for c in calls)


@dataclass
class Timer:
    """Wall and CPU time of a block."""

    wall: float = 0.0
    cpu: float = 0.0
    _w: float = field(default=0.0, repr=False)
    _c: float = field(default=0.0, repr=False)

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._w
        self.cpu = time.process_time() - self._c
