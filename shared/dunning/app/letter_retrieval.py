"""A letter's PDF, also after its own object has expired.

A letter is stored twice. Its own PDF, ``letters/{as_of}/{contact_id}.pdf``, is the working copy (the email
fallback, reprints and the print extract read it) and expires after ``LetterRetentionDays`` (35 by default;
letters of online-only templates are never printed: they live under ``online-letters/``, kept
``PrintRetentionDays``).
Once printed, the letter is also in its print file, ``print/{as_of}/{run}/{language}-{NNN}.pdf``: the long-term
record, kept ``PrintRetentionDays`` (seven years; S3 Glacier Instant Retrieval after 30 days, Glacier Deep
Archive after a year). The extract that printed it records on the contact where it sits: ``print_file`` and
``print_first_page`` (its pages are ``pages``, or ``print_pages`` when the PDF had another count).

:func:`letter_pdf` serves the letter's own object while it exists; then a copy cut out earlier
(``letters/retrieved/{contact_id}.pdf``, written by :func:`letter_link`, which expires with ``letters/``);
then the letter's pages cut out of its print file with pypdf. A print file in Deep Archive cannot be read until
it is restored: :class:`RestoreNeeded` says so (:meth:`dunning.store.blobs.BlobStore.restore` asks S3 for one).

A contact past ``ContactRetentionDays`` is no longer in the contacts table but in the archive
(:mod:`dunning.app.archive`), which is read per account: :func:`find_letter_contact`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from dunning.app.archive import archived_contacts
from dunning.models.contacts import Contact
from dunning.store.blobs import BlobStore, ObjectArchived
from dunning.store.contacts import ContactStore

RETRIEVED_PREFIX = "letters/retrieved/"
RESTORE_DAYS = 7  # how long a restored print file stays readable

Source = Literal["letter", "retrieved", "print"]


class LetterError(RuntimeError):
    """A letter that cannot be served; the message says why, for the user."""


class ContactNotFound(LetterError):
    pass


class LetterUnavailable(LetterError):
    pass


class RestoreNeeded(LetterError):
    """The letter is only in its print file, and that is in an archive storage class (Deep Archive)."""

    def __init__(self, contact_id: str, bucket: str, key: str, storage_class: str, in_progress: bool) -> None:
        where = f"s3://{bucket}/{key}"
        state = ("a restore of it is in progress (Standard: within 12 hours, Bulk: within 48); try again then"
                 if in_progress else "it must be restored first (RestoreObject)")
        super().__init__(f"the letter of {contact_id} is only in its print file {where}, which is in "
                         f"{storage_class or 'an archive storage class'}: {state}")
        self.contact_id, self.bucket, self.key = contact_id, bucket, key
        self.storage_class, self.in_progress = storage_class, in_progress


@dataclass(frozen=True)
class RetrievedLetter:
    contact_id: str
    pdf: bytes
    pages: int
    source: Source  # the letter's own object, an earlier cut-out copy, or its print file
    key: str  # the object read


@dataclass(frozen=True)
class LetterLink:
    url: str
    key: str
    source: Source


def retrieved_key(contact_id: str) -> str:
    """Where :func:`letter_link` keeps a letter cut out of its print file (under ``letters/``: it expires with
    the letters, ``LetterRetentionDays`` after it was written)."""
    return f"{RETRIEVED_PREFIX}{contact_id}.pdf"


def find_letter_contact(contacts: ContactStore, archive: BlobStore, contact_id: str,
                        account_id: str | None = None) -> Contact:
    """The contact from the contacts table or, given its account, from the archive (runs bucket)."""

    contact = contacts.get(contact_id)
    if contact is None and account_id:
        contact = next((c for c in archived_contacts(archive, account_id) if c.contact_id == contact_id), None)
        if contact is None:
            raise ContactNotFound(f"no contact {contact_id} in the contacts table nor among the archived "
                                  f"contacts of account {account_id}")
    if contact is None:
        raise ContactNotFound(f"no contact {contact_id} in the contacts table; a contact older than "
                              "ContactRetentionDays is in the archive, which is read per account: give its "
                              "account (--account ID)")
    return contact


def letter_pdf(contact: Contact, letters: BlobStore) -> RetrievedLetter:
    """The letter's PDF: its own object, else a copy cut out earlier, else its pages cut out of its print file.

    Raises :class:`LetterUnavailable` (no letter, or none left) or :class:`RestoreNeeded`."""
    if contact.s3_key:
        own = letters.get_bytes_if_exists(contact.s3_key)
        if own is not None:
            return RetrievedLetter(contact.contact_id, own, contact.pages or page_count(own), "letter", contact.s3_key)
    first, pages = _placement(contact)
    key = retrieved_key(contact.contact_id)
    head = letters.head(key)
    if head is not None and head.get("Metadata", {}) == _copy_metadata(contact, first, pages):
        copy = letters.get_bytes_if_exists(key)
        if copy is not None:
            return RetrievedLetter(contact.contact_id, copy, pages, "retrieved", key)
    return _cut_from_print_file(contact, letters, first, pages)


def letter_link(contact: Contact, letters: BlobStore, seconds: int = 900) -> LetterLink:
    """A presigned GET URL of the letter: its own object while it exists, else of a copy cut out of its print
    file and written to :func:`retrieved_key` (kept for later links, until ``letters/`` expires it)."""
    if contact.s3_key and letters.head(contact.s3_key) is not None:
        return LetterLink(letters.presign(contact.s3_key, seconds), contact.s3_key, "letter")
    letter = letter_pdf(contact, letters)
    if letter.source == "print":
        first, pages = _placement(contact)
        letters.put_bytes(retrieved_key(contact.contact_id), letter.pdf, "application/pdf",
                          metadata=_copy_metadata(contact, first, pages))
        return LetterLink(letters.presign(retrieved_key(contact.contact_id), seconds),
                          retrieved_key(contact.contact_id), "print")
    return LetterLink(letters.presign(letter.key, seconds), letter.key, letter.source)


def cut_pages(pdf: bytes, first_page: int, pages: int, title: str = "") -> bytes:
    """Pages ``first_page`` (1-based) to ``first_page + pages - 1`` of ``pdf`` as a PDF of their own."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        total = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise LetterUnavailable(f"not a readable PDF ({exc})") from exc
    if first_page < 1 or pages < 1 or first_page + pages - 1 > total:
        raise LetterUnavailable(f"pages {first_page}-{first_page + pages - 1} are not in a PDF of {total} pages")
    writer = PdfWriter()
    for index in range(first_page - 1, first_page - 1 + pages):
        writer.add_page(reader.pages[index])
    if title:
        writer.add_metadata({"/Title": title, "/Creator": "Dunning"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


# ---------------------------------------------------------------------------------------------- internals
def _placement(contact: Contact) -> tuple[int, int]:
    pages = contact.print_page_count
    if contact.print_first_page and pages:
        return contact.print_first_page, pages
    raise LetterUnavailable(_why_unavailable(contact))


def _why_unavailable(contact: Contact) -> str:
    cid = contact.contact_id
    if not contact.s3_key:
        why = f": {contact.reason}" if contact.reason else ""
        return f"contact {cid} has no letter (status {contact.status}{why})"
    gone = f"the letter of {cid} ({contact.s3_key}) has expired after LetterRetentionDays"
    if contact.status != "printed":
        return f"{gone} and was never printed (status {contact.status}), so no print file holds it"
    return (f"{gone}, and the contact does not record its print file (printed before print files were recorded "
            f"on contacts): find it by contact id in the manifests (.csv) under print/ of the letters bucket")


def _copy_metadata(contact: Contact, first: int, pages: int) -> dict[str, str]:
    return {"print-file": contact.print_file or "", "first-page": str(first), "pages": str(pages)}


def _cut_from_print_file(contact: Contact, letters: BlobStore, first: int, pages: int) -> RetrievedLetter:
    key = contact.print_file or ""
    try:
        merged = letters.get_bytes_if_exists(key)
    except ObjectArchived as exc:
        restore = str((letters.head(key) or {}).get("Restore", ""))
        raise RestoreNeeded(contact.contact_id, letters.bucket, key, exc.storage_class,
                            in_progress='ongoing-request="true"' in restore) from None
    if merged is None:
        raise LetterUnavailable(f"the letter of {contact.contact_id} has expired after LetterRetentionDays and "
                                f"its print file {key} is gone too (PrintRetentionDays)")
    try:
        pdf = cut_pages(merged, first, pages, title=f"Letter {contact.contact_id}")
    except LetterUnavailable as exc:
        raise LetterUnavailable(f"the print file {key} does not hold the letter of {contact.contact_id}: {exc}") \
            from None
    return RetrievedLetter(contact.contact_id, pdf, pages, "print", key)
