"""The API resolver: routers under ``/api``, errors as JSON problems, the OpenAPI document at ``/openapi.json``.

Errors never echo personal data: messages name ids (account, contact, run) at most.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server

from dunning.api.guard import guard
from dunning.api.routers import (
    accounts,
    activities,
    admin,
    auth,
    chat,
    contacts,
    conversations,
    interactions,
    public,
    runs,
    workflows,
)
from dunning.app.activities import ActivityConflict
from dunning.app.conversations import ConversationClosed, ConversationConflict, ConversationNotFound, TokenInvalid
from dunning.app.interactions import InteractionConflict, InteractionNotFound, InvalidTransition, StageForbidden
from dunning.app.letter_retrieval import ContactNotFound, LetterUnavailable, RestoreNeeded
from dunning.app.operations import InvalidRequest
from dunning.app.queries import NotFound
from dunning.app.workflows import WorkflowConflict, WorkflowInvalid, WorkflowNotFound
from dunning.auth import Forbidden, Unauthorized
from dunning.interactions.webform import RateLimited, SpamRejected
from dunning.observability import logger
from dunning.store.identity import SignInFailed
from dunning.store.pages import BadPageToken

TITLE = "Dunning API"
VERSION = "1.0.0"
PREFIX = "/api"
PUBLIC_PREFIX = "/public"  # no sign-in (the web form, customers' attachment links): routed without the authorizer


def _problem(status: int, message: str, **extra: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps({"message": message, **extra}))


# Errors answered with their status and message alone. Powertools picks the handler of the most specific class
# in the exception's MRO, so a subclass (InteractionNotFound of NotFound) can have its own entry.
PLAIN_PROBLEMS: dict[type[Exception], int] = {
    NotFound: 404, ContactNotFound: 404, LetterUnavailable: 404, InteractionNotFound: 404,
    ActivityConflict: 409, InteractionConflict: 409, BadPageToken: 400, InvalidRequest: 422, InvalidTransition: 422,
    ConversationNotFound: 404, ConversationConflict: 409,
    WorkflowNotFound: 404, WorkflowConflict: 409,
}


def _plain_problems(app: APIGatewayHttpResolver) -> None:
    def answer(status: int) -> Any:
        def handle(exc: Exception) -> Response[Any]:
            return _problem(status, str(exc))
        return handle

    for error, status in PLAIN_PROBLEMS.items():
        app.exception_handler(error)(answer(status))
    app.exception_handler(RestoreNeeded)(
        lambda exc: _problem(409, str(exc), restore="dunning letters url ID --restore"))


def build_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    for module in (runs, accounts, contacts, activities, admin, auth, interactions, conversations, workflows):
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(public.router, prefix=PUBLIC_PREFIX)
    app.include_router(chat.router, prefix=PUBLIC_PREFIX)

    @app.get("/openapi.json", include_in_schema=False, **{k: v for k, v in guard(None).items()
                                                           if k == "middlewares"})
    def openapi() -> Response[Any]:
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json(app))

    @app.exception_handler(Unauthorized)
    def unauthorized(exc: Unauthorized) -> Response[Any]:
        return _problem(401, "Unauthorized")

    @app.exception_handler(TokenInvalid)
    def token_invalid(exc: TokenInvalid) -> Response[Any]:  # a web chat request without its conversation's token
        return _problem(401, "the conversation token is missing or not valid for this conversation")

    @app.exception_handler(ConversationClosed)
    def conversation_closed(exc: ConversationClosed) -> Response[Any]:
        if not app.current_event.path.startswith(PUBLIC_PREFIX):  # an agent acting on a closed conversation
            return _problem(409, str(exc))
        return _problem(409, f"{exc}: open a new conversation to write again",
                        open=f"{PUBLIC_PREFIX}/chat/conversations")

    @app.exception_handler(WorkflowInvalid)
    def workflow_invalid(exc: WorkflowInvalid) -> Response[Any]:  # every error with the step it is in
        return _problem(422, str(exc), errors=[e.model_dump(mode="json") for e in exc.errors])

    @app.exception_handler(SignInFailed)
    def sign_in_failed(exc: SignInFailed) -> Response[Any]:
        return _problem(401, "sign-in refused: wrong user name or password")

    @app.exception_handler(StageForbidden)
    def stage_forbidden(exc: StageForbidden) -> Response[Any]:
        logger.info("forbidden by stage", extra={"interaction_process": exc.process, "interaction_stage": exc.stage,
                                                 "route": app.current_event.path})
        return _problem(403, str(exc), rule="stage")

    @app.exception_handler(SpamRejected)
    def spam_rejected(exc: SpamRejected) -> Response[Any]:  # the reason only: never what the customer wrote
        logger.info("web form post refused", extra={"reason": exc.reason})
        return _problem(400, str(exc), reason=exc.reason)

    @app.exception_handler(RateLimited)
    def rate_limited(exc: RateLimited) -> Response[Any]:
        logger.info("rate limited", extra={"window": exc.window, "retry_after": exc.retry_after})
        return Response(status_code=429, content_type=content_types.APPLICATION_JSON,
                        headers={"Retry-After": str(exc.retry_after)},
                        body=json.dumps({"message": str(exc), "retry_after": exc.retry_after}))

    @app.exception_handler(Forbidden)
    def forbidden(exc: Forbidden) -> Response[Any]:
        logger.info("forbidden", extra={"permission": exc.permission.value if exc.permission else "any group",
                                        "route": app.current_event.path})
        return _problem(403, str(exc))

    _plain_problems(app)
    return app


def openapi_schema(app: APIGatewayHttpResolver) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(openapi_json(app))
    return schema


def openapi_json(app: APIGatewayHttpResolver) -> str:
    return app.get_openapi_json_schema(
        title=TITLE, version=VERSION, openapi_version="3.1.0",
        summary="Collections runs, accounts, contacts, letters and collector activities",
        description=("Every route needs a Cognito access or id token (Authorization: Bearer) of a user in one of "
                     "the groups in its x-dunning-groups, except sign-in. Lists are paged: pass the previous "
                     "page's next token as ?next=."),
        servers=[Server(url="/")],
        security_schemes={"cognito": HTTPBearer(bearerFormat="JWT", description="Cognito user pool token")},
    )


def document() -> str:
    """The committed OpenAPI document (``infra/openapi.json``): stable formatting, trailing newline."""
    return json.dumps(openapi_schema(build_app()), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
