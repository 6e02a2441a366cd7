"""``dunning letters``: download a letter or link to it (restoring its print file when archived), render one
again for printing, and build the print extract."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from dunning.app.letter_delivery import reprint_letter
from dunning.app.letter_retrieval import (
    RESTORE_DAYS,
    LetterError,
    RestoreNeeded,
    find_letter_contact,
    letter_link,
    letter_pdf,
)
from dunning.app.print_extract import run_print_extract
from dunning.models.contacts import Contact
from dunning_ops.cli.common import Repositories, Subparsers, add_command, add_group, iso_date, repos, target
from dunning_ops.cli.output import emit, fail


def _letter_contact(args: argparse.Namespace, r: Repositories) -> Contact:
    return find_letter_contact(r.contacts, r.blobs, args.contact_id, args.account)


def _restore_print_file(args: argparse.Namespace, r: Repositories, needed: RestoreNeeded) -> int:
    """A letter only in a print file in Deep Archive: ask for a restore with --restore, else say how."""
    if not args.restore:
        return fail(f"{needed}" + ("" if needed.in_progress else
                                   f"; run again with --restore to restore it for {RESTORE_DAYS} days, then once "
                                   "more when it is ready"))
    started = r.letters.restore(needed.key, RESTORE_DAYS, args.tier)
    emit(args, {"contact_id": args.contact_id, "restore": "requested" if started else "in progress",
                "print_file": f"s3://{r.letters.bucket}/{needed.key}", "tier": args.tier, "days": RESTORE_DAYS},
         lambda d: f"the letter of {d['contact_id']} is in {d['print_file']} ({needed.storage_class}): restore "
         + ("requested" if started else "already in progress")
         + f" ({d['tier']}: {'within 12 hours' if d['tier'] == 'Standard' else 'within 48 hours'}, readable for "
         f"{d['days']} days); run this command again then - nothing is written yet")
    return 0


def cmd_letters_get(args: argparse.Namespace) -> int:
    r = repos(target(args))
    try:
        letter = letter_pdf(_letter_contact(args, r), r.letters)
    except RestoreNeeded as exc:
        return _restore_print_file(args, r, exc)
    except LetterError as exc:
        return fail(str(exc))
    Path(args.output).write_bytes(letter.pdf)
    emit(args, {"contact_id": letter.contact_id, "output": args.output, "pages": letter.pages,
                "source": letter.source, "key": f"s3://{r.letters.bucket}/{letter.key}"},
         lambda d: f"wrote {d['output']} ({d['pages']} page(s))" + (
             "" if d["source"] == "letter" else
             f", cut out of its print file {d['key']}" if d["source"] == "print" else
             f", from {d['key']} (cut out of its print file earlier): its own PDF has expired"))
    return 0


def cmd_letters_url(args: argparse.Namespace) -> int:
    r = repos(target(args))
    try:
        link = letter_link(_letter_contact(args, r), r.letters, args.expires)
    except RestoreNeeded as exc:
        return _restore_print_file(args, r, exc)
    except LetterError as exc:
        return fail(str(exc))
    emit(args, {"url": link.url, "expires_in": args.expires, "key": link.key, "source": link.source},
         lambda d: d["url"] if d["source"] == "letter" else
         f"{d['url']}\n(its own PDF has expired: this links to a copy cut out of its print file, {d['key']})")
    return 0


def cmd_letters_reprint(args: argparse.Namespace) -> int:
    r = repos(target(args))
    contact = r.contacts.get(args.contact_id)
    if contact is None or contact.action != "letter":
        return fail(f"no letter contact {args.contact_id}")
    result = reprint_letter(contact, r.letter_deps()).to_record()
    emit(args, result,
         lambda d: f"reprinted {d['contact_id']} -> {d.get('s3_key')} (queued for the next print extract)")
    return 0 if result.get("status") == "rendered" else 1


def cmd_letters_extract(args: argparse.Namespace) -> int:
    r = repos(target(args))
    result = run_print_extract(r.extract_deps(), as_of=args.as_of or datetime.now(UTC).date(),
                               progress=lambda m: print(m, file=sys.stderr)).model_dump(mode="json")
    emit(args, result, lambda d: f"print extract: {d['letters']} letter(s) in {len(d['files'])} file(s)"
         + "".join(f"\n  s3://{r.letters.bucket}/{f}" for f in d["files"]))
    return 0


def register(sub: Subparsers) -> None:
    letters = add_group(sub, "letters", "letters")
    get = add_command(letters, "get", cmd_letters_get,
                      "download a contact's letter PDF (after LetterRetentionDays: cut out of its print file)")
    get.add_argument("contact_id")
    get.add_argument("-o", "--output", required=True)
    url = add_command(letters, "url", cmd_letters_url, "a time-limited link to view a letter online (after "
                      "LetterRetentionDays: to a copy cut out of its print file, under letters/retrieved/)")
    url.add_argument("contact_id")
    url.add_argument("--expires", type=int, default=900, help="seconds (default 900)")
    for sp in (get, url):
        sp.add_argument("--account", help="the contact's account: needed for a contact past ContactRetentionDays, "
                                          "read from the archive")
        sp.add_argument("--restore", action="store_true",
                        help="when the print file is in Glacier Deep Archive, ask S3 to restore it for 7 days")
        sp.add_argument("--tier", choices=["Standard", "Bulk"], default="Standard",
                        help="restore tier: Standard (within 12 hours) or Bulk (within 48 hours, cheaper)")
    reprint = add_command(letters, "reprint", cmd_letters_reprint, "render a letter again and queue it for printing")
    reprint.add_argument("contact_id")
    extract = add_command(letters, "extract", cmd_letters_extract,
                          "build the print extract of letters waiting to be printed")
    extract.add_argument("--as-of", type=iso_date, default=None)
