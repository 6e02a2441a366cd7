"""The HttpApi and the user pool on the embedded stack: what ``sam local start-api`` does, in-process.

moto's CloudFormation has neither Cognito nor API Gateway v2 resources, so two local steps stand in for them:

* :func:`provision_identity` creates the template's user pool, app client and groups through moto's Cognito API
  before the stack is deployed, and puts their ids wherever the template refers to them (the functions'
  environment, the authorizer's issuer and audience, the outputs). The HttpApi's own resources are left out.
* :class:`HttpApiGateway` serves the HttpApi on a local port. Its routes are the ``HttpApi`` events of the
  template's functions; a request becomes an API Gateway payload 2.0 event and goes to the function's handler
  in-process (through :class:`~dunning_ops.local.runtime.InProcessRuntime`, with the function's own
  environment). Routes under the default JWT authorizer get what API Gateway does: the bearer token is verified
  (signature against moto's JWKS, issuer, audience / client_id, expiry) or the answer is 401 before the
  function runs, and the claims reach the function in ``requestContext.authorizer.jwt.claims`` formatted the
  way API Gateway formats them (arrays as ``"[a b]"``). Routes with ``Authorizer: NONE`` pass straight through.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3

from dunning.app.deps import user_pool
from dunning.auth import AuthSettings, TokenVerifier, Unauthorized, bearer
from dunning_ops.local.names import ACCOUNT, REGION

COGNITO_TYPES = ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup")
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml",
              "application/javascript")


# ---------------------------------------------------------------------------------------------- identity
@dataclass
class LocalIdentity:
    user_pool_id: str
    client_id: str
    issuer: str
    groups: list[str]


def provision_identity(cfn: dict[str, Any], endpoint: str, region: str, account: str,
                       stack_name: str) -> tuple[dict[str, Any], LocalIdentity | None]:
    """Create the template's Cognito resources in moto; return the template with them (and the HttpApi's
    API Gateway v2 resources) taken out and every reference to them replaced by the created ids."""
    resources = cfn.get("Resources", {})
    pools = [k for k, r in resources.items() if r["Type"] == "AWS::Cognito::UserPool"]
    if not pools:
        return cfn, None
    if len(pools) > 1:
        raise ValueError("the local stack supports one Cognito user pool")
    idp = boto3.client("cognito-idp", endpoint_url=endpoint, region_name=region)
    values: dict[tuple[str, str], str] = {}  # (logical id, "Ref" | attribute) -> value
    pool_logical = pools[0]
    props = resources[pool_logical]["Properties"]
    name = str(props.get("UserPoolName") or pool_logical)
    if isinstance(props.get("UserPoolName"), dict):  # !Sub "${AWS::StackName}-users"
        name = str(props["UserPoolName"].get("Fn::Sub", pool_logical)).replace("${AWS::StackName}", stack_name)
    pool_args: dict[str, Any] = {"PoolName": name}
    for key in ("Policies", "AutoVerifiedAttributes", "AdminCreateUserConfig", "Schema", "UsernameAttributes",
                "MfaConfiguration"):
        if key in props:
            pool_args[key] = _bools(props[key])
    pool = idp.create_user_pool(**pool_args)["UserPool"]
    values[(pool_logical, "Ref")] = pool["Id"]
    values[(pool_logical, "Arn")] = pool["Arn"]
    values[(pool_logical, "ProviderURL")] = f"cognito-idp.{region}.amazonaws.com/{pool['Id']}"
    client_id = ""
    groups = []
    for logical, r in resources.items():
        p = r.get("Properties", {})
        if r["Type"] == "AWS::Cognito::UserPoolClient":
            c = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName=str(p.get("ClientName", logical)),
                                            GenerateSecret=bool(p.get("GenerateSecret", False)),
                                            ExplicitAuthFlows=list(p.get("ExplicitAuthFlows", [])))["UserPoolClient"]
            values[(logical, "Ref")] = client_id = c["ClientId"]
        elif r["Type"] == "AWS::Cognito::UserPoolGroup":
            idp.create_group(UserPoolId=pool["Id"], GroupName=p["GroupName"], Description=p.get("Description", ""))
            values[(logical, "Ref")] = p["GroupName"]
            groups.append(p["GroupName"])
    for logical, r in resources.items():
        if r["Type"] == "AWS::ApiGatewayV2::Api":
            values[(logical, "Ref")] = "local-http-api"
            values[(logical, "ApiEndpoint")] = "http://127.0.0.1"
    out = copy.deepcopy(cfn)
    out["Resources"] = {k: _resolve(v, values) for k, v in out["Resources"].items()
                        if v["Type"] not in COGNITO_TYPES and not v["Type"].startswith("AWS::ApiGatewayV2::")}
    out["Outputs"] = {k: _resolve(v, values) for k, v in out.get("Outputs", {}).items()}
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool['Id']}"
    return out, LocalIdentity(pool["Id"], client_id, issuer, groups)


def _bools(node: Any) -> Any:
    """CloudFormation writes booleans as strings or booleans; the API wants booleans."""
    if isinstance(node, dict):
        return {k: _bools(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_bools(v) for v in node]
    if node in ("true", "false"):
        return node == "true"
    return node


def _resolve(node: Any, values: dict[tuple[str, str], str]) -> Any:
    if isinstance(node, list):
        return [_resolve(v, values) for v in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and (node["Ref"], "Ref") in values:
        return values[(node["Ref"], "Ref")]
    if set(node) == {"Fn::GetAtt"}:
        logical, attr = node["Fn::GetAtt"] if isinstance(node["Fn::GetAtt"], list) else node["Fn::GetAtt"].split(".")
        if (logical, attr) in values:
            return values[(logical, attr)]
    if set(node) == {"Fn::Sub"}:
        sub = node["Fn::Sub"]
        text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])

        def replace(m: re.Match[str]) -> str:
            name = m.group(1)
            logical, _, attr = name.partition(".")
            if name not in variables and (logical, attr or "Ref") in values:
                return values[(logical, attr or "Ref")]
            return m.group(0)

        text = re.sub(r"\$\{([A-Za-z0-9_.:]+)\}", replace, text)
        variables = {k: _resolve(v, values) for k, v in variables.items()}
        return {"Fn::Sub": [text, variables] if variables else text}
    return {k: _resolve(v, values) for k, v in node.items()}


# ---------------------------------------------------------------------------------------------- routes
@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, ... or ANY
    path: str  # /api/{proxy+}
    function: str  # logical id
    authorized: bool  # under the JWT authorizer

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        parts, want = [p for p in path.split("/") if p], [p for p in self.path.split("/") if p]
        params: dict[str, str] = {}
        for i, seg in enumerate(want):
            if seg.startswith("{") and seg.endswith("+}"):
                if i >= len(parts):
                    return None
                params[seg[1:-2]] = "/".join(parts[i:])
                return params
            if i >= len(parts):
                return None
            if seg.startswith("{") and seg.endswith("}"):
                params[seg[1:-1]] = parts[i]
            elif seg != parts[i]:
                return None
        return params if len(parts) == len(want) else None

    def specificity(self) -> tuple[int, int, int]:
        """API Gateway prefers exact segments over {param} over {proxy+}, and a method over ANY."""
        segs = [p for p in self.path.split("/") if p]
        greedy = any(s.endswith("+}") for s in segs)
        literal = sum(1 for s in segs if not s.startswith("{"))
        return (0 if greedy else 1, literal, 0 if self.method == "ANY" else 1)


def template_routes(sam: dict[str, Any]) -> list[Route]:
    """The HttpApi events of the template's functions (the API's default authorizer applies unless an event
    says ``Auth: {Authorizer: NONE}``)."""
    apis = {k: r for k, r in sam.get("Resources", {}).items() if r["Type"] == "AWS::Serverless::HttpApi"}
    routes = []
    for logical, r in sam.get("Resources", {}).items():
        if r["Type"] != "AWS::Serverless::Function":
            continue
        for event in (r.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            p = event.get("Properties", {})
            api_ref = p.get("ApiId", {})
            api = apis.get(api_ref.get("Ref", "") if isinstance(api_ref, dict) else "", {})
            default = (api.get("Properties", {}).get("Auth") or {}).get("DefaultAuthorizer")
            chosen = (p.get("Auth") or {}).get("Authorizer", default)
            routes.append(Route(str(p.get("Method", "ANY")).upper().replace("X-AMAZON-APIGATEWAY-ANY-METHOD", "ANY"),
                                p.get("Path", "/"), logical, bool(chosen) and chosen != "NONE"))
    return routes


def _claims_as_api_gateway(claims: dict[str, Any]) -> dict[str, str]:
    """API Gateway hands JWT claims to the function as strings; arrays become ``[a b]``."""
    out = {}
    for k, v in claims.items():
        if isinstance(v, list):
            out[k] = "[" + " ".join(str(x) for x in v) + "]"
        elif isinstance(v, bool):
            out[k] = "true" if v else "false"
        else:
            out[k] = str(v)
    return out


# ---------------------------------------------------------------------------------------------- gateway
class HttpApiGateway:
    def __init__(self, routes: list[Route], invoke: Any, verifier: TokenVerifier | None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes = sorted(routes, key=lambda r: r.specificity(), reverse=True)
        self.invoke = invoke  # (function logical id, event) -> (payload json, errored)
        self.verifier = verifier
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self.host, self.port = host, int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HttpApiGateway:
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ one request
    def route_for(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes,
               source_ip: str = "127.0.0.1") -> tuple[int, list[tuple[str, str]], bytes]:
        """One HTTP request -> (status, headers, body), as API Gateway would answer it."""
        url = urlsplit(target)
        path = url.path or "/"
        found = self.route_for(method, path)
        if found is None:
            return _json(404, {"message": "Not Found"})
        route, params = found
        lower = {k.lower(): v for k, v in headers.items()}
        authorizer = None
        if route.authorized:
            if self.verifier is None:
                return _json(500, {"message": "no user pool to verify tokens against"})
            try:
                claims = self.verifier.claims(bearer(lower.get("authorization")))
            except Unauthorized:
                return _json(401, {"message": "Unauthorized"}, [("www-authenticate", "Bearer")])
            authorizer = {"jwt": {"claims": _claims_as_api_gateway(claims),
                                  "scopes": str(claims.get("scope", "")).split() or None}}
        event = self._event(route, params, method, url.path, url.query, lower, body, source_ip, authorizer)
        payload, errored = self.invoke(route.function, event)
        if errored:
            return _json(500, {"message": "Internal Server Error"})
        return _response(json.loads(payload) if payload else None)

    def _event(self, route: Route, params: dict[str, str], method: str, path: str, query: str,
               headers: dict[str, str], body: bytes, source_ip: str,
               authorizer: dict[str, Any] | None) -> dict[str, Any]:
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        qs: dict[str, str] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            qs[k] = f"{qs[k]},{v}" if k in qs else v  # payload 2.0 joins repeated parameters with commas
        ctype = headers.get("content-type", "")
        text = any(ctype.startswith(t) for t in TEXT_TYPES)
        now = datetime.now(UTC)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local-http-api",
                "domainName": headers.get("host", f"{self.host}:{self.port}"),
                "domainPrefix": "local",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                         "userAgent": headers.get("user-agent", "")},
                "requestId": uuid.uuid4().hex,
                "routeKey": route.route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        if qs:
            event["queryStringParameters"] = qs
        if params:
            event["pathParameters"] = params
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        if body:
            try:
                event["body"] = body.decode("utf-8") if text else base64.b64encode(body).decode("ascii")
                event["isBase64Encoded"] = not text
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
        return event

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, out = gateway.handle(self.command, self.path, dict(self.headers.items()), body,
                                                      self.client_address[0])
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:  # no request lines on stderr
                return

        return Handler


def _json(status: int, body: Any, headers: list[tuple[str, str]] | None = None
          ) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("content-type", "application/json"), *(headers or [])], json.dumps(body).encode()


def _response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A payload 2.0 response: a dict with statusCode (headers, cookies, body, isBase64Encoded), or anything
    else as a 200 JSON body."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return _json(200, result)
    headers = [(k.lower(), str(v)) for k, v in (result.get("headers") or {}).items()]
    for k, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((k.lower(), str(v)) for v in values)
    headers.extend(("set-cookie", c) for c in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    return int(result["statusCode"]), headers, body


def start_gateway(stack: Any, port: int | None = None, host: str = "127.0.0.1") -> HttpApiGateway:
    """Serve ``stack``'s HttpApi (a :class:`~dunning_ops.local.stack.LocalStack`) on ``port`` (0: a free one)."""
    from moto.awslambda.models import lambda_backends

    identity: LocalIdentity | None = getattr(stack, "identity", None)
    verifier = None
    if identity is not None:
        verifier = TokenVerifier(AuthSettings(user_pool_id=identity.user_pool_id, client_id=identity.client_id,
                                              issuer=identity.issuer, endpoint_url=stack.endpoint))
    backend = lambda_backends[ACCOUNT][REGION]

    def invoke(logical_id: str, event: dict[str, Any]) -> tuple[str, bool]:
        fn = backend.get_function(stack.resources[logical_id])
        payload, errored, _logs = stack.runtime.invoke(fn, event)
        return payload, errored

    gateway = HttpApiGateway(template_routes(stack.template.sam), invoke, verifier, host, port or 0).start()
    for _ in range(50):  # the server is listening once its thread runs
        if gateway._thread is not None and gateway._thread.is_alive():
            break
        time.sleep(0.01)
    return gateway


# ---------------------------------------------------------------------------------------------- demo users
DEMO_PASSWORD = "Demo-Passw0rd!"  # noqa: S105 - the local stack only: printed by `dunning local up --demo`


@dataclass(frozen=True)
class DemoUser:
    username: str
    email: str
    group: str
    password: str = DEMO_PASSWORD


# The demo collector's user name is a demo collections agent with open activities after the demo run (the run
# assigns an account's activities to its collections agent; the demo's are per language).
DEMO_USERS = (DemoUser("admin@example.com", "admin@example.com", "admin"),
              DemoUser("supervisor@example.com", "supervisor@example.com", "supervisor"),
              DemoUser("agent-pt-BR", "collector@example.com", "collector"),
              DemoUser("agent@example.com", "agent@example.com", "agent"))


def add_demo_users(stack: Any, users: tuple[DemoUser, ...] = DEMO_USERS) -> list[DemoUser]:
    """One user per group in the local stack's pool."""
    identity: LocalIdentity = stack.identity
    pool = user_pool(identity.user_pool_id, identity.client_id)
    for u in users:
        pool.add_user(u.username, u.email, u.password, [u.group])
    return list(users)
