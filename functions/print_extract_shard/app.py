"""Collections run, print extract: one shard of the plan (one Map iteration) - fetch its letters' PDFs
concurrently, merge them with a CSV manifest for the print vendor, mark the letters printed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import print_shard_deps
from dunning.app.print_extract import ShardInput, build_planned_shard
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import PrintExtractShardSettings


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ShardInput)
def handler(event: ShardInput, context: LambdaContext) -> dict[str, Any]:
    settings = PrintExtractShardSettings.from_env()
    logger.append_keys(run_id=event.run_id, language=event.language, shard=event.shard)
    result = build_planned_shard(event, print_shard_deps(settings))
    metrics.add_metric(name="LettersExtracted", unit=MetricUnit.Count, value=result.letters)
    return result.model_dump(mode="json")
