"""The inbound mail bucket (``InboundMailBucket``): the raw mail SES wrote under ``inbound/``, and one rejection
record per refused mail under ``rejected/{key}.json`` (the raw mail stays where it is: nothing is lost).

Inbound mail attachments go to the attachments bucket through :class:`dunning.store.blobs.S3Blobs` (the same
``attachments/{interaction}/{attachment}`` keys the presigned uploads use).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from dunning.store.blobs import S3Blobs

REJECTED_PREFIX = "rejected/"


class RejectedMail(BaseModel):
    """Why a raw mail was refused; ``key`` is where the raw mail is kept."""

    bucket: str
    key: str
    code: str
    reason: str
    size: int
    rejected_at: datetime


class InboundMailStore:
    """One bucket's raw inbound mail and rejection records."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self._blobs = S3Blobs(bucket)

    def size(self, key: str) -> int | None:
        """The raw mail's size (HeadObject), or None when it is gone (expired, deleted)."""
        head = self._blobs.head(key)
        return None if head is None else int(head.get("ContentLength") or 0)

    def read(self, key: str) -> bytes | None:
        return self._blobs.get_bytes_if_exists(key)

    def reject(self, key: str, code: str, reason: str, size: int, now: datetime | None = None) -> RejectedMail:
        record = RejectedMail(bucket=self.bucket, key=key, code=code, reason=reason, size=size,
                              rejected_at=now or datetime.now(UTC))
        self._blobs.put_json(f"{REJECTED_PREFIX}{key}.json", record.model_dump(mode="json"))
        return record

    def rejection(self, key: str) -> RejectedMail | None:
        body = self._blobs.get_bytes_if_exists(f"{REJECTED_PREFIX}{key}.json")
        return None if body is None else RejectedMail.model_validate_json(body)

    def rejections(self, limit: int = 50) -> list[RejectedMail]:
        """The newest ``limit`` rejection records."""
        keys = self._blobs.keys(REJECTED_PREFIX)
        records = [RejectedMail.model_validate(self._blobs.get_json(k)) for k in keys]
        return sorted(records, key=lambda r: r.rejected_at, reverse=True)[:limit]
