"""The collections run, per batch (EvaluateFunction): evaluate each account's due step, record the process
history, and write the decisions that act for create_contacts."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from dunning.app.run_models import BatchInput, batch_key, decisions_key
from dunning.models.accounts import AccountView
from dunning.models.config import Config
from dunning.models.decisions import AccountDecision, Assignment, PlannedAction
from dunning.store.blobs import BlobStore
from dunning.store.ledger import items_to_view
from dunning.store.runs import RunStore
from dunning.strategy.assignment import assign
from dunning.strategy.compiled import PREDICTION_LATE, PREDICTION_VERY_LATE
from dunning.strategy.evaluation import evaluate_account

UNASSIGNED = "(unassigned)"  # the history's hierarchy for accounts no strategy takes


@dataclass
class EvaluateDeps:
    config: Config
    runs: RunStore  # the process history
    blobs: BlobStore  # the runs bucket: manifest in, decisions out


class EvaluatedBatch(BatchInput):
    """An evaluated batch: the input create_contacts reads (with its ``decisions_key``), plus the count."""

    evaluated: int


def decide(views_and_assignments: Iterable[tuple[AccountView, Assignment]], config: Config, as_of: date
           ) -> list[tuple[AccountView, AccountDecision]]:
    return [(v, evaluate_account(v, config, as_of, a)) for v, a in views_and_assignments]


def template_names(config: Config) -> dict[tuple[str, str], str]:
    """``(action, template code) -> readable name``: an activity template's name, a letter or email template's
    description (its code when it has none), for the history's action names."""
    names = {("activity", a.code): a.name for a in config.activity_templates}
    names.update({("letter", t.code): t.description or t.code for t in config.letter_templates})
    names.update({("email", t.code): t.description or t.code for t in config.email_templates})
    return names


_PREDICTED = {PREDICTION_VERY_LATE: "very late", PREDICTION_LATE: "late"}


def action_name(action: PlannedAction, names: dict[tuple[str, str], str] | None = None) -> str:
    """What an action does, readably: ``letter 'Friendly reminder' (step reminder) for INV-1``,
    ``activity 'Likely late payment' (payment predicted late) for INV-1``."""
    document = action.document
    name = (names or {}).get((action.action, document), document) if document else None
    what = f"{action.action} '{name}'" if name else action.action
    if action.origin == "prediction":
        why = f"payment predicted {_PREDICTED.get(action.step_id, action.step_id)}"
    elif action.origin == "pre_dunning":
        why = f"pre-dunning {action.step_id}"
    elif action.origin == "automation_log":
        what, why = "automation log", f"of step {action.step_id}"
    else:
        why = f"step {action.step_id}"
    return f"{what} ({why}) for {action.invoice_id}"


def history_entry(decision: AccountDecision, names: dict[tuple[str, str], str] | None = None) -> dict[str, Any]:
    """One account's row in the process history. ``reasons`` always says why nothing (more) was created,
    predictions included; ``names`` (:func:`template_names`) gives the actions their templates' names."""
    return {
        "account_id": decision.account_id,
        "outcome": decision.outcome,
        "lead_invoice_id": decision.lead_invoice_id,
        "days_from_due": decision.days_from_due,
        "actions": [action_name(a, names) for a in decision.actions],
        "reasons": decision.reasons,
        "assignment": decision.assignment_reason,
    }


def evaluate_batch(payload: BatchInput, deps: EvaluateDeps, retention_default: int) -> EvaluatedBatch:
    started = time.perf_counter()
    rows = deps.blobs.get_json(batch_key(payload.manifest_prefix, payload.batch))
    views = [items_to_view(r["account_id"], r["items"]) for r in rows]
    with_balance = [v for v in views if v.open_balance > 0]  # the run works accounts with an open balance
    decided = decide([(v, assign(v, deps.config)) for v in with_balance], deps.config, payload.as_of)
    _record_history(payload, deps, decided, retention_default)
    key = decisions_key(payload.manifest_prefix, payload.batch)
    deps.blobs.put_json(key, [{"view": v.model_dump(mode="json"), "decision": d.model_dump(mode="json")}
                              for v, d in decided if d.actions])
    outcomes = Counter(d.outcome for _, d in decided)
    return EvaluatedBatch.model_validate({**payload.model_dump(), "decisions_key": key, "evaluated": len(decided),
                                       "with_open_balance": len(with_balance), "outcomes": dict(outcomes),
                                       "evaluate_ms": round((time.perf_counter() - started) * 1000, 1)})


def _record_history(payload: BatchInput, deps: EvaluateDeps, decided: list[tuple[AccountView, AccountDecision]],
                    retention_default: int) -> None:
    """Every decision of the batch, per hierarchy, kept for that hierarchy's history retention."""
    by_hierarchy: dict[str, list[dict[str, Any]]] = {}
    names = template_names(deps.config)
    for _, d in decided:
        by_hierarchy.setdefault(d.hierarchy_id or UNASSIGNED, []).append(history_entry(d, names))
    retention = {h.id: h.history_retention_days for h in deps.config.hierarchies}
    retention.setdefault(UNASSIGNED, retention_default)
    deps.runs.put_history(payload.run_id, payload.as_of, payload.batch, by_hierarchy, retention)
