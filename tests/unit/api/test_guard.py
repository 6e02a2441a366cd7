"""The route guards, on the resolver alone (no AWS): for every operation in the OpenAPI document, no claims ->
401, a token of a group the route does not allow -> 403, before any use case runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dunning.api.resolver import build_app
from tests.unit.api.openapi_ops import denied_groups, operations, sample_body, sample_path

DOC = json.loads((__import__("pathlib").Path(__file__).resolve().parents[3] / "infra" / "openapi.json").read_text())
GUARDED = [o for o in operations(DOC) if o["permission"] != "public"]
APP = build_app()


def event(method: str, path: str, body: Any = None, groups: str | None = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"}, "stage": "$default",
                           "requestId": "r", "routeKey": f"{method} {path}"}
    if groups is not None:
        ctx["authorizer"] = {"jwt": {"claims": {"sub": "u-1", "username": "someone", "cognito:groups": groups},
                                     "scopes": None}}
    return {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
            "headers": {"content-type": "application/json"}, "requestContext": ctx,
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False}


@pytest.mark.parametrize("o", GUARDED, ids=[o["id"] for o in GUARDED])
def test_without_verified_claims_every_guarded_route_answers_401(o):
    resp = APP.resolve(event(o["method"], sample_path(o["path"]), sample_body(o["op"], DOC)), {})
    assert resp["statusCode"] == 401, resp


CASES = [(o, g) for o in GUARDED for g in denied_groups(o)] + [(o, "") for o in GUARDED]


@pytest.mark.parametrize("o, group", CASES, ids=[f"{o['id']} as {g or 'no group'}" for o, g in CASES])
def test_a_group_the_route_does_not_allow_gets_403(o, group):
    resp = APP.resolve(event(o["method"], sample_path(o["path"]), sample_body(o["op"], DOC), f"[{group}]"), {})
    assert resp["statusCode"] == 403, resp
    assert json.loads(resp["body"])["message"]


def test_an_invalid_body_is_a_422_with_the_reason():
    resp = APP.resolve(event("POST", "/api/activities/c-1/complete", {"outcome": "x; drop", "extra": 1},
                             "[collector]"), {})
    assert resp["statusCode"] == 422
