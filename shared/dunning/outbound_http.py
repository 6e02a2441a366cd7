"""Outbound HTTP for workflow steps (S4.3): a guarded client, and the HTTP step it serves.

:func:`request` is the only way a workflow reaches the network:

* the host is resolved once and every address it resolves to is checked: private, loopback, link-local
  (169.254.169.254 included), shared (100.64/10), reserved, multicast and unspecified addresses - IPv4, IPv6 and
  IPv4-mapped IPv6 alike - are refused unless the host is in ``allow_hosts``;
* the connection goes to the address that was checked (urllib3 to the IP, with the ``Host`` header and, for
  TLS, the SNI name and certificate check of the original host), so a DNS answer cannot change between the
  check and the connection;
* redirects are never followed (a 3xx is an answer like any other; the HTTP step treats it as a failure);
* at most :data:`MAX_RESPONSE_BYTES` of the answer are read, within the timeout as a whole;
* the body is parsed as JSON when there is one.

:func:`run_http_step` is the ``ConversationHttpFunction``'s use case: it resolves ``«secret:NAME»`` placeholders
(``conversations.secrets``), calls, and classifies the answer - 2xx: a result for the workflow's mapping; 429, 5xx,
a timeout or a connection error: :class:`~dunning.errors.HttpRetryable` while the call has retries left (the state
machine's native ``Retry``), then a failure result; any other answer, a refused address or bad JSON: a failure
result (the step's ``on_failure``). Nothing here logs a URL, a header or a body (they may hold personal data).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from dunning.errors import HttpRetryable, PermanentError, TransientError
from dunning.models.workflows import HttpCall, HttpResult

if TYPE_CHECKING:
    from dunning.models.config import Config

MAX_RESPONSE_BYTES = 1024 * 1024
SECRET_PLACEHOLDER = re.compile("«secret:([A-Za-z0-9_]+)»")
USER_AGENT = "dunning-workflows/1"
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


# ---------------------------------------------------------------------------------------------- errors
class OutboundRefused(PermanentError):
    """The URL may not be called: not http(s), credentials in it, or an address the guard refuses."""


class ResponseTooLarge(PermanentError):
    """The answer is longer than :data:`MAX_RESPONSE_BYTES`."""


class OutboundUnavailable(TransientError):
    """No answer: the host did not resolve, the connection failed or the timeout passed."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


# ---------------------------------------------------------------------------------------------- the guard
def refused_address(ip: IpAddress) -> str | None:
    """Why ``ip`` may not be called (``None``: a public address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if mapped is None and ip in _NAT64:  # 64:ff9b::/96 carries an IPv4 address in its last 32 bits
            mapped = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if mapped is not None:
            reason = refused_address(mapped)
            return f"{reason} (IPv4 inside IPv6)" if reason else None
        if ip.is_site_local:
            return "site-local address"
    for attribute in ("is_unspecified", "is_loopback", "is_link_local", "is_multicast", "is_private",
                      "is_reserved"):
        if getattr(ip, attribute):
            return attribute[3:].replace("_", "-") + " address"
    if not ip.is_global:
        return "non-global address"
    return None


def _normalise_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def allowed(host: str, allow_hosts: Iterable[str]) -> bool:
    return _normalise_host(host) in {_normalise_host(h) for h in allow_hosts if h.strip()}


def resolve(host: str, port: int, allow_hosts: Iterable[str]) -> IpAddress:
    """The address to connect to: every address ``host`` resolves to must pass the guard (unless allowed)."""
    try:
        literal: IpAddress | None = ipaddress.ip_address(_normalise_host(host))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise OutboundUnavailable(f"the host does not resolve ({type(exc).__name__})") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
        if not addresses:
            raise OutboundUnavailable("the host does not resolve")
    if not allowed(host, allow_hosts):
        for ip in addresses:
            reason = refused_address(ip)
            if reason:
                raise OutboundRefused(f"refused: the host resolves to a {reason}")
    return addresses[0]


# ---------------------------------------------------------------------------------------------- the client
class HttpResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: int
    headers: dict[str, str]
    body: Any = None  # parsed JSON (None: empty)
    json_error: bool = False  # a body that is not JSON
    size: int = 0
    duration_ms: float = 0.0


def request(method: str, url: str, headers: dict[str, str] | None = None, body: str | bytes | None = None,
            timeout: float = 5.0, allow_hosts: Iterable[str] = ()) -> HttpResponse:
    """One request through the guard (see the module docstring). Raises :class:`OutboundRefused`,
    :class:`OutboundUnavailable` (no answer) or :class:`ResponseTooLarge`."""
    import urllib3

    started = time.monotonic()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused("refused: only http and https URLs can be called")
    if parts.username or parts.password:
        raise OutboundRefused("refused: credentials in the URL (use a header with a secret)")
    host = parts.hostname or ""
    if not host:
        raise OutboundRefused("refused: the URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused("refused: the URL's port is not a number") from None
    ip = resolve(host, port, allow_hosts)
    default_port = port == (443 if scheme == "https" else 80)
    host_header = (f"[{host}]" if ":" in host else host) + ("" if default_port else f":{port}")
    sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {}), "Host": host_header}
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pool: Any
    budget = urllib3.Timeout(connect=timeout, read=timeout)
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(str(ip), port, timeout=budget, retries=False, maxsize=1,
                                           server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED")
    else:
        pool = urllib3.HTTPConnectionPool(str(ip), port, timeout=budget, retries=False, maxsize=1)
    try:
        raw = pool.urlopen(method.upper(), path, body=body.encode() if isinstance(body, str) else body,
                           headers=sent, redirect=False, retries=False, preload_content=False,
                           assert_same_host=False)
        try:
            data = _read_capped(raw, started + timeout)
        finally:
            raw.release_conn()
    except urllib3.exceptions.TimeoutError:
        raise OutboundUnavailable("timed out", timed_out=True) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise OutboundUnavailable(f"connection failed ({type(exc).__name__})") from None
    finally:
        pool.close()
    parsed, bad = None, False
    if data.strip():
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            bad = True
    return HttpResponse(status=int(raw.status), headers={k.lower(): v for k, v in raw.headers.items()},
                        body=parsed, json_error=bad, size=len(data),
                        duration_ms=round((time.monotonic() - started) * 1000, 1))


def _read_capped(raw: Any, deadline: float) -> bytes:
    declared = raw.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise ResponseTooLarge(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            import urllib3

            raise urllib3.exceptions.ReadTimeoutError(None, "", "the answer took longer than the timeout")  # type: ignore[arg-type]
        chunk = raw.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ResponseTooLarge(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)


# ---------------------------------------------------------------------------------------------- the HTTP step
class HttpStepInput(BaseModel):
    """The ConversationHttpFunction's input: ``attempt`` is the state's retry count (0 on the first try)."""

    model_config = ConfigDict(extra="ignore")

    conversation_id: str
    seq: int
    call: HttpCall
    attempt: int = 0


class HttpStepOutput(BaseModel):
    kind: Literal["http_result"] = "http_result"
    http: HttpResult


@dataclass(frozen=True)
class HttpStepDeps:
    config: Callable[[], Config]  # conversations.secrets (name -> id) and conversations.http_allow_hosts
    secret: Callable[[str], str]  # a Secrets Manager id -> its value (cached)
    stack_allow_hosts: frozenset[str] = field(default_factory=frozenset)  # HTTP_ALLOW_HOSTS (WorkflowHttpAllowHosts)
    send: Callable[..., HttpResponse] = request


@dataclass
class HttpStepReport:
    """What the function logs: never the URL, headers or body."""

    step: str
    status: int | None
    ok: bool
    outcome: str
    duration_ms: float
    attempt: int


class SecretMissing(PermanentError):
    """A placeholder names a secret the configuration does not list."""


def substitute_secrets(call: HttpCall, secret_ids: dict[str, str], secret: Callable[[str], str]) -> HttpCall:
    """The call with every ``«secret:NAME»`` replaced by the secret's value (``SecretMissing`` for an unknown
    name). The values only ever exist in this function's memory."""
    def fill(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in secret_ids:
                raise SecretMissing(f"secret {name!r} is not configured (conversations.secrets)")
            return secret(secret_ids[name])

        return SECRET_PLACEHOLDER.sub(one, text)

    return call.model_copy(update={"url": fill(call.url), "body": fill(call.body) if call.body is not None else None,
                                   "headers": {k: fill(v) for k, v in call.headers.items()}})


RETRYABLE_STATUS = frozenset({429}) | frozenset(range(500, 600))


def run_http_step(deps: HttpStepDeps, inp: HttpStepInput) -> tuple[HttpStepOutput, HttpStepReport]:
    """Make the call; the result for the workflow, or :class:`HttpRetryable` while retries are left."""
    call = inp.call
    started = time.monotonic()
    retries_left = inp.attempt < call.retries

    def done(result: HttpResult, outcome: str) -> tuple[HttpStepOutput, HttpStepReport]:
        report = HttpStepReport(step=call.step, status=result.status, ok=result.ok, outcome=outcome,
                                duration_ms=round((time.monotonic() - started) * 1000, 1), attempt=inp.attempt)
        return HttpStepOutput(http=result), report

    conversations = deps.config().conversations
    allow = deps.stack_allow_hosts & {_normalise_host(h) for h in conversations.http_allow_hosts}
    try:
        filled = substitute_secrets(call, dict(conversations.secrets), deps.secret)
        response = deps.send(call.method, filled.url, headers=filled.headers, body=filled.body,
                             timeout=float(call.timeout_seconds), allow_hosts=allow)
    except OutboundUnavailable as exc:
        if retries_left:
            raise HttpRetryable(f"step {call.step}: {exc}") from None
        return done(HttpResult(ok=False, error="timeout" if exc.timed_out else "connection failed"),
                    "timeout" if exc.timed_out else "connection_error")
    except (OutboundRefused, ResponseTooLarge, SecretMissing) as exc:
        return done(HttpResult(ok=False, error=str(exc)), type(exc).__name__)
    except PermanentError as exc:  # a secret that does not exist or may not be read: the step's on_failure
        return done(HttpResult(ok=False, error=f"a secret could not be read ({type(exc).__name__})"),
                    "secret_unavailable")
    # a TransientError (a secret that cannot be read just now) propagates: the Http task's Retry names it
    status = response.status
    if 200 <= status < 300:
        if response.json_error:
            return done(HttpResult(ok=False, status=status, error="the answer is not JSON"), "bad_json")
        return done(HttpResult(ok=True, status=status, body=response.body), "ok")
    if status in RETRYABLE_STATUS and retries_left:
        raise HttpRetryable(f"step {call.step}: HTTP {status}")
    error = f"HTTP {status}" + (" (retries exhausted)" if status in RETRYABLE_STATUS and call.retries else "")
    return done(HttpResult(ok=False, status=status, body=None if response.json_error else response.body,
                           error=error), "http_error")


def parse_hosts(value: str) -> frozenset[str]:
    """``HTTP_ALLOW_HOSTS``: comma-separated host names or addresses."""
    return frozenset(_normalise_host(h) for h in value.split(",") if h.strip())
