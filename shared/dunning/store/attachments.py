"""The attachments bucket (``AttachmentsBucket``): presigned POST uploads with a fixed type and size range, the
HEAD that checks what arrived, and short-lived presigned GETs. Keys ``attachments/{interaction}/{attachment}``.

:class:`AttachmentStore` is what the use cases depend on; :class:`S3Attachments` is its S3 implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from dunning.aws import client
from dunning.store.blobs import S3Blobs
from dunning.store.failures import translated

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class StoredObject:
    content_type: str
    size: int


class AttachmentStore(Protocol):
    bucket: str

    def presigned_post(self, key: str, content_type: str, max_size: int, seconds: int,
                       redirect: str | None = None) -> PresignedPost: ...
    def head(self, key: str) -> StoredObject | None: ...
    def presigned_get(self, key: str, seconds: int, filename: str, content_type: str) -> str: ...
    def delete(self, key: str) -> None: ...


class S3Attachments:
    """:class:`AttachmentStore` over one S3 bucket."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def presigned_post(self, key: str, content_type: str, max_size: int, seconds: int,
                       redirect: str | None = None) -> PresignedPost:
        """A POST policy for exactly this key and Content-Type, 1 byte to ``max_size``, encrypted at rest;
        ``redirect``: where S3 sends a browser after the upload (``success_action_redirect``, in the policy too)."""
        fields = {"Content-Type": content_type, "x-amz-server-side-encryption": "AES256"}
        conditions: list[Any] = [
            {"bucket": self.bucket}, {"key": key}, {"Content-Type": content_type},
            {"x-amz-server-side-encryption": "AES256"}, ["content-length-range", 1, max_size]]
        if redirect:
            fields["success_action_redirect"] = redirect
            conditions.append({"success_action_redirect": redirect})
        with translated(f"presigned POST s3://{self.bucket}/{key}"):
            post = client("s3").generate_presigned_post(Bucket=self.bucket, Key=key, Fields=fields,
                                                        Conditions=conditions, ExpiresIn=seconds)
        return PresignedPost(url=str(post["url"]), fields={k: str(v) for k, v in post["fields"].items()})

    def head(self, key: str) -> StoredObject | None:
        """What was stored under ``key`` (its type and size), or None when nothing was: the bucket's HEAD."""
        answer = S3Blobs(self.bucket).head(key)
        if answer is None:
            return None
        return StoredObject(content_type=str(answer.get("ContentType") or ""),
                            size=int(answer.get("ContentLength") or 0))

    def presigned_get(self, key: str, seconds: int, filename: str, content_type: str) -> str:
        """A GET link that downloads as ``filename`` with the checked type (never rendered inline)."""
        url: str = client("s3").generate_presigned_url("get_object", ExpiresIn=seconds, Params={
            "Bucket": self.bucket, "Key": key, "ResponseContentType": content_type,
            "ResponseContentDisposition": f'attachment; filename="{filename}"'})
        return url

    def delete(self, key: str) -> None:
        with translated(f"DeleteObject s3://{self.bucket}/{key}"):
            client("s3").delete_object(Bucket=self.bucket, Key=key)
