"""Collector activities in the contacts table: worklists from the sparse ``open_activities`` index, and the two
changes a user makes to an activity (complete with an outcome, reassign), each one conditional UpdateItem."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dunning.aws import client
from dunning.errors import StoreError
from dunning.models.contacts import StatusChange
from dunning.store import dynamo
from dunning.store.activity_index import OPEN, OPEN_ACTIVITIES_INDEX, activity_key
from dunning.store.pages import ContactPage, PagedReads, _page


class ActivityNotOpen(Exception):
    """The activity does not exist, is not open, or (for a collector) is not assigned to the one asking."""


class ActivitiesRepository:
    def __init__(self, contacts_table: str) -> None:
        self.table = contacts_table
        self._reads = PagedReads(contacts_table=contacts_table, ledger_table="", runs_table="", runs_bucket="")

    def open_activities(self, assignee: str | None, limit: int, token: str | None) -> ContactPage:
        """Open activities in due order: one assignee's (``-`` = nobody's) or, with None, everyone's."""
        values: dict[str, Any] = {":q": {"S": OPEN}}
        cond = "activity_queue = :q"
        if assignee is not None:
            cond += " AND begins_with(activity_key, :a)"
            values[":a"] = {"S": f"{assignee or '-'}#"}
        keys, nxt = _page("query", self.table, f"activities:{assignee}",
                          ("contact_id", "activity_queue", "activity_key"), token, limit,
                          IndexName=OPEN_ACTIVITIES_INDEX, KeyConditionExpression=cond,
                          ExpressionAttributeValues=values)
        return ContactPage(self._reads._full([k["contact_id"] for k in keys]), nxt)

    def complete(self, contact_id: str, *, outcome: str, note: str, by: str, only_assignee: str | None,
                 now: datetime | None = None) -> None:
        """Close an open activity with its outcome (and the note in its history). ``only_assignee``: refuse unless
        the activity is assigned to that user (a collector completes only their own)."""
        now = now or datetime.now(UTC)
        change = StatusChange(status="closed", at=now, reason=f"{outcome}: {note}" if note else outcome)
        names = {"#s": "status", "#h": "history", "#a": "activity", "#c": "closed", "#o": "outcome",
                 "#q": "activity_queue", "#k": "activity_key"}
        values: dict[str, Any] = {":closed": "closed", ":open": "open", ":true": True,
                                  ":h": [dynamo.jsonable(change.model_dump(mode="json"))],
                                  ":o": dynamo.jsonable({"outcome": outcome, "note": note, "by": by,
                                                         "at": now.isoformat()})}
        cond = "attribute_exists(contact_id) AND #s = :open"
        if only_assignee is not None:
            cond += " AND #a.#t = :me"
            names["#t"] = "assigned_to"
            values[":me"] = only_assignee
        self._update(contact_id, "SET #s = :closed, #a.#c = :true, #h = list_append(#h, :h), #o = :o "
                                 "REMOVE #q, #k", cond, names, values)

    def reassign(self, contact_id: str, *, assignee: str, due_on: str, now: datetime | None = None) -> None:
        """Give an open activity to another collector (its worklist position moves with it)."""
        now = now or datetime.now(UTC)
        change = StatusChange(status="open", at=now, reason=f"reassigned to {assignee}")
        names = {"#s": "status", "#h": "history", "#a": "activity", "#t": "assigned_to", "#k": "activity_key"}
        values = {":open": "open", ":to": assignee, ":key": activity_key(assignee, due_on, contact_id),
                  ":h": [dynamo.jsonable(change.model_dump(mode="json"))]}
        self._update(contact_id, "SET #a.#t = :to, #k = :key, #h = list_append(#h, :h)",
                     "attribute_exists(contact_id) AND #s = :open", names, values)

    def _update(self, contact_id: str, expr: str, cond: str, names: dict[str, str], values: dict[str, Any]) -> None:
        try:
            client("dynamodb").update_item(
                TableName=self.table, Key={"contact_id": {"S": contact_id}}, UpdateExpression=expr,
                ConditionExpression=cond, ExpressionAttributeNames=names,
                ExpressionAttributeValues=dynamo.to_av(values))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ActivityNotOpen(contact_id) from exc
            raise StoreError(f"UpdateItem on {self.table} failed: {exc}") from exc
