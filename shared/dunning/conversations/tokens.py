"""The per-conversation access token of the public web chat: ``HMAC-SHA256(key, "conversation:" + id)``,
base64url without padding. It never expires on its own (a closed conversation refuses new messages anyway);
verifying compares in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

PURPOSE = b"conversation:"


def sign(key: bytes, conversation_id: str) -> str:
    digest = hmac.new(key, PURPOSE + conversation_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(key: bytes, conversation_id: str, token: str) -> bool:
    if not token or not conversation_id or len(token) > 128:
        return False
    return hmac.compare_digest(sign(key, conversation_id), token)
