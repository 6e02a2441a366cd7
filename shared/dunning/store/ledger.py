"""The ledger table: every upstream fact, keyed so that one account's data is one Query (pk ``ACCT#id``).

Item layout (pk / sk):

=====================  ==================  =================================================
``ACCT#{account}``     ``PROFILE``         account.upserted
``ACCT#{account}``     ``INV#{invoice}``   invoice.posted
``ACCT#{account}``     ``PAY#{payment}``   payment.received
``ACCT#{account}``     ``STATUS#{inv}``    latest invoice.collection_status_changed
``ACCT#{account}``     ``PRED#{inv}``      latest payment_prediction.updated
``ACCT#{account}``     ``STATE``           collection state, written by the run
``ACCT#{account}``     ``MANUAL``          manual strategy assignment
``PERSON#{id}``        ``PROFILE``         person.upserted
``PREMISE#{id}``       ``PROFILE``         premise.upserted
``SA#{id}``            ``PROFILE``         service_agreement.upserted
``SP#{id}``            ``SA``              service point -> service agreement link
=====================  ==================  =================================================

Facts carry ``v`` (the event's ``occurred_at`` + event id): a write never replaces a newer version, so
duplicate and out-of-order delivery converge on the same ledger. Payloads are stored as JSON text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dunning.account_view import build_account_view
from dunning.models.accounts import AccountView, CollectionState, ManualAssignment
from dunning.models.events import (
    AccountUpserted,
    InvoiceCollectionStatusChanged,
    InvoicePosted,
    PaymentPredictionUpdated,
    PaymentReceived,
    PersonUpserted,
    PremiseUpserted,
    ServiceAgreementUpserted,
)
from dunning.store import dynamo


@dataclass(frozen=True)
class Fact:
    pk: str
    sk: str
    version: str
    event_id: str
    data: str  # JSON

    @property
    def key(self) -> tuple[str, str]:
        return (self.pk, self.sk)

    def item(self) -> dict[str, Any]:
        return {"pk": self.pk, "sk": self.sk, "v": self.version, "eid": self.event_id, "data": self.data}


def account_pk(account_id: str) -> str:
    return f"ACCT#{account_id}"


def items_to_view(account_id: str, items: Iterable[dict[str, Any]]) -> AccountView:
    """Map one account's stored items to its domain view."""
    account = None
    invoices, payments = [], []
    statuses: dict[str, Any] = {}
    predictions: dict[str, PaymentPredictionUpdated] = {}
    state = None
    manual = None
    for item in items:
        sk: str = item["sk"]
        data = item.get("data", "{}")
        if sk == "PROFILE":
            account = AccountUpserted.model_validate_json(data)
        elif sk.startswith("INV#"):
            invoices.append(InvoicePosted.model_validate_json(data))
        elif sk.startswith("PAY#"):
            payments.append(PaymentReceived.model_validate_json(data))
        elif sk.startswith("STATUS#"):
            statuses[sk[7:]] = InvoiceCollectionStatusChanged.model_validate_json(data).status
        elif sk.startswith("PRED#"):
            predictions[sk[5:]] = PaymentPredictionUpdated.model_validate_json(data)
        elif sk == "STATE":
            state = CollectionState.model_validate_json(data)
        elif sk == "MANUAL":
            manual = ManualAssignment.model_validate_json(data)
    return build_account_view(
        account_id,
        account=account,
        invoices=invoices,
        payments=payments,
        statuses=statuses,
        predictions=predictions,
        state=state,
        manual_assignment=manual,
    )


class LedgerRepository:
    def __init__(self, table: str) -> None:
        self.table = table

    # ------------------------------------------------------------------ facts (ingest)
    def apply_facts(self, facts: list[Fact]) -> tuple[list[Fact], list[Fact]]:
        """Write facts newer than what is stored. Returns (written, skipped as stale or duplicate).

        One BatchGetItem per 100 keys and one BatchWriteItem per 25 items: no per-fact round trip.
        """
        newest: dict[tuple[str, str], Fact] = {}
        for f in facts:
            cur = newest.get(f.key)
            if cur is None or f.version > cur.version:
                newest[f.key] = f
        stored = {
            (i["pk"], i["sk"]): i.get("v", "")
            for i in dynamo.batch_get(self.table, [{"pk": pk, "sk": sk} for pk, sk in newest],
                                      projection="pk, sk, v")
        }
        written = [f for k, f in newest.items() if f.version > stored.get(k, "")]
        dynamo.batch_write(self.table, (f.item() for f in written))
        written_ids = {id(f) for f in written}
        return written, [f for f in facts if id(f) not in written_ids]

    # ------------------------------------------------------------------ accounts
    def account_items(self, account_id: str) -> list[dict[str, Any]]:
        return list(dynamo.query(self.table, KeyConditionExpression="pk = :pk",
                                 ExpressionAttributeValues={":pk": {"S": account_pk(account_id)}}))

    def account_view(self, account_id: str) -> AccountView:
        return items_to_view(account_id, self.account_items(account_id))

    def scan_accounts(self, segment: int = 0, total_segments: int = 1) -> Iterator[AccountView]:
        """Every account's view, from a (parallel-segment) Scan."""
        for account_id, items in self.scan_account_items(segment, total_segments):
            yield items_to_view(account_id, items)

    def scan_account_items(self, segment: int = 0, total_segments: int = 1
                           ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Every account's raw items, from one segment of a parallel Scan. Items of one pk arrive together."""
        kwargs: dict[str, Any] = {"FilterExpression": "begins_with(pk, :a)",
                                  "ExpressionAttributeValues": {":a": {"S": "ACCT#"}}}
        if total_segments > 1:
            kwargs.update(Segment=segment, TotalSegments=total_segments)
        current: str | None = None
        group: list[dict[str, Any]] = []
        for item in dynamo.scan(self.table, **kwargs):
            if item["pk"] != current and group:
                yield group[0]["pk"][5:], group
                group = []
            current = item["pk"]
            group.append(item)
        if group:
            yield group[0]["pk"][5:], group

    def persons(self, person_ids: Iterable[str]) -> dict[str, PersonUpserted]:
        items = dynamo.batch_get(self.table, [{"pk": f"PERSON#{p}", "sk": "PROFILE"} for p in set(person_ids)])
        return {i["pk"][7:]: PersonUpserted.model_validate_json(i["data"]) for i in items}

    def profiles(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Raw JSON of PROFILE items for (kind, id) pairs, e.g. ("PREMISE", "PR-1"), in one batch."""
        items = dynamo.batch_get(self.table, [{"pk": f"{kind}#{i}", "sk": "PROFILE"} for kind, i in set(keys)])
        out: dict[tuple[str, str], str] = {}
        for i in items:
            kind, _, ident = i["pk"].partition("#")
            out[(kind, ident)] = i["data"]
        return out

    def premise(self, premise_id: str) -> PremiseUpserted | None:
        data = self.profiles([("PREMISE", premise_id)]).get(("PREMISE", premise_id))
        return PremiseUpserted.model_validate_json(data) if data else None

    def service_agreement(self, sa_id: str) -> ServiceAgreementUpserted | None:
        data = self.profiles([("SA", sa_id)]).get(("SA", sa_id))
        return ServiceAgreementUpserted.model_validate_json(data) if data else None

    def account(self, account_id: str) -> AccountUpserted | None:
        data = self.profiles([("ACCT", account_id)]).get(("ACCT", account_id))
        return AccountUpserted.model_validate_json(data) if data else None

    def service_agreement_for_service_point(self, sp_id: str) -> ServiceAgreementUpserted | None:
        """The agreement linked to a service point (the link item holds the agreement as last upserted)."""
        links = dynamo.batch_get(self.table, [{"pk": f"SP#{sp_id}", "sk": "SA"}])
        return ServiceAgreementUpserted.model_validate_json(links[0]["data"]) if links else None

    # ------------------------------------------------------------------ run state
    def put_states(self, states: dict[str, CollectionState]) -> int:
        now = datetime.now(UTC).isoformat()
        return dynamo.batch_write(
            self.table,
            ({"pk": account_pk(a), "sk": "STATE", "v": now, "data": s.model_dump_json()} for a, s in states.items()),
        )

    def set_manual(self, account_id: str, assignment: ManualAssignment) -> None:
        dynamo.batch_write(self.table, [{"pk": account_pk(account_id), "sk": "MANUAL",
                                         "data": assignment.model_dump_json()}])

    def clear_manual(self, account_id: str) -> None:
        dynamo.batch_write(self.table, deletes=[{"pk": account_pk(account_id), "sk": "MANUAL"}])

    def manual_assignments(self) -> dict[str, ManualAssignment]:
        items = dynamo.scan(self.table, FilterExpression="sk = :m", ExpressionAttributeValues={":m": {"S": "MANUAL"}})
        return {i["pk"][5:]: ManualAssignment.model_validate_json(i["data"]) for i in items}
