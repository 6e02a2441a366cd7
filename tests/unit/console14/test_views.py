"""The workflow and conversation pages' view logic, without a stack: errors grouped by step in the order of the
steps (linked only to steps the diagram shows), a unified diff marked line by line, the format detected, the
queues an agent sees, and who wrote each message of a thread."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from dunning.auth import Group, Principal
from dunning.console.conversation_routes import my_teams, role_of, tabs
from dunning.console.workflow_routes import detect_format, diff_lines, group_errors
from dunning.models.config import Config
from dunning.models.interactions import ThreadEntry
from dunning.models.workflows import StepError, WorkflowDefinition
from dunning.workflows.templates import load_template

VIP = WorkflowDefinition.model_validate(yaml.safe_load(load_template("vip_routing")))


def person(name: str, *groups: Group) -> Principal:
    return Principal(user_id=f"u-{name}", username=name, groups=frozenset(groups))


def test_errors_are_grouped_by_step_in_the_order_of_the_steps_with_the_whole_workflow_first():
    errors = [StepError(step="ask_email", path="steps[5].retries", message="too many"),
              StepError(step="has_email", path="steps[0].else", message="unknown step"),
              StepError(step=None, path="start", message="no start"),
              StepError(step="ask_email", path="steps[5].next", message="unknown step nowhere")]
    groups = group_errors(errors, VIP)
    assert [g.step for g in groups] == [None, "has_email", "ask_email"]
    assert [g.anchor for g in groups] == ["", "step-has_email", "step-ask_email"]
    assert [e.path for e in groups[2].errors] == ["steps[5].retries", "steps[5].next"]


def test_an_error_on_a_step_the_diagram_does_not_show_is_listed_without_a_link():
    groups = group_errors([StepError(step="ghost", path="steps[12]", message="bad type")], VIP)
    assert [(g.step, g.anchor) for g in groups] == [("ghost", "")]
    assert [(g.step, g.anchor) for g in group_errors([StepError(step="x", path="", message="m")], None)] == [
        ("x", "")]


def test_a_unified_diff_is_marked_by_a_sign_on_each_added_and_removed_line():
    unified = "--- v1\n+++ v2\n@@ -1,3 +1,3 @@\n id: vip\n-name: Old\n+name: New\n priority: 10\n"
    lines = diff_lines(unified)
    assert [(line.kind, line.sign) for line in lines] == [
        ("file", ""), ("file", ""), ("hunk", ""), ("same", ""), ("remove", "\u2212"), ("add", "+"), ("same", "")]
    assert [line.text for line in lines if line.kind in ("add", "remove", "same")] == [
        "id: vip", "name: Old", "name: New", "priority: 10"]


def test_json_is_detected_by_its_opening_brace_and_anything_else_is_yaml():
    assert detect_format('  {"id": "x"}') == "json"
    assert detect_format("id: x\nname: y\n") == "yaml"


def _config() -> Config:
    from pathlib import Path

    from dunning.config_loader import load_config_dir

    return load_config_dir(Path(__file__).resolve().parents[3] / "infra" / "config")


def test_an_agent_sees_the_queues_of_the_teams_the_configuration_seats_them_in():
    config = _config()
    seated = config.conversations.agents[0]
    teams = my_teams(config, person(seated.username, Group.AGENT))
    assert [t for t, _ in teams] == list(seated.teams)
    assert my_teams(config, person("nobody@example.com", Group.AGENT)) == []
    every = [t.id for t in config.conversations.teams]
    assert [t for t, _ in my_teams(config, person("boss@example.com", Group.SUPERVISOR))] == every
    sitting = next(a for a in config.conversations.agents if a.username == "supervisor@example.com")
    ids = [t for t, _ in my_teams(config, person(sitting.username, Group.SUPERVISOR))]
    assert ids[:len(sitting.teams)] == list(sitting.teams) and sorted(ids) == sorted(every)


def test_the_tabs_start_with_my_conversations_and_keep_the_status_chosen():
    made = tabs([("vip", "VIP team"), ("normal", "Customer service")], "team:vip", "closed", "Assigned to me")
    assert [(t.key, t.label, t.current) for t in made] == [
        ("mine", "Assigned to me", False), ("team:vip", "VIP team", True), ("team:normal", "Customer service", False)]
    assert made[1].href == "/console/inbox?queue=team%3Avip&status=closed"
    assert tabs([], "mine", "handed_off", "Mine")[0].href == "/console/inbox?queue=mine"


def test_each_message_is_labelled_by_who_wrote_it():
    at = datetime(2026, 12, 1, tzinfo=UTC)

    def entry(kind: str, visibility: str = "agents") -> ThreadEntry:
        return ThreadEntry.model_validate({"entry_id": "e", "kind": kind, "author": "a", "at": at,
                                           "visibility": visibility})

    assert role_of(entry("chat_in", "customer")) == "customer"
    assert role_of(entry("chat_out", "customer")) == "bot"
    assert role_of(entry("comment", "customer")) == "agent"
    assert role_of(entry("comment")) == "note"
    assert role_of(entry("email_in", "customer")) == "customer"
    assert role_of(entry("system")) == "system"
