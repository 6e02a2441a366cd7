"""Collections run, step 1: take the run lock and write the batch manifest - in one invocation (a direct invoke,
``events/assign.json``), or fanned out over the ledger's Scan segments by the state machine (``action``: ``begin``,
then one ``segment`` per Map iteration, then ``manifest``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.assign import (
    ManifestInput,
    SegmentInput,
    assign_segment,
    begin_run,
    finish_manifest,
    start_run,
)
from dunning.app.deps import assign_deps
from dunning.app.run_models import StartRunInput
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import AssignSettings


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = AssignSettings.from_env()
    deps = assign_deps(settings)
    action = event.get("action")
    if action == "begin":
        plan = begin_run(parse(event=event, model=StartRunInput), deps,
                         segment_items=settings.assign_segment_items, concurrency=settings.assign_concurrency)
        logger.append_keys(run_id=plan.run_id, as_of=plan.as_of.isoformat())
        logger.info("run started", extra={"segments": len(plan.segments), "ledger_items": plan.ledger_items})
        return plan.model_dump(mode="json")
    if action == "segment":
        segment = parse(event=event, model=SegmentInput)
        logger.append_keys(run_id=segment.run_id, segment=segment.segment)
        part = assign_segment(segment, deps, settings.batch_size)
        logger.info("segment scanned", extra={"batches": len(part.batches), "accounts": part.accounts})
        return part.model_dump(mode="json")
    if action == "manifest":
        result = finish_manifest(parse(event=event, model=ManifestInput), deps)
    else:
        result = start_run(parse(event=event, model=StartRunInput), deps, settings.batch_size)
    logger.append_keys(run_id=result.run_id, as_of=result.as_of.isoformat())
    logger.info("manifest written", extra={"batches": result.batch_count, "accounts": result.accounts})
    metrics.add_metric(name="AccountsAssigned", unit=MetricUnit.Count, value=result.accounts)
    return result.model_dump(mode="json")
