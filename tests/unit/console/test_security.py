"""Session cookies, CSRF tokens and response headers of the console."""

from __future__ import annotations

from dunning.console import security


def test_secure_cookies_are_host_prefixed_http_only_same_site_and_secure():
    cookie = str(security.CookiePolicy(secure=True).set(security.SESSION, "tok", max_age=60))
    assert cookie.startswith("__Host-dunning_session=tok")
    for part in ("Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=60"):
        assert part in cookie


def test_without_secure_the_cookie_has_no_prefix_and_no_secure_flag_but_stays_http_only():
    cookie = str(security.CookiePolicy(secure=False).set(security.SESSION, "tok"))
    assert cookie.startswith("dunning_session=tok") and "Secure" not in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_clearing_a_cookie_expires_it():
    assert "Max-Age=0" in str(security.CookiePolicy(secure=False).clear(security.SID))


def test_the_csrf_token_is_bound_to_the_session_id():
    sid = security.new_session_id()
    token = security.csrf_token(sid)
    assert security.csrf_ok(sid, token)
    assert not security.csrf_ok(security.new_session_id(), token)
    assert not security.csrf_ok(sid, token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not security.csrf_ok(sid, None) and not security.csrf_ok(None, token)
    assert sid not in token


def test_the_csp_allows_only_this_origin_and_the_letter_frame_when_given():
    plain = security.content_security_policy()
    assert "default-src 'self'" in plain and "frame-ancestors 'none'" in plain and "frame-src 'none'" in plain
    assert "unsafe-inline" not in plain
    letter = security.content_security_policy("https://letters.s3.amazonaws.com")
    assert "frame-src https://letters.s3.amazonaws.com" in letter


def test_pages_send_nosniff_and_no_store():
    headers = security.page_headers()
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"


def test_the_origin_of_a_presigned_url_is_its_scheme_host_and_port():
    assert security.origin_of("http://127.0.0.1:4566/bucket/letters/a.pdf?X-Amz=1") == "http://127.0.0.1:4566"
    assert security.origin_of("javascript:alert(1)") == ""


def test_after_sign_in_only_console_paths_are_followed():
    assert security.safe_next("/console/runs") == "/console/runs"
    for bad in ("https://evil.example/", "//evil.example/console", "/console\\@evil", None, "/api/runs",
                "/console/sign-in"):
        assert security.safe_next(bad) == "/console"


def test_cookies_are_read_from_the_payload_list_and_the_header():
    got = security.parse_cookies(["a=1", "b=2"], "c=3; a=9")
    assert got == {"a": "1", "b": "2", "c": "3"}
