"""Embedding the letter fonts: a small TrueType subsetter and an fpdf2 output hook that uses it.

fpdf2 embeds a TrueType font by running fontTools' subsetter over a per-document ``TTFont`` (which it
modifies in place) and writing a 128 KiB ``CIDToGIDMap`` plus an uncompressed ``ToUnicode`` CMap. For a
letter that is ~10 ms of the ~15 ms it takes, and ~2.5 KiB of the file. The faces of
:mod:`dunning.letters.fontcache` are already reduced, hint-free TrueType fonts; :class:`FontProgram` parses
one once per process and cuts a subset from the raw glyph records:

* glyph ids in the subset *are* the character codes fpdf2 put in the content stream (``SubsetMap`` hands
  out compact codes from 1, with 0 = .notdef and 32 = space), so the font gets ``/CIDToGIDMap /Identity``
  instead of a map stream; unused codes below the highest one are empty glyphs, components of composite
  glyphs are appended after it (their references rewritten);
* tables as fontTools' subsetter writes them for fpdf2: head, hhea, maxp, OS/2, hmtx, cmap (format 4,
  the letters' characters), loca, glyf, name (ids 0-6, English), post (format 3), gasp;
* the font file is compressed at zlib level 9, the ``ToUnicode`` CMap is compressed too (fpdf2 stores it
  plain), ``CIDSystemInfo`` is written inline.

The same object also stands in for the per-document fontTools ``TTFont`` while text is shaped (fpdf2 only
asks it for glyph names and advance widths then), so a document no longer unpickles one per font.

:class:`LetterOutputProducer` uses this for fonts attached by :func:`dunning.letters.fontcache.attach_fonts`
(``font.ttfont`` is a :class:`FontProgram`) and leaves every other font to fpdf2.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

LOG = logging.getLogger(__name__)

_NAME_IDS = range(7)  # copyright, family, subfamily, unique id, full name, version, PostScript name
_COPIED = ("OS/2", "gasp")  # copied as they are (if present)
# composite glyph flags
_ARG_WORDS, _HAVE_SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 0x0001, 0x0008, 0x0020, 0x0040, 0x0080
_TO_UNICODE_HEAD = (
    "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
    "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
    "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
    "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
)
_TO_UNICODE_TAIL = "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"


class FontProgram:
    """A TrueType font (glyf outlines, no hinting) parsed for fast subsetting; read-only once built."""

    def __init__(self, data: bytes) -> None:
        from fontTools.ttLib import TTFont

        tables = _tables(data)
        font = TTFont(io.BytesIO(data), lazy=True)
        self.glyph_order: list[str] = list(font.getGlyphOrder())
        self.gid: dict[str, int] = {name: i for i, name in enumerate(self.glyph_order)}
        metrics = font["hmtx"].metrics
        self.hmtx = SimpleNamespace(metrics=dict(metrics))  # fpdf2's shape_text reads ttfont["hmtx"].metrics
        self.advances: list[tuple[int, int]] = [(metrics[n][0], metrics[n][1]) for n in self.glyph_order]
        self.cmap: dict[int, int] = {uni: self.gid[name] for uni, name in (font.getBestCmap() or {}).items()}
        count = len(self.glyph_order)
        long_loca = struct.unpack_from(">h", tables["head"], 50)[0] == 1
        loca = tables["loca"]
        offsets = (struct.unpack(f">{count + 1}I", loca[:4 * (count + 1)]) if long_loca
                   else [2 * o for o in struct.unpack(f">{count + 1}H", loca[:2 * (count + 1)])])
        glyf = tables["glyf"]
        self.glyphs: list[bytes] = [glyf[offsets[i]:offsets[i + 1]] for i in range(count)]
        # composite glyphs: (byte offset of a component's glyph index, component glyph id)
        self.components: dict[int, list[tuple[int, int]]] = {}
        for gid, record in enumerate(self.glyphs):
            if len(record) >= 10 and struct.unpack_from(">h", record, 0)[0] < 0:
                self.components[gid] = _components(record)
        self.head, self.hhea, self.maxp = tables["head"], tables["hhea"], tables["maxp"]
        self.copied = {tag: tables[tag] for tag in _COPIED if tag in tables}
        self.post = struct.pack(">I", 0x00030000) + tables["post"][4:32]
        name = font["name"]
        name.names = [n for n in name.names if n.nameID in _NAME_IDS and n.platformID == 3 and n.langID == 0x409]
        self.name = name.compile(font)

    # ---------------------------------------------------------------- stand-in for fontTools' TTFont
    def getGlyphName(self, gid: int) -> str:  # the TTFont method fpdf2 calls
        return self.glyph_order[gid]

    def __getitem__(self, tag: str) -> Any:
        if tag == "hmtx":
            return self.hmtx
        raise KeyError(tag)

    def close(self) -> None:
        """fpdf2 closes a document's font after output; this one is shared and stays open."""

    # ---------------------------------------------------------------- subsetting
    def subset(self, chosen: Sequence[int], unicodes: Iterable[tuple[int, int]] = ()) -> bytes:
        """A font whose glyph ``i`` is glyph ``chosen[i]`` of this one (-1: an empty glyph); composite glyphs'
        components are appended. ``unicodes`` are (code point, new glyph id) pairs for the cmap."""
        order = list(chosen)
        new_of: dict[int, int] = {}
        for new, old in enumerate(order):
            if old >= 0:
                new_of.setdefault(old, new)
        index = 0
        while index < len(order):  # components (and theirs) get ids after the chosen glyphs
            for _, comp in self.components.get(order[index], ()):
                if comp not in new_of:
                    new_of[comp] = len(order)
                    order.append(comp)
            index += 1
        records: list[bytes] = []
        hmtx = bytearray()
        for old in order:
            if old < 0:
                records.append(b"")
                hmtx += b"\0\0\0\0"
                continue
            record = self.glyphs[old]
            refs = self.components.get(old)
            if refs:
                patched = bytearray(record)
                for offset, comp in refs:
                    struct.pack_into(">H", patched, offset, new_of[comp])
                record = bytes(patched)
            if len(record) % 2:
                record += b"\0"
            records.append(record)
            advance, lsb = self.advances[old]
            hmtx += struct.pack(">Hh", advance, lsb)
        count = len(order)
        offsets = [0]
        for record in records:
            offsets.append(offsets[-1] + len(record))
        short = offsets[-1] < 0x20000
        loca = (struct.pack(f">{count + 1}H", *(o // 2 for o in offsets)) if short
                else struct.pack(f">{count + 1}I", *offsets))
        head = bytearray(self.head)
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set below
        struct.pack_into(">h", head, 50, 0 if short else 1)
        hhea = bytearray(self.hhea)
        struct.pack_into(">H", hhea, 34, count)
        maxp = bytearray(self.maxp)
        struct.pack_into(">H", maxp, 4, count)
        tables = {
            "head": bytes(head), "hhea": bytes(hhea), "maxp": bytes(maxp), "hmtx": bytes(hmtx),
            "cmap": _cmap4(dict(unicodes)), "loca": loca, "glyf": b"".join(records), "name": self.name,
            "post": self.post, **self.copied,
        }
        return _sfnt(tables)


def _tables(data: bytes) -> dict[str, bytes]:
    count = struct.unpack_from(">H", data, 4)[0]
    out = {}
    for i in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        out[tag.decode("latin-1")] = data[offset:offset + length]
    return out


def _components(record: bytes) -> list[tuple[int, int]]:
    refs = []
    pos = 10
    while True:
        flags, gid = struct.unpack_from(">HH", record, pos)
        refs.append((pos + 2, gid))
        pos += 4 + (4 if flags & _ARG_WORDS else 2)
        pos += 2 if flags & _HAVE_SCALE else 4 if flags & _XY_SCALE else 8 if flags & _TWO_BY_TWO else 0
        if not flags & _MORE:
            return refs


def _cmap4(mapping: dict[int, int]) -> bytes:
    """A cmap table with one (3, 1) format 4 subtable: a segment per run of code points less than 4 apart (a
    new segment costs 8 bytes, a gap 2 per code point), its glyph ids in the glyph id array (0 in the gaps);
    a segment of one code point has an id delta instead."""
    runs: list[list[tuple[int, int]]] = []
    for uni, gid in sorted((u, g) for u, g in mapping.items() if u < 0xFFFF):
        if runs and uni - runs[-1][-1][0] <= 4:
            runs[-1].extend((gap, 0) for gap in range(runs[-1][-1][0] + 1, uni))
            runs[-1].append((uni, gid))
        else:
            runs.append([(uni, gid)])
    seg = len(runs) + 1
    starts: list[int] = []
    ends: list[int] = []
    deltas: list[int] = []
    range_offsets: list[int] = []
    glyph_ids: list[int] = []
    for index, run in enumerate(runs):
        starts.append(run[0][0])
        ends.append(run[-1][0])
        if len(run) == 1:
            deltas.append((run[0][1] - run[0][0]) & 0xFFFF)
            range_offsets.append(0)
        else:
            deltas.append(0)
            range_offsets.append(2 * (seg - index + len(glyph_ids)))
            glyph_ids.extend(gid for _, gid in run)
    starts.append(0xFFFF)
    ends.append(0xFFFF)
    deltas.append(1)
    range_offsets.append(0)
    search = 2 * (1 << (seg.bit_length() - 1))
    selector = seg.bit_length() - 1
    body = struct.pack(f">HHHH{seg}HH{seg}H{seg}H{seg}H{len(glyph_ids)}H", seg * 2, search, selector,
                       2 * seg - search, *ends, 0, *starts, *deltas, *range_offsets, *glyph_ids)
    subtable = struct.pack(">HHH", 4, 6 + len(body), 0) + body
    return struct.pack(">HHHHI", 0, 1, 3, 1, 12) + subtable


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def _sfnt(tables: dict[str, bytes]) -> bytes:
    tags = sorted(tables)
    count = len(tags)
    selector = count.bit_length() - 1
    search = 16 * (1 << selector)
    header = struct.pack(">IHHHH", 0x00010000, count, search, selector, 16 * count - search)
    directory = bytearray()
    body = bytearray()
    offset = 12 + 16 * count
    head_at = 0
    for tag in tags:
        data = tables[tag]
        if tag == "head":
            head_at = offset + len(body)
        directory += struct.pack(">4sIII", tag.encode("latin-1"), _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)


def to_unicode_cmap(pairs: Iterable[tuple[int, tuple[int, ...]]]) -> bytes:
    """The ``ToUnicode`` CMap text for (code, code points) pairs, as fpdf2 writes it (bfchar blocks of 100)."""
    lines = []
    for code, text in sorted(pairs):
        units = "".join(_utf16(cp) for cp in text)
        lines.append(f"<{code:04X}> <{units}>\n")
    blocks = []
    for start in range(0, len(lines), 100):
        chunk = lines[start:start + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n{''.join(chunk)}endbfchar\n")
    return (_TO_UNICODE_HEAD + "".join(blocks) + _TO_UNICODE_TAIL).encode("latin-1")


def _utf16(code_point: int) -> str:
    if code_point > 0xFFFF:
        code_point -= 0x10000
        return f"{0xD800 | code_point >> 10:04X}{0xDC00 | code_point & 0x3FF:04X}"
    return f"{code_point:04X}"


def producer_class() -> type:
    """The fpdf2 ``OutputProducer`` subclass (built on first use: importing fpdf is slow)."""
    global _producer
    if _producer is None:
        _producer = _build_producer()
    return _producer


_producer: type | None = None


def _build_producer() -> type:
    from fpdf.output import OutputProducer, PDFFont, PDFFontStream, _tt_font_widths
    from fpdf.syntax import Name, PDFArray, PDFContentStream, Raw

    class _Stream(PDFContentStream):
        _COMPRESSION_LEVEL = 9

    class _FontFile(PDFFontStream):
        _COMPRESSION_LEVEL = 9

    class LetterOutputProducer(OutputProducer):
        def _add_fonts(self, *args: Any) -> dict[int, Any]:
            fonts = self.fpdf.fonts
            ours = _letter_font_keys(self.fpdf)
            out: dict[int, Any] = {}
            everything = dict(fonts)
            try:
                for key, font in sorted(everything.items(), key=lambda item: item[1].i):
                    if key in ours:
                        out[font.i] = self._add_letter_font(font)
                    else:  # fpdf2's own code for this one font (FPDF.fonts is a read-only property)
                        fonts.clear()
                        fonts[key] = font
                        out.update(super()._add_fonts(*args))
            finally:
                fonts.clear()
                fonts.update(everything)
            return out

        def _add_letter_font(self, font: Any) -> Any:
            fontname = f"MPDFAA+{font.name}"
            used, data = _letter_font_subset(font, fontname)
            type0 = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
            self._add_pdf_obj(type0, "fonts")
            cid_font = PDFFont(subtype="CIDFontType2", base_font=fontname, d_w=font.desc.missing_width,
                               w=_tt_font_widths(font))
            self._add_pdf_obj(cid_font, "fonts")
            type0.descendant_fonts = PDFArray([cid_font])
            to_unicode = _Stream(_to_unicode_of(used), compress=True)
            self._add_pdf_obj(to_unicode, "fonts")
            type0.to_unicode = to_unicode
            # fpdf2 types these as objects of their own; a letter writes them inline
            cid_font.c_i_d_system_info = Raw(  # type: ignore[assignment]
                "<< /Registry (Adobe) /Ordering (UCS) /Supplement 0 >>")
            cid_font.c_i_d_to_g_i_d_map = Name("Identity")  # type: ignore[assignment]
            descriptor = _copy(font.desc)  # shared by every document using the face: not to be mutated
            descriptor.font_name = Name(fontname)
            self._add_pdf_obj(descriptor, "fonts")
            cid_font.font_descriptor = descriptor
            font_file = _FontFile(contents=data)
            self._add_pdf_obj(font_file, "fonts")
            descriptor.font_file2 = font_file
            _release(font)
            return type0

    return LetterOutputProducer


def _letter_font_keys(fpdf: Any) -> set[str]:
    """The document's fonts this module embeds: those attached by :mod:`dunning.letters.fontcache` (their
    ``ttfont`` is a :class:`FontProgram`). None in a PDF/A document (never the case for letters): fpdf2 does it."""
    from fpdf.fonts import TTFFont

    if fpdf._compliance:
        return set()
    return {key for key, font in fpdf.fonts.items()
            if isinstance(font, TTFFont) and isinstance(font.ttfont, FontProgram)}


def _letter_font_subset(font: Any, fontname: str) -> tuple[list[tuple[int, Any]], bytes]:
    """The (code, glyph) pairs the document used of ``font``, and the font file for them: glyph id = code."""
    program: FontProgram = font.ttfont
    if font.missing_glyphs:
        LOG.warning("Font %s is missing the following glyphs: %s", fontname,
                    ", ".join(repr(chr(cp)) for cp in font.missing_glyphs[:10]))
    used = [(code, glyph) for glyph, code in font.subset.items() if glyph is not None]
    chosen = [-1] * (max((code for code, _ in used), default=0) + 1)
    chosen[0] = 0
    unicodes: dict[int, int] = {}
    for code, glyph in used:
        gid = program.gid.get(glyph.glyph_name, 0)
        chosen[code] = gid
        text = glyph.unicode if isinstance(glyph.unicode, tuple) else ()
        if len(text) == 1 and program.cmap.get(text[0]) == gid and text[0] not in unicodes:
            unicodes[text[0]] = code
    return used, program.subset(chosen, unicodes.items())


def _to_unicode_of(used: Iterable[tuple[int, Any]]) -> bytes:
    return to_unicode_cmap((code, glyph.unicode) for code, glyph in used
                           if isinstance(glyph.unicode, tuple) and glyph.unicode)


def _release(font: Any) -> None:
    """After output: the document's glyph caches go, the shared font program stays open (see FontProgram.close)."""
    font.subset.pick.cache_clear()
    font.subset.get_glyph.cache_clear()
    font.close()


def _copy(obj: Any) -> Any:
    import copy

    return copy.copy(obj)
