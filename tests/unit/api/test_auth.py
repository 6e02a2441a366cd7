"""Token verification (PyJWT against a local JWKS) and the group -> permission table."""

from __future__ import annotations

import pytest

from dunning.auth import (
    GROUP_PERMISSIONS,
    Forbidden,
    Group,
    Permission,
    TokenVerifier,
    Unauthorized,
    bearer,
    parse_groups,
    principal_from_claims,
)
from tests.unit.api.jwks import SETTINGS, KeyPair, LocalJwks, token

KEY = KeyPair("key-1")
OTHER = KeyPair("key-2")


@pytest.fixture(scope="module")
def verifier() -> TokenVerifier:
    return TokenVerifier(SETTINGS, LocalJwks(KEY))


@pytest.mark.parametrize("use", ["access", "id"])
def test_given_a_valid_token_then_the_principal_has_its_user_and_groups(verifier, use):
    p = verifier.verify(token(KEY, use=use, groups=["collector"], username="agent-en"))
    assert p.username == "agent-en" and p.groups == {Group.COLLECTOR}
    assert p.can(Permission.ACTIVITIES_OWN) and not p.can(Permission.RUNS_START)


@pytest.mark.parametrize("bad, why", [
    (lambda: token(KEY, expires_in=-60), "expired"),
    (lambda: token(KEY, client="another-client"), "access token of another client"),
    (lambda: token(KEY, use="id", client="another-client"), "id token of another client"),
    (lambda: token(KEY, issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"), "other pool"),
    (lambda: token(OTHER, kid="key-1"), "signed with another key under our key id"),
    (lambda: token(OTHER), "key id not in the pool's JWKS"),
    (lambda: token(KEY, use="refresh"), "not an id or access token"),
    (lambda: token(KEY)[:-4] + "AAAA", "signature tampered"),
    (lambda: "not-a-jwt", "garbage"),
    (lambda: "", "empty"),
])
def test_given_a_bad_token_then_it_is_unauthorized(verifier, bad, why):
    with pytest.raises(Unauthorized):
        verifier.verify(bad())


def test_an_unsigned_token_is_refused(verifier):
    import jwt

    unsigned = jwt.encode({"iss": SETTINGS.issuer, "sub": "x", "token_use": "access", "client_id": SETTINGS.client_id,
                           "iat": 1, "exp": 9999999999}, key=None, algorithm="none", headers={"kid": "key-1"})
    with pytest.raises(Unauthorized):
        verifier.verify(unsigned)


def test_a_token_whose_claims_were_changed_after_signing_is_refused(verifier):
    import base64
    import json

    header, payload, sig = token(KEY, groups=["agent"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["cognito:groups"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(Unauthorized):
        verifier.verify(f"{header}.{forged}.{sig}")


def test_groups_come_as_a_list_from_tokens_and_as_a_bracketed_string_from_api_gateway():
    assert parse_groups(["admin", "collector"]) == {Group.ADMIN, Group.COLLECTOR}
    assert parse_groups("[admin collector]") == {Group.ADMIN, Group.COLLECTOR}
    assert parse_groups("[unknown]") == frozenset() and parse_groups(None) == frozenset()


def test_a_principal_without_a_permission_is_forbidden():
    p = principal_from_claims({"sub": "s", "username": "u", "cognito:groups": "[agent]"})
    with pytest.raises(Forbidden):
        p.require(Permission.CONFIG_WRITE)
    p.require(Permission.CONTACTS_CREATE)


def test_only_admins_change_the_configuration_and_admins_can_do_everything():
    assert [g for g in Group if Permission.CONFIG_WRITE in GROUP_PERMISSIONS[g]] == [Group.ADMIN]
    assert GROUP_PERMISSIONS[Group.ADMIN] == frozenset(Permission)


def test_bearer_takes_the_token_out_of_an_authorization_header():
    assert bearer("Bearer abc") == "abc" and bearer("bearer  abc ") == "abc" and bearer("abc") == "abc"
    assert bearer(None) == ""
