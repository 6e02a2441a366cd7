"""Letter fonts, parsed once per process and attached to each new fpdf2 document cheaply.

Why: ``FPDF.add_font`` parses the TTF (20-60 ms) and, at ``output()``, fontTools subsets the *whole* font
(25-45 ms: it decompiles GSUB/GPOS and every glyph's name/outline/metrics). Per letter that is far over the
budget, so on first use each face is *prepared* once:

* Noto Sans (Latin, Cyrillic): subset in memory to the scripts letters use (about 670 glyphs), without
  hinting and without OpenType layout tables. Text in these scripts is laid out without shaping.
* Noto Sans Arabic: hinting and layout tables removed, glyph order unchanged, so HarfBuzz can keep shaping
  with the *original* file (which has GSUB/GPOS) while fpdf2 maps its glyph ids onto the stripped copy.

Each document then gets a shallow copy of a prototype ``TTFFont`` (cmap, widths, HarfBuzz font shared), a
fresh subset map and its own fontTools ``TTFont`` (fpdf2's subsetter modifies it in place at output). That
``TTFont`` is unpickled from a snapshot taken after decompiling every table once, with
``recalcBBoxes=False`` so glyphs are copied rather than recompiled: ~5 ms per face instead of 15-25 ms.
The snapshot is made in this process from the shipped font files and never leaves it.

This reaches into fpdf2 internals (``TTFFont`` slots, ``FPDF.fonts``); fpdf2 is pinned ``>=2.8,<3``. If the
shortcut fails, :func:`attach_fonts` falls back to the public ``add_font`` (slower, same output) and logs
a warning once. Not thread-safe per document; the HarfBuzz font is shared, so callers serialise rendering
(``dunning.letters.render`` holds a lock).
"""

from __future__ import annotations

import io
import logging
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

LOG = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
LATIN = "notosans"  # family names as registered in fpdf2 (lower case)
ARABIC = "notosansarabic"
STYLES = ("", "B")

_FILES: dict[tuple[str, str], str] = {
    (LATIN, ""): "NotoSans-Regular.ttf",
    (LATIN, "B"): "NotoSans-Bold.ttf",
    (ARABIC, ""): "NotoSansArabic-Regular.ttf",
    (ARABIC, "B"): "NotoSansArabic-Bold.ttf",
}

# Unicode ranges kept in the prepared Latin/Cyrillic face. Anything else in a name falls back to .notdef
# (fpdf2 logs "missing glyphs"); extend here if recipients need more (e.g. Greek 0x370-0x3FF).
LATIN_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x017F),  # Latin-1 Supplement, Latin Extended-A (pt, es, fr, de, pl, cz, tr ...)
    (0x0180, 0x024F),  # Latin Extended-B (ro ș ț, Africa, Vietnamese bases)
    (0x02B9, 0x02DD),  # modifier letters ʻ ʼ ˆ ˇ ˘ ˙ ˚ ˛ ˜ ˝
    (0x0300, 0x036F),  # combining diacritics (text is NFC-normalised first, this is the rest)
    (0x0400, 0x052F),  # Cyrillic + supplement (ru, uk, be, bg, sr, kk ...)
    (0x1E00, 0x1EFF),  # Latin Extended Additional (vi)
    (0x2000, 0x206F),  # General Punctuation (dashes, quotes, nbsp variants, bidi marks)
    (0x20A0, 0x20C0),  # currency signs (₽ € ₺ ₹ ...)
    (0x2100, 0x2122),  # № ℃ ™
    (0x2190, 0x2193),  # arrows
    (0x2212, 0x2212),  # minus
    (0x2022, 0x2022),  # bullet
    (0x25CF, 0x25CF),  # black circle
    (0xFEFF, 0xFEFF),
    (0xFFFD, 0xFFFD),
)
_LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "kern", "BASE", "JSTF", "MATH", "STAT", "morx")
_OTHER_DROPPED = ("FFTM", "DSIG", "hdmx", "LTSH", "VDMX", "PCLT")
_HINTING_TABLES = ("fpgm", "prep", "cvt ", "gasp")


@dataclass
class _Prepared:
    base: bytes  # the font fpdf2 embeds a subset of (no layout tables, no hinting)
    snapshot: bytes  # pickled, fully decompiled fontTools TTFont of ``base``
    proto: Any  # fpdf.fonts.TTFFont parsed from ``base`` once
    hbfont: Any  # fpdf.fonts.HarfBuzzFont used for shaping


_lock = threading.Lock()
_prepared: dict[tuple[str, str], _Prepared] = {}
_shortcut_failed = False


def font_path(family: str, style: str) -> Path:
    return FONT_DIR / _FILES[(family, style)]


def attach_fonts(pdf: Any, families: tuple[str, ...]) -> None:
    """Register regular + bold of each family on ``pdf`` (an ``fpdf.FPDF``)."""
    global _shortcut_failed
    for family in families:
        for style in STYLES:
            if not _shortcut_failed:
                try:
                    _attach(pdf, family, style)
                    continue
                except Exception:  # fpdf2 internals changed: fall back to the public API
                    _shortcut_failed = True
                    LOG.warning("letter font cache disabled; using FPDF.add_font", exc_info=True)
            pdf.fonts.pop(f"{family}{style}", None)
            pdf.add_font(family, style, str(font_path(family, style)))


def warm_up(families: tuple[str, ...] = (LATIN, ARABIC)) -> None:
    """Prepare fonts ahead of the first letter (e.g. at Lambda init)."""
    for family in families:
        for style in STYLES:
            _get(family, style)


def _get(family: str, style: str) -> _Prepared:
    key = (family, style)
    prepared = _prepared.get(key)
    if prepared is None:
        with _lock:
            prepared = _prepared.get(key)
            if prepared is None:
                prepared = _prepare(family, style)
                _prepared[key] = prepared
    return prepared


def _attach(pdf: Any, family: str, style: str) -> None:
    from fpdf.fonts import SubsetMap, TTFFont

    prepared = _get(family, style)
    proto = prepared.proto
    font = TTFFont.__new__(TTFFont)
    for slot in TTFFont.__slots__:
        if hasattr(proto, slot):
            setattr(font, slot, getattr(proto, slot))
    fontkey = f"{family}{style}"
    font.i = len(pdf.fonts) + 1
    font.fontkey = fontkey
    # fontTools' subsetter modifies the TTFont in place at output(): every document needs its own
    font.ttfont = pickle.loads(prepared.snapshot)  # noqa: S301 - our own snapshot, made in _prepare
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    pdf.fonts[fontkey] = font


def _prepare(family: str, style: str) -> _Prepared:
    import uharfbuzz as hb
    from fontTools.ttLib import TTFont
    from fpdf import FPDF
    from fpdf.fonts import HarfBuzzFont, TTFFont

    path = font_path(family, style)
    if family == ARABIC:
        base = _strip(path)
        hb_face = hb.Face(hb.Blob.from_file_path(str(path)))  # original file: GSUB/GPOS for shaping
        check = TTFont(io.BytesIO(base), lazy=True)
        if check["maxp"].numGlyphs != hb_face.glyph_count:
            raise RuntimeError(f"{path.name}: prepared glyph order differs from the original")
    else:
        base = _subset(path, LATIN_RANGES)
        hb_face = hb.Face(base)
    proto = TTFFont(FPDF(), cast(Any, io.BytesIO(base)), f"{family}{style}", style)
    proto._hbfont = HarfBuzzFont(hb_face)
    return _Prepared(base=base, snapshot=_snapshot(base), proto=proto, hbfont=proto._hbfont)


def _snapshot(base: bytes) -> bytes:
    """Decompile every table (glyph outlines stay packed) and pickle the result."""
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(base), recalcTimestamp=False, recalcBBoxes=False)
    font.getGlyphOrder()
    for tag in font.keys():
        if tag != "GlyphOrder":
            font[tag]
    for subtable in font["cmap"].tables:
        subtable.ensureDecompiled()
    font.reader = None  # everything is loaded; nothing refers back to the bytes
    return pickle.dumps(font, protocol=pickle.HIGHEST_PROTOCOL)


def _subset(path: Path, ranges: tuple[tuple[int, int], ...]) -> bytes:
    from fontTools import subset as ftsubset
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    for tag in (*_LAYOUT_TABLES, *_OTHER_DROPPED):
        if tag in font:
            del font[tag]
    options = ftsubset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.name_IDs = ["*"]  # keep copyright / licence / version names
    options.name_languages = ["*"]
    options.drop_tables += [*_LAYOUT_TABLES, *_OTHER_DROPPED]
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=[u for lo, hi in ranges for u in range(lo, hi + 1)])
    subsetter.subset(font)
    _single_cmap(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _strip(path: Path) -> bytes:
    """Drop layout + hinting, keep every glyph in its original order."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    for tag in (*_LAYOUT_TABLES, *_OTHER_DROPPED, *_HINTING_TABLES):
        if tag in font:
            del font[tag]
    glyf = font["glyf"]
    for name in font.getGlyphOrder():
        glyf[name].removeHinting()
    maxp = font["maxp"]
    for attr in ("maxSizeOfInstructions", "maxFunctionDefs", "maxInstructionDefs", "maxStackElements",
                 "maxTwilightPoints", "maxStorage"):
        if hasattr(maxp, attr):
            setattr(maxp, attr, 0)
    maxp.maxZones = 1
    _single_cmap(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _single_cmap(font: Any) -> None:
    """Keep one Unicode cmap subtable: fontTools decompiles all of them for every document otherwise."""
    cmap = font["cmap"]
    if any(cp > 0xFFFF for cp in font.getBestCmap()):
        return
    bmp = [t for t in cmap.tables if (t.platformID, t.platEncID) == (3, 1)]
    if bmp:
        cmap.tables = bmp[:1]
