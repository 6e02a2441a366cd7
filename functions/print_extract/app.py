"""Collections run, last steps: once the run's letters are rendered, plan the print extract's shards (each
built by print_extract_shard); on the failure paths, put the run's unprinted letters in the print queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.print_extract import ExtractDeps, ExtractOptions, PrintExtractInput, print_extract_step
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import Settings


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=PrintExtractInput)
def handler(event: PrintExtractInput, context: LambdaContext) -> dict[str, Any]:
    settings = Settings.from_env()
    logger.append_keys(run_id=event.run_id)
    # poll inside this invocation for most of its time budget, keeping two minutes for the plan itself
    poll_for = min(settings.print_extract_poll_seconds, max(0.0, context.get_remaining_time_in_millis() / 1000 - 120))
    options = ExtractOptions(max_attempts=settings.print_extract_max_attempts,
                             wait_seconds=settings.print_extract_wait_seconds, poll_for=poll_for,
                             shard_size=settings.print_extract_shard_size,
                             concurrency=settings.print_extract_concurrency)
    result = print_extract_step(event, ExtractDeps.from_settings(settings), options)
    logger.info("print extract", extra={k: v for k, v in result.items() if k != "shards"})
    metrics.add_metric(name="LettersPlanned", unit=MetricUnit.Count, value=result.get("letters", 0))
    return result
