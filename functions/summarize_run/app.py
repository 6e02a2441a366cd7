"""Collections run, last step: add up the batches, write the run summary, release the run lock."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import run_deps
from dunning.app.run import SummarizeInput, summarize_run
from dunning.observability import logger, metrics, tracer
from dunning.settings import Settings


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=SummarizeInput)
def handler(event: SummarizeInput, context: LambdaContext) -> dict[str, Any]:
    settings = Settings.from_env()
    logger.append_keys(run_id=event.run_id)
    summary = summarize_run(event, run_deps(settings))
    logger.info("run finished", extra={k: summary.get(k) for k in ("status", "batches_done", "contacts_created")})
    return summary
