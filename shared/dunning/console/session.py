"""One console request's session: who is signed in (the access-token cookie, verified by :mod:`dunning.auth`,
renewed with the refresh token when it has expired), the page language, the CSRF token, and the cookies the
response must set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

from aws_lambda_powertools.shared.cookies import Cookie

from dunning.app.sessions import SignInFailed, Tokens, refresh_tokens
from dunning.auth import Permission, Principal, Unauthorized, verify_token
from dunning.console import security
from dunning.console.i18n import Messages, pick_language
from dunning.store.identity import UserPool

SESSION_HOURS = 8  # how long the refresh cookie (and so the console session) lasts: a working day
LANGUAGE_DAYS = 365


class SignInRequired(Exception):
    """No valid session: the response is a redirect to the sign-in page (back to ``next`` afterwards)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path


class NotAllowed(Exception):
    """Signed in, but the user's groups do not allow the page (a 403 page)."""

    def __init__(self, permission: Permission) -> None:
        super().__init__(f"not allowed: {permission.value}")
        self.permission = permission


class BadForm(Exception):
    """A form without a valid CSRF token, or with a field that does not fit."""


@dataclass
class RequestSession:
    policy: security.CookiePolicy
    cookies: dict[str, str]
    query: dict[str, str]
    path: str
    accept_language: str | None = None
    set_cookies: list[Cookie] = field(default_factory=list)
    principal: Principal | None = None
    _messages: Messages | None = None

    # ------------------------------------------------------------------ language
    @property
    def messages(self) -> Messages:
        """The page language: ``?lang=`` (then kept in a cookie), the cookie, the browser's, English."""
        if self._messages is None:
            asked = self.query.get("lang")
            language = pick_language([asked, self.cookie(security.LANGUAGE)], self.accept_language)
            if asked == language and self.cookie(security.LANGUAGE) != language:
                self.set_cookies.append(self.policy.set(security.LANGUAGE, language,
                                                        max_age=LANGUAGE_DAYS * 86400))
            self._messages = Messages(language)
        return self._messages

    # ------------------------------------------------------------------ cookies
    def cookie(self, base: str) -> str | None:
        return self.cookies.get(self.policy.name(base)) or None

    def session_id(self) -> str:
        """The session id, issuing one (pre-session, for the sign-in form's CSRF token) when there is none."""
        sid = self.cookie(security.SID)
        if not sid:
            sid = security.new_session_id()
            self.cookies[self.policy.name(security.SID)] = sid
            self.set_cookies.append(self.policy.set(security.SID, sid, max_age=SESSION_HOURS * 3600))
        return sid

    @property
    def csrf(self) -> str:
        return security.csrf_token(self.session_id())

    def check_csrf(self, form: dict[str, str]) -> None:
        if not security.csrf_ok(self.cookie(security.SID), form.get("csrf")):
            raise BadForm("the form has expired or did not come from this console; reload the page and try again")

    def start(self, tokens: Tokens) -> None:
        """Signed in: the tokens in cookies, and a new session id (the pre-session one is dropped)."""
        sid = security.new_session_id()
        self.cookies[self.policy.name(security.SID)] = sid
        self.set_cookies.extend([
            self.policy.set(security.SESSION, tokens.access_token, max_age=SESSION_HOURS * 3600),
            self.policy.set(security.SID, sid, max_age=SESSION_HOURS * 3600),
        ])
        if tokens.refresh_token:
            self.set_cookies.append(self.policy.set(security.REFRESH, tokens.refresh_token,
                                                    max_age=SESSION_HOURS * 3600))

    def end(self) -> None:
        self.set_cookies.extend(self.policy.clear(name) for name in (security.SESSION, security.REFRESH, security.SID))

    # ------------------------------------------------------------------ who
    def user(self, pool: UserPool) -> Principal:
        """The signed-in user, or :class:`SignInRequired`. An expired access token is renewed once with the
        refresh token (the new one is set in the response)."""
        if self.principal is not None:
            return self.principal
        token = self.cookie(security.SESSION)
        try:
            if not token:
                raise Unauthorized("no session")
            self.principal = verify_token(token)
        except Unauthorized:
            self.principal = self._refreshed(pool)
        if self.principal is None:
            raise SignInRequired(self.path)
        return self.principal

    def _refreshed(self, pool: UserPool) -> Principal | None:
        refresh = self.cookie(security.REFRESH)
        if not refresh or not self.cookie(security.SID):
            return None
        try:
            tokens = refresh_tokens(pool, refresh)
            principal = verify_token(tokens.access_token)
        except (SignInFailed, Unauthorized):
            return None
        self.set_cookies.append(self.policy.set(security.SESSION, tokens.access_token,
                                                max_age=SESSION_HOURS * 3600))
        return principal

    def require(self, pool: UserPool, permission: Permission) -> Principal:
        principal = self.user(pool)
        if not principal.can(permission):
            raise NotAllowed(permission)
        return principal


def parse_form(body: str | None) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body: the first value of each field."""
    return {k: v[0] for k, v in parse_qs(body or "", keep_blank_values=True, max_num_fields=50).items()}


def sign_in_location(next_path: str) -> str:
    return f"{security.SIGN_IN_PATH}?next={quote(security.safe_next(next_path), safe='/')}"


def query_of(params: dict[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (params or {}).items()}
