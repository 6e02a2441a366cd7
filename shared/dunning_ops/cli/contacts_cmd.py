"""``dunning contacts``: list contacts (live and archived) and create one for a user request."""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime

from dunning.app.archive import archived_contacts
from dunning.app.event_contacts import create_contacts_for_event
from dunning.models.events import EventValidationError, parse_event
from dunning_ops.cli.common import (
    CliError,
    Repositories,
    Subparsers,
    add_command,
    add_group,
    iso_date,
    repos,
    target,
)
from dunning_ops.cli.output import emit, fail, table


def cmd_contacts_list(args: argparse.Namespace) -> int:
    r = repos(target(args))
    contacts = r.contacts.by_account(args.account) if args.account else list(r.contacts.all())
    contacts.sort(key=lambda c: (c.created_at, c.contact_id))
    if args.json:
        print(json.dumps([c.model_dump(mode="json") for c in contacts], indent=2, ensure_ascii=False))
        return 0
    rows = [{"contact_id": c.contact_id, "type": c.type_key, "action": c.action, "status": c.status,
             "account": c.account_id or "", "person": c.person_id or "", "premise": c.premise_id or "",
             "template": c.template_code or "", "as_of": c.as_of or "", "reason": c.reason} for c in contacts]
    print(table(rows, list(rows[0]) if rows else [], width={"reason": 40}) if rows else "no contacts")
    return 0


def cmd_contacts_archived(args: argparse.Namespace) -> int:
    contacts = archived_contacts(repos(target(args)).blobs, args.account, args.since)
    if args.json:
        print(json.dumps([c.model_dump(mode="json", exclude_none=True) for c in contacts], indent=2,
                         ensure_ascii=False))
        return 0
    rows = [{"contact_id": c.contact_id, "type": c.type_key, "action": c.action, "status": c.status,
             "created_at": c.created_at.isoformat(timespec="seconds"), "person": c.person_id or "",
             "template": c.template_code or "", "as_of": c.as_of or "", "reason": c.reason} for c in contacts]
    print(table(rows, list(rows[0]), width={"reason": 40}) if rows else f"no archived contacts of {args.account}")
    return 0


def cmd_contacts_create(args: argparse.Namespace) -> int:
    if "/" not in args.type:
        return fail("--type must be CLASS/TYPE, e.g. CUSTSVC/AUTOPAY_FORM")
    contact_class, contact_type = args.type.split("/", 1)
    request_id = args.request_id or f"cli-{uuid.uuid4().hex[:12]}"
    data = {"request_id": request_id, "person_id": args.person, "contact_class": contact_class,
            "contact_type": contact_type, "account_id": args.account, "premise_id": args.premise,
            "note": args.note or ""}
    try:
        event = parse_event({"event_id": request_id, "event_type": "contact.requested",
                             "occurred_at": datetime.now(UTC).isoformat(), "source": "cli",
                             "data": {k: v for k, v in data.items() if v is not None}})
    except EventValidationError as exc:
        return fail(str(exc))
    r = repos(target(args))
    _check_ids(r, args.person, args.account)
    outcome = create_contacts_for_event(event, r.blobs.config(), r.ledger, r.contacts)
    if outcome.rejected_reason:
        return fail(outcome.rejected_reason)
    emit(args, {"created": outcome.created, "existing": outcome.existing, "contact_ids": outcome.contact_ids,
                "request_id": request_id},
         lambda d: f"created {d['created']} contact(s) for request {d['request_id']}"
         + (f" ({d['existing']} already existed)" if d["existing"] else "")
         + "".join(f"\n{contact_id}" for contact_id in d["contact_ids"]))
    return 0


def _check_ids(r: Repositories, person_id: str | None, account_id: str | None) -> None:
    """Unknown ids are errors, before anything is created: the person, the account, and the person on it."""
    if person_id and person_id not in r.ledger.persons([person_id]):
        raise CliError(f"unknown person {person_id!r}: no person.upserted event for it was applied")
    if account_id:
        account = r.ledger.account(account_id)
        if account is None:
            raise CliError(f"unknown account {account_id!r}: no account.upserted event for it was applied")
        on_account = [p.person_id for p in account.all_persons()]
        if person_id and person_id not in on_account:
            raise CliError(f"person {person_id!r} is not on account {account_id!r} "
                           f"(its persons: {', '.join(on_account)})")


def register(sub: Subparsers) -> None:
    contacts = add_group(sub, "contacts", "customer contacts")
    ls = add_command(contacts, "list", cmd_contacts_list, "list contacts")
    ls.add_argument("--account")
    archived = add_command(contacts, "archived", cmd_contacts_archived, "list an account's archived contacts "
                           "(deleted from the table after ContactRetentionDays, kept in S3)")
    archived.add_argument("--account", required=True)
    archived.add_argument("--since", type=iso_date, default=None, help="only contacts created on or after this date")
    create = add_command(contacts, "create", cmd_contacts_create, "create a contact for a person (a user request)")
    create.add_argument("--person", required=False)
    create.add_argument("--type", required=True, help="CLASS/TYPE, e.g. CUSTSVC/AUTOPAY_FORM")
    create.add_argument("--account")
    create.add_argument("--premise")
    create.add_argument("--note")
    create.add_argument("--request-id", help="idempotency key (default: random)")
