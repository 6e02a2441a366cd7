"""Inbound customer mail from SQS (S3 event notifications of the inbound bucket, where SES writes received mail):
each mail becomes a thread entry on its interaction, a new interaction, or a rejection with a reason.

A message that fails (a storage error) is reported alone (partial batch response) and retried, then
dead-lettered; a retry files nothing twice (dedupe by Message-ID, attachment ids derived from it)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import inbound_mail_deps
from dunning.app.inbound_mail import objects_in, receive_mail
from dunning.observability import count_by, logger, metrics, tracer
from dunning.settings import InboundMailSettings

processor = BatchProcessor(event_type=EventType.SQS)
deps = inbound_mail_deps(InboundMailSettings.from_env())


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    statuses: Counter[str] = Counter()

    def record_handler(record: SQSRecord) -> None:
        for obj in objects_in(record.body):
            outcome = receive_mail(deps, obj, datetime.now(UTC))
            statuses[outcome.status] += 1
            logger.info("inbound mail", extra=outcome.model_dump(exclude_none=True))

    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    count_by("InboundMail", "status", statuses)
    return dict(response)
