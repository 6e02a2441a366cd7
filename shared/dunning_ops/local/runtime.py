"""In-process Lambda runtime for the embedded stack.

moto normally runs a function in Docker. Here every invocation that reaches moto's Lambda backend
(direct ``Invoke``, Step Functions tasks, and the event-source pollers in :mod:`dunning_ops.local.pollers`)
imports the real handler from the function's ``CodeUri`` folder and calls it with the function's own
environment, exactly as configured by the template. Invocations run one at a time (the process
environment is per-function), which also makes local runs deterministic.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from dunning_ops.local.translate import FunctionSource


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class InvocationRecord:
    function_name: str
    duration_ms: float
    errored: bool


class _ThreadEnviron(MutableMapping[str, str]):
    """``os.environ`` with a per-thread overlay: each in-process invocation sees its own function's
    environment, as it would in its own Lambda sandbox, while other threads see the process environment."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base
        self._local = threading.local()

    @property
    def overlay(self) -> dict[str, str] | None:
        return getattr(self._local, "overlay", None)

    @overlay.setter
    def overlay(self, value: dict[str, str] | None) -> None:
        self._local.overlay = value

    def __getitem__(self, key: str) -> str:
        ov = self.overlay
        if ov is not None and key in ov:
            return ov[key]
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        ov = self.overlay
        if ov is not None:
            ov[key] = value
        else:
            self.base[key] = value

    def __delitem__(self, key: str) -> None:
        ov = self.overlay
        if ov is not None and key in ov:
            del ov[key]
        else:
            del self.base[key]

    def __iter__(self) -> Iterator[str]:
        ov = self.overlay
        keys = dict.fromkeys(self.base)
        if ov:
            keys.update(dict.fromkeys(ov))
        return iter(list(keys))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)


class _ThreadStdout(io.TextIOBase):
    """``sys.stdout`` that sends what an invocation prints (EMF metrics, logs) to that invocation's sink."""

    def __init__(self, real: TextIO | None = None) -> None:
        self.real = real
        self._local = threading.local()

    def target(self) -> TextIO:
        stream: TextIO = getattr(self._local, "sink", None) or self.real or sys.__stdout__ or sys.stderr
        return stream

    def set_sink(self, sink: TextIO | None) -> None:
        self._local.sink = sink

    def write(self, text: str) -> int:
        return self.target().write(text)

    def flush(self) -> None:
        self.target().flush()

    def __getattr__(self, name: str) -> Any:  # getvalue(), buffer, encoding... of the stream behind it
        return getattr(self.target(), name)


_environ: _ThreadEnviron | None = None
_stdout: _ThreadStdout | None = None
_install_lock = threading.Lock()


def _thread_aware_process(capture_stdout: bool) -> tuple[_ThreadEnviron, _ThreadStdout]:
    global _environ, _stdout
    with _install_lock:
        if _environ is None:
            _environ = _ThreadEnviron(os.environ)
            os.environ = _environ  # type: ignore[assignment]  # noqa: B003 - a view over the same environment
        if _stdout is None:
            _stdout = _ThreadStdout()
        if capture_stdout:
            _route_stdout(_stdout)
        _route_logs(_stdout)
    return _environ, _stdout


def _route_stdout(proxy: _ThreadStdout) -> None:
    """Put the proxy in front of whatever ``sys.stdout`` is now (test runners swap it between tests)."""
    if sys.stdout is not proxy:
        proxy.real = sys.stdout
        sys.stdout = proxy


def _route_logs(proxy: _ThreadStdout) -> None:
    """Point the service loggers' stream handlers at the per-thread stream, so each invocation's log lines
    go to the runtime's log sink."""
    for name in ("dunning",):  # the Powertools service logger; other loggers belong to their owners
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is not proxy and \
                    getattr(handler.stream, "name", "") != "<stderr>":
                handler.setStream(proxy)


class InProcessRuntime:
    def __init__(self, base_env: dict[str, str], log_sink: TextIO | None = None,
                 capture_stdout: bool = False) -> None:
        self._sources: dict[str, FunctionSource] = {}  # code zip key -> source
        self._modules: dict[str, ModuleType] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._registry_lock = threading.Lock()
        self._base_env = base_env
        self._log_sink = log_sink
        self.invocations: list[InvocationRecord] = []
        self.hooks: list[Callable[[str, dict[str, Any]], None]] = []
        self._capture_stdout = capture_stdout
        self._environ, self._stdout = _thread_aware_process(capture_stdout)

    def register(self, sources: dict[str, FunctionSource]) -> None:
        self._sources.update(sources)

    def source_for(self, code: dict[str, Any]) -> FunctionSource | None:
        return self._sources.get(code.get("S3Key", ""))

    def _load(self, source: FunctionSource) -> Callable[[Any, Any], Any]:
        module_file, func_name = source.handler.rsplit(".", 1)
        key = f"{source.logical_id}:{module_file}"
        module = self._modules.get(key)
        if module is None:
            path = source.code_dir / (module_file.replace(".", "/") + ".py")
            name = f"dunning_fn_{source.logical_id}_{module_file.replace('.', '_')}"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load handler module {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            self._modules[key] = module
        handler: Callable[[Any, Any], Any] = getattr(module, func_name)
        return handler

    def _function_lock(self, name: str) -> threading.Lock:
        with self._registry_lock:
            return self._locks.setdefault(name, threading.Lock())

    def invoke(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        """Run the handler of moto LambdaFunction ``fn``; returns (payload, errored, logs) like moto's Docker path.

        Different functions run concurrently; one function runs one invocation at a time (one warm sandbox),
        so module-level state in a handler behaves as on Lambda.
        """
        source = self.source_for(fn.code)
        if source is None:
            return json.dumps({"errorMessage": f"no local source for {fn.function_name}"}), True, ""
        if isinstance(event, str | bytes):
            event = json.loads(event) if event else {}
        with self._function_lock(fn.function_name):
            for hook in self.hooks:
                hook(fn.function_name, event)
            context = LambdaContext(
                function_name=fn.function_name,
                invoked_function_arn=fn.function_arn,
                memory_limit_in_mb=int(fn.memory_size),
                timeout_seconds=int(fn.timeout),
                log_group_name=f"/aws/lambda/{fn.function_name}",
                _deadline=time.monotonic() + int(fn.timeout),
            )
            env = {
                **self._base_env,
                **{k: str(v) for k, v in (fn.environment_vars or {}).items()},
                "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                "_HANDLER": source.handler,
            }
            buffer = io.StringIO()
            started = time.perf_counter()
            errored = False
            self._environ.overlay = env
            with _install_lock:
                if self._capture_stdout:
                    _route_stdout(self._stdout)
                _route_logs(self._stdout)
            self._stdout.set_sink(self._log_sink or buffer)
            try:
                handler = self._load(source)
                result = handler(event, context)
                payload = json.dumps(result, default=str)
            except Exception as exc:
                errored = True
                payload = json.dumps(
                    {
                        "errorType": type(exc).__name__,
                        "errorMessage": str(exc),
                        "stackTrace": traceback.format_exception(exc)[-5:],
                    }
                )
                self._stdout.write(f"[local runtime] {fn.function_name} failed: {type(exc).__name__}: {exc}\n")
            finally:
                self._environ.overlay = None
                self._stdout.set_sink(None)
            self.invocations.append(
                InvocationRecord(fn.function_name, (time.perf_counter() - started) * 1000, errored)
            )
            return payload, errored, buffer.getvalue()


def install(runtime: InProcessRuntime) -> None:
    """Route moto's Lambda execution to ``runtime`` (replaces the Docker path)."""
    from moto.awslambda.models import LambdaFunction

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        return runtime.invoke(self, event)

    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]


def zip_folder(folder: Path) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(folder))
    return buf.getvalue()
