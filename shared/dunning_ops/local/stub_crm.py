"""A stub CRM for the local stack: what the shipped VIP routing workflow's HTTP step calls
(``GET {crm_url}/contacts?email=...`` -> ``{"customerType": ...}``), so tests and ``dunning chat`` run the seed's
CRM lookup end to end. A small threaded ``http.server`` on 127.0.0.1 (the workflow HTTP guard lets it through
only because the local stack's ``WorkflowHttpAllowHosts`` and the configuration's ``http_allow_hosts`` name it).

    crm = stub_crm.start()          # a StubCrm, serving; crm.url is its base URL
    crm.set_mode("down")            # every request answered 503
    crm.set_mode("flaky", 2)        # the next 2 requests answered 429 then 503, then normally
    crm.set_mode("slow", 3.0)       # answers after 3 seconds
    crm.fail_next(503, 1)           # the next request answered 503
    crm.requests()                  # what was asked, oldest first ({"method", "path", "query", "email", "status"})
    crm.stop()

Contacts: a dict email -> fields (default :data:`DEFAULT_CONTACTS`); an unknown email is a 404 (``{"error":
"not found"}``). ``POST /contacts`` (JSON ``{"email": ..., ...}``) adds or updates one and answers it (a CSAT
workflow can save answers to the CRM through an HTTP step).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_CONTACTS: dict[str, dict[str, Any]] = {
    "vip@example.com": {"customerType": "VIP", "name": "Vera VIP"},
    "normal@example.com": {"customerType": "normal", "name": "Nuno Normal"},
    "ana@example.com": {"customerType": "VIP", "name": "Ana"},
}
MODES = ("normal", "ok", "down", "flaky", "slow")


@dataclass
class _State:
    contacts: dict[str, dict[str, Any]]
    mode: str = "normal"
    slow_seconds: float = 0.0
    failures: list[int] = field(default_factory=list)  # statuses the next requests get, in order
    log: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class StubCrm:
    """The stub CRM server; :meth:`start` serves it in a thread and returns its base URL."""

    def __init__(self, contacts: dict[str, dict[str, Any]] | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._state = _State({k.lower(): dict(v) for k, v in (contacts or DEFAULT_CONTACTS).items()})
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        if self._server is None:
            self._server = ThreadingHTTPServer((self._host, self._port), _handler(self._state))
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever, name="stub-crm", daemon=True)
            self._thread.start()
            host, port = self._server.server_address[:2]
            self.url = f"http://{host if isinstance(host, str) else host.decode()}:{port}"
        return self.url

    @property
    def base_url(self) -> str:
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StubCrm:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ behaviour
    def set_mode(self, mode: str, arg: float | None = None) -> None:
        """``normal``/``ok``; ``down`` (503 until changed); ``flaky`` (the next ``arg`` requests 429/503
        alternately, then normal); ``slow`` (every answer after ``arg`` seconds)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
        with self._state.lock:
            self._state.failures.clear()
            self._state.slow_seconds = 0.0
            self._state.mode = "normal" if mode in ("ok", "flaky") else mode
            if mode == "flaky":
                self._state.failures.extend(429 if i % 2 == 0 else 503 for i in range(int(arg or 1)))
            elif mode == "slow":
                self._state.slow_seconds = float(arg or 1.0)

    def fail_next(self, status: int, times: int = 1) -> None:
        with self._state.lock:
            self._state.failures.extend([status] * times)

    def set_contact(self, email: str, **fields_: Any) -> None:
        with self._state.lock:
            self._state.contacts[email.lower()] = dict(fields_)

    def requests(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [dict(r) for r in self._state.log]

    def clear(self) -> None:
        with self._state.lock:
            self._state.log.clear()


def start(contacts: dict[str, dict[str, Any]] | None = None, port: int = 0) -> StubCrm:
    """A started stub CRM (``.url`` its base URL)."""
    crm = StubCrm(contacts, port=port)
    crm.start()
    return crm


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "StubCRM/1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, body: Any, record: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            with state.lock:
                state.log.append({**record, "status": status, "at": time.time()})
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): as a real CRM
                self.close_connection = True

        def _common(self) -> tuple[dict[str, Any], int | None]:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            record = {"method": self.command, "path": parts.path, "query": parts.query,
                      "email": (query.get("email") or [""])[0].lower(),
                      "authorization": bool(self.headers.get("Authorization"))}
            with state.lock:
                mode, delay = state.mode, state.slow_seconds
                forced = state.failures.pop(0) if state.failures else None
            if delay:
                time.sleep(delay)
            if forced is not None:
                return record, forced
            return record, 503 if mode == "down" else None

        def do_GET(self) -> None:
            record, failure = self._common()
            if failure is not None:
                self._answer(failure, {"error": "unavailable"}, record)
                return
            if record["path"].rstrip("/") != "/contacts":
                self._answer(404, {"error": "no such route"}, record)
                return
            with state.lock:
                contact = state.contacts.get(record["email"])
            if contact is None:
                self._answer(404, {"error": "not found"}, record)
                return
            self._answer(200, {"email": record["email"], **contact}, record)

        def do_POST(self) -> None:
            record, failure = self._common()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(length, 1024 * 1024)) if length else b""
            if failure is not None:
                self._answer(failure, {"error": "unavailable"}, record)
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._answer(400, {"error": "not JSON"}, record)
                return
            email = str(body.get("email", "")).lower() if isinstance(body, dict) else ""
            if record["path"].rstrip("/") != "/contacts" or not email:
                self._answer(400, {"error": "POST /contacts with an email"}, record)
                return
            with state.lock:
                contact = state.contacts.setdefault(email, {})
                contact.update({k: v for k, v in body.items() if k != "email"})
                answer = {"email": email, **contact}
            self._answer(200, answer, {**record, "email": email})

    return Handler
