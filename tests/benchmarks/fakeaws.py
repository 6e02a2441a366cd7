"""An in-memory stand-in for the few S3 / DynamoDB / SES operations the run uses, to time the real code paths
in-process with the I/O taken out (CPU per batch, CPU per event).

It is installed by replacing :func:`dunning.aws._client` (every store module gets its clients through
:func:`dunning.aws.client`), so ``start_run``, ``evaluate_batch``, ``create_contacts_batch`` and the ingest
handler run unchanged, serialising and parsing AttributeValues exactly as they do against AWS. Calls are
counted by operation. Only the expressions the stores use are understood; anything else raises.
"""

from __future__ import annotations

import io
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dunning.aws

PAGE_BYTES = 1024 * 1024  # Scan / Query page size, as DynamoDB


def _key(item: dict[str, Any]) -> tuple[str, str]:
    if "pk" in item:
        return (item["pk"]["S"], item.get("sk", {}).get("S", ""))
    for name in ("contact_id", "id"):
        if name in item:
            return (item[name]["S"], "")
    raise KeyError(f"no key in {list(item)}")


def _size(item: dict[str, Any]) -> int:
    return sum(len(k) + len(str(v)) for k, v in item.items())


class _Paginator:
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from self.fn(**kwargs)


class FakeDynamo:
    def __init__(self, calls: Counter[str]) -> None:
        self.tables: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.calls = calls
        self._sizes: dict[int, int] = {}  # id(stored item) -> its size, for cutting pages

    def table(self, name: str) -> dict[tuple[str, str], dict[str, Any]]:
        return self.tables.setdefault(name, {})

    def load(self, table: str, items: list[dict[str, Any]]) -> None:
        t = self.table(table)
        for item in items:
            t[_key(item)] = item

    # -------------------------------------------------------------- operations
    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls["dynamodb.BatchGetItem"] += 1
        out: dict[str, list[dict[str, Any]]] = {}
        for table, req in RequestItems.items():
            t = self.table(table)
            found = [t[_key(k)] for k in req["Keys"] if _key(k) in t]
            if req.get("ProjectionExpression"):
                names = {n.strip() for n in req["ProjectionExpression"].split(",")}
                found = [{k: v for k, v in i.items() if k in names} for i in found]
            out[table] = found
        return {"Responses": out, "UnprocessedKeys": {}}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls["dynamodb.BatchWriteItem"] += 1
        for table, reqs in RequestItems.items():
            t = self.table(table)
            for r in reqs:
                if "PutRequest" in r:
                    t[_key(r["PutRequest"]["Item"])] = r["PutRequest"]["Item"]
                else:
                    t.pop(_key(r["DeleteRequest"]["Key"]), None)
        return {"UnprocessedItems": {}}

    def put_item(self, TableName: str, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls["dynamodb.PutItem"] += 1
        self.table(TableName)[_key(Item)] = Item
        return {}

    def update_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls["dynamodb.UpdateItem"] += 1
        return {}

    def get_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls["dynamodb.GetItem"] += 1
        item = self.table(TableName).get(_key(Key))
        return {"Item": item} if item else {}

    def _pages(self, op: str, items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        page: list[dict[str, Any]] = []
        size = 0
        sizes = self._sizes
        for item in items:
            page.append(item)
            n = sizes.get(id(item))
            if n is None:  # measured once per stored item: the fake's own work stays out of the timed code
                n = sizes[id(item)] = _size(item)
            size += n
            if size >= PAGE_BYTES:
                self.calls[f"dynamodb.{op}"] += 1
                yield {"Items": page, "Count": len(page), "ScannedCount": len(page)}
                page, size = [], 0
        self.calls[f"dynamodb.{op}"] += 1
        yield {"Items": page, "Count": len(page), "ScannedCount": len(page)}

    def _scan(self, TableName: str, FilterExpression: str = "", ExpressionAttributeValues: Any = None,
              Segment: int = 0, TotalSegments: int = 1, ProjectionExpression: str = "",
              ExpressionAttributeNames: Any = None, **rest: Any) -> Iterator[dict[str, Any]]:
        if rest:
            raise NotImplementedError(f"Scan parameters {sorted(rest)}")
        if not 0 <= Segment < TotalSegments:
            raise ValueError(f"Segment {Segment} of TotalSegments {TotalSegments}")
        # a parallel Scan's segment: DynamoDB splits the key space by partition key hash, so all the items of
        # one partition key are in one segment and the segments together are the table, each item once
        t = self.table(TableName)
        items = [t[k] for k in sorted(t) if zlib.crc32(k[0].encode()) % TotalSegments == Segment]
        values = ExpressionAttributeValues or {}
        if m := re.fullmatch(r"begins_with\(pk, (:\w+)\)", FilterExpression or ""):
            prefix = values[m.group(1)]["S"]
            items = [i for i in items if i["pk"]["S"].startswith(prefix)]
        elif m := re.fullmatch(r"sk = (:\w+)", FilterExpression or ""):
            items = [i for i in items if i.get("sk", {}).get("S") == values[m.group(1)]["S"]]
        elif FilterExpression:
            raise NotImplementedError(FilterExpression)
        if ProjectionExpression:  # pages are cut by the items read (the whole item), as DynamoDB does
            names = ExpressionAttributeNames or {}
            keep = {names.get(n.strip(), n.strip()) for n in ProjectionExpression.split(",")}
            for page in self._pages("Scan", items):
                page["Items"] = [{k: v for k, v in i.items() if k in keep} for i in page["Items"]]
                yield page
            return
        yield from self._pages("Scan", items)

    def _query(self, TableName: str, KeyConditionExpression: str, ExpressionAttributeValues: Any,
               IndexName: str | None = None, **_: Any) -> Iterator[dict[str, Any]]:
        values = ExpressionAttributeValues
        m = re.fullmatch(r"(\w+) = (:\w+)(?: AND begins_with\(sk, (:\w+)\))?", KeyConditionExpression)
        if not m:
            raise NotImplementedError(KeyConditionExpression)
        attr, value = m.group(1), values[m.group(2)]["S"]
        prefix = values[m.group(3)]["S"] if m.group(3) else ""
        t = self.table(TableName)
        items = [t[k] for k in sorted(t) if t[k].get(attr, {}).get("S") == value
                 and t[k].get("sk", {}).get("S", "").startswith(prefix)]
        yield from self._pages("Query", items)

    def get_paginator(self, name: str) -> _Paginator:
        return _Paginator({"scan": self._scan, "query": self._query}[name])


class FakeS3:
    def __init__(self, calls: Counter[str]) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.calls = calls

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.calls["s3.PutObject"] += 1
        self.objects[(Bucket, Key)] = Body if isinstance(Body, bytes) else Body.encode()
        return {"ETag": f'"{len(self.objects)}"'}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.calls["s3.GetObject"] += 1
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def head_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.calls["s3.HeadObject"] += 1
        body = self.objects[(Bucket, Key)]
        return {"ETag": f'"{hash(body)}"', "ContentLength": len(body)}


class FakeSes:
    def __init__(self, calls: Counter[str]) -> None:
        self.calls = calls

    def send_email(self, **_: Any) -> dict[str, Any]:
        self.calls["sesv2.SendEmail"] += 1
        return {"MessageId": f"fake-{self.calls['sesv2.SendEmail']}"}


class FakeAws:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.dynamodb = FakeDynamo(self.calls)
        self.s3 = FakeS3(self.calls)
        self.sesv2 = FakeSes(self.calls)

    def client(self, service: str, endpoint: str | None = None, region: str | None = None) -> Any:
        return getattr(self, service)

    @contextmanager
    def installed(self) -> Iterator[FakeAws]:
        from dunning.store import blobs

        original = dunning.aws._client
        cache = dict(blobs._config_cache)
        dunning.aws._client = self.client  # type: ignore[assignment]
        blobs._config_cache.clear()
        try:
            yield self
        finally:
            dunning.aws._client = original
            blobs._config_cache.clear()
            blobs._config_cache.update(cache)
