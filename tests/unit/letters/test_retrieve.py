"""A letter after its own PDF has expired, over moto's DynamoDB and S3: the print extract records where each
letter sits in its print file, and the letter is cut out of that file (or the user is told to restore it)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from dunning.app.archive import PREFIX, archived_contact, encode_lines
from dunning.app.letter_retrieval import (
    ContactNotFound,
    LetterUnavailable,
    RestoreNeeded,
    cut_pages,
    find_letter_contact,
    letter_link,
    letter_pdf,
    retrieved_key,
)
from dunning.app.print_extract import ExtractDeps, build_shard
from dunning.letters.extract import ExtractFile
from dunning.models.contacts import Contact
from dunning.store import dynamo
from dunning.store.contacts import contact_item

from .test_extract import manifest_rows, rendered
from .test_print_extract import AS_OF, RUN, T0, aws, create, item, letter  # noqa: F401 - aws: the moto fixture

PREFIX_PRINT = f"print/{AS_OF.isoformat()}/{RUN}/"
ROWS = {"c-a": 10, "c-b": 80, "c-c": 10, "c-d": 80}  # invoice rows: 1-page and multi-page letters


def render(deps: ExtractDeps, c: Contact, rows: int, pages: int | None = None) -> str:
    """What delivery stores for a rendered letter: its PDF, status rendered with its key and page count."""
    key = f"letters/{AS_OF.isoformat()}/{c.contact_id}.pdf"
    pdf = rendered(c.language, rows)
    assert deps.letters is not None
    deps.letters.put_bytes(key, pdf.pdf, "application/pdf")
    assert deps.contacts.set_status(c.contact_id, "rendered", only_from=["pending"], fields={
        "s3_key": key, "pages": pages if pages is not None else pdf.pages, "language": c.language})
    return key


def text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def printed(deps: ExtractDeps, rows: dict[str, int] = ROWS) -> dict[str, Any]:
    letters = [letter(cid, minute=n) for n, cid in enumerate(rows)]
    create(deps, letters)
    for c in letters:
        render(deps, c, rows[c.contact_id])
    return build_shard(deps, contact_ids=list(rows), language="en", shard=0, prefix=PREFIX_PRINT,
                       now=T0).model_dump(mode="json")


def expire(deps: ExtractDeps, cid: str) -> None:
    """What the letters/ lifecycle does after LetterRetentionDays."""
    from dunning.aws import client

    assert deps.letters is not None
    client("s3").delete_object(Bucket=deps.letters.bucket, Key=f"letters/{AS_OF.isoformat()}/{cid}.pdf")


# ---------------------------------------------------------------------------------------------- bookkeeping
def test_printing_records_each_letters_print_file_and_first_page_from_the_merge_order(aws):  # noqa: F811
    one, many = rendered("en", 10).pages, rendered("en", 80).pages
    assert one == 1 and many >= 2
    printed(aws)
    pdf_key = f"{PREFIX_PRINT}en-000.pdf"
    stored = {cid: item(aws, cid) for cid in ROWS}
    assert {cid: (s["print_file"], s["print_first_page"]) for cid, s in stored.items()} == {
        "c-a": (pdf_key, 1), "c-b": (pdf_key, 2), "c-c": (pdf_key, 2 + many), "c-d": (pdf_key, 3 + many)}
    assert all("print_pages" not in s for s in stored.values())  # the page counts agreed: `pages` says it
    # the same places as the manifest the print vendor gets
    rows = manifest_rows(ExtractFile("m", aws.letters.get_bytes(f"{PREFIX_PRINT}en-000.csv"), "text/csv"))
    assert [(r["contact_id"], int(r["first_page"]), int(r["pages"])) for r in rows] == [
        (cid, s["print_first_page"], s["pages"]) for cid, s in stored.items()]
    assert len(PdfReader(io.BytesIO(aws.letters.get_bytes(pdf_key))).pages) == 2 * one + 2 * many


def test_a_wrong_page_count_on_the_contact_is_recorded_as_merged(aws):  # noqa: F811
    c = letter("c-x")
    create(aws, [c])
    render(aws, c, 80, pages=1)  # says one page; the PDF has more
    build_shard(aws, contact_ids=["c-x"], language="en", shard=0, prefix=PREFIX_PRINT, now=T0)
    stored = Contact.model_validate(item(aws, "c-x"))
    assert (stored.pages, stored.print_pages, stored.print_page_count) == (1, rendered("en", 80).pages,
                                                                           rendered("en", 80).pages)


# ---------------------------------------------------------------------------------------------- retrieval
def test_a_letter_whose_own_pdf_expired_is_cut_out_of_its_print_file(aws):  # noqa: F811
    printed(aws)
    originals = {cid: aws.letters.get_bytes(f"letters/{AS_OF.isoformat()}/{cid}.pdf") for cid in ROWS}
    own = letter_pdf(aws.contacts.get("c-b"), aws.letters)
    assert (own.source, own.pdf) == ("letter", originals["c-b"])

    for cid in ("c-b", "c-c"):
        expire(aws, cid)
        got = letter_pdf(aws.contacts.get(cid), aws.letters)
        assert (got.source, got.key, got.pages) == ("print", f"{PREFIX_PRINT}en-000.pdf", len(text(originals[cid])))
        assert text(got.pdf) == text(originals[cid])  # the same pages, no neighbour's
        assert got.pdf.startswith(b"%PDF") and len(got.pdf) < len(aws.letters.get_bytes(got.key))


def test_a_link_to_an_expired_letter_points_to_a_copy_cut_out_under_letters_retrieved(aws):  # noqa: F811
    printed(aws)
    original = aws.letters.get_bytes(f"letters/{AS_OF.isoformat()}/c-d.pdf")
    link = letter_link(aws.contacts.get("c-d"), aws.letters, 60)
    assert (link.source, link.key) == ("letter", f"letters/{AS_OF.isoformat()}/c-d.pdf")

    expire(aws, "c-d")
    link = letter_link(aws.contacts.get("c-d"), aws.letters, 60)
    assert (link.source, link.key) == ("print", retrieved_key("c-d")) == ("print", "letters/retrieved/c-d.pdf")
    assert link.url.startswith("https://letters.s3") and link.key in link.url
    assert text(aws.letters.get_bytes(link.key)) == text(original)
    # the copy is served from then on (no second read of the print file) while it matches the contact
    again = letter_pdf(aws.contacts.get("c-d"), aws.letters)
    assert (again.source, again.key, text(again.pdf)) == ("retrieved", link.key, text(original))


def test_a_print_file_in_deep_archive_needs_a_restore_first(aws):  # noqa: F811
    from dunning.aws import client

    printed(aws)
    pdf_key = f"{PREFIX_PRINT}en-000.pdf"
    original = aws.letters.get_bytes(f"letters/{AS_OF.isoformat()}/c-a.pdf")
    expire(aws, "c-a")
    # what the print/ lifecycle does after a year
    client("s3").copy_object(Bucket="letters", Key=pdf_key, CopySource={"Bucket": "letters", "Key": pdf_key},
                             StorageClass="DEEP_ARCHIVE")
    with pytest.raises(RestoreNeeded) as caught:
        letter_pdf(aws.contacts.get("c-a"), aws.letters)
    assert (caught.value.key, caught.value.storage_class, caught.value.in_progress) == (pdf_key, "DEEP_ARCHIVE",
                                                                                        False)
    assert f"s3://letters/{pdf_key}" in str(caught.value) and "must be restored" in str(caught.value)

    assert aws.letters.restore(pdf_key, days=7, tier="Bulk") is True  # moto restores at once
    assert text(letter_pdf(aws.contacts.get("c-a"), aws.letters).pdf) == text(original)


def test_a_letter_with_nothing_left_says_why(aws):  # noqa: F811
    never_printed, no_letter = letter("c-rendered"), letter("c-none")
    create(aws, [never_printed, no_letter])
    render(aws, never_printed, 10)
    expire(aws, "c-rendered")
    with pytest.raises(LetterUnavailable, match=r"expired after LetterRetentionDays and was never printed"):
        letter_pdf(aws.contacts.get("c-rendered"), aws.letters)
    with pytest.raises(LetterUnavailable, match=r"c-none has no letter \(status pending\)"):
        letter_pdf(aws.contacts.get("c-none"), aws.letters)
    # printed before print files were recorded on contacts
    legacy = aws.contacts.get("c-rendered").model_copy(update={"status": "printed"})
    with pytest.raises(LetterUnavailable, match=r"does not record its print file.*manifests"):
        letter_pdf(legacy, aws.letters)
    with pytest.raises(LetterUnavailable, match=r"not in a PDF of 1 pages"):
        cut_pages(rendered("en", 10).pdf, 2, 1)


def test_an_archived_contact_keeps_its_print_file_and_is_found_by_account(aws):  # noqa: F811
    printed(aws, {"c-a": 10, "c-b": 80})
    contact = aws.contacts.get("c-b")
    # the TTL deletion's stream record, as the archive function gets it, then the archive object it writes
    record = {"eventName": "REMOVE", "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
              "dynamodb": {"OldImage": dynamo.to_av(contact_item(contact.model_copy(update={"account_id": "A-1"})))}}
    line = archived_contact(record)
    assert (line["print_file"], line["print_first_page"]) == (f"{PREFIX_PRINT}en-000.pdf", 2)
    aws.plans.put_bytes(f"{PREFIX}2027/02/14/1-1.jsonl.gz", encode_lines([line]))
    from dunning.aws import client

    client("dynamodb").delete_item(TableName="contacts", Key={"contact_id": {"S": "c-b"}})
    expire(aws, "c-b")

    with pytest.raises(ContactNotFound, match=r"--account"):
        find_letter_contact(aws.contacts, aws.plans, "c-b")
    with pytest.raises(ContactNotFound, match=r"archived contacts of account A-2"):
        find_letter_contact(aws.contacts, aws.plans, "c-b", "A-2")
    archived = find_letter_contact(aws.contacts, aws.plans, "c-b", "A-1")
    assert archived.snapshot is None and archived.created_at == T0 + timedelta(minutes=1)
    got = letter_pdf(archived, aws.letters)
    assert got.source == "print" and text(got.pdf) == text(rendered("en", 80).pdf)
