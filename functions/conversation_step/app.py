"""The conversation state machine's step function: ``advance`` (run the workflow to its next wait point and
perform the steps' actions), ``park`` (a question waits on its task token) and ``fail`` (hand the conversation
to the fallback team). The output of ``advance`` is what the state machine branches on (``$.wait``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, RootModel

from dunning.app.conversations import advance_step, fail_conversation, park
from dunning.app.deps import conversation_deps
from dunning.models.conversations import FailInput, ParkInput, StepInput
from dunning.observability import logger, metrics, tracer
from dunning.settings import ConversationStepSettings


class StepEvent(RootModel[Annotated[StepInput | ParkInput | FailInput, Field(discriminator="action")]]):
    """The three actions the state machine invokes this function with."""


deps = conversation_deps(ConversationStepSettings.from_env())


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=StepEvent).root
    logger.append_keys(conversation_id=request.conversation_id, action=request.action)
    now = datetime.now(UTC)
    if isinstance(request, StepInput):
        result = advance_step(deps, request, now)
        logger.info("advanced", extra={"wait": result.wait, "step": result.state.step, "seq": result.state.seq})
        return result.model_dump(mode="json")
    if isinstance(request, ParkInput):
        park(deps, request, now)
        logger.info("parked", extra={"step": request.ask.step})
        return {"parked": request.ask.step}
    fail_conversation(deps, request.conversation_id, request.error, now)
    logger.info("handed to the fallback team", extra={"error": request.error[:100]})
    return {"failed": True}
