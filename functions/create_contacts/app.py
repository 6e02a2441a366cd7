"""Collections run, per batch: create the contacts the decisions call for and record collection state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.create_contacts import create_contacts_batch
from dunning.app.deps import create_contacts_deps
from dunning.app.run_models import BatchInput
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import CreateContactsSettings


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=BatchInput)
def handler(event: BatchInput, context: LambdaContext) -> dict[str, Any]:
    settings = CreateContactsSettings.from_env()
    logger.append_keys(run_id=event.run_id, batch=event.batch)
    result = create_contacts_batch(event, create_contacts_deps(settings)).model_dump(mode="json")
    logger.info("contacts created", extra=result)
    metrics.add_metric(name="ContactsCreated", unit=MetricUnit.Count, value=result["contacts_created"])
    metrics.add_metric(name="AccountsSetAside", unit=MetricUnit.Count, value=result["set_aside"])
    return result
