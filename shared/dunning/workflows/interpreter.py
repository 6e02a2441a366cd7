"""The workflow interpreter: pure. :func:`advance` applies one event to a run and runs steps until the next
wait point, returning the new state, the actions the runtime performs (messages, HTTP calls, routing, field
updates, sheet rows, promises, close) and the steps taken.

- ``start``: run from ``state.step`` (or the definition's ``start``).
- ``answer`` (while waiting on an ask): valid -> ``save_as`` + ``next``; invalid -> a re-ask (``retry_text``)
  while fewer than ``retries`` re-asks were used, else ``on_invalid``. ``retries: 3`` means 3 re-asks; the
  4th invalid answer takes ``on_invalid``.
- ``timeout`` (while waiting on an ask) -> ``on_timeout`` (none: close the conversation).
- ``http_result`` (while waiting on an http step): ok -> mapping into variables + ``next``; failed ->
  ``on_failure`` (none: the run fails).
- ``promise_result`` (while on a promise step): ok -> ``next``, else ``on_failure`` (none: the run fails).

Wait points: ``ask`` -> "answer", ``http`` -> "http", ``promise`` -> "promise", ``route``/``close``/a step
without ``next`` -> "end". More than ``max_steps`` steps in one call, or a jump taken more than its ``max``
times, fails the run (status "failed"; the runtime hands the conversation to the fallback team). An event that
does not fit the state (an answer while no question is open) changes nothing but ``seq``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from dunning.models.workflows import (
    Action,
    Advance,
    AskPrompt,
    AskStep,
    BranchStep,
    CloseConversation,
    CloseStep,
    Event,
    HttpCall,
    HttpStep,
    JumpStep,
    PromiseStep,
    RecordPromise,
    RouteStep,
    RouteTo,
    RunState,
    SaveRow,
    SendMessage,
    SendStep,
    SheetStep,
    StepModel,
    StepTaken,
    UpdateField,
    UpdateStep,
    Wait,
    WorkflowDefinition,
)
from dunning.templating import TemplateError
from dunning.workflows import answers, conditions, mapping, render

__all__ = ["Action", "Advance", "Event", "RunState", "StepTaken", "advance", "ask_key", "initial_state",
           "jump_key"]

DEFAULT_MAX_STEPS = 50


def ask_key(step_id: str) -> str:
    return f"ask:{step_id}"


def jump_key(step_id: str) -> str:
    return f"jump:{step_id}"


def initial_state(definition: WorkflowDefinition, version: str, *, contact: dict[str, Any] | None = None,
                  conversation: dict[str, Any] | None = None,
                  settings: dict[str, Any] | None = None) -> RunState:
    """A new run at the definition's start, with its declared variables."""
    return RunState(workflow_id=definition.id, version=version, step=definition.start,
                    variables=dict(definition.variables), contact=dict(contact or {}),
                    conversation=dict(conversation or {}), settings=dict(settings or {}))


class _Failed(Exception):
    """The run cannot go on (a template that does not render, a missing failure path, too many steps)."""


class _Run:
    def __init__(self, definition: WorkflowDefinition, state: RunState, today: date, max_steps: int) -> None:
        self.definition = definition
        self.state = state
        self.today = today
        self.max_steps = max_steps
        self.actions: list[Action] = []
        self.steps: list[StepTaken] = []
        self.wait: Wait = "end"

    # ---------------------------------------------------------------- helpers

    def took(self, step: StepModel, outcome: str) -> None:
        self.state.transitions += 1
        self.steps.append(StepTaken(step=step.id, type=step.type, outcome=outcome,
                                    at_transition=self.state.transitions, variables=dict(self.state.variables)))

    def render(self, source: str, *, secrets: bool = False) -> str:
        return render.render(source, render.context(self.state, secrets=secrets))

    def assign(self, target: str, value: Any) -> None:
        scope, _, name = target.partition(".")
        if scope == "vars":
            self.state.variables[name] = value
        else:
            self.state.contact[name] = value
            self.actions.append(UpdateField(field=name, value=value))

    def fail(self, reason: str) -> None:
        self.state.status = "failed"
        self.state.error = reason[:500]
        self.wait = "end"

    def close(self, message: str = "") -> None:
        self.actions.append(CloseConversation(message=message))
        self.state.status = "closed"
        self.state.step = None
        self.wait = "end"

    def goto(self, target: str | None, *, missing: str = "end") -> str | None:
        """The step to run next; ``missing`` says what no target means: "end" (close) or "fail"."""
        if target is None:
            if missing == "fail":
                raise _Failed(f"step {self.state.step} has no path for this outcome")
            self.close()
            return None
        return target

    # ---------------------------------------------------------------- events

    def apply(self, event: Event) -> str | None:
        """Apply ``event`` to the waiting step; the step to run next (None: stop here)."""
        step = self.definition.step(self.state.step) if self.state.step else None
        if event.kind == "start":
            if self.state.status != "running":
                return self._unchanged()
            return self.state.step or self.definition.start
        if event.kind in ("answer", "timeout"):
            if self.state.status != "waiting_answer" or not isinstance(step, AskStep):
                return self._unchanged()
            self.state.status = "running"
            return self._answer(step, event) if event.kind == "answer" else self._timeout(step)
        if event.kind == "http_result":
            if self.state.status != "waiting_http" or not isinstance(step, HttpStep):
                return self._unchanged()
            self.state.status = "running"
            result = event.http
            if result is not None and result.ok:
                for name, value in mapping.apply(step.mapping, result.body).items():
                    self.state.variables[name] = value
                self.took(step, f"ok {result.status}" if result.status is not None else "ok")
                return self.goto(step.next)
            why = (result.error or (f"status {result.status}" if result.status else "")) if result else ""
            self.took(step, f"failure {why}".strip())
            return self.goto(step.on_failure, missing="fail")
        # promise_result
        if self.state.status != "running" or not isinstance(step, PromiseStep):
            return self._unchanged()
        self.took(step, "recorded" if event.ok else "failure")
        return self.goto(step.next) if event.ok else self.goto(step.on_failure, missing="fail")

    def _unchanged(self) -> str | None:
        step = self.definition.step(self.state.step) if self.state.step else None
        status = self.state.status
        self.wait = ("answer" if status == "waiting_answer" else "http" if status == "waiting_http"
                     else "promise" if status == "running" and isinstance(step, PromiseStep) else "end")
        return None

    def _answer(self, step: AskStep, event: Event) -> str | None:
        checked = answers.check(step, event.text, self.today)
        key = ask_key(step.id)
        if checked.ok:
            self.state.attempts.pop(key, None)
            if step.save_as:
                self.assign(step.save_as, checked.value)
            self.took(step, "valid")
            return self.goto(step.next)
        used = self.state.attempts.get(key, 0)
        if used < step.retries:
            self.state.attempts[key] = used + 1
            self.took(step, f"invalid ({checked.reason}): re-ask {used + 1} of {step.retries}")
            self._prompt(step, attempt=used + 1)
            return None
        self.state.attempts.pop(key, None)
        self.took(step, f"invalid ({checked.reason}): retries used")
        return self.goto(step.on_invalid, missing="fail")

    def _timeout(self, step: AskStep) -> str | None:
        self.state.attempts.pop(ask_key(step.id), None)
        self.took(step, "timeout")
        return self.goto(step.on_timeout)

    def _prompt(self, step: AskStep, *, attempt: int) -> None:
        text = step.retry_text if attempt and step.retry_text else step.text
        self.actions.append(AskPrompt(step=step.id, text=self.render(text), kind=step.kind,
                                      choices=list(step.choices), timeout_seconds=step.timeout_seconds,
                                      attempt=attempt))
        self.state.status = "waiting_answer"
        self.wait = "answer"

    # ---------------------------------------------------------------- steps

    def run(self, step_id: str | None) -> None:
        taken = 0
        while step_id is not None:
            step = self.definition.step(step_id)
            if step is None:
                raise _Failed(f"no step {step_id}")
            taken += 1
            if taken > self.max_steps:
                raise _Failed(f"more than {self.max_steps} steps without waiting")
            self.state.step = step.id
            step_id = self.execute(step)

    def execute(self, step: StepModel) -> str | None:
        if isinstance(step, BranchStep):
            for i, branch in enumerate(step.branches):
                if conditions.evaluate(branch.when, self.state):
                    self.took(step, f"branch {i + 1}")
                    return branch.next
            self.took(step, "else")
            return step.else_
        if isinstance(step, HttpStep):
            call = HttpCall(step=step.id, method=step.method, url=self.render(step.url, secrets=True),
                            headers={k: self.render(v, secrets=True) for k, v in step.headers.items()},
                            body=None if step.body is None else self.render(step.body, secrets=True),
                            timeout_seconds=step.timeout_seconds, retries=step.retries)
            self.actions.append(call)
            self.took(step, "request")
            self.state.status = "waiting_http"
            self.wait = "http"
            return None
        if isinstance(step, AskStep):
            self.state.attempts.pop(ask_key(step.id), None)
            self.took(step, "asked")
            self._prompt(step, attempt=0)
            return None
        if isinstance(step, SendStep):
            self.actions.append(SendMessage(text=self.render(step.text)))
            self.took(step, "sent")
            return self.goto(step.next)
        if isinstance(step, UpdateStep):
            self.assign(step.field, self.render(step.value))
            self.took(step, "updated")
            return self.goto(step.next)
        if isinstance(step, SheetStep):
            self.actions.append(SaveRow(sheet=step.sheet,
                                        columns={k: self.render(v) for k, v in step.columns.items()}))
            self.took(step, "saved")
            return self.goto(step.next)
        if isinstance(step, JumpStep):
            key = jump_key(step.id)
            count = self.state.attempts.get(key, 0) + 1
            if count > step.max:
                self.took(step, f"jump limit {step.max} reached")
                raise _Failed(f"jump {step.id} taken more than {step.max} times")
            self.state.attempts[key] = count
            self.took(step, f"jump {count}")
            return step.to
        if isinstance(step, PromiseStep):
            return self._promise(step)
        if isinstance(step, RouteStep):
            self.actions.append(RouteTo(step=step.id, team=step.team, rule=step.rule, skill=step.skill,
                                        message=self.render(step.message) if step.message else ""))
            self.took(step, f"routed to {step.team}")
            self.state.status = "handed_off"
            self.wait = "end"
            return None
        assert isinstance(step, CloseStep)
        self.took(step, "closed")
        self.close(self.render(step.message) if step.message else "")
        return None

    def _promise(self, step: PromiseStep) -> str | None:
        invoice = self.render(step.invoice).strip()
        amount = self.render(step.amount).strip()
        until = self.render(step.until).strip()
        problem = ""
        if not invoice:
            problem = "no invoice"
        elif (number := answers.parse_number(amount)) is None or number <= Decimal(0):
            problem = "no amount"
        elif answers.parse_date(until) is None:
            problem = "no date"
        if problem:
            self.took(step, f"failure ({problem})")
            return self.goto(step.on_failure, missing="fail")
        parsed = answers.parse_date(until)
        assert parsed is not None
        self.actions.append(RecordPromise(step=step.id, invoice=invoice, amount=str(number),
                                          until=parsed.isoformat()))
        self.took(step, "promise")
        self.state.status = "running"
        self.wait = "promise"
        return None


def advance(definition: WorkflowDefinition, state: RunState, event: Event, *,
            max_steps: int = DEFAULT_MAX_STEPS) -> Advance:
    """Apply ``event`` to ``state`` and run until the next wait point (see the module docstring)."""
    new = state.model_copy(deep=True)
    new.seq += 1
    if new.status in ("handed_off", "closed", "failed"):
        return Advance(state=new, actions=[], wait="end", steps=[])
    run = _Run(definition, new, event.today or datetime.now(UTC).date(), max_steps)
    try:
        run.run(run.apply(event))
    except (_Failed, TemplateError) as exc:
        run.fail(str(exc))
    return Advance(state=run.state, actions=run.actions, wait=run.wait, steps=run.steps)
