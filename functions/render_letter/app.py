"""New letter contacts from the contacts stream: render the PDF to S3, mark the contact rendered."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.delivery import contacts_from_stream, render_contact_letter
from dunning.app.deps import delivery_deps
from dunning.models.contacts import Contact
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import Settings

settings = Settings.from_env()
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
idempotency = IdempotencyConfig(event_key_jmespath="contact_id", expires_after_seconds=7 * 24 * 3600)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
deps = delivery_deps(settings)


@idempotent_function(data_keyword_argument="contact", config=idempotency, persistence_store=persistence)
def render_once(*, contact: dict[str, Any]) -> dict[str, Any]:
    return render_contact_letter(Contact.model_validate(contact), deps)


def _warm_up_once() -> None:
    """First invocation: load the PDF stack, prepare the Latin/Cyrillic faces and move that heap out of the
    garbage collector's reach (a full collection over it costs 50-70 ms per letter otherwise). Done here
    rather than at import so that the function's cold start stays short; Arabic faces load on first use."""
    global _warm
    if not _warm:
        from dunning.letters.fontcache import CYRILLIC, LATIN, warm_up

        warm_up((LATIN, CYRILLIC), freeze_gc=True)
        _warm = True


_warm = False


def record_handler(record: DynamoDBRecord) -> None:
    for contact in contacts_from_stream([record.raw_event], "letter"):
        result = render_once(contact=contact.model_dump(mode="json"))
        metrics.add_metric(name=f"Letters_{result['status']}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    _warm_up_once()
    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    logger.info("letters rendered", extra={"records": len(event.get("Records", [])),
                                           "failed": len(response["batchItemFailures"])})
    return dict(response)
