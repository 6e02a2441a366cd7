"""Runs: list, start, show (with the batches and the accounts the run set aside); simulation."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from dunning.api import context
from dunning.api.guard import guard
from dunning.api.models import StartRunRequest
from dunning.api.params import AsOf, Limit, NextToken
from dunning.app import operations, queries
from dunning.auth import Permission

router = APIGatewayHttpRouter()


@router.get("/runs", summary="List runs, newest first", tags=["runs"], **guard(Permission.RUNS_READ))
def list_runs(limit: Limit = None, next_token: NextToken = None) -> queries.Page[queries.RunSummary]:
    return queries.list_runs(context.reads(), limit, next_token)


@router.post("/runs", summary="Start a collections run", tags=["runs"], **guard(Permission.RUNS_START))
def start_run(body: StartRunRequest) -> Response[operations.RunStarted]:
    started = operations.start_run(context.operations(), body.as_of)
    return Response(status_code=202, body=started, content_type="application/json")


@router.get("/runs/<run_id>", summary="A run: its summary, batches and set-aside accounts", tags=["runs"],
            **guard(Permission.RUNS_READ))
def get_run(run_id: str) -> queries.RunDetail:
    return queries.get_run(context.reads(), run_id)


@router.get("/simulate", summary="What a run would do on a date, and why (one account or the whole book, paged)",
            tags=["simulation"], **guard(Permission.SIMULATE))
def simulate(as_of: AsOf = None,
             account_id: Annotated[str | None, Query(max_length=64, description="only this account")] = None,
             limit: Limit = None, next_token: NextToken = None) -> queries.SimulationPage:
    day = as_of or context.today()
    if account_id:
        return queries.SimulationPage(as_of=day, items=[queries.account_decision(context.reads(), account_id, day)])
    return queries.simulate_book(context.reads(), day, limit, next_token)
