"""Running the shipped templates through the interpreter in unit tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from dunning.models.workflows import Advance, Event, HttpResult, RunState, WorkflowDefinition
from dunning.workflows import interpreter, templates, validate

TODAY = date(2026, 3, 2)
TEAMS = {"vip", "normal", "managers", "collections"}


def load(template_id: str) -> WorkflowDefinition:
    report = validate.validate_source(templates.load_template(template_id), "yaml", teams=TEAMS)
    assert report.ok and report.definition is not None, report.errors
    return report.definition


def parse(text: str) -> WorkflowDefinition:
    report = validate.validate_source(text)
    assert report.ok and report.definition is not None, report.errors
    return report.definition


def start(defn: WorkflowDefinition, contact: dict[str, Any] | None = None, **kw: Any) -> Advance:
    state = interpreter.initial_state(defn, "1", contact=contact or {},
                                      conversation={"id": "c-1", "channel": "test", "number": 1},
                                      settings={"crm_url": "https://crm.example.com/api"})
    return interpreter.advance(defn, state, Event(kind="start", today=TODAY), **kw)


def answer(defn: WorkflowDefinition, state: RunState, text: str, **kw: Any) -> Advance:
    return interpreter.advance(defn, state, Event(kind="answer", text=text, today=TODAY), **kw)


def timeout(defn: WorkflowDefinition, state: RunState) -> Advance:
    return interpreter.advance(defn, state, Event(kind="timeout", today=TODAY))


def http(defn: WorkflowDefinition, state: RunState, body: Any = None, *, ok: bool = True,
         status: int | None = 200) -> Advance:
    return interpreter.advance(defn, state, Event(kind="http_result", http=HttpResult(ok=ok, status=status, body=body),
                                                  today=TODAY))


def kinds(result: Advance) -> list[str]:
    return [a.action for a in result.actions]
