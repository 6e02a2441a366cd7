"""The CLI as a new user meets it (issue 11 §5), without a stack: errors instead of tracebacks, JSON errors,
tables that fit the terminal."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dunning_ops.cli.main import main
from dunning_ops.cli.output import fit_widths, table

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- tables fit the terminal
ROWS = [{"as_of": "2026-11-16", "account_id": "A-0001", "outcome": "none",
         "reasons": "in quiet days until 2026-11-18; held back: step 'reminder' for invoice INV-0001-2 and more"},
        {"as_of": "2026-11-16", "account_id": "A-0002", "outcome": "act", "reasons": "short"}]


@pytest.mark.parametrize("columns", [40, 60, 80])
def test_a_wide_table_fits_the_terminal_and_keeps_every_word(columns: int) -> None:
    # Given rows wider than the terminal
    text = table(ROWS, ["as_of", "account_id", "outcome", "reasons"], total=columns)
    # Then no line is wider than the terminal
    assert max(len(line) for line in text.splitlines()) <= columns
    # And the long reason is wrapped, not lost
    assert _column(text, 3) == "".join(ROWS[0]["reasons"].split()) + "short"


def _column(text: str, index: int) -> str:
    """The text of column ``index`` (0-based) of a table, every line after the header, without spaces."""
    header = text.splitlines()[0]
    starts = [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 1] == " ")]
    start = starts[index]
    end = starts[index + 1] if index + 1 < len(starts) else None
    return "".join("".join(line[start:end].split()) for line in text.splitlines()[1:])


def test_without_a_terminal_a_table_keeps_its_natural_width() -> None:
    text = table(ROWS, ["as_of", "account_id", "outcome", "reasons"], total=None)
    assert len(text.splitlines()) == 3
    assert ROWS[0]["reasons"] in text


def test_on_a_terminal_the_width_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert max(len(line) for line in table(ROWS, ["as_of", "account_id", "reasons"]).splitlines()) <= 50


def test_a_pipe_or_file_gets_whole_lines_whatever_columns_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    text = table(ROWS, ["as_of", "account_id", "outcome", "reasons"])
    assert len(text.splitlines()) == 3 and ROWS[0]["reasons"] in text


def test_fitting_narrows_the_widest_columns_first_and_never_below_their_minimum() -> None:
    assert fit_widths([10, 100, 30], [5, 8, 8], 80) == [10, 36, 30]
    assert fit_widths([10, 100], [10, 90], 50) == [10, 90]  # the minimum wins over the terminal


# --------------------------------------------------------------------------- errors, not tracebacks
def test_a_missing_file_is_an_error_with_its_name(capsys: Any) -> None:
    assert main(["events", "send", "/no/such/events.jsonl"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: /no/such/events.jsonl") and "Traceback" not in err


def test_under_json_an_error_is_a_json_object_on_stderr(capsys: Any) -> None:
    assert main(["events", "send", "/no/such/events.jsonl", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert json.loads(err) == {"error": "/no/such/events.jsonl: No such file or directory", "code": 2}


def test_nothing_listening_says_to_start_the_local_stack(capsys: Any) -> None:
    # Given an endpoint nobody listens on
    url = f"http://127.0.0.1:{_free_port()}"
    # When a command needs the stack / Then exit 2, a message with the hint, no traceback
    assert main(["--endpoint-url", url, "history", "--hierarchy", "standard"]) == 2
    err = capsys.readouterr().err
    assert "dunning local up" in err and "Traceback" not in err


def test_local_up_on_a_busy_port_exits_with_a_message_instead_of_hanging(capsys: Any) -> None:
    # Given something already listening on the port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # When `local up` is asked for it
        started = time.monotonic()
        code = main(["local", "up", "--port", str(port)])
    # Then it stops at once with a message naming the port and the option
    assert code == 2 and time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert f"port {port}" in err and "--port" in err


def test_a_closed_pipe_ends_quietly(capsys: Any) -> None:
    # Given stdout is a pipe whose reader is gone (`dunning ... | head` after head exited)
    read_end, write_end = os.pipe()
    os.close(read_end)
    closed = open(write_end, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    with capsys.disabled():
        real, sys.stdout = sys.stdout, closed
        try:
            # When a command writes its output
            code = main(["api", "openapi"])
        finally:
            sys.stdout = real
            closed.close()  # stdout was pointed at /dev/null, so closing does not fail either
    # Then it stops quietly, with SIGPIPE's status as a shell reports it, and no traceback
    assert code == 141


def test_under_json_a_usage_error_is_json_too(capsys: Any) -> None:
    # When a required option is missing, with --json
    with pytest.raises(SystemExit) as exited:
        main(["history", "--json"])
    # Then argparse's message comes as the same JSON object, with exit 2
    assert exited.value.code == 2
    error = json.loads(capsys.readouterr().err)
    assert error["code"] == 2 and "--hierarchy" in error["error"]
