"""Deterministic demo data: ~50 accounts in en, pt-BR, ru and ar with invoices, payments and events.

``python -m dunning_ops.local.demo_data events/demo/events.jsonl`` regenerates the committed file. The data is
built around the demo as-of date so that every strategy feature has an account that exercises it.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

DEMO_AS_OF = date(2026, 11, 16)

PEOPLE = {
    "en": (["Oliver Bennett", "Amelia Clarke", "Harry Walsh", "Isla Morgan", "Jack Turner", "Grace Hughes",
            "Noah Price", "Emily Ward", "George Hall", "Sophie Reid", "Alfie Grant", "Ruby Fox", "Leo Shaw"],
           ["{n} High Street", "Flat {n}, Mill Lane", "{n} Church Road"], ["London", "Leeds", "Bristol"], "GB", "GBP"),
    "pt-BR": (["João da Silva", "Maria Conceição", "Antônio Araújo", "Luíza Gonçalves", "Sebastião Lima",
               "Ana Júlia Ribeiro", "Flávio Pereira", "Cecília Brandão", "Vinícius Assunção", "Lúcia Magalhães",
               "Otávio Câmara", "Beatriz Simões"],
              ["Rua das Acácias, {n}", "Av. Paulista, {n} - apto 12", "Travessa São João, {n}"],
              ["São Paulo", "Belo Horizonte", "Florianópolis"], "BR", "BRL"),
    "ru": (["Иван Петров", "Анна Смирнова", "Дмитрий Кузнецов", "Ольга Васильева", "Сергей Соколов",
            "Екатерина Попова", "Алексей Лебедев", "Наталья Козлова", "Михаил Новиков", "Юлия Морозова",
            "Павел Волков", "Татьяна Фёдорова"],
           ["ул. Ленина, д. {n}, кв. 4", "пр. Мира, д. {n}", "ул. Садовая, д. {n}"], ["Москва", "Казань", "Самара"],
           "RU", "RUB"),
    "ar": (["محمد الأحمد", "فاطمة الزهراء", "أحمد حسن", "مريم خالد", "يوسف إبراهيم", "نور الهدى", "عمر سعيد",
            "ليلى محمود", "خالد عبد الله", "سارة علي", "حسن مصطفى", "هدى يوسف"],
           ["شارع التحرير {n}", "شارع النيل {n}", "شارع الجمهورية {n}"], ["القاهرة", "الإسكندرية", "الجيزة"], "EG",
           "EGP"),
}
SEGMENTS = ["residential", "residential", "residential", "business", "vip", None]
# Days from the lead invoice's due date to the demo date, cycled over the accounts.
SCENARIOS = [-10, -2, -4, 2, 4, 8, 12, 16, 22, 26, 36, 60]
CURRENCY_SCALE = {"GBP": 1, "BRL": 5, "RUB": 90, "EGP": 45}


def _envelope(seq: int, event_type: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"event_id": f"demo-{seq:05d}", "event_type": event_type, "occurred_at": at.isoformat(),
            "source": "demo-billing", "data": data}


class _Events:
    """The event list being built: each event gets the next sequence number and a time ``day`` days after the
    start of the demo history (120 days before the as-of date)."""

    def __init__(self, as_of: date) -> None:
        self.events: list[dict[str, Any]] = []
        self.base = datetime.combine(as_of - timedelta(days=120), time(8, 0), tzinfo=UTC)

    def emit(self, event_type: str, data: dict[str, Any], day: int) -> None:
        seq = len(self.events) + 1
        self.events.append(_envelope(seq, event_type, data, self.base + timedelta(days=day, minutes=seq)))

    def day_of(self, when: date) -> int:
        return max(0, (when - self.base.date()).days)


def _customer(out: _Events, rng: random.Random, account_no: int, index: int, language: str,
              people: tuple[list[str], list[str], list[str], str, str]) -> str | None:
    """The person (and a co-holder on every fifth account), premise, account and service agreement of one
    customer; returns the account's segment."""
    names, streets, cities, country, currency = people
    person, premise = f"P-{account_no:04d}", f"PR-{account_no:04d}"
    address = {"lines": [rng.choice(streets).format(n=rng.randint(1, 300))], "city": rng.choice(cities),
               "postal_code": f"{rng.randint(10000, 99999)}", "country": country}
    email = "" if index % 7 == 3 else f"customer{account_no}@example.net"
    out.emit("person.upserted", {"person_id": person, "name": names[index], "language": language, "email": email,
                                 "phone": f"+{rng.randint(10, 99)} {rng.randint(100000, 999999)}",
                                 "address": address}, 0)
    persons = [{"person_id": person, "relationship": "main", "financially_responsible": True,
                "receives_notifications": True, "business_purposes": ["billing"]}]
    if index % 5 == 1:  # a co-holder who is responsible and notified: gets their own arrears letter
        co_holder = f"P-{account_no:04d}B"
        out.emit("person.upserted", {"person_id": co_holder, "name": names[(index + 3) % len(names)],
                                     "language": language, "email": f"coholder{account_no}@example.net",
                                     "address": address}, 0)
        persons.append({"person_id": co_holder, "relationship": "co-holder", "financially_responsible": True,
                        "receives_notifications": True})
    segment = SEGMENTS[(account_no + index) % len(SEGMENTS)]
    attributes: dict[str, Any] = {"risk_score": rng.choice([10, 35, 55, 75, 90]), "region": country}
    if segment:
        attributes["segment"] = segment
    out.emit("premise.upserted", {"premise_id": premise, "address": address,
                                  "service_point_ids": [f"SP-{account_no:04d}"]}, 0)
    account = f"A-{account_no:04d}"
    out.emit("account.upserted", {
        "account_id": account, "currency": currency, "main_person_id": person, "persons": persons,
        "attributes": attributes,
        "collections_agent": {"id": f"agent-{language}", "name": f"Collections {language}",
                              "email": f"collections-{language.lower()}@aurora.example"},
        "sales_group": {"id": "sales-key", "name": "Key account sales", "email": "sales@aurora.example"},
    }, 1)
    out.emit("service_agreement.upserted", {"service_agreement_id": f"SA-{account_no:04d}", "account_id": account,
                                            "premise_id": premise, "service_point_ids": [f"SP-{account_no:04d}"],
                                            "status": "active"}, 1)
    return segment


def _invoices(out: _Events, rng: random.Random, as_of: date, account_no: int, currency: str) -> int:
    """Paid history, then open invoices whose oldest due date puts the account at a chosen point of its strategy
    on the demo date (days relative to the due date; negative = not yet due). Returns the number paid."""
    account = f"A-{account_no:04d}"
    scale = CURRENCY_SCALE[currency]
    lead_offset = SCENARIOS[account_no % len(SCENARIOS)]
    paid = rng.randint(1, 4)
    still_open = 1 + (account_no % 3 == 0)
    for number in range(paid + still_open):
        is_open = number >= paid
        due = as_of - timedelta(days=lead_offset + 30 * (paid - number) if not is_open
                                else lead_offset - 30 * (number - paid))
        invoice_date = due - timedelta(days=14)
        if invoice_date > as_of:
            break
        small = account_no % 11 == 5 and is_open  # below the exclusion thresholds
        amount = round(rng.uniform(2, 4) if small else rng.uniform(40, 240) * scale, 2)
        invoice = f"INV-{account_no:04d}-{number + 1:02d}"
        out.emit("invoice.posted", {"invoice_id": invoice, "account_id": account,
                                    "invoice_date": invoice_date.isoformat(), "due_date": due.isoformat(),
                                    "amount": f"{amount:.2f}", "currency": currency}, out.day_of(invoice_date))
        if not is_open:
            out.emit("payment.received", {
                "payment_id": f"PAY-{account_no:04d}-{number + 1:02d}", "account_id": account,
                "amount": f"{amount:.2f}", "currency": currency,
                "received_on": (due - timedelta(days=rng.randint(0, 5))).isoformat(),
                "applications": [{"invoice_id": invoice, "amount": f"{amount:.2f}"}]}, out.day_of(due))
    return paid


def _account_extras(out: _Events, as_of: date, account_no: int, index: int, currency: str, paid: int,
                    segment: str | None) -> None:
    """Unapplied money, a dispute and a payment prediction on some accounts."""
    account = f"A-{account_no:04d}"
    lead_invoice = f"INV-{account_no:04d}-{paid + 1:02d}"
    if index % 6 == 2:  # unapplied money: applied oldest-first
        out.emit("payment.received", {"payment_id": f"PAY-{account_no:04d}-X", "account_id": account,
                                      "amount": f"{10 * CURRENCY_SCALE[currency]:.2f}", "currency": currency,
                                      "received_on": (as_of - timedelta(days=5)).isoformat()}, 110)
    if index % 8 == 4:  # the oldest open invoice is disputed: the next one leads
        out.emit("invoice.collection_status_changed", {"invoice_id": lead_invoice, "account_id": account,
                                                       "status": "disputed",
                                                       "note": "customer disputes meter reading"}, 112)
    if segment == "vip":
        out.emit("payment_prediction.updated", {"account_id": account, "invoice_id": lead_invoice,
                                                "late_probability": "0.72", "very_late_probability": "0.41"}, 113)


def _system_events(out: _Events, as_of: date) -> None:
    """A payment that arrives before its invoice, then system events and user requests that create contacts."""
    out.emit("payment.received", {"payment_id": "PAY-EARLY-1", "account_id": "A-0001", "amount": "20.00",
                                  "currency": "GBP", "received_on": (as_of - timedelta(days=2)).isoformat(),
                                  "applications": [{"invoice_id": "INV-0001-NEXT", "amount": "20.00"}]}, 117)
    out.emit("invoice.posted", {"invoice_id": "INV-0001-NEXT", "account_id": "A-0001",
                                "invoice_date": (as_of - timedelta(days=1)).isoformat(),
                                "due_date": (as_of + timedelta(days=13)).isoformat(), "amount": "20.00",
                                "currency": "GBP"}, 118)
    out.emit("collection.event", {"event_code": "ARREARS", "account_id": "A-0002"}, 118)
    out.emit("severance.event", {"event_code": "WARN", "account_id": "A-0016", "service_agreement_id": "SA-0016"},
             118)
    out.emit("severance.event", {"event_code": "CUT", "account_id": "A-0030", "service_agreement_id": "SA-0030"},
             118)
    out.emit("writeoff.event", {"event_code": "AGENCY", "account_id": "A-0027"}, 118)
    out.emit("overdue.event", {"event_code": "LETTER", "account_id": "A-0005"}, 118)
    out.emit("contact.requested", {"request_id": "REQ-1001", "person_id": "P-0014", "contact_class": "CUSTSVC",
                                   "contact_type": "AUTOPAY_FORM", "account_id": "A-0014",
                                   "note": "customer called asking for an autopay form"}, 118)
    out.emit("field_activity.remark", {"field_activity_id": "FA-77", "remark_code": "DOG_ON_SITE",
                                       "premise_id": "PR-0040", "service_point_id": "SP-0040",
                                       "note": "beware of the dog"}, 118)


def build(as_of: date = DEMO_AS_OF, seed: int = 7) -> list[dict[str, Any]]:
    """The demo events, in order; the same ``as_of`` and ``seed`` always give the same list."""
    rng = random.Random(seed)
    out = _Events(as_of)
    account_no = 0
    for language, people in PEOPLE.items():
        for index in range(len(people[0])):
            account_no += 1
            segment = _customer(out, rng, account_no, index, language, people)
            currency = people[4]
            paid = _invoices(out, rng, as_of, account_no, currency)
            _account_extras(out, as_of, account_no, index, currency, paid, segment)
    _system_events(out, as_of)
    return out.events


def main(argv: list[str] | None = None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m dunning_ops.local.demo_data [OUTPUT.jsonl]\n\nWrites the deterministic demo events.")
        return 0
    out = Path(argv[0]) if argv else Path("events/demo/events.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    events = build()
    out.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    print(f"wrote {len(events)} events to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
