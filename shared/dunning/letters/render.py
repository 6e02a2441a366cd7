"""Render a letter template into a PDF.

The subject and body are Jinja2 sources per language, rendered in the one sandboxed environment
(:func:`dunning.templating.render`, which raises :class:`~dunning.templating.TemplateError`). The body is
plain prose; the layout (:mod:`dunning.letters.layout`) adds letterhead, address window, info block,
subject, the invoice table and the page footer.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dunning.letters.context import INVOICE_TABLE_MARKER, NO_INVOICE_TABLE_MARKER, is_rtl, localize_context
from dunning.models.config import LetterTemplate
from dunning.templating import TemplateError, render

__all__ = ["RenderedLetter", "TemplateError", "letter_language", "render_letter"]

# The fonts' HarfBuzz objects are shared between documents (see dunning.letters.fontcache).
_render_lock = threading.Lock()


@dataclass(frozen=True)
class RenderedLetter:
    pdf: bytes
    pages: int
    language: str  # the language the letter was written in (after fallback)
    subject: str


def _pick(options: Mapping[str, Any], language: str) -> str | None:
    """The key of ``options`` for ``language``: exact (case-insensitive), then its base language ("pt" for
    "pt-BR"), then a regional variant of the base ("pt-BR" for "pt"). None when nothing matches."""
    if not language:
        return None
    by_lower = {key.lower(): key for key in options}
    wanted = language.lower().replace("_", "-")
    if wanted in by_lower:
        return by_lower[wanted]
    base = wanted.split("-")[0]
    if base in by_lower:
        return by_lower[base]
    variants = sorted(key for low, key in by_lower.items() if low.split("-")[0] == base)
    return variants[0] if variants else None


def letter_language(template: LetterTemplate, language: str) -> str:
    """The language a letter to a ``language`` recipient is written in: a body for the language or its base
    language, else the template's default language."""
    return _pick(template.bodies, language) or template.default_language


def render_letter(template: LetterTemplate, context: dict[str, Any], *, language: str) -> RenderedLetter:
    """Render ``template`` for a recipient speaking ``language`` into an A4 PDF.

    ``context`` comes from :func:`dunning.letters.context.build_letter_context`; if it was formatted for
    another language than the one the letter ends up in (fallback), it is re-formatted from its raw values
    so that amounts and dates match the letter's language. Raises ``TemplateError`` for a template that
    fails (syntax, unknown variable, sandbox violation).
    """
    from dunning.letters.layout import LetterLayout, parse_body

    lang = letter_language(template, language)
    if context.get("language") != lang and isinstance(context.get("raw"), Mapping):
        context = localize_context(context, lang)
    subject_key = _pick(template.subjects, lang) or _pick(template.subjects, template.default_language)
    subject = ""
    if subject_key is not None:
        subject = render(template.subjects[subject_key], context, name=f"{template.code}/{subject_key}/subject")
        for marker in (INVOICE_TABLE_MARKER, NO_INVOICE_TABLE_MARKER):  # layout markers mean nothing here
            subject = subject.replace(marker, "")
        subject = " ".join(subject.split())
    body = render(template.bodies[lang], context, name=f"{template.code}/{lang}/body")
    blocks = parse_body(body, has_invoices=bool(context.get("invoices")))
    layout = LetterLayout(context=context, subject=subject, blocks=blocks, language=lang, rtl=is_rtl(lang))
    with _render_lock:
        pdf, pages = layout.render()
    return RenderedLetter(pdf=pdf, pages=pages, language=lang, subject=subject)
