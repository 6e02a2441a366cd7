"""What the chat and conversation route tests share: a request through the real resolver (errors mapped as on
AWS), a caller in a group or none, and in-memory fakes of the use cases' dependencies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from dunning.models.config import ConversationsConfig


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def call(app: Any, method: str, path: str, *, group: str | None = None, body: Any = None,
         query: dict[str, str] | None = None, token: str | None = None, source_ip: str = "198.51.100.7",
         raw_body: str | None = None) -> Answer:
    ctx: dict[str, Any] = {"http": {"method": method, "path": path, "sourceIp": source_ip}, "stage": "$default",
                           "requestId": "r", "routeKey": f"{method} {path}"}
    if group is not None:
        ctx["authorizer"] = {"jwt": {"claims": {"sub": f"sub-{group}", "username": f"{group}@example.com",
                                                "cognito:groups": f"[{group}]"}, "scopes": None}}
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    event = {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path,
             "rawQueryString": urlencode(query or {}), "queryStringParameters": query, "headers": headers,
             "requestContext": ctx, "body": raw_body if raw_body is not None else
             (json.dumps(body) if body is not None else None), "isBase64Encoded": False}
    out = app.resolve(event, {})
    return Answer(int(out["statusCode"]), {k.lower(): v for k, v in (out.get("headers") or {}).items()},
                  out.get("body") or "")


@dataclass
class Hit:
    allowed: bool
    count: int
    retry_after: int


@dataclass
class MemoryCounter:
    """The fixed-window counter (``DynamoRateLimiter``'s contract), in memory; ``keys`` records what was counted."""

    counts: dict[tuple[str, str, int], int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)

    def hit(self, scope: str, key_hash: str, *, window_start: int, window_seconds: int, limit: int,
            now: float) -> Hit:
        self.keys.append(f"{scope}#{key_hash}")
        k = (scope, key_hash, window_start)
        if self.counts.get(k, 0) >= limit:
            return Hit(False, limit, max(1, int(window_start + window_seconds - now + 0.999)))
        self.counts[k] = self.counts.get(k, 0) + 1
        return Hit(True, self.counts[k], 0)


def fake_deps(counter: MemoryCounter | None = None, **conversations: Any) -> Any:
    """What the routes (and ``check_open_rate``) read of ``ConversationDeps``: the configuration, the signing
    key, the rate limiter."""
    cfg = SimpleNamespace(conversations=ConversationsConfig.model_validate(conversations))
    return SimpleNamespace(config=lambda: cfg, signing_key=lambda: b"k" * 32, rate_limiter=counter)
