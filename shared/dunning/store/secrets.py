"""The stack's signing secret (``InteractionSigningSecret``, Secrets Manager): the key behind signed reply
addresses, customer attachment links and web-form tokens. Read once per container and cached."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from dunning.aws import client
from dunning.errors import PermanentError
from dunning.store.failures import translated

CACHE_SECONDS = 3600.0  # a rotated secret is picked up within the hour
_cache: dict[str, tuple[float, bytes]] = {}
_lock = threading.Lock()


def signing_key(arn: str) -> bytes:
    """The signing key: sha256 of the secret string (a fixed 32 bytes whatever the secret's length)."""
    if not arn:
        raise PermanentError("no signing secret is configured (SIGNING_SECRET_ARN is empty)")
    now = time.monotonic()
    with _lock:
        cached = _cache.get(arn)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
    secrets: Any = client("secretsmanager")  # type: ignore[call-overload]  # no stubs installed for it
    with translated("GetSecretValue on the signing secret"):
        answer = secrets.get_secret_value(SecretId=arn)
    secret = answer.get("SecretString") or answer.get("SecretBinary") or b""
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if len(raw) < 16:
        raise PermanentError("the signing secret is shorter than 16 bytes")
    key = hashlib.sha256(raw).digest()
    with _lock:
        _cache[arn] = (now, key)
    return key


def clear_cache() -> None:
    with _lock:
        _cache.clear()
