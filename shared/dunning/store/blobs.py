"""S3 objects: published configuration, run manifests, rejected events, letters."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dunning.aws import StoreError, client
from dunning.models.config import Config

CONFIG_KEY = "config/current.json"
_config_cache: dict[str, tuple[float, str, Config]] = {}
CONFIG_CACHE_SECONDS = 60.0


_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class ObjectArchived(StoreError):
    """GetObject answered InvalidObjectState: the object is in an archive storage class (Glacier Deep Archive)
    and needs a restore (:meth:`Blobs.restore`) before it can be read."""

    def __init__(self, bucket: str, key: str, storage_class: str) -> None:
        super().__init__(f"s3://{bucket}/{key} is in {storage_class or 'an archive storage class'} and must be "
                         "restored before it can be read")
        self.bucket, self.key, self.storage_class = bucket, key, storage_class


class Blobs:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put_json(self, key: str, obj: Any) -> None:
        self.put_bytes(key, json.dumps(obj, default=str, separators=(",", ":")).encode(), "application/json")

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def put_bytes(self, key: str, body: bytes, content_type: str = "application/octet-stream",
                  metadata: dict[str, str] | None = None) -> None:
        try:
            client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type,
                                    ServerSideEncryption="AES256", Metadata=metadata or {})
        except ClientError as exc:
            raise StoreError(f"PutObject s3://{self.bucket}/{key} failed: {exc}") from exc

    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; :class:`ObjectArchived` when it needs a restore first."""
        return self.get_with_metadata(key)[0]

    def get_with_metadata(self, key: str) -> tuple[bytes, dict[str, str]]:
        """The object's bytes and its user metadata (one GetObject)."""
        try:
            answer = client("s3").get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "InvalidObjectState":
                raise ObjectArchived(self.bucket, key, str(error.get("StorageClass", ""))) from exc
            raise StoreError(f"GetObject s3://{self.bucket}/{key} failed: {exc}") from exc
        body: bytes = answer["Body"].read()
        return body, dict(answer.get("Metadata") or {})

    def get_bytes_if_exists(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key (never written, deleted or expired)."""
        try:
            return self.get_bytes(key)
        except ObjectArchived:
            raise
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise

    def head(self, key: str) -> dict[str, Any] | None:
        """HeadObject's answer (``Metadata``, ``StorageClass``, ``Restore``...), or None when there is no such key."""
        try:
            answer: dict[str, Any] = client("s3").head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise StoreError(f"HeadObject s3://{self.bucket}/{key} failed: {exc}") from exc
        return answer

    def restore(self, key: str, days: int = 7, tier: str = "Standard") -> bool:
        """Ask S3 to restore an archived object for ``days`` (RestoreObject; Deep Archive: Standard within 12
        hours, Bulk within 48). False when a restore of it is already in progress."""
        try:
            client("s3").restore_object(Bucket=self.bucket, Key=key, RestoreRequest={
                "Days": days, "GlacierJobParameters": {"Tier": tier}})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "RestoreAlreadyInProgress":
                return False
            raise StoreError(f"RestoreObject s3://{self.bucket}/{key} failed: {exc}") from exc
        return True

    def exists(self, key: str) -> bool:
        try:
            client("s3").head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return False
        return True

    def keys(self, prefix: str) -> list[str]:
        out: list[str] = []
        for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out.extend(o["Key"] for o in page.get("Contents", []))
        return out

    def presign(self, key: str, seconds: int = 900) -> str:
        url: str = client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds)
        return url

    # ------------------------------------------------------------------ configuration
    def publish_config(self, config: Config) -> str:
        body = config.model_dump_json(by_alias=True)
        self.put_bytes(CONFIG_KEY, body.encode(), "application/json")
        return CONFIG_KEY

    def config(self) -> Config:
        """The published configuration, cached per container for a minute and revalidated by ETag."""
        cached = _config_cache.get(self.bucket)
        now = time.monotonic()
        if cached and now - cached[0] < CONFIG_CACHE_SECONDS:
            return cached[2]
        try:
            head = client("s3").head_object(Bucket=self.bucket, Key=CONFIG_KEY)
        except ClientError as exc:
            raise StoreError(
                f"no published configuration at s3://{self.bucket}/{CONFIG_KEY}; run 'dunning config publish'"
            ) from exc
        if cached and cached[1] == head["ETag"]:
            _config_cache[self.bucket] = (now, cached[1], cached[2])
            return cached[2]
        config = Config.model_validate_json(self.get_bytes(CONFIG_KEY))
        _config_cache[self.bucket] = (now, head["ETag"], config)
        return config

    # ------------------------------------------------------------------ rejected events
    def put_rejected(self, message_id: str, body: str, reason: str, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        key = f"rejected/{now.date().isoformat()}/{message_id}.json"
        self.put_json(key, {"message_id": message_id, "rejected_at": now.isoformat(), "reason": reason,
                            "body": body})
        return key

    def rejected(self) -> list[dict[str, Any]]:
        return [self.get_json(k) for k in self.keys("rejected/")]
