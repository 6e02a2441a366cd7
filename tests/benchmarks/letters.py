"""Letter rendering side by side: fpdf2 (the product's path: ``build_letter_context`` + ``render_letter``) and
the same letter as HTML through WeasyPrint, plus the print extract (``build_print_extract``).

The letter is the published ``first_notice`` template from ``infra/config`` (en, ru, ar bodies), one page,
with a 10-row invoice table. The HTML route renders the same Jinja2 subject and body from the same context,
lays out the same elements (letterhead, address window, date/reference block, subject, paragraphs, the
invoice table, "Page 1 of 1") with the same Noto fonts, and lets WeasyPrint (Pango/HarfBuzz shaping) make
the PDF. Samples are interleaved (en, ru, ar, then the HTML route) so that noise hits both routes alike.
"""



from __future__ import annotations

import gc
import html
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from dunning.account_view import build_account_view
from dunning.letters.context import INVOICE_TABLE_MARKER, build_letter_context
from dunning.letters.render import render_letter
from dunning.models.common import Address
from dunning.models.contacts import Contact
from dunning.models.events import AccountUpserted, InvoicePosted, PersonUpserted
from dunning.templating import render
from tests.benchmarks.datagen import load_config
from tests.benchmarks.harness import median, percentile

FONTS = Path(__import__("dunning.letters", fromlist=["x"]).__file__).parent / "fonts"
TODAY = date(2026, 11, 16)
PEOPLE = {
    "en": ("Margaret O'Connor", ["12 Harbour Road", "Apt 4B"], "Cork", "T12 X5F6", "IE", "EUR"),
    "ru": ("Ольга Сергеевна Кузнецова", ["ул. Тверская, д. 7, кв. 12"], "Москва", "125009", "RU", "RUB"),
    "ar": ("محمد عبد الله الشمري", ["شارع الملك فهد 45", "حي العليا"], "الرياض", "12211", "SA", "SAR"),
    "pt-BR": ("João Conceição Araújo", ["Avenida Paulista 1578"], "São Paulo", "01310-200", "BR", "BRL"),
}


def letter_inputs(language: str, rows: int = 10) -> tuple[Any, dict[str, Any]]:
    config = load_config()
    template = next(t for t in config.letter_templates if t.code == "first_notice")
    name, lines, city, postcode, country, currency = PEOPLE[language]
    person = PersonUpserted(person_id="P-1", name=name, language=language,
                            address=Address(lines=lines, city=city, postal_code=postcode, country=country))
    invoices = [InvoicePosted(invoice_id=f"INV-2026-{i + 1:04d}", account_id="ACC-100200",
                              invoice_date=TODAY - timedelta(days=20 * (rows - i) + 14),
                              due_date=TODAY - timedelta(days=20 * (rows - i)),
                              amount=Decimal("1234.56") + 37 * i, currency=currency) for i in range(rows)]
    account = AccountUpserted(account_id="ACC-100200", currency=currency, main_person_id="P-1")
    view = build_account_view("ACC-100200", account=account, invoices=invoices)
    contact = Contact(contact_id="c-0123456789abcdef01234567", contact_class="COLLECTIONS", contact_type="LETTER",
                      action="letter", template_code=template.code, language=language, person_id="P-1",
                      account_id="ACC-100200", invoice_id=invoices[0].invoice_id, source="run",
                      source_ref="run-bench", as_of=TODAY, created_at=datetime(2026, 11, 16, 6, tzinfo=UTC))

    def context() -> dict[str, Any]:
        return build_letter_context(contact=contact, person=person, account=view, premise=None,
                                    company=config.company, language=language, today=TODAY)

    return template, {"context": context}


def fpdf_letter(template: Any, make_context: Any, language: str) -> bytes:
    """The product's path: context (babel formatting) + Jinja2 + layout + PDF."""
    return render_letter(template, make_context(), language=language).pdf


def _render_only(template: Any, context: dict[str, Any], language: str) -> bytes:
    return render_letter(template, context, language=language).pdf


# ---------------------------------------------------------------------------------------------- HTML route
CSS = """
@font-face { font-family: "Noto Sans"; src: url("{FONTS}/NotoSans-Regular.ttf"); }
@font-face { font-family: "Noto Sans"; font-weight: bold; src: url("{FONTS}/NotoSans-Bold.ttf"); }
@font-face { font-family: "Noto Sans Arabic"; src: url("{FONTS}/NotoSansArabic-Regular.ttf"); }
@font-face { font-family: "Noto Sans Arabic"; font-weight: bold; src: url("{FONTS}/NotoSansArabic-Bold.ttf"); }
@page { size: A4; margin: 20mm 20mm 25mm 20mm;
        @bottom-center { content: "Page " counter(page) " of " counter(pages); font: 8pt "Noto Sans"; } }
body { font: 10pt/1.35 "Noto Sans", "Noto Sans Arabic"; color: #111; }
.head { display: flex; justify-content: space-between; font-size: 8pt; color: #444; }
.head .name { font-size: 14pt; font-weight: bold; color: #000; }
.window { margin-top: 18mm; height: 35mm; width: 85mm; }
.window .from { font-size: 6.5pt; border-bottom: 0.3pt solid #888; margin-bottom: 2mm; }
.info { position: absolute; top: 45mm; right: 0; font-size: 9pt; }
html[dir=rtl] .info { right: auto; left: 0; }
h1 { font-size: 12pt; margin: 8mm 0 4mm; }
table { width: 100%; border-collapse: collapse; font-size: 9pt; margin: 3mm 0; }
th { text-align: start; border-bottom: 0.6pt solid #000; } td { border-bottom: 0.3pt solid #ccc; padding: 1mm 0; }
td.n, th.n { text-align: end; }
"""


def html_letter(template: Any, context: dict[str, Any], language: str) -> str:
    esc = html.escape
    subject = " ".join(render(template.subjects[language], context, name="subject").split())
    body = render(template.bodies[language], context, name="body")
    parts = []
    for para in body.split("\n\n"):
        if para.strip() == INVOICE_TABLE_MARKER or INVOICE_TABLE_MARKER in para:
            rows = "".join(
                f"<tr><td>{esc(i['number'])}</td><td>{esc(i['invoice_date'])}</td><td>{esc(i['due_date'])}</td>"
                f"<td class=n>{esc(i['amount'])}</td><td class=n>{esc(i['open'])}</td></tr>"
                for i in context["invoices"])
            parts.append("<table><thead><tr><th>Invoice</th><th>Date</th><th>Due</th><th class=n>Amount</th>"
                         f"<th class=n>Open</th></tr></thead><tbody>{rows}</tbody></table>")
        elif para.strip():
            parts.append("<p>" + "<br>".join(esc(line) for line in para.strip().split("\n")) + "</p>")
    company = context["company"]
    recipient = context["recipient"]
    rtl = context.get("direction") == "rtl"
    return (
        f'<!doctype html><html lang="{esc(language)}" dir="{"rtl" if rtl else "ltr"}"><head><meta charset="utf-8">'
        f"<title>{esc(subject)}</title></head><body>"
        f'<div class="head"><div><div class="name">{esc(company["name"])}</div>'
        + "<br>".join(esc(x) for x in company["address_lines"])
        + f'</div><div>{esc(company["phone"])}<br>{esc(company["email"])}<br>{esc(company["website"])}</div></div>'
        f'<div class="window"><div class="from">{esc(company["name"])}</div>{esc(recipient["name"])}<br>'
        + "<br>".join(esc(x) for x in recipient["address_lines"])
        + f'</div><div class="info">{esc(str(context["dates"]["today"]))}<br>{esc(context["reference"])}<br>'
        f'{esc(context["account"]["id"])}</div>'
        f"<h1>{esc(subject)}</h1>" + "".join(parts) + "</body></html>"
    )


class Weasy:
    def __init__(self) -> None:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        self.weasyprint = weasyprint
        self.fonts = FontConfiguration()
        self.css = weasyprint.CSS(string=CSS.replace("{FONTS}", FONTS.as_uri()), font_config=self.fonts)

    def pdf(self, template: Any, make_context: Any, language: str) -> bytes:
        doc = self.weasyprint.HTML(string=html_letter(template, make_context(), language))
        out: bytes = doc.write_pdf(stylesheets=[self.css], font_config=self.fonts)
        return out


def _time(fn: Any, *args: Any) -> tuple[float, float, Any]:
    w, c = time.perf_counter(), time.process_time()
    result = fn(*args)
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000, result


def measure(sizes: dict[str, int]) -> dict[str, Any]:
    languages = ("en", "ru", "ar")
    inputs = {lang: letter_inputs(lang) for lang in (*languages, "pt-BR")}
    out: dict[str, Any] = {"fpdf": {}, "weasy": {}, "weasy_error": None}
    try:
        weasy: Weasy | None = Weasy()
    except Exception as exc:  # WeasyPrint or its system libraries (Pango) missing
        weasy, out["weasy_error"] = None, f"{type(exc).__name__}: {exc}"
    samples: dict[str, dict[str, list[float]]] = {lang: {"wall": [], "cpu": [], "render_only": []}
                                                  for lang in languages}
    wsamples: dict[str, dict[str, list[float]]] = {lang: {"wall": [], "cpu": []} for lang in languages}
    pdfs: dict[str, bytes] = {}
    pages: dict[str, int] = {}
    for lang in (*languages, "pt-BR"):  # warm-up: imports, fonts, babel data
        template, inp = inputs[lang]
        letter = render_letter(template, inp["context"](), language=lang)
        pdfs[lang], pages[lang] = letter.pdf, letter.pages
        if weasy is not None and lang in languages:
            try:
                out["weasy"].setdefault(lang, {})["kib"] = len(weasy.pdf(template, inp["context"], lang)) / 1024
            except Exception as exc:
                weasy, out["weasy_error"] = None, f"{type(exc).__name__}: {exc}"
    gc.collect()
    every = max(1, sizes["letter_samples"] // sizes["weasy_samples"])
    for i in range(sizes["letter_samples"]):
        for lang in languages:
            template, inp = inputs[lang]
            wall, cpu, _ = _time(fpdf_letter, template, inp["context"], lang)
            samples[lang]["wall"].append(wall)
            samples[lang]["cpu"].append(cpu)
            ctx = inp["context"]()
            w2, _, _ = _time(_render_only, template, ctx, lang)
            samples[lang]["render_only"].append(w2)
            if weasy is not None and i % every == 0:
                wall, cpu, _ = _time(weasy.pdf, template, inp["context"], lang)
                wsamples[lang]["wall"].append(wall)
                wsamples[lang]["cpu"].append(cpu)
    for lang in languages:
        s = samples[lang]
        out["fpdf"][lang] = {"median_ms": median(s["wall"]), "p99_ms": percentile(s["wall"], 99),
                             "cpu_median_ms": median(s["cpu"]), "render_only_median_ms": median(s["render_only"]),
                             "kib": len(pdfs[lang]) / 1024, "pages": pages[lang], "samples": len(s["wall"])}
        if weasy is not None and wsamples[lang]["wall"]:
            w = wsamples[lang]
            out["weasy"][lang].update({"median_ms": median(w["wall"]), "p99_ms": percentile(w["wall"], 99),
                                       "cpu_median_ms": median(w["cpu"]), "samples": len(w["wall"])})
            # ratio per interleaved pair would need equal counts; medians of the same run are compared
            out["weasy"][lang]["ratio"] = median(w["wall"]) / median(s["wall"])
    out["extract"] = measure_extract(pdfs, pages, sizes["extract_letters"])
    return out


def measure_extract(pdfs: dict[str, bytes], pages: dict[str, int], letters: int, rounds: int = 5) -> dict[str, Any]:
    from dunning.letters.extract import PrintItem, build_print_extract

    mix = ["en"] * 5 + ["pt-BR"] * 2 + ["ru"] * 2 + ["ar"]  # the benchmark data's language mix
    items = []
    for i in range(letters):
        lang = mix[i % len(mix)]
        name, lines, city, postcode, country, _ = PEOPLE[lang]
        items.append(PrintItem(contact_id=f"c-{i:06d}", language=lang, template_code="first_notice",
                               recipient_name=name, address_lines=[*lines, f"{postcode} {city}", country],
                               pdf=pdfs[lang], pages=pages[lang]))
    build_print_extract(items[:10])  # warm-up
    per_letter = []
    total_bytes = 0
    for _ in range(rounds):
        gc.collect()
        t = time.perf_counter()
        files = build_print_extract(items)
        per_letter.append((time.perf_counter() - t) * 1000 / letters)
        total_bytes = sum(len(f.content) for f in files if f.name.endswith(".pdf"))
    # memory of one print-extract shard: every letter merged into one writer (pypdf keeps each letter's parsed
    # objects until the merged file is written), plus each letter's own PDF bytes as fetched from S3
    import tracemalloc

    from dunning.letters.extract import build_shard_files

    gc.collect()
    tracemalloc.start()
    build_shard_files(items, "mixed", 0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    inputs = sum(len(i.pdf) for i in items)  # the items share a few PDF objects here; a shard holds one each
    return {"ms_per_letter": median(per_letter), "p99_round_ms_per_letter": max(per_letter), "letters": letters,
            "rounds": rounds, "merged_bytes_per_letter": total_bytes / letters,
            "peak_bytes_per_letter": (peak + inputs) / letters}
