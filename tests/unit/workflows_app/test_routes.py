"""The workflow routes of the API on the real use cases (the resolver in-process, the conversations table in moto):
each route's permission, 422 with the per-step errors when a publish is refused, versions, diff and the SVG
diagram."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from dunning.api.resolver import build_app
from dunning.api.routers import workflows as routes
from tests.unit.workflows_app.support import BROKEN, make_deps, moto_table, source

USERS = {"agent": ("agent@example.com", "agent"), "admin": ("admin@example.com", "admin"),
         "supervisor": ("sup@example.com", "supervisor")}
APP = [build_app()]


def call(method: str, path: str, user: str | None = "admin", body: Any = None,
         query: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    ctx: dict[str, Any] = {"http": {"method": method, "path": path, "sourceIp": "198.51.100.7"},
                           "stage": "$default", "requestId": "r", "routeKey": f"{method} {path}"}
    if user is not None:
        username, group = USERS[user]
        ctx["authorizer"] = {"jwt": {"claims": {"sub": f"sub-{user}", "username": username,
                                                "cognito:groups": f"[{group}]"}, "scopes": None}}
    event = {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path,
             "rawQueryString": urlencode(query or {}), "queryStringParameters": query,
             "headers": {"content-type": "application/json"}, "requestContext": ctx,
             "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False}
    out = APP[0].resolve(event, {})
    return (int(out["statusCode"]), {k.lower(): v for k, v in (out.get("headers") or {}).items()},
            out.get("body") or "")


@pytest.fixture(autouse=True)
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    APP[0] = build_app()
    with moto_table(monkeypatch):
        deps = make_deps()
        monkeypatch.setattr(routes, "_deps", lambda: deps)
        yield


def test_save_validate_publish_read(world):
    status, _, body = call("PUT", "/api/workflows/greet/draft", body={"source": source(text="One")})
    assert status == 200 and json.loads(body)["ok"] is True
    status, _, body = call("POST", "/api/workflows/greet/publish", body={"note": "first"})
    assert status == 200 and (json.loads(body)["n"], json.loads(body)["note"]) == (1, "first")
    call("PUT", "/api/workflows/greet/draft", body={"source": source(text="Two"), "format": "yaml"})
    call("POST", "/api/workflows/greet/publish", body={})
    status, _, body = call("GET", "/api/workflows", user="agent")
    assert status == 200 and [(w["id"], w["live_version"]) for w in json.loads(body)] == [("greet", 2)]
    status, _, body = call("GET", "/api/workflows/greet", user="agent")
    assert status == 200 and [v["n"] for v in json.loads(body)["versions"]] == [1, 2]
    status, _, body = call("GET", "/api/workflows/greet/versions/1", user="agent")
    assert status == 200 and "One" in json.loads(body)["source"]
    status, _, body = call("GET", "/api/workflows/greet/diff", user="agent", query={"from": "1", "to": "2"})
    assert status == 200 and json.loads(body)["changed"] == ["hello"]
    status, headers, body = call("GET", "/api/workflows/greet/diagram", user="agent", query={"version": "1"})
    assert status == 200 and headers["content-type"].startswith("image/svg+xml") and body.lstrip().startswith("<svg")
    status, _, body = call("POST", "/api/workflows/validate", body={"source": source(team="mars")})
    assert status == 200 and json.loads(body)["ok"] is False


def test_an_invalid_publish_is_422_with_the_step_and_the_reason(world):
    status, _, body = call("PUT", "/api/workflows/greet/draft", body={"source": BROKEN})
    assert status == 200 and json.loads(body)["ok"] is False  # saved even so
    status, _, body = call("POST", "/api/workflows/greet/publish", body={})
    problem = json.loads(body)
    assert status == 422 and "not valid" in problem["message"]
    assert any(e["step"] == "ask" and "nowhere" in e["message"] for e in problem["errors"]), problem
    status, _, body = call("GET", "/api/workflows/greet/diagram")
    assert status == 422 and json.loads(body)["errors"]


def test_not_found_and_bad_sides(world):
    assert call("GET", "/api/workflows/nothing")[0] == 404
    call("PUT", "/api/workflows/greet/draft", body={"source": source()})
    assert call("GET", "/api/workflows/greet/versions/3")[0] == 404
    assert call("GET", "/api/workflows/greet/diff", query={"from": "1", "to": "latest"})[0] == 422


def test_permissions(world):
    assert call("GET", "/api/workflows", user=None)[0] == 401
    assert call("PUT", "/api/workflows/greet/draft", user="agent", body={"source": source()})[0] == 403
    assert call("POST", "/api/workflows/validate", user="agent", body={"source": source()})[0] == 403
    call("PUT", "/api/workflows/greet/draft", user="supervisor", body={"source": source()})
    assert call("POST", "/api/workflows/greet/publish", user="agent", body={})[0] == 403
    assert call("POST", "/api/workflows/templates/install", user="agent", body={})[0] == 403
    status, _, body = call("POST", "/api/workflows/templates/install", user="supervisor", body={})
    assert status == 200 and "vip_routing" in json.loads(body)["installed"]
