"""Collections run, last steps: once the run's letters are rendered, plan the print extract's shards (each
built by print_extract_shard); on the failure paths, put the run's unprinted letters in the print queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import print_extract_deps, print_extract_options
from dunning.app.print_extract import ExtractPlan, PrintExtractInput, print_extract_step
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import PrintExtractSettings


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=PrintExtractInput)
def handler(event: PrintExtractInput, context: LambdaContext) -> dict[str, Any]:
    settings = PrintExtractSettings.from_env()
    logger.append_keys(run_id=event.run_id)
    # poll inside this invocation for most of its time budget, keeping two minutes for the plan itself
    poll_for = min(settings.print_extract_poll_seconds, max(0.0, context.get_remaining_time_in_millis() / 1000 - 120))
    result = print_extract_step(event, print_extract_deps(settings), print_extract_options(settings, poll_for))
    logger.info("print extract", extra=result.model_dump(mode="json", exclude={"shards"}))
    metrics.add_metric(name="LettersPlanned", unit=MetricUnit.Count,
                       value=result.letters if isinstance(result, ExtractPlan) else 0)
    return result.model_dump(mode="json")
