"""``Config.conversations``: the demo section loads; unknown teams and categories are refused with where."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dunning.models.config import Config
from tests.unit.conversations.support import config


def with_conversations(**changes: Any) -> dict[str, Any]:
    data = config().model_dump(mode="json", by_alias=True, exclude_none=True)
    data["conversations"].update(changes)
    return data


def test_the_demo_section_has_the_teams_agents_and_the_conversation_category():
    cfg = config()
    conv = cfg.conversations
    assert [t.id for t in conv.teams] == ["vip", "normal", "managers", "collections"]
    assert conv.fallback_team == "managers" and conv.interaction_category == "conversation"
    assert cfg.interactions.category("conversation") is not None
    assert [a.username for a in conv.members("vip")] == ["agent@example.com", "supervisor@example.com"]
    assert Config.model_validate(with_conversations()).conversations == conv


@pytest.mark.parametrize(("changes", "message"), [
    ({"fallback_team": "nobody"}, "conversations.fallback_team: unknown team 'nobody'"),
    ({"agents": [{"username": "x", "teams": ["ghosts"]}]}, "conversation agent 'x': unknown team 'ghosts'"),
    ({"interaction_category": "chats"}, "conversations.interaction_category: unknown interactions category"),
    ({"secrets": {"crm": "plain-secret-value"}}, "secrets"),
])
def test_unknown_references_are_refused(changes, message):
    with pytest.raises(ValidationError) as caught:
        Config.model_validate(with_conversations(**changes))
    assert message in str(caught.value)


def test_without_teams_the_section_may_be_left_out():
    data = config().model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("conversations")
    assert Config.model_validate(data).conversations.teams == []
