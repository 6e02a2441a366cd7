from __future__ import annotations

from pathlib import Path

import pytest

from dunning.letters import fontcache
from dunning.letters.render import render_letter

from .support import TEMPLATE, make_context, normalize, pdftotext, template


def test_a_face_is_chosen_by_the_characters_of_the_letter() -> None:
    assert fontcache.choose_faces("Olá, João — €1.234,56", rtl=False) == (fontcache.LATIN, ())
    assert fontcache.choose_faces("Ольга №5 ₽", rtl=False) == (fontcache.CYRILLIC, ())
    assert fontcache.choose_faces("محمد INV-1", rtl=True) == (fontcache.ARABIC, ())
    assert fontcache.choose_faces("Dear محمد", rtl=False) == (fontcache.ARABIC, ())
    assert fontcache.choose_faces("Νίκος Παπαδόπουλος", rtl=False) == (fontcache.LATIN, (fontcache.WIDE,))
    # the first fallback that has a character draws it: Noto Sans (wide) has Cyrillic too
    assert fontcache.choose_faces("محمد Ольга", rtl=True) == (fontcache.ARABIC, (fontcache.WIDE,))
    assert fontcache.choose_faces("Dear שרה 王", rtl=False) == (fontcache.LATIN, (fontcache.HEBREW, fontcache.CJK))


def test_shipped_fonts_and_licence() -> None:
    files = sorted(p.name for p in fontcache.FONT_DIR.iterdir())
    assert files == ["NotoEmoji-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Regular.ttf",
                     "NotoSansArabic-Bold.ttf", "NotoSansArabic-Regular.ttf", "NotoSansCJKsc-Regular.otf",
                     "NotoSansDevanagari-Bold.ttf", "NotoSansDevanagari-Regular.ttf", "NotoSansHebrew-Bold.ttf",
                     "NotoSansHebrew-Regular.ttf", "NotoSansThai-Bold.ttf", "NotoSansThai-Regular.ttf", "OFL.txt"]
    # one CJK face, regular only (bold uses it): the folder stays under 17 MB (the letters layer)
    assert sum(p.stat().st_size for p in fontcache.FONT_DIR.iterdir()) < 17 * 1024 * 1024
    licence = (fontcache.FONT_DIR / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE" in licence and "Version 1.1" in licence


def test_a_greek_name_in_a_portuguese_letter_uses_the_wide_fallback() -> None:
    ctx = make_context("pt-BR", 2)
    ctx["recipient"]["name"] = "Νίκος Παπαδόπουλος"
    text = normalize(pdftotext(render_letter(TEMPLATE, ctx, language="pt-BR").pdf))
    assert "Νίκος Παπαδόπουλος" in text and "Prezado(a)" in text


def test_an_arabic_name_in_an_english_letter_is_shaped() -> None:
    body = "Dear {{ person.name }},\n\nplease pay {{ totals.open }}."
    ctx = make_context("en", 2)
    ctx["person"]["name"] = ctx["recipient"]["name"] = "محمد الشمري"
    text = normalize(pdftotext(render_letter(template(en=body), ctx, language="en").pdf))
    assert "Dear محمد الشمري," in text and "please pay €2,534.56." in text


def test_falls_back_to_fpdf_add_font_if_the_shortcut_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise AttributeError("fpdf2 changed")

    monkeypatch.setattr(fontcache, "_attach", broken)
    monkeypatch.setattr(fontcache, "_shortcut_failed", False)
    for language, probe in (("ru", "Ольга Сергеевна Кузнецова"), ("ar", "إذا كنتم قد سددتم المبلغ")):
        text = normalize(pdftotext(render_letter(TEMPLATE, make_context(language, 3), language=language).pdf))
        assert probe in text and "INV-2025-0003" in text
    assert fontcache._shortcut_failed


def test_font_files_resolve_inside_the_package() -> None:
    for face in fontcache.FACES.values():
        for style in fontcache.STYLES:
            path = fontcache.font_path(face.source, style)
            assert path.is_file() and Path(fontcache.__file__).parent in path.parents
