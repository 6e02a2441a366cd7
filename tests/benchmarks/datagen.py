"""Deterministic (seeded) benchmark data over the published configuration in ``infra/config``.

Every account has an open balance, 1-10 monthly invoices (older ones paid by one lump-sum payment, applied
oldest-first), a mix of segments that lands it in each of the four strategies, four languages, and — for
accounts already worked by earlier runs — the collection state those runs recorded. About
``ACT_SHARE`` (10%) of the accounts have an action due on :data:`AS_OF`: each account is drawn for a
target ("acts" / "does not act") and re-drawn until :func:`evaluate_account` agrees, so the share is exact
up to sampling and the data stays realistic (non-acting accounts are not yet due, already stepped,
inside quiet days, on hold or excluded, as in a real daily run).

Usage::

    python -m tests.benchmarks.datagen 2000 --out /tmp/events.jsonl   # queue envelopes + state file
    python -m tests.benchmarks.datagen 100000 --summary                # outcome mix only

The same data feeds the in-process engine benchmark (:func:`Dataset.views`), the local stack (through
the real events queue: :func:`Dataset.events`; collection state through ``DynamoLedgerRepository.put_states``, the
path the run itself writes it with) and the ingest benchmark.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from dunning.account_view import build_account_view
from dunning.config_loader import load_config_dir
from dunning.models.accounts import AccountView, CollectionState
from dunning.models.config import Config
from dunning.models.decisions import Assignment
from dunning.models.events import (
    AccountUpserted,
    InvoiceCollectionStatusChanged,
    InvoicePosted,
    PartyContact,
    PaymentPredictionUpdated,
    PaymentReceived,
    PersonUpserted,
)
from dunning.strategy.assignment import assign
from dunning.strategy.evaluation import evaluate_account

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "infra" / "config"
AS_OF = date(2026, 11, 16)
ACT_SHARE = 0.10
SEED = 20261116

# language -> (currency, names, streets, city, country)
LANGUAGES: dict[str, tuple[str, list[str], str, str, str]] = {
    "en": ("EUR", ["Oliver Bennett", "Amelia Clarke", "Harry Walsh", "Isla Morgan", "Jack Turner"],
           "{n} High Street", "Dublin", "IE"),
    "pt-BR": ("BRL", ["João da Silva", "Maria Conceição", "Antônio Araújo", "Luíza Gonçalves"],
              "Rua das Acácias, {n}", "São Paulo", "BR"),
    "ru": ("RUB", ["Иван Петров", "Анна Смирнова", "Дмитрий Кузнецов", "Ольга Васильева"],
           "ул. Ленина, д. {n}", "Москва", "RU"),
    "ar": ("EGP", ["محمد الأحمد", "فاطمة الزهراء", "أحمد حسن", "مريم خالد"], "شارع التحرير {n}", "القاهرة", "EG"),
}
LANGUAGE_WEIGHTS = {"en": 50, "pt-BR": 25, "ru": 15, "ar": 10}
# segment -> weight; residential with risk_score >= 70 and a balance >= 100 is "high_risk".
SEGMENT_WEIGHTS: dict[str | None, int] = {"residential": 60, "business": 14, "government": 3, "vip": 5, None: 18}


@cache
def load_config() -> Config:
    return load_config_dir(CONFIG_DIR)


@dataclass
class AccountData:
    account_id: str
    person: PersonUpserted
    account: AccountUpserted
    invoices: list[InvoicePosted]
    payments: list[PaymentReceived]
    statuses: dict[str, Any]
    predictions: dict[str, PaymentPredictionUpdated]
    state: CollectionState | None
    acts: bool  # the target the account was drawn for (and that evaluate_account confirmed)
    view: AccountView
    assignment: Assignment


@dataclass
class Dataset:
    accounts: list[AccountData]
    as_of: date = AS_OF
    seed: int = SEED
    stats: Counter[str] = field(default_factory=Counter)
    prefix: str = "B"

    def views(self) -> list[AccountView]:
        return [a.view for a in self.accounts]

    def pairs(self) -> list[tuple[AccountView, Assignment]]:
        return [(a.view, a.assignment) for a in self.accounts]

    def acting_ids(self) -> set[str]:
        return {a.account_id for a in self.accounts if a.acts}

    def states(self) -> dict[str, CollectionState]:
        return {a.account_id: a.state for a in self.accounts if a.state is not None}

    def events(self) -> list[dict[str, Any]]:
        """Queue envelopes, in the order upstream would send them (profiles first, then money)."""
        out: list[dict[str, Any]] = []
        base = datetime.combine(self.as_of - timedelta(days=400), time(6, 0), tzinfo=UTC)
        seq = 0

        def emit(event_type: str, model: Any, day: date | None = None) -> None:
            nonlocal seq
            seq += 1
            at = base if day is None else datetime.combine(day, time(6, 0), tzinfo=UTC)
            out.append({"event_id": f"bench-{self.prefix}{self.seed}-{seq:08d}", "event_type": event_type,
                        "occurred_at": (at + timedelta(seconds=seq % 3600)).isoformat(), "source": "bench",
                        "data": model.model_dump(mode="json", exclude_defaults=True)})

        for a in self.accounts:
            emit("person.upserted", a.person)
            emit("account.upserted", a.account)
            for inv in a.invoices:
                emit("invoice.posted", inv, inv.invoice_date)
            for pay in a.payments:
                emit("payment.received", pay, pay.received_on)
            for inv_id, status in a.statuses.items():
                emit("invoice.collection_status_changed",
                     InvoiceCollectionStatusChanged(invoice_id=inv_id, account_id=a.account_id, status=status),
                     self.as_of - timedelta(days=2))
            for pred in a.predictions.values():
                emit("payment_prediction.updated", pred, self.as_of - timedelta(days=1))
        return out


def _weighted(rnd: random.Random, weights: dict[Any, int]) -> Any:
    return rnd.choices(list(weights), weights=list(weights.values()))[0]


def _draw(index: int, rnd: random.Random, want_act: bool, as_of: date, config: Config, prefix: str) -> AccountData:
    account_id = f"{prefix}A{index:07d}"
    person_id = f"{prefix}P{index:07d}"
    language = _weighted(rnd, LANGUAGE_WEIGHTS)
    currency, names, street, city, country = LANGUAGES[language]
    person = PersonUpserted(
        person_id=person_id, name=rnd.choice(names), language=language,
        email=f"{person_id.lower()}@customers.example",
        address={"lines": [street.format(n=rnd.randint(1, 300))], "city": city,  # type: ignore[arg-type]
                 "postal_code": f"{rnd.randint(10000, 99999)}", "country": country},
    )
    segment = _weighted(rnd, SEGMENT_WEIGHTS)
    attributes: dict[str, Any] = {"risk_score": rnd.randint(0, 100)}
    if segment:
        attributes["segment"] = segment
    account = AccountUpserted(
        account_id=account_id, currency=currency, main_person_id=person_id, attributes=attributes,
        sales_group=PartyContact(id="SG-1", name="Key accounts", email="sales@aurora.example")
        if segment in ("business", "government", "vip") else None,
    )
    # Monthly invoices, due 14 days after they are posted (the newest was posted before the run date); the
    # customer paid all but the last `unpaid`.
    count = rnd.randint(1, 10)
    newest_due = as_of + timedelta(days=rnd.randint(-40, 13) if want_act else rnd.randint(-30, 13))
    invoices = []
    for k in range(count):
        due = newest_due - timedelta(days=30 * (count - 1 - k))
        amount = Decimal(rnd.randint(1500, 40000)) / 100
        invoices.append(InvoicePosted(invoice_id=f"{account_id}-I{k + 1:02d}", account_id=account_id,
                                      invoice_date=due - timedelta(days=14), due_date=due, amount=amount,
                                      currency=currency))
    unpaid = min(count, 1 + int(rnd.random() < 0.3) + int(rnd.random() < 0.1))
    paid = invoices[: count - unpaid]
    payments = []
    if paid:
        total = sum((i.amount for i in paid), Decimal(0))
        payments.append(PaymentReceived(payment_id=f"{account_id}-P1", account_id=account_id, amount=total,
                                        currency=currency, received_on=paid[-1].due_date))
    open_invoices = invoices[count - unpaid:]
    lead = open_invoices[0]
    statuses: dict[str, Any] = {}
    if rnd.random() < 0.04:
        statuses[lead.invoice_id] = rnd.choice(["disputed", "promised_to_pay"])
    predictions: dict[str, PaymentPredictionUpdated] = {}
    if segment == "vip" and rnd.random() < 0.5:
        late = Decimal(rnd.randint(0, 99)) / 100
        predictions[lead.invoice_id] = PaymentPredictionUpdated(
            account_id=account_id, invoice_id=lead.invoice_id, late_probability=late,
            very_late_probability=late * Decimal("0.5"))
    view = build_account_view(account_id, account=account, invoices=invoices, payments=payments, statuses=statuses,
                              predictions=predictions)
    assignment = assign(view, config)
    state = _prior_state(rnd, view, assignment, as_of, config, want_act)
    if state is not None:
        view = view.model_copy(update={"state": state})
    return AccountData(account_id, person, account, invoices, payments, statuses, predictions, state, want_act,
                       view, assignment)


def _prior_state(rnd: random.Random, view: AccountView, assignment: Assignment, as_of: date, config: Config,
                 want_act: bool) -> CollectionState | None:
    """What earlier daily runs recorded: for overdue accounts, the steps whose date has passed are done."""
    hierarchy = next((h for h in config.hierarchies if h.id == assignment.hierarchy_id), None)
    lead = view.open_invoices[0] if view.open_invoices else None
    if hierarchy is None or lead is None or rnd.random() < (0.6 if want_act else 0.15):
        return None
    dfd = (as_of - lead.due_date).days
    regular = [s for s in hierarchy.steps if not s.pre_dunning]
    offset = {s.id: (s.days if s.when == "after" else -s.days) for s in regular}
    done_upto = dfd - (rnd.randint(1, 20) if want_act else 0)  # acting accounts are a step behind
    done = [s.id for s in regular if offset[s.id] <= done_upto]
    last_step = max((offset[s] for s in done), default=None)
    last_contact = lead.due_date + timedelta(days=last_step) if last_step is not None else None
    if last_contact is not None and last_contact >= as_of:
        last_contact = as_of - timedelta(days=1)
    if not want_act and rnd.random() < 0.3:
        last_contact = as_of - timedelta(days=1)  # inside quiet days
    pre = [i.invoice_id for i in view.open_invoices if i.due_date <= as_of + timedelta(days=5)]
    return CollectionState(last_automated_contact_on=last_contact, steps_done={lead.invoice_id: done} if done else {},
                           predunning_done=pre)


def generate(count: int, seed: int = SEED, as_of: date = AS_OF, act_share: float = ACT_SHARE,
             prefix: str = "B") -> Dataset:
    """``count`` accounts, each drawn until the engine agrees with its act / no-act target. Account ids are
    ``{prefix}A0000000``...; the first ``n`` accounts of a larger data set are the data set of ``n``."""
    config = load_config()
    rnd = random.Random(seed)
    out: list[AccountData] = []
    stats: Counter[str] = Counter()
    for index in range(count):
        want_act = rnd.random() < act_share
        for _attempt in range(200):
            data = _draw(index, rnd, want_act, as_of, config, prefix)
            decision = evaluate_account(data.view, config, as_of, data.assignment)
            stats["draws"] += 1
            if decision.outcome != "no_balance" and (decision.outcome == "act") == want_act:
                stats[f"outcome:{decision.outcome}"] += 1
                stats[f"hierarchy:{decision.hierarchy_id}"] += 1
                for action in decision.actions:
                    stats[f"action:{action.action}"] += 1
                out.append(data)
                break
        else:  # pragma: no cover - the draw covers both targets for every strategy
            raise RuntimeError(f"account {index}: no draw matched target act={want_act}")
    return Dataset(out, as_of, seed, stats, prefix)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help="write queue envelopes (JSON lines) here, states beside it")
    parser.add_argument("--summary", action="store_true", help="print the outcome / strategy / action mix")
    args = parser.parse_args(argv)
    data = generate(args.count, args.seed)
    if args.out:
        with args.out.open("w", encoding="utf-8") as fh:
            for env in data.events():
                fh.write(json.dumps(env, ensure_ascii=False) + "\n")
        states = {k: v.model_dump(mode="json") for k, v in data.states().items()}
        args.out.with_suffix(".states.json").write_text(json.dumps(states), encoding="utf-8")
    if args.summary or not args.out:
        print(json.dumps(dict(sorted(data.stats.items())), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
