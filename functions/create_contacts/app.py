"""Collections run, per batch: create the contacts the decisions call for and record collection state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import run_deps
from dunning.app.run import BatchInput, create_contacts_batch
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import Settings


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=BatchInput)
def handler(event: BatchInput, context: LambdaContext) -> dict[str, Any]:
    settings = Settings.from_env()
    logger.append_keys(run_id=event.run_id, batch=event.batch)
    result = create_contacts_batch(event, run_deps(settings))
    logger.info("contacts created", extra=result)
    metrics.add_metric(name="ContactsCreated", unit=MetricUnit.Count, value=result["contacts_created"])
    return result
