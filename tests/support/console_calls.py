"""The console used as a browser would, for the scenarios: users signed in, pages read and forms posted with
their page's CSRF token, every answer's status recorded (``statuses``: path without query, status)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.browser.client import Client as ConsoleClient


class RecordedConsole:
    def __init__(self, url: str, users: Iterable[Any]) -> None:
        self.url = url
        self.users = {u.username: u for u in users}
        self.statuses: list[tuple[str, int]] = []

    def signed_in(self, username: str) -> ConsoleClient:
        client = ConsoleClient(self.url)
        client.sign_in(self.users[username])
        return client

    def get(self, client: ConsoleClient, path: str) -> tuple[int, dict[str, str], str]:
        status, headers, body = client.request(path)
        self.statuses.append((path.split("?")[0], status))
        return status, headers, body

    def post(self, client: ConsoleClient, path: str, form: dict[str, str],
             page: str) -> tuple[int, dict[str, str], str]:
        status, headers, body = client.request(path, {**form, "csrf": client.csrf(page)})
        self.statuses.append((path, status))
        return status, headers, body
