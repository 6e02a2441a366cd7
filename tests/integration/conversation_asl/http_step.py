"""A scripted stand-in for ConversationHttpFunction: raises an error named ``HttpRetryable`` while ``attempt`` is
below ``call.retries``, then answers with the attempt it got; ``retries`` -1: an error no Retry names."""

from __future__ import annotations

from typing import Any


class HttpRetryable(Exception):
    pass


class Unexpected(Exception):
    pass


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event["call"]["retries"] < 0:
        raise Unexpected("a failure no Retry names")
    if event["attempt"] < event["call"]["retries"]:
        raise HttpRetryable(f"attempt {event['attempt']}")
    return {"kind": "http_result", "http": {"ok": True, "status": 200, "body": {"attempt": event["attempt"],
                                                                                  "seq": event["seq"]}}}
