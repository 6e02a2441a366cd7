"""The public web chat (no sign-in; ``/public/chat/...``, routed without the JWT authorizer): a customer opens a
conversation, sends messages and reads the replies of the workflow's bot and, after a hand-off, of an agent.

* **Open** (``POST /public/chat/conversations``): rate-limited per client (a keyed hash of the source address,
  ``conversations.web_chat.open_per_hour``, counted in RATE# items); the answer carries the conversation's
  token, which every later request sends as ``Authorization: Bearer <token>``. ``"test": true`` opens it on
  the ``test`` channel (the same path; reports can leave those out).
* **Send** (``POST .../{id}/messages``): at most ``conversations.web_chat.rate_per_minute`` per conversation;
  a message is accepted (202) when it is on the conversation's queue, in order, once per ``client_message_id``.
* **Read** (``GET .../{id}/messages?after=``): the messages visible to the customer after the cursor, the
  conversation's status and the question the bot is waiting on (its kind and choices).

Nothing the customer wrote is logged or echoed in a refusal; the source address is never stored (only its hash).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from dunning.api import context
from dunning.api.guard import PUBLIC
from dunning.app import conversations
from dunning.app.queries import NotFound
from dunning.auth import bearer
from dunning.interactions.webform import RateLimited
from dunning.models.conversations import ConversationStatus, CustomerView, NewConversation
from dunning.observability import logger

router = APIGatewayHttpRouter()
TAGS = ["public chat"]
JSON = "application/json"
POLL_AFTER_MS = 1000  # how soon the page should read again
ClientMessageId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
                                       description="the client's id of the message: a resend with the same id is "
                                                   "recorded once")]
TOKEN_HELP = "Authorization: Bearer <the token the open answered with>"  # noqa: S105 - a description


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OpenChatRequest(Body):
    """Who is writing (all optional: the workflow may ask) and, optionally, their first message."""

    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(None, max_length=40, pattern=r"^\+?[0-9 ()./\-]{3,40}$")
    text: str | None = Field(None, max_length=4000)
    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    test: bool = Field(False, description="the test channel (a person or a script testing a workflow)")


class OpenedChat(BaseModel):
    conversation_id: str
    token: str = Field(description="send it as Authorization: Bearer <token> on the conversation's routes")
    number: str = Field(description="the conversation's interaction number, to quote in later contact")
    poll_after_ms: int = Field(description="read the messages again after this many milliseconds")


class ChatMessageRequest(Body):
    text: str = Field(min_length=1, max_length=4000)
    client_message_id: ClientMessageId


class AcceptedChatMessage(BaseModel):
    message_id: str


class ChatMessage(BaseModel):
    id: str
    author: Literal["customer", "bot", "agent"]
    text: str
    at: datetime


class ChatChoice(BaseModel):
    value: str
    label: str = ""


class ChatPrompt(BaseModel):
    kind: str = Field(description="text | email | phone | number | date | choice")
    choices: list[ChatChoice] = Field(default_factory=list)


class ChatView(BaseModel):
    messages: list[ChatMessage]
    cursor: str | None = Field(description="pass it as ?after= to get only what came later")
    status: ConversationStatus = Field(description="opening | bot | handed_off (an agent answers) | closed")
    prompt: ChatPrompt | None = Field(description="the question the bot waits on an answer to, if any")
    continued_in: str | None = Field(None, description="a closed conversation's successor, if the customer wrote on")
    continued_token: str | None = Field(None, description="the successor's token (to go on reading there)")


class ChatRateLimited(RateLimited):
    """Too many messages in this conversation (429): the message names the conversation's limit."""

    def __init__(self, retry_after: int, window: str) -> None:
        super().__init__(retry_after, window)
        self.args = (f"your message was not recorded: too many messages in this conversation; try again in "
                     f"{self.retry_after} seconds",)


def _now() -> datetime:
    return datetime.now(UTC)


def _source_ip() -> str:
    return str(((router.current_event.raw_event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
               or "unknown")


def _token() -> str:
    return bearer(router.current_event.headers.get("authorization") or router.current_event.headers.get(
        "Authorization"))


def _key(secret: bytes, purpose: str, value: str) -> str:
    """A keyed hash (the rate limiter's key): the address or id itself is never stored."""
    return hmac.new(secret, f"chat|{purpose}|{value}".encode(), hashlib.sha256).hexdigest()[:32]


@router.post("/chat/conversations", summary="Open a web chat conversation (no sign-in; rate-limited per client)",
             description=("201 with the conversation's id, token and number; 429 with Retry-After when this "
                          "client opened too many in the hour; 404 when the web chat is switched off."),
             tags=TAGS, **PUBLIC)
def open_chat(body: OpenChatRequest) -> Response[OpenedChat]:
    deps = context.conversations()
    now = _now()
    cfg = deps.config().conversations.web_chat
    if not cfg.enabled:
        raise NotFound("the web chat is not available")
    conversations.check_open_rate(deps, _key(deps.signing_key(), "open", _source_ip()), now)
    new = NewConversation(channel="test" if body.test else "web_chat", name=body.name or None,
                          email=body.email or None, phone=body.phone or None, language=body.language,
                          text=body.text or None)
    opened = conversations.open_conversation(deps, new, now)
    conv = opened.conversation
    logger.info("chat conversation opened", extra={"conversation_id": conv.id, "channel": new.channel})
    return Response(status_code=201, content_type=JSON, headers={"Cache-Control": "no-store"},
                    body=OpenedChat(conversation_id=conv.id, token=opened.token, number=conv.number,
                                    poll_after_ms=POLL_AFTER_MS))


@router.post("/chat/conversations/<conversation_id>/messages", summary="Send a message in a web chat conversation",
             description=(f"{TOKEN_HELP}. 202 when the message is queued (a resend with the same client_message_id "
                          "is recorded once); 401 with a wrong token; 409 when the conversation is closed (open a "
                          "new one); 429 with Retry-After when too many were sent in the minute."),
             tags=TAGS, **PUBLIC)
def send_message(conversation_id: str, body: ChatMessageRequest) -> Response[AcceptedChatMessage]:
    deps = context.conversations()
    now = _now()
    token = _token()
    if not token:
        raise conversations.TokenInvalid("no conversation token")
    try:  # at most conversations.web_chat.rate_per_minute a minute (the use case counts them)
        accepted = conversations.accept_message(deps, conversation_id, token, body.text, body.client_message_id,
                                                now)
    except RateLimited as exc:
        raise ChatRateLimited(exc.retry_after, exc.window) from None
    return Response(status_code=202, content_type=JSON, headers={"Cache-Control": "no-store"},
                    body=AcceptedChatMessage(message_id=accepted.message_id))


@router.get("/chat/conversations/<conversation_id>/messages", summary="Read a web chat conversation's messages",
            description=(f"{TOKEN_HELP}. The messages after the cursor (?after=), the conversation's status and the "
                         "question the bot waits on; 401 with a wrong token."),
            tags=TAGS, **PUBLIC)
def read_messages(conversation_id: str,
                  after: Annotated[str | None, Query(max_length=200, description="the cursor of the previous read")]
                  = None) -> Response[ChatView]:
    token = _token()
    if not token:
        raise conversations.TokenInvalid("no conversation token")
    view = conversations.customer_view(context.conversations(), conversation_id, token, after or None)
    return Response(status_code=200, content_type=JSON, headers={"Cache-Control": "no-store"},
                    body=_chat_view(view))


def _chat_view(view: CustomerView) -> ChatView:
    """The customer's view as this API answers it (a message's id is its cursor)."""
    return ChatView(
        messages=[ChatMessage(id=m.cursor, author=m.role, text=m.text, at=m.at) for m in view.messages],
        cursor=view.cursor, status=view.status,
        prompt=ChatPrompt(kind=view.prompt.kind, choices=[ChatChoice(value=c.value, label=c.label)
                                                          for c in view.prompt.choices]) if view.prompt else None,
        continued_in=view.continued_in, continued_token=view.continued_token)
