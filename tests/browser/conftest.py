"""Browser tests: the console on the embedded local stack (moto + template.yaml + the local HttpApi gateway),
with the demo data, the demo run and one demo user per group, driven by headless Chromium through Selenium.

The browser is Debian's ``chromium`` with its ``chromedriver`` (``make browser`` installs them): nothing is
downloaded at run time (Selenium Manager is never asked: the driver path is given). Without a Chromium the tests
are skipped, saying so. Screenshots go to ``out/screenshots/``.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "out" / "screenshots"
LAPTOP = (1366, 900)
TABLET = (820, 1180)  # a tablet in portrait


def _browser_paths() -> tuple[str, str] | None:
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


BROWSER = _browser_paths()
try:
    import selenium  # noqa: F401

    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover - dev dependency
    HAVE_SELENIUM = False


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    reason = ("no Chromium: install Debian's chromium and chromium-driver ('make browser', as root) to run the "
              "browser tests" if BROWSER is None else "selenium is not installed (pip install -e '.[dev]')")
    if BROWSER is None or not HAVE_SELENIUM:  # the HTTP-level checks need no browser and still run
        for item in items:
            if "tests/browser" in str(item.fspath) and "browser" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class Console:
    url: str  # the local HttpApi, e.g. http://127.0.0.1:40123
    endpoint: str  # moto
    users: dict[str, Any]  # group -> DemoUser
    run_id: str
    stack: Any


@pytest.fixture(scope="session")
def console() -> Iterator[Console]:
    from dunning_ops.local.console_demo import busiest_collector, demo_users, load_demo_data
    from dunning_ops.local.http_api import add_demo_users
    from dunning_ops.local.stack import REGION, LocalStack
    from dunning_ops.local.translate import INTERACTIVE_PARAMETERS
    from dunning_ops.target import Target

    stack = LocalStack.start(log_sink=io.StringIO(), capture_stdout=True, parameters=dict(INTERACTIVE_PARAMETERS))
    try:
        url = stack.start_http_api(None)
        run_id = load_demo_data(stack)
        stack.client("sqs").send_message(QueueUrl=stack.outputs["EventsQueueUrl"], MessageBody="{not json")
        stack.drain()  # one rejected event, for the rejected-events page
        collector = busiest_collector(Target.from_args(stack.endpoint, None, REGION).settings)
        users = add_demo_users(stack, demo_users(collector))
        yield Console(url=url, endpoint=stack.endpoint, users={u.group: u for u in users}, run_id=run_id,
                      stack=stack)
    finally:
        stack.stop()


def _new_driver(size: tuple[int, int]) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert BROWSER is not None
    binary, driver_path = BROWSER
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={size[0]},{size[1]}", "--lang=en-GB", "--font-render-hinting=none"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = _new_driver(LAPTOP)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: Any, name: str, full_page: bool = True) -> Path:
    """Save a screenshot (the whole page height) to out/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    width = driver.get_window_size()["width"]
    if full_page:
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(width, min(max(height + 20, 600), 6000))
    driver.save_screenshot(str(path))
    return path
