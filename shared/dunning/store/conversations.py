"""The conversations table (``ConversationsTable``): conversations, their execution history, contact profiles,
team counters and sheet rows (the workflow items of the same table are :mod:`dunning.store.workflows`).

:class:`ConversationStore` is what the use cases depend on; :class:`DynamoConversationsRepository` is its
DynamoDB implementation. Item layout (``pk``/``sk``; see ``notes/SPEC_14``)::

    CONV#{id}                  META                 the conversation (status, waiting token, pending messages...)
    CONV#{id}                  STEP#{n:06d}         a step taken (``n`` = the run's transition number)
    INTCONV#{interaction_id}   CONV                 interaction -> conversation
    CONTACT#{contact_key}      PROFILE              contact fields (``f_<name>``), conversations, first_seen
    TEAM#{team}                RR                   round-robin counter (ADD)
    TEAM#{team}                OPEN#{username}      open conversations of the member in the team (ADD +-1)
    SHEET#{sheet}              {at}#{conv}#{seq}    a sheet row (columns)

GSIs: ``by_queue`` (``gsi1pk=QUEUE#{team}``, ``gsi1sk={status}#{updated_at}#{id}``) and ``by_assignee``
(``gsi2pk=AGENT#{username}``, ``gsi2sk`` the same), written once a conversation is handed off.

Every state change of a conversation is one conditional write (the status it leaves, the task token it takes),
so a redelivered queue message or a retried Lambda changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from dunning.aws import client
from dunning.models.conversations import (
    ContactProfile,
    Conversation,
    PendingMessage,
    SheetRow,
    StepRecord,
    Waiting,
)
from dunning.store import dynamo
from dunning.store.failures import error_code, store_error, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

BY_QUEUE, BY_ASSIGNEE = "by_queue", "by_assignee"
FIELD_PREFIX = "f_"
_NAMES = {"#s": "status", "#u": "updated_at", "#v": "version_no"}
_RUN = {"#w": "workflow_id", "#ver": "version", "#e": "execution_name", "#vars": "variables"}


class ConversationStore(Protocol):
    """The conversations table as the use cases see it."""

    table: str

    def create(self, conversation: Conversation) -> bool: ...
    def get(self, conversation_id: str) -> Conversation | None: ...
    def for_interaction(self, interaction_id: str) -> str | None: ...
    def upsert_profile(self, contact_key: str, fields: dict[str, Any], conversation_id: str,
                       at: datetime) -> ContactProfile | None: ...
    def profile(self, contact_key: str) -> ContactProfile | None: ...
    def set_profile_field(self, contact_key: str, field: str, value: Any, at: datetime) -> None: ...
    def mark_started(self, conversation_id: str, workflow_id: str, version: str, execution_name: str,
                     variables: dict[str, Any], at: datetime) -> Conversation | None: ...
    def hand_off(self, conversation: Conversation, team: str, assignee: str | None,
                 at: datetime) -> Conversation | None: ...
    def take_waiting(self, conversation_id: str, token: str, at: datetime, message_id: str | None = None) -> bool: ...
    def add_pending(self, conversation_id: str, message: PendingMessage, at: datetime) -> bool: ...
    def park(self, conversation_id: str, waiting: Waiting, at: datetime) -> Conversation | None: ...
    def pop_pending(self, conversation_id: str, token: str) -> PendingMessage | None: ...
    def save_progress(self, conversation_id: str, *, workflow_id: str, version: str, variables: dict[str, Any],
                      last_step: str | None, at: datetime, clear_waiting: bool = False) -> None: ...
    def touch(self, conversation: Conversation, at: datetime) -> Conversation | None: ...
    def close(self, conversation: Conversation, at: datetime) -> Conversation | None: ...
    def assign(self, conversation: Conversation, assignee: str | None, at: datetime) -> Conversation | None: ...
    def set_continued_in(self, conversation_id: str, new_id: str) -> str: ...
    def put_steps(self, conversation_id: str, steps: list[StepRecord]) -> None: ...
    def steps(self, conversation_id: str) -> list[StepRecord]: ...
    def put_sheet_row(self, row: SheetRow) -> bool: ...
    def sheet_rows(self, sheet: str) -> list[SheetRow]: ...
    def next_round_robin(self, team: str) -> int: ...
    def open_counts(self, team: str, usernames: list[str]) -> dict[str, int]: ...
    def queue(self, team: str, status: str, limit: int) -> list[Conversation]: ...
    def assigned(self, username: str, status: str, limit: int) -> list[Conversation]: ...


# ---------------------------------------------------------------------------------------------- items
def conv_pk(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"


def step_sk(n: int) -> str:
    return f"STEP#{n:06d}"


def index_sort(status: str, updated_at: datetime, conversation_id: str) -> str:
    return f"{status}#{updated_at.isoformat()}#{conversation_id}"


def _index_attrs(c: Conversation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if c.team:
        out.update(gsi1pk=f"QUEUE#{c.team}", gsi1sk=index_sort(c.status, c.updated_at, c.id))
    if c.assignee:
        out.update(gsi2pk=f"AGENT#{c.assignee}", gsi2sk=index_sort(c.status, c.updated_at, c.id))
    return out


def meta_item(c: Conversation) -> dict[str, Any]:
    item: dict[str, Any] = dynamo.jsonable(c.model_dump(mode="json", exclude_none=True, exclude={"handled"}))
    if c.handled:
        item["handled"] = set(c.handled)  # a string set: ADD puts message ids in it
    item.update(pk=conv_pk(c.id), sk="META", **_index_attrs(c))
    return item


def _conversation(item: dict[str, Any]) -> Conversation:
    return Conversation.model_validate(item)


def _json(value: Any) -> Any:
    return dynamo.jsonable(value)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoConversationsRepository:
    """:class:`ConversationStore` over the conversations table."""

    def __init__(self, table: str) -> None:
        self.table = table

    # ------------------------------------------------------------------ low level
    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": _s(pk), "sk": _s(sk)}

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with translated(f"GetItem on {self.table}"):
            resp = client("dynamodb").get_item(TableName=self.table, Key=self._key(pk, sk), ConsistentRead=True)
        item = resp.get("Item")
        return dynamo.from_av(item) if item else None

    def _update(self, pk: str, sk: str, expr: str, *, names: dict[str, str] | None = None,
                values: dict[str, Any] | None = None, condition: str | None = None,
                returns: str = "ALL_NEW") -> dict[str, Any] | None:
        """UpdateItem returning the item (new or old, ``returns``), or None when the condition failed."""
        params: dict[str, Any] = {"TableName": self.table, "Key": self._key(pk, sk), "UpdateExpression": expr,
                                  "ReturnValues": returns}
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

    def _transact(self, items: list[TransactWriteItemTypeDef], doing: str) -> bool:
        """True when written; False when a condition failed."""
        try:
            client("dynamodb").transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                codes = [str(r.get("Code", "None")) for r in reasons]
                if any(c not in ("None", "ConditionalCheckFailed") for c in codes):
                    raise store_error(exc, f"{doing} on {self.table}") from exc
                return False
            raise store_error(exc, f"{doing} on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"{doing} on {self.table}") from exc
        return True

    def _meta_update(self, c: Conversation, set_attrs: dict[str, Any], *, remove: tuple[str, ...] = (),
                     condition: str, values: dict[str, Any]) -> TransactWriteItemTypeDef:
        """A transaction item updating META: SET ``set_attrs`` (plus the index keys), ADD version_no 1."""
        names = {"#s": "status", "#v": "version_no"}
        if "#as" in condition:
            names["#as"] = "assignee"
        sets, vals = [], dict(values)
        for n, (k, v) in enumerate(set_attrs.items()):
            names[f"#a{n}"] = k
            vals[f":a{n}"] = v
            sets.append(f"#a{n} = :a{n}")
        removes = []
        for n, k in enumerate(remove):
            names[f"#r{n}"] = k
            removes.append(f"#r{n}")
        vals[":one"] = 1
        expr = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "") + " ADD #v :one"
        return {"Update": {"TableName": self.table, "Key": self._key(conv_pk(c.id), "META"),
                           "UpdateExpression": expr, "ConditionExpression": condition,
                           "ExpressionAttributeNames": names,
                           "ExpressionAttributeValues": dynamo.to_av(_json(vals))}}

    def _counter(self, team: str, username: str, delta: int) -> TransactWriteItemTypeDef:
        return {"Update": {"TableName": self.table, "Key": self._key(f"TEAM#{team}", f"OPEN#{username}"),
                           "UpdateExpression": "ADD #o :d", "ExpressionAttributeNames": {"#o": "open"},
                           "ExpressionAttributeValues": {":d": {"N": str(delta)}}}}

    # ------------------------------------------------------------------ conversations
    def create(self, conversation: Conversation) -> bool:
        """META and the interaction lookup in one transaction; False when the conversation exists already."""
        return self._transact([
            {"Put": {"TableName": self.table, "Item": dynamo.to_av(meta_item(conversation)),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self.table, "Item": dynamo.to_av({
                "pk": f"INTCONV#{conversation.interaction_id}", "sk": "CONV",
                "conversation_id": conversation.id})}},
        ], "TransactWriteItems (new conversation)")

    def get(self, conversation_id: str) -> Conversation | None:
        item = self._get(conv_pk(conversation_id), "META")
        return _conversation(item) if item else None

    def for_interaction(self, interaction_id: str) -> str | None:
        item = self._get(f"INTCONV#{interaction_id}", "CONV")
        return str(item["conversation_id"]) if item else None

    # ------------------------------------------------------------------ contact profiles
    def upsert_profile(self, contact_key: str, fields: dict[str, Any], conversation_id: str,
                       at: datetime) -> ContactProfile | None:
        """Count this conversation on the contact (once per conversation id) and set the fields given; the
        profile as it was before (None: a new contact)."""
        names = {"#c": "conversations", "#l": "last_conversation_id", "#f": "first_seen", "#k": "contact_key"}
        values: dict[str, Any] = {":one": 1, ":id": conversation_id, ":at": at.isoformat(), ":k": contact_key}
        sets = ["#l = :id", "#f = if_not_exists(#f, :at)", "#k = :k"]
        for n, (name, value) in enumerate(sorted(fields.items())):
            if value is None or value == "":
                continue
            names[f"#x{n}"] = FIELD_PREFIX + name
            values[f":x{n}"] = value
            sets.append(f"#x{n} = :x{n}")
        old = self._update(f"CONTACT#{contact_key}", "PROFILE", "SET " + ", ".join(sets) + " ADD #c :one",
                           names=names, values=_json(values), returns="ALL_OLD",
                           condition="attribute_not_exists(#l) OR #l <> :id")
        if old is None:  # this conversation was counted already (a retried open)
            now = self.profile(contact_key)
            if now is None or now.conversations <= 1:
                return None
            return now.model_copy(update={"conversations": now.conversations - 1})
        return _profile(contact_key, old) if old else None

    def profile(self, contact_key: str) -> ContactProfile | None:
        item = self._get(f"CONTACT#{contact_key}", "PROFILE")
        return _profile(contact_key, item) if item else None

    def set_profile_field(self, contact_key: str, field: str, value: Any, at: datetime) -> None:
        self._update(f"CONTACT#{contact_key}", "PROFILE", "SET #x = :x, #k = :k, #f = if_not_exists(#f, :at)",
                     names={"#x": FIELD_PREFIX + field, "#k": "contact_key", "#f": "first_seen"},
                     values=_json({":x": value, ":k": contact_key, ":at": at.isoformat()}), returns="NONE")

    # ------------------------------------------------------------------ the run
    def mark_started(self, conversation_id: str, workflow_id: str, version: str, execution_name: str,
                     variables: dict[str, Any], at: datetime) -> Conversation | None:
        """opening -> bot with the workflow and its version; None when it is not opening any more."""
        item = self._update(
            conv_pk(conversation_id), "META",
            "SET #s = :bot, #w = :w, #ver = :ver, #e = :e, #vars = :vars, #u = :at ADD #v :one",
            names={**_NAMES, **_RUN},
            values=_json({":bot": "bot", ":opening": "opening", ":w": workflow_id, ":ver": version,
                          ":e": execution_name, ":vars": variables, ":at": at.isoformat(), ":one": 1}),
            condition="#s = :opening")
        return _conversation(item) if item else None

    def hand_off(self, conversation: Conversation, team: str, assignee: str | None,
                 at: datetime) -> Conversation | None:
        """opening/bot -> handed_off to ``team`` (and ``assignee``, whose open counter goes up) in one
        transaction; None when the conversation was handed off or closed already."""
        after = conversation.model_copy(update={"status": "handed_off", "team": team, "assignee": assignee,
                                                "updated_at": at, "waiting": None})
        sets: dict[str, Any] = {"status": "handed_off", "team": team, "updated_at": at.isoformat(),
                                **_index_attrs(after)}
        remove: tuple[str, ...] = ("waiting",)
        if assignee:
            sets["assignee"] = assignee
        else:
            remove = ("waiting", "assignee", "gsi2pk", "gsi2sk")
        items = [self._meta_update(conversation, sets, remove=remove, condition="#s IN (:opening, :bot)",
                                   values={":opening": "opening", ":bot": "bot"})]
        if assignee:
            items.append(self._counter(team, assignee, 1))
        if not self._transact(items, "TransactWriteItems (hand off)"):
            return None
        return self.get(conversation.id)

    def take_waiting(self, conversation_id: str, token: str, at: datetime, message_id: str | None = None) -> bool:
        """Take the open question's task token (the answer resumes it): True for exactly one caller. The answer's
        ``message_id`` joins the conversation's ``handled`` set in the same write (a redelivered message whose
        thread entry exists already is then known to be delivered, or not)."""
        names = {"#u": "updated_at", "#v": "version_no", "#w": "waiting", "#t": "token"}
        values: dict[str, Any] = {":tok": token, ":at": at.isoformat(), ":one": 1}
        add = "ADD #v :one"
        if message_id:
            names["#h"], values[":ids"], add = "handled", {message_id}, "ADD #v :one, #h :ids"
        return self._update(conv_pk(conversation_id), "META", f"REMOVE #w SET #u = :at {add}", names=names,
                            values=values, condition="#w.#t = :tok", returns="NONE") is not None

    def add_pending(self, conversation_id: str, message: PendingMessage, at: datetime) -> bool:
        """Keep a message for the next question: only while the bot runs with no question open."""
        return self._update(
            conv_pk(conversation_id), "META",
            "SET #p = list_append(if_not_exists(#p, :empty), :m), #u = :at ADD #v :one, #h :ids",
            names={**_NAMES, "#w": "waiting", "#p": "pending", "#h": "handled"},
            values={**_json({":m": [message.model_dump(mode="json")], ":empty": [], ":at": at.isoformat(),
                             ":opening": "opening", ":bot": "bot", ":one": 1}), ":ids": {message.message_id}},
            condition="#s IN (:opening, :bot) AND attribute_not_exists(#w)", returns="NONE") is not None

    def park(self, conversation_id: str, waiting: Waiting, at: datetime) -> Conversation | None:
        """Store the question's task token (while the bot runs); the conversation after it, pending included."""
        item = self._update(conv_pk(conversation_id), "META", "SET #w = :w, #u = :at ADD #v :one",
                            names={**_NAMES, "#w": "waiting"}, values=_json({":w": waiting.model_dump(mode="json"),
                                                        ":at": at.isoformat(), ":bot": "bot", ":one": 1}),
                            condition="#s = :bot")
        return _conversation(item) if item else None

    def pop_pending(self, conversation_id: str, token: str) -> PendingMessage | None:
        """Take the first pending message as the answer to the question ``token`` opened (and the token with it)."""
        old = self._update(conv_pk(conversation_id), "META", "REMOVE #w, #p[0] ADD #v :one",
                           names={"#v": "version_no", "#w": "waiting", "#t": "token", "#p": "pending"},
                           values={":tok": token, ":zero": 0, ":one": 1},
                           condition="#w.#t = :tok AND size(#p) > :zero", returns="ALL_OLD")
        if not old or not old.get("pending"):
            return None
        return PendingMessage.model_validate(old["pending"][0])

    def save_progress(self, conversation_id: str, *, workflow_id: str, version: str, variables: dict[str, Any],
                      last_step: str | None, at: datetime, clear_waiting: bool = False) -> None:
        """The run's variables, last step and version; ``clear_waiting``: the open question timed out."""
        names = {"#v": "version_no", "#l": "last_step", "#w": "workflow_id", "#ver": "version", "#vars": "variables"}
        if clear_waiting:
            names["#q"] = "waiting"
        self._update(conv_pk(conversation_id), "META",
                     "SET #w = :w, #ver = :ver, #vars = :vars, #l = :l" + (" REMOVE #q" if clear_waiting else "")
                     + " ADD #v :one", names=names,
                     values=_json({":w": workflow_id, ":ver": version, ":vars": variables, ":l": last_step or "",
                                   ":one": 1}),
                     condition="attribute_exists(pk)", returns="NONE")

    def touch(self, conversation: Conversation, at: datetime) -> Conversation | None:
        """A handed-off conversation's customer wrote again: it moves to the end of its queue."""
        after = conversation.model_copy(update={"updated_at": at})
        item = self._transact([self._meta_update(conversation, {"updated_at": at.isoformat(),
                                                                **_index_attrs(after)},
                                                 condition="#s = :h", values={":h": "handed_off"})],
                              "TransactWriteItems (touch)")
        return after if item else None

    def close(self, conversation: Conversation, at: datetime) -> Conversation | None:
        """-> closed (its assignee's open counter goes down) in one transaction; None when closed already or
        reassigned meanwhile (read it again)."""
        after = conversation.model_copy(update={"status": "closed", "updated_at": at, "closed_at": at,
                                                "waiting": None, "pending": []})
        values: dict[str, Any] = {":closed": "closed"}
        condition = "#s <> :closed"
        if conversation.assignee:
            condition += " AND #as = :a"
            values[":a"] = conversation.assignee
        else:
            condition += " AND attribute_not_exists(#as)"
        items = [self._meta_update(conversation, {"status": "closed", "updated_at": at.isoformat(),
                                                  "closed_at": at.isoformat(), **_index_attrs(after)},
                                   remove=("waiting", "pending"), condition=condition, values=values)]
        if conversation.assignee and conversation.team and conversation.status == "handed_off":
            items.append(self._counter(conversation.team, conversation.assignee, -1))
        if not self._transact(items, "TransactWriteItems (close)"):
            return None
        return after

    def assign(self, conversation: Conversation, assignee: str | None, at: datetime) -> Conversation | None:
        """Give a handed-off conversation to ``assignee`` (None: back to the team queue), moving the open
        counters; None when it changed meanwhile."""
        after = conversation.model_copy(update={"assignee": assignee, "updated_at": at})
        values: dict[str, Any] = {":h": "handed_off"}
        condition = "#s = :h"
        if conversation.assignee:
            condition += " AND #as = :old"
            values[":old"] = conversation.assignee
        else:
            condition += " AND attribute_not_exists(#as)"
        sets: dict[str, Any] = {"updated_at": at.isoformat(), **_index_attrs(after)}
        remove: tuple[str, ...] = ()
        if assignee:
            sets["assignee"] = assignee
        else:
            remove = ("assignee", "gsi2pk", "gsi2sk")
        items = [self._meta_update(conversation, sets, remove=remove, condition=condition, values=values)]
        if conversation.team and conversation.assignee:
            items.append(self._counter(conversation.team, conversation.assignee, -1))
        if conversation.team and assignee:
            items.append(self._counter(conversation.team, assignee, 1))
        if not self._transact(items, "TransactWriteItems (assign)"):
            return None
        return after

    def set_continued_in(self, conversation_id: str, new_id: str) -> str:
        """Record the conversation a message after close opened (the first one recorded stays)."""
        item = self._update(conv_pk(conversation_id), "META", "SET #c = if_not_exists(#c, :n)",
                            names={"#c": "continued_in"}, values={":n": new_id}, condition="attribute_exists(pk)")
        return str((item or {}).get("continued_in") or new_id)

    # ------------------------------------------------------------------ history, sheets, counters
    def put_steps(self, conversation_id: str, steps: list[StepRecord]) -> None:
        """Keyed by transition number: writing the same steps again changes nothing."""
        if steps:
            dynamo.batch_write(self.table, [{**_json(s.model_dump(mode="json")), "pk": conv_pk(conversation_id),
                                             "sk": step_sk(s.at_transition)} for s in steps])

    def steps(self, conversation_id: str) -> list[StepRecord]:
        items = dynamo.query(self.table, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                             ExpressionAttributeValues={":p": _s(conv_pk(conversation_id)), ":s": _s("STEP#")})
        return [StepRecord.model_validate(i) for i in items]

    def put_sheet_row(self, row: SheetRow) -> bool:
        """False when the row is there already (the same step of the same run)."""
        item = {**_json(row.model_dump(mode="json")), "pk": f"SHEET#{row.sheet}"}
        try:
            client("dynamodb").put_item(TableName=self.table, Item=dynamo.to_av(item),
                                        ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise store_error(exc, f"PutItem on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"PutItem on {self.table}") from exc
        return True

    def sheet_rows(self, sheet: str) -> list[SheetRow]:
        items = dynamo.query(self.table, KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": _s(f"SHEET#{sheet}")})
        return [SheetRow.model_validate(i) for i in items]

    def next_round_robin(self, team: str) -> int:
        item = self._update(f"TEAM#{team}", "RR", "ADD #n :one", names={"#n": "n"}, values={":one": 1})
        return int((item or {}).get("n", 1))

    def open_counts(self, team: str, usernames: list[str]) -> dict[str, int]:
        if not usernames:
            return {}
        items = dynamo.batch_get(self.table, [{"pk": f"TEAM#{team}", "sk": f"OPEN#{u}"} for u in usernames])
        return {str(i["sk"])[5:]: int(i.get("open", 0)) for i in items}

    def _index(self, index: str, key: str, value: str, sort: str, status: str, limit: int) -> list[Conversation]:
        with translated(f"Query {index} on {self.table}"):
            resp = client("dynamodb").query(
                TableName=self.table, IndexName=index, Limit=max(1, min(limit, 500)),
                KeyConditionExpression=f"{key} = :p AND begins_with({sort}, :s)",
                ExpressionAttributeValues={":p": _s(value), ":s": _s(f"{status}#")})
        return [_conversation(dynamo.from_av(i)) for i in resp.get("Items", [])]

    def queue(self, team: str, status: str, limit: int) -> list[Conversation]:
        """The team's conversations in ``status``, longest waiting (oldest update) first."""
        return self._index(BY_QUEUE, "gsi1pk", f"QUEUE#{team}", "gsi1sk", status, limit)

    def assigned(self, username: str, status: str, limit: int) -> list[Conversation]:
        return self._index(BY_ASSIGNEE, "gsi2pk", f"AGENT#{username}", "gsi2sk", status, limit)


def _profile(contact_key: str, item: dict[str, Any]) -> ContactProfile:
    fields = {k[len(FIELD_PREFIX):]: v for k, v in item.items() if k.startswith(FIELD_PREFIX)}
    return ContactProfile(contact_key=contact_key, fields=fields, conversations=int(item.get("conversations", 0)),
                          first_seen=item.get("first_seen"), last_conversation_id=item.get("last_conversation_id"))
