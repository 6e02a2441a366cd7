"""Quoted text is stripped from replies (S3.5): the thread shows what the customer wrote, the raw keeps the rest."""
# ruff: noqa: RUF001 - the Russian quote headers are Cyrillic on purpose

from __future__ import annotations

import pytest

from dunning.interactions.mail import strip_quoted


@pytest.mark.parametrize("quote", [
    "On Mon, 30 Nov 2026 at 10:00, Customer service <support@x.example> wrote:\n> old",
    "On Mon, 30 Nov 2026 at 10:00, Customer service\n<support@x.example> wrote:\n> old",
    "-----Original Message-----\nFrom: Customer service\nSent: Monday\nSubject: x\n\nold",
    "________________________________\nFrom: Customer service <support@x.example>\nSent: Monday\n\nold",
    "From: Customer service <support@x.example>\nSent: Monday, November 30, 2026 10:00 AM\nTo: me\n\nold",
    "Em seg., 30 de nov. de 2026 às 10:00, Atendimento <support@x.example> escreveu:\n> old",
    "-----Mensagem original-----\nDe: Atendimento\nEnviada em: segunda\n\nold",
    "De: Atendimento <support@x.example>\nEnviado: segunda-feira\nPara: eu\n\nold",
    "El lun, 30 nov 2026 a las 10:00, Atención <support@x.example> escribió:\n> old",
    "Le lun. 30 nov. 2026 à 10:00, Service <support@x.example> a écrit :\n> old",
    "Am Mo., 30. Nov. 2026 um 10:00 Uhr schrieb Service <support@x.example>:\n> old",
    "30.11.2026, 10:00, Служба поддержки <support@x.example> написал(а):\n> old",
    "-----Исходное сообщение-----\nОт: Служба\nОтправлено: понедельник\n\nold",
    "От: Служба поддержки <support@x.example>\nОтправлено: 30 ноября 2026 г. 10:00\n\nold",
    "في الاثنين، 30 نوفمبر 2026 في 10:00 ص، خدمة العملاء <support@x.example> كتب:\n> old",
    "-----الرسالة الأصلية-----\nمن: خدمة العملاء\n\nold",
])
def test_the_quoted_history_is_cut_off(quote):
    text = f"I paid on Friday.\n\nThanks\n\n{quote}\nmore old text"
    assert strip_quoted(text) == "I paid on Friday.\n\nThanks"


def test_interleaved_quote_lines_are_dropped_and_the_answers_kept():
    text = "> Did you pay?\nYes, on Friday.\n> Which account?\nThe one ending 42."
    assert strip_quoted(text) == "Yes, on Friday.\nThe one ending 42."


def test_a_mail_that_is_only_a_quote_is_kept_whole():
    text = "> everything here is quoted\n> still quoted"
    assert strip_quoted(text) == text


def test_ordinary_lines_that_look_a_little_like_headers_stay():
    text = "From: the bank statement, I see the payment.\nOn Friday I wrote to you already."
    assert strip_quoted(text) == text
