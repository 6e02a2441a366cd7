"""Collections run, per batch: evaluate each account's due step and record the process history."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import evaluate_deps
from dunning.app.evaluate import evaluate_batch
from dunning.app.run_models import BatchInput
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import EvaluateSettings


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=BatchInput)
def handler(event: BatchInput, context: LambdaContext) -> dict[str, Any]:
    settings = EvaluateSettings.from_env()
    logger.append_keys(run_id=event.run_id, batch=event.batch)
    result = evaluate_batch(event, evaluate_deps(settings), settings.history_retention_days)
    logger.info("batch evaluated", extra={"evaluated": result.evaluated, "outcomes": result.outcomes})
    metrics.add_metric(name="AccountsEvaluated", unit=MetricUnit.Count, value=result.evaluated)
    return result.model_dump(mode="json")
