"""High-balance severance escalation: an example Dunning contact-rule plug-in (S1.5)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from dunning.contacts import EventContext, NoContact, event_draft
from dunning.models.config import Config, ContactRule
from dunning.models.contacts import ContactDraft
from dunning.models.events import ProcessEvent

DEFAULT_THRESHOLD = Decimal("1000")


class HighBalanceSeveranceEscalation:
    """Severance with ``attributes.balance >= threshold`` -> a contact per responsible, notified person."""

    name = "high_balance_severance"
    event_types = ("severance.event",)

    def __init__(self, threshold: Decimal = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold

    def drafts(self, ctx: EventContext, rule: ContactRule, config: Config) -> list[ContactDraft]:
        event = ctx.payload
        if not isinstance(event, ProcessEvent):
            return []
        raw = event.attributes.get("balance")
        if raw is None or isinstance(raw, bool):
            raise NoContact(
                f"rule {rule.id}: severance event {event.event_code} carries no balance attribute"
            )
        try:
            balance = Decimal(str(raw))
        except InvalidOperation as exc:
            raise NoContact(f"rule {rule.id}: balance {raw!r} is not a number") from exc
        if balance < self.threshold:
            return []
        account = ctx.account
        if account is None:
            raise NoContact(f"rule {rule.id}: account {event.account_id} is not known yet")
        persons: list[str | None] = [
            p.person_id
            for p in account.all_persons()
            if p.financially_responsible and p.receives_notifications
        ]
        premise = ctx.service_agreement.premise_id if ctx.service_agreement else None
        note = f"severance {event.event_code}: balance {balance} is at or above {self.threshold}"
        why = {"person": f"no person on account {account.account_id} is financially responsible and notified"}
        return [
            event_draft(
                ctx,
                rule,
                config,
                person_id=person_id,
                account_id=account.account_id,
                premise_id=premise,
                source="plugin",
                note=note,
                why_missing=why,
            )
            for person_id in persons or [None]
        ]
