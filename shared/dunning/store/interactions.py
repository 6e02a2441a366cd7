"""The interactions table (``InteractionsTable``): interactions with everything under them, one partition each,
plus counters, Message-ID dedupe, stage membership and the daily time aggregates.

:class:`InteractionStore` is what the use cases depend on; :class:`DynamoInteractionsRepository` is its
DynamoDB implementation. Item layout (``pk``/``sk``; see ``notes/SPEC_13``)::

    INT#{id}                 META                                  the interaction; version for conditional writes
    INT#{id}                 MSG#{at}#{entry_id}                    thread entry
    INT#{id}                 TIME#{entry_id}                        time entry (with TIMEAGG and META in one tx)
    INT#{id}                 LINK#{kind}#{ref}                      link
    INT#{id}                 ATT#{attachment_id}                    attachment
    INT#{id}                 MOVE#{at}#{version}                    stage move
    INT#{id}                 TASK#{task_id}                         task
    NUMBER#{number}          NUMBER                                 number -> id
    COUNTER                  INTERACTION#{yyyy}                     number sequence (UpdateItem ADD)
    MSGID#{sha256[:32]}      MSGID                                  mail dedupe -> interaction id, entry id
    STAGE#{process}#{stage}  MEMBER#{username}                      stage member
    USER#{username}          STAGE#{process}#{stage}                the member's stages
    TIMEAGG#{yyyy-mm}        {yyyy-mm-dd}#{category}#{agent}        minutes, entries (ADD): a cell (the CSV)
    TIMEAGG#{yyyy-mm}        C#{yyyy-mm-dd}#{category}              day x category total (the report)
    TIMEAGG#{yyyy-mm}        A#{yyyy-mm-dd}#{agent}                 day x agent total (the report)

GSIs: ``by_account`` (gsi1), ``by_stage`` (gsi2, newest update first), ``by_similar`` (gsi3), ``by_month``
(gsi4, the content report and the all-stages list).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from dunning.aws import client
from dunning.interactions.domain import message_id_hash
from dunning.models.interactions import (
    Attachment,
    HoldSummary,
    Interaction,
    InteractionPage,
    Link,
    MessageRef,
    StageMove,
    Task,
    ThreadEntry,
    TimeCell,
    TimeEntry,
)
from dunning.store import dynamo
from dunning.store.failures import error_code, store_error, translated
from dunning.store.pages import BadPageToken, decode_token, encode_token

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

BY_ACCOUNT, BY_STAGE, BY_SIMILAR, BY_MONTH = "by_account", "by_stage", "by_similar", "by_month"
MAX_SIMILAR = 50


class WriteConflict(Exception):
    """A conditional write lost: the item changed since it was read (a concurrent move), or is not there."""


class DuplicateMessage(Exception):
    """A mail with this Message-ID is already recorded."""

    def __init__(self, ref: MessageRef) -> None:
        super().__init__(f"message already recorded on interaction {ref.interaction_id}")
        self.ref = ref


@dataclass
class InteractionRecord:
    """An interaction and everything stored under it (one Query)."""

    interaction: Interaction
    thread: list[ThreadEntry] = field(default_factory=list)
    time: list[TimeEntry] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    moves: list[StageMove] = field(default_factory=list)


class InteractionStore(Protocol):
    """The interactions table as the use cases see it."""

    table: str

    def next_seq(self, year: int) -> int: ...
    def create(self, interaction: Interaction, first: ThreadEntry | None = None) -> Interaction: ...
    def get(self, interaction_id: str) -> Interaction | None: ...
    def get_many(self, ids: Iterable[str]) -> list[Interaction]: ...
    def id_for_number(self, number: str) -> str | None: ...
    def record(self, interaction_id: str) -> InteractionRecord | None: ...
    def move(self, interaction: Interaction, to_stage: str, *, expected_version: int, by: str, at: datetime,
             note: str = "", status: str = "open", require_time: bool = False) -> Interaction: ...
    def add_entry(self, interaction_id: str, entry: ThreadEntry) -> ThreadEntry: ...
    def add_time(self, interaction: Interaction, entry: TimeEntry) -> tuple[TimeEntry, bool]: ...
    def put_link(self, interaction_id: str, link: Link) -> None: ...
    def delete_link(self, interaction_id: str, kind: str, ref: str) -> bool: ...
    def put_attachment(self, interaction_id: str, attachment: Attachment) -> None: ...
    def get_attachment(self, interaction_id: str, attachment_id: str) -> Attachment | None: ...
    def settle_attachment(self, interaction_id: str, attachment_id: str, status: str, reason: str = "",
                          size: int | None = None) -> Attachment | None: ...
    def put_task(self, interaction_id: str, task: Task) -> None: ...
    def get_task(self, interaction_id: str, task_id: str) -> Task | None: ...
    def complete_task(self, interaction_id: str, task_id: str, at: datetime) -> Task | None: ...
    def set_holds(self, interaction_id: str, holds: list[HoldSummary], at: datetime) -> None: ...
    def members(self, process: str, stage: str) -> list[str]: ...
    def add_member(self, process: str, stage: str, username: str, at: datetime) -> None: ...
    def remove_member(self, process: str, stage: str, username: str) -> None: ...
    def member_stages(self, username: str) -> list[tuple[str, str]]: ...
    def list_stage(self, process: str, stage: str, limit: int, token: str | None) -> InteractionPage: ...
    def list_account(self, account_id: str, limit: int, token: str | None) -> InteractionPage: ...
    def list_recent(self, months: list[str], limit: int, token: str | None, *, process: str | None = None,
                    stages: list[tuple[str, str]] | None = None) -> InteractionPage: ...
    def similar(self, customer_key: str, kind_key: str) -> list[Interaction]: ...
    def month(self, month: str, start: str, end: str) -> Iterator[Interaction]: ...
    def time_cells(self, month: str, start: str, end: str) -> Iterator[TimeCell]: ...
    def time_totals(self, month: str, start: str, end: str, by: str) -> Iterator[tuple[str, str, int, int]]: ...
    def message_refs(self, message_ids: Iterable[str]) -> dict[str, MessageRef]: ...


# ---------------------------------------------------------------------------------------------- time aggregates
def agg_partition(day: date) -> str:
    return f"TIMEAGG#{day.strftime('%Y-%m')}"


def agg_sort(day: date, category: str, agent: str) -> str:
    return f"{day.isoformat()}#{category}#{agent}"


def agg_category_sort(day: date, category: str) -> str:
    """The day x category total of a ``TIMEAGG`` partition (sorts after every cell: ``C`` > any digit)."""
    return f"C#{day.isoformat()}#{category}"


def agg_agent_sort(day: date, agent: str) -> str:
    """The day x agent total of a ``TIMEAGG`` partition."""
    return f"A#{day.isoformat()}#{agent}"


def parse_agg_sort(sk: str) -> tuple[date, str, str]:
    day, category, agent = sk.split("#", 2)
    return date.fromisoformat(day), category, agent


# ---------------------------------------------------------------------------------------------- items
def _meta_pk(interaction_id: str) -> str:
    return f"INT#{interaction_id}"


def _dump(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = dynamo.jsonable(model.model_dump(mode="json", exclude_none=True))
    return out


def meta_item(i: Interaction) -> dict[str, Any]:
    item = _dump(i)
    item.pop("links", None)  # a string set, maintained by put_link / delete_link
    if i.links:
        item["links"] = set(i.links)
    item.update(pk=_meta_pk(i.id), sk="META",
                gsi2pk=f"STAGE#{i.process}#{i.stage}", gsi2sk=f"{i.updated_at.isoformat()}#{i.id}",
                gsi4pk=f"MONTH#{i.created_at.strftime('%Y-%m')}", gsi4sk=f"{i.created_at.isoformat()}#{i.id}")
    if i.account_id:
        item.update(gsi1pk=f"ACCT#{i.account_id}", gsi1sk=f"{i.created_at.isoformat()}#{i.id}")
    if i.customer_key:
        item.update(gsi3pk=f"SIM#{i.customer_key}#{i.kind_key}", gsi3sk=f"{i.created_at.isoformat()}#{i.id}")
    return item


def _interaction(item: dict[str, Any]) -> Interaction:
    return Interaction.model_validate(item)


def entry_sk(entry: ThreadEntry) -> str:
    return f"MSG#{entry.at.isoformat()}#{entry.entry_id}"


def time_sk(entry: TimeEntry) -> str:
    """Keyed by the entry id alone (derived from the caller's idempotency key): a retried request whose clock
    moved on is still the same entry, and its condition refuses the second write. Listed by ``started_at``."""
    return f"TIME#{entry.entry_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoInteractionsRepository:
    """:class:`InteractionStore` over the interactions table."""

    def __init__(self, table: str) -> None:
        self.table = table

    # ------------------------------------------------------------------ low level
    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": _s(pk), "sk": _s(sk)}

    def _transact(self, items: list[TransactWriteItemTypeDef], doing: str) -> list[str] | None:
        """Run a transaction; None when done, else the cancellation reason code of every item."""
        try:
            client("dynamodb").transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                codes = [str(r.get("Code", "None")) for r in reasons]
                if any(c not in ("None", "ConditionalCheckFailed") for c in codes):
                    raise store_error(exc, f"{doing} on {self.table}") from exc
                return codes or ["ConditionalCheckFailed"] * len(items)
            raise store_error(exc, f"{doing} on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"{doing} on {self.table}") from exc
        return None

    def _put(self, item: dict[str, Any], condition: str | None = None) -> bool:
        params: dict[str, Any] = {"TableName": self.table, "Item": dynamo.to_av(item)}
        if condition:
            params["ConditionExpression"] = condition
        try:
            client("dynamodb").put_item(**params)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise store_error(exc, f"PutItem on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"PutItem on {self.table}") from exc
        return True

    def _get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        with translated(f"GetItem on {self.table}"):
            resp = client("dynamodb").get_item(TableName=self.table, Key=self._key(pk, sk), ConsistentRead=consistent)
        item = resp.get("Item")
        return dynamo.from_av(item) if item else None

    def _update(self, pk: str, sk: str, expr: str, *, names: dict[str, str] | None = None,
                values: dict[str, Any] | None = None, condition: str | None = None) -> dict[str, Any] | None:
        """UpdateItem returning the new item, or None when the condition failed."""
        params: dict[str, Any] = {"TableName": self.table, "Key": self._key(pk, sk), "UpdateExpression": expr,
                                  "ReturnValues": "ALL_NEW"}
        if names:
            params["ExpressionAttributeNames"] = names
        if values:
            params["ExpressionAttributeValues"] = dynamo.to_av(values)
        if condition:
            params["ConditionExpression"] = condition
        try:
            resp = client("dynamodb").update_item(**params)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise store_error(exc, f"UpdateItem on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"UpdateItem on {self.table}") from exc
        return dynamo.from_av(resp.get("Attributes") or {})

    # ------------------------------------------------------------------ interactions
    def next_seq(self, year: int) -> int:
        item = self._update("COUNTER", f"INTERACTION#{year:04d}", "ADD #n :one", names={"#n": "seq"},
                            values={":one": 1})
        return int((item or {}).get("seq", 0))

    def create(self, interaction: Interaction, first: ThreadEntry | None = None) -> Interaction:
        """Write a new interaction (with its number lookup and first entry) in one transaction.
        :class:`DuplicateMessage` when ``first`` carries a Message-ID already recorded."""
        items: list[TransactWriteItemTypeDef] = [
            {"Put": {"TableName": self.table, "Item": dynamo.to_av(meta_item(interaction)),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": dynamo.to_av({"pk": f"NUMBER#{interaction.number}", "sk": "NUMBER",
                                           "interaction_id": interaction.id})}},
        ]
        dedupe = None
        if first is not None:
            items.append({"Put": {"TableName": self.table, "Item": dynamo.to_av(self._entry_item(interaction.id,
                                                                                                 first))}})
            dedupe = self._dedupe_put(interaction.id, first)
            if dedupe is not None:
                items.append(dedupe[1])
        codes = self._transact(items, "TransactWriteItems (new interaction)")
        if codes is not None:
            if dedupe is not None and codes[-1] == "ConditionalCheckFailed":
                raise DuplicateMessage(self._message_ref(dedupe[0]))
            raise WriteConflict(f"interaction {interaction.id} or number {interaction.number} exists already")
        return interaction

    def _dedupe_put(self, interaction_id: str, entry: ThreadEntry) -> tuple[str, TransactWriteItemTypeDef] | None:
        if not entry.message_id:
            return None
        digest = message_id_hash(entry.message_id)
        return digest, {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)",
                                "Item": dynamo.to_av({"pk": f"MSGID#{digest}", "sk": "MSGID",
                                                      "interaction_id": interaction_id,
                                                      "entry_id": entry.entry_id})}}

    def _message_ref(self, digest: str) -> MessageRef:
        item = self._get(f"MSGID#{digest}", "MSGID") or {}
        return MessageRef(message_id_hash=digest, interaction_id=str(item.get("interaction_id", "")),
                          entry_id=str(item.get("entry_id", "")))

    def get(self, interaction_id: str) -> Interaction | None:
        item = self._get(_meta_pk(interaction_id), "META")
        return _interaction(item) if item else None

    def get_many(self, ids: Iterable[str]) -> list[Interaction]:
        keys = [{"pk": _meta_pk(i), "sk": "META"} for i in ids]
        found = {i.id: i for i in (_interaction(x) for x in dynamo.batch_get(self.table, keys))}
        return [found[k["pk"][4:]] for k in keys if k["pk"][4:] in found]

    def id_for_number(self, number: str) -> str | None:
        item = self._get(f"NUMBER#{number}", "NUMBER", consistent=False)
        return str(item["interaction_id"]) if item else None

    def record(self, interaction_id: str) -> InteractionRecord | None:
        items = list(dynamo.query(self.table, KeyConditionExpression="pk = :pk",
                                  ExpressionAttributeValues={":pk": _s(_meta_pk(interaction_id))},
                                  ConsistentRead=True))
        meta = next((i for i in items if i["sk"] == "META"), None)
        if meta is None:
            return None
        rec = InteractionRecord(_interaction(meta))
        for item in items:
            kind = item["sk"].split("#", 1)[0]
            if kind == "MSG":
                rec.thread.append(ThreadEntry.model_validate(item))
            elif kind == "TIME":
                rec.time.append(TimeEntry.model_validate(item))
            elif kind == "LINK":
                rec.links.append(Link.model_validate(item))
            elif kind == "ATT":
                rec.attachments.append(Attachment.model_validate(item))
            elif kind == "TASK":
                rec.tasks.append(Task.model_validate(item))
            elif kind == "MOVE":
                rec.moves.append(StageMove.model_validate(item))
        rec.time.sort(key=lambda e: (e.started_at, e.entry_id))
        return rec

    def move(self, interaction: Interaction, to_stage: str, *, expected_version: int, by: str, at: datetime,
             note: str = "", status: str = "open", require_time: bool = False) -> Interaction:
        """Move to ``to_stage`` only if the interaction is still at ``expected_version`` in its current stage
        (and, with ``require_time``, has a time entry): one conditional UpdateItem, so of two concurrent moves
        exactly one is written; :class:`WriteConflict` for the other, and nothing of it is written. The history
        item (keyed by the new version, so a repeat overwrites itself) follows the move.

        Not a TransactWriteItems: moto's transactions restore a copy of the whole table when one fails, which
        loses a concurrent transaction's write; a single conditional UpdateItem is atomic on both."""
        new_version = expected_version + 1
        names = {"#st": "stage", "#s": "status", "#v": "version", "#u": "updated_at", "#g": "gsi2pk",
                 "#gs": "gsi2sk", "#c": "closed_at"}
        values: dict[str, Any] = {":to": to_stage, ":s": status, ":v": expected_version, ":nv": new_version,
                                  ":u": at.isoformat(), ":from": interaction.stage,
                                  ":g": f"STAGE#{interaction.process}#{to_stage}",
                                  ":gs": f"{at.isoformat()}#{interaction.id}"}
        expr = "SET #st = :to, #s = :s, #v = :nv, #u = :u, #g = :g, #gs = :gs"
        if status == "closed":
            expr += ", #c = :u"
        else:
            expr += " REMOVE #c"
        condition = "#v = :v AND #st = :from"
        if require_time:
            names["#te"] = "time_entries"
            values[":zero"] = 0
            condition += " AND #te > :zero"
        updated = self._update(_meta_pk(interaction.id), "META", expr, names=names, values=values,
                               condition=condition)
        if updated is None:
            raise WriteConflict(f"interaction {interaction.id} changed since version {expected_version}")
        move = StageMove(from_stage=interaction.stage, to_stage=to_stage, by=by, at=at, note=note)
        self._put({**_dump(move), "pk": _meta_pk(interaction.id), "sk": f"MOVE#{at.isoformat()}#{new_version:08d}"})
        return _interaction(updated)

    def _entry_item(self, interaction_id: str, entry: ThreadEntry) -> dict[str, Any]:
        item = _dump(entry)
        if not item.get("references"):
            item.pop("references", None)
        return {**item, "pk": _meta_pk(interaction_id), "sk": entry_sk(entry)}

    def add_entry(self, interaction_id: str, entry: ThreadEntry) -> ThreadEntry:
        """The entry, the interaction's ``updated_at`` (its place in the stage list) and, for a mail, the
        Message-ID dedupe item, in one transaction. :class:`DuplicateMessage`, :class:`WriteConflict` (no
        such interaction)."""
        touch = {":u": entry.at.isoformat(), ":gs": f"{entry.at.isoformat()}#{interaction_id}"}
        items: list[TransactWriteItemTypeDef] = [
            {"Update": {"TableName": self.table, "Key": self._key(_meta_pk(interaction_id), "META"),
                        "UpdateExpression": "SET #u = :u, #gs = :gs",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#u": "updated_at", "#gs": "gsi2sk"},
                        "ExpressionAttributeValues": dynamo.to_av(touch)}},
            {"Put": {"TableName": self.table, "Item": dynamo.to_av(self._entry_item(interaction_id, entry))}},
        ]
        dedupe = self._dedupe_put(interaction_id, entry)
        if dedupe is not None:
            items.append(dedupe[1])
        codes = self._transact(items, "TransactWriteItems (thread entry)")
        if codes is not None:
            if dedupe is not None and codes[-1] == "ConditionalCheckFailed":
                raise DuplicateMessage(self._message_ref(dedupe[0]))
            raise WriteConflict(f"no interaction {interaction_id}")
        return entry

    def add_time(self, interaction: Interaction, entry: TimeEntry) -> tuple[TimeEntry, bool]:
        """The entry, its day's aggregate and the interaction's totals in one transaction; a second write of the
        same entry id changes nothing and returns the stored entry with False."""
        day = entry.started_at.date()
        pk = _meta_pk(interaction.id)
        item = {**_dump(entry), "pk": pk, "sk": time_sk(entry)}
        add = {":m": entry.minutes, ":one": 1}
        # the cell (the CSV) and the two totals the report reads: day x category, day x agent
        aggregates: list[TransactWriteItemTypeDef] = [
            {"Update": {"TableName": self.table, "Key": self._key(agg_partition(day), sk),
                        "UpdateExpression": "ADD #m :m, #e :one",
                        "ExpressionAttributeNames": {"#m": "minutes", "#e": "entries"},
                        "ExpressionAttributeValues": dynamo.to_av(add)}}
            for sk in (agg_sort(day, entry.category, entry.agent), agg_category_sort(day, entry.category),
                       agg_agent_sort(day, entry.agent))]
        codes = self._transact([
            {"Put": {"TableName": self.table, "Item": dynamo.to_av(item),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            *aggregates,
            {"Update": {"TableName": self.table, "Key": self._key(pk, "META"),
                        "UpdateExpression": "ADD #m :m, #e :one", "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#m": "time_minutes", "#e": "time_entries"},
                        "ExpressionAttributeValues": dynamo.to_av(add)}},
        ], "TransactWriteItems (time entry)")
        if codes is None:
            return entry, True
        existing = self._get(pk, time_sk(entry))
        if existing is None:
            raise WriteConflict(f"no interaction {interaction.id}")
        return TimeEntry.model_validate(existing), False

    # ------------------------------------------------------------------ links, attachments, tasks, holds
    def put_link(self, interaction_id: str, link: Link) -> None:
        pk = _meta_pk(interaction_id)
        codes = self._transact([
            {"Put": {"TableName": self.table,
                     "Item": dynamo.to_av({**_dump(link), "pk": pk, "sk": f"LINK#{link.kind}#{link.ref}"})}},
            {"Update": {"TableName": self.table, "Key": self._key(pk, "META"), "UpdateExpression": "ADD #l :l",
                        "ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeNames": {"#l": "links"},
                        "ExpressionAttributeValues": {":l": {"SS": [f"{link.kind}:{link.ref}"]}}}},
        ], "TransactWriteItems (link)")
        if codes is not None:
            raise WriteConflict(f"no interaction {interaction_id}")

    def delete_link(self, interaction_id: str, kind: str, ref: str) -> bool:
        pk = _meta_pk(interaction_id)
        codes = self._transact([
            {"Delete": {"TableName": self.table, "Key": self._key(pk, f"LINK#{kind}#{ref}"),
                        "ConditionExpression": "attribute_exists(pk)"}},
            {"Update": {"TableName": self.table, "Key": self._key(pk, "META"), "UpdateExpression": "DELETE #l :l",
                        "ExpressionAttributeNames": {"#l": "links"},
                        "ExpressionAttributeValues": {":l": {"SS": [f"{kind}:{ref}"]}}}},
        ], "TransactWriteItems (unlink)")
        return codes is None

    def put_attachment(self, interaction_id: str, attachment: Attachment) -> None:
        self._put({**_dump(attachment), "pk": _meta_pk(interaction_id), "sk": f"ATT#{attachment.attachment_id}"})

    def get_attachment(self, interaction_id: str, attachment_id: str) -> Attachment | None:
        item = self._get(_meta_pk(interaction_id), f"ATT#{attachment_id}")
        return Attachment.model_validate(item) if item else None

    def settle_attachment(self, interaction_id: str, attachment_id: str, status: str, reason: str = "",
                          size: int | None = None) -> Attachment | None:
        """pending -> stored | refused (only from pending), with the stored object's real ``size``; the new item,
        or None if it was not pending."""
        names = {"#s": "status", "#r": "refused_reason"}
        values: dict[str, Any] = {":s": status, ":r": reason, ":p": "pending"}
        expr = "SET #s = :s, #r = :r"
        if size is not None:
            expr += ", #z = :z"
            names["#z"] = "size"
            values[":z"] = size
        item = self._update(_meta_pk(interaction_id), f"ATT#{attachment_id}", expr, names=names, values=values,
                            condition="attribute_exists(pk) AND #s = :p")
        return Attachment.model_validate(item) if item else None

    def put_task(self, interaction_id: str, task: Task) -> None:
        self._put({**_dump(task), "pk": _meta_pk(interaction_id), "sk": f"TASK#{task.task_id}"})

    def get_task(self, interaction_id: str, task_id: str) -> Task | None:
        item = self._get(_meta_pk(interaction_id), f"TASK#{task_id}")
        return Task.model_validate(item) if item else None

    def complete_task(self, interaction_id: str, task_id: str, at: datetime) -> Task | None:
        """Mark an open task done; None when there is no such open task."""
        item = self._update(_meta_pk(interaction_id), f"TASK#{task_id}", "SET #d = :t, #a = :at",
                            names={"#d": "done", "#a": "done_at"},
                            values={":t": True, ":f": False, ":at": at.isoformat()},
                            condition="attribute_exists(pk) AND #d = :f")
        return Task.model_validate(item) if item else None

    def set_holds(self, interaction_id: str, holds: list[HoldSummary], at: datetime) -> None:
        value = [_dump(h) for h in holds]
        if self._update(_meta_pk(interaction_id), "META", "SET #h = :h, #u = :u",
                        names={"#h": "holds", "#u": "updated_at"}, values={":h": value, ":u": at.isoformat()},
                        condition="attribute_exists(pk)") is None:
            raise WriteConflict(f"no interaction {interaction_id}")

    # ------------------------------------------------------------------ stage membership
    def members(self, process: str, stage: str) -> list[str]:
        items = dynamo.query(self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
                             ExpressionAttributeValues={":pk": _s(f"STAGE#{process}#{stage}"), ":m": _s("MEMBER#")})
        return sorted(i["sk"][7:] for i in items)

    def add_member(self, process: str, stage: str, username: str, at: datetime) -> None:
        info = {"process": process, "stage": stage, "username": username, "at": at.isoformat()}
        self._transact([
            {"Put": {"TableName": self.table,
                     "Item": dynamo.to_av({**info, "pk": f"STAGE#{process}#{stage}", "sk": f"MEMBER#{username}"})}},
            {"Put": {"TableName": self.table,
                     "Item": dynamo.to_av({**info, "pk": f"USER#{username}", "sk": f"STAGE#{process}#{stage}"})}},
        ], "TransactWriteItems (stage member)")

    def remove_member(self, process: str, stage: str, username: str) -> None:
        self._transact([
            {"Delete": {"TableName": self.table, "Key": self._key(f"STAGE#{process}#{stage}", f"MEMBER#{username}")}},
            {"Delete": {"TableName": self.table, "Key": self._key(f"USER#{username}", f"STAGE#{process}#{stage}")}},
        ], "TransactWriteItems (stage member)")

    def member_stages(self, username: str) -> list[tuple[str, str]]:
        items = dynamo.query(self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :s)",
                             ExpressionAttributeValues={":pk": _s(f"USER#{username}"), ":s": _s("STAGE#")})
        out = []
        for i in items:
            _, process, stage = i["sk"].split("#", 2)
            out.append((process, stage))
        return sorted(out)

    # ------------------------------------------------------------------ lists
    def _index_page(self, index: str, pk_name: str, pk_value: str, sk_name: str, kind: str, limit: int,
                    token: str | None, forward: bool = False) -> InteractionPage:
        names = ("pk", "sk", pk_name, sk_name)
        start = decode_token(kind, token)
        params: dict[str, Any] = {"TableName": self.table, "IndexName": index, "Limit": limit,
                                  "KeyConditionExpression": "#p = :p", "ExpressionAttributeNames": {"#p": pk_name},
                                  "ExpressionAttributeValues": {":p": _s(pk_value)}, "ScanIndexForward": forward}
        if start is not None:
            if not isinstance(start, dict) or set(start) != set(names) or \
                    not all(isinstance(v, str) for v in start.values()):
                raise BadPageToken("the next token is not valid")
            params["ExclusiveStartKey"] = {k: _s(v) for k, v in start.items()}
        with translated(f"Query {index} on {self.table}"):
            resp = client("dynamodb").query(**params)
        items = [_interaction(dynamo.from_av(i)) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        nxt = encode_token(kind, {k: v["S"] for k, v in last.items()}) if last else None
        return InteractionPage(items=items, next=nxt)

    def list_stage(self, process: str, stage: str, limit: int, token: str | None) -> InteractionPage:
        return self._index_page(BY_STAGE, "gsi2pk", f"STAGE#{process}#{stage}", "gsi2sk",
                                f"int-stage:{process}:{stage}", limit, token)

    def list_account(self, account_id: str, limit: int, token: str | None) -> InteractionPage:
        return self._index_page(BY_ACCOUNT, "gsi1pk", f"ACCT#{account_id}", "gsi1sk", f"int-acct:{account_id}",
                                limit, token)

    def list_recent(self, months: list[str], limit: int, token: str | None, *, process: str | None = None,
                    stages: list[tuple[str, str]] | None = None) -> InteractionPage:
        """Newest first over ``months`` (newest month first) on by_month, filtered to a process and/or to the
        stages a member may see (``stages``: None = all). The token holds the month and the position in it."""
        position = decode_token("int-recent", token)
        month_index, start = 0, None
        if position is not None:
            if not isinstance(position, dict) or not isinstance(position.get("m"), int):
                raise BadPageToken("the next token is not valid")
            month_index, start = position["m"], position.get("k")
        filters, names, values = [], {"#p": "gsi4pk"}, {}
        if process:
            filters.append("#proc = :proc")
            names["#proc"] = "process"
            values[":proc"] = _s(process)
        if stages is not None:
            if not stages:
                return InteractionPage(items=[])
            keys = [f"STAGE#{p}#{s}" for p, s in stages][:99]
            names["#g2"] = "gsi2pk"
            filters.append("#g2 IN (" + ", ".join(f":st{n}" for n in range(len(keys))) + ")")
            values.update({f":st{n}": _s(k) for n, k in enumerate(keys)})
        items: list[Interaction] = []
        ddb = client("dynamodb")
        while month_index < len(months) and len(items) < limit:
            params: dict[str, Any] = {"TableName": self.table, "IndexName": BY_MONTH, "Limit": limit - len(items),
                                      "KeyConditionExpression": "#p = :p", "ScanIndexForward": False,
                                      "ExpressionAttributeNames": names,
                                      "ExpressionAttributeValues": {":p": _s(f"MONTH#{months[month_index]}"),
                                                                    **values}}
            if filters:
                params["FilterExpression"] = " AND ".join(filters)
            if start:
                if not isinstance(start, dict) or not all(isinstance(v, str) for v in start.values()):
                    raise BadPageToken("the next token is not valid")
                params["ExclusiveStartKey"] = {k: _s(v) for k, v in start.items()}
            with translated(f"Query {BY_MONTH} on {self.table}"):
                resp = ddb.query(**params)
            items.extend(_interaction(dynamo.from_av(i)) for i in resp.get("Items", []))
            last = resp.get("LastEvaluatedKey")
            start = {k: v["S"] for k, v in last.items()} if last else None
            if start is None:
                month_index += 1
        more = month_index < len(months)
        return InteractionPage(items=items, next=encode_token("int-recent", {"m": month_index, "k": start})
                               if more else None)

    def similar(self, customer_key: str, kind_key: str) -> list[Interaction]:
        """The customer's interactions of this kind, newest first (at most :data:`MAX_SIMILAR`)."""
        with translated(f"Query {BY_SIMILAR} on {self.table}"):
            resp = client("dynamodb").query(
                TableName=self.table, IndexName=BY_SIMILAR, KeyConditionExpression="gsi3pk = :p",
                ExpressionAttributeValues={":p": _s(f"SIM#{customer_key}#{kind_key}")}, ScanIndexForward=False,
                Limit=MAX_SIMILAR)
        return [_interaction(dynamo.from_av(i)) for i in resp.get("Items", [])]

    def month(self, month: str, start: str, end: str) -> Iterator[Interaction]:
        """The interactions created in ``month`` between ``start`` and ``end`` (ISO prefixes, inclusive)."""
        for item in dynamo.query(self.table, IndexName=BY_MONTH,
                                 KeyConditionExpression="gsi4pk = :p AND gsi4sk BETWEEN :a AND :b",
                                 ExpressionAttributeValues={":p": _s(f"MONTH#{month}"), ":a": _s(start),
                                                            ":b": _s(end + "\uffff")}):
            yield _interaction(item)

    def time_cells(self, month: str, start: str, end: str) -> Iterator[TimeCell]:
        """The ``TIMEAGG`` cells of one month between two days (``yyyy-mm-dd``, inclusive), as plain tuples
        ``(day, category, agent, minutes, entries)``: one paginated Query, its items read from the response JSON
        (a 90-day report over 100k entries is tens of thousands of cells; botocore's parser and a model per cell
        would be most of its time)."""
        for item in dynamo.query_raw(self.table, KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                                     ProjectionExpression="sk, #m, #e",
                                     ExpressionAttributeNames={"#m": "minutes", "#e": "entries"},
                                     ExpressionAttributeValues={":p": _s(f"TIMEAGG#{month}"), ":a": _s(start),
                                                                ":b": _s(end + "#\uffff")}):
            day, category, agent = item["sk"]["S"].split("#", 2)
            yield (day, category, agent, int((item.get("minutes") or {}).get("N", 0)),
                   int((item.get("entries") or {}).get("N", 0)))

    def time_totals(self, month: str, start: str, end: str, by: str) -> Iterator[tuple[str, str, int, int]]:
        """The day x category (``by="C"``) or day x agent (``by="A"``) totals of one month between two days,
        ``(day, category or agent, minutes, entries)``: one paginated Query over that total's sort-key range."""
        for item in dynamo.query_raw(self.table, KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                                     ProjectionExpression="sk, #m, #e",
                                     ExpressionAttributeNames={"#m": "minutes", "#e": "entries"},
                                     ExpressionAttributeValues={":p": _s(f"TIMEAGG#{month}"),
                                                                ":a": _s(f"{by}#{start}"),
                                                                ":b": _s(f"{by}#{end}#\uffff")}):
            _, day, key = item["sk"]["S"].split("#", 2)
            yield (day, key, int((item.get("minutes") or {}).get("N", 0)),
                   int((item.get("entries") or {}).get("N", 0)))

    def message_refs(self, message_ids: Iterable[str]) -> dict[str, MessageRef]:
        """Message-ID -> where it is recorded, for those already recorded (one BatchGetItem)."""
        by_hash = {message_id_hash(m): m for m in message_ids if m and m.strip()}
        if not by_hash:
            return {}
        items = dynamo.batch_get(self.table, [{"pk": f"MSGID#{h}", "sk": "MSGID"} for h in by_hash])
        out = {}
        for item in items:
            digest = item["pk"][6:]
            out[by_hash[digest]] = MessageRef(message_id_hash=digest, interaction_id=str(item["interaction_id"]),
                                              entry_id=str(item["entry_id"]))
        return out
