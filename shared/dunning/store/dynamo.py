"""Thin batched DynamoDB helpers over the low-level client (the only module that speaks AttributeValues)."""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from dunning.aws import client
from dunning.errors import TransientStoreError
from dunning.store.failures import store_error, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        KeysAndAttributesOutputTypeDef,
        KeysAndAttributesTypeDef,
        WriteRequestOutputTypeDef,
        WriteRequestTypeDef,
    )

_ser = TypeSerializer()
_deser = TypeDeserializer()
MAX_BATCH_GET = 100
MAX_BATCH_WRITE = 25


def to_av(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items() if v is not None}


def from_av(item: dict[str, Any]) -> dict[str, Any]:
    """Plain values from AttributeValues, as the low-level API returns them or as a Lambda event carries them
    (stream images: Binary values arrive base64-encoded)."""
    return {k: v["S"] if "S" in v else  # strings (most attributes) as they are: no deserializer call
            _plain(_deser.deserialize({"B": base64.b64decode(v["B"])} if isinstance(v.get("B"), str) else v))
            for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    return value


def jsonable(obj: Any) -> Any:
    """A pydantic dump (mode='json') made storable: floats become Decimal."""
    return json.loads(json.dumps(obj), parse_float=Decimal)


def _backoff(attempt: int) -> None:
    time.sleep(min(2.0, 0.05 * 2**attempt) * random.random())  # full jitter


def batch_get(table: str, keys: list[dict[str, Any]], *, projection: str | None = None,
              names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """BatchGetItem in chunks of 100, retrying unprocessed keys with backoff. Returns plain items.
    ``names`` are the ExpressionAttributeNames of the projection (for reserved words such as ``status``)."""
    ddb = client("dynamodb")
    out: list[dict[str, Any]] = []
    unique = list({json.dumps(k, sort_keys=True): k for k in keys}.values())
    for start in range(0, len(unique), MAX_BATCH_GET):
        request: KeysAndAttributesTypeDef = {"Keys": [to_av(k) for k in unique[start : start + MAX_BATCH_GET]]}
        if projection:
            request["ProjectionExpression"] = projection
        if names:
            request["ExpressionAttributeNames"] = names
        pending: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {table: request}
        for attempt in range(10):
            try:
                resp = ddb.batch_get_item(RequestItems=pending)
            except (ClientError, BotoCoreError) as exc:
                raise store_error(exc, f"BatchGetItem on {table}") from exc
            out.extend(from_av(i) for i in resp.get("Responses", {}).get(table, []))
            pending = resp.get("UnprocessedKeys") or {}
            if not pending:
                break
            _backoff(attempt)
        else:
            raise TransientStoreError(f"BatchGetItem on {table}: keys still unprocessed after retries (throttled)")
    return out


def batch_write(table: str, puts: Iterable[dict[str, Any]] = (), deletes: Iterable[dict[str, Any]] = ()) -> int:
    """BatchWriteItem in chunks of 25 with retry of unprocessed items. Returns the number of requests."""
    ddb = client("dynamodb")
    requests: list[WriteRequestTypeDef] = [{"PutRequest": {"Item": to_av(i)}} for i in puts] + [
        {"DeleteRequest": {"Key": to_av(k)}} for k in deletes
    ]
    calls = 0
    for start in range(0, len(requests), MAX_BATCH_WRITE):
        pending: Mapping[str, Sequence[WriteRequestTypeDef | WriteRequestOutputTypeDef]] = {
            table: requests[start : start + MAX_BATCH_WRITE]}
        for attempt in range(10):
            try:
                resp = ddb.batch_write_item(RequestItems=pending)
            except (ClientError, BotoCoreError) as exc:
                raise store_error(exc, f"BatchWriteItem on {table}") from exc
            calls += 1
            pending = resp.get("UnprocessedItems") or {}
            if not pending:
                break
            _backoff(attempt)
        else:
            raise TransientStoreError(f"BatchWriteItem on {table}: items still unprocessed after retries "
                                      "(throttled)")
    return calls


def query(table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    ddb = client("dynamodb")
    paginator = ddb.get_paginator("query")
    with translated(f"Query on {table}"):
        for page in paginator.paginate(TableName=table, **kwargs):
            yield from (from_av(i) for i in page.get("Items", []))


def query_raw(table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """A paginated Query's items as DynamoDB sent them (``{"S": ...}``/``{"N": ...}``), taken from the response
    JSON around botocore's parser: for reads of many small items whose caller reads a few attributes itself."""
    ddb = client("dynamodb")
    events = getattr(getattr(ddb, "meta", None), "events", None)
    if events is not None:
        events.register("before-parse.dynamodb.Query", _raw_scan_page, unique_id="dunning-raw-query-items")
    paginator = ddb.get_paginator("query")
    with translated(f"Query on {table}"):
        for page in _raw_pages(iter(paginator.paginate(TableName=table, **kwargs)), True):
            yield from page.get("Items", [])


def scan(table: str, *, raw_items: bool = False, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """A paginated Scan's items, plain. ``raw_items``: each page's items are taken from the response JSON as they
    are, without botocore's parser walking every AttributeValue of every item (most of the CPU of a large Scan;
    :func:`from_av` reads both forms)."""
    ddb = client("dynamodb")
    if raw_items:
        events = getattr(getattr(ddb, "meta", None), "events", None)
        if events is not None:
            events.register("before-parse.dynamodb.Scan", _raw_scan_page, unique_id="dunning-raw-scan-items")
    paginator = ddb.get_paginator("scan")
    with translated(f"Scan on {table}"):
        for page in _raw_pages(iter(paginator.paginate(TableName=table, **kwargs)), raw_items):
            yield from (from_av(i) for i in page.get("Items", []))


_raw_scan = threading.local()  # set while a raw_items Scan (or a query_raw) fetches its next page on this thread


def _raw_pages(pages: Iterator[Any], raw: bool) -> Iterator[Any]:
    while True:
        _raw_scan.on = raw
        try:
            page = next(pages, None)
        finally:
            _raw_scan.on = False
        if page is None:
            return
        yield page


def _raw_scan_page(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    """botocore's ``before-parse`` hook for a raw_items Scan page (or a query_raw page): the items go around the
    parser."""
    if not getattr(_raw_scan, "on", False) or response_dict.get("status_code") != 200:
        return
    body = json.loads(response_dict["body"])
    customized_response_dict["Items"] = body.pop("Items", [])
    response_dict["body"] = json.dumps(body).encode()
