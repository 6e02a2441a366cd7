"""New email contacts from the contacts stream: compose and send through SES v2, mark the contact sent."""

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

from dunning.app.delivery import contacts_from_stream, record_sent, send_contact_email
from dunning.app.deps import delivery_deps
from dunning.models.contacts import Contact
from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.settings import Settings

settings = Settings.from_env()
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
idempotency = IdempotencyConfig(event_key_jmespath="contact_id", expires_after_seconds=30 * 24 * 3600)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
deps = delivery_deps(settings)


@idempotent_function(data_keyword_argument="contact", config=idempotency, persistence_store=persistence)
def send_once(*, contact: dict[str, Any]) -> dict[str, Any]:
    return send_contact_email(Contact.model_validate(contact), deps)


def record_handler(record: DynamoDBRecord) -> None:
    for contact in contacts_from_stream([record.raw_event], "email"):
        result = send_once(contact=contact.model_dump(mode="json"))
        record_sent(result, deps)
        metrics.add_metric(name=f"Emails_{result['status']}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return dict(process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                         context=context))
