"""``dunning local up``'s HTTP part: serve the template's HttpApi and, with ``--demo``, load the demo data,
run and users."""

from __future__ import annotations

import sys
from typing import Any

from dunning_ops.local.console_demo import load_console_demo
from dunning_ops.local.http_api import DemoUser


def serve_locally(stack: Any, port: int, demo: bool = False) -> dict[str, str]:
    """``dunning local up``'s part: serve the HttpApi, with --demo load the demo (data, run, users), and print
    where the API and the console are and how to sign in."""
    url = stack.start_http_api(port)
    users: list[DemoUser] = []
    if demo:
        users = load_console_demo(stack)
    print(f"\nAPI:     {url}/api/  (OpenAPI: {url}/openapi.json, token required)\nConsole: {url}/console/",
          file=sys.stderr)
    if users:
        print("Sign in as:\n" + "\n".join(f"  {u.group:<10} {u.username} / {u.password}" for u in users),
              file=sys.stderr)
    else:
        print(f"Add a user: dunning --endpoint-url {stack.endpoint} users add EMAIL --group collector",
              file=sys.stderr)
    return {"HttpApiUrl": url, "ConsoleUrl": f"{url}/console/"}
