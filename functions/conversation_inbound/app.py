"""The inbound FIFO queue (ConversationInboundQueue): each message group is one conversation, in order. An
``open`` starts the conversation's execution (named after it: a redelivered open starts nothing new); a
``message`` joins the thread and answers the question waiting on it, waits for the next one, or opens a new
conversation after close (:func:`dunning.app.conversations.process_inbound`).

A record that fails (a storage error) is reported with the rest of its group after it (Powertools
``SqsFifoPartialProcessor``, skipping only that group), so the group's order holds; other groups go on."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from dunning.app.conversations import process_inbound
from dunning.app.deps import conversation_deps
from dunning.models.conversations import InboundEnvelope
from dunning.observability import count_by, logger, metrics, tracer
from dunning.settings import ConversationInboundSettings


class InboundRecord(SqsRecordModel):
    body: Json[InboundEnvelope]


processor = SqsFifoPartialProcessor(model=InboundRecord, skip_group_on_error=True)
deps = conversation_deps(ConversationInboundSettings.from_env())


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()

    def record_handler(record: InboundRecord) -> None:
        envelope = record.body
        outcome = process_inbound(deps, envelope, datetime.now(UTC))
        outcomes[outcome.outcome] += 1
        logger.info("inbound", extra={"kind": envelope.kind, **outcome.model_dump(exclude_none=True)})

    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    count_by("ConversationInbound", "outcome", outcomes)
    return dict(response)
