"""Seeded fault injection into the AWS calls of the functions and of Step Functions' Lambda invokes.

A :class:`FaultInjector` is a :class:`~tests.support.hooks.Listener`: on each HTTP attempt of a call it
is allowed to touch, it draws from a generator seeded with ``seed`` and the attempt's place in its
function's sequence of calls and, with probability ``rate``, answers the attempt itself instead of the
local AWS:

* ``throttle`` - the service's throttling error (DynamoDB ``ThrottlingException``, S3 503 ``SlowDown``,
  SES / Lambda 429 ``TooManyRequestsException``);
* ``5xx`` - an internal error (DynamoDB / S3 500 ``InternalError``, SES 500, Lambda 500 ``ServiceException``);
* ``timeout`` - the request never reaches the service: the client gets ``ConnectTimeoutError``. For Step
  Functions' Lambda invokes the service reports a client-side timeout as ``Lambda.SdkClientException``,
  and that is what the state machine sees.

The request is never applied when a fault is injected, as for a throttled or refused request; the code's
retries (botocore standard mode: backoff with jitter) and the state machine's ``Retry`` must then make the
outcome identical to a fault-free run. :class:`PermanentSesRejection` and :class:`Outage` model the
non-transient cases.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError

from tests.support.hooks import SFN, Call, Listener

KINDS = ("throttle", "5xx", "timeout")
FAULTABLE_SERVICES = frozenset({"dynamodb", "s3", "sesv2", "lambda"})


class _Raw:
    """The raw body botocore reads from an HTTP response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def error_response(request: Any, service: str, kind: str, code: str | None = None,
                   message: str = "injected fault") -> AWSResponse:
    """The HTTP response a service sends for ``kind`` (or for the explicit error ``code``)."""
    if service == "dynamodb":
        status, code = {"throttle": (400, "ThrottlingException"), "5xx": (500, "InternalServerError")}[kind] \
            if code is None else (400, code)
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    elif service == "s3":
        status, code = {"throttle": (503, "SlowDown"), "5xx": (500, "InternalError")}[kind] \
            if code is None else (400, code)
        body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message>"
                "<RequestId>injected</RequestId></Error>").encode()
        headers = {"Content-Type": "application/xml", "x-amz-request-id": "injected"}
    else:  # rest-json: sesv2, lambda
        if code is None:
            status, code = {
                ("sesv2", "throttle"): (429, "TooManyRequestsException"),
                ("sesv2", "5xx"): (500, "InternalFailure"),
                ("lambda", "throttle"): (429, "TooManyRequestsException"),
                ("lambda", "5xx"): (500, "ServiceException"),
                ("lambda", "timeout"): (500, "SdkClientException"),
            }[(service, kind)]
        else:
            status = 400
        body = json.dumps({"message": message, "Type": "Service" if status >= 500 else "User"}).encode()
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": f"{code}:", "x-amzn-RequestId": "injected"}
    return AWSResponse(request.url, status, headers, _Raw(body))


@dataclass
class FaultInjector(Listener):
    """Transient faults in about ``rate`` of the attempts of the calls ``eligible`` accepts."""

    seed: int
    rate: float = 0.10
    kinds: tuple[str, ...] = KINDS
    eligible: Callable[[Call], bool] = lambda call: call.service in FAULTABLE_SERVICES
    injected: Counter[str] = field(default_factory=Counter)  # "service:kind"
    by_function: Counter[str] = field(default_factory=Counter)
    survived_by_client_retry: int = 0  # the same API call succeeded on a later attempt
    surfaced: Counter[str] = field(default_factory=Counter)  # calls that failed with a fault: the code saw it
    sfn_faults: int = 0  # faults on Step Functions' invokes: survived only through the ASL Retry
    attempts_seen: int = 0
    first_attempt_of: frozenset[str] = frozenset({"sesv2", "lambda"})  # also fault the first attempt (rare calls)

    def __post_init__(self) -> None:
        self._attempt_numbers: Counter[str] = Counter()
        self._firsts_done: set[str] = set()

    def _draw(self, call: Call) -> random.Random:
        """A generator for this attempt, from the seed and the attempt's place in its function's own sequence
        (functions run concurrently; each one's calls are sequential): the same faults on every run."""
        stream = f"{call.function}:{call.service}:{call.operation}"
        self._attempt_numbers[stream] += 1
        return random.Random(f"{self.seed}:{stream}:{self._attempt_numbers[stream]}")

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def on_attempt(self, call: Call, request: Any) -> Any:
        if not self.eligible(call):
            return None
        self.attempts_seen += 1
        rng = self._draw(call)
        first = call.service in self.first_attempt_of and call.service not in self._firsts_done
        self._firsts_done.add(call.service)
        if rng.random() >= self.rate and not first:
            return None
        kind = rng.choice(self.kinds)
        self.injected[f"{call.service}:{kind}"] += 1
        self.by_function[call.function] += 1
        call.faults.append(kind)
        if call.function == SFN:
            self.sfn_faults += 1
            return error_response(request, call.service, kind)
        if kind == "timeout":
            raise ConnectTimeoutError(endpoint_url=request.url)
        return error_response(request, call.service, kind)

    def on_done(self, call: Call) -> None:
        if not call.faults or call.function == SFN:
            return
        if call.ok:
            self.survived_by_client_retry += len(call.faults)
        else:
            self.surfaced[f"{call.function}:{call.service}.{call.operation}"] += 1

    def figures(self) -> dict[str, Any]:
        return {"seed": self.seed, "rate": self.rate, "attempts_seen": self.attempts_seen,
                "faults_injected": self.total, "by_kind": dict(sorted(self.injected.items())),
                "by_function": dict(sorted(self.by_function.items())),
                "survived_by_client_retry": self.survived_by_client_retry,
                "on_step_functions_invokes": self.sfn_faults,
                "surfaced_to_code": dict(self.surfaced)}


@dataclass
class PermanentSesRejection(Listener):
    """SES refuses every email to ``addresses`` with ``MessageRejected`` (a permanent error)."""

    addresses: set[str]
    rejected: list[str] = field(default_factory=list)

    def on_attempt(self, call: Call, request: Any) -> Any:
        if (call.service, call.operation) != ("sesv2", "SendEmail"):
            return None
        to = set(call.params.get("Destination", {}).get("ToAddresses", []))
        raw = call.params.get("Content", {}).get("Raw", {}).get("Data", b"")
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        hit = next((a for a in self.addresses if a in to or f"<{a}>" in text or f"To: {a}" in text), None)
        if hit is None:
            return None
        self.rejected.append(hit)
        return error_response(request, "sesv2", "5xx", code="MessageRejected",
                              message=f"Email address is not verified: {hit}")


@dataclass
class Outage(Listener):
    """Every attempt of the calls ``match`` accepts fails (``kind``) until ``remaining`` attempts are used up
    (``None``: until switched off)."""

    match: Callable[[Call], bool]
    kind: str = "5xx"
    remaining: int | None = None
    failed_attempts: int = 0

    def on_attempt(self, call: Call, request: Any) -> Any:
        if not self.match(call) or self.remaining == 0:
            return None
        if self.remaining is not None:
            self.remaining -= 1
        self.failed_attempts += 1
        if self.kind == "timeout" and call.function != SFN:
            raise ConnectTimeoutError(endpoint_url=request.url)
        return error_response(request, call.service, self.kind)


@dataclass
class ResponseLost(Listener):
    """The request reaches the service and is applied, but its response is lost: the caller sees ``kind``
    (for Step Functions' Lambda invokes: the function ran, the state machine sees ``Lambda.ServiceException``)."""

    match: Callable[[Call], bool]
    remaining: int = 1
    kind: str = "5xx"
    applied: int = 0

    def on_attempt(self, call: Call, request: Any) -> Any:
        if not self.match(call) or self.remaining == 0:
            return None
        from botocore.httpsession import URLLib3Session

        self.remaining -= 1
        URLLib3Session(timeout=900).send(request)  # the service does the work...
        self.applied += 1
        return error_response(request, call.service, self.kind)  # ...and the caller never hears of it

