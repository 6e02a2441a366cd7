"""Public routes (no sign-in; ``/public/...``, routed without the JWT authorizer): the web form and a customer's
signed attachment link.

The web form (S3.1, channel ``internet``): ``GET /public/interactions/form-token`` gives the page a signed
token; ``POST /public/interactions`` (JSON or form-encoded) is rate-limited per client (a keyed hash of the
source address), then judged by the spam guard (:mod:`dunning.interactions.webform`), then recorded under the
configured web-form category. The answer names the interaction's number only. A refused post answers
``your message was not recorded: <reason>`` and never echoes, nor logs, what the customer wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Form
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, Field

from dunning.api import context
from dunning.api.guard import PUBLIC
from dunning.app import interactions
from dunning.app.operations import InvalidRequest
from dunning.interactions import webform
from dunning.models.interactions import NewInteraction
from dunning.observability import logger

router = APIGatewayHttpRouter()
TAGS = ["public"]


class FormToken(BaseModel):
    form_token: str = Field(description="send it back as form_token with the post")
    min_seconds: float = Field(description="a post sooner than this after the token is refused")
    max_seconds: float = Field(description="a post later than this after the token is refused")


class Recorded(BaseModel):
    number: str = Field(description="the interaction's number, to quote in later contact")


def _now() -> datetime:
    return datetime.now(UTC)


def _source_ip() -> str:
    return str(((router.current_event.raw_event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
               or "unknown")


@router.get("/interactions/form-token", summary="A signed token for the web form (valid from 3 s to 24 h)",
            tags=TAGS, **PUBLIC)
def form_token() -> Response[FormToken]:
    token = webform.issue_token(context.interactions().signing_key(), _now())
    return Response(status_code=200, content_type="application/json", headers={"Cache-Control": "no-store"},
                    body=FormToken(form_token=token, min_seconds=webform.MIN_AGE, max_seconds=webform.MAX_AGE))


Field_ = Annotated[str, Form()]


@router.post("/interactions", summary="The public web form: record a customer's request (rate-limited, spam guard)",
             description=("Form-encoded or JSON (the same fields). 201 with the interaction's number; 400 with the "
                          "reason when the spam guard refuses the post; 429 with Retry-After when the client sent "
                          "too many (5 a minute, 50 a day)."),
             tags=TAGS, **PUBLIC)
def post_form(name: Field_ = "", email: Field_ = "", subject: Field_ = "", message: Field_ = "",
              category: Field_ = "", account: Field_ = "",
              website: Annotated[str, Form(description="honeypot: leave empty")] = "",
              form_token: Annotated[str, Form(description="from GET /public/interactions/form-token")] = "",
              ) -> Response[Recorded]:
    deps = context.interactions()
    key = deps.signing_key()
    now = _now()
    webform.check_rate(context.rate_limiter(), webform.client_key(key, _source_ip()), now)
    cfg = deps.config().interactions
    default = cfg.webform_category or ""
    if not default:
        raise webform.SpamRejected("the web form is not available (no category is configured for it)")
    allowed = frozenset({c.id for c in cfg.categories if c.kind == "web_site"} | ({default} if default else set()))
    post = webform.WebFormPost(name=name, email=email, subject=subject, message=message, category=category,
                               account=account, website=website, form_token=form_token)
    ok = webform.check_post(post, key, now, allowed, default)
    new = NewInteraction(channel="internet", category=ok.category, subject=ok.subject, text=ok.message,
                         account_id=ok.account, customer_email=ok.email, customer_name=ok.name or None)
    try:
        created = interactions.record_interaction(deps, None, new, now)
    except InvalidRequest:
        if not ok.account:
            raise
        # an account number we do not know (a typo): the message is recorded all the same, the number kept as text
        created = interactions.record_interaction(deps, None, new.model_copy(update={
            "account_id": None, "text": f"{ok.message}\n\n(account number given: {ok.account}, not found)"}), now)
    logger.info("web form post recorded", extra={"interaction_id": created.id})
    from dunning.app.interaction_mail import send_auto_reply  # the category's acknowledgement, if it has one

    send_auto_reply(context.interaction_mail(), created, "created", now)
    return Response(status_code=201, content_type="application/json", body=Recorded(number=created.number))


@router.get("/attachments/<token>", summary="A customer's signed attachment link: a redirect to the file",
            tags=TAGS, **PUBLIC)
def open_attachment(token: str) -> Response[Any]:
    url = interactions.open_customer_link(context.interactions(), token)
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")
