"""Who is asking, and what they may do: Cognito tokens -> a :class:`Principal` with groups and permissions.

Tokens are verified with PyJWT (``PyJWKClient`` fetches and caches the user pool's JWKS): the RS256
signature against the pool's key named by the token's ``kid``, the issuer (the user pool), the audience
(the app client: ``aud`` of an id token, ``client_id`` of an access token), expiry (with a little leeway for
clock skew) and ``token_use``. Nothing here hand-checks a signature.

On AWS the HttpApi's JWT authorizer has already checked the token of an API request, and the API function
reads the claims it passes on (:func:`principal_from_claims`); the console, whose session is a cookie the
authorizer cannot see, verifies the token itself (:func:`verify_token`). Both end in the same
:class:`Principal` and the same group -> permission table, so the API and the console cannot disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field


class Group(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    COLLECTOR = "collector"
    AGENT = "agent"


class Permission(StrEnum):
    RUNS_READ = "runs:read"
    RUNS_START = "runs:start"
    SIMULATE = "simulate"
    ACCOUNTS_READ = "accounts:read"
    CONTACTS_READ = "contacts:read"
    CONTACTS_CREATE = "contacts:create"
    LETTERS_READ = "letters:read"
    ACTIVITIES_OWN = "activities:own"  # my open activities, complete my own
    ACTIVITIES_ALL = "activities:all"  # everyone's activities, complete any
    ACTIVITIES_REASSIGN = "activities:reassign"
    REJECTED_READ = "rejected:read"
    ASSIGNMENT_WRITE = "assignment:write"  # manual strategy assignment of an account
    CONFIG_WRITE = "config:write"  # validate and publish the configuration
    INTERACTIONS_READ = "interactions:read"  # interactions in the stages one is a member of
    INTERACTIONS_WRITE = "interactions:write"  # record, comment, move, time, link, attach, reply, dispute/promise
    INTERACTIONS_REPORTS = "interactions:reports"  # the content and time reports
    INTERACTIONS_ADMIN = "interactions:admin"  # stage membership; passes every stage rule
    WORKFLOWS_READ = "workflows:read"  # list, show, diff workflows and their versions
    WORKFLOWS_WRITE = "workflows:write"  # validate, save drafts, try a draft
    WORKFLOWS_PUBLISH = "workflows:publish"  # make a version live
    CONVERSATIONS_READ = "conversations:read"  # inbox, team queues, a conversation's detail
    CONVERSATIONS_WRITE = "conversations:write"  # reply, assign, close
    CONVERSATIONS_REPORTS = "conversations:reports"  # sheet exports (CSAT answers...)


GROUP_PERMISSIONS: Mapping[Group, frozenset[Permission]] = {
    Group.ADMIN: frozenset(Permission),
    Group.SUPERVISOR: frozenset(Permission) - {Permission.CONFIG_WRITE, Permission.INTERACTIONS_ADMIN},
    Group.COLLECTOR: frozenset({Permission.ACTIVITIES_OWN, Permission.ACCOUNTS_READ, Permission.CONTACTS_READ,
                                Permission.LETTERS_READ, Permission.INTERACTIONS_READ,
                                Permission.INTERACTIONS_WRITE, Permission.CONVERSATIONS_READ,
                                Permission.CONVERSATIONS_WRITE, Permission.WORKFLOWS_READ}),
    Group.AGENT: frozenset({Permission.ACCOUNTS_READ, Permission.CONTACTS_READ, Permission.CONTACTS_CREATE,
                            Permission.INTERACTIONS_READ, Permission.INTERACTIONS_WRITE,
                            Permission.CONVERSATIONS_READ, Permission.CONVERSATIONS_WRITE,
                            Permission.WORKFLOWS_READ}),
}


def groups_with(permission: Permission) -> list[Group]:
    """The groups holding ``permission`` (the API documents these per route)."""
    return [g for g in Group if permission in GROUP_PERMISSIONS[g]]


class Unauthorized(Exception):
    """No token, or a token that does not verify (401)."""


class Forbidden(Exception):
    """A valid token whose groups do not allow the action (403)."""

    def __init__(self, permission: Permission | None) -> None:
        super().__init__(f"your groups do not allow {permission.value}" if permission else
                         "you are in none of this service's groups")
        self.permission = permission


class Principal(BaseModel):
    """A signed-in user. ``username`` is the Cognito username, which is also the collector id that activities
    are assigned to. Neither it nor any other claim is logged (a username is often an email address)."""

    model_config = ConfigDict(frozen=True)

    user_id: str  # the token's ``sub``
    username: str
    groups: frozenset[Group] = Field(default_factory=frozenset)

    @property
    def permissions(self) -> frozenset[Permission]:
        out: frozenset[Permission] = frozenset()
        for g in self.groups:
            out |= GROUP_PERMISSIONS[g]
        return out

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(permission)


class AuthSettings(BaseModel):
    """Where tokens come from: the user pool (its issuer URL) and the app client."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    user_pool_id: str = Field(alias="COGNITO_USER_POOL_ID")
    client_id: str = Field(alias="COGNITO_CLIENT_ID")
    issuer: str = Field(alias="COGNITO_ISSUER")
    jwks_url: str = Field(default="", alias="COGNITO_JWKS_URL")
    endpoint_url: str = Field(default="", alias="AWS_ENDPOINT_URL")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AuthSettings:
        return cls.model_validate(dict(os.environ if env is None else env))

    @property
    def jwks(self) -> str:
        """The JWKS document: explicit, else the local endpoint's (moto serves ``/{pool}/.well-known/jwks.json``
        but puts the AWS issuer in its tokens), else the issuer's own."""
        if self.jwks_url:
            return self.jwks_url
        if self.endpoint_url:
            return f"{self.endpoint_url.rstrip('/')}/{self.user_pool_id}/.well-known/jwks.json"
        return f"{self.issuer.rstrip('/')}/.well-known/jwks.json"


LEEWAY_SECONDS = 5  # clock skew tolerated on exp / iat


class TokenVerifier:
    def __init__(self, settings: AuthSettings, jwk_client: jwt.PyJWKClient | None = None) -> None:
        self.settings = settings
        # keys cached for an hour; an unknown kid refetches the set (key rotation)
        self.jwks = jwk_client or jwt.PyJWKClient(settings.jwks, cache_keys=True, lifespan=3600, timeout=5)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims, or :class:`Unauthorized`."""
        if not token:
            raise Unauthorized("no token")
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=["RS256"], issuer=self.settings.issuer, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False})
        except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
            raise Unauthorized(f"token rejected: {type(exc).__name__}") from exc
        use = claims.get("token_use")
        if use == "id":  # an id token names the client in aud
            audience = claims.get("aud")
            ok = audience == self.settings.client_id or (isinstance(audience, list)
                                                        and self.settings.client_id in audience)
        elif use == "access":  # an access token has no aud; it names the client in client_id
            ok = claims.get("client_id") == self.settings.client_id
        else:
            raise Unauthorized("token rejected: not an id or access token")
        if not ok:
            raise Unauthorized("token rejected: issued for another client")
        return claims

    def verify(self, token: str) -> Principal:
        return principal_from_claims(self.claims(token))


@lru_cache(maxsize=4)
def _verifier(settings: AuthSettings) -> TokenVerifier:
    return TokenVerifier(settings)


def verifier_from_env() -> TokenVerifier:
    """One verifier (and JWKS cache) per container and settings."""
    return _verifier(AuthSettings.from_env())


def verify_token(token: str) -> Principal:
    """Verify a token (id or access) of the stack's user pool and client; :class:`Unauthorized` otherwise."""
    return verifier_from_env().verify(bearer(token))


def bearer(header: str | None) -> str:
    """The token of an ``Authorization`` header value (``Bearer x`` or the bare token)."""
    value = (header or "").strip()
    return value[7:].strip() if value[:7].lower() == "bearer " else value


def parse_groups(value: Any) -> frozenset[Group]:
    """``cognito:groups`` as a list (a verified token) or as API Gateway passes it on: ``"[admin supervisor]"``.
    Groups this service does not know are ignored."""
    if isinstance(value, str):
        items = value.strip().removeprefix("[").removesuffix("]").replace(",", " ").split()
    elif isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = []
    known = {g.value for g in Group}
    return frozenset(Group(i) for i in items if i in known)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    sub = str(claims.get("sub") or "")
    if not sub:
        raise Unauthorized("token has no subject")
    username = str(claims.get("username") or claims.get("cognito:username") or sub)
    return Principal(user_id=sub, username=username, groups=parse_groups(claims.get("cognito:groups")))


__all__ = [
    "GROUP_PERMISSIONS",
    "AuthSettings",
    "Forbidden",
    "Group",
    "Permission",
    "Principal",
    "TokenVerifier",
    "Unauthorized",
    "bearer",
    "groups_with",
    "parse_groups",
    "principal_from_claims",
    "verifier_from_env",
    "verify_token",
]
