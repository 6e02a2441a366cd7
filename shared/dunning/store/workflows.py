"""The workflow items of the conversations table (``ConversationsTable``): a workflow's head, its immutable
versions, its "Try it" snapshots and the list of workflows.

:class:`WorkflowStore` is what :mod:`dunning.app.workflows` depends on; :class:`DynamoWorkflowsRepository` is its
DynamoDB implementation. Item layout (``pk``/``sk``; see ``notes/SPEC_14``)::

    WF#{id}      META             the head: name, live_version (+ its hash), latest_version (+ its hash), priority,
                                  trigger, the draft (source, fmt, hash, ok, errors, saved_by, saved_at), rev
    WF#{id}      V#{n:06d}        a published version: written once (attribute_not_exists), never updated
    WF#{id}      TRY#{hash12}     a draft snapshot "Try it" runs (ttl: 7 days)
    WORKFLOWS    WF#{id}          the workflow's summary (one Query lists them all; the live trigger matching reads it)

Every change of a head is a put conditioned on the ``rev`` it was read at (optimistic concurrency), written in
one transaction with the list item, so the list never disagrees with the head and of two concurrent changes
one wins and the other reads again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field

from dunning.aws import client
from dunning.models.workflows import (
    DraftState,
    Fmt,
    StepError,
    Trigger,
    WorkflowDefinition,
    WorkflowSummary,
    WorkflowVersion,
    WorkflowVersionInfo,
)
from dunning.store import dynamo
from dunning.store.failures import error_code, store_error, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

LIST_PK = "WORKFLOWS"
TRY_TTL_SECONDS = 7 * 24 * 3600
_VERSION_INFO = "#n, #h, published_by, published_at, #note"
_VERSION_NAMES = {"#n": "n", "#h": "hash", "#note": "note"}


class StoredDraft(BaseModel):
    """A workflow's saved draft as its head holds it."""

    source: str
    fmt: Fmt
    hash: str
    ok: bool
    errors: list[StepError] = Field(default_factory=list)
    saved_by: str = ""
    saved_at: datetime


class WorkflowHead(BaseModel):
    """The ``META`` item of a workflow. ``latest_version``/``latest_hash`` are the newest version number taken
    (its item is written right after it is taken); ``live_version``/``live_hash`` the one conversations start
    on. ``name``, ``priority`` and ``trigger`` are the live version's (the draft's while nothing is live).
    ``rev`` counts the head's writes (the condition of the next one)."""

    id: str
    name: str
    priority: int = 0
    trigger: Trigger = Field(default_factory=Trigger)
    live_version: int | None = None
    live_hash: str = ""
    latest_version: int = 0
    latest_hash: str = ""
    draft: StoredDraft | None = None
    rev: int = 0

    def draft_state(self) -> DraftState:
        if self.draft is None:
            return "none"
        if not self.draft.ok:
            return "invalid"
        return "same" if self.live_version is not None and self.draft.hash == self.live_hash else "changed"

    def summary(self) -> WorkflowSummary:
        return WorkflowSummary(id=self.id, name=self.name, live_version=self.live_version,
                               latest_version=self.latest_version, draft_state=self.draft_state(),
                               priority=self.priority, trigger=self.trigger)


class TrySnapshot(BaseModel):
    workflow_id: str
    hash: str
    source: str
    fmt: Fmt
    definition: WorkflowDefinition
    created_by: str = ""
    created_at: datetime


class WorkflowStore(Protocol):
    """The workflow items as the use cases see them."""

    table: str

    def head(self, wf_id: str) -> WorkflowHead | None: ...
    def put_head(self, head: WorkflowHead, *, expected_rev: int | None) -> bool: ...
    def summaries(self) -> list[WorkflowSummary]: ...
    def put_version(self, version: WorkflowVersion) -> bool: ...
    def version(self, wf_id: str, n: int) -> WorkflowVersion | None: ...
    def versions(self, wf_id: str) -> list[WorkflowVersionInfo]: ...
    def put_try(self, snapshot: TrySnapshot, ttl: int) -> None: ...
    def try_snapshot(self, wf_id: str, hash12: str) -> TrySnapshot | None: ...


# ---------------------------------------------------------------------------------------------- items
def wf_pk(wf_id: str) -> str:
    return f"WF#{wf_id}"


def version_sk(n: int) -> str:
    return f"V#{n:06d}"


def try_sk(hash12: str) -> str:
    return f"TRY#{hash12}"


def _jsonable(model: BaseModel, exclude: set[str] | None = None) -> dict[str, Any]:
    """The model as storable data (top-level None values are left out by :func:`dynamo.to_av`)."""
    out: dict[str, Any] = dynamo.jsonable(model.model_dump(mode="json", by_alias=True, exclude=exclude))
    return out


def head_item(head: WorkflowHead) -> dict[str, Any]:
    item = _jsonable(head)
    item.update(pk=wf_pk(head.id), sk="META")
    return item


def list_item(head: WorkflowHead) -> dict[str, Any]:
    item = _jsonable(head.summary())
    item.update(pk=LIST_PK, sk=wf_pk(head.id))
    return item


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "ttl")}


def version_item(v: WorkflowVersion) -> dict[str, Any]:
    item = _jsonable(v, {"definition"})  # the definition as JSON text (compact, exact)
    item.update(pk=wf_pk(v.workflow_id), sk=version_sk(v.n),
                definition=v.definition.model_dump_json(by_alias=True, exclude_none=False))
    return item


def _version(item: dict[str, Any]) -> WorkflowVersion:
    data = _strip(item)
    data["definition"] = WorkflowDefinition.model_validate_json(data["definition"])
    return WorkflowVersion.model_validate(data)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoWorkflowsRepository:
    """:class:`WorkflowStore` over the conversations table."""

    def __init__(self, table: str) -> None:
        self.table = table

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": _s(pk), "sk": _s(sk)}

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with translated(f"GetItem on {self.table}"):
            resp = client("dynamodb").get_item(TableName=self.table, Key=self._key(pk, sk), ConsistentRead=True)
        item = resp.get("Item")
        return dynamo.from_av(item) if item else None

    # ------------------------------------------------------------------ heads and the list
    def head(self, wf_id: str) -> WorkflowHead | None:
        item = self._get(wf_pk(wf_id), "META")
        return WorkflowHead.model_validate(_strip(item)) if item else None

    def put_head(self, head: WorkflowHead, *, expected_rev: int | None) -> bool:
        """Write ``head`` (its ``rev`` already the next one) and its list item in one transaction, when the stored
        head is still at ``expected_rev`` (None: no head yet). False when another write came first."""
        put: dict[str, Any] = {"TableName": self.table, "Item": dynamo.to_av(head_item(head))}
        if expected_rev is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put.update(ConditionExpression="#rev = :rev", ExpressionAttributeNames={"#rev": "rev"},
                       ExpressionAttributeValues={":rev": {"N": str(expected_rev)}})
        items = cast("list[TransactWriteItemTypeDef]", [
            {"Put": put}, {"Put": {"TableName": self.table, "Item": dynamo.to_av(list_item(head))}}])
        try:
            client("dynamodb").transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                codes = [str(r.get("Code", "None")) for r in reasons]
                if any(c not in ("None", "ConditionalCheckFailed") for c in codes):
                    raise store_error(exc, f"TransactWriteItems on {self.table}") from exc
                return False
            raise store_error(exc, f"TransactWriteItems on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"TransactWriteItems on {self.table}") from exc
        return True

    def summaries(self) -> list[WorkflowSummary]:
        """Every workflow's summary (one paginated Query of the list partition), by id."""
        items = dynamo.query(self.table, KeyConditionExpression="pk = :pk",
                             ExpressionAttributeValues={":pk": _s(LIST_PK)}, ConsistentRead=True)
        return [WorkflowSummary.model_validate(_strip(i)) for i in items]

    # ------------------------------------------------------------------ versions
    def put_version(self, version: WorkflowVersion) -> bool:
        """Write a version once: False (and nothing changed) when ``V#{n}`` already exists."""
        try:
            client("dynamodb").put_item(TableName=self.table, Item=dynamo.to_av(version_item(version)),
                                        ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise store_error(exc, f"PutItem on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"PutItem on {self.table}") from exc
        return True

    def version(self, wf_id: str, n: int) -> WorkflowVersion | None:
        item = self._get(wf_pk(wf_id), version_sk(n))
        return _version(item) if item else None

    def versions(self, wf_id: str) -> list[WorkflowVersionInfo]:
        """The versions' numbers, hashes, authors and notes (not their sources), oldest first."""
        items = dynamo.query(self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
                             ExpressionAttributeValues={":pk": _s(wf_pk(wf_id)), ":v": _s("V#")},
                             ProjectionExpression=_VERSION_INFO, ExpressionAttributeNames=_VERSION_NAMES,
                             ConsistentRead=True)
        return sorted((WorkflowVersionInfo.model_validate(i) for i in items), key=lambda v: v.n)

    # ------------------------------------------------------------------ try snapshots
    def put_try(self, snapshot: TrySnapshot, ttl: int) -> None:
        """A draft snapshot (keyed by its content hash: writing it again is the same item, its ttl renewed)."""
        item = _jsonable(snapshot, {"definition"})
        item.update(pk=wf_pk(snapshot.workflow_id), sk=try_sk(snapshot.hash[:12]), ttl=ttl,
                    definition=snapshot.definition.model_dump_json(by_alias=True, exclude_none=False))
        with translated(f"PutItem on {self.table}"):
            client("dynamodb").put_item(TableName=self.table, Item=dynamo.to_av(item))

    def try_snapshot(self, wf_id: str, hash12: str) -> TrySnapshot | None:
        item = self._get(wf_pk(wf_id), try_sk(hash12))
        if not item:
            return None
        data = _strip(item)
        data["definition"] = WorkflowDefinition.model_validate_json(data["definition"])
        return TrySnapshot.model_validate(data)
