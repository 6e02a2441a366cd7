"""Accounts: the ledger, the lead invoice, the decision with its reasons, the contacts timeline."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from dunning.api import context
from dunning.api.guard import guard
from dunning.api.params import AsOf, Limit, NextToken
from dunning.app import queries
from dunning.auth import Permission

router = APIGatewayHttpRouter()
READ = guard(Permission.ACCOUNTS_READ)


@router.get("/accounts/<account_id>", summary="An account's invoices, balance and collection state",
            tags=["accounts"], **READ)
def ledger(account_id: str) -> queries.AccountLedger:
    return queries.account_ledger(context.reads(), account_id)


@router.get("/accounts/<account_id>/lead-invoice", summary="The invoice the strategy works on a date",
            tags=["accounts"], **READ)
def lead_invoice(account_id: str, as_of: AsOf = None) -> queries.LeadInvoice:
    return queries.lead_invoice(context.reads(), account_id, as_of or context.today())


@router.get("/accounts/<account_id>/decision", summary="What a run would decide on a date, and why",
            tags=["accounts"], **READ)
def decision(account_id: str, as_of: AsOf = None) -> queries.Decision:
    return queries.account_decision(context.reads(), account_id, as_of or context.today())


@router.get("/accounts/<account_id>/contacts", summary="The account's contacts, newest first",
            tags=["accounts"], **READ)
def contacts(account_id: str, limit: Limit = None, next_token: NextToken = None) -> queries.Page[queries.ContactOut]:
    return queries.account_contacts(context.reads(), account_id, limit, next_token)
