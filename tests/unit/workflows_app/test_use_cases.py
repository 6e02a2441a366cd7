"""The workflow use cases on moto: drafts kept even when invalid, publish refusing an invalid workflow with the
step and the reason, immutable numbered versions, the live version, diffs, "Try it" snapshots, the live workflow a
conversation starts on and the shipped templates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dunning.app import workflows as uc
from dunning.app.operations import InvalidRequest
from dunning.auth import Forbidden
from dunning.workflows.templates import TEMPLATE_IDS
from tests.unit.workflows_app.support import ADMIN, AGENT, BROKEN, T0, source


def test_an_invalid_draft_is_saved_with_its_errors(deps):
    draft = uc.save_draft(deps, ADMIN, "greet", BROKEN, "yaml", T0)
    assert not draft.ok and draft.source == BROKEN and draft.saved_by == "admin"
    errors = {(e.step, e.message) for e in draft.errors}
    assert any(step == "ask" and "nowhere" in msg for step, msg in errors), errors
    assert any(step == "orphan" and "reach" in msg.lower() for step, msg in errors), errors
    detail = uc.get_workflow(deps, AGENT, "greet")
    assert detail.draft is not None and detail.draft.errors == draft.errors
    assert (detail.summary.draft_state, detail.summary.live_version, detail.versions) == ("invalid", None, [])
    assert detail.summary.name == "Broken on purpose"  # the list shows an invalid draft's name too


def test_publish_refuses_an_invalid_workflow_naming_the_step_and_the_reason(deps):
    with pytest.raises(uc.WorkflowInvalid) as refused:
        uc.publish(deps, ADMIN, "greet", T0, text=BROKEN, fmt="yaml")
    assert any(e.step == "ask" and "nowhere" in e.message for e in refused.value.errors), refused.value.errors
    assert "ask:" in str(refused.value)
    summary = uc.list_workflows(deps, ADMIN)[0]
    assert (summary.id, summary.live_version, summary.latest_version) == ("greet", None, 0)
    assert deps.store.versions("greet") == []


def test_an_unknown_team_is_refused_at_publish_but_validates_without_a_stack(deps):
    text = source(team="mars")
    with pytest.raises(uc.WorkflowInvalid) as refused:
        uc.publish(deps, ADMIN, "greet", T0, text=text)
    assert any(e.step == "hand_over" and "mars" in e.message for e in refused.value.errors)
    assert not uc.validate(deps, text, None).ok
    assert uc.validate(deps, source(), None).ok


def test_the_source_id_must_be_the_workflow_id(deps):
    draft = uc.save_draft(deps, ADMIN, "other", source("greet"), None, T0)
    assert not draft.ok and draft.errors[0].path == "id" and "'greet'" in draft.errors[0].message
    with pytest.raises(InvalidRequest):
        uc.save_draft(deps, ADMIN, "Not An Id", source(), None, T0)


def test_publish_numbers_versions_keeps_them_and_the_same_content_makes_none(deps):
    v1 = uc.publish(deps, ADMIN, "greet", T0, text=source(text="One"), note="first")
    assert (v1.n, v1.published_by, v1.note) == (1, "admin", "first")
    # the same content, written differently (JSON, defaults spelled out): the live version, no new one
    again = uc.publish(deps, ADMIN, "greet", T0 + timedelta(minutes=1),
                       text=uc.version(deps, ADMIN, "greet", 1).definition.model_dump_json(by_alias=True),
                       fmt="json")
    assert again.n == 1 and again.published_at == T0
    assert uc.get_workflow(deps, ADMIN, "greet").summary.draft_state == "same"
    uc.save_draft(deps, ADMIN, "greet", source(text="Two"), "yaml", T0)
    assert uc.get_workflow(deps, ADMIN, "greet").summary.draft_state == "changed"
    assert uc.get_workflow(deps, ADMIN, "greet").summary.live_version == 1  # a draft changes nothing live
    v2 = uc.publish(deps, ADMIN, "greet", T0 + timedelta(minutes=2))
    assert v2.n == 2
    detail = uc.get_workflow(deps, ADMIN, "greet")
    assert (detail.summary.live_version, detail.summary.latest_version) == (2, 2)
    assert [v.n for v in detail.versions] == [1, 2] and detail.versions[0].note == "first"
    # version 1 is what it was: a conversation that started on it keeps it
    assert "One" in uc.version(deps, ADMIN, "greet", 1).source
    assert uc.definition_for(deps, "greet", "1").steps[0].text == "One"  # type: ignore[union-attr]
    assert uc.definition_for(deps, "greet", "2").steps[0].text == "Two"  # type: ignore[union-attr]
    # publishing v1's content again is a new version (v3), made live
    v3 = uc.publish(deps, ADMIN, "greet", T0, text=source(text="One"))
    assert v3.n == 3 and uc.get_workflow(deps, ADMIN, "greet").summary.live_version == 3


def test_a_publish_without_a_draft_or_of_an_unknown_workflow_is_refused(deps):
    with pytest.raises(uc.WorkflowNotFound):
        uc.publish(deps, ADMIN, "nothing_here", T0)
    with pytest.raises(uc.WorkflowNotFound):
        uc.version(deps, ADMIN, "nothing_here", 1)
    with pytest.raises(uc.WorkflowNotFound):
        uc.definition_for(deps, "nothing_here", "1")


def test_permissions(deps):
    uc.save_draft(deps, ADMIN, "greet", source(), None, T0)
    assert [w.id for w in uc.list_workflows(deps, AGENT)] == ["greet"]  # agents read
    with pytest.raises(Forbidden):
        uc.save_draft(deps, AGENT, "greet", source(), None, T0)
    with pytest.raises(Forbidden):
        uc.publish(deps, AGENT, "greet", T0)
    with pytest.raises(Forbidden):
        uc.try_snapshot(deps, AGENT, "greet", T0)
    with pytest.raises(Forbidden):
        uc.install_templates(deps, AGENT, T0)


def test_diff_between_versions_and_the_draft(deps):
    uc.publish(deps, ADMIN, "greet", T0, text=source(text="One"))
    uc.publish(deps, ADMIN, "greet", T0, text=source(text="Two"))
    uc.save_draft(deps, ADMIN, "greet", source(text="Two", team="vip"), None, T0)
    d = uc.diff(deps, ADMIN, "greet", "1", "2")
    assert (d.a, d.b, d.changed, d.added, d.removed) == ("1", "2", ["hello"], [], [])
    assert "-  text: One" in d.unified and "+  text: Two" in d.unified
    d = uc.diff(deps, ADMIN, "greet", "2", "draft")
    assert d.b == "draft" and d.changed == ["hand_over"] and "+  team: vip" in d.unified
    assert uc.diff(deps, ADMIN, "greet", "2", "2").unified == ""
    with pytest.raises(uc.WorkflowNotFound):
        uc.diff(deps, ADMIN, "greet", "1", "9")
    with pytest.raises(InvalidRequest):
        uc.diff(deps, ADMIN, "greet", "1", "latest")


def test_try_snapshot_runs_the_draft_and_refuses_an_invalid_one(deps):
    uc.save_draft(deps, ADMIN, "greet", source(text="Draft text"), None, T0)
    name = uc.try_snapshot(deps, ADMIN, "greet", T0)
    assert name.startswith("draft-") and len(name) == len("draft-") + 12
    assert name == uc.try_snapshot(deps, ADMIN, "greet", T0)  # keyed by its content
    fresh = uc.WorkflowDeps(store=deps.store, config=deps.config)  # another container: read from the table
    assert fresh.cache.get(("greet", name)) is None
    assert uc.definition_for(fresh, "greet", name).steps[0].text == "Draft text"  # type: ignore[union-attr]
    item = deps.store.try_snapshot("greet", name[len("draft-"):])
    assert item is not None and item.created_by == "admin"
    uc.save_draft(deps, ADMIN, "greet", BROKEN, None, T0)
    with pytest.raises(uc.WorkflowInvalid):
        uc.try_snapshot(deps, ADMIN, "greet", T0)
    with pytest.raises(uc.WorkflowNotFound):
        uc.definition_for(fresh, "greet", "draft-000000000000")


def test_definitions_are_cached_per_version(deps):
    uc.publish(deps, ADMIN, "greet", T0, text=source())
    fresh = uc.WorkflowDeps(store=deps.store, config=deps.config)
    calls = []
    original = fresh.store.version

    def counting(wf_id, n):
        calls.append((wf_id, n))
        return original(wf_id, n)

    object.__setattr__(fresh.store, "version", counting)
    first = uc.definition_for(fresh, "greet", "1")
    assert uc.definition_for(fresh, "greet", "1") is first
    assert calls == [("greet", 1)]


def test_live_for_takes_the_matching_trigger_with_the_highest_priority(deps):
    uc.publish(deps, ADMIN, "low", T0, text=source("low", priority=1))
    uc.publish(deps, ADMIN, "returning", T0, text=source("returning", priority=50, contacts="returning"))
    uc.publish(deps, ADMIN, "mail_only", T0, text=source("mail_only", priority=80, channels="[email]",
                                                          categories="[dunning_reply]"))
    uc.publish(deps, ADMIN, "any_cat", T0, text=source("any_cat", priority=90, categories="[dunning_reply]"))
    uc.publish(deps, ADMIN, "tie_b", T0, text=source("tie_b", priority=10))
    uc.publish(deps, ADMIN, "tie_a", T0, text=source("tie_a", priority=10))
    uc.save_draft(deps, ADMIN, "draft_only", source("draft_only", priority=999), None, T0)  # not live: never

    def pick(channel, returning, category=None):
        found = uc.live_for(deps, channel, returning, category)
        return (found[0].id, found[1]) if found else None

    assert pick("web_chat", False) == ("tie_a", "1")  # ties: the lowest id
    assert pick("web_chat", True) == ("returning", "1")
    assert pick("email", False, "dunning_reply") == ("any_cat", "1")  # category-limited on every channel
    assert pick("web_chat", False, "dunning_reply") == ("any_cat", "1")
    assert pick("email", False, "other") == ("tie_a", "1")  # the category does not match
    assert pick("email", False, None) == ("tie_a", "1")
    uc.publish(deps, ADMIN, "tie_a", T0, text=source("tie_a", priority=0, text="v2"))  # v2 lowers it
    assert pick("test", False) == ("tie_b", "1")
    assert uc.live_for(deps, "web_chat", False, None) is not None


def test_live_for_is_none_without_a_live_workflow(deps):
    assert uc.live_for(deps, "web_chat", False, None) is None
    uc.save_draft(deps, ADMIN, "greet", source(), None, T0)
    assert uc.live_for(deps, "web_chat", False, None) is None


def test_install_templates_publishes_v1_of_each_and_is_idempotent(deps):
    assert uc.install_templates(deps, None, T0) == list(TEMPLATE_IDS)
    assert uc.install_templates(deps, ADMIN, T0 + timedelta(hours=1)) == list(TEMPLATE_IDS)
    listed = {w.id: w for w in uc.list_workflows(deps, ADMIN)}
    assert set(listed) == set(TEMPLATE_IDS)
    assert all((w.live_version, w.latest_version, w.draft_state) == (1, 1, "same") for w in listed.values())
    vip = uc.version(deps, ADMIN, "vip_routing", 1)
    assert vip.published_by == "system" and vip.note == "shipped template"
    found = uc.live_for(deps, "web_chat", False, None)
    assert found is not None


def test_install_templates_keeps_an_operators_draft_and_can_leave_them_unpublished(deps):
    uc.install_templates(deps, ADMIN, T0, publish=False)
    assert all(w.live_version is None and w.draft_state == "changed" for w in uc.list_workflows(deps, ADMIN))
    edited = source("vip_routing", text="mine")
    uc.save_draft(deps, ADMIN, "vip_routing", edited, None, T0)
    uc.install_templates(deps, ADMIN, T0)
    detail = uc.get_workflow(deps, ADMIN, "vip_routing")
    assert detail.draft is not None and detail.draft.source == edited  # the operator's draft is kept
    assert detail.summary.live_version == 1 and "mine" not in uc.version(deps, ADMIN, "vip_routing", 1).source
