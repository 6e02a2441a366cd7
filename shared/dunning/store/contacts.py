"""The contacts table: one item per customer contact; its stream drives letters and emails.

:class:`ContactStore` is what the use cases depend on; :class:`DynamoContactsRepository` is its DynamoDB
implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from dunning.aws import client
from dunning.models.contacts import Contact, ContactStatus, StatusChange, snapshot_bytes
from dunning.store import dynamo
from dunning.store.activity_index import activity_index_fields
from dunning.store.failures import error_code, store_error

PRINT_PENDING = "PENDING"
DEFAULT_RETENTION_DAYS = 90  # the template's ContactRetentionDays default; functions pass Settings' value


def contact_item(contact: Contact) -> dict[str, Any]:
    """The stored form: no empty optional text, the compressed snapshot as Binary. A contact's item size is
    what every write of it costs (1 WRU per started KB), so a run letter is kept near 1 KB."""
    item: dict[str, Any] = dynamo.jsonable(contact.model_dump(mode="json", exclude_none=True, exclude={"snapshot"}))
    for key in ("note", "reason"):
        if item.get(key) == "":
            del item[key]
    if contact.snapshot:
        item["snapshot"] = snapshot_bytes(contact.snapshot) or contact.snapshot
    item.update(activity_index_fields(contact))  # open activities: the sparse open_activities index
    return item


def item_contact(item: dict[str, Any]) -> Contact:
    return Contact.model_validate(item)


def stream_image_contact(image: dict[str, Any]) -> Contact:
    """The contact in a stream record's ``NewImage`` or ``OldImage`` (DynamoDB AttributeValues)."""
    return item_contact(dynamo.from_av(image))


def expires_at(created_at: datetime, retention_days: int) -> int:
    """The contact item's ``ttl``: epoch seconds ``retention_days`` after it was created."""
    return int(created_at.timestamp()) + retention_days * 86400


class ContactStore(Protocol):
    """The contacts table as the use cases see it."""

    def create_new(self, contacts: Iterable[Contact]) -> list[Contact]: ...
    def get(self, contact_id: str) -> Contact | None: ...
    def by_account(self, account_id: str) -> list[Contact]: ...
    def all(self) -> Iterator[Contact]: ...
    def get_many(self, ids: list[str]) -> list[Contact]: ...
    def letter_states(self, ids: list[str]) -> list[dict[str, Any]]: ...
    def print_queue_ids(self) -> list[str]: ...
    def queue_for_print(self, ids: Iterable[str]) -> int: ...
    def mark_printed(self, printed: Iterable[Contact]) -> int: ...
    def set_status(self, contact_id: str, status: ContactStatus, *, reason: str = "",
                   fields: dict[str, Any] | None = None, remove: Iterable[str] = (),
                   only_from: Iterable[ContactStatus] | None = None, now: datetime | None = None) -> bool: ...


class DynamoContactsRepository:
    """:class:`ContactStore` over the contacts table."""

    def __init__(self, table: str, *, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.table = table
        self.retention_days = retention_days

    def create_new(self, contacts: Iterable[Contact]) -> list[Contact]:
        """Insert contacts whose id does not exist yet; returns the ones inserted.

        Ids are deterministic, so a re-run or a redelivered event finds its contacts already there.
        Existing ids are found with one BatchGetItem per 100; new items go out 25 per BatchWriteItem.
        Each new item gets its ``ttl`` (created_at + the retention), after which DynamoDB deletes it and the
        archive function keeps it in S3.
        """
        wanted = {c.contact_id: c for c in contacts}
        if not wanted:
            return []
        existing = {i["contact_id"] for i in dynamo.batch_get(self.table, [{"contact_id": cid} for cid in wanted],
                                                              projection="contact_id")}
        new = [c if c.ttl is not None else c.model_copy(update={"ttl": expires_at(c.created_at, self.retention_days)})
               for cid, c in wanted.items() if cid not in existing]
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

    def get_many(self, ids: list[str]) -> list[Contact]:
        """Full contacts by id (BatchGetItem, 100 a call); ids that do not exist are left out."""
        return self._full(ids)

    def letter_states(self, ids: list[str]) -> list[dict[str, Any]]:
        """``contact_id``, ``status``, ``language`` and ``created_at`` of the given contacts: BatchGetItem with a
        projection, 100 keys a call (what the print extract needs to wait for and to plan)."""
        return dynamo.batch_get(self.table, [{"contact_id": i} for i in ids],
                                projection="contact_id, #s, #l, created_at", names={"#s": "status", "#l": "language"})

    def print_queue_ids(self) -> list[str]:
        """Letters queued for the next print extract (outside a run's own letters: user, event, rule and
        plug-in letters, email fallbacks, reprints, letters a run's extract left behind). The index is sparse
        and KEYS_ONLY."""
        keys = dynamo.query(self.table, IndexName="print_queue", KeyConditionExpression="print_queue = :p",
                            ExpressionAttributeValues={":p": {"S": PRINT_PENDING}})
        return [k["contact_id"] for k in keys]

    def queue_for_print(self, ids: Iterable[str]) -> int:
        """Put letters in the print queue (a run's letters its own extract could not take). One UpdateItem
        each, only on that rare path; a letter that is gone or already printed or failed is left alone."""
        queued = 0
        for contact_id in ids:
            if self._update_if(contact_id, "SET print_queue = :p",
                               "attribute_exists(contact_id) AND #s IN (:pending, :rendered)", {"#s": "status"},
                               {":p": PRINT_PENDING, ":pending": "pending", ":rendered": "rendered"}):
                queued += 1
        return queued

    def mark_printed(self, printed: Iterable[Contact]) -> int:
        """Store letters a print extract has just printed, each already carrying its ``printed`` status, history
        entry and place in the print file. Whole-item puts, 25 per call (the items were just read in full, and a
        rendered letter changes only through an extract); the put drops the letter from the print queue.
        Returns the number of BatchWriteItem calls."""
        return dynamo.batch_write(self.table, (contact_item(c) for c in printed))

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
        change = StatusChange(status=status, at=now or datetime.now(UTC), reason=reason)
        expression, names, values = _status_update(change, fields or {}, list(remove))
        condition, condition_values = _status_condition(list(only_from or []))
        return self._update_if(contact_id, expression, condition, names, {**values, **condition_values})

    def _update_if(self, contact_id: str, expression: str, condition: str, names: dict[str, str],
                   values: dict[str, Any]) -> bool:
        """One conditional UpdateItem; False when the condition does not hold."""
        try:
            client("dynamodb").update_item(
                TableName=self.table,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=dynamo.to_av(values),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise store_error(exc, f"UpdateItem on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"UpdateItem on {self.table}") from exc
        return True


def _status_update(change: StatusChange, fields: dict[str, Any],
                   remove: list[str]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The UpdateExpression of a status change (with its attribute names and values): the status, its history
    entry, the reason (when given) and ``fields`` set; the attributes named in ``remove`` removed."""
    names = {"#s": "status", "#h": "history"}
    values: dict[str, Any] = {":s": change.status, ":h": [dynamo.jsonable(change.model_dump(mode="json"))]}
    sets = ["#s = :s", "#h = list_append(#h, :h)"]
    if change.reason:
        names["#r"] = "reason"
        values[":r"] = change.reason
        sets.append("#r = :r")
    for index, (name, value) in enumerate(fields.items()):
        names[f"#f{index}"] = name
        values[f":f{index}"] = dynamo.jsonable(value)
        sets.append(f"#f{index} = :f{index}")
    expression = "SET " + ", ".join(sets)
    if remove:
        names.update({f"#x{index}": name for index, name in enumerate(remove)})
        expression += " REMOVE " + ", ".join(f"#x{index}" for index in range(len(remove)))
    return expression, names, values


def _status_condition(only_from: list[ContactStatus]) -> tuple[str, dict[str, Any]]:
    """The ConditionExpression: the contact exists and, when ``only_from`` names states, is in one of them
    (``#s`` is the status, named by :func:`_status_update`)."""
    values: dict[str, Any] = {f":o{index}": status for index, status in enumerate(only_from)}
    condition = "attribute_exists(contact_id)"
    if values:
        condition += " AND #s IN (" + ", ".join(values) + ")"
    return condition, values

