"""The HTTP API (API Gateway HttpApi, payload 2.0): Powertools' resolver with pydantic validation.

Routes live in ``dunning.api.routers``; each calls one use case in ``dunning.app``. The HttpApi's JWT authorizer
has verified the caller's token; the route's guard checks the caller's groups.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.api.resolver import build_app
from dunning.observability import logger, metrics, tracer

app = build_app()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False,
                              clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
