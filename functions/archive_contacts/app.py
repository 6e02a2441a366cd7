"""Contacts DynamoDB's TTL deleted (past their retention): one gzip JSON-lines object per batch in S3."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.archive import ArchiveBatch
from dunning.app.deps import archive_blobs
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import ArchiveSettings

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = ArchiveSettings.from_env()
    batch = ArchiveBatch()

    def record_handler(record: DynamoDBRecord) -> None:
        batch.add(record.raw_event)  # an unreadable record is reported as a batch item failure

    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    # one PUT for the batch; if it fails the handler raises and the whole batch is delivered again
    result = batch.write(archive_blobs(settings.runs_bucket), event.get("Records", []))
    failures = response.get("batchItemFailures", [])
    logger.info("expired contacts archived", extra={**result.describe(), "failed": len(failures)})
    metrics.add_metric(name="ContactsArchived", unit=MetricUnit.Count, value=result.contacts)
    return {"batchItemFailures": failures}
