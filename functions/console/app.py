"""The web console: server-rendered pages behind the HttpApi (routes ``/``, ``/console/...``, ``/static/...``).

The routes, the session cookie check and the pages live in :mod:`dunning.console`; this handler only runs an
API Gateway payload 2.0 event through them.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.console.routes import resolve
from dunning.observability import logger, metrics, tracer
from dunning.settings import ConsoleSettings


@logger.inject_lambda_context(log_event=False, correlation_id_path=correlation_paths.API_GATEWAY_HTTP,
                              clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(event, context, ConsoleSettings.from_env())
