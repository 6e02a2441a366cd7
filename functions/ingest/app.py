"""Upstream events from SQS: validate, reject the invalid (with reasons), apply the rest in bulk."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import ingestor
from dunning.app.ingest import describe
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import IngestSettings

processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = ingestor(IngestSettings.from_env())

    def record_handler(record: SQSRecord) -> None:
        batch.stage(record.message_id, record.body)

    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    result = batch.flush()
    failures = response.get("batchItemFailures", []) + [
        {"itemIdentifier": mid} for mid in sorted(result.failed_message_ids)
    ]
    logger.info("batch ingested", extra=describe(result))
    metrics.add_metric(name="EventsApplied", unit=MetricUnit.Count, value=result.applied)
    metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=result.rejected)
    return {"batchItemFailures": failures}
