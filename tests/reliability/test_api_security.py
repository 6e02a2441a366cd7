"""The HTTP API in the shared API scenario (every route, every group, through the local gateway): no log line
carries a person's name, email, phone or address, nor a token or password; every call answered without a
server error."""

from __future__ import annotations

from tests.reliability.test_security import leaks, log_text, personal_values
from tests.support.api_scenario import PASSWORD
from tests.support.local import demo_events
from tests.support.scenario_fixtures import api_run  # noqa: F401


def test_given_every_api_route_called_then_no_log_line_carries_a_persons_values(api_run):  # noqa: F811
    values = personal_values(demo_events())
    assert len(values) > 150
    assert not leaks(api_run, values)


def test_given_sign_ins_then_no_log_line_carries_a_password_or_a_token(api_run):  # noqa: F811
    lines = log_text(api_run["log_lines"] + api_run["function_output"].splitlines())
    assert lines
    assert not [ln for ln in lines if PASSWORD in ln or "eyJ" in ln]


def test_given_every_api_route_called_then_none_answered_with_a_server_error(api_run):  # noqa: F811
    assert not [s for s in api_run["statuses"] if s[2] >= 500]
    assert len({(m, p.split("/")[2]) for m, p, _ in api_run["statuses"]}) >= 10
