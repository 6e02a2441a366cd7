"""Contacts: list, show, create (a user's request); letters: a short-lived link, never the bytes."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from dunning.api import context
from dunning.api.guard import guard
from dunning.api.params import Limit, NextToken
from dunning.app import operations, queries
from dunning.auth import Permission

router = APIGatewayHttpRouter()
AccountQuery = Annotated[str | None, Query(max_length=64, description="only this account's contacts")]


@router.get("/contacts", summary="List contacts", tags=["contacts"], **guard(Permission.CONTACTS_READ))
def list_contacts(account_id: AccountQuery = None, limit: Limit = None,
                  next_token: NextToken = None) -> queries.Page[queries.ContactOut]:
    return queries.list_contacts(context.reads(), account_id, limit, next_token)


@router.post("/contacts", summary="Create a contact (a user's request; idempotent on request_id)",
             tags=["contacts"], **guard(Permission.CONTACTS_CREATE))
def create_contact(body: operations.ContactRequest) -> Response[operations.ContactsCreated]:
    created = operations.create_contact(context.operations(), body)
    return Response(status_code=201 if created.created else 200, body=created, content_type="application/json")


@router.get("/contacts/<contact_id>", summary="One contact", tags=["contacts"], **guard(Permission.CONTACTS_READ))
def get_contact(contact_id: str) -> queries.ContactOut:
    return queries.get_contact(context.reads(), contact_id)


@router.get("/letters/<contact_id>/url", summary="A short-lived presigned URL of a letter's PDF", tags=["letters"],
            **guard(Permission.LETTERS_READ))
def letter_url(contact_id: str) -> queries.LetterLink:
    return queries.letter_link(context.reads(), contact_id)
