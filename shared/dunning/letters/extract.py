"""Print extract: a run's printed letters merged into one PDF per language, with a CSV manifest each.

The print vendor gets ``letters-{language}.pdf`` (the letters one after the other, in the order given) and
``manifest-{language}.csv``: one row per letter with its position in the merged PDF (``first_page``,
``pages``), the recipient and the address as printed in the envelope window. A large extract is split into
shards of one language each (:func:`build_shard_files`): ``{language}-{shard:03d}.pdf`` with
``{language}-{shard:03d}.csv``.

Merging uses pypdf (pure Python): fpdf2 cannot import pages of existing PDFs, and re-rendering every letter
would cost far more than copying its pages (~2 ms per one-page letter).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

LOG = logging.getLogger(__name__)

MAX_ADDRESS_LINES = 8
MANIFEST_COLUMNS: tuple[str, ...] = (
    "sequence",
    "contact_id",
    "template_code",
    "language",
    "recipient_name",
    *(f"address_{n}" for n in range(1, MAX_ADDRESS_LINES + 1)),
    "first_page",
    "pages",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class PrintItem:
    contact_id: str
    language: str
    template_code: str
    recipient_name: str
    address_lines: Sequence[str]
    pdf: bytes
    pages: int


@dataclass(frozen=True)
class ExtractFile:
    name: str
    content: bytes
    content_type: str


def build_print_extract(letters: Sequence[PrintItem]) -> list[ExtractFile]:
    """One merged PDF and one CSV manifest per language (languages in sorted order; letters keep the order
    they come in). No letters, no files. Raises ``ValueError`` naming the contact for a PDF that cannot
    be read."""
    by_language: dict[str, list[PrintItem]] = {}
    for item in letters:
        by_language.setdefault(item.language, []).append(item)
    files: list[ExtractFile] = []
    for language in sorted(by_language):
        slug = _slug(language)
        files += _files(by_language[language], f"letters-{slug}.pdf", f"manifest-{slug}.csv")[0]
    return files


def shard_stem(language: str, shard: int) -> str:
    """``{language}-{shard:03d}``: the name of one shard's PDF and manifest, without the extension."""
    return f"{_slug(language)}-{shard:03d}"


def build_shard_files(letters: Sequence[PrintItem], language: str, shard: int) -> list[ExtractFile]:
    """One shard of an extract: its letters (planned as ``language``, in the order given) merged into
    ``{language}-{shard:03d}.pdf`` with the manifest ``{language}-{shard:03d}.csv``. No letters, no files."""
    return build_shard_extract(letters, language, shard).files


@dataclass(frozen=True)
class Placement:
    """Where one letter sits in its merged PDF: ``first_page`` (1-based) and ``pages`` as merged (the letter's
    PDF's own page count; the manifest says the same)."""

    contact_id: str
    first_page: int
    pages: int


@dataclass(frozen=True)
class ShardFiles:
    files: list[ExtractFile]  # the merged PDF, then its manifest
    placements: list[Placement]  # one per letter, in merge order

    @property
    def pdf_name(self) -> str:
        return self.files[0].name


def build_shard_extract(letters: Sequence[PrintItem], language: str, shard: int) -> ShardFiles:
    """:func:`build_shard_files` with each letter's place in the merged PDF (what the contact records, so a
    letter can be cut out of its print file later: :mod:`dunning.app.letter_retrieval`)."""
    if not letters:
        return ShardFiles([], [])
    stem = shard_stem(language, shard)
    files, page_counts = _files(letters, f"{stem}.pdf", f"{stem}.csv")
    placements = [Placement(item.contact_id, first, pages)
                  for item, first, pages in zip(letters, first_pages(page_counts), page_counts, strict=True)]
    return ShardFiles(files, placements)


def first_pages(page_counts: Sequence[int]) -> list[int]:
    """The 1-based first page of each letter merged one after the other."""
    firsts, page = [], 1
    for pages in page_counts:
        firsts.append(page)
        page += pages
    return firsts


def _files(items: Sequence[PrintItem], pdf_name: str, manifest_name: str) -> tuple[list[ExtractFile], list[int]]:
    merged, page_counts = _merge(items)
    return [ExtractFile(pdf_name, merged, "application/pdf"),
            ExtractFile(manifest_name, _manifest(items, page_counts), "text/csv; charset=utf-8")], page_counts


def _merge(items: Sequence[PrintItem]) -> tuple[bytes, list[int]]:
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError

    writer = PdfWriter()
    page_counts: list[int] = []
    for item in items:
        try:
            reader = PdfReader(io.BytesIO(item.pdf))
            pages = list(reader.pages)
        except (PyPdfError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"letter {item.contact_id}: not a readable PDF ({exc})") from exc
        if not pages:
            raise ValueError(f"letter {item.contact_id}: the PDF has no pages")
        if len(pages) != item.pages:
            LOG.warning("letter %s says %d pages but its PDF has %d; using %d",
                        item.contact_id, item.pages, len(pages), len(pages))
        for page in pages:
            writer.add_page(page)
        page_counts.append(len(pages))
    writer.add_metadata({"/Title": f"Print extract ({len(items)} letters)", "/Creator": "Dunning"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), page_counts


def _manifest(items: Sequence[PrintItem], page_counts: Sequence[int]) -> bytes:
    """UTF-8 CSV (no BOM, CRLF line ends as in RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    for sequence, (item, pages, first_page) in enumerate(
            zip(items, page_counts, first_pages(page_counts), strict=True), start=1):
        lines = [line for line in item.address_lines if line][:MAX_ADDRESS_LINES]
        if len([line for line in item.address_lines if line]) > MAX_ADDRESS_LINES:
            LOG.warning("letter %s: address has more than %d lines; the rest is left out of the manifest",
                        item.contact_id, MAX_ADDRESS_LINES)
        lines += [""] * (MAX_ADDRESS_LINES - len(lines))
        writer.writerow([
            sequence,
            _cell(item.contact_id),
            _cell(item.template_code),
            _cell(item.language),
            _cell(item.recipient_name),
            *(_cell(line) for line in lines),
            first_page,
            pages,
        ])
    return buffer.getvalue().encode("utf-8")


def _cell(value: str) -> str:
    """One line of text; a leading = + - @ is quoted with ' so spreadsheet programs do not run it as a formula
    (CSV injection) when the vendor opens the manifest."""
    text = " ".join(str(value).split())
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _slug(language: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "_", language).strip("_") or "und"
