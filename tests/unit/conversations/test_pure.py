"""The pure parts: picking an agent, the conversation token, contact keys and the sheet CSV."""

from __future__ import annotations

from datetime import UTC, datetime

from dunning.conversations import domain, routing, tokens
from dunning.models.conversations import SheetRow
from tests.unit.conversations.support import config


def test_round_robin_goes_round_the_members_with_the_skill_in_turn():
    cfg = config().conversations
    members = routing.candidates(cfg, "vip", "vip")
    assert members == ["agent@example.com", "supervisor@example.com"]
    counter = iter(range(1, 5))
    picks = [routing.pick(cfg, "vip", rule="round_robin", skill="vip", next_counter=lambda t: next(counter),
                          open_counts=lambda t, u: {}) for _ in range(4)]
    assert picks == ["agent@example.com", "supervisor@example.com", "agent@example.com", "supervisor@example.com"]


def test_least_open_picks_the_least_loaded_member_who_has_the_skill():
    cfg = config().conversations
    # collections needs the skill "collections": both agents have it, the supervisor is not in the team
    counts = {"agent@example.com": 3, "agent-pt-BR": 1}
    chosen = routing.pick(cfg, "collections", next_counter=lambda t: 1, open_counts=lambda t, u: counts)
    assert chosen == "agent-pt-BR"
    counts["agent-pt-BR"] = 4
    assert routing.pick(cfg, "collections", next_counter=lambda t: 1,
                        open_counts=lambda t, u: counts) == "agent@example.com"
    # a skill nobody in the team has: nobody is picked (the conversation waits in the queue)
    assert routing.pick(cfg, "normal", skill="vip-gold", next_counter=lambda t: 1,
                        open_counts=lambda t, u: {}) is None


def test_the_team_rule_applies_when_the_step_names_none():
    cfg = config().conversations
    assert routing.rule_for(cfg, "normal", None) == "least_open"
    assert routing.rule_for(cfg, "vip", None) == "round_robin"
    assert routing.rule_for(cfg, "normal", "round_robin") == "round_robin"


def test_a_token_fits_its_conversation_only():
    token = tokens.sign(b"key", "c1")
    assert tokens.verify(b"key", "c1", token)
    assert not tokens.verify(b"key", "c2", token)
    assert not tokens.verify(b"other", "c1", token)
    assert not tokens.verify(b"key", "c1", "")


def test_contact_keys_prefer_email_then_phone_then_account():
    assert domain.contact_key(" Ana@Example.COM ", "+55 11 9999", "A-1", "c") == "email:ana@example.com"
    assert domain.contact_key(None, "+55 (11) 9999-0000", "A-1", "c") == "phone:551199990000"
    assert domain.contact_key(None, None, "A-1", "c") == "account:A-1"
    assert domain.contact_key("", "", None, "c9") == "anon:c9"


def test_the_sheet_csv_has_the_union_of_the_columns_and_quotes_formulas():
    at = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [SheetRow(sheet="csat", sk="a", conversation_id="c1", seq=1, at=at, columns={"rating": "5"}),
            SheetRow(sheet="csat", sk="b", conversation_id="c2", seq=2, at=at,
                     columns={"comment": "=HYPERLINK(1)", "rating": "1"})]
    text, count = domain.sheet_csv(rows)
    assert count == 2
    assert text.splitlines() == ["at,conversation_id,rating,comment",
                                 f"{at.isoformat()},c1,5,", f"{at.isoformat()},c2,1,'=HYPERLINK(1)"]
