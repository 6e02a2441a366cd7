"""The contacts table: one item per customer contact; its stream drives letters and emails."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dunning.aws import StoreError, client
from dunning.models.contacts import Contact, ContactStatus, StatusChange
from dunning.store import dynamo

PRINT_PENDING = "PENDING"


def contact_item(contact: Contact) -> dict[str, Any]:
    item: dict[str, Any] = dynamo.jsonable(contact.model_dump(mode="json", exclude_none=True))
    return item


def item_contact(item: dict[str, Any]) -> Contact:
    return Contact.model_validate(item)


class ContactsRepository:
    def __init__(self, table: str) -> None:
        self.table = table

    def create_new(self, contacts: Iterable[Contact]) -> list[Contact]:
        """Insert contacts whose id does not exist yet; returns the ones inserted.

        Ids are deterministic, so a re-run or a redelivered event finds its contacts already there.
        Existing ids are found with one BatchGetItem per 100; new items go out 25 per BatchWriteItem.
        """
        wanted = {c.contact_id: c for c in contacts}
        if not wanted:
            return []
        existing = {i["contact_id"] for i in dynamo.batch_get(self.table, [{"contact_id": cid} for cid in wanted],
                                                              projection="contact_id")}
        new = [c for cid, c in wanted.items() if cid not in existing]
        dynamo.batch_write(self.table, (contact_item(c) for c in new))
        return new

    def get(self, contact_id: str) -> Contact | None:
        items = dynamo.batch_get(self.table, [{"contact_id": contact_id}])
        return item_contact(items[0]) if items else None

    def by_account(self, account_id: str) -> list[Contact]:
        """The index holds keys only (it is copied on every write); full items come in batches of 100."""
        keys = dynamo.query(self.table, IndexName="by_account", KeyConditionExpression="account_id = :a",
                            ExpressionAttributeValues={":a": {"S": account_id}})
        return self._full([k["contact_id"] for k in keys])

    def _full(self, ids: list[str]) -> list[Contact]:
        return [item_contact(i) for i in dynamo.batch_get(self.table, [{"contact_id": i} for i in ids])]

    def all(self) -> Iterator[Contact]:
        return (item_contact(i) for i in dynamo.scan(self.table))

    def pending_letters_of(self, source_ref: str) -> int:
        """How many letters a run (or event) created that are not rendered yet."""
        items = dynamo.query(self.table, IndexName="by_source", KeyConditionExpression="source_ref = :s",
                             ExpressionAttributeValues={":s": {"S": source_ref}})
        return sum(1 for i in items if i.get("action") == "letter" and i.get("status") == "pending")

    def print_queue(self) -> list[Contact]:
        keys = dynamo.query(self.table, IndexName="print_queue", KeyConditionExpression="print_queue = :p",
                            ExpressionAttributeValues={":p": {"S": PRINT_PENDING}})
        return self._full([k["contact_id"] for k in keys])

    def set_status(
        self,
        contact_id: str,
        status: ContactStatus,
        *,
        reason: str = "",
        fields: dict[str, Any] | None = None,
        remove: Iterable[str] = (),
        only_from: Iterable[ContactStatus] | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Move a contact to ``status``, appending a timestamped history entry.

        ``only_from`` makes it conditional (e.g. ``rendered`` only from ``pending``); returns False when the
        contact was not in one of those states.
        """
        now = now or datetime.now(UTC)
        change = StatusChange(status=status, at=now, reason=reason)
        names = {"#s": "status", "#h": "history"}
        values: dict[str, Any] = {":s": status, ":h": [dynamo.jsonable(change.model_dump(mode="json"))]}
        sets = ["#s = :s", "#h = list_append(#h, :h)"]
        if reason:
            names["#r"] = "reason"
            values[":r"] = reason
            sets.append("#r = :r")
        for i, (k, v) in enumerate((fields or {}).items()):
            names[f"#f{i}"] = k
            values[f":f{i}"] = dynamo.jsonable(v)
            sets.append(f"#f{i} = :f{i}")
        expr = "SET " + ", ".join(sets)
        removes = list(remove)
        if removes:
            for i, k in enumerate(removes):
                names[f"#x{i}"] = k
            expr += " REMOVE " + ", ".join(f"#x{i}" for i in range(len(removes)))
        cond = "attribute_exists(contact_id)"
        allowed = list(only_from or [])
        if allowed:
            for i, st in enumerate(allowed):
                values[f":o{i}"] = st
            cond += " AND #s IN (" + ", ".join(f":o{i}" for i in range(len(allowed))) + ")"
        try:
            client("dynamodb").update_item(
                TableName=self.table,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=expr,
                ConditionExpression=cond,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=dynamo.to_av(values),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"UpdateItem on {self.table} failed: {exc}") from exc
        return True
