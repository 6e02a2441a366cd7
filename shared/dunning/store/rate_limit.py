"""Fixed-window request counters in the interactions table: ``pk = RATE#{scope}#{key_hash}``, ``sk = {window
start epoch}``, ``count`` (N) and ``ttl``. One conditional UpdateItem per check: ``ADD count 1`` only while
the window's count is below the limit, so concurrent requests can never push it past (the condition and the
add are one atomic write), and a refused request writes nothing. DynamoDB's TTL deletes a window's item a
little after the window ends.

The key is what the caller hashed (a client's source address under a keyed hash): no address is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from dunning.aws import client
from dunning.store.failures import error_code, store_error

TTL_GRACE_SECONDS = 3600  # kept a little past the window's end (TTL deletes within a day or so anyway)


@dataclass(frozen=True)
class Hit:
    allowed: bool
    count: int  # the window's count after this hit (allowed), or the limit (refused)
    retry_after: int  # seconds until the window ends (refused), else 0


class DynamoRateLimiter:
    def __init__(self, table: str) -> None:
        self.table = table

    def hit(self, scope: str, key_hash: str, *, window_start: int, window_seconds: int, limit: int,
            now: float) -> Hit:
        """Count one request of ``key_hash`` in the window starting at ``window_start`` (epoch seconds)."""
        end = window_start + window_seconds
        try:
            out = client("dynamodb").update_item(
                TableName=self.table,
                Key={"pk": {"S": f"RATE#{scope}#{key_hash}"}, "sk": {"S": str(window_start)}},
                UpdateExpression="ADD #c :one SET #t = if_not_exists(#t, :ttl)",
                ConditionExpression="attribute_not_exists(#c) OR #c < :limit",
                ExpressionAttributeNames={"#c": "count", "#t": "ttl"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(limit)},
                                           ":ttl": {"N": str(end + TTL_GRACE_SECONDS)}},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return Hit(allowed=False, count=limit, retry_after=max(1, int(end - now + 0.999)))
            raise store_error(exc, f"UpdateItem on {self.table}") from exc
        except BotoCoreError as exc:
            raise store_error(exc, f"UpdateItem on {self.table}") from exc
        return Hit(allowed=True, count=int(out["Attributes"]["count"]["N"]), retry_after=0)

