"""Each answer kind, valid and invalid, at its edges."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.models.workflows import AskStep, Choice
from dunning.workflows import answers

TODAY = date(2026, 3, 2)


def ask(**kw) -> AskStep:
    return AskStep(id="q", type="ask", text="?", **kw)


@pytest.mark.parametrize(("text", "value"), [
    ("Ana@Example.COM", "ana@example.com"), (" a.b+tag@sub.example.co.uk ", "a.b+tag@sub.example.co.uk"),
    ("mailto:x@example.org", "x@example.org"), ("o'brien@example.ie", "o'brien@example.ie"),
])
def test_valid_emails_are_lowercased(text, value):
    assert answers.check(ask(kind="email"), text, TODAY) == answers.Answer(True, value)


@pytest.mark.parametrize("text", ["", "plain", "a@b", "a@@b.com", "a@b.c", ".a@b.com", "a..b@c.com", "a@-b.com",
                                  "a b@c.com", "a@b_c.com", "x" * 65 + "@example.com", "a@b.123"])
def test_invalid_emails(text):
    assert not answers.check(ask(kind="email"), text, TODAY).ok


@pytest.mark.parametrize(("text", "value"), [
    ("+44 20 7946 0958", "+442079460958"), ("0044-20-7946-0958", "+442079460958"), ("(030) 123-4567", "+0301234567"),
    ("1234567", "+1234567"), ("123456789012345", "+123456789012345"),
])
def test_valid_phones_are_normalized(text, value):
    assert answers.check(ask(kind="phone"), text, TODAY).value == value


@pytest.mark.parametrize("text", ["123456", "1234567890123456", "+44 20 abc", "44+20", "", "++4412345678"])
def test_invalid_phones(text):
    assert not answers.check(ask(kind="phone"), text, TODAY).ok


def test_numbers_with_bounds_inclusive():
    step = ask(kind="number", min=2, max=12)
    assert [answers.check(step, t, TODAY).value for t in ("2", "12", " 6 ", "2.5", "2,5")] == [2, 12, 6, "2.5", "2.5"]
    assert [answers.check(step, t, TODAY).ok for t in ("1", "13", "1.99", "12.01", "six", "1e3", "", "NaN",
                                                       "1,000")] == [False] * 9


def test_dates_iso_and_day_month_year_with_relative_bounds():
    step = ask(kind="date", min="today", max="+30d")
    assert answers.check(step, "2026-03-02", TODAY).value == "2026-03-02"
    assert answers.check(step, "1.4.2026", TODAY).value == "2026-04-01"  # today + 30 days
    assert answers.check(step, "01.04.2026", TODAY).ok
    for text in ("2026-03-01", "2026-04-02", "2026-02-30", "03/10/2026", "tomorrow", "2026-3-5", "31.2.2026"):
        assert not answers.check(step, text, TODAY).ok, text
    fixed = ask(kind="date", min="2026-01-01", max="2026-01-31")
    assert answers.check(fixed, "2026-01-31", TODAY).ok and not answers.check(fixed, "2026-02-01", TODAY).ok
    assert answers.date_bound("-7d", TODAY) == date(2026, 2, 23)
    with pytest.raises(ValueError, match="not a date bound"):
        answers.date_bound("next week", TODAY)


def test_choices_by_value_label_or_number_case_insensitive():
    step = ask(kind="choice", choices=[Choice(value="pay", label="Promise to pay"), Choice(value="plan", label="Plan"),
                                       Choice(value="talk", label="Talk to someone")])
    assert [answers.check(step, t, TODAY).value for t in ("PAY", "promise to PAY", " 3 ", "2")] == [
        "pay", "pay", "talk", "plan"]
    assert [answers.check(step, t, TODAY).ok for t in ("0", "4", "pa", "")] == [False] * 4


def test_choice_values_that_are_numbers_match_as_values_first():
    step = ask(kind="choice", choices=[Choice(value="3"), Choice(value="1"), Choice(value="2")])
    assert answers.check(step, "1", TODAY).value == "1"


def test_text_length_and_pattern():
    assert answers.check(ask(kind="text"), "  hello  ", TODAY).value == "hello"
    assert not answers.check(ask(kind="text"), "   ", TODAY).ok
    assert answers.check(ask(kind="text"), "x" * 2000, TODAY).ok
    assert not answers.check(ask(kind="text"), "x" * 2001, TODAY).ok
    step = ask(kind="text", pattern=r"^[A-Z]{2}\d{4}$")
    assert answers.check(step, "AB1234", TODAY).ok and not answers.check(step, "AB12345", TODAY).ok


@given(st.text(max_size=60))
def test_any_text_gives_an_answer_never_an_exception(text):
    for kind in ("text", "email", "phone", "number", "date"):
        result = answers.check(ask(kind=kind), text, TODAY)
        assert result.ok == (result.value is not None)
