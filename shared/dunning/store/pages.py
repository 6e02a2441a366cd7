"""Paged reads for the API and the console: one page per call, the position kept in an opaque ``next`` token.

A token is the page's continuation (a DynamoDB ``LastEvaluatedKey``, an S3 key, a sort key) as base64url
JSON. It carries keys only, never personal data, and a token that does not decode is a :class:`BadPageToken`
(the API answers 400). Nothing here reads more than one page ahead.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from dunning.aws import client
from dunning.errors import StoreError
from dunning.models.contacts import Contact
from dunning.store import dynamo
from dunning.store.contacts import item_contact


class BadPageToken(ValueError):
    """A ``next`` token this service did not hand out (or from another list)."""


def encode_token(kind: str, position: Any) -> str:
    raw = json.dumps({"k": kind, "p": position}, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(kind: str, token: str | None) -> Any:
    """The position in ``token`` (None for the first page)."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadPageToken("the next token is not valid") from exc
    if not isinstance(data, dict) or data.get("k") != kind or "p" not in data:
        raise BadPageToken("the next token belongs to another list")
    return data["p"]


@dataclass
class RawPage:
    items: list[dict[str, Any]]
    next: str | None = None


@dataclass
class ContactPage:
    contacts: list[Contact] = field(default_factory=list)
    next: str | None = None


def _string_key(key: dict[str, Any]) -> dict[str, str]:
    """A DynamoDB key whose attributes are all strings (every key of these tables), as plain JSON."""
    out = {}
    for name, av in key.items():
        if set(av) != {"S"}:
            raise BadPageToken("the next token is not valid")
        out[name] = av["S"]
    return out


def _start_key(position: Any, names: tuple[str, ...]) -> dict[str, Any] | None:
    if position is None:
        return None
    if not isinstance(position, dict) or set(position) != set(names) or \
            not all(isinstance(v, str) for v in position.values()):
        raise BadPageToken("the next token is not valid")
    return {k: {"S": v} for k, v in position.items()}


def _page(op: str, table: str, kind: str, key_names: tuple[str, ...], token: str | None, limit: int,
          **kwargs: Any) -> tuple[list[dict[str, Any]], str | None]:
    """One Query/Scan page of at most ``limit`` items (a filtered read may need a few calls to fill it)."""
    start = _start_key(decode_token(kind, token), key_names)
    ddb = client("dynamodb")
    items: list[dict[str, Any]] = []
    while True:
        params = {"TableName": table, "Limit": limit - len(items), **kwargs}
        if start:
            params["ExclusiveStartKey"] = start
        try:
            resp = getattr(ddb, op)(**params)
        except ClientError as exc:
            raise StoreError(f"{op} on {table} failed: {exc}") from exc
        items.extend(dynamo.from_av(i) for i in resp.get("Items", []))
        start = resp.get("LastEvaluatedKey")
        if not start or len(items) >= limit:
            break
    return items, (encode_token(kind, _string_key(start)) if start else None)


class PagedReads:
    """The API's lists over the stack's tables and buckets."""

    def __init__(self, *, contacts_table: str, ledger_table: str, runs_table: str, runs_bucket: str) -> None:
        self.contacts_table = contacts_table
        self.ledger_table = ledger_table
        self.runs_table = runs_table
        self.runs_bucket = runs_bucket

    # ------------------------------------------------------------------ contacts
    def account_contacts(self, account_id: str, limit: int, token: str | None) -> ContactPage:
        """An account's contacts, newest first: the KEYS_ONLY ``by_account`` index, then the full items."""
        keys, nxt = _page("query", self.contacts_table, f"acct-contacts:{account_id}",
                          ("contact_id", "account_id", "created_at"), token, limit, IndexName="by_account",
                          KeyConditionExpression="account_id = :a", ScanIndexForward=False,
                          ExpressionAttributeValues={":a": {"S": account_id}})
        return ContactPage(self._full([k["contact_id"] for k in keys]), nxt)

    def contacts(self, limit: int, token: str | None) -> ContactPage:
        """Every contact, a page at a time (Scan order)."""
        items, nxt = _page("scan", self.contacts_table, "contacts", ("contact_id",), token, limit)
        return ContactPage([item_contact(i) for i in items], nxt)

    def _full(self, ids: list[str]) -> list[Contact]:
        found = {i["contact_id"]: item_contact(i)
                 for i in dynamo.batch_get(self.contacts_table, [{"contact_id": c} for c in ids])}
        return [found[c] for c in ids if c in found]

    # ------------------------------------------------------------------ runs
    def runs(self, limit: int, token: str | None) -> RawPage:
        """Run records, newest first. Runs are one a day, so their records are read whole (a projected,
        filtered Scan of the runs table) and paged by (started_at, run_id)."""
        after = decode_token("runs", token)
        if after is not None and not (isinstance(after, list) and len(after) == 2
                                      and all(isinstance(v, str) for v in after)):
            raise BadPageToken("the next token is not valid")
        records = list(dynamo.scan(self.runs_table, FilterExpression="sk = :r",
                                   ExpressionAttributeValues={":r": {"S": "RUN"}}))
        records.sort(key=lambda r: (str(r.get("started_at", "")), str(r.get("run_id", ""))), reverse=True)
        if after is not None:
            records = [r for r in records if (str(r.get("started_at", "")), str(r.get("run_id", ""))) < tuple(after)]
        page = records[:limit]
        nxt = None
        if len(records) > limit:
            last = page[-1]
            nxt = encode_token("runs", [str(last.get("started_at", "")), str(last.get("run_id", ""))])
        return RawPage(page, nxt)

    # ------------------------------------------------------------------ rejected events
    def rejected(self, limit: int, token: str | None) -> RawPage:
        """Rejected events (``rejected/{date}/{message}.json`` in the runs bucket), oldest first."""
        after = decode_token("rejected", token)
        if after is not None and not (isinstance(after, str) and after.startswith("rejected/")):
            raise BadPageToken("the next token is not valid")
        params: dict[str, Any] = {"Bucket": self.runs_bucket, "Prefix": "rejected/", "MaxKeys": limit}
        if after:
            params["StartAfter"] = after
        s3 = client("s3")
        try:
            resp = s3.list_objects_v2(**params)
            keys = [o["Key"] for o in resp.get("Contents", [])]
            items = [json.loads(s3.get_object(Bucket=self.runs_bucket, Key=k)["Body"].read()) for k in keys]
        except ClientError as exc:
            raise StoreError(f"reading rejected events in {self.runs_bucket} failed: {exc}") from exc
        return RawPage(items, encode_token("rejected", keys[-1]) if keys and resp.get("IsTruncated") else None)

    # ------------------------------------------------------------------ accounts (whole-book simulation)
    def account_items_page(self, limit: int, token: str | None) -> tuple[list[tuple[str, list[dict[str, Any]]]],
                                                                          str | None]:
        """At most ``limit`` whole accounts' ledger items, in Scan order. An account's items are contiguous in a
        Scan, so a page ends after the last item of its last complete account and the next page resumes there."""
        start = _start_key(decode_token("ledger-accounts", token), ("pk", "sk"))
        groups: list[tuple[str, list[dict[str, Any]]]] = []
        pending: list[dict[str, Any]] = []
        last_complete: dict[str, str] | None = None
        for item, more in self._scan_accounts(start):
            if pending and item["pk"] != pending[0]["pk"]:
                groups.append((pending[0]["pk"][5:], pending))
                last_complete = {"pk": pending[-1]["pk"], "sk": pending[-1]["sk"]}
                pending = []
                if len(groups) >= limit:
                    return groups, encode_token("ledger-accounts", last_complete)
            pending.append(item)
            if not more:
                break
        if pending:
            groups.append((pending[0]["pk"][5:], pending))
        return groups, None

    def _scan_accounts(self, start: dict[str, Any] | None) -> Iterator[tuple[dict[str, Any], bool]]:
        ddb = client("dynamodb")
        while True:
            params: dict[str, Any] = {"TableName": self.ledger_table, "FilterExpression": "begins_with(pk, :a)",
                                      "ExpressionAttributeValues": {":a": {"S": "ACCT#"}}}
            if start:
                params["ExclusiveStartKey"] = start
            try:
                resp = ddb.scan(**params)
            except ClientError as exc:
                raise StoreError(f"Scan on {self.ledger_table} failed: {exc}") from exc
            start = resp.get("LastEvaluatedKey")
            items = [dynamo.from_av(i) for i in resp.get("Items", [])]
            for n, item in enumerate(items):
                yield item, bool(start) or n < len(items) - 1
            if not start:
                return
