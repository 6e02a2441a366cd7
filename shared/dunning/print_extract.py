"""The print extract: letters waiting to be printed, merged per language with a CSV manifest for the
print vendor, stored under ``print/{as_of}/{run}/`` in the letters bucket; the letters are marked printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from dunning.models.contacts import Contact, StatusChange
from dunning.observability import logger
from dunning.store import dynamo
from dunning.store.blobs import Blobs
from dunning.store.contacts import ContactsRepository, contact_item
from dunning.store.ledger import LedgerRepository


@dataclass
class ExtractDeps:
    contacts: ContactsRepository
    letters: Blobs
    ledger: LedgerRepository


def recipient_of(contact: Contact, ledger: LedgerRepository, persons: dict[str, Any]) -> tuple[str, list[str]]:
    snap = contact.snapshot_data()
    person = snap.get("person") if snap else None
    if person is None and contact.person_id in persons:
        person = persons[contact.person_id].model_dump(mode="json")
    if not person:
        return "", []
    from dunning.models.common import Address

    return person.get("name", ""), Address.model_validate(person.get("address") or {}).as_lines()


def run_print_extract(deps: ExtractDeps, *, as_of: date, run_id: str | None = None,
                      now: datetime | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Extract every rendered letter waiting for print. Safe to repeat: printed letters leave the queue."""
    from dunning.letters.extract import PrintItem, build_print_extract

    now = now or datetime.now(UTC)
    queue = sorted(deps.contacts.print_queue(), key=lambda c: (c.language, c.created_at, c.contact_id))
    if not queue:
        return {"letters": 0, "files": [], "prefix": None}
    missing = {c.person_id for c in queue if c.person_id and not c.snapshot}
    persons = deps.ledger.persons(missing) if missing else {}
    items = []
    for i, c in enumerate(queue):
        name, lines = recipient_of(c, deps.ledger, persons)
        items.append(PrintItem(contact_id=c.contact_id, language=c.language, template_code=c.template_code or "",
                               recipient_name=name, address_lines=lines, pdf=deps.letters.get_bytes(c.s3_key or ""),
                               pages=c.pages or 0))
        if progress and (i + 1) % 500 == 0:
            progress(f"  {i + 1}/{len(queue)} letters read")
    files = build_print_extract(items)
    prefix = f"print/{as_of.isoformat()}/{run_id or 'manual-' + now.strftime('%Y%m%dT%H%M%S')}/"
    for f in files:
        deps.letters.put_bytes(prefix + f.name, f.content, f.content_type)
    printed = []
    for c in queue:
        change = StatusChange(status="printed", at=now, reason=f"print extract {prefix}")
        printed.append(c.model_copy(update={"status": "printed", "printed_at": now,
                                            "history": [*c.history, change]}))
    # whole-item puts, 25 per call: the queue read returned the full items, and a rendered letter changes
    # only through this extract (a reprint puts it back in the queue)
    dynamo.batch_write(deps.contacts.table, (contact_item(c) for c in printed))
    logger.info("print extract written", extra={"letters": len(items), "files": len(files), "prefix": prefix})
    return {"letters": len(items), "files": [prefix + f.name for f in files], "prefix": prefix}


class PrintExtractInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    as_of: date
    attempt: int = 0


def extract_when_ready(payload: PrintExtractInput, deps: ExtractDeps, max_attempts: int,
                       wait_seconds: int = 60, poll_for: float = 0.0,
                       sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Build the extract once none of the run's letters is still waiting to be rendered (the stream renders
    them). The function itself re-checks every ``wait_seconds`` for up to ``poll_for`` seconds, so the state
    machine loops (three transitions a round) only for runs whose letters take longer than that; after
    ``max_attempts`` rounds it extracts what is ready - the rest goes into the next extract."""
    deadline = time.monotonic() + poll_for
    pending = deps.contacts.pending_letters_of(payload.run_id)
    while pending and time.monotonic() + wait_seconds < deadline:
        sleep(wait_seconds)
        pending = deps.contacts.pending_letters_of(payload.run_id)
    attempt = payload.attempt + 1
    base = {"attempt": attempt, "pending_letters": pending, "wait_seconds": wait_seconds}
    if pending and attempt < max_attempts:
        return {"ready": False, "letters": 0, "files": [], "prefix": None, **base}
    result = run_print_extract(deps, as_of=payload.as_of, run_id=payload.run_id)
    return {"ready": True, **base, **result}
