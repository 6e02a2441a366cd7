"""Signing in (the token side): a user name and password, or a refresh token, for the user pool's tokens.

The console keeps the access token in an HttpOnly cookie; API clients send it as ``Authorization: Bearer``.
Both are verified by :mod:`dunning.auth` (on AWS the API's are already verified by the HttpApi authorizer).
"""

from __future__ import annotations

from pydantic import BaseModel

from dunning.store.identity import SignInFailed, UserPool

__all__ = ["SignInFailed", "Tokens", "refresh_tokens", "sign_in"]


class Tokens(BaseModel):
    access_token: str
    id_token: str
    refresh_token: str | None = None
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the scheme, not a secret


def _tokens(result: dict[str, object], refresh: str | None = None) -> Tokens:
    return Tokens(access_token=str(result["AccessToken"]), id_token=str(result["IdToken"]),
                  refresh_token=str(result["RefreshToken"]) if result.get("RefreshToken") else refresh,
                  expires_in=int(str(result.get("ExpiresIn", 3600))))


def sign_in(pool: UserPool, username: str, password: str) -> Tokens:
    """Raises :class:`SignInFailed` (wrong name or password - never says which)."""
    if not username or not password:
        raise SignInFailed("sign-in refused")
    return _tokens(pool.password_auth(username, password))


def refresh_tokens(pool: UserPool, refresh_token: str) -> Tokens:
    if not refresh_token:
        raise SignInFailed("sign-in refused")
    return _tokens(pool.refresh_auth(refresh_token), refresh=refresh_token)
