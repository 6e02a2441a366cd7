"""The SVG diagram, diffs, the published JSON Schema and the shipped templates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from dunning.models.workflows import StepError, WorkflowDefinition
from dunning.workflows import diagram, schema, templates
from dunning.workflows.diff import diff
from tests.unit.workflows.helpers import load, parse

ROOT = Path(__file__).resolve().parents[3]
SVG = "{http://www.w3.org/2000/svg}"


def test_the_published_schema_equals_the_generated_one():
    published = ROOT / schema.PUBLISHED_PATH
    assert published.read_text(encoding="utf-8") == schema.schema_text(), (
        "regenerate: python -m dunning.workflows.schema > infra/workflows/workflow.schema.json")
    assert json.loads(schema.schema_text())["$schema"].endswith("2020-12/schema")


def test_the_templates_ship_inside_the_package_not_in_infra():
    assert templates.TEMPLATE_DIR.parent == Path(schema.__file__).parent
    assert not (ROOT / "infra" / "workflows" / "templates").exists()
    infos = templates.list_templates()
    assert [t.id for t in infos] == ["vip_routing", "new_vs_returning", "csat_survey", "collections_promise"]
    assert all(t.name and t.description for t in infos)
    with pytest.raises(templates.TemplateNotFound):
        templates.load_template("../etc/passwd")


def test_the_vip_template_is_the_seeds_flow():
    defn = load("vip_routing")
    assert defn.trigger.event == "conversation_opened" and defn.start == "has_email"
    http = defn.step("get_contact")
    assert http is not None and http.type == "http" and http.method == "GET"
    assert http.mapping == {"CustomerType": "$.customerType"} and http.on_failure == "route_normal"
    ask = defn.step("ask_email")
    assert ask is not None and ask.type == "ask" and (ask.kind, ask.retries) == ("email", 3)
    assert (ask.next, ask.on_invalid, ask.on_timeout) == ("email_saved", "route_manager", "close_idle")
    jump = defn.step("to_lookup")
    assert jump is not None and jump.type == "jump" and jump.to == "get_contact"
    teams = {s.id: s.team for s in defn.steps if s.type == "route"}
    assert teams == {"route_vip": "vip", "route_normal": "normal", "route_manager": "managers"}


@pytest.mark.parametrize("template_id", templates.TEMPLATE_IDS)
def test_every_template_renders_as_an_accessible_svg_with_a_group_per_step(template_id):
    defn = load(template_id)
    svg = diagram.render_svg(defn, highlight={defn.start})
    root = ElementTree.fromstring(svg)
    assert root.get("role") == "img" and defn.name in (root.get("aria-label") or "")
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("step-")}
    assert set(groups) == {f"step-{s.id}" for s in defn.steps}
    assert all(g.find(f"{SVG}title") is not None for g in groups.values())
    assert "<script" not in svg and "javascript:" not in svg
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(edges) >= len(defn.steps) - 1
    ys = {sid: int(g.find(f"{SVG}rect").get("y")) for sid, g in groups.items()}  # type: ignore[union-attr]
    assert ys[f"step-{defn.start}"] == min(ys.values())


def test_edges_are_labelled_with_their_outcomes_and_error_steps_outlined_red():
    defn = load("vip_routing")
    svg = diagram.render_svg(defn, errors={"route_vip": ["unknown team 'vip'"]})
    labels = set(re.findall(r'paint-order="stroke" font-size="11">([^<]+)</text>', svg))
    assert {"yes", "else", "valid", "invalid", "timeout", "failure", "jump", "ok"} <= labels
    root = ElementTree.fromstring(svg)
    box = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "step-route_vip")
    assert box.find(f"{SVG}rect").get("stroke") == "#c62828"  # type: ignore[union-attr]
    assert "unknown team 'vip'" in (box.find(f"{SVG}title").text or "")  # type: ignore[union-attr]


def test_errors_may_be_given_as_a_reports_step_errors():
    defn = load("vip_routing")
    svg = diagram.render_svg(defn, errors=[StepError(step="ask_email", path="steps[5]", message="bad"),
                                           StepError(step=None, path="start", message="whole")])
    root = ElementTree.fromstring(svg)
    box = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "step-ask_email")
    assert box.get("class") == "step error" and "error: bad" in (box.find(f"{SVG}title").text or "")  # type: ignore[union-attr]


def test_labels_are_escaped():
    defn = parse("id: esc\nname: '<script>alert(1)</script>'\nstart: a\nsteps:\n"
                 "  - {id: a, type: send, text: '<script>alert(\"x\")</script> & co', next: b}\n"
                 "  - {id: b, type: close, message: '\"><img src=x onerror=alert(1)>'}\n")
    svg = diagram.render_svg(defn, errors={"a": ["<b>bad</b>"]})
    assert "<script" not in svg and "<img" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&amp; co" in svg
    ElementTree.fromstring(svg)  # still well-formed


def test_unreachable_steps_are_drawn_too():
    defn = WorkflowDefinition.model_validate({"id": "wf_u", "name": "U", "start": "a", "steps": [
        {"id": "a", "type": "close"}, {"id": "b", "type": "send", "text": "x", "next": "a"}]})
    svg = diagram.render_svg(defn)
    assert 'id="step-b"' in svg and 'id="step-a"' in svg


def test_diff_reports_steps_added_removed_changed_and_a_unified_text():
    a_text = templates.load_template("vip_routing")
    a_def = load("vip_routing")
    data = schema.canonical(a_def)
    data["steps"] = [s for s in data["steps"] if s["id"] != "close_idle"]
    for s in data["steps"]:
        if s["id"] == "ask_email":
            s["retries"] = 2
            s["on_timeout"] = "bye"
    data["steps"].append({"id": "bye", "type": "close", "message": "Bye"})
    b_text = json.dumps(data, indent=2)
    b_def = WorkflowDefinition.model_validate(data)
    result = diff(a_text, b_text, a_def, b_def, a_label="v1", b_label="draft")
    assert (result.added, result.removed, result.changed) == (["bye"], ["close_idle"], ["ask_email"])
    assert result.unified.startswith("--- v1\n+++ draft\n")
    assert "+  retries: 2\n" in result.unified and "-  on_timeout: close_idle\n" in result.unified


def test_the_same_workflow_in_another_format_has_no_diff_and_the_same_hash():
    a_def = load("csat_survey")
    b_text = json.dumps(a_def.model_dump(mode="json", by_alias=True))  # every default spelled out, as JSON
    b_def = WorkflowDefinition.model_validate_json(b_text)
    result = diff(templates.load_template("csat_survey"), b_text, a_def, b_def)
    assert result.unified == "" and (result.added, result.removed, result.changed) == ([], [], [])
    assert schema.definition_hash(a_def) == schema.definition_hash(b_def)


def test_an_invalid_side_is_compared_by_its_text():
    a_def = load("csat_survey")
    result = diff("", "id: broken\n", a_def, None)
    assert "+id: broken" in result.unified and "-id: csat_survey" in result.unified
    assert (result.added, result.removed, result.changed) == ([], [], [])
