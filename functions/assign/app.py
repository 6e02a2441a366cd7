"""Collections run, step 1: take the run lock, assign accounts to strategies, write the batch manifest."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.assign import start_run
from dunning.app.deps import assign_deps
from dunning.app.run_models import StartRunInput
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import AssignSettings


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=StartRunInput)
def handler(event: StartRunInput, context: LambdaContext) -> dict[str, Any]:
    settings = AssignSettings.from_env()
    result = start_run(event, assign_deps(settings), settings.batch_size)
    logger.append_keys(run_id=result.run_id, as_of=result.as_of.isoformat())
    logger.info("run started", extra={"batches": result.batch_count, "accounts": result.accounts})
    metrics.add_metric(name="AccountsAssigned", unit=MetricUnit.Count, value=result.accounts)
    return result.model_dump(mode="json")
