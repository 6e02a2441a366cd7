"""Sign-in, the token side: user name and password (or a refresh token) for the user pool's tokens. These two
routes are the only API routes without the JWT authorizer."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from dunning.api import context
from dunning.api.guard import PUBLIC
from dunning.api.models import RefreshRequest, SignInRequest
from dunning.app.sessions import Tokens, refresh_tokens, sign_in

router = APIGatewayHttpRouter()


@router.post("/auth/sign-in", summary="Sign in with user name and password", tags=["auth"], **PUBLIC)
def sign_in_route(body: SignInRequest) -> Tokens:
    return sign_in(context.user_pool(), body.username, body.password)


@router.post("/auth/refresh", summary="New tokens for a refresh token", tags=["auth"], **PUBLIC)
def refresh_route(body: RefreshRequest) -> Tokens:
    return refresh_tokens(context.user_pool(), body.refresh_token)
