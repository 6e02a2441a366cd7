"""A scripted stand-in for ConversationStepFunction (the state machine test only): ``state.plan`` lists the wait
points ``advance`` returns in turn; every event it receives is appended to ``state.events``. ``park`` answers at
once (``state.answer_now``) or writes the task token to ``$TOKEN_DIR/{conversation_id}`` for the test."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3


class ScriptedFailure(Exception):
    pass


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    out = Path(os.environ["TOKEN_DIR"])
    cid = event["conversation_id"]
    if event["action"] == "fail":
        (out / f"{cid}.failed").write_text(event.get("error", ""))
        return {"failed": True}
    state = dict(event["state"])
    if event["action"] == "park":
        if state.get("answer_now"):
            boto3.client("stepfunctions").send_task_success(
                taskToken=event["token"], output=json.dumps({"kind": "answer", "text": "waiting message"}))
        else:
            (out / cid).write_text(event["token"])
        return {"parked": True}
    state["events"] = [*state.get("events", []), event["event"]]
    state["seq"] = state.get("seq", 0) + 1
    plan = list(state.get("plan", []))
    wait = plan.pop(0) if plan else "end"
    state["plan"] = plan
    if wait == "explode":
        raise ScriptedFailure("the scripted workflow cannot go on")
    ask = {"step": "q", "text": "?", "kind": "text", "timeout_seconds": state.get("timeout", 30)} \
        if wait == "answer" else None
    http = {"step": "h", "method": "GET", "url": "http://crm.invalid/x", "timeout_seconds": 5,
            "retries": state.get("retries", 0)} if wait == "http" else None
    return {"conversation_id": cid, "state": state, "wait": wait, "ask": ask, "http": http}
