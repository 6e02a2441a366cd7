"""Talking to the local stack's HttpApi the way a client does: HTTP to the local gateway, tokens from sign-in."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from dunning_ops.local.http_api import DemoUser, add_demo_users
from dunning_ops.local.stack import LocalStack

PASSWORD = "Test-Passw0rd-123"
USERS = (DemoUser("admin@example.com", "admin@example.com", "admin", PASSWORD),
         DemoUser("supervisor@example.com", "supervisor@example.com", "supervisor", PASSWORD),
         DemoUser("agent-en", "collector@example.com", "collector", PASSWORD),
         DemoUser("agent-pt-BR", "collector2@example.com", "collector", PASSWORD),
         DemoUser("agent-ru", "collector3@example.com", "collector", PASSWORD),
         DemoUser("agent@example.com", "agent@example.com", "agent", PASSWORD),
         DemoUser("nogroup@example.com", "nogroup@example.com", "", PASSWORD))


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class ApiClient:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.url = stack.start_http_api()
        self.tokens: dict[str, str] = {}

    def add_users(self) -> None:
        from dunning.app.deps import user_pool

        add_demo_users(self.stack, tuple(u for u in USERS if u.group))
        nogroup = next(u for u in USERS if not u.group)
        user_pool(self.stack.identity.user_pool_id, self.stack.identity.client_id).add_user(
            nogroup.username, nogroup.email, nogroup.password, [])

    def sign_in(self, username: str, password: str = PASSWORD) -> str:
        if username not in self.tokens:
            r = self.call("POST", "/api/auth/sign-in", {"username": username, "password": password})
            assert r.status == 200, (r.status, r.body)
            self.tokens[username] = r.json()["access_token"]
        return self.tokens[username]

    def as_user(self, username: str, method: str, path: str, body: Any = None) -> Reply:
        return self.call(method, path, body, token=self.sign_in(username))

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        data = json.dumps(body).encode() if body is not None else None
        h = {"content-type": "application/json", **(headers or {})}
        if token is not None:
            h["authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return Reply(resp.status, resp.read(), dict(resp.headers.items()))
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read(), dict(exc.headers.items()))


def moto_signing_key() -> Any:
    """The private key moto signs its Cognito tokens with (so a test can mint tokens moto's JWKS accepts)."""
    from moto.utilities.utils import load_resource

    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))


def minted(stack: LocalStack, *, key: Any = None, kid: str = "dummy", groups: list[str] | None = None,
           expires_in: int = 3600, client_id: str | None = None, issuer: str | None = None) -> str:
    """An access token signed with moto's key (valid signature), with the claims a test wants to be wrong."""
    now = int(time.time())
    claims = {"iss": issuer or stack.identity.issuer, "sub": str(uuid.uuid4()), "token_use": "access",
              "client_id": client_id or stack.identity.client_id, "username": "minted", "iat": now,
              "auth_time": now, "exp": now + expires_in, "jti": str(uuid.uuid4()),
              "cognito:groups": groups if groups is not None else ["admin"]}
    return jwt.encode(claims, key or moto_signing_key(), algorithm="RS256", headers={"kid": kid})
