"""botocore event hooks for the embedded stack: know which function a call comes from, record it, fault it.

Handlers run in-process (see :mod:`dunning_ops.local.runtime`): every invocation runs in the moto server's
request thread, so a thread-local set around ``runtime.invoke`` tells which function a boto call is made
for (a context variable carries it into threads a handler starts with its context, e.g. assign's parallel
Scan). Step Functions' own Lambda invokes come from moto's executor thread with the state machine's fixed
credentials (access key ``ak``); the test harness, the CLI and the local pollers are neither, and are never
recorded or faulted.

Every botocore client created while the hooks are installed gets four handlers on its event system:

* ``before-parameter-build`` (once per API call): opens a :class:`Call` with the API parameters;
* ``before-send`` (once per HTTP attempt): may return a fault response or raise a timeout instead;
* ``after-call`` / ``after-call-error``: closes the call, successful or not.

An S3 client's presigning methods are wrapped too (they send nothing): a presigned POST is recorded as the
PutObject it authorises (botocore emits no event for it).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session

SFN = "StepFunctions"  # the "function" of Step Functions' own Lambda invokes


@dataclass
class Call:
    function: str  # logical id of the function the call is made for, or SFN
    service: str  # botocore service id, hyphenized: dynamodb, s3, sesv2, lambda
    operation: str
    params: dict[str, Any]
    attempts: int = 0
    faults: list[str] = field(default_factory=list)
    ok: bool | None = None


class Listener:
    """Override what you need."""

    def on_call(self, call: Call) -> None: ...

    def on_attempt(self, call: Call, request: Any) -> Any:
        """Return an AWSResponse, raise, or return None to let the request through."""
        return None

    def on_done(self, call: Call) -> None: ...


# The function a call is made for, also in worker threads a handler starts under its context
# (e.g. assign's parallel Scan segments run with contextvars.copy_context()).
_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar("dunning_function", default=None)


class _Scope(threading.local):
    function: str | None = None
    presigning: bool = False  # inside a presigned POST (its URL is built as a request that is never sent)
    calls: list[Call]

    def __init__(self) -> None:
        self.calls = []


class Hooks:
    """Installs the handlers on every new botocore client; attach a stack to know its functions."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.invocations: list[dict[str, Any]] = []  # (function, event, payload, errored) of every handler run
        self._scope = _Scope()
        self._original_create_client: Callable[..., Any] | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ install
    def install(self) -> Hooks:
        if self._original_create_client is not None:
            return self
        original = botocore.session.Session.create_client
        hooks = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            hooks.register(client)
            return client

        self._original_create_client = original
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        from dunning import aws

        aws._client.cache_clear()  # the functions' cached clients are re-created with the hooks
        return self

    def uninstall(self) -> None:
        if self._original_create_client is not None:
            botocore.session.Session.create_client = self._original_create_client  # type: ignore[method-assign]
            self._original_create_client = None
            from dunning import aws

            aws._client.cache_clear()

    def register(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-parameter-build", self._before_parameter_build)
        events.register("before-send", self._before_send)
        events.register("after-call", self._after_call)
        events.register("after-call-error", self._after_call_error)
        if client.meta.service_model.service_name == "s3":
            self._wrap_presigning(client)

    def _wrap_presigning(self, s3: Any) -> None:
        """Presigning sends no request. A presigned POST is an upload signed with the function's role (a PutObject
        need), but botocore only builds its URL, as a CreateBucket request: that one is not recorded, a PutObject
        call is opened and closed as the handlers do. A presigned URL emits the operation's own
        ``before-parameter-build`` (a GetObject need) and never an ``after-call``: its call is closed here."""
        hooks = self
        post, url = s3.generate_presigned_post, s3.generate_presigned_url

        def generate_presigned_post(Bucket: str, Key: str, *args: Any, **kwargs: Any) -> Any:
            hooks._before_parameter_build({"Bucket": Bucket, "Key": Key}, "before-parameter-build.s3.PutObject")
            ok = False
            hooks._scope.presigning = True  # botocore builds the form's URL as a CreateBucket request: not a need
            try:
                answer = post(Bucket, Key, *args, **kwargs)
                ok = True
                return answer
            finally:
                hooks._scope.presigning = False
                hooks._finish("presign.s3.PutObject", ok=ok)

        def generate_presigned_url(*args: Any, **kwargs: Any) -> Any:
            depth = len(hooks._scope.calls)
            try:
                return url(*args, **kwargs)
            finally:
                del hooks._scope.calls[depth:]

        s3.generate_presigned_post = generate_presigned_post
        s3.generate_presigned_url = generate_presigned_url

    def attach(self, stack: Any) -> None:
        """Know which function each invocation runs (wraps the in-process runtime's ``invoke``)."""
        logical = {physical: logical for logical, physical in stack.resources.items()}
        runtime = stack.runtime
        original = runtime.invoke
        scope = self._scope
        hooks = self

        def invoke(fn: Any, event: Any) -> tuple[str, bool, str]:
            # Each function has its own sandboxes on Lambda; in-process they share module state. The published
            # configuration is cached per sandbox: forget it, so every function reads it as on Lambda.
            from dunning.store import blobs, secrets

            blobs._config_cache.clear()
            secrets.clear_cache()  # ... and the signing key, which each function reads from Secrets Manager
            previous = scope.function
            scope.function = logical.get(fn.function_name, fn.function_name)
            token = _FUNCTION.set(scope.function)
            try:
                payload, errored, logs = original(fn, event)
            finally:
                _FUNCTION.reset(token)
                name, scope.function = scope.function, previous
            with hooks._lock:
                hooks.invocations.append({"function": name, "event": event, "payload": payload, "errored": errored})
            return payload, errored, logs

        runtime.invoke = invoke

    @contextlib.contextmanager
    def listening(self, *listeners: Listener) -> Iterator[None]:
        self.listeners.extend(listeners)
        try:
            yield
        finally:
            for listener in listeners:
                self.listeners.remove(listener)

    # ------------------------------------------------------------------ botocore handlers
    def _service_operation(self, event_name: str) -> tuple[str, str]:
        parts = event_name.split(".")
        return parts[1], parts[2] if len(parts) > 2 else ""

    def _before_parameter_build(self, params: dict[str, Any], event_name: str, **_: Any) -> None:
        if self._scope.presigning:
            return
        service, operation = self._service_operation(event_name)
        function = self._scope.function or _FUNCTION.get()
        if function is None and (service, operation) != ("lambda", "Invoke"):
            return
        call = Call(function or "?", service, operation, dict(params))
        self._scope.calls.append(call)
        if function is not None:
            for listener in list(self.listeners):
                listener.on_call(call)

    def _current(self, service: str, operation: str) -> Call | None:
        calls = self._scope.calls
        if calls and (calls[-1].service, calls[-1].operation) == (service, operation):
            return calls[-1]
        return None

    def _before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        service, operation = self._service_operation(event_name)
        call = self._current(service, operation)
        if call is None:
            return None
        if call.function == "?":
            auth = str(request.headers.get("Authorization", b""))
            if "Credential=ak/" not in auth:  # not Step Functions (the pollers, the harness): leave it alone
                return None
            call.function = SFN
            for listener in list(self.listeners):
                listener.on_call(call)
        call.attempts += 1
        for listener in list(self.listeners):
            response = listener.on_attempt(call, request)
            if response is not None:
                return response
        return None

    def _finish(self, event_name: str, ok: bool) -> None:
        service, operation = self._service_operation(event_name)
        call = self._current(service, operation)
        if call is None:
            return
        self._scope.calls.pop()
        call.ok = ok
        if call.function != "?":
            for listener in list(self.listeners):
                listener.on_done(call)

    def _after_call(self, http_response: Any, event_name: str, **_: Any) -> None:
        self._finish(event_name, ok=http_response.status_code < 300)

    def _after_call_error(self, event_name: str, **_: Any) -> None:
        self._finish(event_name, ok=False)
