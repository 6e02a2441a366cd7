"""Conditions, JSONPath mapping and template rendering."""

from __future__ import annotations

import pytest

from dunning.models.workflows import AllOf, AnyOf, Condition, NotOf, RunState
from dunning.templating import TemplateError
from dunning.workflows import conditions, mapping, render

STATE = RunState(workflow_id="w", version="1", contact={"email": "A@x.com", "blank": "  ", "age": "42",
                                                          "tags": ["vip", "eu"], "returning": True},
                 variables={"CustomerType": "VIP", "n": 3, "due": "2026-03-01", "none": None},
                 conversation={"channel": "web_chat", "id": "c1"}, settings={"crm_url": "https://crm"})


def holds(field, op, value=None) -> bool:
    return conditions.evaluate(Condition(field=field, op=op, value=value), STATE)


def test_exists_and_not_exists():
    assert holds("contact.email", "exists") and not holds("contact.blank", "exists")
    assert holds("contact.missing", "not_exists") and holds("vars.none", "not_exists")


def test_equals_is_case_insensitive_and_numeric():
    assert holds("vars.CustomerType", "equals", "vip") and holds("vars.n", "equals", "3")
    assert holds("contact.age", "equals", 42) and holds("contact.returning", "equals", "true")
    assert not holds("vars.CustomerType", "equals", "VIP+") and holds("vars.CustomerType", "not_equals", "x")
    assert not holds("contact.missing", "equals", "x")


def test_in_contains_regex_and_comparisons():
    assert holds("conversation.channel", "in", ["email", "WEB_CHAT"]) and holds("vars.n", "not_in", [1, 2])
    assert holds("contact.email", "contains", "@X.") and holds("contact.tags", "contains", "VIP")
    assert holds("contact.email", "regex", r"@x\.com$") and not holds("contact.missing", "regex", ".*")
    assert holds("contact.age", "gt", 41) and holds("contact.age", "lte", "42") and not holds("contact.age", "lt", 42)
    assert holds("vars.due", "lt", "2026-03-02") and not holds("vars.CustomerType", "gt", 1)


def test_all_any_not_nest():
    yes, no = Condition(field="contact.email", op="exists"), Condition(field="contact.missing", op="exists")
    assert conditions.evaluate(AllOf(all=[yes, NotOf(**{"not": no})]), STATE)
    assert conditions.evaluate(AnyOf(any=[no, AllOf(all=[yes])]), STATE)
    assert not conditions.evaluate(NotOf(**{"not": AnyOf(any=[yes, no])}), STATE)


def test_mapping_missing_path_gives_none_and_several_matches_a_list():
    body = {"customerType": "VIP", "orders": [{"id": 1}, {"id": 2}], "profile": {"tier": {"name": "gold"}}}
    assert mapping.apply({"T": "$.customerType", "Ids": "$.orders[*].id", "Missing": "$.nope.deeper",
                          "Tier": "$.profile.tier.name", "First": "$.orders[0].id",
                          "Big": "$.orders[?(@.id > 1)].id"}, body) == {
        "T": "VIP", "Ids": [1, 2], "Missing": None, "Tier": "gold", "First": 1, "Big": 2}
    assert mapping.apply({"T": "$.customerType"}, '{"customerType": "x"}') == {"T": "x"}
    assert mapping.apply({"T": "$.customerType"}, "<html>") == {"T": None}
    assert mapping.apply({"T": "$.customerType"}, None) == {"T": None}
    with pytest.raises(mapping.MappingError):
        mapping.compile_path("$.[")


def test_render_with_the_context_and_secret_placeholders():
    ctx = render.context(STATE, secrets=True)
    assert render.render("{{ settings.crm_url }}/c?e={{ contact.email | urlencode }}&k={{ secrets.crm_token }}",
                         ctx) == "https://crm/c?e=A%40x.com&k=«secret:crm_token»"
    plain = render.context(STATE)
    assert render.render("[{{ contact.missing }}][{{ vars.none }}][{{ secrets.x }}]", plain) == "[][][]"


def test_render_is_sandboxed():
    assert render.render("[{{ contact.__class__.__mro__ }}]", render.context(STATE)) == "[]"  # nothing leaks
    with pytest.raises(TemplateError, match="not allowed"):
        render.render("{{ vars.pop('n') }}", render.context(STATE))


def test_inspect_lists_the_names_and_variables_read():
    refs = render.inspect("{% set z = 1 %}{{ vars.A }}{{ vars['B'] }}{{ contact.x }}{{ z }}{{ range(2) | list }}")
    assert refs.variables == {"A", "B"} and refs.names == {"vars", "contact"}
