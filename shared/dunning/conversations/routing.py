"""Pick an agent for a routed conversation (S4.4): among the team's members who have the skill (the route step's,
else the team's; none named: every member), by the rule (the step's, else the team's).

* ``round_robin``: the team's counter (``TEAM#{team}`` / ``RR``, one atomic ADD per pick) taken modulo the
  candidates in username order, so consecutive picks go round the members in turn.
* ``least_open``: the candidate with the fewest open conversations of this team (``OPEN#{username}``
  counters), ties broken by username.

No candidate: nobody is picked and the conversation waits in the team's queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dunning.models.config import ConversationsConfig

RULES = ("round_robin", "least_open")


def candidates(config: ConversationsConfig, team: str, skill: str = "") -> list[str]:
    """The usernames that may take a conversation of ``team`` needing ``skill`` ("" = the team's skill)."""
    found = config.team(team)
    wanted = skill or (found.skill if found else "")
    members = config.members(team)
    return sorted(a.username for a in members if not wanted or wanted in a.skills)


def rule_for(config: ConversationsConfig, team: str, rule: str | None) -> str:
    found = config.team(team)
    chosen = rule or (found.rule if found else "round_robin")
    if chosen not in RULES:
        raise ValueError(f"unknown routing rule {chosen!r}")
    return chosen


def pick_round_robin(members: list[str], counter: int) -> str | None:
    """``counter`` is the team counter after this pick's increment (1 for the first pick)."""
    if not members:
        return None
    return sorted(members)[(counter - 1) % len(members)]


def pick_least_open(members: list[str], open_counts: Mapping[str, int]) -> str | None:
    if not members:
        return None
    return min(sorted(members), key=lambda u: (max(0, int(open_counts.get(u, 0))), u))


def pick(config: ConversationsConfig, team: str, *, rule: str | None = None, skill: str = "",
         next_counter: Callable[[str], int], open_counts: Callable[[str, list[str]], Mapping[str, int]]) -> str | None:
    """The agent for a conversation routed to ``team`` (None: nobody fits, it waits in the queue).
    ``next_counter(team)`` increments and returns the team's round-robin counter; ``open_counts(team, users)``
    reads the open-conversation counters. Only the one the rule needs is called."""
    members = candidates(config, team, skill)
    if not members:
        return None
    if rule_for(config, team, rule) == "round_robin":
        return pick_round_robin(members, next_counter(team))
    return pick_least_open(members, open_counts(team, members))
