"""The API's operations, read from the generated OpenAPI document: what the security tests walk, so a new
route is tested by being there."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dunning.auth import Group

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = ROOT / "infra" / "openapi.json"


def operations(doc: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    doc = doc or json.loads(DOCUMENT.read_text(encoding="utf-8"))
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            out.append({"method": method.upper(), "path": path, "groups": op.get("x-dunning-groups"),
                        "permission": op.get("x-dunning-permission"), "op": op,
                        "id": f"{method.upper()} {path}"})
    return out


def sample_path(path: str) -> str:
    """A concrete path for a templated one ({account_id} -> A-0001...)."""
    samples = {"account_id": "A-0001", "contact_id": "c-000000000000000000000000", "run_id": "run-none",
               "kind": "invoice", "n": "1"}
    return re.sub(r"\{([^}]+)\}", lambda m: samples.get(m.group(1), "x"), path)


def sample_body(op: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any] | None:
    """A body that passes validation for the operation (so a 403 is the guard's, not the validator's)."""
    ref = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema", {})
    name = ref.get("$ref", "").rsplit("/", 1)[-1]
    bodies = {"StartRunRequest": {"as_of": "2026-11-16"},
              "CompleteActivityRequest": {"outcome": "no_answer", "note": ""},
              "ReassignActivityRequest": {"assignee": "agent-x"},
              "ConfigDocument": {"config": {}},
              "ContactRequest": {"contact_class": "CUSTSVC", "contact_type": "AUTOPAY_FORM", "person_id": "P-0001"},
              "SignInRequest": {"username": "nobody@example.com", "password": "wrong-password"},
              "RefreshRequest": {"refresh_token": "not-a-refresh-token"},
              # interactions: a category no configuration has (so an allowed group gets a 422, not a stage 403)
              "RecordInteractionRequest": {"channel": "phone", "category": "no_such_category", "subject": "s"},
              "MoveRequest": {"to_stage": "in_progress", "expected_version": 1},
              "EntryRequest": {"kind": "note", "text": "t"},
              "ReplyRequest": {"text": "t"},
              "TimeRequest": {"started_at": "2026-12-01T09:00:00Z", "minutes": 5},
              "LinkRequest": {"kind": "invoice", "ref": "INV-1"},
              "TaskRequest": {"title": "call back"},
              "CompleteTaskRequest": {},
              "UploadRequest": {"filename": "a.pdf", "content_type": "application/pdf", "size": 10},
              "DisputeRequest": {"invoice_id": "INV-1"},
              "ResolveDisputeRequest": {},
              "PromiseRequest": {"invoice_id": "INV-1", "amount": "10.00", "until": "2026-12-31"},
              # conversations (agents): the sample path's conversation "x" does not exist (a 404 past the guard)
              "ConversationReplyRequest": {"text": "t"},
              "CloseConversationRequest": {},
              "AssignConversationRequest": {"assignee": None},
              # workflows: the sample path's workflow "x" does not exist (a 404 or 422 past the guard)
              "WorkflowSourceRequest": {"source": "id: x\n", "format": "yaml"},
              "PublishRequest": {},
              "InstallTemplatesRequest": {"publish": False},
              # the public web chat (not walked by the guard tests, but by the document's own checks)
              "OpenChatRequest": {"test": True},
              "ChatMessageRequest": {"text": "t", "client_message_id": "m0001"}}
    if not name:
        return None
    assert name in bodies, f"add a sample body for {name}"
    return bodies[name]


def denied_groups(op: dict[str, Any]) -> list[str]:
    return [g.value for g in Group if g.value not in (op["groups"] or [])]
