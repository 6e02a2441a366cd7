"""Derive the plain-text alternative of an HTML email. Stdlib only (:mod:`html.parser`).

Paragraphs and headings become blank-line separated blocks, ``<br>`` / ``<div>`` / table rows line breaks,
list items ``- `` lines (indented when nested), links ``text (url)``; script, style and head content is
dropped and (ASCII, as in HTML) whitespace collapsed; no-break spaces are kept, so ``R$&nbsp;10`` does
not break in the text part either. Text is never transliterated or re-ordered, so Arabic (including its
direction marks) and Cyrillic come through unchanged.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "xml"})
_PARAGRAPH = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "dl",
        "table",
        "blockquote",
        "pre",
        "address",
        "figure",
        "fieldset",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
    }
)
_LINE = frozenset({"div", "tr", "dt", "dd", "center", "form", "caption", "figcaption"})
_WS = re.compile(r"[ \t\n\r\f]+")  # HTML whitespace only: a no-break space stays one
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0
        self.lists = 0
        self.row_cells = 0
        self.links: list[tuple[str, int]] = []

    # -- output helpers
    def _tail(self) -> str:
        return "".join(self.out[-4:])

    def _newlines(self, count: int) -> None:
        """Make the output end with at least ``count`` line breaks (never at the very start)."""
        if not self.out:
            return
        while self.out and self.out[-1].endswith(" ") and not self.pre:
            self.out[-1] = self.out[-1].rstrip(" ")
        have = len(self._tail()) - len(self._tail().rstrip("\n"))
        if have < count:
            self.out.append("\n" * (count - have))

    def _at_line_start(self) -> bool:
        tail = self._tail()
        return not tail or tail.endswith(("\n", " "))

    def _gap(self, tag: str) -> int:
        """Blank line around paragraphs and top-level lists; a plain line break otherwise."""
        return 2 if tag in _PARAGRAPH and not (tag in ("ul", "ol") and self.lists) else 1

    # -- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self.out.append("\n")
        elif tag == "hr":
            self._newlines(2)
            self.out.append("----")
            self._newlines(2)
        elif tag == "li":
            self._newlines(1)
            self.out.append("  " * max(self.lists - 1, 0) + "- ")
        elif tag in ("td", "th"):
            if self.row_cells and not self._at_line_start():
                self.out.append(" ")
            self.row_cells += 1
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.out)))
        elif tag in _PARAGRAPH or tag in _LINE:
            self._newlines(self._gap(tag))
        if tag in ("ul", "ol"):
            self.lists += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "tr":
            self.row_cells = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(self.skip - 1, 0)
            return
        if self.skip:
            return
        if tag == "a" and self.links:
            href, start = self.links.pop()
            self._link_target(href, "".join(self.out[start:]).strip())
        elif tag in ("ul", "ol"):
            self.lists = max(self.lists - 1, 0)
            self._newlines(self._gap(tag))
        elif tag in _PARAGRAPH or tag in _LINE:
            self._newlines(self._gap(tag))
        elif tag == "li":
            self._newlines(1)
        if tag == "pre":
            self.pre = max(self.pre - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.skip or not data:
            return
        if self.pre:
            self.out.append(data)
            return
        text = _WS.sub(" ", data)
        if self._at_line_start():
            text = text.lstrip(" ")
        if text:
            self.out.append(text)

    def _link_target(self, href: str, text: str) -> None:
        href = href.strip()
        if not href.lower().startswith(_LINK_SCHEMES):
            return  # anchors, javascript:, relative links: the text alone says it
        shown = href[len("mailto:") :] if href.lower().startswith("mailto:") else href
        if not text:
            self.out.append(shown)
        elif shown not in text and text not in (href, shown):
            self.out.append(f" ({shown})")


def html_to_text(html: str) -> str:
    """The plain-text alternative of ``html`` (see the module docs for the rules)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
