"""Sheet exports (S4 CSAT answers and other ``sheet`` steps): a CSV written to the AttachmentsBucket under
``sheets/{sheet}/{utc timestamp}.csv``, encrypted at rest, and handed out as a short-lived presigned GET."""

from __future__ import annotations

from typing import Protocol

from dunning.aws import client
from dunning.store.failures import translated

CSV_TYPE = "text/csv; charset=utf-8"


class SheetExports(Protocol):
    def put_csv(self, key: str, body: bytes) -> None: ...
    def presigned_get(self, key: str, seconds: int, filename: str) -> str: ...


class S3SheetExports:
    """:class:`SheetExports` over the attachments bucket."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put_csv(self, key: str, body: bytes) -> None:
        with translated(f"PutObject s3://{self.bucket}/{key}"):
            client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=CSV_TYPE,
                                    ServerSideEncryption="AES256")

    def presigned_get(self, key: str, seconds: int, filename: str) -> str:
        with translated(f"presigned GET s3://{self.bucket}/{key}"):
            url: str = client("s3").generate_presigned_url("get_object", ExpiresIn=seconds, Params={
                "Bucket": self.bucket, "Key": key, "ResponseContentType": CSV_TYPE,
                "ResponseContentDisposition": f'attachment; filename="{filename}"'})
        return url
