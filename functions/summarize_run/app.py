"""Collections run, last step: add up the batches, write the run summary, release the run lock."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import summarize_deps
from dunning.app.run_models import SummarizeInput
from dunning.app.summarize import summarize_run
from dunning.observability import logger, metrics, tracer
from dunning.settings import SummarizeSettings


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=SummarizeInput)
def handler(event: SummarizeInput, context: LambdaContext) -> dict[str, Any]:
    settings = SummarizeSettings.from_env()
    logger.append_keys(run_id=event.run_id)
    summary = summarize_run(event, summarize_deps(settings))
    logger.info("run finished", extra=summary.model_dump(include={"status", "batches_done", "contacts_created"}))
    return summary.model_dump(mode="json")
