"""DynamoDB write metering the way DynamoDB bills it, for the call counter.

A write consumes 1 WRU per started KB of the *larger* of the item before and after it (PutItem, UpdateItem,
DeleteItem, each BatchWriteItem request), and every global secondary index whose entry the write changes
costs its own write units: an entry added or removed is one index write, a changed index key is a delete
plus a put, a changed projected attribute is one update; an index the write does not touch costs nothing.
To know "before" and "after", the meter reads the items around each write with the *uncounted* client call
(the benchmark's reads, not the handler's), and the table's key schema and indexes with DescribeTable.

Sizes follow DynamoDB's item-size rules: attribute names plus values (strings and binaries by length,
numbers ~1 byte per two digits + 1, lists and maps 3 bytes + 1 per element). Stored bytes add DynamoDB's
100 bytes of overhead per item and per index entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ITEM_OVERHEAD = 100  # bytes DynamoDB adds per item (and per index entry) for storage


def value_size(v: dict[str, Any]) -> int:
    (t, x), = v.items()
    if t == "S":
        return len(x.encode("utf-8"))
    if t == "N":
        digits = len(str(x).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if t == "B":
        return len(x) if isinstance(x, bytes | bytearray) else len(str(x))
    if t in ("BOOL", "NULL"):
        return 1
    if t == "L":
        return 3 + sum(value_size(e) + 1 for e in x)
    if t == "M":
        return 3 + sum(len(k.encode()) + value_size(e) + 1 for k, e in x.items())
    if t in ("SS", "NS", "BS"):
        return sum(value_size({t[0]: e}) for e in x)
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(k.encode("utf-8")) + value_size(v) for k, v in item.items())


def units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]  # the index's key attributes
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.keys if k in item}

    def entry(self, item: dict[str, Any] | None, index: Index) -> dict[str, Any] | None:
        """The index entry an item has (None: the item is not in this sparse index)."""
        if not item or any(k not in item for k in index.keys):
            return None
        if index.projection == "ALL":
            return dict(item)
        names = set(self.keys) | set(index.keys) | (set(index.include) if index.projection == "INCLUDE" else set())
        return {k: v for k, v in item.items() if k in names}


def describe(table: dict[str, Any]) -> TableShape:
    keys = tuple(k["AttributeName"] for k in table["KeySchema"])
    indexes = tuple(
        Index(name=i["IndexName"], keys=tuple(k["AttributeName"] for k in i["KeySchema"]),
              projection=i["Projection"]["ProjectionType"], include=tuple(i["Projection"].get("NonKeyAttributes", [])))
        for i in table.get("GlobalSecondaryIndexes", []))
    return TableShape(keys, indexes)


def write_units(shape: TableShape, before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[int, int]:
    """(base-table WRU, index WRU) of one item write."""
    base = units(max(item_size(before), item_size(after)))
    gsi = 0
    for index in shape.indexes:
        old, new = shape.entry(before, index), shape.entry(after, index)
        if old is None and new is None:
            continue
        if old is None or new is None:
            gsi += units(item_size(old or new))
        elif any(old.get(k) != new.get(k) for k in index.keys):
            gsi += units(item_size(old)) + units(item_size(new))
        elif old != new:
            gsi += units(max(item_size(old), item_size(new)))
    return base, gsi


def stored_bytes(shape: TableShape, items: list[dict[str, Any]]) -> int:
    """What ``items`` occupy in the table and its indexes (billed storage)."""
    total = 0
    for item in items:
        total += item_size(item) + ITEM_OVERHEAD
        for index in shape.indexes:
            entry = shape.entry(item, index)
            if entry is not None:
                total += item_size(entry) + ITEM_OVERHEAD
    return total


class Meter:
    """Meters the DynamoDB writes of handler calls. ``raw(operation, params)`` is the uncounted API call of
    the client that makes the write (so the reads around it are the benchmark's, not the handler's)."""

    WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")

    def __init__(self) -> None:
        self.shapes: dict[str, TableShape] = {}

    def shape(self, table: str, raw: Callable[[str, dict[str, Any]], Any]) -> TableShape:
        if table not in self.shapes:
            self.shapes[table] = describe(raw("DescribeTable", {"TableName": table})["Table"])
        return self.shapes[table]

    def before(self, operation: str, params: dict[str, Any], raw: Callable[[str, dict[str, Any]], Any]
               ) -> list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]]:
        """(table, key, item before, item after if known from the request) for each item the call writes."""
        out: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]] = []
        if operation == "BatchWriteItem":
            for table, reqs in params.get("RequestItems", {}).items():
                shape = self.shape(table, raw)
                for r in reqs:
                    if "PutRequest" in r:
                        item = r["PutRequest"]["Item"]
                        out.append((table, shape.key_of(item), None, item))
                    else:
                        out.append((table, r["DeleteRequest"]["Key"], None, None))
            by_table: dict[str, list[dict[str, Any]]] = {}
            for table, key, _, _ in out:
                by_table.setdefault(table, []).append(key)
            found: dict[tuple[str, str], dict[str, Any]] = {}
            for table, keys in by_table.items():
                unique = list({repr(sorted(k.items())): k for k in keys}.values())
                for start in range(0, len(unique), 100):
                    resp = raw("BatchGetItem", {"RequestItems": {table: {"Keys": unique[start:start + 100],
                                                                         "ConsistentRead": True}}})
                    for it in resp.get("Responses", {}).get(table, []):
                        found[(table, repr(sorted(self.shapes[table].key_of(it).items())))] = it
            return [(t, k, found.get((t, repr(sorted(k.items())))), a) for t, k, _, a in out]
        table = params["TableName"]
        shape = self.shape(table, raw)
        key = params.get("Key") or shape.key_of(params.get("Item", {}))
        old = raw("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get("Item")
        return [(table, key, old, params.get("Item") if operation == "PutItem" else None)]

    def after(self, operation: str, planned: list[tuple[str, dict[str, Any], dict[str, Any] | None,
                                                         dict[str, Any] | None]],
              raw: Callable[[str, dict[str, Any]], Any]) -> tuple[int, int]:
        """(base WRU, index WRU) of the call, from the items before and after it."""
        base = gsi = 0
        for table, key, old, new in planned:
            if operation == "UpdateItem":
                new = raw("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get("Item")
            b, g = write_units(self.shapes[table], old, new)
            base, gsi = base + b, gsi + g
        return base, gsi

