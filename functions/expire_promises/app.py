"""Daily: close the promises to pay whose date has passed - kept (resolved) or broken (promise_broken)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.app.deps import expire_promises_deps
from dunning.app.holds import ExpirePromisesInput, sweep_promises
from dunning.observability import MetricUnit, count_by, logger, metrics, tracer
from dunning.settings import ExpirePromisesSettings


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ExpirePromisesInput)
def handler(event: ExpirePromisesInput, context: LambdaContext) -> dict[str, Any]:
    settings = ExpirePromisesSettings.from_env()
    sweep = sweep_promises(expire_promises_deps(settings), event)
    logger.info("promises swept", extra={"today": sweep.today.isoformat(), "kept": sweep.kept,
                                         "broken": sweep.broken, "already_recorded": sweep.already_recorded})
    metrics.add_metric(name="PromisesDue", unit=MetricUnit.Count, value=len(sweep.outcomes))
    count_by("PromisesClosed", "outcome", {"kept": sweep.kept, "broken": sweep.broken})
    return sweep.model_dump(mode="json")
