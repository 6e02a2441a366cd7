"""New email contacts from the contacts stream: compose and send through SES v2, mark the contact sent."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.contact_delivery import DeliveryResult
from dunning.app.deps import email_deps, idempotency_store
from dunning.app.email_delivery import deliver_emails, send_contact_email
from dunning.models.contacts import Contact
from dunning.observability import count_by, logger, metrics, tracer
from dunning.settings import SendEmailSettings

settings = SendEmailSettings.from_env()
persistence = idempotency_store(settings.idempotency_table)
idempotency = IdempotencyConfig(event_key_jmespath="contact_id", expires_after_seconds=30 * 24 * 3600)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
deps = email_deps(settings)


@idempotent_function(data_keyword_argument="contact", config=idempotency, persistence_store=persistence)
def send_once(*, contact: dict[str, Any]) -> dict[str, Any]:
    return send_contact_email(Contact.model_validate(contact), deps).to_record()


def send(contact: Contact) -> DeliveryResult:
    return DeliveryResult.model_validate(send_once(contact=contact.model_dump(mode="json")))


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    statuses: Counter[str] = Counter()

    def record_handler(record: DynamoDBRecord) -> None:
        statuses.update(result.status for result in deliver_emails(record.raw_event, deps, send))

    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    count_by("Emails", "status", statuses)
    return dict(response)
