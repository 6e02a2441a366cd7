"""The console's session cookies, CSRF tokens and security headers.

* **Session.** Signing in sets three HttpOnly, SameSite=Lax cookies: the user pool's access token (verified on
  every request by :mod:`dunning.auth`), the refresh token (sent only to the sign-in path, to renew an expired
  access token) and a random session id. With ``Secure`` on (AWS: the ``ConsoleSecureCookies`` parameter, on by
  default) the names carry the ``__Host-`` prefix, so the browser only takes them over HTTPS, for this host, for
  every path. The local gateway is plain http, so the local stack turns ``Secure`` off (a visible template
  parameter).
* **CSRF.** Every form carries ``HMAC-SHA256(session id, "dunning-console-csrf")``. The session id is an
  HttpOnly cookie another site can neither read nor set, so it cannot compute the token; the server recomputes it
  from the cookie and compares in constant time. The sign-in form gets a session id before anyone signs in, and
  signing in issues a new one (no fixation).
* **Headers.** A strict Content-Security-Policy (only this origin; no inline script or style; frames only from
  the letters bucket on the letter page; nobody may frame the console), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin`` and ``Cache-Control: no-store`` on pages.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

SESSION = "dunning_session"
REFRESH = "dunning_refresh"
SID = "dunning_sid"
LANGUAGE = "dunning_lang"
CSRF_CONTEXT = b"dunning-console-csrf"
SIGN_IN_PATH = "/console/sign-in"


@dataclass(frozen=True)
class CookiePolicy:
    secure: bool = True

    def name(self, base: str) -> str:
        return f"__Host-{base}" if self.secure else base

    def set(self, base: str, value: str, *, max_age: int | None = None, path: str = "/") -> Cookie:
        """One ``Set-Cookie``: HttpOnly, SameSite=Lax, Secure when the policy says so. ``__Host-`` cookies must
        have ``Path=/``, so the refresh cookie keeps its narrower path only without the prefix."""
        return Cookie(self.name(base), value, path="/" if self.secure else path, secure=self.secure, http_only=True,
                      max_age=max_age, same_site=SameSite.LAX_MODE)

    def clear(self, base: str, path: str = "/") -> Cookie:
        return self.set(base, "", max_age=0, path=path)


def parse_cookies(cookies: Iterable[str] | None, header: str | None = None) -> dict[str, str]:
    """Cookies as API Gateway (payload 2.0) passes them (``name=value`` each), or from a ``Cookie`` header."""
    pairs = list(cookies or [])
    if header:
        pairs.extend(header.split(";"))
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.strip().partition("=")
        if sep and name and name not in out:
            out[name] = value
    return out


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode("ascii", "replace"), CSRF_CONTEXT, hashlib.sha256).hexdigest()


def csrf_ok(session_id: str | None, submitted: str | None) -> bool:
    if not session_id or not submitted:
        return False
    return hmac.compare_digest(csrf_token(session_id), submitted)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL (the frame source a presigned letter URL needs)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def content_security_policy(frame_origin: str = "", form_origin: str = "") -> str:
    """``form_origin``: one more place forms may post to (the attachments bucket, on the upload page only)."""
    frames = frame_origin or "'none'"
    forms = f"'self' {form_origin}" if form_origin else "'self'"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            f"object-src 'none'; frame-src {frames}; child-src {frames}; frame-ancestors 'none'; base-uri 'none'; "
            f"form-action {forms}")


def page_headers(frame_origin: str = "") -> dict[str, str]:
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": content_security_policy(frame_origin),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def safe_next(target: str | None, default: str = "/console") -> str:
    """Where to go after signing in: only a path inside the console (no open redirect)."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target \
            and not target.startswith(SIGN_IN_PATH):
        return target
    return default
