"""The public web form, pure: a signed form token, the spam guard and the rate-limit rule (no AWS here).

* **Form token.** ``GET /public/interactions/form-token`` hands the page a token ``v1.<issued epoch>.<mac>``,
  the mac an HMAC-SHA256 under the stack's signing key. A post must carry one that verifies and is at least
  :data:`MIN_AGE` old (a person takes longer than that to type a message; a bot posting at once does not)
  and at most :data:`MAX_AGE` old (an old page must be reloaded).
* **Spam guard** (:func:`check_post`): the honeypot field (hidden from people by the page's CSS) is empty,
  the token holds, the fields are within their sizes, the e-mail address looks like one, the message has at
  most :data:`MAX_LINKS` links, the category is one the web form may file under.
* **Rate limit**: per client, by a keyed hash of the source address (:func:`client_key`), never the address
  itself: :data:`RATE_LIMITS` requests per fixed window (DynamoDB counter in ``dunning.store.rate_limit``).

A refusal (:class:`SpamRejected`, :class:`RateLimited`) carries a reason meant for the customer, never their
own text: the API answers ``your message was not recorded: <reason>`` so they know to keep their copy.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

TOKEN_VERSION = "v1"  # noqa: S105 - a format version, not a secret
MIN_AGE = 3.0  # seconds: faster than this is a bot
MAX_AGE = 24 * 3600.0  # seconds: the page must be reloaded after this
MAX_LINKS = 3
MAX_NAME = 200
MAX_EMAIL = 254
MAX_SUBJECT = 200
MAX_MESSAGE = 5000
MAX_ACCOUNT = 64
NOT_RECORDED = "your message was not recorded"

EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
ACCOUNT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
LINK_RE = re.compile(r"(?i)(?:https?://|www\.|\[url|<a\s)")
# control characters other than tab, newline and carriage return
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Window:
    """At most ``limit`` requests per ``seconds`` (a fixed window), counted under ``scope``."""

    scope: str
    seconds: int
    limit: int


RATE_LIMITS: tuple[Window, ...] = (Window("webform-minute", 60, 5), Window("webform-day", 86400, 50))


class SpamRejected(ValueError):
    """The post was refused (400); ``reason`` says why, for the customer."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{NOT_RECORDED}: {reason}")
        self.reason = reason


class RateLimited(Exception):
    """Too many posts from this client (429); try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int, window: str) -> None:
        super().__init__(f"{NOT_RECORDED}: too many messages from your address; try again in "
                         f"{retry_after} seconds")
        self.retry_after = max(1, int(retry_after))
        self.window = window


class WebFormPost(BaseModel):
    """What the form sends (JSON or form-encoded). Every field is a string; :func:`check_post` judges them."""

    model_config = ConfigDict(frozen=True)

    name: str = ""
    email: str = ""
    subject: str = ""
    message: str = ""
    category: str = ""
    account: str = ""
    website: str = ""  # the honeypot
    form_token: str = ""


class AcceptedPost(BaseModel):
    """A post that passed the guard, cleaned (trimmed, control characters removed)."""

    model_config = ConfigDict(frozen=True)

    name: str
    email: str
    subject: str
    message: str
    category: str
    account: str | None


# ---------------------------------------------------------------------------------------------- token
def _mac(key: bytes, issued: int) -> str:
    return hmac.new(key, f"webform|{TOKEN_VERSION}|{issued}".encode(), hashlib.sha256).hexdigest()[:32]


def issue_token(key: bytes, now: datetime) -> str:
    issued = int(now.timestamp())
    return f"{TOKEN_VERSION}.{issued}.{_mac(key, issued)}"


def token_age(key: bytes, token: str, now: datetime) -> float:
    """Seconds since the token was issued; :class:`SpamRejected` if it is not one of ours."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION or not parts[1].isdigit():
        raise SpamRejected("the form token is missing or malformed; reload the page and send again")
    issued = int(parts[1])
    if not hmac.compare_digest(parts[2], _mac(key, issued)):
        raise SpamRejected("the form token is not valid; reload the page and send again")
    return now.timestamp() - issued


def check_token(key: bytes, token: str, now: datetime) -> None:
    age = token_age(key, token, now)
    if age < MIN_AGE:
        raise SpamRejected("the form was sent too quickly after it was opened; wait a few seconds and send again")
    if age > MAX_AGE:
        raise SpamRejected("the form has expired; reload the page and send again")


# ---------------------------------------------------------------------------------------------- guard
def _clean(value: str) -> str:
    return CONTROL_RE.sub("", value).strip()


def link_count(text: str) -> int:
    return len(LINK_RE.findall(text))


def check_post(post: WebFormPost, key: bytes, now: datetime, categories: frozenset[str],
               default_category: str) -> AcceptedPost:
    """The post, cleaned, if it passes every rule; else :class:`SpamRejected` with the first rule it broke.
    ``categories``: the ones a web-form post may name; none named -> ``default_category``."""
    if post.website.strip():
        raise SpamRejected("the form was filled in automatically")
    check_token(key, post.form_token, now)
    name, email, subject, message = (_clean(post.name), _clean(post.email), _clean(post.subject),
                                     _clean(post.message))
    if not message:
        raise SpamRejected("the message is empty")
    if len(message) > MAX_MESSAGE:
        raise SpamRejected(f"the message is longer than {MAX_MESSAGE} characters")
    if len(subject) > MAX_SUBJECT:
        raise SpamRejected(f"the subject is longer than {MAX_SUBJECT} characters")
    if len(name) > MAX_NAME:
        raise SpamRejected(f"the name is longer than {MAX_NAME} characters")
    if not email:
        raise SpamRejected("an e-mail address is needed so that we can answer")
    if len(email) > MAX_EMAIL or not EMAIL_RE.match(email):
        raise SpamRejected("the e-mail address is not valid")
    links = link_count(message) + link_count(subject) + link_count(name)
    if links > MAX_LINKS:
        raise SpamRejected(f"the message has more than {MAX_LINKS} links")
    category = post.category.strip() or default_category
    if category not in categories:
        raise SpamRejected("the category is not one of the form's choices")
    account = post.account.strip()
    if account and (len(account) > MAX_ACCOUNT or not ACCOUNT_RE.match(account)):
        raise SpamRejected("the account number is not valid")
    return AcceptedPost(name=name, email=email, subject=subject or message.splitlines()[0][:80],
                        message=message, category=category, account=account or None)


def client_key(key: bytes, source_ip: str) -> str:
    """The client's rate-limit key: a keyed hash of its address (the address itself is never stored)."""
    return hmac.new(key, f"client|{source_ip}".encode(), hashlib.sha256).hexdigest()[:32]


def window_start(now: datetime, window: Window) -> int:
    ts = int(now.timestamp())
    return ts - ts % window.seconds


class HitResult(Protocol):
    @property
    def allowed(self) -> bool: ...
    @property
    def retry_after(self) -> int: ...


class Counter(Protocol):
    """A fixed-window counter (``dunning.store.rate_limit.DynamoRateLimiter``)."""

    def hit(self, scope: str, key_hash: str, *, window_start: int, window_seconds: int, limit: int,
            now: float) -> HitResult: ...


def check_rate(counter: Counter, key_hash: str, now: datetime,
               windows: tuple[Window, ...] = RATE_LIMITS) -> None:
    """Count this request in every window; :class:`RateLimited` at the first one that is full."""
    for w in windows:
        hit = counter.hit(w.scope, key_hash, window_start=window_start(now, w), window_seconds=w.seconds,
                          limit=w.limit, now=now.timestamp())
        if not hit.allowed:
            raise RateLimited(hit.retry_after, w.scope)
