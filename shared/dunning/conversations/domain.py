"""Pure helpers of conversations: contact keys, message ids, the ledger's contact fields, the sheet CSV."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from dunning.models.accounts import AccountView
from dunning.models.conversations import SheetRow

_DIGITS = re.compile(r"\D+")


def new_conversation_id() -> str:
    return uuid.uuid4().hex


def continued_id(conversation_id: str, client_message_id: str) -> str:
    """The id of the conversation a message after close opens: derived from the message, so processing the same
    message again finds it instead of opening another."""
    return hashlib.sha256(f"continued:{conversation_id}:{client_message_id}".encode()).hexdigest()[:32]


def contact_key(email: str | None, phone: str | None, account_id: str | None, conversation_id: str) -> str:
    """``email:{lower}`` | ``phone:{digits}`` | ``account:{id}`` | ``anon:{conversation_id}``."""
    if email and email.strip():
        return f"email:{email.strip().lower()}"
    digits = _DIGITS.sub("", phone or "")
    if digits:
        return f"phone:{digits}"
    if account_id and account_id.strip():
        return f"account:{account_id.strip()}"
    return f"anon:{conversation_id}"


def inbound_message_id(conversation_id: str, client_message_id: str) -> str:
    return f"chat:{conversation_id}:{client_message_id}"


def bot_message_id(conversation_id: str, seq: int, index: int) -> str:
    return f"bot:{conversation_id}:{seq}:{index}"


def ask_message_id(conversation_id: str, seq: int) -> str:
    return f"ask:{conversation_id}:{seq}"


def route_message_id(conversation_id: str, seq: int) -> str:
    return f"route:{conversation_id}:{seq}"


def dedupe_id(client_message_id: str) -> str:
    """The FIFO dedupe id of a customer message (at most 128 characters, whatever the client sent)."""
    return hashlib.sha256(client_message_id.encode()).hexdigest()


def ledger_fields(view: AccountView) -> dict[str, Any]:
    """The contact fields an account fills: account_id, balance, currency and its oldest open invoice."""
    out: dict[str, Any] = {"account_id": view.account_id, "balance": str(view.open_balance),
                           "currency": view.currency}
    open_invoices = view.open_invoices
    if open_invoices:
        lead = open_invoices[0]
        out.update(lead_invoice=lead.invoice_id, lead_invoice_amount=str(lead.open_amount),
                   lead_invoice_due=lead.due_date.isoformat())
    return out


def sheet_sk(at: datetime, conversation_id: str, seq: int, index: int = 0) -> str:
    return f"{at.isoformat()}#{conversation_id}#{seq:06d}{f'.{index}' if index else ''}"


def sheet_csv(rows: Iterable[SheetRow]) -> tuple[str, int]:
    """The rows as CSV: ``at``, ``conversation_id`` and then the union of every row's columns (first seen
    first); a missing cell is empty. Cells that a spreadsheet would run as a formula are quoted with a ``'``."""
    listed = list(rows)
    columns: list[str] = []
    for row in listed:
        for name in row.columns:
            if name not in columns:
                columns.append(name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["at", "conversation_id", *columns])
    for row in listed:
        writer.writerow([row.at.isoformat(), row.conversation_id,
                         *(_cell(row.columns.get(c, "")) for c in columns)])
    return out.getvalue(), len(listed)


def _cell(value: str) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
