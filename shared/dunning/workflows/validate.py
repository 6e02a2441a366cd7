"""Validating a workflow: parse (YAML or JSON, with line numbers) -> JSON Schema (the ``jsonschema`` library
against :func:`dunning.workflows.schema.workflow_schema`) -> the models -> graph checks:

- step ids are unique; ``start``, ``next``, ``else``, ``on_*``, ``to`` and branch targets exist;
- every step is reachable from ``start``;
- every cycle passes through an ``ask`` step (whose retries the schema bounds);
- a ``vars.X`` read (in a template or a condition other than exists/not_exists) is declared in ``variables``
  or set on every path to it (``save_as``, ``mapping``, ``update``), else "may be unset";
- templates compile in the sandbox and read only contact/vars/conversation/settings (``secrets`` in an HTTP
  step's url, headers and body only); regexes and JSONPath expressions compile; ask bounds fit the kind;
- with ``teams``: every route names a known team.
``route`` and ``close`` are terminal (the schema gives them no ``next``).

Every error names the step it is in (``StepError.step``; None for the whole workflow); errors come in step
order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import yaml
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import TypeAdapter, ValidationError

from dunning.models.workflows import (
    STEP_TYPES,
    AskStep,
    BranchStep,
    CloseStep,
    HttpStep,
    JumpStep,
    PromiseStep,
    RouteStep,
    SendStep,
    SheetStep,
    Step,
    StepError,
    StepModel,
    UpdateStep,
    ValidationReport,
    WorkflowDefinition,
)
from dunning.templating import TemplateError
from dunning.workflows import answers, conditions, mapping, render
from dunning.workflows.schema import validator

MAX_SOURCE_CHARS = 200_000
_ANY_DATE = "2000-01-01"
_FIELD = re.compile(r"^[a-z_][A-Za-z0-9_]*$")  # a field name in a pydantic location (not a union member's name)


# ---------------------------------------------------------------- parsing

class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text (``min: 2026-01-01`` is a string) and refuses duplicate keys."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def detect_format(text: str) -> Literal["yaml", "json"]:
    return "json" if text.lstrip().startswith("{") else "yaml"


def parse_source(text: str, fmt: str | None) -> tuple[Any, StepError | None]:
    """The parsed document, or a whole-workflow error with the line number."""
    if len(text) > MAX_SOURCE_CHARS:
        return None, StepError(step=None, path="", message=f"the workflow is longer than {MAX_SOURCE_CHARS} "
                                                           "characters")
    kind = fmt or detect_format(text)
    if kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, StepError(step=None, path="", message=f"not valid JSON: line {exc.lineno} column "
                                                               f"{exc.colno}: {exc.msg}")
    else:
        try:
            data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
            what = " ".join(p for p in (exc.context, exc.problem) if p)
            return None, StepError(step=None, path="", message=f"not valid YAML: {where}{what}")
        except yaml.YAMLError as exc:
            return None, StepError(step=None, path="", message=f"not valid YAML: {exc}")
    if not isinstance(data, dict):
        return None, StepError(step=None, path="", message="a workflow is a mapping with id, name, start and steps")
    return data, None


# ---------------------------------------------------------------- schema errors

def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _step_of(doc: Any, parts: list[Any]) -> tuple[str | None, int]:
    """The step id (or None) and index (-1: not in a step) a location is in."""
    if len(parts) >= 2 and parts[0] == "steps" and isinstance(parts[1], int):
        steps = doc.get("steps") if isinstance(doc, dict) else None
        if isinstance(steps, list) and parts[1] < len(steps):
            item = steps[parts[1]]
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                return item["id"], parts[1]
        return None, parts[1]
    return None, -1


def _branch_def(instance: Any) -> str:
    """Which definition of a union an instance means: a step by its type, a condition by its key."""
    if isinstance(instance, dict):
        kind = instance.get("type")
        if isinstance(kind, str) and kind in STEP_TYPES:
            return f"{kind.capitalize()}Step"
        for key, name in (("all", "AllOf"), ("any", "AnyOf"), ("not", "NotOf")):
            if key in instance:
                return name
    return "Condition"


def _explain(error: SchemaError) -> Iterator[SchemaError]:
    """The errors that say what is wrong: a union's errors are narrowed to the branch the instance means."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        options = error.validator_value if isinstance(error.validator_value, list) else []
        refs = [str(o.get("$ref", "")) for o in options if isinstance(o, dict)]
        if refs and all(refs):
            if isinstance(error.instance, dict) and "type" in error.instance and any(
                    r.endswith("Step") for r in refs) and error.instance["type"] not in STEP_TYPES:
                yield error  # an unknown step type: the message below says which types exist
                return
            if not isinstance(error.instance, dict):
                yield error
                return
            wanted = _branch_def(error.instance)
            index = next((i for i, r in enumerate(refs) if r.endswith("/" + wanted)), None)
            if index is not None:
                picked = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == index]
                if picked:
                    for sub in picked:
                        yield from _explain(sub)
                    return
    yield error


def _message(error: SchemaError) -> str:
    instance = error.instance
    if error.validator in ("oneOf", "anyOf"):
        if isinstance(instance, dict) and "type" in instance:
            return f"unknown step type {instance['type']!r}; the types are {', '.join(STEP_TYPES)}"
        if isinstance(instance, dict) and "type" not in instance and "id" in instance:
            return f"a step needs a type: one of {', '.join(STEP_TYPES)}"
        return "not a valid value here"
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = set((error.schema.get("properties") or {}).keys())
        extra = sorted(k for k in instance if k not in allowed)
        kind = instance.get("type")
        if kind in ("route", "close") and "next" in extra:
            return f"a {kind} step ends the workflow: it cannot have 'next'"
        return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}" + (
            f"; allowed: {', '.join(sorted(allowed))}" if allowed else "")
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "pattern":
        return f"{instance!r} does not have the allowed form ({error.validator_value})"
    if error.validator == "const":
        return f"must be {error.validator_value!r}"
    if error.validator == "enum":
        return f"{instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    return error.message


def schema_errors(doc: Any) -> list[tuple[int, StepError]]:
    out: list[tuple[int, StepError]] = []
    seen: set[tuple[str, str]] = set()
    for top in validator().iter_errors(doc):
        for error in _explain(top):
            parts = list(error.absolute_path)
            step, index = _step_of(doc, parts)
            item = StepError(step=step, path=_path(parts), message=_message(error))
            if (item.path, item.message) not in seen:
                seen.add((item.path, item.message))
                out.append((index, item))
    return out


def model_errors(doc: Any, exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[tuple[int, StepError]]:
    """The models' own checks (an op's value, a question's options) as step errors."""
    raw = [{**e, "loc": (*prefix, *e["loc"])} for e in exc.errors()]
    ours = [e for e in raw if e["type"] == "value_error"] or raw
    out: list[tuple[int, StepError]] = []
    for e in ours:
        loc: tuple[Any, ...] = tuple(e["loc"])  # type: ignore[arg-type]
        parts = [p for p in loc if isinstance(p, int) or (_FIELD.match(str(p)) and p not in STEP_TYPES)]
        step, index = _step_of(doc, parts)
        message = str(e["msg"]).removeprefix("Value error, ")
        out.append((index, StepError(step=step, path=_path(parts), message=message)))
    return out


_STEP: TypeAdapter[Any] = TypeAdapter(Step)


def _step_model_errors(doc: Any, skip: set[int]) -> list[tuple[int, StepError]]:
    """The models' own checks of the steps the schema found nothing wrong with (the workflow as a whole did not
    parse, so these are shown with the schema's errors)."""
    steps = doc.get("steps") if isinstance(doc, dict) else None
    out: list[tuple[int, StepError]] = []
    for i, item in enumerate(steps if isinstance(steps, list) else []):
        if i in skip:
            continue
        try:
            _STEP.validate_python(item)
        except ValidationError as exc:
            out.extend(model_errors(doc, exc, ("steps", i)))
    return out


# ---------------------------------------------------------------- graph

def edges(step: StepModel) -> list[tuple[str, str, str]]:
    """``(label, field path, target)`` for every way out of ``step``."""
    out: list[tuple[str, str, str]] = []
    if isinstance(step, BranchStep):
        for i, branch in enumerate(step.branches):
            out.append(("yes" if len(step.branches) == 1 else f"when {i + 1}", f"branches[{i}].next", branch.next))
        out.append(("else", "else", step.else_))
    elif isinstance(step, JumpStep):
        out.append(("jump", "to", step.to))
    elif isinstance(step, AskStep):
        for label, name, target in (("valid", "next", step.next), ("invalid", "on_invalid", step.on_invalid),
                                    ("timeout", "on_timeout", step.on_timeout)):
            if target is not None:
                out.append((label, name, target))
    elif isinstance(step, HttpStep | PromiseStep):
        for label, name, target in (("ok", "next", step.next), ("failure", "on_failure", step.on_failure)):
            if target is not None:
                out.append((label, name, target))
    elif isinstance(step, SendStep | UpdateStep | SheetStep) and step.next is not None:
        out.append(("", "next", step.next))
    return out


def _sets(step: StepModel, label: str) -> set[str]:
    """The variables ``step`` sets when it leaves by the edge ``label``."""
    if isinstance(step, AskStep) and label == "valid" and step.save_as and step.save_as.startswith("vars."):
        return {step.save_as[5:]}
    if isinstance(step, HttpStep) and label == "ok":
        return set(step.mapping)
    if isinstance(step, UpdateStep) and step.field.startswith("vars."):
        return {step.field[5:]}
    return set()


def _templates(step: StepModel) -> list[tuple[str, str, bool]]:
    """``(field path, template, secrets allowed)`` of every template in ``step``."""
    if isinstance(step, HttpStep):
        out = [("url", step.url, True)] + [(f"headers.{k}", v, True) for k, v in step.headers.items()]
        return out + ([("body", step.body, True)] if step.body is not None else [])
    if isinstance(step, AskStep):
        return [("text", step.text, False)] + ([("retry_text", step.retry_text, False)] if step.retry_text else [])
    if isinstance(step, SendStep):
        return [("text", step.text, False)]
    if isinstance(step, UpdateStep):
        return [("value", step.value, False)]
    if isinstance(step, SheetStep):
        return [(f"columns.{k}", v, False) for k, v in step.columns.items()]
    if isinstance(step, PromiseStep):
        return [("invoice", step.invoice, False), ("amount", step.amount, False), ("until", step.until, False)]
    if isinstance(step, RouteStep | CloseStep):
        text = step.message
        return [("message", text, False)] if text else []
    return []


def _reads(step: StepModel) -> list[tuple[str, str]]:
    """``(field path, variable)`` of every ``vars.X`` the step reads (templates that do not compile skipped)."""
    out: list[tuple[str, str]] = []
    for path, source, _ in _templates(step):
        try:
            refs = render.inspect(source)
        except TemplateError:
            continue
        out.extend((path, name) for name in sorted(refs.variables))
    if isinstance(step, BranchStep):
        for i, branch in enumerate(step.branches):
            for leaf in conditions.leaves(branch.when):
                if leaf.field.startswith("vars.") and leaf.op not in ("exists", "not_exists"):
                    out.append((f"branches[{i}].when", leaf.field[5:]))
    return out


def _cycle_without_ask(graph: dict[str, list[str]], kinds: dict[str, str]) -> list[list[str]]:
    """Strongly connected parts of the graph without ask steps that hold a cycle (Tarjan)."""
    nodes = [n for n in graph if kinds[n] != "ask"]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = []

        def enter(node: str) -> None:
            nonlocal counter
            index[node] = low[node] = counter
            counter += 1
            stack.append(node)
            on_stack.add(node)
            work.append((node, iter([t for t in graph[node] if t in graph and kinds[t] != "ask"])))

        enter(start)
        while work:
            node, targets = work[-1]
            advanced = False
            for target in targets:
                if target not in index:
                    enter(target)
                    advanced = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                part: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.append(member)
                    if member == node:
                        break
                if len(part) > 1 or node in graph[node]:
                    found.append(part)

    for n in nodes:
        if n not in index:
            visit(n)
    return found


def _check_ask(step: AskStep) -> Iterator[tuple[str, str]]:
    if step.kind == "text" and step.pattern is not None:
        try:
            re.compile(step.pattern)
        except re.error as exc:
            yield "pattern", f"the pattern is not a valid regular expression: {exc}"
    if step.kind == "number":
        bounds: dict[str, Decimal | None] = {}
        for name in ("min", "max"):
            value = getattr(step, name)
            if value is not None:
                number = answers.parse_number(value)
                if number is None:
                    yield name, f"{name} of a number question must be a number, not {value!r}"
                bounds[name] = number
        low, high = bounds.get("min"), bounds.get("max")
        if low is not None and high is not None and low > high:
            yield "min", "min is above max"
    if step.kind == "date":
        for name in ("min", "max"):
            value = getattr(step, name)
            if value is not None:
                try:
                    answers.date_bound(value, date.fromisoformat(_ANY_DATE))
                except ValueError:
                    yield name, f"{name} of a date question is an ISO date, today, +Nd or -Nd, not {value!r}"
    if step.kind == "choice":
        values = [c.value.strip().casefold() for c in step.choices]
        if len(set(values)) != len(values):
            yield "choices", "two choices have the same value"


Add = Callable[[int, str, str], None]  # (step index, field, message)


def graph_errors(defn: WorkflowDefinition, teams: set[str] | None = None) -> list[tuple[int, StepError]]:
    out: list[tuple[int, StepError]] = []
    order: dict[str, int] = {}
    for i, step in enumerate(defn.steps):
        if step.id in order:
            out.append((i, StepError(step=step.id, path=f"steps[{i}].id",
                                     message=f"the id {step.id!r} is already used by steps[{order[step.id]}]")))
        else:
            order[step.id] = i

    def add(i: int, field: str, message: str) -> None:
        out.append((i, StepError(step=defn.steps[i].id, path=f"steps[{i}].{field}" if field else f"steps[{i}]",
                                 message=message)))

    if defn.start not in order:
        out.append((-1, StepError(step=None, path="start", message=f"start: there is no step {defn.start!r}")))
    graph, kinds = _graph(defn, order, add)
    reached = _reachable(defn, order, graph, add)
    for part in _cycle_without_ask(graph, kinds):  # loops must wait for the customer
        members = sorted(part, key=lambda s: order[s])
        add(order[members[0]], "", "a loop without a question: " + " -> ".join(members)
            + " never waits for an answer (every loop must pass through an ask step)")
    _unset_reads(defn, order, graph, reached, add)
    for i, step in enumerate(defn.steps):
        _content_errors(i, step, teams, add)
    return out


def _graph(defn: WorkflowDefinition, order: dict[str, int], add: Add) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each step's targets (an edge to no step is an error) and its type."""
    graph: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for i, step in enumerate(defn.steps):
        if order.get(step.id) != i:
            continue
        kinds[step.id] = step.type
        graph[step.id] = []
        for label, field, target in edges(step):
            if target not in order:
                add(i, field, f"{field}: there is no step {target!r}" + (" to jump to" if label == "jump" else ""))
            else:
                graph[step.id].append(target)
    return graph, kinds


def _reachable(defn: WorkflowDefinition, order: dict[str, int], graph: dict[str, list[str]], add: Add) -> set[str]:
    """The steps reached from the start; every other one is an error."""
    reached: set[str] = set()
    todo = [defn.start] if defn.start in order else []
    while todo:
        node = todo.pop()
        if node in reached:
            continue
        reached.add(node)
        todo.extend(graph.get(node, []))
    for step_id, i in order.items():
        if step_id not in reached and defn.start in order:
            add(i, "", f"step {step_id!r} cannot be reached from the start ({defn.start!r})")
    return reached


def _unset_reads(defn: WorkflowDefinition, order: dict[str, int], graph: dict[str, list[str]], reached: set[str],
                 add: Add) -> None:
    """Variables set before they are read: a must-set dataflow over the edges."""
    first = {step.id: step for step in reversed(defn.steps)}
    universe = set(defn.variables)
    for step in first.values():
        for label, _, _ in edges(step):
            universe |= _sets(step, label)
    # declared variables are always set; the start is entered with those only
    known: dict[str, set[str]] = {s: set(universe) for s in graph}
    if defn.start in known:
        known[defn.start] = set(defn.variables)
    changed = True
    while changed:
        changed = False
        incoming: dict[str, list[set[str]]] = {s: [] for s in graph}
        for step_id in graph:
            if step_id in reached:
                step = first[step_id]
                for label, _, target in edges(step):
                    if target in incoming:
                        incoming[target].append(known[step_id] | _sets(step, label))
        for step_id in graph:
            if step_id not in reached or step_id == defn.start:
                continue
            sets = incoming[step_id]
            value = set.intersection(*sets) if sets else set(defn.variables)
            if value != known[step_id]:  # only ever shrinks: the loop ends
                known[step_id] = value
                changed = True
    for step_id, i in order.items():
        if step_id not in reached:
            continue
        for field, name in _reads(first[step_id]):
            if name not in known[step_id]:
                never = name not in universe
                add(i, field, f"vars.{name} may be unset here: " + (
                    "no step sets it and it is not declared in variables" if never
                    else "some path reaches this step without setting it"))


def _content_errors(i: int, step: Any, teams: set[str] | None, add: Add) -> None:
    """One step's templates, regexes, JSONPath, bounds and team."""
    for field, source, secrets_ok in _templates(step):
        try:
            refs = render.inspect(source)
        except TemplateError as exc:
            add(i, field, f"{field}: {exc}")
            continue
        names = set(refs.names)
        if render.SECRET_NAME in names and not secrets_ok:
            add(i, field, f"{field}: secrets can only be used in an HTTP step's url, headers and body")
        unknown = sorted(names - render.CONTEXT_NAMES - {render.SECRET_NAME})
        if unknown:
            add(i, field, f"{field}: unknown name{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                          "templates read contact, vars, conversation and settings")
    if isinstance(step, BranchStep):
        for b, branch in enumerate(step.branches):
            for leaf in conditions.leaves(branch.when):
                if leaf.op == "regex" and isinstance(leaf.value, str):
                    try:
                        re.compile(leaf.value)
                    except re.error as exc:
                        add(i, f"branches[{b}].when", f"the regex {leaf.value!r} does not compile: {exc}")
    if isinstance(step, HttpStep):
        for name, expression in step.mapping.items():
            try:
                mapping.compile_path(expression)
            except mapping.MappingError as exc:
                add(i, f"mapping.{name}", f"mapping {name}: {exc}")
    if isinstance(step, AskStep):
        for field, message in _check_ask(step):
            add(i, field, message)
    if isinstance(step, RouteStep) and teams is not None and step.team not in teams:
        add(i, "team", f"unknown team {step.team!r}; the teams are {', '.join(sorted(teams)) or '(none)'}")


# ---------------------------------------------------------------- entry points

def _report(items: list[tuple[int, StepError]], definition: WorkflowDefinition | None) -> ValidationReport:
    ranked = sorted(enumerate(items), key=lambda pair: (pair[1][0], pair[0]))  # step order, then as found
    errors = [error for _, (_, error) in ranked]
    return ValidationReport(ok=not errors, errors=errors, definition=definition if not errors else None)


def validate_document(doc: Any, *, teams: set[str] | None = None) -> ValidationReport:
    """Validate parsed data (a dict from YAML/JSON)."""
    found = schema_errors(doc)
    if found:
        return _report(found + _step_model_errors(doc, {i for i, _ in found}), None)
    try:
        definition = WorkflowDefinition.model_validate(doc)
    except ValidationError as exc:
        return _report(model_errors(doc, exc), None)
    report = _report(graph_errors(definition, teams), definition)
    return report if not report.ok else ValidationReport(ok=True, errors=[], definition=definition)


def validate_definition(defn: WorkflowDefinition, *, teams: set[str] | None = None) -> ValidationReport:
    """The graph checks (and the teams, when given) of a definition that already parsed."""
    items = graph_errors(defn, teams)
    if items:
        return _report(items, None)
    return ValidationReport(ok=True, errors=[], definition=defn)


def validate_source(text: str, fmt: Literal["yaml", "json"] | None = None, *,
                    teams: set[str] | None = None) -> ValidationReport:
    """Parse ``text`` (``fmt`` None: JSON when it starts with ``{``, else YAML) and validate it."""
    doc, error = parse_source(text, fmt)
    if error is not None:
        return ValidationReport(ok=False, errors=[error], definition=None)
    return validate_document(doc, teams=teams)
