"""The address window: the return address is printed whole, however long the sender's lines are."""

from __future__ import annotations

import pytest

from dunning.letters.render import render_letter
from dunning.models.config import Company
from tests.unit.letters.support import TEMPLATE, make_context, normalize, pdftotext, words_with_boxes

WINDOW_BOX = (20.0, 45.0, 105.0, 90.0)  # DL window, mm from the top-left corner

SHORT = Company(name="Aurora Utilities", address_lines=["12 Harbour Road", "1000-001 Lisboa"])
LONG = Company(name="Aurora Utilities Ltd", address_lines=["Aurora Utilities Ltd", "12 Harbour Road",
                                                         "1000-001 Lisboa", "Portugal"])
VERY_LONG = Company(name="Companhia Metropolitana de Águas e Saneamento do Estado de São Paulo S.A.",
                    address_lines=["Departamento de Cobrança e Relacionamento com o Cliente",
                                   "Avenida Brigadeiro Faria Lima 3477, 14º andar, conjunto 141",
                                   "04538-133 São Paulo - SP", "Brasil"])


def letter(company: Company, language: str = "en") -> bytes:
    ctx = make_context(language, 2)
    ctx["company"] = dict(ctx["company"], name=company.name, address_lines=list(company.address_lines))
    return render_letter(TEMPLATE, ctx, language=language).pdf


@pytest.mark.parametrize("company", [SHORT, LONG, VERY_LONG], ids=["short", "long", "very-long"])
def test_given_a_long_sender_when_the_letter_is_rendered_then_the_whole_return_address_is_in_the_window(
        company: Company) -> None:
    pdf = letter(company)
    text = normalize(pdftotext(pdf, "-raw"))
    assert "…" not in text.split("Margaret")[0]  # nothing before the recipient is cut with an ellipsis
    flat = " ".join(text.split())
    for part in [company.name, *company.address_lines]:
        assert part in flat or all(word in flat for word in part.split()), part
    x0, y0, x1, y1 = WINDOW_BOX
    sender_words = {w for part in [company.name, *company.address_lines] for w in part.split()}
    boxes = [b for b in words_with_boxes(pdf) if b[0] in sender_words and y0 <= b[2] <= y0 + 12]
    assert boxes, "the return address is at the top of the window"
    assert all(x0 <= b[1] and b[3] <= x1 for b in boxes), "the return address stays inside the window"
    recipient = next(b for b in words_with_boxes(pdf) if b[0] == "Margaret")
    assert max(b[4] for b in boxes) < recipient[2], "the return address sits above the recipient"
    assert recipient[4] <= y1


def test_a_short_sender_stays_on_one_line_at_the_usual_size() -> None:
    pdf = letter(SHORT)
    boxes = [b for b in words_with_boxes(pdf) if b[0] in ("Aurora", "Harbour", "Lisboa") and 45 <= b[2] < 52]
    assert len(boxes) == 3
    assert len({round(b[2], 1) for b in boxes}) == 1
