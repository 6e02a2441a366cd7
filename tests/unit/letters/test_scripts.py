"""Any script, or a clear failure: names and addresses in Hebrew, Chinese, Japanese, Korean, Devanagari, Thai,
Greek and emoji print with the right glyphs (Noto), read back with pdftotext in logical order; a character no
letter font has fails the letter with a message naming it."""



from __future__ import annotations

import copy
import re

import pytest

from dunning.letters import fontcache
from dunning.letters.render import render_letter
from dunning.templating import TemplateError
from tests.unit.letters.support import TEMPLATE, make_context, normalize, pdftotext, template, words_with_boxes

NAMES = {
    "hebrew": ("שרה כהן", ["רחוב הרצל 12", "תל אביב"]),
    "chinese": ("王小明", ["北京市朝阳区建国路88号"]),
    "japanese": ("山田 花子", ["東京都新宿区西新宿2-8-1"]),
    "korean": ("김민준", ["서울특별시 중구 세종대로 110"]),
    "devanagari": ("अनिल कुमार", ["मुंबई, महाराष्ट्र"]),
    "thai": ("สมชาย ใจดี", ["กรุงเทพมหานคร"]),
    "greek": ("Γιώργος Παπαδόπουλος", ["Οδός Ερμού 15", "Αθήνα"]),
    "emoji": ("Ana 🌻 Souza", ["Rua das Flores ☀ 12"]),
}


def letter_for(name: str, lines: list[str]) -> bytes:
    ctx = copy.deepcopy(make_context("en", 2))
    ctx["person"]["name"] = ctx["recipient"]["name"] = name
    ctx["recipient"]["address_lines"] = lines
    return render_letter(TEMPLATE, ctx, language="en").pdf


def squeeze(text: str) -> str:
    """Without whitespace: pdftotext may split a Devanagari word where a vowel sign is drawn before its consonant."""
    return re.sub(r"\s+", "", normalize(text))


@pytest.mark.parametrize("script", list(NAMES))
def test_given_a_name_in_any_script_when_the_letter_is_rendered_then_pdftotext_reads_it_back(script: str) -> None:
    name, lines = NAMES[script]
    pdf = letter_for(name, lines)
    text = normalize(pdftotext(pdf))  # poppler's reading order: logical order for right-to-left runs
    flat = " ".join(text.split())
    if script == "devanagari":
        assert squeeze(f"Dear {name},") in squeeze(text)
    else:
        assert f"Dear {name}," in flat  # the greeting: no "Dear ," with the name dropped
    for line in lines:  # (poppler puts a number before the words of a right-to-left line: compare the words)
        assert set(line.split()) <= set(flat.split()) or squeeze(line) in squeeze(text), line
    assert len(pdf) <= 40 * 1024, f"{script}: {len(pdf)} bytes"


@pytest.mark.parametrize(("script", "face"), [
    ("hebrew", fontcache.HEBREW), ("chinese", fontcache.CJK), ("japanese", fontcache.CJK),
    ("korean", fontcache.CJK), ("devanagari", fontcache.DEVANAGARI), ("thai", fontcache.THAI),
    ("greek", fontcache.WIDE), ("emoji", fontcache.EMOJI)])
def test_each_script_is_drawn_with_its_noto_face(script: str, face: str) -> None:
    name, lines = NAMES[script]
    _, fallbacks = fontcache.choose_faces(set(name + "".join(lines) + "Dear ,"), rtl=False)
    assert face in fallbacks


def test_given_a_hebrew_name_in_an_english_letter_then_it_runs_right_to_left() -> None:
    pdf = letter_for("שרה כהן", ["רחוב הרצל 12"])
    # pdftotext -bbox lists the glyphs of a word as drawn: right-to-left words come out reversed
    by_word = {w[0][::-1].strip(","): w for w in words_with_boxes(pdf) if w[2] > 95}  # the greeting
    assert by_word["שרה"][1] > by_word["כהן"][1], "the first name is to the right of the family name"


def test_given_a_hebrew_letter_then_it_is_laid_out_right_to_left() -> None:
    hebrew = template(he="שלום {{ person.name }},\n\nנא לשלם {{ totals.open }}.")
    ctx = make_context("en", 2)
    pdf = render_letter(hebrew, ctx, language="he").pdf
    text = normalize(pdftotext(pdf))
    assert "שלום" in text and "נא לשלם" in text
    greeting = next(w for w in words_with_boxes(pdf) if w[0][::-1] == "שלום" and w[2] > 95)
    assert greeting[3] > 180, "a right-to-left paragraph starts at the right margin"


def test_given_a_character_no_font_has_when_the_letter_is_rendered_then_it_fails_naming_the_character() -> None:
    with pytest.raises(TemplateError, match=r"no letter font can print: 'ሰ' \(U\+1230 ETHIOPIC SYLLABLE SA\)"):
        letter_for("ሰ", [])


def test_a_latin_letter_embeds_only_the_latin_face() -> None:
    pdf = letter_for("Margaret O'Connor", ["12 Harbour Road"])
    assert b"/FontFile2" in pdf
    assert pdf.count(b"/Type /FontDescriptor") == 2  # regular and bold of the one Latin face
    assert len(pdf) <= 30 * 1024


def test_bold_cjk_text_uses_the_one_cjk_face() -> None:
    bold = template(en="**请付款 王小明**\n\nDear {{ person.name }}").model_copy(
        update={"subjects": {"en": "付款提醒 {{ account.id }}"}})
    text = normalize(pdftotext(render_letter(bold, make_context("en", 1), language="en").pdf))
    assert "付款提醒 ACC-100200" in text and "请付款 王小明" in text
