"""Nobody is let in without a valid token, nor past their groups, on every route of the API: the routes are
read from the generated OpenAPI document (so a new route is covered by existing), the requests go through the
local HttpApi gateway (the template's routes and JWT authorizer) to the API function in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.api_client import USERS, ApiClient, minted
from tests.support.local import start_stack
from tests.unit.api.openapi_ops import DOCUMENT, denied_groups, operations, sample_body, sample_path

DOC = json.loads(DOCUMENT.read_text(encoding="utf-8"))
OPS = operations(DOC)
GUARDED = [o for o in OPS if o["permission"] != "public"]
USER_OF = {"admin": "admin@example.com", "supervisor": "supervisor@example.com", "collector": "agent-en",
           "agent": "agent@example.com"}


@pytest.fixture(scope="module")
def api() -> Iterator[ApiClient]:
    stack = start_stack()
    client = ApiClient(stack)
    client.add_users()
    yield client
    stack.stop()


def request(api: ApiClient, o: dict, token: str | None):
    return api.call(o["method"], sample_path(o["path"]), sample_body(o["op"], DOC), token=token)


def ids(ops):
    return [o["id"] for o in ops]


@pytest.mark.parametrize("o", GUARDED, ids=ids(GUARDED))
def test_without_a_token_every_route_is_401(api, o):
    r = request(api, o, None)
    assert r.status == 401 and r.json() == {"message": "Unauthorized"}


BAD_TOKENS = {
    "expired": lambda s: minted(s, expires_in=-120),
    "wrong audience": lambda s: minted(s, client_id="some-other-client"),
    "wrong issuer": lambda s: minted(s, issuer="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
    "wrong signature": lambda s: minted(s, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    "not a jwt": lambda s: "definitely-not-a-token",
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
@pytest.mark.parametrize("o", GUARDED, ids=ids(GUARDED))
def test_with_a_bad_token_every_route_is_401(api, o, kind):
    r = request(api, o, BAD_TOKENS[kind](api.stack))
    assert r.status == 401, (kind, r.status, r.body)


def test_a_validly_signed_minted_token_is_accepted_so_the_bad_token_cases_fail_for_their_own_reason(api):
    assert api.call("GET", "/api/me", token=minted(api.stack, groups=["agent"])).status == 200


DENIED = [(o, g) for o in GUARDED for g in denied_groups(o)]


@pytest.mark.parametrize("o, group", DENIED, ids=[f"{o['id']} as {g}" for o, g in DENIED])
def test_a_signed_in_user_of_a_group_the_route_does_not_allow_gets_403(api, o, group):
    r = request(api, o, api.sign_in(USER_OF[group]))
    assert r.status == 403, (r.status, r.body)


@pytest.mark.parametrize("o", GUARDED, ids=ids(GUARDED))
def test_a_signed_in_user_in_no_group_gets_403_everywhere(api, o):
    assert request(api, o, api.sign_in("nogroup@example.com")).status == 403


ALLOWED = [(o, g) for o in GUARDED for g in o["groups"]]


@pytest.mark.parametrize("o, group", ALLOWED, ids=[f"{o['id']} as {g}" for o, g in ALLOWED])
def test_a_user_of_an_allowed_group_gets_past_the_guard(api, o, group):
    r = request(api, o, api.sign_in(USER_OF[group]))
    # past the guard, a use case's own stage rule may still refuse (a 403 that says it is the stage's)
    assert r.status != 401 and (r.status != 403 or r.json().get("rule") == "stage"), (r.status, r.body)
    assert r.status < 500, (r.status, r.body)


SIGN_IN = [o for o in OPS if o["permission"] == "public" and o["path"].startswith("/api/auth/")]


@pytest.mark.parametrize("o", SIGN_IN, ids=ids(SIGN_IN))
def test_sign_in_routes_need_no_token_but_refuse_wrong_credentials(api, o):
    r = request(api, o, None)
    assert r.status == 401 and "refused" in r.json()["message"]


def test_a_wrong_password_is_refused_without_saying_whether_the_user_exists(api):
    known = api.call("POST", "/api/auth/sign-in", {"username": "agent-en", "password": "Wrong-Passw0rd-1"})
    unknown = api.call("POST", "/api/auth/sign-in", {"username": "ghost@example.com", "password": "Wrong-Passw0rd-1"})
    assert known.status == unknown.status == 401 and known.json() == unknown.json()


def test_the_openapi_document_is_served_to_signed_in_users_only(api):
    assert api.call("GET", "/openapi.json").status == 401
    r = api.call("GET", "/openapi.json", token=api.sign_in("agent@example.com"))
    assert r.status == 200 and r.json()["paths"] == DOC["paths"]


def test_an_unknown_route_is_404(api):
    assert api.call("GET", "/nowhere").status == 404


def test_the_refresh_token_gives_new_tokens(api):
    r = api.call("POST", "/api/auth/sign-in", {"username": USERS[0].username, "password": USERS[0].password})
    tokens = r.json()
    again = api.call("POST", "/api/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert again.status == 200
    assert api.call("GET", "/api/me", token=again.json()["access_token"]).json()["groups"] == ["admin"]


def test_users_add_creates_a_user_in_a_group_who_can_then_sign_in(api, capsys):
    from dunning_ops.cli.main import main

    assert main(["--endpoint-url", api.stack.endpoint, "--json", "users", "add", "new.collector@example.com",
                 "--group", "collector", "--username", "agent-zz"]) == 0
    # in-process functions of earlier tests, still draining the stack's streams, may print their own (EMF) lines
    # into the same captured stdout: decode the CLI's document where it starts
    raw = capsys.readouterr().out
    out, _ = json.JSONDecoder().raw_decode(raw[raw.index('{\n  "username"'):])
    assert out["created"] and out["groups"] == ["collector"] and len(out["password"]) == 16
    me = api.call("GET", "/api/me", token=api.sign_in("agent-zz", out["password"])).json()
    assert me["username"] == "agent-zz" and me["groups"] == ["collector"]
    assert main(["--endpoint-url", api.stack.endpoint, "users", "add", "not-an-email", "--group", "agent"]) == 2
    assert main(["--endpoint-url", api.stack.endpoint, "users", "add", "weak@example.com", "--group", "agent",
                 "--password", "short"]) == 2  # the pool's password policy


def test_dunning_api_openapi_prints_the_committed_document(capsys):
    from dunning_ops.cli.main import main

    assert main(["api", "openapi"]) == 0
    assert json.loads(capsys.readouterr().out) == DOC
