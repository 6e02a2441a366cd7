"""The web form's spam guard and form token, pure: no AWS, the clock given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dunning.interactions import webform
from dunning.interactions.webform import SpamRejected, WebFormPost

KEY = b"k" * 32
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
CATEGORIES = frozenset({"web_request", "web_billing"})


def post(token_at: datetime = T0, **fields: str) -> WebFormPost:
    base = {"name": "Ana Souza", "email": "ana@example.com", "subject": "Payment plan",
            "message": "Could I pay invoice 123 in three parts?", "form_token": webform.issue_token(KEY, token_at)}
    return WebFormPost(**{**base, **fields})


def check(p: WebFormPost, now: datetime = T0 + timedelta(seconds=10)) -> webform.AcceptedPost:
    return webform.check_post(p, KEY, now, CATEGORIES, "web_request")


def reason(p: WebFormPost, now: datetime = T0 + timedelta(seconds=10)) -> str:
    with pytest.raises(SpamRejected) as exc:
        check(p, now)
    assert str(exc.value).startswith("your message was not recorded: ")
    return exc.value.reason


def test_given_a_proper_post_then_it_is_accepted_cleaned_under_the_default_category():
    ok = check(post(message="  Could I pay\x00 in parts?\n", account="A-0001"))
    assert ok.message == "Could I pay in parts?" and ok.category == "web_request" and ok.account == "A-0001"
    assert ok.email == "ana@example.com" and ok.subject == "Payment plan"


def test_given_no_subject_then_the_first_line_of_the_message_is_the_subject():
    assert check(post(subject="", message="First line\nsecond")).subject == "First line"


def test_given_the_honeypot_filled_then_the_post_is_refused():
    assert "automatically" in reason(post(website="http://spam.example"))


def test_given_a_post_sooner_than_3_seconds_after_the_token_then_it_is_too_fast():
    assert "too quickly" in reason(post(), now=T0 + timedelta(seconds=2.5))
    assert check(post(), now=T0 + timedelta(seconds=3))  # exactly 3 s is a person


def test_given_a_token_older_than_a_day_then_it_has_expired():
    assert "expired" in reason(post(), now=T0 + timedelta(hours=24, seconds=1))
    assert check(post(), now=T0 + timedelta(hours=24))


@pytest.mark.parametrize("token", ["", "garbage", "v1.notanumber.abc", "v2.1.abc"])
def test_given_a_missing_or_malformed_token_then_it_is_refused(token):
    assert "token" in reason(post(form_token=token))


def test_given_a_forged_token_then_the_signature_does_not_verify():
    forged = webform.issue_token(b"another key", T0)
    assert "not valid" in reason(post(form_token=forged))
    issued = int(T0.timestamp())
    tampered = webform.issue_token(KEY, T0).replace(str(issued), str(issued - 100))  # older, same mac
    assert "not valid" in reason(post(form_token=tampered))


def test_given_too_many_links_then_the_post_is_refused():
    links = " ".join(f"https://x{i}.example" for i in range(webform.MAX_LINKS + 1))
    assert "links" in reason(post(message=f"see {links}"))
    assert check(post(message=" ".join(f"www.x{i}.example" for i in range(webform.MAX_LINKS))))


@pytest.mark.parametrize("field, size, words", [("message", webform.MAX_MESSAGE + 1, "message is longer"),
                                                ("subject", webform.MAX_SUBJECT + 1, "subject is longer"),
                                                ("name", webform.MAX_NAME + 1, "name is longer")])
def test_given_a_field_over_its_size_then_the_post_is_refused(field, size, words):
    assert words in reason(post(**{field: "a" * size}))


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b", "a b@example.com", "<x>@example.com"])
def test_given_no_valid_email_address_then_the_post_is_refused(email):
    assert "e-mail" in reason(post(email=email))


def test_given_an_empty_message_then_the_post_is_refused():
    assert "empty" in reason(post(message="   \n"))


def test_given_a_category_not_offered_by_the_form_then_the_post_is_refused():
    assert check(post(category="web_billing")).category == "web_billing"
    assert "category" in reason(post(category="invoice_dispute"))


def test_given_a_malformed_account_number_then_the_post_is_refused():
    assert "account" in reason(post(account="A-1; DROP TABLE"))


def test_given_markup_in_the_message_then_it_is_kept_as_text_for_the_page_to_escape():
    ok = check(post(subject="<script>alert(1)</script>", message="{{ 7*7 }} <img src=x onerror=alert(1)>"))
    assert ok.subject == "<script>alert(1)</script>" and ok.message == "{{ 7*7 }} <img src=x onerror=alert(1)>"


def test_the_client_key_is_a_keyed_hash_and_never_contains_the_address():
    k = webform.client_key(KEY, "203.0.113.7")
    assert "203.0.113.7" not in k and len(k) == 32
    assert k == webform.client_key(KEY, "203.0.113.7") != webform.client_key(KEY, "203.0.113.8")
    assert k != webform.client_key(b"other", "203.0.113.7")


class Counter:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}

    def hit(self, scope: str, key_hash: str, *, window_start: int, window_seconds: int, limit: int,
            now: float) -> object:
        from dunning.store.rate_limit import Hit

        k = (scope, key_hash, window_start)
        if self.counts.get(k, 0) >= limit:
            return Hit(False, limit, int(window_start + window_seconds - now))
        self.counts[k] = self.counts.get(k, 0) + 1
        return Hit(True, self.counts[k], 0)


def test_given_five_posts_in_a_minute_then_the_sixth_waits_for_the_next_minute():
    counter = Counter()
    now = T0 + timedelta(seconds=20)
    for _ in range(5):
        webform.check_rate(counter, "c1", now)
    with pytest.raises(webform.RateLimited) as exc:
        webform.check_rate(counter, "c1", now)
    assert exc.value.retry_after == 40 and exc.value.window == "webform-minute"
    webform.check_rate(counter, "c2", now)  # another client is not held up
    webform.check_rate(counter, "c1", T0 + timedelta(minutes=1))  # the next window


def test_given_fifty_posts_in_a_day_then_the_day_window_refuses_until_midnight():
    counter = Counter()
    for i in range(50):
        webform.check_rate(counter, "c1", T0 + timedelta(minutes=i))
    with pytest.raises(webform.RateLimited) as exc:
        webform.check_rate(counter, "c1", T0 + timedelta(minutes=60))
    assert exc.value.window == "webform-day" and exc.value.retry_after == 14 * 3600
