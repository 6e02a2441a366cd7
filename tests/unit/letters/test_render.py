"""Render real letters and check the PDF through a text extractor (poppler's pdftotext, and pypdf)."""

# ruff: noqa: RUF001 - multilingual sample text (Cyrillic letters, en dashes) is the point of these tests

from __future__ import annotations

import io
from functools import cache
from typing import Any

import pytest
from pypdf import PdfReader

from dunning.letters.render import RenderedLetter, letter_language, render_letter
from dunning.templating import TemplateError

from .support import (
    ACCOUNT_ID,
    CONTACT_ID,
    RECIPIENTS,
    TEMPLATE,
    make_context,
    normalize,
    pages_text,
    pdftotext,
    pypdf_text,
    template,
    words_with_boxes,
)

LANGUAGES = ["en", "pt-BR", "ru", "ar"]
# "Page x of y" in each language, with the spaces pdftotext keeps around right-to-left numbers removed
FOOTER = {"en": "Page {x} of {y}", "pt-BR": "Página {x} de {y}", "ru": "Страница {x} из {y}", "ar": "صفحة {x} من {y}"}
TOTAL_OPEN = {"en": "€16,707.36", "pt-BR": "R$ 16.707,36", "ru": "16 707,36 ₽", "ar": "16,707.36"}
AMOUNTS = {"en": "€1,234.56", "pt-BR": "R$ 1.234,56", "ru": "1 234,56 ₽", "ar": "1,234.56"}


@cache
def letter(language: str, rows: int = 10) -> RenderedLetter:
    return render_letter(TEMPLATE, make_context(language, rows), language=language)


def squeeze(text: str) -> str:
    return "".join(normalize(text).split())


# --------------------------------------------------------------------------- content in every language
@pytest.mark.parametrize("language", LANGUAGES)
def test_name_amounts_and_invoice_numbers_are_in_the_pdf(language: str) -> None:
    result = letter(language)
    text = normalize(pdftotext(result.pdf))
    name, lines, _, _ = RECIPIENTS[language]
    assert name in text
    assert lines[0] in text or language == "ar"  # Arabic mixed lines: checked in the RTL tests below
    for n in range(1, 11):
        assert f"INV-2025-{n:04d}" in text
    assert AMOUNTS[language] in text
    assert TOTAL_OPEN[language] in text
    assert ACCOUNT_ID in text and CONTACT_ID in text
    assert result.language == language and result.pages == 1
    assert result.subject.endswith(ACCOUNT_ID)


@pytest.mark.parametrize("language", ["en", "pt-BR", "ru"])
def test_left_to_right_text_extracts_in_reading_order(language: str) -> None:
    text = normalize(pdftotext(letter(language).pdf))
    expected = {
        "en": "Please pay €16,707.36 by March 19, 2026. If you have already paid, please ignore this letter.",
        "pt-BR": "Solicitamos o pagamento de R$ 16.707,36 até 19 de março de 2026.",
        "ru": "Просим оплатить 16 707,36 ₽ до 19 марта 2026 г. Если вы уже оплатили",
    }[language]
    assert expected in " ".join(text.split())
    headings = {"en": "Invoice no.", "pt-BR": "Nº da fatura", "ru": "№ счёта"}
    assert headings[language] in text


def test_portuguese_and_cyrillic_letters_are_not_replaced() -> None:
    pt = normalize(pdftotext(letter("pt-BR").pdf))
    assert "Conceição Araújo" in pt and "cobrança" in pt
    ru = normalize(pdftotext(letter("ru").pdf))
    assert "Уважаемый(ая) Ольга Сергеевна Кузнецова!" in ru and "Лицевой счёт" in ru


# --------------------------------------------------------------------------- pages and footer
@pytest.mark.parametrize("language", LANGUAGES)
def test_ten_rows_fit_on_one_page_and_eighty_rows_need_more(language: str) -> None:
    short = letter(language, 10)
    assert short.pages == 1
    assert squeeze(FOOTER[language].format(x=1, y=1)) in squeeze(pages_text(short.pdf)[0])
    long = letter(language, 80)
    pages = pages_text(long.pdf)
    assert long.pages == len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert squeeze(FOOTER[language].format(x=number, y=long.pages)) in squeeze(page), page[-300:]
    text = " ".join(pages)
    for n in range(1, 81):
        assert f"INV-2025-{n:04d}" in text
    assert sum(page.count("INV-2025-") for page in pages) >= 80


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_table_heading_is_repeated_on_every_page(language: str) -> None:
    heading = {"en": "Invoice no.", "ar": "رقم الفاتورة"}[language]
    pages = pages_text(letter(language, 80).pdf)
    assert all(heading in page for page in pages)


# --------------------------------------------------------------------------- Arabic
ARABIC_SENTENCE = "إذا كنتم قد سددتم المبلغ فيرجى تجاهل هذه الرسالة"  # no lam-alef ligature, see below


def test_arabic_text_extracts_in_logical_order() -> None:
    text = normalize(pdftotext(letter("ar").pdf))
    # pdftotext reorders right-to-left runs back into logical (reading) order ...
    assert ARABIC_SENTENCE in text
    assert "يرجى سداد مبلغ" in text and "مع خالص التحية" in text
    assert "محمد عبد الله الشمري" in text  # the recipient, shaped with the Allah ligature
    # ... and digits are not mirrored
    assert "16,707.36" in text and "63.707,61" not in text
    assert "INV-2025-0001" in text
    # Known poppler behaviour: a lam-alef ligature glyph is one glyph for two letters, and poppler reverses
    # the letters of such a glyph in right-to-left text ("سجلاتنا" comes out as "سجالتنا"). The PDF maps
    # the glyph to the letters in logical order, which pypdf reads back correctly:
    assert "تشير سجلاتنا إلى أن الفواتير التالية لم تسدد بعد" in pypdf_text(letter("ar").pdf)


def test_arabic_is_laid_out_right_to_left() -> None:
    words = words_with_boxes(letter("ar").pdf)

    def box(word: str) -> tuple[str, float, float, float, float]:
        # -bbox lists right-to-left words with their glyphs in visual (reversed) order
        return next(w for w in words if w[0] in (word, word[::-1]))

    line_y = box("يرجى")[2]
    same_line = [w for w in words if abs(w[2] - line_y) < 1]
    # the first word of the sentence is the right-most one, the last is the left-most one
    assert box("يرجى")[3] == max(w[3] for w in same_line)
    assert box("الرسالة.")[1] == min(w[1] for w in same_line) or box(".الرسالة")[1] == min(w[1] for w in same_line)
    # the amount reads "16,707.36 ر.س.": the number right of the currency symbol, digits left to right
    number = box("16,707.36\u200f") if any(w[0] == "16,707.36\u200f" for w in words) else box("16,707.36")
    assert number[3] < box("يرجى")[1]
    # the body is right-aligned on the text column (x 25-190 mm); the window text at 100 mm
    assert abs(box("يرجى")[3] - 190) < 1.5
    assert abs(box("محمد")[3] - 100) < 1.5


def test_arabic_letter_uses_shaped_glyphs() -> None:
    """Shaped Arabic uses contextual glyph forms: the PDF embeds more glyphs than there are letters."""
    reader = PdfReader(io.BytesIO(letter("ar").pdf))
    fonts = {str(f["/BaseFont"]) for f in _fonts(reader)}
    assert any("NotoSansArabic" in name for name in fonts), fonts
    assert all(name.startswith("/MPDFAA+") for name in fonts)  # subsets, not whole fonts


def _fonts(reader: PdfReader) -> list[Any]:
    out: list[Any] = []
    for page in reader.pages:
        resources: Any = page["/Resources"]  # pypdf's objects are untyped dictionaries
        out.extend(f.get_object() for f in resources["/Font"].values())
    return out


# --------------------------------------------------------------------------- layout
@pytest.mark.parametrize("language", ["en", "ar"])
def test_recipient_sits_in_the_envelope_window(language: str) -> None:
    """DL window: 20-105 mm from the left, 45-90 mm from the top (the window does not move for RTL)."""
    name = RECIPIENTS[language][0].split()[0]
    words = words_with_boxes(letter(language).pdf)
    hits = [w for w in words if w[0] in (name, name[::-1])]
    assert hits
    _, x0, y0, x1, y1 = min(hits, key=lambda w: w[2])
    assert x0 >= 20 and x1 <= 105 and y0 >= 45 and y1 <= 90


def test_pdf_is_small_and_reproducible() -> None:
    for language in LANGUAGES:
        assert len(letter(language).pdf) <= 30 * 1024, language
    again = render_letter(TEMPLATE, make_context("en", 10), language="en")
    assert again.pdf == letter("en").pdf


def test_invoice_table_is_placed_where_the_template_says() -> None:
    body = "Before the table.\n\n{{ invoice_table }}\n\nAfter the table."
    text = normalize(pdftotext(render_letter(template(en=body), make_context("en", 3), language="en").pdf))
    assert text.index("Before the table.") < text.index("INV-2025-0001") < text.index("After the table.")
    appended = render_letter(template(en="Only prose."), make_context("en", 3), language="en")
    text = normalize(pdftotext(appended.pdf))
    assert text.index("Only prose.") < text.index("INV-2025-0001")
    suppressed = render_letter(template(en="Your autopay form.{{ no_invoice_table }}"), make_context("en", 3),
                               language="en")
    text = normalize(pdftotext(suppressed.pdf))
    assert "Your autopay form." in text and "INV-2025" not in text and "[[" not in text
    tpl = template(en="Prose.").model_copy(update={"subjects": {"en": "Invoices {{ invoice_table }}"}})
    assert render_letter(tpl, make_context("en", 1), language="en").subject == "Invoices"


def test_line_markup_and_long_words() -> None:
    body = "**Important notice**\n- first point\n- second point\n\n" + "x" * 300
    result = render_letter(template(en=body), make_context("en", 0), language="en")
    text = normalize(pdftotext(result.pdf, "-layout"))
    assert "Important notice" in text and "**" not in text
    assert "• first point" in text and "• second point" in text
    assert text.count("x") >= 300  # a word wider than the line is broken, not clipped


def test_long_recipient_lines_are_shortened_to_fit_the_window() -> None:
    ctx = make_context("en", 1)
    ctx["recipient"]["address_lines"] = ["A very long street name " * 6, "Line 2", "Line 3"]
    words = words_with_boxes(render_letter(TEMPLATE, ctx, language="en").pdf)
    window = [w for w in words if 45 <= w[2] <= 90 and w[1] < 110]
    assert window and max(w[3] for w in window) <= 100.5
    assert any(w[0].endswith("…") for w in window)


# --------------------------------------------------------------------------- languages
def test_unknown_language_falls_back_to_the_default_language() -> None:
    assert letter_language(TEMPLATE, "de") == "en"
    assert letter_language(TEMPLATE, "pt") == "pt-BR"  # a regional variant of the base language
    assert letter_language(TEMPLATE, "PT-br") == "pt-BR"
    assert letter_language(template(pt="Olá", en="Hello"), "pt-BR") == "pt"  # the base language
    result = render_letter(TEMPLATE, make_context("en", 2, person_language="de"), language="de")
    assert result.language == "en"
    assert "Kind regards," in normalize(pdftotext(result.pdf))


def test_context_in_another_language_is_reformatted_for_the_letter() -> None:
    """A German recipient gets the English default body; amounts must be English too, not German."""
    ctx = make_context("en", 2)
    from dunning.letters.context import localize_context

    german = localize_context(ctx, "de")
    result = render_letter(TEMPLATE, german, language="de")
    text = normalize(pdftotext(result.pdf))
    assert "€1,234.56" in text and "1.234,56 €" not in text


# --------------------------------------------------------------------------- the sandbox
@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ person.__class__.__subclasses__() }}",
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}",
        "{{ invoices.append(1) }}",
    ],
)
def test_templates_cannot_reach_python_internals(body: str) -> None:
    with pytest.raises(TemplateError) as excinfo:
        render_letter(template(en=body), make_context("en", 1), language="en")
    message = str(excinfo.value)
    assert message.startswith("T/en/body: the template tried something that is not allowed")
    assert "is unsafe" in message


def test_template_errors_are_reported_clearly() -> None:
    with pytest.raises(TemplateError, match="T/en/body: 'no_such' is undefined"):
        render_letter(template(en="{{ no_such }}"), make_context("en", 1), language="en")
    with pytest.raises(TemplateError, match="syntax error"):
        render_letter(template(en="{% if %}"), make_context("en", 1), language="en")
