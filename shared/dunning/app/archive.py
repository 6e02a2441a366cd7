"""Contacts past their retention, kept in S3.

DynamoDB is the working store: every contact item carries a ``ttl`` (created_at + ``ContactRetentionDays``, set
by :meth:`dunning.store.contacts.ContactStore.create_new`) after which DynamoDB's TTL deletes it. Each such
deletion is a ``REMOVE`` record on the contacts stream whose ``userIdentity`` names the DynamoDB service; the
archive function's filter selects only those (a delete made by a user or by code is not archived). The records
of one invocation (up to 1,000) become ONE gzip JSON-lines object in the runs bucket::

    archive/contacts/{yyyy}/{mm}/{dd}/{first sequence number}-{last sequence number}.jsonl.gz

one line per contact: the contact's JSON (:class:`~dunning.models.contacts.Contact`) without its merge
snapshot. The date is the first record's ``ApproximateCreationDateTime`` (when it expired) and the numbers are
the first and last of the batch as delivered, so a retried batch overwrites the same object with the same bytes.
A batch retried from a record that could not be read (a partial failure) is delivered again from that record:
its later contacts may then be archived twice, in two objects - readers keep one line per contact id.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from dunning.concurrency import map_in_context
from dunning.models.contacts import Contact
from dunning.store.blobs import BlobStore
from dunning.store.dynamo import from_av

PREFIX = "archive/contacts/"
# The userIdentity DynamoDB puts on the stream records of the items its TTL process deletes.
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
GZIP_LEVEL = 6
_DROPPED = frozenset({"snapshot"})  # merge data for producing a letter or email: not kept in the archive


class NotArchivable(ValueError):
    """A stream record that should be a contact's TTL deletion but cannot be read as one."""


def is_ttl_deletion(record: Mapping[str, Any]) -> bool:
    identity = record.get("userIdentity") or {}
    return bool(record.get("eventName") == "REMOVE" and identity.get("type") == TTL_IDENTITY["type"]
                and identity.get("principalId") == TTL_IDENTITY["principalId"])


def archived_contact(record: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON line kept for one TTL deletion: the old image as a validated contact, without its snapshot."""
    image = (record.get("dynamodb") or {}).get("OldImage")
    if not isinstance(image, dict) or not image:
        raise NotArchivable("REMOVE record without an OldImage (the stream must be NEW_AND_OLD_IMAGES)")
    try:
        contact = Contact.model_validate(from_av({k: v for k, v in image.items() if k not in _DROPPED}))
    except ValidationError as exc:  # field names and error types only: the values may be personal data
        where = ", ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in exc.errors(include_input=False))
        raise NotArchivable(f"old image is not a contact ({where})") from None
    except (TypeError, ValueError, KeyError) as exc:  # not a DynamoDB attribute value
        raise NotArchivable(f"old image is not a contact: {type(exc).__name__}") from None
    data: dict[str, Any] = contact.model_dump(mode="json", exclude_none=True, exclude=set(_DROPPED))
    return data


def archive_key(first_sequence: str, last_sequence: str, expired_at: datetime) -> str:
    day = expired_at.astimezone(UTC)
    return f"{PREFIX}{day:%Y/%m/%d}/{first_sequence}-{last_sequence}.jsonl.gz"


def encode_lines(lines: Iterable[dict[str, Any]]) -> bytes:
    """gzip JSON lines with a fixed header time, so the same contacts always give the same bytes."""
    text = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
    return gzip.compress(text.encode("utf-8"), compresslevel=GZIP_LEVEL, mtime=0)


def decode_lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(body).decode("utf-8").splitlines() if line.strip()]


def _record_time(record: Mapping[str, Any]) -> datetime:
    value = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return value
    return datetime.now(UTC)  # Lambda always sets it; only a hand-written event lacks it


class ArchiveResult(BaseModel):
    """One archived stream batch: the object written (none when the batch held no TTL deletion) and its counts."""

    key: str | None = None
    contacts: int = 0
    ignored: int = 0
    bytes: int = 0

    def describe(self) -> dict[str, Any]:
        """Counts and the object key: nothing personal, fit for a log line."""
        return {"key": self.key, "archived": self.contacts, "ignored": self.ignored, "bytes": self.bytes}


@dataclass
class ArchiveBatch:
    """The contacts of one stream batch, collected record by record and written once."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    ignored: int = 0

    def add(self, record: Mapping[str, Any]) -> None:
        """Collect one record; raises :class:`NotArchivable` for a TTL deletion that cannot be read."""
        if not is_ttl_deletion(record):
            self.ignored += 1  # the filter lets none through; a hand-made event might
            return
        self.lines.append(archived_contact(record))

    def write(self, blobs: BlobStore, records: list[dict[str, Any]]) -> ArchiveResult:
        """One PUT of every collected contact, keyed by the delivered batch; a failure raises (StoreError) so
        that the whole batch is delivered again."""
        result = ArchiveResult(contacts=len(self.lines), ignored=self.ignored)
        if not self.lines or not records:
            return result
        first, last = records[0], records[-1]
        key = archive_key(str(first["dynamodb"]["SequenceNumber"]), str(last["dynamodb"]["SequenceNumber"]),
                          _record_time(first))
        body = encode_lines(self.lines)
        blobs.put_bytes(key, body, "application/x-ndjson", metadata={"contacts": str(len(self.lines))})
        result.key, result.bytes = key, len(body)
        return result


# ---------------------------------------------------------------------------------------------- reading
def _key_day(key: str) -> date | None:
    parts = key[len(PREFIX):].split("/")
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except (IndexError, ValueError):
        return None


def archived_contacts(blobs: BlobStore, account_id: str, since: date | None = None,
                      workers: int = 8) -> list[Contact]:
    """An account's archived contacts (created on or after ``since``), one per contact id, oldest first.

    A contact expires after it was created, so objects written before ``since`` are not read at all.
    """
    keys = [k for k in blobs.keys(PREFIX) if k.endswith(".jsonl.gz")]
    if since is not None:
        keys = [k for k in keys if (_key_day(k) or since) >= since]

    def read(key: str) -> list[dict[str, Any]]:
        return [line for line in decode_lines(blobs.get_bytes(key)) if line.get("account_id") == account_id]

    found: dict[str, Contact] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for lines in map_in_context(pool, read, sorted(keys)):  # the caller's context on each thread
            for line in lines:
                contact = Contact.model_validate(line)
                if since is None or contact.created_at.astimezone(UTC).date() >= since:
                    found[contact.contact_id] = contact
    return sorted(found.values(), key=lambda c: (c.created_at, c.contact_id))
