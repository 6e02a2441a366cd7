"""Fixed wording the layout prints (table headings, info block, footer), per base language.

Templates own the prose; these few labels belong to the layout. Unknown languages use English.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

LabelSet = MappingProxyType[str, str]

_EN: Final = {
    "page": "Page {page} of {pages}",
    "date": "Date",
    "account": "Customer account",
    "reference": "Our reference",
    "invoice_no": "Invoice no.",
    "invoice_date": "Invoice date",
    "due_date": "Due date",
    "amount": "Amount",
    "open": "Open",
    "total_open": "Total open",
    "total_overdue": "of which overdue",
}

_LABELS: Final[dict[str, dict[str, str]]] = {
    "en": _EN,
    "pt": {
        "page": "Página {page} de {pages}",
        "date": "Data",
        "account": "Conta do cliente",
        "reference": "Nossa referência",
        "invoice_no": "Nº da fatura",
        "invoice_date": "Emissão",
        "due_date": "Vencimento",
        "amount": "Valor",
        "open": "Em aberto",
        "total_open": "Total em aberto",
        "total_overdue": "dos quais vencidos",
    },
    "ru": {
        "page": "Страница {page} из {pages}",
        "date": "Дата",
        "account": "Лицевой счёт",
        "reference": "Исх. №",
        "invoice_no": "№ счёта",
        "invoice_date": "Дата счёта",
        "due_date": "Срок оплаты",
        "amount": "Сумма",
        "open": "Остаток",
        "total_open": "Итого к оплате",
        "total_overdue": "в т. ч. просрочено",
    },
    "ar": {
        "page": "صفحة {page} من {pages}",
        "date": "التاريخ",
        "account": "رقم الحساب",
        "reference": "المرجع",
        "invoice_no": "رقم الفاتورة",
        "invoice_date": "تاريخ الفاتورة",
        "due_date": "تاريخ الاستحقاق",
        "amount": "المبلغ",
        "open": "المتبقي",
        "total_open": "إجمالي المبلغ المستحق",
        "total_overdue": "منها متأخر السداد",
    },
}


def labels_for(language: str) -> LabelSet:
    """Labels for ``language`` ("pt-BR" -> "pt"), English for anything unknown."""
    base = (language or "en").split("-")[0].split("_")[0].lower()
    return MappingProxyType({**_EN, **_LABELS.get(base, {})})
