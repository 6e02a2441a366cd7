"""The local HttpApi gateway without moto: routes from the template, API Gateway's matching, payload 2.0 events
and responses, the JWT authorizer (against a local JWKS), and the Cognito references it resolves."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from dunning.auth import TokenVerifier
from dunning_ops.local.http_api import HttpApiGateway, Route, _resolve, _response, template_routes
from dunning_ops.local.translate import load_sam_template
from tests.unit.api.jwks import SETTINGS, KeyPair, LocalJwks, token

ROOT = Path(__file__).resolve().parents[3]
KEY = KeyPair("k1")


def test_the_routes_come_from_the_templates_httpapi_events():
    routes = {r.route_key: r for r in template_routes(load_sam_template(ROOT / "template.yaml"))}
    assert routes["ANY /api/{proxy+}"].authorized and routes["ANY /api/{proxy+}"].function == "ApiFunction"
    assert not routes["POST /api/auth/sign-in"].authorized
    assert routes["GET /openapi.json"].authorized


@pytest.fixture()
def gateway():
    seen = []

    def invoke(function, event):
        seen.append((function, event))
        return json.dumps({"statusCode": 200, "headers": {"content-type": "application/json"},
                           "cookies": ["a=1; HttpOnly", "b=2"], "body": json.dumps({"ok": True})}), False

    routes = [Route("ANY", "/api/{proxy+}", "Api", True), Route("POST", "/api/auth/sign-in", "Api", False),
              Route("GET", "/items/{item_id}", "Items", False), Route("GET", "/", "Home", False)]
    gw = HttpApiGateway(routes, invoke, TokenVerifier(SETTINGS, LocalJwks(KEY)), port=0)
    gw.seen = seen
    yield gw
    gw._server.server_close()


def test_the_most_specific_route_wins(gateway):
    assert gateway.route_for("POST", "/api/auth/sign-in")[0].path == "/api/auth/sign-in"
    assert gateway.route_for("GET", "/api/auth/sign-in")[0].path == "/api/{proxy+}"
    assert gateway.route_for("GET", "/items/42") == (Route("GET", "/items/{item_id}", "Items", False),
                                                     {"item_id": "42"})
    assert gateway.route_for("GET", "/items/42/more") is None and gateway.route_for("GET", "/api") is None


def test_an_authorized_route_without_a_valid_token_is_401_and_the_function_never_runs(gateway):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {token(KEY, expires_in=-99)}"}):
        status, _, body = gateway.handle("GET", "/api/runs", headers, b"")
        assert status == 401 and json.loads(body) == {"message": "Unauthorized"}
    assert gateway.seen == []


def test_a_valid_token_reaches_the_function_with_claims_formatted_as_api_gateway_does(gateway):
    status, headers, body = gateway.handle(
        "GET", "/api/runs?limit=5&x=1&x=2", {"Authorization": f"Bearer {token(KEY, groups=['admin', 'agent'])}",
                                             "Cookie": "s=abc; t=def", "Host": "localhost:3000"}, b"")
    assert status == 200 and json.loads(body) == {"ok": True}
    assert [v for k, v in headers if k == "set-cookie"] == ["a=1; HttpOnly", "b=2"]
    function, event = gateway.seen[0]
    assert function == "Api" and event["version"] == "2.0" and event["routeKey"] == "ANY /api/{proxy+}"
    assert event["rawPath"] == "/api/runs" and event["queryStringParameters"] == {"limit": "5", "x": "1,2"}
    assert event["pathParameters"] == {"proxy": "runs"} and event["cookies"] == ["s=abc", "t=def"]
    assert "cookie" not in event["headers"] and event["requestContext"]["domainName"] == "localhost:3000"
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["cognito:groups"] == "[admin agent]" and claims["client_id"] == SETTINGS.client_id


def test_a_route_without_the_authorizer_passes_without_a_token_and_without_an_authorizer_context(gateway):
    status, _, _ = gateway.handle("POST", "/api/auth/sign-in", {"Content-Type": "application/json"}, b'{"a": 1}')
    assert status == 200
    event = gateway.seen[0][1]
    assert "authorizer" not in event["requestContext"] and event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False


def test_binary_bodies_go_base64_and_come_back_decoded(gateway):
    gateway.handle("GET", "/", {"Content-Type": "application/octet-stream"}, b"\x00\xff")
    event = gateway.seen[0][1]
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\x00\xff"
    status, _, body = _response({"statusCode": 201, "body": base64.b64encode(b"\x89PNG").decode(),
                                 "isBase64Encoded": True, "headers": {"Content-Type": "image/png"}})
    assert status == 201 and body == b"\x89PNG"
    assert _response({"hello": "world"})[0] == 200  # a bare value: 200 JSON, as API Gateway treats it


def test_an_unknown_path_is_404(gateway):
    assert gateway.handle("GET", "/nope", {}, b"")[0] == 404


def test_references_to_the_user_pool_are_replaced_by_the_created_ids():
    values = {("UserPool", "Ref"): "us-east-1_X", ("UserPool", "Arn"): "arn:pool", ("Client", "Ref"): "cid"}
    node = {"A": {"Ref": "UserPool"}, "B": {"Fn::GetAtt": ["UserPool", "Arn"]},
            "C": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
            "D": [{"Ref": "Client"}, {"Ref": "Other"}]}
    assert _resolve(node, values) == {"A": "us-east-1_X", "B": "arn:pool",
                                      "C": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/us-east-1_X"},
                                      "D": ["cid", {"Ref": "Other"}]}
