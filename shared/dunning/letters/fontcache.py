"""Letter fonts: prepared once per process from the shipped Noto files, attached to each document cheaply.

Why: ``FPDF.add_font`` parses a TTF (20-60 ms) and, at ``output()``, fontTools subsets the *whole* font
(25-45 ms: it decompiles GSUB/GPOS and every glyph's name, outline and metrics). Per letter that is far over
budget. So each *face* below is prepared on first use, in memory:

* ``latin``    Noto Sans reduced to Latin (Western/Central European, Turkish, Romanian ...), punctuation and
               currency signs (~380 glyphs), without hinting and layout tables;
* ``cyrillic`` the same plus Cyrillic;
* ``arabic``   Noto Sans Arabic reduced to the Arabic blocks *with* its OpenType layout (HarfBuzz shapes with
               it), merged with the ``latin`` glyphs so that Arabic letters (which quote invoice numbers,
               Latin names and addresses) need one face, not two;
* ``wide``     all of Noto Sans (Greek, Vietnamese ...): only attached, as a fallback, to letters that contain
               characters the chosen face lacks;
* ``hebrew``, ``devanagari``, ``thai``, ``emoji`` (monochrome Noto Emoji): fallback faces with their OpenType
               layout (HarfBuzz shapes them: Hebrew points and right-to-left order, Devanagari conjuncts, Thai
               marks, emoji sequences), attached only to letters with such characters;
* ``cjk``      Noto Sans CJK SC (one Pan-CJK face: Chinese, Japanese kana, Korean hangul; regular only, also
               used for bold). Its outlines are CFF, which :mod:`dunning.letters.embed` does not cut, so it is
               added with ``FPDF.add_font`` and subset by fpdf2: ~0.3 s CPU more for a letter that needs it.

A letter whose text has a character none of these can draw fails with :class:`UnprintableText` (naming the
characters) instead of printing a gap.

Every face has a regular and a bold style. A document gets a shallow copy of a prototype ``TTFFont`` (cmap,
widths and HarfBuzz font shared) and a fresh subset map; in place of a fontTools ``TTFont`` it gets the
face's shared, read-only :class:`~dunning.letters.embed.FontProgram`, which the layout's output hook
(:mod:`dunning.letters.embed`) cuts the embedded subset from: microseconds per document instead of the
4-5 ms of a per-document ``TTFont`` plus ~5 ms of fontTools subsetting at output.

Cold start (first letter of a container): ~60 ms per Latin/Cyrillic style, ~0.4 s per Arabic style (subset
with layout closure + merge); :func:`warm_up` does it ahead of time.

This reaches into fpdf2 internals (``TTFFont`` slots, ``FPDF.fonts``); fpdf2 is pinned ``>=2.8,<3``. If the
shortcut fails, :func:`attach_fonts` falls back to ``FPDF.add_font`` on the original files (slower; the
``latin``/``cyrillic`` faces then become full Noto Sans, ``arabic`` Noto Sans Arabic with Noto Sans as
fallback) and logs a warning once. The HarfBuzz font objects are shared between documents, so rendering
must be serialised (``dunning.letters.render`` holds a lock).
"""

from __future__ import annotations

import io
import logging
import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from dunning.templating import TemplateError

LOG = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
STYLES = ("", "B")
LATIN, CYRILLIC, ARABIC, WIDE = "latin", "cyrillic", "arabic", "wide"  # fpdf2 family names
HEBREW, DEVANAGARI, THAI, EMOJI, CJK = "hebrew", "devanagari", "thai", "emoji", "cjk"

Ranges = tuple[tuple[int, int], ...]
LATIN_RANGES: Ranges = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x017F),  # Latin-1 Supplement, Latin Extended-A
    (0x018F, 0x018F), (0x0259, 0x0259),  # schwa (Azerbaijani)
    (0x0218, 0x021B),  # S/T with comma below (Romanian)
    (0x02BB, 0x02BC), (0x02C6, 0x02C7), (0x02D8, 0x02DD),  # okina, apostrophe, spacing accents
    (0x2000, 0x206F),  # General Punctuation: dashes, quotes, bullet, no-break and zero-width spaces, bidi marks
    (0x20A0, 0x20C0),  # currency signs
    (0x2116, 0x2116), (0x2122, 0x2122), (0x2212, 0x2212),  # numero sign, trade mark, minus
    (0xFEFF, 0xFEFF), (0xFFFD, 0xFFFD),
)
CYRILLIC_RANGES: Ranges = ((0x0400, 0x052F),)
ARABIC_RANGES: Ranges = (
    (0x0600, 0x06FF),  # Arabic (incl. Persian/Urdu letters; the Arabic Supplement block is left out: -170 glyphs)
    (0xFE70, 0xFEFC),  # presentation forms B (legacy text)
    (0xFD3E, 0xFD3F), (0x200C, 0x200F), (0x25CC, 0x25CC),
)

_MARKS: Ranges = ((0x200C, 0x200F), (0x25CC, 0x25CC))  # joiners, bidi marks, the dotted circle HarfBuzz inserts
HEBREW_RANGES: Ranges = ((0x0590, 0x05FF), (0xFB1D, 0xFB4F), (0x20AA, 0x20AA), *_MARKS)
DEVANAGARI_RANGES: Ranges = ((0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x1CD0, 0x1CFF), (0x20B9, 0x20B9), *_MARKS)
THAI_RANGES: Ranges = ((0x0E00, 0x0E7F), *_MARKS)
EMOJI_RANGES: Ranges = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122), (0x2139, 0x2139),
    (0x2194, 0x21FF), (0x2300, 0x23FF), (0x24C2, 0x24C2), (0x25A0, 0x27BF), (0x2934, 0x2935), (0x2B00, 0x2BFF),
    (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3299), (0xFE0F, 0xFE0F), (0x200D, 0x200D), (0x20E3, 0x20E3),
    (0x1F000, 0x1FAFF), (0xE0020, 0xE007F),
)


@dataclass(frozen=True)
class FaceSpec:
    source: str  # file stem without style: NotoSans -> NotoSans-Regular.ttf / NotoSans-Bold.ttf
    ranges: Ranges | None  # None: every glyph of the file
    layout: bool = False  # keep GSUB/GPOS for HarfBuzz
    merge: Ranges | None = None  # Noto Sans glyphs merged in (arabic)
    external: bool = False  # added with FPDF.add_font and subset by fpdf2 (CFF outlines: cjk)
    shaped: bool = False  # text in this face needs HarfBuzz (and, for right-to-left scripts, bidi)


FACES: dict[str, FaceSpec] = {
    LATIN: FaceSpec("NotoSans", LATIN_RANGES),
    CYRILLIC: FaceSpec("NotoSans", LATIN_RANGES + CYRILLIC_RANGES),
    ARABIC: FaceSpec("NotoSansArabic", ARABIC_RANGES, layout=True, merge=LATIN_RANGES, shaped=True),
    WIDE: FaceSpec("NotoSans", None),
    HEBREW: FaceSpec("NotoSansHebrew", HEBREW_RANGES, layout=True, shaped=True),
    DEVANAGARI: FaceSpec("NotoSansDevanagari", DEVANAGARI_RANGES, layout=True, shaped=True),
    THAI: FaceSpec("NotoSansThai", THAI_RANGES, layout=True, shaped=True),
    CJK: FaceSpec("NotoSansCJKsc", None, external=True),
    EMOJI: FaceSpec("NotoEmoji", EMOJI_RANGES, layout=True, shaped=True),
}
FALLBACK_ORDER = (WIDE, CYRILLIC, ARABIC, HEBREW, DEVANAGARI, THAI, CJK, EMOJI)
# characters a letter may hold that no font needs to draw (controls, joiners, variation selectors, bidi marks)
_INVISIBLE = frozenset(("Cc", "Cf", "Zl", "Zp"))


class UnprintableText(TemplateError):
    """The letter holds characters that none of the letter fonts can draw (a ``TemplateError``: the letter
    cannot be produced, the contact fails with this message)."""

_LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "kern", "BASE", "JSTF", "MATH", "STAT", "morx")
_OTHER_DROPPED = ("FFTM", "DSIG", "hdmx", "LTSH", "VDMX", "PCLT")
_HINTING_TABLES = ("fpgm", "prep", "cvt ", "gasp")


@dataclass
class _Prepared:
    base: bytes  # the font a subset of which is embedded (no layout tables, no hinting)
    program: Any  # dunning.letters.embed.FontProgram of ``base``: subsetting, and the TTFont stand-in
    proto: Any  # fpdf.fonts.TTFFont parsed from ``base`` once
    cmap: frozenset[int]


_lock = threading.RLock()
_prepared: dict[tuple[str, str], _Prepared] = {}
_shortcut_failed = False


def font_path(source: str, style: str) -> Path:
    """The font file of a face's style; a face shipped in one style (cjk, emoji) uses it for bold too."""
    for name in (f"{source}-{'Bold' if style == 'B' else 'Regular'}", f"{source}-Regular"):
        for ext in (".ttf", ".otf"):
            path = FONT_DIR / f"{name}{ext}"
            if path.exists():
                return path
    return FONT_DIR / f"{source}-{'Bold' if style == 'B' else 'Regular'}.ttf"  # (missing: add_font says so)


_external_cmaps: dict[str, frozenset[int]] = {}


def coverage(face: str) -> frozenset[int]:
    """Code points the face can draw (regular and bold cover the same)."""
    spec = FACES[face]
    if spec.external:
        cmap = _external_cmaps.get(face)
        if cmap is None:
            from fontTools.ttLib import TTFont

            cmap = frozenset(TTFont(str(font_path(spec.source, "")), lazy=True).getBestCmap())
            _external_cmaps[face] = cmap
        return cmap
    return _get(face, "").cmap


def _may_cover(face: str, missing: set[int]) -> bool:
    """Cheap test before preparing a face: does any missing code point fall in the face's ranges?"""
    ranges = FACES[face].ranges
    if ranges is None:
        return True
    return any(lo <= cp <= hi for cp in missing for lo, hi in ranges)


def is_shaped(face: str) -> bool:
    return FACES[face].shaped


def choose_faces(chars: Iterable[str], *, rtl: bool) -> tuple[str, tuple[str, ...]]:
    """(main face, fallback faces) for a letter made of ``chars``. Raises :class:`UnprintableText` when some
    visible character is in none of the faces."""
    chars = set(chars)
    if rtl or any(0x0600 <= ord(c) <= 0x08FF or 0xFB50 <= ord(c) <= 0xFEFC for c in chars):
        main = ARABIC
    elif any(0x0400 <= ord(c) <= 0x052F for c in chars):
        main = CYRILLIC
    else:
        main = LATIN
    covered = coverage(main)
    missing = {ord(c) for c in chars if c >= " " and ord(c) not in covered}
    if not missing:
        return main, ()
    fallbacks: list[str] = []
    for face in FALLBACK_ORDER:
        if face == main or not _may_cover(face, missing):
            continue
        found = missing & coverage(face)
        if found:
            fallbacks.append(face)
            missing -= found
        if not missing:
            break
    unprintable = sorted(cp for cp in missing if unicodedata.category(chr(cp)) not in _INVISIBLE)
    if unprintable:
        shown = ", ".join(f"{chr(cp)!r} (U+{cp:04X} {unicodedata.name(chr(cp), 'unnamed')})"
                          for cp in unprintable[:8])
        more = f" and {len(unprintable) - 8} more" if len(unprintable) > 8 else ""
        raise UnprintableText(f"the letter has characters no letter font can print: {shown}{more}")
    return main, tuple(fallbacks)


def attach_fonts(pdf: Any, faces: Iterable[str]) -> tuple[str, ...]:
    """Register the regular and bold style of each face on ``pdf`` (an ``fpdf.FPDF``). Returns extra
    fallback faces the document needs (only in the degraded mode described in the module docstring)."""
    global _shortcut_failed
    extra: list[str] = []
    for face in faces:
        for style in STYLES:
            if FACES[face].external:  # parsed per document: fpdf2's subsetting changes the font object
                path = font_path(FACES[face].source, style)
                if style and path == font_path(FACES[face].source, ""):
                    continue  # one style only (cjk): bold text falls back to it (fallback fonts match any style)
                pdf.add_font(face, style, str(path))
                continue
            if not _shortcut_failed:
                try:
                    _attach(pdf, face, style)
                    continue
                except Exception:  # fpdf2 internals changed: fall back to the public API
                    _shortcut_failed = True
                    LOG.warning("letter font cache disabled; using FPDF.add_font", exc_info=True)
            pdf.fonts.pop(f"{face}{style}", None)
            pdf.add_font(face, style, str(font_path(FACES[face].source, style)))
            if face == ARABIC and f"{WIDE}{style}" not in pdf.fonts:
                pdf.add_font(WIDE, style, str(font_path("NotoSans", style)))
                if WIDE not in extra:
                    extra.append(WIDE)
    return tuple(extra)


def warm_up(faces: Iterable[str] = (LATIN, CYRILLIC, ARABIC), *, freeze_gc: bool = False) -> None:
    """Prepare faces ahead of the first letter (e.g. at Lambda init: ~1 s with Arabic, ~0.15 s without).

    ``freeze_gc=True`` then calls :func:`gc.freeze`, moving everything allocated so far (modules, fonts) out
    of the garbage collector's reach: a full collection over that heap costs 50-70 ms and, at letter rates,
    hits about 4 % of renders (p99 ~85 ms instead of ~25 ms for a Latin letter). Process-wide, so opt-in,
    meant for a Lambda's init code after all imports."""
    for face in faces:
        for style in STYLES:
            _get(face, style)
    if freeze_gc:
        import gc

        gc.collect()
        gc.freeze()


def _get(face: str, style: str) -> _Prepared:
    key = (face, style)
    prepared = _prepared.get(key)
    if prepared is None:
        with _lock:
            prepared = _prepared.get(key)
            if prepared is None:
                prepared = _prepare(FACES[face], face, style)
                _prepared[key] = prepared
    return prepared


def _attach(pdf: Any, face: str, style: str) -> None:
    from fpdf.fonts import SubsetMap, TTFFont

    prepared = _get(face, style)
    proto = prepared.proto
    cls: Any = _letter_font_class()
    font = cls.__new__(cls)
    for slot in TTFFont.__slots__:
        if hasattr(proto, slot):
            setattr(font, slot, getattr(proto, slot))
    fontkey = f"{face}{style}"
    font.i = len(pdf.fonts) + 1
    font.fontkey = fontkey
    # shared and read-only: the output hook (dunning.letters.embed) subsets from it without modifying it
    font.ttfont = prepared.program
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    pdf.fonts[fontkey] = font


def _prepare(spec: FaceSpec, face: str, style: str) -> _Prepared:
    import uharfbuzz as hb
    from fontTools.ttLib import TTFont
    from fpdf import FPDF
    from fpdf.fonts import HarfBuzzFont, TTFFont

    from dunning.letters.embed import FontProgram

    path = font_path(spec.source, style)
    if spec.ranges is None:
        shaping = base = _strip(path)
    elif spec.layout:
        shaping = _subset(path, spec.ranges, keep_layout=True)
        if spec.merge is not None:
            shaping = _merge(shaping, _subset(font_path("NotoSans", style), spec.merge))
        base = _without_layout(shaping)
    else:
        shaping = base = _subset(path, spec.ranges)
    hb_face = hb.Face(shaping)
    if TTFont(io.BytesIO(base), lazy=True)["maxp"].numGlyphs != hb_face.glyph_count:
        raise RuntimeError(f"{face}{style}: glyph order of the embedded and the shaping font differ")
    proto = TTFFont(FPDF(), cast(Any, io.BytesIO(base)), f"{face}{style}", style)
    proto._hbfont = HarfBuzzFont(hb_face)
    proto.ttfont = None  # documents get the FontProgram; this one would only keep ~1000 glyph objects alive
    return _Prepared(base=base, program=FontProgram(base), proto=proto, cmap=frozenset(proto.cmap))


def _subset(path: Path, ranges: Ranges, *, keep_layout: bool = False) -> bytes:
    """The glyphs for ``ranges`` (plus, with ``keep_layout``, what GSUB reaches from them), no hinting."""
    from fontTools import subset as ftsubset
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), recalcTimestamp=False, recalcBBoxes=False, lazy=None if keep_layout else True)
    dropped = [*_OTHER_DROPPED, *([] if keep_layout else _LAYOUT_TABLES)]
    for tag in dropped:
        if tag in font:
            del font[tag]
    options = ftsubset.Options()
    if not keep_layout:
        options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.name_IDs = ["*"]  # keep copyright / licence / version names
    options.name_languages = ["*"]
    options.drop_tables += dropped
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=[u for lo, hi in ranges for u in range(lo, hi + 1)])
    subsetter.subset(font)
    if not keep_layout:
        _single_cmap(font)
    return _save(font)


def _merge(first: bytes, second: bytes) -> bytes:
    """``second``'s glyphs added to ``first`` (whose layout tables, metrics and shared glyphs win)."""
    from fontTools import merge
    from fontTools.ttLib import TTFont

    merge_log = logging.getLogger("fontTools.merge")
    level = merge_log.level
    merge_log.setLevel(logging.ERROR)  # "non-identical duplicates" (digits, space ...) are expected
    try:
        merged = merge.Merger().merge([io.BytesIO(first), io.BytesIO(second)])
    finally:
        merge_log.setLevel(level)
    # the merger stamps the time into head.created/modified: keep the source's, so that PDFs are reproducible
    # from one process to the next
    source_head = TTFont(io.BytesIO(first), lazy=True)["head"]
    merged["head"].created, merged["head"].modified = source_head.created, source_head.modified
    merged.recalcTimestamp = False
    return _save(merged)


def _without_layout(data: bytes) -> bytes:
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    for tag in _LAYOUT_TABLES:
        if tag in font:
            del font[tag]
    _single_cmap(font)
    return _save(font)


def _strip(path: Path) -> bytes:
    """Every glyph in its original order; no layout tables, no hinting."""
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
    return _save(font)


def _save(font: Any) -> bytes:
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _single_cmap(font: Any) -> None:
    """Keep one Unicode cmap subtable: fontTools decompiles each of them for every document otherwise."""
    cmap = font["cmap"]
    if any(cp > 0xFFFF for cp in font.getBestCmap()):
        return
    bmp = [t for t in cmap.tables if (t.platformID, t.platEncID) == (3, 1)]
    if bmp:
        cmap.tables = bmp[:1]


# --------------------------------------------------------------------------- shaping cache
SHAPING_CACHE_SIZE = 2_000  # strings kept per face and style, then cleared (a letter shapes ~150; 0.1-10 KiB each)
_shaped: dict[str, dict[Any, Any]] = {}  # fontkey -> key -> HarfBuzz result
_plans: dict[str, dict[Any, Any]] = {}  # fontkey -> key -> shape_text result before the subset mapping


def _shaping_key(text: str, font_size_pt: float, params: dict[str, Any] | None) -> Any:
    """What fpdf2's ``perform_harfbuzz_shaping`` reads of its arguments."""
    if params is None:
        return text, font_size_pt, None
    features = params.get("features") or {}
    return (text, font_size_pt, tuple(sorted(features.items())), params.get("fragment_direction"),
            params.get("script"), params.get("language"))


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= SHAPING_CACHE_SIZE:
        cache.clear()
    cache[key] = value


_letter_font: type | None = None


def _letter_font_class() -> type:
    """``TTFFont`` whose HarfBuzz results are kept per process and face: labels, the company block, dates and
    the template's words repeat from letter to letter, and shaping a string (HarfBuzz, then fpdf2's cluster
    and glyph bookkeeping) is most of the cost of an Arabic letter. Only the per-document step (glyph ->
    code in the document's subset) runs every time; the result is what ``TTFFont.shape_text`` returns."""
    global _letter_font
    if _letter_font is not None:
        return _letter_font
    from fpdf.fonts import TTFFont

    class LetterFont(TTFFont):
        __slots__ = ()

        def perform_harfbuzz_shaping(self, text: str, font_size_pt: float,
                                     text_shaping_params: dict[str, Any] | None) -> Any:
            cache = _shaped.setdefault(self.fontkey, {})
            key = _shaping_key(text, font_size_pt, text_shaping_params)
            result = cache.get(key)
            if result is None:
                result = super().perform_harfbuzz_shaping(text, font_size_pt, text_shaping_params)
                _remember(cache, key, result)
            return result

        def shape_text(self, text: str, font_size_pt: float,
                       text_shaping_params: dict[str, Any] | None) -> list[dict[str, Any]]:
            if len(text) == 0:
                return []
            cache = _plans.setdefault(self.fontkey, {})
            key = _shaping_key(text, font_size_pt, text_shaping_params)
            plan = cache.get(key)
            if plan is None:
                plan = _shape_plan(self, text, font_size_pt, text_shaping_params)
                _remember(cache, key, plan)
            return _map_to_subset(self.subset, plan)

    _letter_font = LetterFont
    return LetterFont


def _shape_plan(font: Any, text: str, font_size_pt: float, params: dict[str, Any] | None) -> tuple[Any, ...]:
    """fpdf2 2.8's ``TTFFont.shape_text`` up to the subset mapping (same clusters, glyphs, positions): per glyph,
    ((glyph id, code points, glyph name, width), x advance, y advance, x offset, y offset, force positioning)."""
    glyph_infos, glyph_positions = font.perform_harfbuzz_shaping(text, font_size_pt, params)
    cluster_mapping = _cluster_mapping(text, glyph_infos)
    metrics = font.ttfont["hmtx"].metrics
    plan = []
    for seq, info in enumerate(glyph_infos):
        unicode: list[int] = []
        if info.cluster in cluster_mapping:
            unicode = [ord(text[index]) for index in cluster_mapping.pop(info.cluster)]
        gname = font.ttfont.getGlyphName(info.codepoint)
        gwidth = round(font.scale * metrics[gname][0])
        pos = glyph_positions[seq]
        force = (gwidth != pos.x_advance or pos.x_offset != 0 or pos.y_offset != 0
                 or pos.y_advance != 0)
        plan.append(((info.codepoint, tuple(unicode), gname, gwidth), pos.x_advance, pos.y_advance,
                     pos.x_offset, pos.y_offset, force))
    return tuple(plan)


def _cluster_mapping(text: str, glyph_infos: Any) -> dict[int, list[int]]:
    """HarfBuzz cluster -> the indices of ``text`` it covers (a character outside every cluster start belongs to
    the cluster before it), as fpdf2 computes it."""
    cluster_list = sorted(int(info.cluster) for info in glyph_infos)

    def cluster_of(index: int) -> int:
        pos = bisect_left(cluster_list, index)
        if pos == 0:
            return cluster_list[0]
        if pos == len(cluster_list) or cluster_list[pos] != index:
            return cluster_list[pos - 1]
        return cluster_list[pos]

    mapping: dict[int, list[int]] = {}
    for index in range(len(text)):
        mapping.setdefault(cluster_of(index), []).append(index)
    return mapping


def _map_to_subset(subset: Any, plan: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The per-document step of ``shape_text``: each planned glyph gets its code in the document's subset."""
    text_info = []
    for (gid, unicode, gname, gwidth), x_advance, y_advance, x_offset, y_offset, force in plan:
        glyph = subset.get_glyph(glyph=gid, unicode=unicode, glyph_name=gname, glyph_width=gwidth)
        if glyph is None:
            continue
        text_info.append({"mapped_char": subset.pick_glyph(glyph), "x_advance": x_advance,
                          "y_advance": y_advance, "x_offset": x_offset, "y_offset": y_offset,
                          "force_positioning": force})
    return text_info
