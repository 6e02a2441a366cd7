"""The console's routes in-process (API Gateway payload 2.0 events), for what needs no AWS: the sign-in page and
its headers, CSRF on the sign-in form, redirects without a session, static assets, the language cookie."""

from __future__ import annotations

import re
from typing import Any

from dunning.console.routes import resolve
from dunning.settings import ConsoleSettings

SETTINGS = ConsoleSettings.model_validate({
    "LEDGER_TABLE": "ledger", "CONTACTS_TABLE": "contacts", "RUNS_TABLE": "runs", "RUNS_BUCKET": "runs-bucket",
    "LETTERS_BUCKET": "letters-bucket", "COGNITO_USER_POOL_ID": "pool", "COGNITO_CLIENT_ID": "client",
    "COGNITO_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/pool", "CONSOLE_SECURE_COOKIES": "true"})


class Context:
    function_name = "console"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:console"
    aws_request_id = "req-1"


def call(path: str, method: str = "GET", query: dict[str, str] | None = None, cookies: list[str] | None = None,
         body: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    event = {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
             "headers": {"accept-language": "en", **(headers or {})}, "queryStringParameters": query,
             "cookies": cookies or [], "isBase64Encoded": False, "body": body,
             "requestContext": {"http": {"method": method, "path": path, "sourceIp": "10.0.0.1", "userAgent": "t"},
                                "stage": "$default", "domainName": "console.example", "requestId": "r"}}
    return resolve(event, Context(), SETTINGS)


def test_the_sign_in_page_has_a_csrf_token_bound_to_a_new_secure_session_id():
    answer = call("/console/sign-in")
    assert answer["statusCode"] == 200
    (cookie,) = answer["cookies"]
    assert cookie.startswith("__Host-dunning_sid=") and "HttpOnly" in cookie and "Secure" in cookie
    assert "SameSite=Lax" in cookie
    assert re.search(r'name="csrf" value="[0-9a-f]{64}"', answer["body"])
    headers = answer["headers"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"


def test_a_sign_in_post_without_its_csrf_token_is_refused_before_cognito_is_asked():
    sid = call("/console/sign-in")["cookies"][0].split(";")[0]
    answer = call("/console/sign-in", "POST", cookies=[sid], body="email=a%40b.c&password=x&csrf=00",
                  headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer["statusCode"] == 400
    assert "The form could not be used" in answer["body"]


def test_without_a_session_a_page_redirects_to_sign_in_and_back():
    answer = call("/console/worklist")
    assert answer["statusCode"] == 303
    assert answer["headers"]["Location"] == "/console/sign-in?next=/console/worklist"
    assert call("/")["headers"]["Location"] == "/console"


def test_the_stylesheet_is_served_with_its_type_and_nothing_outside_static_is():
    css = call("/static/console.css")
    assert css["statusCode"] == 200 and css["headers"]["Content-Type"].startswith("text/css")
    assert "immutable" in css["headers"]["Cache-Control"]
    for name in ("..%2Fi18n.py", ".hidden", "nope.css", "i18n.py"):
        assert call(f"/static/{name}")["statusCode"] == 404, name


def test_choosing_a_language_keeps_it_in_a_cookie_and_arabic_pages_are_right_to_left():
    answer = call("/console/sign-in", query={"lang": "ar"})
    assert '<html lang="ar" dir="rtl">' in answer["body"]
    assert any(c.startswith("__Host-dunning_lang=ar") for c in answer["cookies"])
    again = call("/console/sign-in", cookies=["__Host-dunning_lang=ar"])
    assert 'dir="rtl"' in again["body"]


def test_an_unknown_page_is_a_404_page_not_an_error():
    answer = call("/console/no/such/page")
    assert answer["statusCode"] == 404 and "There is no such page." in answer["body"]
