"""Logger, Tracer and Metrics: created once, configured by the template's POWERTOOLS_* variables.

The defaults below only apply where those variables are absent (a process that imported this module
before any function environment existed, such as the embedded stack's test process); on Lambda the
template's Globals always set them.

Log lines carry ids (account, contact, invoice, event), never names, emails, phones or addresses.

Tracing: every function runs with Lambda active tracing (the template's ``Tracing: Active``), so Lambda records
each invocation's segment (initialisation included) and Step Functions links a run's segments, with no SDK in the
function. The X-Ray SDK (Powertools ``Tracer``: a subsegment per AWS call) is not imported by default: importing
it costs about as much as importing boto3 itself, on every cold start. Set ``DUNNING_XRAY_SDK=true`` on a function
to get the SDK's subsegments too; it then loads on that container's first invocation, not at import.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = os.getenv("POWERTOOLS_SERVICE_NAME") or "dunning"
NAMESPACE = os.getenv("POWERTOOLS_METRICS_NAMESPACE") or "Dunning"

Handler = TypeVar("Handler", bound=Callable[..., Any])


def xray_sdk_enabled() -> bool:
    """Whether the X-Ray SDK adds its subsegments (``DUNNING_XRAY_SDK=true``, and Powertools tracing not
    disabled)."""
    return (os.getenv("DUNNING_XRAY_SDK", "").lower() == "true"
            and os.getenv("POWERTOOLS_TRACE_DISABLED", "").lower() != "true")


class LambdaTracer:
    """``@tracer.capture_lambda_handler`` without the SDK at import: Lambda's active tracing records the
    invocation; with :func:`xray_sdk_enabled` the handler is wrapped by Powertools' ``Tracer`` on its first
    call (the SDK imported then, once per container)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._tracer: Any = None

    def sdk(self) -> Any:
        """Powertools' Tracer (imports the X-Ray SDK)."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=self.service)
        return self._tracer

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        wrapped: list[Callable[..., Any]] = []

        @functools.wraps(handler)
        def traced(event: Any, context: Any) -> Any:
            if not wrapped:
                wrapped.append(self.sdk().capture_lambda_handler(handler) if xray_sdk_enabled() else handler)
            return wrapped[0](event, context)

        return traced  # type: ignore[return-value]


logger = Logger(service=SERVICE)
tracer = LambdaTracer(SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)



def count_by(name: str, dimension: str, counts: Mapping[str, int]) -> None:
    """One count metric per value of ``dimension`` (``Letters`` by ``status``, say). Each is its own EMF record,
    written at once, so the dimension never reaches the function's other metrics or its next invocation."""
    for value, count in sorted(counts.items()):
        with single_metric(name=name, unit=MetricUnit.Count, value=count, namespace=NAMESPACE,
                           default_dimensions={"service": SERVICE}) as metric:
            metric.add_dimension(name=dimension, value=value)


__all__ = ["LambdaTracer", "MetricUnit", "count_by", "logger", "metrics", "tracer", "xray_sdk_enabled"]
