"""A workflow's HTTP step (the conversation state machine's Http task): the guarded call, classified
(:func:`dunning.outbound_http.run_http_step`). Retryable answers raise ``HttpRetryable`` while the step has
retries left, for the state machine's native Retry; a call that succeeded once is not made again by a retried
invocation: Powertools idempotency, keyed on the conversation, its run's ``seq`` and the step (not the attempt).
Logged: the step, the status, the outcome and the duration - never the URL, headers or body."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import http_step_deps, idempotency_store
from dunning.errors import HttpRetryable
from dunning.observability import count_by, logger, metrics, tracer
from dunning.outbound_http import HttpStepInput, run_http_step
from dunning.settings import ConversationHttpSettings

settings = ConversationHttpSettings.from_env()
deps = http_step_deps(settings)
idempotency = IdempotencyConfig(event_key_jmespath="[conversation_id, to_string(seq), call.step]",
                                expires_after_seconds=24 * 3600)


@idempotent_function(data_keyword_argument="step", config=idempotency,
                     persistence_store=idempotency_store(settings.idempotency_table))
def call(step: dict[str, Any]) -> dict[str, Any]:
    request = HttpStepInput.model_validate(step)
    try:
        output, report = run_http_step(deps, request)
    except HttpRetryable as exc:
        logger.info("http step will be retried", extra={"step": request.call.step, "attempt": request.attempt,
                                                        "reason": str(exc).rpartition(": ")[2]})
        count_by("WorkflowHttpCalls", "outcome", {"retried": 1})
        raise
    logger.info("http step", extra=asdict(report))
    count_by("WorkflowHttpCalls", "outcome", {report.outcome: 1})
    return output.model_dump(mode="json")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    request = parse(event=event, model=HttpStepInput)
    logger.append_keys(conversation_id=request.conversation_id)
    return call(step=request.model_dump(mode="json"))
