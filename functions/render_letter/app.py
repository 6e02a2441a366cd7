"""New letter contacts from the contacts stream: render the PDF to S3, mark the contact rendered."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.contact_delivery import DeliveryResult
from dunning.app.deps import idempotency_store, letter_deps
from dunning.app.letter_delivery import deliver_letters, render_contact_letter
from dunning.models.contacts import Contact
from dunning.observability import count_by, logger, metrics, tracer
from dunning.settings import RenderLetterSettings

settings = RenderLetterSettings.from_env()
persistence = idempotency_store(settings.idempotency_table)
idempotency = IdempotencyConfig(event_key_jmespath="contact_id", expires_after_seconds=7 * 24 * 3600)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
deps = letter_deps(settings)


@idempotent_function(data_keyword_argument="contact", config=idempotency, persistence_store=persistence)
def render_once(*, contact: dict[str, Any]) -> dict[str, Any]:
    return render_contact_letter(Contact.model_validate(contact), deps).to_record()


def render(contact: Contact) -> DeliveryResult:
    return DeliveryResult.model_validate(render_once(contact=contact.model_dump(mode="json")))


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


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    _warm_up_once()
    statuses: Counter[str] = Counter()

    def record_handler(record: DynamoDBRecord) -> None:
        statuses.update(result.status for result in deliver_letters(record.raw_event, render))

    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    count_by("Letters", "status", statuses)
    logger.info("letters rendered", extra={"records": len(event.get("Records", [])),
                                           "failed": len(response["batchItemFailures"])})
    return dict(response)
