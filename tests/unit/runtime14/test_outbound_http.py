"""The workflow HTTP guard (dunning.outbound_http): private addresses refused unless allowed, the address checked
is the address connected to, no redirect followed, a size cap, and the HTTP step's classification."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, cast

import pytest

from dunning import outbound_http
from dunning.errors import HttpRetryable
from dunning.models.config import Config, ConversationsConfig
from dunning.models.workflows import HttpCall
from dunning.outbound_http import (
    MAX_RESPONSE_BYTES,
    HttpResponse,
    HttpStepDeps,
    HttpStepInput,
    OutboundRefused,
    OutboundUnavailable,
    ResponseTooLarge,
    refused_address,
    request,
    run_http_step,
)
from dunning_ops.local.stub_crm import StubCrm

REFUSED = ["127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.0.10",
           "169.254.169.254", "169.254.0.1", "100.64.0.1", "0.0.0.0", "224.0.0.251", "239.255.255.250",
           "240.0.0.1", "255.255.255.255", "192.0.2.10", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1",
           "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
           "2002:7f00:1::1", "2001:db8::1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "fec0::1"]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_every_private_and_special_address_is_refused(address):
    assert refused_address(ipaddress.ip_address(address)), address


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert refused_address(ipaddress.ip_address(address)) is None


@pytest.fixture(scope="module")
def crm() -> Iterator[StubCrm]:
    with StubCrm() as server:
        yield server


def test_loopback_is_refused_unless_the_host_is_allowed(crm):
    url = f"{crm.url}/contacts?email=vip@example.com"
    with pytest.raises(OutboundRefused, match="loopback"):
        request("GET", url, timeout=2)
    answer = request("GET", url, timeout=2, allow_hosts=["127.0.0.1"])
    assert (answer.status, answer.body["customerType"]) == (200, "VIP")


def test_a_name_is_checked_by_what_it_resolves_to(crm):
    port = crm.url.rsplit(":", 1)[1]
    with pytest.raises(OutboundRefused):
        request("GET", f"http://localhost:{port}/contacts?email=vip@example.com", timeout=2)
    ok = request("GET", f"http://localhost:{port}/contacts?email=vip@example.com", timeout=2,
                 allow_hosts=["LOCALHOST"])
    assert ok.status == 200


def test_the_address_checked_is_the_address_connected_to(crm, monkeypatch):
    """DNS rebinding: the name resolves once; a second answer (a private address) is never used."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "crm.rebind.test":
            asked.append(host)
            ip = "127.0.0.1" if len(asked) == 1 else "10.9.9.9"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = crm.url.rsplit(":", 1)[1]
    answer = request("GET", f"http://crm.rebind.test:{port}/contacts?email=normal@example.com", timeout=2,
                     allow_hosts=["crm.rebind.test"])
    assert answer.status == 200 and answer.body["customerType"] == "normal"
    assert asked == ["crm.rebind.test"]
    assert crm.requests()[-1]["email"] == "normal@example.com"


def test_a_public_name_resolving_to_a_private_address_is_refused(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))])
    with pytest.raises(OutboundRefused, match="link-local"):
        request("GET", "http://metadata.example.com/latest/", timeout=1)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "http://user:pw@example.com/",
                                 "http:///nohost"])
def test_only_plain_http_urls_without_credentials(url):
    with pytest.raises(OutboundRefused):
        request("GET", url, timeout=1)


class _Server(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big":
            body = b"[" + b"1," * (MAX_RESPONSE_BYTES // 2) + b"1]"
            self.send_response(200)
            self.end_headers()  # no Content-Length: the cap counts what arrives
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stops reading at the cap
                self.wfile.write(body)
        elif self.path == "/text":
            body = b"<html>not json</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_redirects_are_not_followed(server):
    answer = request("GET", f"{server}/redirect", timeout=2, allow_hosts=["127.0.0.1"])
    assert answer.status == 302 and answer.headers["location"].startswith("http://169.254.169.254")


def test_the_answer_is_capped(server):
    with pytest.raises(ResponseTooLarge):
        request("GET", f"{server}/big", timeout=5, allow_hosts=["127.0.0.1"])


def test_a_closed_port_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OutboundUnavailable):
        request("GET", f"http://127.0.0.1:{port}/", timeout=1, allow_hosts=["127.0.0.1"])


# ---------------------------------------------------------------------------------------------- the HTTP step
def config(allow: list[str] | None = None) -> Config:
    """What the HTTP step reads of the configuration: its conversations section."""
    conversations = ConversationsConfig.model_validate({
        "secrets": {"crm_token": "dunning/workflow/crm-token"},
        "http_allow_hosts": allow if allow is not None else ["127.0.0.1"]})
    return cast(Config, SimpleNamespace(conversations=conversations))


def call(url: str, retries: int = 2, **kw: Any) -> HttpCall:
    return HttpCall(step="get_contact", method="GET", url=url, timeout_seconds=2, retries=retries, **kw)


def step(c: HttpCall, attempt: int = 0) -> HttpStepInput:
    return HttpStepInput(conversation_id="c-1", seq=3, call=c, attempt=attempt)


def deps(cfg: Config | None = None, send: Any = request, stack: frozenset[str] = frozenset({"127.0.0.1"}),
         secrets: dict[str, str] | None = None) -> HttpStepDeps:
    values = secrets or {"dunning/workflow/crm-token": "s3cr3t"}
    return HttpStepDeps(config=lambda: cfg or config(), secret=values.__getitem__, stack_allow_hosts=stack,
                        send=send)


def test_a_2xx_json_answer_is_the_result_and_secrets_are_filled_in(crm):
    c = call(f"{crm.url}/contacts?email=vip@example.com", headers={"Authorization": "Bearer «secret:crm_token»"})
    out, report = run_http_step(deps(), step(c))
    assert out.http.ok and out.http.status == 200 and out.http.body["customerType"] == "VIP"
    assert crm.requests()[-1]["authorization"]
    assert report.outcome == "ok" and report.step == "get_contact"


def test_a_host_must_be_allowed_by_the_stack_and_the_configuration(crm):
    c = call(f"{crm.url}/contacts?email=vip@example.com")
    for d in (deps(stack=frozenset()), deps(cfg=config(allow=[]))):
        out, report = run_http_step(d, step(c))
        assert not out.http.ok and "refused" in out.http.error and report.outcome == "OutboundRefused"


def test_429_and_5xx_are_retried_while_retries_are_left_then_fail(crm):
    c = call(f"{crm.url}/contacts?email=vip@example.com", retries=2)
    for status in (429, 503):
        crm.fail_next(status, 1)
        with pytest.raises(HttpRetryable):
            run_http_step(deps(), step(c, attempt=1))
    crm.set_mode("down")
    try:
        out, _ = run_http_step(deps(), step(c, attempt=2))
    finally:
        crm.set_mode("normal")
    assert not out.http.ok and out.http.status == 503 and "exhausted" in out.http.error


def test_other_4xx_fail_at_once(crm):
    out, report = run_http_step(deps(), step(call(f"{crm.url}/contacts?email=nobody@example.com")))
    assert (out.http.ok, out.http.status, report.outcome) == (False, 404, "http_error")


def test_a_redirect_and_a_non_json_answer_are_failures(server):
    out, _ = run_http_step(deps(), step(call(f"{server}/redirect")))
    assert not out.http.ok and out.http.status == 302
    out, report = run_http_step(deps(), step(call(f"{server}/text")))
    assert not out.http.ok and report.outcome == "bad_json"


def test_timeouts_and_connection_errors_are_retryable_then_fail():
    def timing_out(*a: Any, **k: Any) -> HttpResponse:
        raise OutboundUnavailable("timed out", timed_out=True)

    c = call("https://crm.example.com/contacts", retries=1)
    with pytest.raises(HttpRetryable):
        run_http_step(deps(send=timing_out), step(c, attempt=0))
    out, report = run_http_step(deps(send=timing_out), step(c, attempt=1))
    assert (out.http.ok, out.http.error, report.outcome) == (False, "timeout", "timeout")


def test_an_unknown_secret_is_a_failure_not_a_call():
    sent: list[Any] = []
    c = call("https://crm.example.com/contacts", headers={"X-Key": "«secret:nope»"})
    out, _ = run_http_step(deps(send=lambda *a, **k: sent.append(a)), step(c))
    assert not out.http.ok and "nope" in out.http.error and sent == []


def test_the_report_never_holds_the_url_or_headers(crm):
    c = call(f"{crm.url}/contacts?email=vip@example.com", headers={"Authorization": "Bearer «secret:crm_token»"})
    _, report = run_http_step(deps(), step(c))
    text = json.dumps(report.__dict__)
    assert "vip@example.com" not in text and "s3cr3t" not in text and "contacts" not in text


def test_the_stub_crm_modes(crm):
    url = f"{crm.url}/contacts?email=vip@example.com"
    crm.set_mode("flaky", 2)
    statuses = [request("GET", url, timeout=2, allow_hosts=["127.0.0.1"]).status for _ in range(3)]
    assert statuses == [429, 503, 200]
    crm.set_mode("slow", 1.5)
    try:
        with pytest.raises(OutboundUnavailable):
            request("GET", url, timeout=0.5, allow_hosts=["127.0.0.1"])
    finally:
        crm.set_mode("normal")
    assert outbound_http.parse_hosts(" 127.0.0.1, LocalHost ,,") == frozenset({"127.0.0.1", "localhost"})


def test_a_secret_that_cannot_be_read_is_a_failure_and_a_transient_one_is_retried():
    from dunning.errors import MissingResource, TransientStoreError

    c = call("https://crm.example.com/contacts", headers={"Authorization": "Bearer «secret:crm_token»"})

    def missing(_: str) -> str:
        raise MissingResource("no such secret")

    def throttled(_: str) -> str:
        raise TransientStoreError("throttled")

    d = deps()
    out, report = run_http_step(HttpStepDeps(config=d.config, secret=missing, stack_allow_hosts=d.stack_allow_hosts),
                                step(c))
    assert not out.http.ok and report.outcome == "secret_unavailable" and "no such secret" not in out.http.error
    with pytest.raises(TransientStoreError):
        run_http_step(HttpStepDeps(config=d.config, secret=throttled, stack_allow_hosts=d.stack_allow_hosts), step(c))
