"""Import a saved HTML email (e.g. Outlook "Save as HTML") as an email template body (S2.11).

:func:`import_html_body` keeps what the message shows and drops what only the authoring tool needed:

- only the ``<body>`` content is kept (the whole document when it has no ``<body>``); ``<head>``, its
  ``<style>`` blocks and metadata go, so class-based Word styles are lost and **inline styles are kept**;
- dropped with their content: ``script``, ``style``, ``xml``, ``noscript``, ``template``, ``iframe``,
  ``object``, ``embed``, ``applet``; all comments, including Outlook conditional comments
  (``<!--[if gte mso 9]>...<![endif]-->``); ``<![if ...]>`` markers are dropped but their content kept;
- Office-namespaced tags (``o:p``, ``v:shape``, ``w:sdt``...) are unwrapped (content kept), as are
  ``span`` / ``font`` elements left with no attributes;
- ``mso-*`` declarations leave inline styles; ``Mso*`` class names, ``on*`` event handlers, namespaced
  attributes and ``javascript:`` / ``vbscript:`` / ``data:`` links (``data:image`` sources excepted) go.

Text is re-escaped (non-breaking spaces as ``&nbsp;``); ``{{ ... }}`` placeholders typed in the email
survive, so an author can write the template in Outlook. The result is then a Jinja2 source like any
other body: it is validated by rendering it, never trusted as markup.
"""

from __future__ import annotations

import codecs
import html as html_lib
import re
from html.parser import HTMLParser

_DROP_WITH_CONTENT = frozenset(
    {
        "head",
        "title",
        "script",
        "style",
        "xml",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "applet",
        "frame",
        "frameset",
        "meta",
        "link",
        "base",
    }
)
_UNWRAP_WHEN_BARE = frozenset({"span", "font"})
_UNWRAP = frozenset({"html", "body"})
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
_URL_ATTRS = frozenset({"href", "src", "action", "background", "formaction", "xlink:href"})
_BODY_TAG = re.compile(r"<body[\s>/]", re.IGNORECASE)


def _clean_style(value: str) -> str:
    keep = []
    for decl in value.replace("\n", " ").split(";"):
        prop, _, val = decl.partition(":")
        prop = prop.strip().lower()
        if prop and val.strip() and not prop.startswith("mso-") and "expression(" not in val.lower():
            keep.append(f"{prop}:{val.strip()}")
    return ";".join(keep)


def _clean_url(name: str, value: str) -> str | None:
    scheme = re.sub(r"[\s\x00-\x1f]", "", value).lower()
    if scheme.startswith(("javascript:", "vbscript:")):
        return None
    if scheme.startswith("data:") and not (name == "src" and scheme.startswith("data:image/")):
        return None
    return value


def _clean_attrs(attrs: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    out = []
    for name, raw in attrs:
        name = name.lower()
        value = raw or ""
        if name.startswith("on") or ":" in name or name == "xmlns":
            continue
        if name == "style":
            value = _clean_style(value)
        elif name == "class":
            value = " ".join(c for c in value.split() if not c.lower().startswith(("mso", "wordsection")))
        elif name in _URL_ATTRS:
            cleaned = _clean_url(name, value)
            if cleaned is None:
                continue
            value = cleaned
        if name in ("style", "class") and not value:
            continue
        out.append((name, value))
    return out


class _BodyCleaner(HTMLParser):
    def __init__(self, *, body_only: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.body_only = body_only
        self.in_body = not body_only
        self.body_done = False
        self.drop = 0
        self.out: list[str] = []
        self.open: list[tuple[str, bool]] = []  # (tag, emitted) for the elements that are open

    @property
    def _keeping(self) -> bool:
        return self.in_body and not self.drop and not self.body_done

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = not self.body_done
            return
        if tag in _DROP_WITH_CONTENT:
            if tag not in _VOID:
                self.drop += 1
            return
        if not self._keeping:
            return
        cleaned = _clean_attrs(attrs)
        emit = not (tag in _UNWRAP or ":" in tag or (tag in _UNWRAP_WHEN_BARE and not cleaned))
        if emit:
            rendered = "".join(f' {n}="{html_lib.escape(v, quote=True)}"' for n, v in cleaned)
            self.out.append(f"<{tag}{rendered}>")
        if tag not in _VOID:
            self.open.append((tag, emit))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "body":
            if self.body_only and self.in_body:
                self.body_done = True
            return
        if tag in _DROP_WITH_CONTENT:
            if tag not in _VOID:
                self.drop = max(self.drop - 1, 0)
            return
        if not self._keeping or tag in _VOID:
            return
        if all(t != tag for t, _ in self.open):
            return  # a stray end tag
        while self.open:  # close what was left open inside it, then it
            open_tag, emitted = self.open.pop()
            if emitted:
                self.out.append(f"</{open_tag}>")
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._keeping:
            self.out.append(html_lib.escape(data, quote=False).replace("\xa0", "&nbsp;"))

    def close(self) -> None:
        super().close()
        while self.open:
            tag, emitted = self.open.pop()
            if emitted:
                self.out.append(f"</{tag}>")

    # comments (incl. conditional comments), <![if ...]> markers, <!DOCTYPE>, <?xml ...?>: all dropped
    def handle_comment(self, data: str) -> None:
        return

    def unknown_decl(self, data: str) -> None:
        return

    def handle_decl(self, decl: str) -> None:
        return

    def handle_pi(self, data: str) -> None:
        return


def import_html_body(html: str) -> str:
    """Clean HTML for an email template body (see the module docs for what is kept and dropped)."""
    parser = _BodyCleaner(body_only=bool(_BODY_TAG.search(html)))
    parser.feed(html.replace("\r\n", "\n").replace("\r", "\n"))
    parser.close()
    text = "".join(parser.out)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)


def decode_html(data: bytes) -> str:
    """Decode a saved HTML file: a byte-order mark, else the ``<meta charset>`` (Outlook often saves
    windows-1252 or UTF-16), else UTF-8, else windows-1252 (which decodes anything)."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding)
    declared = _META_CHARSET.search(data[:4096])
    candidates = [declared.group(1).decode("ascii")] if declared else []
    for encoding in [*candidates, "utf-8"]:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")
