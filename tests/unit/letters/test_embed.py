"""The font embedding of letters (dunning.letters.embed) and the shaping cache (dunning.letters.fontcache)."""

# ruff: noqa: RUF001 - multilingual sample text

from __future__ import annotations

import io
import re
import zlib
from typing import Any

import pytest

from dunning.letters import embed, fontcache
from dunning.letters.render import render_letter

from .support import TEMPLATE, make_context, normalize, pdftotext

LANGUAGES = ["en", "pt-BR", "ru", "ar"]
PROBES = {"en": "Kind regards,", "pt-BR": "Atenciosamente,", "ru": "С уважением,", "ar": "مع خالص التحية"}


def _streams(pdf: bytes) -> list[tuple[bytes, bytes]]:
    """(dictionary, raw stream data) of every stream object."""
    out = []
    for match in re.finditer(rb"\d+ 0 obj\s*<<(.*?)>>\s*stream\n", pdf, re.S):
        length_field = re.search(rb"/Length (\d+)", match.group(1))
        assert length_field is not None, match.group(1)
        length = int(length_field.group(1))
        out.append((match.group(1), pdf[match.end():match.end() + length]))
    return out


def _font_files(pdf: bytes) -> list[bytes]:
    return [zlib.decompress(data) for head, data in _streams(pdf) if b"/Length1" in head]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_stream_is_compressed_and_text_extracts(language: str) -> None:
    pdf = render_letter(TEMPLATE, make_context(language, 10), language=language).pdf
    streams = _streams(pdf)
    assert streams and all(b"/FlateDecode" in head for head, _ in streams)
    assert b"/CIDToGIDMap /Identity" in pdf and b"/ToUnicode" in pdf
    assert PROBES[language] in normalize(pdftotext(pdf))


@pytest.mark.parametrize("language", LANGUAGES)
def test_embedded_fonts_are_valid_truetype(language: str) -> None:
    from fontTools.ttLib import TTFont

    pdf = render_letter(TEMPLATE, make_context(language, 10), language=language).pdf
    files = _font_files(pdf)
    assert len(files) == 2  # regular and bold
    for data in files:
        font = TTFont(io.BytesIO(data))
        assert sorted(font.keys()) == ["GlyphOrder", "OS/2", "cmap", "gasp", "glyf", "head", "hhea", "hmtx",
                                       "loca", "maxp", "name", "post"]
        glyf = font["glyf"]
        for name in font.getGlyphOrder():
            glyf[name].getCoordinates(glyf)  # decodes, composites resolve to glyphs in the font
        assert font["maxp"].numGlyphs == len(font.getGlyphOrder())
        assert font["post"].formatType == 3.0
        font.save(io.BytesIO())


def test_subset_keeps_outlines_metrics_and_cmap() -> None:
    from fontTools.ttLib import TTFont

    program: embed.FontProgram = fontcache._get(fontcache.LATIN, "").program
    source = TTFont(io.BytesIO(fontcache._get(fontcache.LATIN, "").base))
    chars = "Aã ç€é"
    gids = [program.cmap[ord(c)] for c in chars]
    assert any(g in program.components for g in gids), "expected a composite glyph among the samples"
    chosen = [0, *gids, -1, -1]  # two empty slots
    data = program.subset(chosen, [(ord(c), i + 1) for i, c in enumerate(chars)])
    font = TTFont(io.BytesIO(data))
    order = font.getGlyphOrder()
    assert len(order) >= len(chosen)
    assert font.getBestCmap() == {ord(c): order[i + 1] for i, c in enumerate(chars)}
    src_glyf, glyf = source["glyf"], font["glyf"]
    for new, old in enumerate(chosen):
        if old < 0:
            assert glyf[order[new]].numberOfContours == 0 and font["hmtx"][order[new]] == (0, 0)
            continue
        old_name = source.getGlyphOrder()[old]
        coords, ends, flags = glyf[order[new]].getCoordinates(glyf)
        src_coords, src_ends, src_flags = src_glyf[old_name].getCoordinates(src_glyf)
        assert list(coords) == list(src_coords) and ends == src_ends and list(flags) == list(src_flags)
        assert font["hmtx"][order[new]] == source["hmtx"][old_name]


def test_cmap_format_4_with_gaps_and_single_code_points() -> None:
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables._c_m_a_p import table__c_m_a_p

    mapping = {0x20: 3, 0x41: 1, 0x42: 2, 0x45: 4, 0x100: 5, 0x20AC: 6}  # a gap of 2 inside a run, singles
    font = TTFont()
    font.setGlyphOrder([f"g{i}" for i in range(10)])
    table = table__c_m_a_p()
    table.decompile(embed._cmap4(mapping), font)
    assert table.getcmap(3, 1).cmap == {u: f"g{g}" for u, g in mapping.items()}


def test_shaping_cache_gives_what_fpdf2_gives() -> None:
    from fpdf import FPDF
    from fpdf.fonts import TTFFont

    texts = ["محمد عبد الله الشمري", "تذكير بالسداد", "1,234.56 ر.س.", "لا إله", "Aurora Utilities", "محمد"]
    pdf_a, pdf_b = FPDF(), FPDF()
    fontcache.attach_fonts(pdf_a, [fontcache.ARABIC])
    fontcache.attach_fonts(pdf_b, [fontcache.ARABIC])
    cached, plain = pdf_a.fonts["arabic"], pdf_b.fonts["arabic"]
    assert isinstance(cached, TTFFont) and isinstance(plain, TTFFont)
    params: dict[str, Any] = {"features": {}, "fragment_direction": None, "script": None, "language": None}
    fontcache._shaped.clear()
    fontcache._plans.clear()
    for _ in range(2):  # cold, then from the cache
        for text in texts:
            for size in (9.0, 10.0):
                assert cached.shape_text(text, size, params) == TTFFont.shape_text(plain, text, size, params)
                assert cached.shaped_text_width(text, size, params) == plain.shaped_text_width(text, size, params)
    assert list(cached.subset.items()) == list(plain.subset.items())


def test_cached_and_uncached_letters_are_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    first = render_letter(TEMPLATE, make_context("ar", 10), language="ar").pdf  # fills the caches
    cached = render_letter(TEMPLATE, make_context("ar", 10), language="ar").pdf
    monkeypatch.setattr(fontcache, "SHAPING_CACHE_SIZE", 0)  # every entry is dropped before the next one
    fontcache._shaped.clear()
    fontcache._plans.clear()
    uncached = render_letter(TEMPLATE, make_context("ar", 10), language="ar").pdf
    assert first == cached == uncached
