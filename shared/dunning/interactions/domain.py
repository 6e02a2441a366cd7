"""The pure rules of interactions (S3): numbers, stage transitions, who may act, time rules, similar requests,
report folding, automatic replies, signed customer links. No AWS here.

**Similar requests ("the same kind", S3.7).** Two interactions are the same kind of request from the same
customer when they have the same *customer key* and the same *kind key*:

* customer key: the person (``P:{person_id}``) when known, else the account (``A:{account_id}``), else the
  customer's email address normalised (trimmed, lower case) and hashed (``E:{sha256[:24]}``, so no address is
  in a key). No person, account or address: no similar requests.
* kind key: ``{category}#{signature hash}``. The signature of a subject is its *sorted set of content words*:
  lower case, accents folded (``fatura`` = ``fátura``); reply/forward prefixes (``Re:``, ``Fwd:``, ``FW:``,
  ``AW:``, ``WG:``, ``SV:``, ``RES:``, ``ENC:``, ``TR:``, ``RV:``) removed however often repeated; interaction
  numbers (``[IN-2026-000123]``) and every token holding a digit (invoice numbers such as ``INV-42``, dates,
  amounts) dropped; punctuation dropped; English and Portuguese stop words dropped; a plural ``s`` taken off
  words longer than three letters. So "Re: Invoice INV-1001 is wrong!" and "wrong invoices (INV-1002)" are the
  same kind, and word order does not matter. An empty signature (a subject of only numbers) leaves the
  category alone as the kind.

Time entries are written with a daily aggregate (``TIMEAGG``) in one transaction; an entry's id is derived
from the caller's idempotency key, so a retried request finds its entry and never counts twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from dunning.models.config import (
    REGISTERED_STAGE,
    InteractionCategory,
    InteractionProcess,
    InteractionsConfig,
    ReplyTemplate,
)
from dunning.models.interactions import (
    ContentReport,
    ContentReportRow,
    Interaction,
    TimeCell,
    TimeReport,
    TimeReportRow,
)
from dunning.templating import render

# ---------------------------------------------------------------------------------------------- constants
ALLOWED_CONTENT_TYPES: frozenset[str] = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"})
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # 10 MiB
MAX_FILENAME = 200
UPLOAD_SECONDS = 600  # a presigned POST is valid for ten minutes
DOWNLOAD_SECONDS = 120  # a presigned GET is short-lived: the browser opens it at once
CUSTOMER_LINK_SECONDS = 14 * 86400  # a customer's signed attachment link
MAX_MINUTES_PER_ENTRY = 24 * 60
MAX_FUTURE_SKEW = timedelta(minutes=5)
MAX_TIME_AGE = timedelta(days=366)
NUMBER_PREFIX = "IN"
NUMBER_RE = re.compile(r"\bIN-(\d{4})-(\d{6,})\b")
WEB_FORM_AUTHOR = "web_form"
MAIL_AUTHOR = "mail"


def new_id() -> str:
    """A new interaction, entry, attachment or task id (random, 26 hex characters)."""
    return uuid.uuid4().hex[:26]


# ---------------------------------------------------------------------------------------------- numbers
def format_number(year: int, seq: int) -> str:
    """``(2026, 123)`` -> ``"IN-2026-000123"``."""
    return f"{NUMBER_PREFIX}-{year:04d}-{seq:06d}"


def number_in_text(text: str) -> str | None:
    """The first interaction number in a subject (``"Re: [IN-2026-000123] ..."`` -> ``"IN-2026-000123"``)."""
    match = NUMBER_RE.search(text or "")
    return match.group(0) if match else None


def subject_with_number(subject: str, number: str) -> str:
    """``"[IN-2026-000123] subject"`` unless the number is in it already."""
    return subject if number in subject else f"[{number}] {subject}".strip()


def message_id_hash(message_id: str) -> str:
    """The key of a mail's Message-ID: angle brackets and spaces off, sha256, 32 hex characters."""
    value = message_id.strip().removeprefix("<").removesuffix(">").strip()
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------- stages
def allowed_moves(process: InteractionProcess, from_stage: str) -> list[str]:
    return process.allowed_from(from_stage)


def move_refusal(process: InteractionProcess, from_stage: str, to_stage: str) -> str | None:
    """Why the move is not allowed, or None."""
    if process.stage(to_stage) is None:
        return f"process {process.id} has no stage {to_stage!r}"
    if to_stage == from_stage:
        return f"the interaction is already in stage {to_stage!r}"
    if to_stage not in process.allowed_from(from_stage):
        allowed = ", ".join(process.allowed_from(from_stage)) or "none"
        return f"moving from {from_stage!r} to {to_stage!r} is not allowed (allowed: {allowed})"
    return None


def closes(process: InteractionProcess, stage: str) -> bool:
    s = process.stage(stage)
    return bool(s and s.closes)


def close_refusal(category: InteractionCategory | None, time_entries: int) -> str | None:
    """Why the interaction can't close (its category requires time and none is logged), or None."""
    if category is not None and category.time_required and time_entries <= 0:
        return f"category {category.id} requires time spent: log time before closing"
    return None


def may_act(is_admin: bool, member_of: Iterable[tuple[str, str]], process: str, stage: str) -> bool:
    """The stage rule: admins always; anyone else only as a member of the stage."""
    return is_admin or (process, stage) in set(member_of)


def may_record(is_admin: bool, member_of: Iterable[tuple[str, str]], process: str) -> bool:
    return may_act(is_admin, member_of, process, REGISTERED_STAGE)


def auto_trigger_for_stage(stage: str) -> str:
    return f"stage:{stage}"


# ---------------------------------------------------------------------------------------------- similar
_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|sv|res|enc|tr|rv|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_]+(?:[-./][^\W_]+)*", re.UNICODE)
_STOP_WORDS_TEXT = """
a an and are as at be by for from has have i in is it its me my of on or our please the this that to was we
were will with you your about can could would should not no do does did am been hi hello dear thanks thank
o os as um uma uns umas de da do das dos e em no na nos nas por para com que se meu minha nao sim ola obrigado
obrigada favor por pelo pela ao aos sobre ja foi esta este isso isto
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def subject_signature(subject: str) -> str:
    """The sorted set of content words of a subject (see the module docstring)."""
    text = _PREFIX.sub("", subject or "")
    text = NUMBER_RE.sub(" ", text)
    words: set[str] = set()
    for token in _TOKEN.findall(_fold(text).lower()):
        if any(ch.isdigit() for ch in token):
            continue  # invoice numbers, dates, amounts
        for word in re.split(r"[-./]", token):
            if len(word) < 2 or word in STOP_WORDS:
                continue
            if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
            words.add(word)
    return " ".join(sorted(words))


def customer_key(person_id: str | None, account_id: str | None, email: str | None) -> str:
    if person_id:
        return f"P:{person_id}"
    if account_id:
        return f"A:{account_id}"
    if email and email.strip():
        return "E:" + hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:24]
    return ""


def kind_key(category: str, subject: str) -> str:
    signature = subject_signature(subject)
    return f"{category}#{hashlib.sha256(signature.encode('utf-8')).hexdigest()[:16]}" if signature else category


# ---------------------------------------------------------------------------------------------- time
def time_refusal(started_at: datetime, minutes: int, now: datetime) -> str | None:
    """Why a time entry is not acceptable, or None."""
    if started_at.tzinfo is None:
        return "started_at needs a time zone"
    if not 1 <= minutes <= MAX_MINUTES_PER_ENTRY:
        return f"minutes must be between 1 and {MAX_MINUTES_PER_ENTRY}"
    if started_at > now + MAX_FUTURE_SKEW:
        return "started_at is in the future"
    if started_at < now - MAX_TIME_AGE:
        return "started_at is more than a year ago"
    return None


def time_entry_id(interaction_id: str, agent: str, idempotency_key: str | None) -> str:
    """Deterministic for a caller's idempotency key (a retry writes the same entry), else random."""
    if not idempotency_key:
        return new_id()
    raw = f"{interaction_id}\x1f{agent}\x1f{idempotency_key}".encode()
    return hashlib.sha256(raw).hexdigest()[:26]


def months_between(start: date, end: date) -> list[str]:
    """``yyyy-mm`` of every month from ``start`` to ``end`` inclusive."""
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# ---------------------------------------------------------------------------------------------- reports
def fold_time_totals(start: date, end: date, by_day_category: Iterable[tuple[str, str, int, int]],
                     by_day_agent: Iterable[tuple[str, str, int, int]]) -> TimeReport:
    """The report from the two pre-aggregated totals (day x category, day x agent), written with every entry
    in the same transaction as its cell: minutes by day and category come from the first, by agent from the
    second; both hold every entry once, so every total adds up to the same grand total."""
    first, last = start.isoformat(), end.isoformat()
    by_day: dict[str, int] = {}
    by_category: dict[str, int] = {}
    by_agent: dict[str, int] = {}
    total_minutes = total_entries = 0
    for day, category, minutes, entries in by_day_category:
        if first <= day <= last:
            by_day[day] = by_day.get(day, 0) + minutes
            by_category[category] = by_category.get(category, 0) + minutes
            total_minutes += minutes
            total_entries += entries
    for day, agent, minutes, _ in by_day_agent:
        if first <= day <= last:
            by_agent[agent] = by_agent.get(agent, 0) + minutes
    return TimeReport(start=start, end=end, by_day=dict(sorted(by_day.items())),
                      by_category=dict(sorted(by_category.items())), by_agent=dict(sorted(by_agent.items())),
                      total_minutes=total_minutes, total_entries=total_entries)


def fold_time(start: date, end: date, cells: Iterable[TimeCell], *, detail: bool = False) -> TimeReport:
    """Cells of the period merged per (day, category, agent), with the totals per day, category and agent and
    overall, all summed from the same cells (so they add up); ``detail``: also the merged cells as sorted rows."""
    first, last = start.isoformat(), end.isoformat()
    merged: dict[tuple[str, str, str], list[int]] = {}
    for day, category, agent, minutes, entries in cells:
        if not first <= day <= last:
            continue
        cell = merged.get((day, category, agent))
        if cell is None:
            merged[(day, category, agent)] = [minutes, entries]
        else:
            cell[0] += minutes
            cell[1] += entries
    by_day: dict[str, int] = {}
    by_category: dict[str, int] = {}
    by_agent: dict[str, int] = {}
    total_minutes = total_entries = 0
    for (day, category, agent), (minutes, entries) in merged.items():
        by_day[day] = by_day.get(day, 0) + minutes
        by_category[category] = by_category.get(category, 0) + minutes
        by_agent[agent] = by_agent.get(agent, 0) + minutes
        total_minutes += minutes
        total_entries += entries
    rows = [TimeReportRow.model_construct(day=date.fromisoformat(day), category=category, agent=agent,
                                          minutes=minutes, entries=entries)
            for (day, category, agent), (minutes, entries) in sorted(merged.items())] if detail else []
    return TimeReport(start=start, end=end, cells=len(merged), rows=rows, by_day=dict(sorted(by_day.items())),
                      by_category=dict(sorted(by_category.items())), by_agent=dict(sorted(by_agent.items())),
                      total_minutes=total_minutes, total_entries=total_entries)


def fold_content(start: date, end: date, interactions: Iterable[Interaction]) -> ContentReport:
    report = ContentReport(start=start, end=end)
    for i in sorted(interactions, key=lambda x: (x.created_at, x.id)):
        day = i.created_at.date()
        if not start <= day <= end:
            continue
        report.total += 1
        for counts, key in ((report.by_category, i.category), (report.by_channel, i.channel),
                            (report.by_stage, f"{i.process}/{i.stage}"), (report.by_status, i.status),
                            (report.by_day, day.isoformat())):
            counts[key] = counts.get(key, 0) + 1
        report.rows.append(ContentReportRow(id=i.id, number=i.number, created_at=i.created_at, channel=i.channel,
                                            category=i.category, process=i.process, stage=i.stage, status=i.status,
                                            account_id=i.account_id, time_minutes=i.time_minutes,
                                            subject=i.subject))
    return report


# ---------------------------------------------------------------------------------------------- auto replies
def auto_reply_template(config: InteractionsConfig, category: str, trigger: str) -> ReplyTemplate | None:
    """The reply template for ``trigger`` (``created`` or ``stage:<id>``) in ``category``, or None."""
    cat = config.category(category)
    if cat is None or cat.auto_reply is None or trigger not in cat.auto_reply.when:
        return None
    return config.reply_template(cat.auto_reply.template)


def reply_language(template: ReplyTemplate, language: str) -> str:
    """The interaction's language if the template has it (``pt-BR``, else ``pt``), else its default."""
    if language in template.bodies:
        return language
    base = language.split("-")[0]
    if base in template.bodies:
        return base
    return template.default_language


def render_reply(template: ReplyTemplate, language: str, context: dict[str, object]) -> tuple[str, str, str]:
    """(language, subject, text) rendered in the sandbox; :class:`dunning.templating.TemplateError` if broken."""
    lang = reply_language(template, language)
    body = template.bodies[lang]
    name = f"reply template {template.code} ({lang})"
    subject = render(body.subject, context, name=name).replace("\r", " ").replace("\n", " ").strip()
    return lang, subject, render(body.text, context, name=name)


def reply_context(interaction: Interaction) -> dict[str, object]:
    """What a reply template sees: the interaction's number, subject, category, stage, language, customer name."""
    return {"interaction": {"number": interaction.number, "subject": interaction.subject,
                            "category": interaction.category, "stage": interaction.stage,
                            "status": interaction.status, "language": interaction.language,
                            "customer_name": interaction.customer_name or "",
                            "created_at": interaction.created_at.isoformat()}}


# ---------------------------------------------------------------------------------------------- signed links
class BadLink(ValueError):
    """A customer link that does not verify or has expired."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(key: bytes, interaction_id: str, attachment_id: str, expires: int) -> str:
    """A token naming one attachment until ``expires`` (epoch seconds), HMAC-SHA256 with the signing key."""
    payload = _b64(json.dumps({"i": interaction_id, "a": attachment_id, "e": expires},
                              separators=(",", ":")).encode())
    mac = hmac.new(key, b"attachment-link:" + payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac[:20])}"


def verify_link(key: bytes, token: str, now: int) -> tuple[str, str]:
    """(interaction_id, attachment_id) of a valid, unexpired token; :class:`BadLink` otherwise."""
    try:
        payload, mac = token.split(".", 1)
        expected = hmac.new(key, b"attachment-link:" + payload.encode(), hashlib.sha256).digest()[:20]
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise BadLink("the link does not verify")
        data = json.loads(_unb64(payload))
        interaction_id, attachment_id, expires = str(data["i"]), str(data["a"]), int(data["e"])
    except BadLink:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise BadLink("the link is not valid") from exc
    if now > expires:
        raise BadLink("the link has expired")
    return interaction_id, attachment_id


# ---------------------------------------------------------------------------------------------- attachments
def upload_refusal(filename: str, content_type: str, size: int) -> str | None:
    if content_type not in ALLOWED_CONTENT_TYPES:
        return f"type {content_type!r} is not allowed (allowed: {', '.join(sorted(ALLOWED_CONTENT_TYPES))})"
    if not 0 < size <= MAX_ATTACHMENT_BYTES:
        return f"size must be between 1 byte and {MAX_ATTACHMENT_BYTES} bytes"
    if not filename.strip() or len(filename) > MAX_FILENAME or any(c in filename for c in "/\\\x00"):
        return "the file name is empty, too long or has a path in it"
    return None


def stored_refusal(declared_type: str, declared_size: int, head_type: str, head_size: int) -> str | None:
    """Why an uploaded object is refused after its HEAD, or None."""
    if head_type.split(";")[0].strip().lower() != declared_type:
        return f"stored type {head_type!r} is not the declared {declared_type!r}"
    if head_size > MAX_ATTACHMENT_BYTES:
        return f"stored size {head_size} exceeds {MAX_ATTACHMENT_BYTES} bytes"
    if head_size <= 0:
        return "the stored object is empty"
    if declared_size and head_size > declared_size:
        return f"stored size {head_size} exceeds the declared {declared_size} bytes"
    return None


def attachment_key(interaction_id: str, attachment_id: str) -> str:
    return f"attachments/{interaction_id}/{attachment_id}"


def safe_filename(filename: str) -> str:
    """The name as the download offers it: no quotes or control characters."""
    cleaned = "".join(c for c in filename if c.isprintable() and c not in '"\\')
    return cleaned.strip()[:MAX_FILENAME] or "attachment"
