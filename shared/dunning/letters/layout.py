"""A4 letter layout with fpdf2: DIN 5008 form B positions for a DL/C5 window envelope.

Page 1, in millimetres from the top-left corner::

    12-43   letterhead: company name (start side), sender details (end side)
    45-90   address window, x 20-105 (fixed: the envelope window does not move in RTL letters; the text
            inside is right-aligned instead): the return address (one line, shrunk to 5 pt or wrapped over up
            to three lines when long: never cut), then recipient name + address
    50-     info block, x 125-190: date, customer account, our reference (contact id)
    100-    subject (bold), body paragraphs, the invoice table where the template puts it
    281-    footer on every page: company line and "Page x of y" (mirrored in RTL letters)

Fold marks at 105 and 210 mm and a punch mark at 148.5 mm sit in the left margin of page 1.
Following pages get a one-line continuation header. Text is wrapped here, word by word, rather than with
``multi_cell``: with text shaping ``multi_cell`` re-shapes the growing line for every character.

Arabic script (right-to-left letters, or an Arabic name in another letter) is shaped with HarfBuzz
(``set_text_shaping``) and ordered with fpdf2's bidi algorithm. A standalone string (name, address line, table
cell) runs in the direction of its first strong character (UAX #9 P2/P3), left to right if it has none (phone
numbers, ids); each hard line of a paragraph is a bidi paragraph whose direction (its first strong character,
else the letter's) holds for all its wrapped lines. Table columns are mirrored in right-to-left letters;
amounts stay right-aligned so that decimal points line up.

Speed: text that needs neither bidi nor a fallback font is drawn with ``FPDF.text`` at a position computed
from the font's width table, a fraction of the cost of ``cell``; widths are memoised per document. HarfBuzz
results are kept per process (:mod:`dunning.letters.fontcache`), and the fonts are embedded by
:mod:`dunning.letters.embed` rather than by fpdf2's fontTools subsetting.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any

from dunning.letters import embed, fontcache
from dunning.letters.context import INVOICE_TABLE_MARKER, NO_INVOICE_TABLE_MARKER
from dunning.letters.labels import LabelSet, labels_for

PAGE_W = 210.0  # A4 portrait: 210 x 297 mm
LEFT, RIGHT = 25.0, 20.0
TEXT_W = PAGE_W - LEFT - RIGHT  # 165
WINDOW_X, WINDOW_Y, WINDOW_W, WINDOW_H, WINDOW_PAD = 20.0, 45.0, 85.0, 45.0, 5.0
INFO_X, INFO_Y, INFO_W = 125.0, 50.0, 65.0
SUBJECT_Y = 100.0
CONTINUATION_TOP = 25.0
BOTTOM_MARGIN = 22.0  # page break at 275 mm
FOOTER_Y = 281.0
NB_ALIAS = "{nb}"  # replaced by the page count when the PDF is written

BODY_SIZE, BODY_LEADING = 10.0, 5.0
SUBJECT_SIZE = 12.0
TABLE_SIZE, TABLE_ROW_H, TABLE_HEAD_SIZE, TABLE_HEAD_H = 9.0, 5.6, 8.0, 6.6
MAX_RECIPIENT_LINES = 8
# the sender line(s): 6.5 pt, down to 5.5 pt on one line; else wrapped at 6 pt (down to 5 pt for 3 lines at most)
RETURN_SIZE, RETURN_ONE_LINE_MIN, RETURN_WRAP_SIZE, RETURN_MIN_SIZE, RETURN_MAX_LINES = 6.5, 5.5, 6.0, 5.0, 3
RETURN_SEPARATOR = " · "

INK, GREY, RULE, FILL, ALERT = (20, 20, 20), (95, 95, 95), (175, 175, 175), (236, 236, 236), (150, 20, 20)

# text that needs the bidi algorithm / shaping: right-to-left letters and explicit directional marks
# and text that needs HarfBuzz shaping: Devanagari, Thai and emoji sequences (joiner, variation selector,
# skin tones, flags, keycaps)
_NEEDS_BIDI = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\u200e\u200f\u202a-\u202e\u2066-\u2069"
                         "\u0900-\u097f\ua8e0-\ua8ff\u1cd0-\u1cff\u0e00-\u0e7f"
                         "\u200d\ufe0f\u20e3\U0001f000-\U0001faff]")
_SHAPING_GUESS: dict[str, Any] = {"features": {}, "fragment_direction": None, "script": None, "language": None}
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANK_LINE = re.compile(r"\n[ \t\u00a0]*\n")
_BOLD_LINE = re.compile(r"^\*\*(.+)\*\*$")
_BULLET_LINE = re.compile(r"^[-•*]\s+(.+)$")
_ELLIPSIS = "…"


# --------------------------------------------------------------------------- parsed body
@dataclass(frozen=True)
class TextLine:
    text: str
    bold: bool = False
    bullet: bool = False


@dataclass(frozen=True)
class Paragraph:
    lines: tuple[TextLine, ...]


@dataclass(frozen=True)
class InvoiceTable:
    pass


Block = Paragraph | InvoiceTable


def clean_text(text: str) -> str:
    """NFC, Unix newlines, no control characters (tabs become spaces)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return unicodedata.normalize("NFC", _CONTROL.sub("", text))


def parse_body(body: str, *, has_invoices: bool) -> list[Block]:
    """Plain-text template output -> paragraphs (blank-line separated; single newlines are kept as line
    breaks) and the invoice table where ``{{ invoice_table }}`` stands (appended at the end when the
    template does not place it, left out with ``{{ no_invoice_table }}`` or when there are no invoices).

    Line markup: ``**whole line**`` is bold; a line starting with ``- `` or ``• `` is a bullet point.
    """
    text = clean_text(body)
    want_table = has_invoices and NO_INVOICE_TABLE_MARKER not in text
    text = text.replace(NO_INVOICE_TABLE_MARKER, "")
    blocks: list[Block] = []
    placed = False
    for index, segment in enumerate(text.split(INVOICE_TABLE_MARKER)):
        if index > 0 and want_table and not placed:
            blocks.append(InvoiceTable())
            placed = True
        for chunk in _BLANK_LINE.split(segment):
            lines = [_parse_line(raw) for raw in chunk.split("\n") if raw.strip()]
            if lines:
                blocks.append(Paragraph(tuple(lines)))
    if want_table and not placed:
        blocks.append(InvoiceTable())
    return blocks


def _parse_line(raw: str) -> TextLine:
    line = " ".join(raw.split(" ")).strip()
    bold = _BOLD_LINE.match(line)
    if bold:
        return TextLine(bold.group(1).strip(), bold=True)
    bullet = _BULLET_LINE.match(line)
    if bullet:
        return TextLine(bullet.group(1).strip(), bullet=True)
    return TextLine(line)


def strong_direction(text: str) -> str | None:
    """'rtl' / 'ltr' from the first strong character (UAX #9 P2/P3), None if there is none."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


# --------------------------------------------------------------------------- the document
@dataclass
class LetterLayout:
    """Draws one letter. ``context`` is a letter context (see :mod:`dunning.letters.context`)."""

    context: Mapping[str, Any]
    subject: str
    blocks: Sequence[Block]
    language: str
    rtl: bool
    labels: LabelSet = field(init=False)
    shaping: bool = field(init=False, default=False)
    primary: str = field(init=False, default=fontcache.LATIN)
    fallbacks: tuple[str, ...] = field(init=False, default=())
    _widths: dict[tuple[str, float, str], float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = labels_for(self.language)

    # ------------------------------------------------------------------ entry point
    def render(self) -> tuple[bytes, int]:
        pdf = _letter_pdf_class()(orientation="P", unit="mm", format="A4")
        pdf.layout = self
        self._setup(pdf)
        pdf.add_page()
        self._window(pdf)
        self._info_block(pdf)
        pdf.set_y(SUBJECT_Y)
        if self.subject:
            self._paragraph(pdf, [TextLine(self.subject, bold=True)], size=SUBJECT_SIZE, leading=6.0)
            pdf.set_y(pdf.get_y() + 4.0)
        for block in self.blocks:
            if isinstance(block, InvoiceTable):
                pdf.set_y(pdf.get_y() + 1.0)
                self._invoice_table(pdf)
                pdf.set_y(pdf.get_y() + 4.0)
            else:
                self._paragraph(pdf, block.lines, size=BODY_SIZE, leading=BODY_LEADING)
                pdf.set_y(pdf.get_y() + 2.6)
        data = bytes(pdf.output(output_producer_class=embed.producer_class()))
        return data, pdf.pages_count

    def _setup(self, pdf: Any) -> None:
        self.primary, self.fallbacks = fontcache.choose_faces(self._characters(), rtl=self.rtl)
        self.fallbacks += fontcache.attach_fonts(pdf, (self.primary, *self.fallbacks))
        if self.fallbacks:
            pdf.set_fallback_fonts(list(self.fallbacks), exact_match=False)
        # HarfBuzz + bidi for Arabic, Hebrew, Devanagari, Thai and emoji; Latin, Cyrillic, Greek and CJK need
        # neither (and are far faster without)
        self.shaping = any(fontcache.is_shaped(face) for face in (self.primary, *self.fallbacks))
        pdf.set_margins(LEFT, CONTINUATION_TOP, RIGHT)
        pdf.set_auto_page_break(True, margin=BOTTOM_MARGIN)
        # the total replaces "{nb}" in a 3-digit slot: keep it next to the words ("من" precedes it in RTL)
        pdf.alias_nb_pages(NB_ALIAS, align="R" if self.rtl else "L")
        pdf.c_margin = 0
        company = self.context.get("company") or {}
        pdf.set_title(self.subject or company.get("name", ""))
        pdf.set_author(company.get("name", ""))
        pdf.set_creator("Dunning")
        pdf.set_lang(self.language)
        raw_today = (self.context.get("raw") or {}).get("today")
        if isinstance(raw_today, date):  # reproducible bytes for the same letter
            pdf.set_creation_date(datetime.combine(raw_today, time(0), tzinfo=UTC))

    def _characters(self) -> set[str]:
        """Every character the letter will print (labels, template output and the context's data)."""
        texts = [self.subject, *self.labels.values(), *_strings(self.context.get("company")),
                 *_strings(self.context.get("recipient")), *_strings(self.context.get("invoices")),
                 *_strings(self.context.get("totals")), *_strings(self.context.get("dates")),
                 *_strings(self.context.get("account")), str(self.context.get("reference") or ""),
                 *(ln.text for b in self.blocks if isinstance(b, Paragraph) for ln in b.lines), _ELLIPSIS, "•"]
        chars: set[str] = set()
        for text in texts:
            chars.update(text)
        return chars

    # ------------------------------------------------------------------ text primitives
    def _font(self, pdf: Any, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        pdf.set_font(self.primary, "B" if bold else "", size)
        pdf.set_text_color(*color)

    def _pin_font(self, pdf: Any) -> None:
        """Work around an fpdf2 2.8 bug: with fallback fonts, a line whose first fragment uses a fallback
        font sets the main font *inside* its own text object (later wrapped in q/Q) yet marks it as set for
        the page, so the next line is drawn without a font ("No font in show"). Setting the font for the
        page beforehand, as fpdf2 does for lines that start in the main font, keeps that state true."""
        if (self.shaping or self.fallbacks) and not getattr(pdf, "current_font_is_set_on_page", True):
            pdf._out(pdf._set_font_for_page(pdf.current_font, pdf.font_size_pt))

    def _width(self, pdf: Any, text: str) -> float:
        """Width in mm with the current font, memoised per document. Words of right-to-left script are shaped
        directly with HarfBuzz (a word has no bidi reordering to do); other text is summed from the font's
        width table, with fpdf2's fallback font for characters the main font lacks."""
        key = (pdf.font_family + pdf.font_style, pdf.font_size_pt, text)
        width = self._widths.get(key)
        if width is None:
            width = self._measure(pdf, text)
            self._widths[key] = width
        return width

    def _measure(self, pdf: Any, text: str) -> float:
        font = pdf.current_font
        bidi = self.shaping and _NEEDS_BIDI.search(text) is not None
        if all(ord(c) in font.cmap for c in text):
            if not bidi:  # the font's width table, as fpdf2 does for unshaped text
                widths = font.cw
                return sum(widths[ord(c)] for c in text) * pdf.font_size_pt / 1000 / pdf.k
            if " " not in text:  # a word: no bidi reordering, shape it directly
                return float(font.shaped_text_width(text, pdf.font_size_pt, _SHAPING_GUESS)[1]) / pdf.k
        saved = pdf.text_shaping
        pdf.text_shaping = None if not _NEEDS_BIDI.search(text) else saved
        try:
            return float(pdf.get_string_width(text))
        finally:
            pdf.text_shaping = saved

    def _fit(self, pdf: Any, text: str, width: float) -> str:
        """``text`` cut with an ellipsis so that it fits ``width``."""
        if self._width(pdf, text) <= width:
            return text
        fits, limit = 0, len(text)
        while fits < limit:
            mid = (fits + limit + 1) // 2
            if self._measure(pdf, text[:mid].rstrip() + _ELLIPSIS) <= width:
                fits = mid
            else:
                limit = mid - 1
        return text[:fits].rstrip() + _ELLIPSIS

    def _put(self, pdf: Any, x: float, y: float, width: float, height: float, text: str, align: str,
             *, bidi: bool | None = None, direction: str | None = None) -> None:
        """One line of text in the box (x, y, width, height); ``align`` is L / R / C (absolute, not logical).

        Text that needs no bidi/shaping and that the main font can draw goes straight to ``FPDF.text``
        (a tenth of the cost of ``cell``); the rest through ``cell`` with shaping and fallback fonts. The
        base direction is ``direction`` if given, else that of the first strong character, else LTR."""
        if not text:
            return
        needs_bidi = self.shaping and (_NEEDS_BIDI.search(text) is not None if bidi is None else bidi)
        plain = not needs_bidi and NB_ALIAS not in text  # FPDF.text does not substitute the page-count alias
        if plain and all(ord(c) in pdf.current_font.cmap for c in text):
            text_width = self._width(pdf, text)
            shift = width - text_width if align == "R" else (width - text_width) / 2 if align == "C" else 0.0
            # the baseline fpdf2's cell() uses
            pdf.text(x + shift, y + 0.5 * height + 0.3 * pdf.font_size, text)
            return
        if self.shaping:
            if needs_bidi:
                pdf.set_text_shaping(True, direction=direction or strong_direction(text) or "ltr")
            elif pdf.text_shaping:
                pdf.set_text_shaping(False)
        pdf.set_xy(x, y)
        self._pin_font(pdf)
        pdf.cell(width, height, text, align=align)

    def _start(self) -> str:
        return "R" if self.rtl else "L"

    def _end(self) -> str:
        return "L" if self.rtl else "R"

    def _mirror(self, x: float, width: float) -> float:
        """x of a box placed at ``x`` in LTR letters, mirrored within the text column in RTL letters."""
        return LEFT + (PAGE_W - RIGHT) - x - width if self.rtl else x

    def wrap(self, pdf: Any, text: str, width: float) -> list[str]:
        """Greedy word wrap with the current font; a word wider than the line is broken by characters."""
        lines: list[str] = []
        current: list[str] = []
        current_w = 0.0
        space = self._width(pdf, " ")
        for word in text.split(" "):
            if not word:
                continue
            word_w = self._width(pdf, word)
            if word_w > width:
                if current:
                    lines.append(" ".join(current))
                pieces = self._break_word(pdf, word, width)
                lines.extend(pieces[:-1])
                current, current_w = [pieces[-1]], self._width(pdf, pieces[-1])
            elif current and current_w + space + word_w > width:
                lines.append(" ".join(current))
                current, current_w = [word], word_w
            else:
                current_w += (space if current else 0.0) + word_w
                current.append(word)
        if current:
            lines.append(" ".join(current))
        return lines

    def _break_word(self, pdf: Any, word: str, width: float) -> list[str]:
        pieces: list[str] = []
        start = 0
        while start < len(word):
            end = start + 1
            while end < len(word) and self._measure(pdf, word[start:end + 1]) <= width:
                end += 1
            pieces.append(word[start:end])
            start = end
        return pieces

    # ------------------------------------------------------------------ page furniture (called by fpdf2)
    def header(self, pdf: Any) -> None:
        company = self.context.get("company") or {}
        if pdf.page_no() == 1:
            self._letterhead(pdf, company)
            self._fold_marks(pdf)
            return
        self._font(pdf, 9, bold=True)
        self._put(pdf, self._mirror(LEFT, 68), 11, 68, 5, self._fit(pdf, company.get("name", ""), 68), self._start())
        self._font(pdf, 8, color=GREY)
        dates = self.context.get("dates") or {}
        when = str(dates.get("today_numeric") or self._today())
        ref = f"{self.labels['reference']}: {self.context.get('reference', '')} · {when}"
        self._put(pdf, self._mirror(95, 95), 11, 95, 5, self._fit(pdf, ref, 95), self._end())
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.2)
        pdf.line(LEFT, 17, PAGE_W - RIGHT, 17)
        pdf.set_y(CONTINUATION_TOP)

    def footer(self, pdf: Any) -> None:
        company = self.context.get("company") or {}
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.2)
        pdf.line(LEFT, FOOTER_Y, PAGE_W - RIGHT, FOOTER_Y)
        parts = [company.get(k, "") for k in ("name", "phone", "email", "website")]
        self._font(pdf, 7, color=GREY)
        line = self._fit(pdf, " · ".join(p for p in parts if p), 132)
        self._put(pdf, self._mirror(LEFT, 132), FOOTER_Y + 2, 132, 4, line, self._start())
        self._font(pdf, 8, color=GREY)
        page = self.labels["page"].format(page=pdf.page_no(), pages=NB_ALIAS)
        self._put(pdf, self._mirror(160, 30), FOOTER_Y + 2, 30, 4, page, self._end())

    def _letterhead(self, pdf: Any, company: Mapping[str, Any]) -> None:
        # the company name: 15 pt, shrunk down to 11 pt for a long name, then over two lines
        name = clean_text(str(company.get("name", ""))).strip()
        size = 15.0
        self._font(pdf, size, bold=True)
        while size > 11.0 and self._width(pdf, name) > 95:
            size -= 0.5
            self._font(pdf, size, bold=True)
        lines = [name] if self._width(pdf, name) <= 95 else self.wrap(pdf, name, 95)
        if len(lines) > 2:
            lines = [lines[0], self._fit(pdf, " ".join(lines[1:]), 95)]
        y = 13.0 if len(lines) == 1 else 11.5
        for text in lines:
            self._put(pdf, self._mirror(LEFT, 95), y, 95, 8 if len(lines) == 1 else 5.6, text, self._start())
            y += 5.6
        details = [clean_text(str(d)).strip() for d in [*company.get("address_lines", []), company.get("phone", ""),
                                                        company.get("email", ""), company.get("website", "")]]
        details = [d for d in details if d][:8]
        size = 8.0
        self._font(pdf, size, color=GREY)
        while size > 6.5 and any(self._width(pdf, d) > INFO_W for d in details):
            size -= 0.25
            self._font(pdf, size, color=GREY)
        # a detail still too wide at the smallest size wraps: up to 10 lines end above the info block
        shown = [piece for d in details for piece in ([d] if self._width(pdf, d) <= INFO_W
                                                      else self.wrap(pdf, d, INFO_W))][:10]
        leading = 3.6 if len(shown) <= 8 else 2.9
        y = 13.5
        for text in shown:
            self._put(pdf, self._mirror(INFO_X, INFO_W), y, INFO_W, leading, self._fit(pdf, text, INFO_W),
                      self._end())
            y += leading

    def _fold_marks(self, pdf: Any) -> None:
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.2)
        for y, length in ((105.0, 5.0), (148.5, 7.0), (210.0, 5.0)):
            pdf.line(3, y, 3 + length, y)

    # ------------------------------------------------------------------ page 1 blocks
    def _window(self, pdf: Any) -> None:
        company = self.context.get("company") or {}
        recipient = self.context.get("recipient") or {}
        x, width = WINDOW_X + WINDOW_PAD, WINDOW_W - 2 * WINDOW_PAD
        align = self._start()
        # return address: small print at the top of the window, underlined; never cut (the post office returns
        # undeliverable mail to it): one line, shrunk a little, else wrapped over two or three lines
        rule_y = self._return_address(pdf, x, width, align, company)
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.1)
        pdf.line(x, rule_y, x + width, rule_y)
        lines = [recipient.get("name", ""), *recipient.get("address_lines", [])]
        lines = [clean_text(str(ln)).strip() for ln in lines if ln and str(ln).strip()][:MAX_RECIPIENT_LINES]
        size = 10.0
        self._font(pdf, size)
        while size > 8.0 and any(self._width(pdf, ln) > width for ln in lines):
            size -= 0.5
            self._font(pdf, size)
        top = max(WINDOW_Y + 9.0, rule_y + 3.4)
        leading = min(4.6, (WINDOW_Y + WINDOW_H - 1.0 - top) / max(len(lines), 1))
        y = top
        for text in lines:
            self._put(pdf, x, y, width, leading, self._fit(pdf, text, width), align)
            y += leading

    def _return_address(self, pdf: Any, x: float, width: float, align: str, company: Mapping[str, Any]) -> float:
        """Draw the sender line(s) at the top of the window; returns the y of the rule under them."""
        parts = [clean_text(str(p)).strip() for p in [company.get("name", ""), *company.get("address_lines", [])]]
        parts = [p for i, p in enumerate(parts) if p and p not in parts[:i]]  # a line repeating the name: once
        sender = RETURN_SEPARATOR.join(parts)
        size = RETURN_SIZE
        self._font(pdf, size, color=GREY)
        while size > RETURN_ONE_LINE_MIN and self._width(pdf, sender) > width:
            size -= 0.25
            self._font(pdf, size, color=GREY)
        if self._width(pdf, sender) <= width:
            self._put(pdf, x, WINDOW_Y + 2.0, width, 3.2, sender, align)
            return WINDOW_Y + 5.6
        # too long for one line even at the smallest size: wrap it (at the separators where possible)
        self._font(pdf, RETURN_WRAP_SIZE, color=GREY)
        wrapped = self._wrap_parts(pdf, [p for p in parts if p], width)
        while len(wrapped) > RETURN_MAX_LINES and pdf.font_size_pt > RETURN_MIN_SIZE:
            self._font(pdf, pdf.font_size_pt - 0.25, color=GREY)
            wrapped = self._wrap_parts(pdf, [p for p in parts if p], width)
        height = 0.42 * pdf.font_size_pt + 0.2
        y = WINDOW_Y + 1.2
        for text in wrapped:
            self._put(pdf, x, y, width, height, text, align)
            y += height
        return y + 0.6

    def _wrap_parts(self, pdf: Any, parts: Sequence[str], width: float) -> list[str]:
        """Join ``parts`` with the separator into lines no wider than ``width`` (a part too long for a line on its
        own is wrapped by words)."""
        lines: list[str] = []
        current = ""
        for part in parts:
            candidate = f"{current}{RETURN_SEPARATOR}{part}" if current else part
            if self._width(pdf, candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            pieces = self.wrap(pdf, part, width)
            lines.extend(pieces[:-1])
            current = pieces[-1] if pieces else ""
        if current:
            lines.append(current)
        return lines

    def _today(self) -> str:
        dates = self.context.get("dates") or {}
        return str(dates.get("today") or self.context.get("today") or "")

    def _info_block(self, pdf: Any) -> None:
        account = self.context.get("account") or {}
        items = [
            (self.labels["date"], self._today()),
            (self.labels["account"], str(account.get("id") or "")),
            (self.labels["reference"], str(self.context.get("reference") or "")),
        ]
        y = INFO_Y
        align = self._start()
        for label, value in items:
            if not value:
                continue
            self._font(pdf, 7.5, color=GREY)
            self._put(pdf, INFO_X, y, INFO_W, 3.6, label, align)
            self._font(pdf, 9.5)
            self._put(pdf, INFO_X, y + 3.6, INFO_W, 4.6, self._fit(pdf, value, INFO_W), align)
            y += 10.0

    # ------------------------------------------------------------------ body
    def _paragraph(self, pdf: Any, lines: Sequence[TextLine], *, size: float, leading: float) -> None:
        """Each hard line is a bidi paragraph (UAX #9 P1: a newline separates paragraphs); its direction,
        from its first strong character or else the letter's, holds for all its wrapped lines."""
        align = "R" if self.rtl else "L"
        indent = 5.0
        default = "rtl" if self.rtl else "ltr"
        for line in lines:
            line_direction = strong_direction(line.text) or default
            self._font(pdf, size, bold=line.bold)
            width = TEXT_W - (indent if line.bullet else 0.0)
            for number, text in enumerate(self.wrap(pdf, line.text, width)):
                if pdf.will_page_break(leading):
                    pdf.add_page()
                    self._font(pdf, size, bold=line.bold)
                y = pdf.get_y()
                x = LEFT + (indent if line.bullet and not self.rtl else 0.0)
                if line.bullet and number == 0:
                    self._put(pdf, self._mirror(LEFT, indent), y, indent, leading, "•", align, bidi=False)
                # the hard line's direction holds for all its wrapped lines; only a wrapped line of a
                # left-to-right paragraph without right-to-left characters can skip the bidi algorithm
                bidi = line_direction == "rtl" or _NEEDS_BIDI.search(text) is not None
                self._put(pdf, x, y, width, leading, text, align, bidi=bidi, direction=line_direction)
                pdf.set_xy(LEFT, y + leading)

    # ------------------------------------------------------------------ invoice table
    def _columns(self) -> list[tuple[str, float, str]]:
        """(key, width, alignment) in visual order, left to right."""
        columns = [
            ("number", 41.0, self._start()),
            ("invoice_date", 27.0, "C"),
            ("due_date", 27.0, "C"),
            ("amount", 35.0, "R"),
            ("open", 35.0, "R"),
        ]
        return list(reversed(columns)) if self.rtl else columns

    def _invoice_table(self, pdf: Any) -> None:
        invoices = list(self.context.get("invoices") or [])
        if not invoices:
            return
        columns = self._columns()
        if pdf.will_page_break(TABLE_HEAD_H + 2 * TABLE_ROW_H):
            pdf.add_page()
        self._table_head(pdf, columns)
        pad = 1.4
        for inv in invoices:
            if pdf.will_page_break(TABLE_ROW_H):
                pdf.add_page()
                self._table_head(pdf, columns)
            y = pdf.get_y()
            x = LEFT
            for key, width, align in columns:
                overdue = key == "due_date" and bool(inv.get("overdue"))
                self._font(pdf, TABLE_SIZE, bold=overdue, color=ALERT if overdue else INK)
                text = self._fit(pdf, str(inv.get(key, "")), width - 2 * pad)
                self._put(pdf, x + pad, y, width - 2 * pad, TABLE_ROW_H, text, align)
                x += width
            pdf.set_draw_color(*RULE)
            pdf.set_line_width(0.1)
            pdf.line(LEFT, y + TABLE_ROW_H, LEFT + TEXT_W, y + TABLE_ROW_H)
            pdf.set_xy(LEFT, y + TABLE_ROW_H)
        totals = self.context.get("totals") or {}
        rows = [(self.labels["total_open"], str(totals.get("open", "")), True)]
        if totals.get("count_overdue"):
            rows.append((self.labels["total_overdue"], str(totals.get("overdue", "")), False))
        if pdf.will_page_break(len(rows) * TABLE_ROW_H + 1.0):
            pdf.add_page()
            self._table_head(pdf, columns)
        y = pdf.get_y()
        pdf.set_draw_color(*INK)
        pdf.set_line_width(0.3)
        pdf.line(LEFT, y, LEFT + TEXT_W, y)
        y += 0.6
        value_w = columns[0][1] if self.rtl else columns[-1][1]
        label_w = TEXT_W - value_w
        value_x = LEFT if self.rtl else LEFT + label_w
        label_x = LEFT + value_w if self.rtl else LEFT
        for label, value, bold in rows:
            self._font(pdf, TABLE_SIZE, bold=bold)
            self._put(pdf, label_x + pad, y, label_w - 2 * pad, TABLE_ROW_H, label, self._end())
            self._put(pdf, value_x + pad, y, value_w - 2 * pad, TABLE_ROW_H,
                      self._fit(pdf, value, value_w - 2 * pad), "R")
            y += TABLE_ROW_H
        pdf.set_xy(LEFT, y)

    def _table_head(self, pdf: Any, columns: Sequence[tuple[str, float, str]]) -> None:
        y = pdf.get_y()
        pdf.set_fill_color(*FILL)
        pdf.rect(LEFT, y, TEXT_W, TABLE_HEAD_H, style="F")
        self._font(pdf, TABLE_HEAD_SIZE, bold=True)
        x = LEFT
        pad = 1.4
        for key, width, align in columns:
            label = self.labels["invoice_no" if key == "number" else key]
            self._put(pdf, x + pad, y, width - 2 * pad, TABLE_HEAD_H, self._fit(pdf, label, width - 2 * pad),
                      align)
            x += width
        pdf.set_xy(LEFT, y + TABLE_HEAD_H)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


@cache
def _letter_pdf_class() -> type:
    """The fpdf2 document class, built on first use (importing fpdf costs ~0.4 s)."""
    from fpdf import FPDF

    class LetterPDF(FPDF):
        layout: LetterLayout

        def header(self) -> None:
            self.layout.header(self)

        def footer(self) -> None:
            self.layout.footer(self)

    return LetterPDF
