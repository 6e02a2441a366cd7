"""Validation: parse errors with line numbers, schema errors on the step they are in, the models' own checks,
and each graph check (targets, reachability, loops without a question, variables read before set, templates,
secrets, regexes, JSONPath, bounds, teams, terminal steps); errors in step order."""

from __future__ import annotations

import json

import pytest

from dunning.models.workflows import WorkflowDefinition
from dunning.workflows import templates
from dunning.workflows.validate import validate_definition, validate_source
from tests.unit.workflows.helpers import TEAMS

HEAD = "id: wf_test\nname: Test\nstart: a\nsteps:\n"


def errors(text: str, **kw) -> list[tuple[str | None, str, str]]:
    report = validate_source(text, **kw)
    assert not report.ok and report.definition is None
    return [(e.step, e.path, e.message) for e in report.errors]


def one(text: str, **kw) -> tuple[str | None, str, str]:
    found = errors(text, **kw)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("template_id", templates.TEMPLATE_IDS)
def test_every_shipped_template_is_valid_with_the_demo_teams(template_id):
    report = validate_source(templates.load_template(template_id), "yaml", teams=TEAMS)
    assert report.ok, report.errors
    assert report.definition is not None and report.definition.id == template_id


def test_the_same_workflow_as_json_is_valid_and_detected_as_json():
    text = json.dumps({"id": "wf_json", "name": "J", "start": "a", "steps": [{"id": "a", "type": "close"}]})
    report = validate_source(text)
    assert report.ok and report.definition is not None


def test_yaml_and_json_syntax_errors_give_the_line():
    step, _, message = one(HEAD + "  - id: a\n    type: send\n   text: x\n")
    assert step is None and "not valid YAML: line 7" in message
    step, _, message = one('{"id": "x",\n "name": }', fmt="json")
    assert step is None and message.startswith("not valid JSON: line 2")


def test_duplicate_yaml_keys_are_refused():
    _, _, message = one(HEAD + "  - {id: a, type: close, id: b}\n")
    assert "duplicate key 'id'" in message and "line 5" in message


def test_a_list_at_the_top_is_refused():
    assert one("- a\n- b\n")[2].startswith("a workflow is a mapping")


def test_schema_errors_name_the_step_they_are_in():
    found = errors(HEAD + "  - {id: a, type: send, text: hi, next: b}\n"
                   "  - {id: b, type: ask, text: q, retries: 9, next: c}\n"
                   "  - {id: c, type: route, team: vip, next: a}\n"
                   "  - {id: d, type: http, url: x, wat: 1}\n"
                   "  - {id: e, type: teleport}\n")
    assert found == [
        ("b", "steps[1].retries", "9 is greater than the maximum of 5"),
        ("c", "steps[2]", "a route step ends the workflow: it cannot have 'next'"),
        ("d", "steps[3]", "unknown field 'wat'; allowed: body, headers, id, mapping, method, next, on_failure, "
                          "retries, timeout_seconds, type, url"),
        ("e", "steps[4]", "unknown step type 'teleport'; the types are branch, http, ask, send, update, close, "
                          "route, jump, sheet, promise"),
    ]


def test_workflow_level_schema_errors_come_first():
    found = errors("id: X\nname: t\nstart: a\nsteps:\n  - {id: a, type: close, message: 3}\n")
    assert found[0][0] is None and found[0][1] == "id"
    assert found[1][:2] == ("a", "steps[0].message")


def test_condition_errors_are_narrowed_to_the_condition_meant():
    found = errors(HEAD + "  - {id: a, type: branch, else: b, branches: [{when: {not: {field: vars.x, op: exists, "
                   "valu: 1}}, next: b}]}\n  - {id: b, type: close}\n")
    assert found == [("a", "steps[0].branches[0].when.not", "unknown field 'valu'; allowed: field, op, value")]
    _, path, message = one(HEAD + "  - {id: a, type: branch, else: b, branches: [{when: {field: vars.x, op: "
                           "between}, next: b}]}\n  - {id: b, type: close}\n")
    assert path == "steps[0].branches[0].when.op" and message.startswith("'between' is not one of exists")


def test_the_models_own_checks_are_reported_on_the_step():
    found = errors(HEAD + "  - {id: a, type: branch, else: b, branches: [{when: {any: [{field: contact.x, op: in, "
                   "value: 3}]}, next: b}]}\n  - {id: b, type: ask, text: q, kind: choice}\n"
                   "  - {id: c, type: ask, text: q, kind: email, min: 3}\n")
    assert found == [("a", "steps[0].branches[0].when.any[0]", "op in needs a list value"),
                     ("b", "steps[1]", "a choice question needs choices"),
                     ("c", "steps[2]", "min/max are for number and date questions")]


def test_missing_targets_name_the_field():
    found = errors(HEAD + "  - {id: a, type: ask, text: q, next: nowhere, on_invalid: b}\n"
                   "  - {id: b, type: jump, to: gone}\n")
    assert found == [("a", "steps[0].next", "next: there is no step 'nowhere'"),
                     ("b", "steps[1].to", "to: there is no step 'gone' to jump to")]
    assert one("id: wf_test\nname: T\nstart: zz\nsteps:\n  - {id: a, type: close}\n")[:2] == (None, "start")


def test_unreachable_steps_and_duplicate_ids():
    found = errors(HEAD + "  - {id: a, type: close}\n  - {id: b, type: close}\n  - {id: a, type: close}\n")
    assert found == [("b", "steps[1]", "step 'b' cannot be reached from the start ('a')"),
                     ("a", "steps[2].id", "the id 'a' is already used by steps[0]")]


def test_a_loop_without_a_question_is_refused_and_one_through_an_ask_is_allowed():
    step, _, message = one(HEAD + "  - {id: a, type: send, text: hi, next: b}\n  - {id: b, type: jump, to: a}\n")
    assert step == "a" and "a loop without a question: a -> b" in message
    self_loop = one(HEAD + "  - {id: a, type: jump, to: a}\n")
    assert self_loop[0] == "a" and "loop" in self_loop[2]
    ok = validate_source(HEAD + "  - {id: a, type: ask, text: q, next: b}\n  - {id: b, type: jump, to: a}\n")
    assert ok.ok, ok.errors


def test_a_variable_read_before_it_is_set_on_some_path():
    text = HEAD + (
        "  - {id: a, type: branch, branches: [{when: {field: contact.email, op: exists}, next: lookup}], else: say}\n"
        "  - {id: lookup, type: http, url: 'https://x', mapping: {Kind: $.kind}, next: say, on_failure: say}\n"
        "  - {id: say, type: send, text: 'kind {{ vars.Kind }}', next: end}\n"
        "  - {id: end, type: close}\n")
    step, path, message = one(text)
    assert (step, path) == ("say", "steps[2].text")
    assert message == "vars.Kind may be unset here: some path reaches this step without setting it"
    never = one(HEAD + "  - {id: a, type: branch, branches: [{when: {field: vars.Nope, op: equals, value: 1}, "
                       "next: b}], else: b}\n  - {id: b, type: close}\n")
    assert never[:2] == ("a", "steps[0].branches[0].when") and "no step sets it" in never[2]


def test_declared_variables_and_exists_checks_are_not_reads_before_set():
    text = ("id: wf_test\nname: T\nstart: a\nvariables: {count: 0}\nsteps:\n"
            "  - {id: a, type: branch, branches: [{when: {field: vars.later, op: exists}, next: b}], else: b}\n"
            "  - {id: b, type: send, text: '{{ vars.count }}', next: c}\n  - {id: c, type: close}\n")
    assert validate_source(text).ok


def test_the_seed_jump_back_to_the_lookup_sets_the_variable_on_every_path():
    # vip_or_normal reads CustomerType: every path to it passes get_contact's ok edge (the mapping)
    assert validate_source(templates.load_template("vip_routing")).ok


def test_templates_must_compile_and_read_known_names():
    found = errors(HEAD + "  - {id: a, type: send, text: '{{ contact.name ', next: b}\n"
                   "  - {id: b, type: send, text: '{{ foo }}', next: c}\n  - {id: c, type: close}\n")
    assert found[0][:2] == ("a", "steps[0].text") and "template syntax error on line 1" in found[0][2]
    assert found[1] == ("b", "steps[1].text", "text: unknown name foo; templates read contact, vars, conversation "
                                               "and settings")


def test_secrets_only_in_http_url_headers_and_body():
    found = errors(HEAD + "  - {id: a, type: send, text: '{{ secrets.token }}', next: b}\n"
                   "  - {id: b, type: http, url: 'https://x/{{ secrets.token }}', headers: {X-Key: '{{ secrets.k }}'}, "
                   "next: c}\n  - {id: c, type: close}\n")
    assert found == [("a", "steps[0].text", "text: secrets can only be used in an HTTP step's url, headers and body")]


def test_regexes_jsonpaths_and_ask_bounds_are_checked():
    found = errors(HEAD + "  - {id: a, type: branch, branches: [{when: {field: contact.x, op: regex, value: '('}, "
                   "next: b}], else: b}\n"
                   "  - {id: b, type: http, url: 'https://x', mapping: {V: '$.['}, next: c}\n"
                   "  - {id: c, type: ask, text: q, kind: text, pattern: '[', next: d}\n"
                   "  - {id: d, type: ask, text: q, kind: number, min: 9, max: 2, next: e}\n"
                   "  - {id: e, type: ask, text: q, kind: date, min: today, max: next week, next: f}\n"
                   "  - {id: f, type: close}\n")
    assert [(s, p) for s, p, _ in found] == [("a", "steps[0].branches[0].when"), ("b", "steps[1].mapping.V"),
                                             ("c", "steps[2].pattern"), ("d", "steps[3].min"), ("e", "steps[4].max")]


def test_unknown_teams_are_errors_only_when_teams_are_given():
    text = HEAD + "  - {id: a, type: route, team: nowhere}\n"
    assert validate_source(text).ok
    assert one(text, teams=TEAMS) == ("a", "steps[0].team",
                                      "unknown team 'nowhere'; the teams are collections, managers, normal, vip")


def test_validate_definition_runs_the_graph_and_team_checks_on_a_parsed_definition():
    defn = WorkflowDefinition.model_validate({"id": "wf_x", "name": "X", "start": "a", "steps": [
        {"id": "a", "type": "route", "team": "ghosts"}, {"id": "b", "type": "close"}]})
    report = validate_definition(defn, teams=TEAMS)
    assert [(e.step, e.path) for e in report.errors] == [("a", "steps[0].team"), ("b", "steps[1]")]
    assert validate_definition(defn).errors[0].step == "b"
