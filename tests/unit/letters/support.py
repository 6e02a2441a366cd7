"""Sample data for letter tests: recipients in four languages, templates, and PDF text extraction."""

# ruff: noqa: RUF001 - multilingual sample text (Cyrillic letters, en dashes) is the point of these tests

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dunning.letters.context import build_letter_context
from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.common import Address
from dunning.models.config import Company, LetterTemplate
from dunning.models.contacts import Contact
from dunning.models.events import AccountUpserted, PersonUpserted, PremiseUpserted

TODAY = date(2026, 3, 5)
CONTACT_ID = "c-0123456789abcdef01234567"
ACCOUNT_ID = "ACC-100200"

COMPANY = Company(
    name="Aguas Claras Utilities S.A.",
    address_lines=["Rua das Flores 123", "01310-100 São Paulo"],
    phone="+55 11 4000-1234",
    email="cobranca@aguasclaras.example",
    website="www.aguasclaras.example",
)

RECIPIENTS: dict[str, tuple[str, list[str], str, str]] = {
    "en": ("Margaret O'Connor", ["12 Harbour Road", "Apt 4B"], "Cork", "T12 X5F6"),
    "pt-BR": ("João Conceição Araújo", ["Avenida Paulista 1578", "Bloco B, apto 92"], "São Paulo", "01310-200"),
    "ru": ("Ольга Сергеевна Кузнецова", ["ул. Тверская, д. 7, кв. 12"], "Москва", "125009"),
    "ar": ("محمد عبد الله الشمري", ["شارع الملك فهد 45", "حي العليا"], "الرياض", "12211"),
}
CURRENCIES = {"en": "EUR", "pt-BR": "BRL", "ru": "RUB", "ar": "SAR"}

# Template bodies as the business would write them: prose only, the layout draws the table.
BODIES = {
    "en": (
        "Dear {{ person.name }},\n\n"
        "our records show that {{ totals.count }} invoices are still open. The oldest, {{ lead_invoice.number }}, "
        "was due on {{ lead_invoice.due_date_long }}.\n\n"
        "{{ invoice_table }}\n\n"
        "Please pay {{ totals.open }} by {{ dates.pay_by }}. If you have already paid, please ignore this letter.\n\n"
        "Kind regards,\n{{ company.name }}"
    ),
    "pt-BR": (
        "Prezado(a) {{ person.name }},\n\n"
        "constam em aberto {{ totals.count }} faturas. A mais antiga, {{ lead_invoice.number }}, venceu em "
        "{{ lead_invoice.due_date_long }}.\n\n"
        "{{ invoice_table }}\n\n"
        "Solicitamos o pagamento de {{ totals.open }} até {{ dates.pay_by }}. Caso já tenha efetuado o pagamento, "
        "desconsidere esta carta.\n\n"
        "Atenciosamente,\n{{ company.name }}"
    ),
    "ru": (
        "Уважаемый(ая) {{ person.name }}!\n\n"
        "По нашим данным, не оплачено счетов: {{ totals.count }}. Самый ранний счёт {{ lead_invoice.number }} "
        "нужно было оплатить до {{ lead_invoice.due_date_long }}\n\n"
        "{{ invoice_table }}\n\n"
        "Просим оплатить {{ totals.open }} до {{ dates.pay_by }} Если вы уже оплатили, не обращайте внимания "
        "на это письмо.\n\n"
        "С уважением,\n{{ company.name }}"
    ),
    "ar": (
        "عزيزي {{ person.name }}،\n\n"
        "تشير سجلاتنا إلى أن الفواتير التالية لم تسدد بعد. أقدمها هي الفاتورة رقم {{ lead_invoice.number }} "
        "التي استحقت في {{ lead_invoice.due_date_long }}.\n\n"
        "{{ invoice_table }}\n\n"
        "يرجى سداد مبلغ {{ totals.open }} قبل {{ dates.pay_by }}. "
        "إذا كنتم قد سددتم المبلغ فيرجى تجاهل هذه الرسالة.\n\n"
        "مع خالص التحية،\n{{ company.name }}"
    ),
}
SUBJECTS = {
    "en": "Payment reminder – account {{ account.id }}",
    "pt-BR": "Aviso de cobrança – conta {{ account.id }}",
    "ru": "Напоминание об оплате – лицевой счёт {{ account.id }}",
    "ar": "تذكير بالسداد – الحساب {{ account.id }}",
}
TEMPLATE = LetterTemplate(code="REMINDER1", default_language="en", subjects=SUBJECTS, bodies=BODIES)


def template(**bodies: str) -> LetterTemplate:
    """A template with the given bodies (keyword = language with '_' for '-'), English default."""
    langs = {k.replace("_", "-"): v for k, v in bodies.items()}
    return LetterTemplate(code="T", default_language=next(iter(langs)), subjects={k: "Subject" for k in langs},
                          bodies=langs)


def invoices(n: int, currency: str, today: date = TODAY) -> list[InvoiceView]:
    """``n`` open invoices, oldest first; the last two are not yet due, the others are overdue."""
    out = []
    for i in range(n):
        invoice_date = date(2025, 1, 1) + timedelta(days=3 * i)
        due = invoice_date + timedelta(days=30) if i < n - 2 else today + timedelta(days=10 + i)
        amount = Decimal("1234.56") + 100 * i
        paid = Decimal("34.56") if i % 3 == 0 else Decimal(0)
        out.append(InvoiceView(invoice_id=f"INV-2025-{i + 1:04d}", invoice_date=invoice_date, due_date=due,
                               amount=amount, currency=currency, open_amount=amount - paid))
    return out


def make_context(language: str, n: int = 10, *, premise: PremiseUpserted | None = None,
                 person_language: str | None = None, invoice_id: str | None = None,
                 extra_invoices: list[InvoiceView] | None = None) -> dict[str, Any]:
    name, lines, city, postcode = RECIPIENTS[language]
    currency = CURRENCIES[language]
    person = PersonUpserted(person_id="P-1", name=name, language=person_language or language,
                            address=Address(lines=lines, city=city, postal_code=postcode))
    account = AccountView(
        account_id=ACCOUNT_ID,
        account=AccountUpserted(account_id=ACCOUNT_ID, currency=currency, main_person_id="P-1"),
        invoices=[*invoices(n, currency), *(extra_invoices or [])],
    )
    return build_letter_context(contact=contact(invoice_id=invoice_id), person=person, account=account,
                                premise=premise, company=COMPANY, language=language, today=TODAY)


def contact(invoice_id: str | None = None) -> Contact:
    return Contact(contact_id=CONTACT_ID, contact_class="COLLECTIONS", contact_type="LETTER", action="letter",
                   template_code="REMINDER1", person_id="P-1", account_id=ACCOUNT_ID, invoice_id=invoice_id,
                   source="run", source_ref="run-1", as_of=TODAY,
                   created_at=datetime(2026, 3, 5, 6, 0, tzinfo=UTC))


# --------------------------------------------------------------------------- PDF text
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))


def normalize(text: str) -> str:
    """Drop the bidi embedding controls pdftotext adds around right-to-left runs; one kind of space."""
    return re.sub(r"[ \u00a0\u202f\u2009]+", " ", text.translate(_BIDI_CONTROLS))


def pdftotext(pdf: bytes, *args: str) -> str:
    """Text of ``pdf`` as poppler's pdftotext extracts it (logical order for right-to-left text)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found: install poppler-utils (apt-get install poppler-utils) to check PDF text")
    done = subprocess.run(["pdftotext", *args, "-", "-"], input=pdf, capture_output=True, check=True, timeout=30)
    assert b"Syntax Error" not in done.stderr, done.stderr.decode(errors="replace")
    return done.stdout.decode("utf-8")


def pages_text(pdf: bytes) -> list[str]:
    """Per-page text (pdftotext separates pages with form feeds)."""
    return [normalize(p) for p in pdftotext(pdf, "-layout").split("\f")[:-1]]


def pypdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return normalize("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def words_with_boxes(pdf: bytes, page: int = 1) -> list[tuple[str, float, float, float, float]]:
    """(word, xMin, yMin, xMax, yMax) in mm from the top-left corner, from ``pdftotext -bbox``."""
    html = pdftotext(pdf, "-bbox", "-f", str(page), "-l", str(page))
    k = 25.4 / 72
    return [(w, float(x0) * k, float(y0) * k, float(x1) * k, float(y1) * k) for x0, y0, x1, y1, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', html)]


REPO_CONFIG = Path(__file__).resolve().parents[3] / "infra" / "config"
