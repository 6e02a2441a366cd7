"""A local JWKS: an RSA key pair whose public half a PyJWKClient serves without a network, and tokens shaped
like Cognito's (access and id)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from dunning.auth import AuthSettings

POOL = "eu-west-1_TestPool"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "test-client-id"
SETTINGS = AuthSettings(user_pool_id=POOL, client_id=CLIENT, issuer=ISSUER, jwks_url="https://jwks.invalid/keys")


class KeyPair:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**data, "kid": self.kid, "alg": "RS256", "use": "sig"}


class LocalJwks(jwt.PyJWKClient):
    """A PyJWKClient whose key set is in memory (the verification path is the library's own)."""

    def __init__(self, *keys: KeyPair) -> None:
        super().__init__("https://jwks.invalid/keys", cache_keys=False, cache_jwk_set=False)
        self.keys = keys

    def fetch_data(self) -> Any:
        return {"keys": [k.jwk() for k in self.keys]}


def token(key: KeyPair, *, use: str = "access", groups: list[str] | None = None, client: str = CLIENT,
          issuer: str = ISSUER, expires_in: int = 3600, username: str = "collector-1", kid: str | None = None,
          **extra: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": issuer, "sub": str(uuid.uuid4()), "token_use": use, "iat": now,
                              "auth_time": now, "exp": now + expires_in, "jti": str(uuid.uuid4())}
    if use == "access":
        claims.update(client_id=client, username=username)
    else:
        claims.update(aud=client, **{"cognito:username": username})
    if groups is not None:
        claims["cognito:groups"] = groups
    claims.update(extra)
    return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": kid or key.kid})
