"""Customer contacts: the one record through which letters, emails and collector activities happen."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dunning.models.common import Frozen, RecipientKind

ContactStatus = Literal["pending", "rendered", "sent", "printed", "failed", "suppressed", "open", "closed", "recorded"]
ContactSource = Literal["run", "user", "event", "rule", "plugin"]


def contact_id_for(*parts: str) -> str:
    """Deterministic contact id: the same inputs always give the same id, so a re-run creates nothing twice."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"c-{digest[:24]}"


class StatusChange(Frozen):
    status: ContactStatus
    at: datetime
    reason: str = ""


class EmailRecipient(Frozen):
    """The one recipient model: who an email contact goes to (kind, name, address), fixed when the contact is
    created and stored on it. :func:`dunning.contacts.recipients.resolve_email_recipient` chooses it for a run's
    email step; a user or event draft may name it, else the person's own address is used."""

    kind: RecipientKind = "customer"
    name: str = ""
    address: str = ""


class ActivityDetails(Frozen):
    """A collector activity (S2.10): linked to the lead invoice, due as-of + days to complete."""

    template_code: str
    name: str
    type: str
    purpose: str = ""
    details: str = ""
    due_on: date
    assigned_to: str = ""
    closed: bool = False


class ContactDraft(Frozen):
    """What a source asks for. :func:`dunning.contacts.prepare.prepare_contacts` validates and turns it
    into a :class:`Contact`; every source (user, system event, rule, plug-in, run) goes through it."""

    contact_class: str
    contact_type: str
    source: ContactSource
    source_ref: str  # event id, request id or run id: what caused it
    identity: tuple[str, ...]  # the parts the deterministic id is derived from
    person_id: str | None = None
    account_id: str | None = None
    premise_id: str | None = None
    invoice_id: str | None = None
    note: str = ""
    as_of: date | None = None
    template_code: str | None = None  # overrides the contact type's template (a step's document)
    action_override: Literal["letter", "email", "activity", "none"] | None = None
    recipient: EmailRecipient | None = None
    activity: ActivityDetails | None = None
    hierarchy_id: str | None = None
    step_id: str | None = None
    automated: bool = False
    reason: str = ""


class Contact(BaseModel):
    """A stored customer contact. Mutable only through status changes."""

    model_config = ConfigDict(extra="ignore")

    contact_id: str
    contact_class: str
    contact_type: str
    action: Literal["letter", "email", "activity", "none"]
    template_code: str | None = None
    language: str = "en"
    person_id: str | None = None
    account_id: str | None = None
    premise_id: str | None = None
    invoice_id: str | None = None
    source: ContactSource
    source_ref: str
    as_of: date | None = None
    created_at: datetime
    status: ContactStatus = "pending"
    history: list[StatusChange] = Field(default_factory=list)
    note: str = ""
    reason: str = ""
    recipient: EmailRecipient | None = None
    activity: ActivityDetails | None = None
    hierarchy_id: str | None = None
    step_id: str | None = None
    automated: bool = False
    s3_key: str | None = None
    ses_message_id: str | None = None
    pages: int | None = None
    printed_at: datetime | None = None
    # The collections run whose print extract takes this letter (set by the run for its printed letters,
    # found through the run's batch results); other letters go through the print queue index.
    print_run: str | None = None
    # Where the printed letter sits, set by the print extract that printed it: the merged PDF's key
    # (print/{as_of}/{run}/{language}-{NNN}.pdf, kept PrintRetentionDays) and the letter's first page in it
    # (1-based). Its pages are ``pages``; ``print_pages`` is set only when the PDF had another count. The print
    # file is the long-term record: after LetterRetentionDays the letter is cut out of it (app.letter_retrieval).
    print_file: str | None = None
    print_first_page: int | None = None
    print_pages: int | None = None
    # Epoch seconds after which DynamoDB's TTL deletes the item (created_at + ContactRetentionDays); the
    # deletion's stream record is archived to S3 (dunning.app.archive). Set by DynamoContactsRepository.create_new.
    ttl: int | None = None
    # Merge data captured when the contact was created (JSON: person, premise, account view), so the
    # letter or email shows the facts the decision was made on and needs no further reads to produce.
    snapshot: str | None = None

    @field_validator("snapshot", mode="before")
    @classmethod
    def _snapshot_from_binary(cls, value: Any) -> Any:
        """DynamoDB keeps the compressed snapshot as a Binary attribute (a third smaller than base64)."""
        raw = getattr(value, "value", value)
        if isinstance(raw, bytes | bytearray):
            return _COMPRESSED + base64.b64encode(bytes(raw)).decode("ascii")
        return value

    @property
    def type_key(self) -> str:
        return f"{self.contact_class}/{self.contact_type}"

    @property
    def print_page_count(self) -> int | None:
        """The letter's pages in its print file (None when no print file is recorded)."""
        if not self.print_file or not self.print_first_page:
            return None
        return self.print_pages or self.pages

    def snapshot_data(self) -> dict[str, Any] | None:
        if not self.snapshot:
            return None
        text = self.snapshot
        if text.startswith(_COMPRESSED):
            text = zlib.decompress(base64.b64decode(text[len(_COMPRESSED):])).decode("utf-8")
        data: dict[str, Any] = json.loads(text)
        return data


_COMPRESSED = "z1:"


def snapshot_bytes(snapshot: str) -> bytes | None:
    """The compressed bytes of a packed snapshot (how it is stored), or None for a plain JSON one."""
    return base64.b64decode(snapshot[len(_COMPRESSED):]) if snapshot.startswith(_COMPRESSED) else None


def pack_snapshot(text: str) -> str:
    """Compress a snapshot's JSON for storage (about a third of the size: contact items are written and
    indexed often, so their size is what a run costs)."""
    return _COMPRESSED + base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")
