"""A cookie-keeping HTTP client for the console (the browser tests' HTTP-level checks and the page-weight
benchmark): it signs in through the sign-in form and does not follow redirects, to see what the console answers."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class Client:
    """A cookie-keeping HTTP client that does not follow redirects (to see what the console answers)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """(status, headers with lower-case names, body text)."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data) as answer:
                return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode()

    def csrf(self, path: str) -> str:
        _, _, body = self.request(path)
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', body)
        assert found, body[:500]
        return found.group(1)

    def sign_in(self, user: Any) -> None:
        token = self.csrf("/console/sign-in")
        status, _, _ = self.request("/console/sign-in", {"csrf": token, "email": user.username,
                                                               "password": user.password, "next": "/console"})
        assert status == 303, status

    def raw(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base + path) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def page_weight(self, path: str) -> tuple[int, int, int]:
        """(status, bytes of the HTML, bytes of the same-origin assets it loads: stylesheets, scripts, images)."""
        status, body = self.raw(path)
        text = body.decode("utf-8", "replace")
        assets = set(re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', text))
        assets |= set(re.findall(r'<(?:script|img)[^>]+src="(/[^"]+)"', text))
        return status, len(body), sum(len(self.raw(a)[1]) for a in assets if a.startswith("/"))
