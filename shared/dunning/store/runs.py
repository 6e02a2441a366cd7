"""The runs table: run locks, per-batch results, run summaries, and the process history (with TTL).

:class:`RunStore` is what the use cases depend on; :class:`DynamoRunsRepository` is its DynamoDB implementation.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from dunning.aws import client
from dunning.errors import RunAlreadyActive
from dunning.store import dynamo
from dunning.store.failures import error_code, store_error, translated

LOCK_TTL = timedelta(hours=6)
HISTORY_CHUNK = 500  # decisions per history item: ~145 KB of JSON, ~15 KB compressed
HISTORY_SHARDS = 16  # partition keys per hierarchy


def pack_decisions(decisions: list[dict[str, Any]]) -> bytes:
    """History decisions as zlib-compressed JSON: the entries repeat the same keys and reasons, so they
    shrink ~8x, and a history item's size is what it costs to write (WRU) and to keep (storage + PITR)."""
    return zlib.compress(json.dumps(decisions, default=str, separators=(",", ":")).encode("utf-8"), 6)


def unpack_decisions(item: dict[str, Any]) -> list[dict[str, Any]]:
    if "decisions_z" in item:
        raw = item["decisions_z"]
        data: list[dict[str, Any]] = json.loads(zlib.decompress(getattr(raw, "value", raw)))
        return data
    return list(json.loads(item["decisions"]))  # items written before compression


class RunStore(Protocol):
    """The runs table as the use cases see it."""

    def acquire(self, as_of: date, run_id: str, now: datetime | None = None) -> None: ...
    def release(self, as_of: date, run_id: str, status: str) -> None: ...
    def put_run(self, run_id: str, record: dict[str, Any]) -> None: ...
    def put_batch_result(self, run_id: str, batch: int, result: dict[str, Any]) -> None: ...
    def batch_results(self, run_id: str) -> list[dict[str, Any]]: ...
    def get_run(self, run_id: str) -> dict[str, Any] | None: ...
    def runs(self) -> list[dict[str, Any]]: ...
    def put_history(self, run_id: str, as_of: date, batch: int, by_hierarchy: dict[str, list[dict[str, Any]]],
                    retention_days: dict[str, int], now: datetime | None = None) -> int: ...
    def history(self, hierarchy: str, since: date | None = None) -> list[dict[str, Any]]: ...


class DynamoRunsRepository:
    """:class:`RunStore` over the runs table."""

    def __init__(self, table: str) -> None:
        self.table = table

    # ------------------------------------------------------------------ lock
    def acquire(self, as_of: date, run_id: str, now: datetime | None = None) -> None:
        """Take the lock for ``as_of``. Fails while another run for that date is active (and not stale)."""
        now = now or datetime.now(UTC)
        try:
            client("dynamodb").put_item(
                TableName=self.table,
                Item=dynamo.to_av({"pk": f"LOCK#{as_of.isoformat()}", "sk": "LOCK", "run_id": run_id,
                                   "status": "RUNNING", "expires_at": (now + LOCK_TTL).isoformat()}),
                ConditionExpression=("attribute_not_exists(pk) OR #s <> :running OR expires_at < :now "
                                     "OR run_id = :me"),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=dynamo.to_av({":running": "RUNNING", ":now": now.isoformat(),
                                                        ":me": run_id}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise RunAlreadyActive(f"a run for {as_of.isoformat()} is already active") from exc
            raise store_error(exc, f"PutItem on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"PutItem on {self.table}") from exc

    def release(self, as_of: date, run_id: str, status: str) -> None:
        try:
            client("dynamodb").update_item(
                TableName=self.table,
                Key=dynamo.to_av({"pk": f"LOCK#{as_of.isoformat()}", "sk": "LOCK"}),
                UpdateExpression="SET #s = :st",
                ConditionExpression="run_id = :r",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=dynamo.to_av({":st": status, ":r": run_id}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise store_error(exc, f"UpdateItem on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"UpdateItem on {self.table}") from exc

    # ------------------------------------------------------------------ runs
    def put_run(self, run_id: str, record: dict[str, Any]) -> None:
        with translated(f"PutItem on {self.table}"):
            client("dynamodb").put_item(
                TableName=self.table,
                Item=dynamo.to_av({"pk": f"RUN#{run_id}", "sk": "RUN", **dynamo.jsonable(record)}),
            )

    def put_batch_result(self, run_id: str, batch: int, result: dict[str, Any]) -> None:
        with translated(f"PutItem on {self.table}"):
            client("dynamodb").put_item(
                TableName=self.table,
                Item=dynamo.to_av({"pk": f"RUN#{run_id}", "sk": f"BATCH#{batch:06d}", "doc": json.dumps(result)}),
            )

    def batch_results(self, run_id: str) -> list[dict[str, Any]]:
        items = dynamo.query(self.table, KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
                             ExpressionAttributeValues={":p": {"S": f"RUN#{run_id}"}, ":b": {"S": "BATCH#"}})
        return [json.loads(i["doc"]) for i in items]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        items = dynamo.batch_get(self.table, [{"pk": f"RUN#{run_id}", "sk": "RUN"}])
        return items[0] if items else None

    def runs(self) -> list[dict[str, Any]]:
        items = dynamo.scan(self.table, FilterExpression="sk = :r", ExpressionAttributeValues={":r": {"S": "RUN"}})
        return sorted(items, key=lambda i: i.get("started_at", ""))

    # ------------------------------------------------------------------ process history
    def put_history(self, run_id: str, as_of: date, batch: int, by_hierarchy: dict[str, list[dict[str, Any]]],
                    retention_days: dict[str, int], now: datetime | None = None) -> int:
        """The batch's decisions, at most HISTORY_CHUNK per item (compressed, well under DynamoDB's 400 KB),
        spread over HISTORY_SHARDS partition keys per hierarchy so a big run does not hammer one key. Expires
        via TTL."""
        now = now or datetime.now(UTC)
        items = []
        for hierarchy, decisions in by_hierarchy.items():
            ttl = int((now + timedelta(days=retention_days.get(hierarchy, 90))).timestamp())
            for chunk_no, start in enumerate(range(0, len(decisions), HISTORY_CHUNK)):
                shard = (batch * 7 + chunk_no) % HISTORY_SHARDS
                items.append({"pk": f"HIST#{hierarchy}#{shard:02d}",
                              "sk": f"{as_of.isoformat()}#{run_id}#{batch:06d}#{chunk_no:03d}",
                              "as_of": as_of.isoformat(), "run_id": run_id, "ttl": ttl,
                              "written_at": now.isoformat(),
                              "decisions_z": pack_decisions(decisions[start : start + HISTORY_CHUNK])})
        return dynamo.batch_write(self.table, items)

    def history(self, hierarchy: str, since: date | None = None) -> list[dict[str, Any]]:
        """Every decision recorded for ``hierarchy`` (since ``since``), in the order the runs happened: by as-of
        date, then by the run's time (``run_at``: when its first batch was recorded), then batch by batch. A date
        run twice shows both runs, the earlier first."""
        cond = "pk = :p" + (" AND sk >= :s" if since else "")
        items = []
        now = int(datetime.now(UTC).timestamp())
        for shard in range(HISTORY_SHARDS):
            values = {":p": {"S": f"HIST#{hierarchy}#{shard:02d}"}}
            if since:
                values[":s"] = {"S": since.isoformat()}
            for item in dynamo.query(self.table, KeyConditionExpression=cond, ExpressionAttributeValues=values):
                if int(item.get("ttl", now + 1)) < now:
                    continue  # expired but not yet removed by TTL
                items.append(item)
        run_at: dict[str, str] = {}  # a run's time: its first history write (items written before this have "")
        for item in items:
            at = str(item.get("written_at", ""))
            run_at[item["run_id"]] = min(run_at.get(item["run_id"], at), at)
        # sk = as_of#run_id#batch#chunk: the run id is random, so two runs of one date sort by their time instead
        items.sort(key=lambda i: (i["as_of"], run_at[i["run_id"]], i["sk"]))
        return [{"as_of": item["as_of"], "run_id": item["run_id"], "run_at": run_at[item["run_id"]] or None, **d}
                for item in items for d in unpack_decisions(item)]

