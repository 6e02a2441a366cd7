"""Route guards: who may call a route. A route declares one :class:`~dunning.auth.Permission` with
``**guard(Permission.X)``; that puts a middleware in front of it (403 unless one of the caller's groups holds
the permission) and documents the same rule in the OpenAPI document (``security`` and ``x-dunning-groups``),
so the document, the check and the tests that walk the document cannot drift apart.

The caller comes from the claims the HttpApi's JWT authorizer passed on (``requestContext.authorizer.jwt``):
the authorizer has verified the token's signature, issuer, audience and expiry before the function runs.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from dunning.auth import Forbidden, Permission, Principal, Unauthorized, groups_with, principal_from_claims

SECURITY: list[dict[str, list[str]]] = [{"cognito": []}]
PRINCIPAL_KEY = "principal"


def claims_of(event: dict[str, Any]) -> dict[str, Any] | None:
    jwt = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}
    claims = jwt.get("claims")
    return claims if isinstance(claims, dict) else None


def current_principal(app: ApiGatewayResolver | Router) -> Principal:
    """The caller of the current request (set by the route's guard)."""
    principal = app.context.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise Unauthorized("no caller")
    return principal


def _middleware(permission: Permission | None) -> Any:
    def check(app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response:
        claims = claims_of(app.current_event.raw_event)
        if claims is None:
            raise Unauthorized("no verified token")
        principal = principal_from_claims(claims)
        if not principal.groups:
            raise Forbidden(permission)
        if permission is not None:
            principal.require(permission)
        app.append_context(**{PRINCIPAL_KEY: principal})
        return next_middleware(app)

    check.__name__ = f"require_{permission.name.lower() if permission else 'any_group'}"
    return check


def guard(permission: Permission | None) -> dict[str, Any]:
    """Route decorator arguments: ``None`` = any signed-in user of a known group."""
    groups = [g.value for g in groups_with(permission)] if permission else ["admin", "supervisor", "collector", "agent"]
    return {"middlewares": [_middleware(permission)], "security": SECURITY,
            "openapi_extensions": {"x-dunning-permission": permission.value if permission else "any",
                                   "x-dunning-groups": groups}}


PUBLIC: dict[str, Any] = {"security": [], "openapi_extensions": {"x-dunning-permission": "public",
                                                                   "x-dunning-groups": []}}
