from __future__ import annotations

import csv
import io
from dataclasses import replace
from functools import cache
from typing import Any

import pytest
from pypdf import PdfReader

from dunning.letters.extract import MANIFEST_COLUMNS, ExtractFile, PrintItem, build_print_extract
from dunning.letters.render import RenderedLetter, render_letter

from .support import RECIPIENTS, TEMPLATE, make_context, normalize, pdftotext


@cache
def rendered(language: str, rows: int) -> RenderedLetter:
    return render_letter(TEMPLATE, make_context(language, rows), language=language)


def item(language: str, rows: int, contact_id: str, **overrides: Any) -> PrintItem:
    letter = rendered(language, rows)
    name, lines, city, postcode = RECIPIENTS[language]
    sample = PrintItem(contact_id=contact_id, language=language, template_code=TEMPLATE.code, recipient_name=name,
                       address_lines=[*lines, f"{postcode} {city}"], pdf=letter.pdf, pages=letter.pages)
    return replace(sample, **overrides)


def by_name(files: list[ExtractFile]) -> dict[str, ExtractFile]:
    return {f.name: f for f in files}


def manifest_rows(file: ExtractFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(file.content.decode("utf-8"))))


def test_one_pdf_and_one_manifest_per_language() -> None:
    letters = [item("en", 10, "c-1"), item("ar", 10, "c-2"), item("en", 80, "c-3"), item("pt-BR", 10, "c-4"),
               item("en", 10, "c-5")]
    files = by_name(build_print_extract(letters))
    assert sorted(files) == ["letters-ar.pdf", "letters-en.pdf", "letters-pt-BR.pdf",
                             "manifest-ar.csv", "manifest-en.csv", "manifest-pt-BR.csv"]
    assert files["letters-en.pdf"].content_type == "application/pdf"
    assert files["manifest-en.csv"].content_type == "text/csv; charset=utf-8"

    english = [x for x in letters if x.language == "en"]
    merged = PdfReader(io.BytesIO(files["letters-en.pdf"].content))
    assert len(merged.pages) == sum(x.pages for x in english) == 1 + rendered("en", 80).pages + 1

    rows = manifest_rows(files["manifest-en.csv"])
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    assert [r["contact_id"] for r in rows] == ["c-1", "c-3", "c-5"]  # input order
    assert [int(r["first_page"]) for r in rows] == [1, 2, 2 + rendered("en", 80).pages]
    assert [int(r["pages"]) for r in rows] == [x.pages for x in english]
    assert rows[0]["recipient_name"] == "Margaret O'Connor"
    assert [rows[0][f"address_{n}"] for n in (1, 2, 3, 4)] == ["12 Harbour Road", "Apt 4B", "T12 X5F6 Cork", ""]
    assert rows[0]["template_code"] == "REMINDER1" and rows[0]["language"] == "en" and rows[0]["sequence"] == "1"

    arabic = manifest_rows(files["manifest-ar.csv"])
    assert arabic[0]["recipient_name"] == "محمد عبد الله الشمري"


def test_merged_pages_keep_their_content_in_order() -> None:
    letters = [item("en", 10, "c-1"), item("en", 80, "c-2")]
    pdf = by_name(build_print_extract(letters))["letters-en.pdf"].content
    pages = normalize(pdftotext(pdf)).split("\f")
    assert "INV-2025-0010" in pages[0] and "INV-2025-0011" not in pages[0]
    assert "Page 1 of 1" in pages[0] and "Page 1 of " in pages[1]
    assert "INV-2025-0080" in "".join(pages[1:])


def test_manifest_neutralises_spreadsheet_formulas() -> None:
    files = by_name(build_print_extract([item("en", 10, "c-1", recipient_name="=HYPERLINK(\"http://x\")",
                                             address_lines=["+1 Main St", "@home", "Line\nbreak"])]))
    row = manifest_rows(files["manifest-en.csv"])[0]
    assert row["recipient_name"] == "'=HYPERLINK(\"http://x\")"
    assert row["address_1"] == "'+1 Main St" and row["address_2"] == "'@home" and row["address_3"] == "Line break"


def test_actual_page_count_wins_over_a_wrong_one() -> None:
    files = by_name(build_print_extract([item("en", 80, "c-1", pages=1), item("en", 10, "c-2")]))
    rows = manifest_rows(files["manifest-en.csv"])
    assert int(rows[0]["pages"]) == rendered("en", 80).pages and int(rows[1]["first_page"]) == rows_total(rows[:1])


def rows_total(rows: list[dict[str, str]]) -> int:
    return 1 + sum(int(r["pages"]) for r in rows)


def test_no_letters_no_files_and_broken_pdfs_are_named() -> None:
    assert build_print_extract([]) == []
    with pytest.raises(ValueError, match="letter c-9: not a readable PDF"):
        build_print_extract([item("en", 10, "c-1"), item("en", 10, "c-9", pdf=b"not a pdf")])
