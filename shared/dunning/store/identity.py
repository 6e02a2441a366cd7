"""The Cognito user pool: signing in (the app client's USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH flows) and
the operator's user administration. Errors come back as :class:`SignInFailed` / :class:`IdentityError` with
messages that name no user."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from dunning.aws import RETRY_CONFIG, client

SIGN_IN_REFUSED = {"NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException",
                   "PasswordResetRequiredException"}


def _public_client() -> Any:
    """InitiateAuth with a public app client is an unauthenticated call: made unsigned, it needs (and gets) no
    IAM permission. Same endpoint and region as the signed client."""
    signed = client("cognito-idp")
    return _unsigned(signed.meta.endpoint_url, signed.meta.region_name)


@lru_cache(maxsize=4)
def _unsigned(endpoint: str, region: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client("cognito-idp", endpoint_url=endpoint, region_name=region,
                          config=RETRY_CONFIG.merge(Config(signature_version=UNSIGNED)))


class SignInFailed(Exception):
    """Wrong user name or password (never says which), or the user may not sign in yet."""


class IdentityError(RuntimeError):
    """A user-pool call failed."""


class UserPool:
    def __init__(self, user_pool_id: str, client_id: str) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    def password_auth(self, username: str, password: str) -> dict[str, Any]:
        return self._auth("USER_PASSWORD_AUTH", {"USERNAME": username, "PASSWORD": password})

    def refresh_auth(self, refresh_token: str) -> dict[str, Any]:
        return self._auth("REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh_token})

    def _auth(self, flow: Literal["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"], params: dict[str, str]
              ) -> dict[str, Any]:
        try:
            resp = _public_client().initiate_auth(ClientId=self.client_id, AuthFlow=flow, AuthParameters=params)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in SIGN_IN_REFUSED:
                raise SignInFailed("sign-in refused") from exc
            raise IdentityError(f"InitiateAuth failed: {exc.response['Error']['Code']}") from exc
        if "AuthenticationResult" not in resp:  # a challenge (e.g. NEW_PASSWORD_REQUIRED)
            raise SignInFailed(f"sign-in needs {resp.get('ChallengeName', 'a challenge')} first")
        result: dict[str, Any] = dict(resp["AuthenticationResult"])
        return result

    # ------------------------------------------------------------------ administration (operator tools)
    def add_user(self, username: str, email: str, password: str, groups: list[str]) -> bool:
        """Create the user with a permanent password (or set it when the user exists) and add it to ``groups``.
        Returns True when the user was created."""
        idp = client("cognito-idp")
        created = True
        try:
            idp.admin_create_user(UserPoolId=self.user_pool_id, Username=username, MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": email},
                                                  {"Name": "email_verified", "Value": "true"}])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "UsernameExistsException":
                raise IdentityError(f"AdminCreateUser failed: {exc.response['Error']['Message']}") from exc
            created = False
        try:
            idp.admin_set_user_password(UserPoolId=self.user_pool_id, Username=username, Password=password,
                                        Permanent=True)
            for group in groups:
                idp.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=username, GroupName=group)
        except ClientError as exc:
            raise IdentityError(f"{exc.operation_name} failed: {exc.response['Error']['Message']}") from exc
        return created

    def user_groups(self, username: str) -> list[str]:
        try:
            resp = client("cognito-idp").admin_list_groups_for_user(UserPoolId=self.user_pool_id, Username=username)
        except ClientError as exc:
            raise IdentityError(f"AdminListGroupsForUser failed: {exc.response['Error']['Code']}") from exc
        return sorted(g["GroupName"] for g in resp.get("Groups", []))
