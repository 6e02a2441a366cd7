"""Generate the bad-and-unusual events corpus: ``python -m tests.support.corpus.generate``.

Writes ``events.jsonl`` next to this file: one case per line,

    {"case": "money/negative-invoice", "category": "money", "body": "<the SQS message body>",
     "expect": "reject" | "apply", "reason": "<regex the rejection reason must match>"}

``body`` is exactly what goes on the events queue (a string: it may not even be JSON). ``expect: apply``
means the event is valid, however unusual, and must be applied exactly once (duplicates and older
versions converge on the newest version); ``expect: hold`` means it is valid and stored but waits for an
account or an invoice that never arrives (it stays in the held list); ``expect: reject`` means it must end
in the rejected store with a reason matching ``reason``. Everything is deterministic: the corpus is
committed and regenerated only when cases are added.

The good events it is mixed with are demo events (``events/demo/events.jsonl``) of the accounts listed
in :data:`GOOD_ACCOUNTS`; the corpus refers to them (known accounts, persons, invoices, premises).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "events.jsonl"
DEMO = HERE.parents[2] / "events" / "demo" / "events.jsonl"
# Demo accounts whose events are the "good" events of the mix (A-0001..5 GBP, A-0014..16 BRL, ...).
GOOD_ACCOUNTS = ("0001", "0002", "0003", "0004", "0005", "0014", "0015", "0016", "0026", "0027", "0038", "0039",
                 "0040")
AT = "2026-11-10T09:00:00Z"
LIMIT = 64 * 1024

NOT_JSON = r"not valid JSON|must be a JSON object"
MISSING = r"Field required"
EXTRA = r"Extra inputs are not permitted"


def envelope(eid: str, etype: str, data: Any, at: str = AT, source: str = "corpus", **extra: Any) -> dict[str, Any]:
    return {"event_id": eid, "event_type": etype, "occurred_at": at, "source": source, "data": data, **extra}


def person(pid: str, name: str, **more: Any) -> dict[str, Any]:
    return {"person_id": pid, "name": name, **more}


def invoice(iid: str, account: str = "A-0001", amount: Any = "10.00", currency: str = "GBP",
            invoice_date: str = "2026-11-01", due_date: str = "2026-11-15") -> dict[str, Any]:
    return {"invoice_id": iid, "account_id": account, "invoice_date": invoice_date, "due_date": due_date,
            "amount": amount, "currency": currency}


def payment(pid: str, account: str = "A-0001", amount: Any = "10.00", currency: str = "GBP",
            received_on: str = "2026-11-09", applications: Any = None) -> dict[str, Any]:
    return {"payment_id": pid, "account_id": account, "amount": amount, "currency": currency,
            "received_on": received_on, "applications": applications or []}


class Corpus:
    def __init__(self) -> None:
        self.cases: list[dict[str, Any]] = []
        self._n = 0

    def eid(self, prefix: str = "c") -> str:
        self._n += 1
        return f"corpus-{prefix}-{self._n:04d}"

    def add(self, category: str, name: str, body: Any, expect: str, reason: str = "") -> None:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        assert expect in ("apply", "hold", "reject")
        self.cases.append({"case": f"{category}/{name}", "category": category, "body": text, "expect": expect,
                           "reason": reason})

    def reject(self, category: str, name: str, body: Any, reason: str) -> None:
        self.add(category, name, body, "reject", reason)

    def apply(self, category: str, name: str, body: Any) -> None:
        self.add(category, name, body, "apply")

    def hold(self, category: str, name: str, body: Any, reason: str) -> None:
        self.add(category, name, body, "hold", reason)


def build() -> list[dict[str, Any]]:
    c = Corpus()
    valid = json.dumps(envelope("corpus-template", "person.upserted", person("Q-P-0", "Template Person")))

    # ------------------------------------------------------------------ invalid JSON
    for name, body in [
        ("empty", ""), ("blank", "   "), ("open-brace", "{"), ("close-brace", "}"), ("open-bracket", "["),
        ("null", "null"), ("true", "true"), ("number", "42"), ("string", '"an event"'), ("empty-array", "[]"),
        ("array-of-event", "[" + valid + "]"), ("single-quotes", "{'event_id': 'x', 'event_type': 'y'}"),
        ("trailing-comma", '{"event_id": "x",}'), ("missing-comma", '{"event_id": "x" "event_type": "y"}'),
        ("truncated-half", valid[: len(valid) // 2]), ("truncated-last-brace", valid[:-1]),
        ("truncated-one-char", valid[:1]), ("undefined-literal", '{"event_id": undefined}'),
        ("xml", "<event><id>1</id></event>"), ("form-encoded", "event_id=x&event_type=invoice.posted"),
        ("double-braces", "{{}}"), ("trailing-garbage", valid + " trailing"), ("two-objects", valid + valid),
        ("comment", "// an event\n" + valid), ("unescaped-newline-in-string", '{"event_id": "a\nb"}'),
        ("hex-number", '{"amount": 0x10}'), ("bom-prefixed", "\ufeff" + valid),
    ]:
        c.reject("invalid_json", name, body, NOT_JSON)

    # ------------------------------------------------------------------ envelope: wrong types, missing fields
    base = envelope("corpus-env", "person.upserted", person("Q-P-1", "Envelope Person"))
    for field in ("event_id", "event_type", "occurred_at", "source", "data"):
        body = {k: v for k, v in base.items() if k != field}
        c.reject("envelope", f"missing-{field}", {**body, "event_id": c.eid()} if field != "event_id" else body,
                 MISSING)
    for name, patch, reason in [
        ("extra-field", {"priority": "high"}, EXTRA),
        ("event-id-number", {"event_id": 12345}, r"event_id: Input should be a valid string"),
        ("event-id-spaces", {"event_id": "has spaces"}, r"event_id: String should match pattern"),
        ("event-id-path-traversal", {"event_id": "../../etc/passwd"}, r"event_id: String should match pattern"),
        ("event-id-empty", {"event_id": ""}, r"event_id: String should have at least 1 character"),
        ("event-id-200-chars", {"event_id": "e" * 200}, r"event_id: String should have at most 128"),
        ("event-type-number", {"event_type": 7}, r"event_type: Input should be a valid string"),
        ("occurred-at-number", {"occurred_at": 1700000000}, r"occurred_at must be an ISO 8601 date-time string"),
        ("occurred-at-bool", {"occurred_at": True}, r"occurred_at"),
        ("occurred-at-words", {"occurred_at": "yesterday"}, r"occurred_at: Input should be a valid datetime"),
        ("occurred-at-month-13", {"occurred_at": "2026-13-01T00:00:00Z"}, r"occurred_at"),
        ("occurred-at-no-timezone", {"occurred_at": "2026-11-01T09:00:00"}, r"occurred_at must carry a timezone"),
        ("source-empty", {"source": ""}, r"source: String should have at least 1 character"),
        ("source-100-chars", {"source": "s" * 100}, r"source: String should have at most 64"),
        ("source-null", {"source": None}, r"source: Input should be a valid string"),
        ("data-list", {"data": [1, 2]}, r"data: Input should be a valid dictionary"),
        ("data-string", {"data": "payload"}, r"data: Input should be a valid dictionary"),
        ("data-null", {"data": None}, r"data: Input should be a valid dictionary"),
    ]:
        c.reject("envelope", name, {**base, "event_id": c.eid(), **patch}, reason)
    c.reject("envelope", "nested-in-wrapper", {"event": {**base, "event_id": c.eid()}}, MISSING)

    # ------------------------------------------------------------------ payloads: missing fields, wrong types
    required = {
        "person.upserted": (person("Q-P-2", "Required Person"), "name"),
        "account.upserted": ({"account_id": "Q-A-1", "currency": "EUR", "main_person_id": "Q-P-2"}, "currency"),
        "premise.upserted": ({"premise_id": "Q-PR-1", "address": {"lines": ["1 Road"]}}, "address"),
        "service_agreement.upserted": ({"service_agreement_id": "Q-SA-1", "account_id": "Q-A-1"}, "account_id"),
        "invoice.posted": (invoice("Q-INV-1"), "due_date"),
        "payment.received": (payment("Q-PAY-1"), "amount"),
        "invoice.collection_status_changed": ({"invoice_id": "INV-0001-02", "account_id": "A-0001",
                                               "status": "disputed"}, "status"),
        "payment_prediction.updated": ({"account_id": "A-0001", "invoice_id": "INV-0001-02", "late_probability": "0.5",
                                        "very_late_probability": "0.1"}, "very_late_probability"),
        "contact.requested": ({"request_id": "Q-R-1", "person_id": "P-0001", "contact_class": "CUSTSVC",
                               "contact_type": "CALLBACK"}, "contact_type"),
        "collection.event": ({"event_code": "ARREARS", "account_id": "A-0002"}, "account_id"),
        "severance.event": ({"event_code": "WARN", "account_id": "A-0016"}, "event_code"),
        "writeoff.event": ({"event_code": "AGENCY", "account_id": "A-0027"}, "account_id"),
        "overdue.event": ({"event_code": "LETTER", "account_id": "A-0005"}, "event_code"),
        "field_activity.remark": ({"field_activity_id": "Q-FA-1", "remark_code": "GATE", "premise_id": "PR-0040"},
                                  "premise_id"),
    }
    for etype, (data, missing) in required.items():
        c.reject("payload", f"{etype}-missing-{missing}",
                 envelope(c.eid(), etype, {k: v for k, v in data.items() if k != missing}), rf"{missing}: {MISSING}")
    for name, etype, data, reason in [
        ("amount-list", "invoice.posted", invoice("Q-INV-2", amount=[10]), r"amount"),
        ("amount-object", "invoice.posted", invoice("Q-INV-3", amount={"value": 10}), r"amount"),
        ("amount-bool", "invoice.posted", invoice("Q-INV-4", amount=True), r"amount"),
        ("amount-words", "invoice.posted", invoice("Q-INV-5", amount="ten pounds"), r"amount"),
        ("invoice-id-number", "invoice.posted", {**invoice("Q-INV-6"), "invoice_id": 6}, r"invoice_id"),
        ("due-date-number", "invoice.posted", {**invoice("Q-INV-7"), "due_date": 20261115}, r"due_date"),
        ("applications-not-list", "payment.received", payment("Q-PAY-2", applications={"invoice_id": "x"}),
         r"applications"),
        ("persons-dict", "account.upserted", {"account_id": "Q-A-2", "currency": "EUR", "main_person_id": "Q-P-2",
                                              "persons": {"person_id": "Q-P-2"}}, r"persons"),
        ("service-points-string", "premise.upserted", {"premise_id": "Q-PR-2", "address": {},
                                                       "service_point_ids": "SP-1"}, r"service_point_ids"),
        ("status-unknown", "invoice.collection_status_changed",
         {"invoice_id": "INV-0001-02", "account_id": "A-0001", "status": "forgiven"}, r"status"),
        ("probability-above-one", "payment_prediction.updated",
         {"account_id": "A-0001", "invoice_id": "INV-0001-02", "late_probability": "1.5",
          "very_late_probability": "0.1"}, r"late_probability"),
        ("probability-negative", "payment_prediction.updated",
         {"account_id": "A-0001", "invoice_id": "INV-0001-02", "late_probability": "0.5",
          "very_late_probability": "-0.1"}, r"very_late_probability"),
        ("language-word", "person.upserted", person("Q-P-3", "Lang Person", language="english"), r"language"),
        ("email-invalid", "person.upserted", person("Q-P-4", "Mail Person", email="not-an-email"), r"email"),
        ("email-two-at", "person.upserted", person("Q-P-5", "Mail Person", email="a@b@c.com"), r"email"),
        ("currency-word", "invoice.posted", invoice("Q-INV-8", currency="pounds"), r"currency"),
        ("unknown-payload-field", "invoice.posted", {**invoice("Q-INV-9"), "discount": "5"}, EXTRA),
        ("address-country-long", "premise.upserted", {"premise_id": "Q-PR-3", "address": {"country": "GBR"}},
         r"country"),
        ("duplicate-person-on-account", "account.upserted",
         {"account_id": "Q-A-3", "currency": "EUR", "main_person_id": "Q-P-2",
          "persons": [{"person_id": "Q-P-2"}, {"person_id": "Q-P-2"}]}, r"listed twice"),
        ("sa-status-unknown", "service_agreement.upserted",
         {"service_agreement_id": "Q-SA-2", "account_id": "A-0001", "status": "paused"}, r"status"),
        ("attribute-value-object", "account.upserted",
         {"account_id": "Q-A-4", "currency": "EUR", "main_person_id": "Q-P-2", "attributes": {"x": {"y": 1}}},
         r"attributes"),
    ]:
        c.reject("payload", name, envelope(c.eid(), etype, data), reason)

    # ------------------------------------------------------------------ unknown event types
    for name, etype in [("deleted", "invoice.deleted"), ("upper-case", "INVOICE.POSTED"),
                        ("trailing-space", "invoice.posted "), ("empty", ""), ("versioned", "person.upserted.v2"),
                        ("refund", "payment.refunded"), ("emoji", "invoice.posted.\U0001f4b8"),
                        ("sql", "x'; DROP TABLE ledger; --")]:
        c.reject("unknown_type", name, envelope(c.eid(), etype, {"x": 1}), r"unknown event_type")
    c.reject("unknown_type", "too-long", envelope(c.eid(), "t" * 100, {}), r"event_type: String should have at most 64")

    # ------------------------------------------------------------------ huge payloads and long fields
    def padded(eid: str, size: int, char: str = "x") -> str:
        body = json.dumps(envelope(eid, "contact.requested", {"request_id": "Q-R-2", "person_id": "P-0001",
                                                              "contact_class": "CUSTSVC", "contact_type": "CALLBACK",
                                                              "note": ""}), ensure_ascii=False)
        filler = char * ((size - len(body.encode())) // len(char.encode()))
        return body.replace('"note": ""', f'"note": "{filler}"')

    c.reject("huge", "70kb", padded(c.eid(), 70_000), rf"bytes; the limit is {LIMIT}")
    c.reject("huge", "200kb", padded(c.eid(), 200_000), rf"bytes; the limit is {LIMIT}")
    c.reject("huge", "250kb", padded(c.eid(), 250_000), rf"bytes; the limit is {LIMIT}")
    c.reject("huge", "40k-chars-80k-bytes-arabic", padded(c.eid(), 80_000, "ع"), rf"bytes; the limit is {LIMIT}")
    c.reject("huge", "note-4001-chars", envelope(c.eid(), "contact.requested", {
        "request_id": "Q-R-3", "person_id": "P-0001", "contact_class": "CUSTSVC", "contact_type": "CALLBACK",
        "note": "n" * 4001}), r"note: String should have at most 4000")
    c.reject("huge", "name-201-chars", envelope(c.eid(), "person.upserted", person("Q-P-6", "N" * 201)),
             r"name: String should have at most 200")
    c.reject("huge", "501-applications", envelope(c.eid(), "payment.received", payment(
        "Q-PAY-3", amount="501.00", applications=[{"invoice_id": f"Q-INV-{i}", "amount": "1.00"} for i in range(501)])),
        r"applications: List should have at most 500")
    c.reject("huge", "201-service-points", envelope(c.eid(), "premise.upserted", {
        "premise_id": "Q-PR-4", "address": {}, "service_point_ids": [f"SP-{i}" for i in range(201)]}),
        r"service_point_ids: List should have at most 200")
    c.reject("huge", "101-attributes", envelope(c.eid(), "account.upserted", {
        "account_id": "Q-A-5", "currency": "EUR", "main_person_id": "Q-P-2",
        "attributes": {f"a{i}": i for i in range(101)}}), r"attributes: Dictionary should have at most 100")
    c.reject("huge", "attribute-value-300-chars", envelope(c.eid(), "account.upserted", {
        "account_id": "Q-A-6", "currency": "EUR", "main_person_id": "Q-P-2", "attributes": {"note": "v" * 300}}),
        r"attributes.note is 300 characters; the limit is 256")
    c.reject("huge", "address-7-lines", envelope(c.eid(), "premise.upserted", {
        "premise_id": "Q-PR-5", "address": {"lines": ["l"] * 7}}), r"lines: List should have at most 6")
    c.apply("huge", "arabic-note-3000-chars", envelope(c.eid(), "invoice.collection_status_changed", {
        "invoice_id": "INV-0001-02", "account_id": "A-0001", "status": "disputed", "note": "نزاع " * 600},
        at="2026-11-12T09:00:00Z"))
    for depth in (17, 100, 5000):
        c.reject("huge", f"nested-{depth}-levels", '{"a":' * depth + "1" + "}" * depth,
                 r"nests objects and arrays more than 16 levels deep; the limit is 16")
    c.reject("huge", "nested-5000-arrays-10kb", "[" * 5000 + "]" * 5000,
             r"nests objects and arrays more than 16 levels deep")
    c.reject("huge", "nested-in-data", envelope(c.eid(), "person.upserted", {
        "person_id": "Q-P-N", "name": "Nested", "x": json.loads("[" * 20 + "]" * 20)}),
        r"nests objects and arrays more than 16 levels deep")
    c.apply("huge", "brackets-inside-strings-are-text", envelope(c.eid(), "person.upserted",
                                                               person("Q-P-BR", "[[[[[[[[[[{{{{{{{{{{ Brackets")))
    near = envelope(c.eid(), "account.upserted", {
        "account_id": "Q-A-BIG", "currency": "EUR", "main_person_id": "Q-P-BIG",
        "attributes": {f"{i:02d}".ljust(60, "k"): "v" * 250 for i in range(100)},
        "persons": [{"person_id": f"Q-P-BIG{i}",
                     "business_purposes": [f"purpose-{j}".ljust(18, "p") for j in range(20)]} for i in range(50)]})
    size = len(json.dumps(near, ensure_ascii=False).encode())
    assert LIMIT - 10000 < size < LIMIT, size
    c.apply("huge", "just-under-the-limit", near)

    # ------------------------------------------------------------------ scripts, emoji, control characters
    for name, value in [
        ("arabic-name", "محمد عبد الرحمن"), ("russian-name", "Анна Сергеевна Кузнецова"),
        ("portuguese-name", "João Conceição Araújo Brandão"), ("emoji-name", "Ana \U0001f600 Lima"),
        ("zwj-family-emoji", "Family \U0001f468\u200d\U0001f469\u200d\U0001f467"),
        ("rtl-mark", "\u200fمريم خالد"), ("combining-accent", "Jose\u0301 Ame\u0301lia"),
        ("cjk-name", "山田 太郎"), ("mixed-scripts", "Ivan Иванов محمد"),
        ("tab-in-name", "Ana\tLima"), ("apostrophe-and-quotes", "O'Brien \"Junior\" <b>"),
        ("right-to-left-override", "\u202egnp.exe"),
    ]:
        c.apply("i18n", name, envelope(c.eid(), "person.upserted",
                                       person(f"Q-P-I{len(c.cases)}", value, language="en")))
    c.apply("i18n", "arabic-address", envelope(c.eid(), "premise.upserted", {
        "premise_id": "Q-PR-AR", "address": {"lines": ["شارع التحرير 12"], "city": "القاهرة", "country": "EG"}}))
    c.apply("i18n", "russian-address", envelope(c.eid(), "premise.upserted", {
        "premise_id": "Q-PR-RU", "address": {"lines": ["ул. Ленина, д. 5, кв. 4"], "city": "Москва", "country": "RU"}}))
    c.apply("i18n", "portuguese-address", envelope(c.eid(), "premise.upserted", {
        "premise_id": "Q-PR-PT", "address": {"lines": ["Av. São João, 1000 - apto 12"], "city": "Florianópolis",
                                             "country": "BR"}}))
    c.apply("i18n", "emoji-address", envelope(c.eid(), "premise.upserted", {
        "premise_id": "Q-PR-EM", "address": {"lines": ["\U0001f3e0 1 Emoji Way"], "city": "Leeds"}}))
    c.apply("i18n", "cyrillic-attributes", envelope(c.eid(), "account.upserted", {
        "account_id": "Q-A-RU", "currency": "RUB", "main_person_id": "Q-P-2",
        "attributes": {"сегмент": "частный", "region": "RU"}}))
    c.apply("i18n", "portuguese-note-line-breaks", envelope(c.eid(), "invoice.collection_status_changed", {
        "invoice_id": "INV-0014-01", "account_id": "A-0014", "status": "promised_to_pay",
        "note": "Cliente prometeu pagar até sexta-feira.\r\nLigação às 10h."}, at="2026-11-12T10:00:00Z"))
    for name, value, code in [
        ("nul", "Ana\u0000Lima", "0000"), ("bell", "Ana\u0007", "0007"),
        ("ansi-escape", "\u001b[31mRed\u001b[0m", "001B"),
        ("header-injection-crlf", "Anna\r\nBcc: attacker@example.com", "000D"),
        ("newline-in-name", "Anna\nLee", "000A"),
        ("delete-char", "Ana\u007f", "007F"), ("c1-next-line", "Ana\u0085Lima", "0085"),
        ("vertical-tab", "Ana\u000bLima", "000B"),
    ]:
        c.reject("i18n", f"control-{name}", envelope(c.eid(), "person.upserted", person("Q-P-C", value)),
                 rf"data\.name contains the control character U\+{code}")
    c.reject("i18n", "control-in-address-line", envelope(c.eid(), "premise.upserted", {
        "premise_id": "Q-PR-C", "address": {"lines": ["1 Road\nInjected line"]}}),
        r"data\.address\.lines\[0\] contains the control character U\+000A")
    c.reject("i18n", "control-in-source",
             envelope(c.eid(), "person.upserted", person("Q-P-C2", "Ok Name"), source="crm\u0000"),
             r"source contains the control character U\+0000")
    c.reject("i18n", "control-in-attribute-key", envelope(c.eid(), "account.upserted", {
        "account_id": "Q-A-C", "currency": "EUR", "main_person_id": "Q-P-2", "attributes": {"seg\u0001": "x"}}),
        r"control character U\+0001")
    surrogate = json.dumps(envelope(c.eid(), "person.upserted", person("Q-P-S", "Ana SURROGATE Lima")))
    c.reject("i18n", "lone-surrogate", surrogate.replace("SURROGATE", "\\ud800"),
             r"name: Input should be a valid string, unable to parse raw data as a unicode string"
             r"|data\.name contains an unpaired surrogate U\+D800")

    # ------------------------------------------------------------------ money
    for name, data, reason in [
        ("negative-invoice", invoice("Q-INV-N1", amount="-10.00"), r"amount: Input should be greater than 0"),
        ("zero-invoice", invoice("Q-INV-N2", amount="0"), r"amount: Input should be greater than 0"),
        ("minus-zero-invoice", invoice("Q-INV-N3", amount="-0.00"), r"amount: Input should be greater than 0"),
        ("three-decimals", invoice("Q-INV-N4", amount="10.001"), r"amount: Decimal input should have no more than 2"),
        ("float-noise", invoice("Q-INV-N5", amount=0.1 + 0.2), r"amount: Decimal input should have no more than 2"),
        ("nineteen-digits", invoice("Q-INV-N6", amount="1234567890123456789"), r"amount: Decimal input"),
        ("nan", invoice("Q-INV-N7", amount="NaN"), r"amount"),
        ("infinity", invoice("Q-INV-N8", amount="Infinity"), r"amount"),
        ("lower-case-currency", invoice("Q-INV-N9", currency="gbp"), r"currency: String should match pattern"),
        ("four-letter-currency", invoice("Q-INV-N10", currency="GBPX"), r"currency: String should match pattern"),
        ("currency-mismatch-invoice", invoice("Q-INV-N11", currency="EUR"),
         r"invoice currency EUR does not match account A-0001's currency GBP"),
        ("currency-mismatch-invoice-brl", invoice("Q-INV-N12", account="A-0014", currency="USD"),
         r"invoice currency USD does not match account A-0014's currency BRL"),
    ]:
        c.reject("money", name, envelope(c.eid(), "invoice.posted", data), reason)
    for name, data, reason in [
        ("negative-payment", payment("Q-PAY-N1", amount="-5.00"), r"amount: Input should be greater than 0"),
        ("zero-payment", payment("Q-PAY-N2", amount="0.00"), r"amount: Input should be greater than 0"),
        ("zero-application", payment("Q-PAY-N3", applications=[{"invoice_id": "INV-0001-02", "amount": "0"}]),
         r"applications\.0\.amount: Input should be greater than 0"),
        ("negative-application", payment("Q-PAY-N4", applications=[{"invoice_id": "INV-0001-02", "amount": "-1"}]),
         r"applications\.0\.amount"),
        ("applications-exceed-amount", payment("Q-PAY-N5", amount="5.00", applications=[
            {"invoice_id": "INV-0001-02", "amount": "4.00"}, {"invoice_id": "INV-0001-03", "amount": "4.00"}]),
         r"applications add up to more than the payment amount"),
        ("currency-mismatch-payment", payment("Q-PAY-N6", currency="EUR"),
         r"payment currency EUR does not match account A-0001's currency GBP"),
        ("currency-mismatch-payment-rub", payment("Q-PAY-N7", account="A-0026", currency="EUR"),
         r"payment currency EUR does not match account A-0026's currency RUB"),
    ]:
        c.reject("money", name, envelope(c.eid(), "payment.received", data), reason)
    c.apply("money", "amount-as-json-number", envelope(c.eid(), "invoice.posted",
                                                       invoice("Q-INV-OK1", amount=120.5)))
    for name, amount in [("amount-scientific-notation", "1E+2"), ("amount-exponent-lower-case", "1e2"),
                         ("amount-leading-point", ".5"), ("amount-spaces", " 5.00 ")]:
        c.reject("money", name, envelope(c.eid(), "invoice.posted", invoice("Q-INV-OK2", amount=amount)),
                 r"amount: Value error, an amount is a number or a decimal numeral")
    c.apply("money", "largest-amount", envelope(c.eid(), "invoice.posted",
                                                invoice("Q-INV-OK3", amount="9999999999999999.99")))
    c.apply("money", "one-cent", envelope(c.eid(), "payment.received", payment("Q-PAY-OK1", amount="0.01")))

    # ------------------------------------------------------------------ dates
    for name, at, reason in [
        ("occurred-1900", "1900-01-01T00:00:00Z", r"occurred_at 1900-01-01T00:00:00\+00:00 is before 1990-01-01"),
        ("occurred-year-1", "0001-01-01T00:00:00Z", r"is before 1990-01-01"),
        ("occurred-2999", "2999-12-31T23:59:59Z", r"occurred_at 2999-12-31T23:59:59\+00:00 is in the future"),
        ("occurred-2040", "2040-06-01T00:00:00Z", r"is in the future"),
        ("occurred-year-9999", "9999-12-31T23:59:59Z", r"is in the future"),
    ]:
        c.reject("dates", name, envelope(c.eid(), "person.upserted", person("Q-P-D1", "Date Person"), at=at), reason)
    for name, data, reason in [
        ("invoice-1850", invoice("Q-INV-D1", invoice_date="1850-01-01"), r"date 1850-01-01 is outside 1990-01-01"),
        ("due-2150", invoice("Q-INV-D2", due_date="2150-01-01"), r"date 2150-01-01 is outside"),
        ("due-before-invoice", invoice("Q-INV-D3", invoice_date="2026-11-10", due_date="2026-11-01"),
         r"due_date is before invoice_date"),
        ("february-30", invoice("Q-INV-D4", invoice_date="2026-02-30"), r"invoice_date"),
        ("date-with-time", invoice("Q-INV-D5", due_date="2026-11-15T10:00:00Z"), r"due_date"),
        ("date-words", invoice("Q-INV-D6", due_date="next friday"), r"due_date"),
    ]:
        c.reject("dates", name, envelope(c.eid(), "invoice.posted", data), reason)
    c.reject("dates", "received-1989", envelope(c.eid(), "payment.received", payment("Q-PAY-D1",
                                                                                     received_on="1989-12-31")),
             r"date 1989-12-31 is outside")
    c.apply("dates", "offset-plus-14", envelope(c.eid(), "person.upserted", person("Q-P-D2", "Kiribati Person"),
                                                at="2026-11-10T23:30:00+14:00"))
    c.apply("dates", "offset-minus-12", envelope(c.eid(), "person.upserted", person("Q-P-D3", "Baker Person"),
                                                 at="2026-11-09T01:00:00-12:00"))
    c.apply("dates", "leap-day", envelope(c.eid(), "invoice.posted", invoice("Q-INV-D7", invoice_date="2024-02-29",
                                                                             due_date="2024-03-14")))
    c.apply("dates", "occurred-1990", envelope(c.eid(), "person.upserted", person("Q-P-D4", "Old Person"),
                                               at="1990-01-01T00:00:00Z"))
    c.apply("dates", "due-2100-12-31", envelope(c.eid(), "invoice.posted", invoice("Q-INV-D8",
                                                                                    due_date="2100-12-31")))

    # ------------------------------------------------------------------ references to unknown things
    c.hold("references", "payment-for-unknown-invoice", envelope(c.eid(), "payment.received", payment(
        "Q-PAY-R1", applications=[{"invoice_id": "Q-INV-NOT-YET", "amount": "10.00"}])),
        r"held: invoice Q-INV-NOT-YET of account A-0001 is not posted yet")
    c.hold("references", "payment-for-unknown-account", envelope(c.eid(), "payment.received", payment(
        "Q-PAY-R2", account="Q-A-UNKNOWN", currency="EUR")), r"held: account Q-A-UNKNOWN is not known yet")
    c.hold("references", "invoice-for-unknown-account", envelope(c.eid(), "invoice.posted", invoice(
        "Q-INV-R1", account="Q-A-UNKNOWN", currency="EUR")), r"held: account Q-A-UNKNOWN is not known yet")
    c.apply("references", "status-for-unknown-invoice", envelope(c.eid(), "invoice.collection_status_changed", {
        "invoice_id": "Q-INV-NONE", "account_id": "A-0001", "status": "disputed"}))
    c.apply("references", "prediction-for-unknown-invoice", envelope(c.eid(), "payment_prediction.updated", {
        "account_id": "A-0001", "invoice_id": "Q-INV-NONE", "late_probability": "0.9", "very_late_probability": "0.5"}))
    c.apply("references", "agreement-for-unknown-account-and-premise", envelope(c.eid(), "service_agreement.upserted", {
        "service_agreement_id": "Q-SA-R1", "account_id": "Q-A-UNKNOWN", "premise_id": "Q-PR-UNKNOWN",
        "service_point_ids": ["Q-SP-R1"]}))
    c.apply("references", "account-with-unknown-person", envelope(c.eid(), "account.upserted", {
        "account_id": "Q-A-R1", "currency": "EUR", "main_person_id": "Q-P-UNKNOWN"}))
    # accepted: the contact is recorded and then fails with its reason (no recipient), it is not lost
    c.apply("references", "contact-for-unknown-person", envelope(c.eid(), "contact.requested", {
        "request_id": "Q-R-R1", "person_id": "Q-P-UNKNOWN", "contact_class": "CUSTSVC",
        "contact_type": "AUTOPAY_FORM"}))
    c.reject("references", "contact-of-unknown-type", envelope(c.eid(), "contact.requested", {
        "request_id": "Q-R-R2", "person_id": "P-0001", "contact_class": "NOPE", "contact_type": "X"}),
        r"no contact created.*NOPE/X")
    c.reject("references", "arrears-for-unknown-account", envelope(c.eid(), "collection.event", {
        "event_code": "ARREARS", "account_id": "Q-A-UNKNOWN"}), r"no contact created: .*not known")
    c.reject("references", "process-event-without-matching-rule", envelope(c.eid(), "collection.event", {
        "event_code": "UNUSED_CODE", "account_id": "A-0002"}),
        r"no rule matched: .*collection\.event with code UNUSED_CODE")
    c.reject("references", "severance-event-without-matching-rule", envelope(c.eid(), "severance.event", {
        "event_code": "PAUSE", "account_id": "A-0016"}), r"no rule matched: .*severance\.event with code PAUSE")

    # ------------------------------------------------------------------ duplicates and out-of-order versions
    for i in range(6):
        body = envelope(c.eid("dup"), "invoice.posted", invoice(f"Q-INV-DUP{i}", amount=f"{10 + i}.00"))
        for copy in range(2 + i % 2):
            c.apply("duplicates", f"invoice-{i}-copy-{copy + 1}", body)
    pay = envelope(c.eid("dup"), "payment.received", payment("Q-PAY-DUP", amount="12.00", applications=[
        {"invoice_id": "Q-INV-DUP2", "amount": "12.00"}]))
    for copy in range(3):
        c.apply("duplicates", f"payment-copy-{copy + 1}", pay)
    req = envelope(c.eid("dup"), "contact.requested", {"request_id": "Q-R-DUP", "person_id": "P-0001",
                                                       "account_id": "A-0001", "contact_class": "CUSTSVC",
                                                       "contact_type": "CALLBACK", "note": "ligar à tarde"})
    for copy in range(3):
        c.apply("duplicates", f"contact-request-copy-{copy + 1}", req)
    chains: list[tuple[str, str, list[dict[str, Any]]]] = [
        ("person", "person.upserted", [person("Q-P-V", f"Version {v}", language="pt-BR") for v in (1, 2, 3)]),
        ("account", "account.upserted", [{"account_id": "Q-A-V", "currency": "EUR", "main_person_id": "Q-P-V",
                                          "attributes": {"segment": s}} for s in ("residential", "business", "vip")]),
        ("premise", "premise.upserted", [{"premise_id": "Q-PR-V", "address": {"lines": [f"{n} Rua Nova"]}}
                                         for n in (1, 2, 3)]),
        ("agreement", "service_agreement.upserted", [{"service_agreement_id": "Q-SA-V", "account_id": "Q-A-V",
                                                      "service_point_ids": ["Q-SP-V"], "status": s}
                                                     for s in ("pending", "active", "stopped")]),
        ("status", "invoice.collection_status_changed", [{"invoice_id": "INV-0003-02", "account_id": "A-0003",
                                                          "status": s}
                                                         for s in ("disputed", "resolved", "promise_broken")]),
        ("prediction", "payment_prediction.updated", [{"account_id": "A-0004", "invoice_id": "INV-0004-02",
                                                       "late_probability": p, "very_late_probability": "0.1"}
                                                      for p in ("0.2", "0.5", "0.8")]),
    ]
    for name, etype, versions in chains:
        bodies = [envelope(c.eid("ooo"), etype, data, at=f"2026-11-1{v}T09:00:00Z") for v, data in enumerate(versions)]
        for order, body in zip((3, 1, 2), (bodies[2], bodies[0], bodies[1]), strict=True):
            c.apply("out_of_order", f"{name}-version-{order}-sent-{'first' if order == 3 else 'later'}", body)
        c.apply("out_of_order", f"{name}-version-1-again", bodies[0])
    # ------------------------------------------------------------------ event_id reused (the demo's ids: sent first)
    demo = {e["event_id"]: e for e in map(json.loads, DEMO.read_text(encoding="utf-8").splitlines())}
    person_event, account_event = demo["demo-00001"], demo["demo-00011"]  # P-0001 and A-0002, good accounts
    c.reject("conflicts", "same-id-same-entity-other-body", {**person_event, "data": {
        **person_event["data"], "name": "Someone Else"}}, r"event_id demo-00001 was already received with a "
                                                          r"different body \(first received .*person\.upserted")
    c.reject("conflicts", "same-id-other-entity", envelope("demo-00011", "invoice.posted", invoice(
        "Q-INV-CF1", account="A-0002")), r"event_id demo-00011 was already received with a different body")
    c.reject("conflicts", "same-id-other-occurred-at", {**account_event, "occurred_at": "2026-11-11T08:00:00Z"},
             r"event_id demo-00011 was already received with a different body")
    c.apply("conflicts", "same-id-same-body-reordered-is-a-duplicate",
            dict(reversed(list(person_event.items()))))
    first = envelope("corpus-cf-pair", "person.upserted", person("Q-P-CF", "First Body"))
    c.apply("conflicts", "pair-first", first)
    c.apply("conflicts", "pair-first-again", first)
    return c.cases


def good_events(demo_lines: list[str]) -> list[str]:
    """The demo events of :data:`GOOD_ACCOUNTS` (every id they name belongs to one of those accounts)."""
    import re

    out = []
    for line in demo_lines:
        numbers = set(re.findall(r"-(\d{4})(?:B|-\d+)?\"", line))
        if numbers and numbers <= set(GOOD_ACCOUNTS):
            out.append(line)
    return out


def main(argv: list[str]) -> int:
    cases = build()
    OUT.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")  # ASCII: no stray line breaks
    by: dict[str, int] = {}
    for case in cases:
        by[case["category"]] = by.get(case["category"], 0) + 1
    print(f"wrote {len(cases)} cases to {OUT}: " + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
