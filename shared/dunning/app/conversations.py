"""Conversation use cases (S4): open a conversation (web chat, email, the test channel), take customer messages
through the inbound FIFO queue, run the conversation's workflow one step function call at a time, hand it to a
team, and the agents' side (inbox, reply, assign, close) and sheet exports.

Every conversation is an interaction (category ``conversations.interaction_category``): its messages are the
interaction's thread entries, ``chat_in`` (the customer, ``chat:{conversation}:{client message id}``) and
``chat_out`` (the bot, ``bot:{conversation}:{seq}:{i}``, questions ``ask:{conversation}:{seq}``), and agents'
answers are comments visible to the customer (an email conversation's go out through SES). The thread's
Message-ID dedupe drops a message recorded twice, so a redelivered queue message or a retried Lambda sends
nothing twice.

**The run.** One Step Functions execution per conversation (named after it) loops: ``advance`` (this module's
:func:`advance_step`: the pure interpreter plus its side effects) -> ``park`` on a question
(``.waitForTaskToken``; :func:`park` stores the token) -> the customer's answer resumes it
(:func:`process_inbound` takes the token with one conditional write and calls ``SendTaskSuccess``). A message
that arrives while the bot is busy is kept in ``pending`` and the next question takes it at once.

**Closing** a conversation whose execution waits on a question fails that task token
(``SendTaskFailure`` error ``ConversationClosed``): the execution ends there (the state machine catches only
``States.Timeout`` on the question). A customer message after close opens a new conversation for the same
contact with that message first (the old one records ``continued_in``); the web chat refuses new messages to a
closed conversation (:class:`ConversationClosed`, 409), so nothing is ever dropped silently.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal, Protocol

from dunning.app.interactions import InteractionDeps, record_interaction
from dunning.app.operations import InvalidRequest
from dunning.app.queries import NotFound
from dunning.auth import Forbidden, Group, Permission, Principal, Unauthorized
from dunning.conversations import domain, routing, tokens
from dunning.interactions.domain import allowed_moves, closes, new_id
from dunning.interactions.webform import Counter, RateLimited
from dunning.models.config import Config, ConversationsConfig
from dunning.models.conversations import (
    AcceptedMessage,
    ContactProfile,
    Conversation,
    ConversationDetail,
    ConversationSummary,
    CustomerMessage,
    CustomerView,
    InboundEnvelope,
    InboundOutcome,
    NewConversation,
    OpenedConversation,
    ParkInput,
    PendingMessage,
    Prompt,
    SheetRow,
    StepInput,
    StepOutput,
    StepRecord,
    Waiting,
)
from dunning.models.interactions import Interaction, NewInteraction, ThreadEntry
from dunning.models.workflows import (
    AskPrompt,
    CloseConversation,
    Event,
    HttpCall,
    RecordPromise,
    RouteTo,
    SaveRow,
    SendMessage,
    StepTaken,
    UpdateField,
    Wait,
    WorkflowDefinition,
)
from dunning.observability import logger
from dunning.store.conversations import ConversationStore
from dunning.store.interactions import DuplicateMessage, WriteConflict
from dunning.store.sheets import SheetExports

if TYPE_CHECKING:
    from dunning.app.interaction_mail import MailDeps
    from dunning.app.workflows import WorkflowDeps

__all__ = [
    "BOT_AUTHOR", "CUSTOMER_AUTHOR", "FALLBACK_MESSAGE", "SHEET_URL_SECONDS", "AcceptedMessage", "ConversationClosed",
    "ConversationConflict", "ConversationDeps", "ConversationNotFound", "Executions", "InboundQueue",
    "RateLimited", "TokenInvalid", "accept_message", "advance_step", "agent_reply", "assign", "close_conversation",
    "conversation_detail", "conversation_for_interaction", "customer_view", "export_sheet", "fail_conversation",
    "inbox", "open_conversation", "park", "process_inbound",
]

BOT_AUTHOR = "bot"
CUSTOMER_AUTHOR = "customer"
FALLBACK_MESSAGE = "Let me connect you with someone."
NO_WORKFLOW_MESSAGE = "Thanks for your message. Let me connect you with someone."
SHEET_URL_SECONDS = 300
MAX_PROMISE_LOOPS = 10
MAX_RACE_RETRIES = 5
INBOX_LIMIT = 200
CLOSED_ERROR = "ConversationClosed"
_SHEET = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_SUBJECTS = {"web_chat": "Web chat", "test": "Test chat", "email": "Email conversation"}
# the workflow acting on the interactions (promises, an email conversation's mail): the system, past the stage rule
_BOT = Principal(user_id="conversation-workflow", username=BOT_AUTHOR, groups=frozenset({Group.ADMIN}))


# ---------------------------------------------------------------------------------------------- ports
class InboundQueue(Protocol):
    """The inbound FIFO queue: group = ``envelope.conversation_id``, dedupe id = ``envelope.dedupe_id``."""

    def send(self, envelope: InboundEnvelope) -> None: ...


class Executions(Protocol):
    """The conversation state machine."""

    def start(self, name: str, payload: dict[str, Any]) -> str: ...  # the arn; already exists -> its arn
    def succeed(self, token: str, output: dict[str, Any]) -> bool: ...  # False: the token is no longer valid
    def fail(self, token: str, error: str, cause: str) -> None: ...


@dataclass(frozen=True)
class ConversationDeps:
    store: ConversationStore
    workflows: WorkflowDeps
    interactions: InteractionDeps
    config: Callable[[], Config]
    queue: InboundQueue
    executions: Executions
    signing_key: Callable[[], bytes]
    sheets: SheetExports
    mail: MailDeps | None = None
    ask_timeout_cap: int = 0
    rate_limiter: Counter | None = None  # web chat: messages per conversation per minute (RATE# items)


# ---------------------------------------------------------------------------------------------- errors
class ConversationNotFound(NotFound):
    """No such conversation (404)."""


class ConversationClosed(InvalidRequest):
    """The conversation is closed: it takes no more messages (409 at the API)."""


class TokenInvalid(Unauthorized):
    """The conversation token does not fit the conversation (401)."""


class ConversationConflict(Exception):
    """The conversation changed meanwhile (someone else assigned or closed it): reload it (409)."""


# ---------------------------------------------------------------------------------------------- helpers
def _cfg(deps: ConversationDeps) -> ConversationsConfig:
    return deps.config().conversations


def _get(deps: ConversationDeps, conversation_id: str) -> Conversation:
    found = deps.store.get(conversation_id)
    if found is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    return found


def _sees_all(principal: Principal) -> bool:
    return bool(principal.groups & {Group.ADMIN, Group.SUPERVISOR})


def _teams_of(cfg: ConversationsConfig, principal: Principal) -> list[str]:
    if _sees_all(principal):
        return [t.id for t in cfg.teams]
    agent = cfg.agent(principal.username)
    return list(agent.teams) if agent else []


def _check_access(deps: ConversationDeps, principal: Principal, conversation: Conversation) -> None:
    """Agents see the conversations of their teams and those assigned to them; supervisors and admins all."""
    if _sees_all(principal) or conversation.assignee == principal.username:
        return
    if conversation.team and conversation.team in _teams_of(_cfg(deps), principal):
        return
    raise Forbidden(Permission.CONVERSATIONS_READ)


def _summary(c: Conversation) -> ConversationSummary:
    return ConversationSummary(id=c.id, number=c.number, status=c.status, channel=c.channel, team=c.team,
                               assignee=c.assignee, contact_name=c.contact_name, workflow_id=c.workflow_id,
                               version=c.version, last_step=c.last_step, interaction_id=c.interaction_id,
                               created_at=c.created_at, updated_at=c.updated_at)


def _verify(deps: ConversationDeps, conversation_id: str, token: str) -> None:
    if not tokens.verify(deps.signing_key(), conversation_id, token):
        raise TokenInvalid("the conversation token is not valid")


def _add_entry(deps: ConversationDeps, conversation: Conversation, kind: str, text: str, message_id: str | None,
               now: datetime, *, author: str, visibility: str = "customer") -> ThreadEntry | None:
    """A thread entry; None when its message id is recorded already (a repeat)."""
    entry = ThreadEntry.model_validate({"entry_id": new_id(), "kind": kind, "author": author, "at": now,
                                        "text": text, "visibility": visibility, "message_id": message_id})
    try:
        return deps.interactions.store.add_entry(conversation.interaction_id, entry)
    except DuplicateMessage:
        return None
    except WriteConflict as exc:
        raise ConversationNotFound(f"conversation {conversation.id} has no interaction") from exc


def _bot_message(deps: ConversationDeps, conversation: Conversation, text: str, message_id: str,
                 now: datetime) -> bool:
    """The bot says ``text`` (once per ``message_id``); an email conversation's goes out as a mail too."""
    if not text.strip():
        return False
    email = conversation.channel == "email" and deps.mail is not None
    entry = _add_entry(deps, conversation, "chat_out", text, message_id, now, author=BOT_AUTHOR,
                       visibility="agents" if email else "customer")
    if entry is None:
        return False
    if email and deps.mail is not None:
        from dunning.app.interaction_mail import send_reply

        try:
            send_reply(deps.mail, _BOT, conversation.interaction_id, text, now)
        except Exception as exc:  # a mail that cannot go out must not stop the workflow; the thread says so
            logger.warning("conversation mail not sent", extra={"conversation_id": conversation.id,
                                                                "error": type(exc).__name__})
            _add_entry(deps, conversation, "system", f"The message was not sent by mail ({type(exc).__name__}).",
                       None, now, author=BOT_AUTHOR, visibility="agents")
    return True


def _definition(deps: ConversationDeps, workflow_id: str, version: str) -> WorkflowDefinition:
    from dunning.app.workflows import definition_for

    return definition_for(deps.workflows, workflow_id, version)


# ---------------------------------------------------------------------------------------------- open
def open_conversation(deps: ConversationDeps, new: NewConversation, now: datetime, *,
                      principal: Principal | None = None,
                      workflow: tuple[str, str] | None = None) -> OpenedConversation:
    """Record the interaction and the conversation (status ``opening``) and queue its ``open`` envelope (the
    inbound consumer starts the workflow). ``workflow=(id, version)`` forces a version (the console's "Try it":
    ``draft-<hash>``); ``principal`` is who asked for that (``workflows:write``)."""
    if workflow is not None:
        if principal is None:
            raise InvalidRequest("forcing a workflow version needs a signed-in user")
        principal.require(Permission.WORKFLOWS_WRITE)
    return _open(deps, new, now, conversation_id=domain.new_conversation_id(), workflow=workflow)


def _open(deps: ConversationDeps, new: NewConversation, now: datetime, *, conversation_id: str,
          workflow: tuple[str, str] | None = None, first_message_id: str | None = None,
          continued_from: str | None = None) -> OpenedConversation:
    cfg = _cfg(deps)
    if new.channel == "web_chat" and not cfg.web_chat.enabled:
        raise InvalidRequest("the web chat is not enabled")
    interaction = _interaction_for(deps, cfg, new, now, first_message_id)
    account_id = new.account_id or interaction.account_id
    fields: dict[str, Any] = {k: v for k, v in new.fields.items() if v is not None}
    fields.update({k: v for k, v in (("name", new.name or interaction.customer_name),
                                     ("email", new.email or interaction.customer_email), ("phone", new.phone),
                                     ("account_id", account_id)) if v})
    if account_id and deps.interactions.ledger is not None:
        with suppress(Exception):  # a ledger that cannot be read leaves the fields out; the chat still opens
            fields.update(domain.ledger_fields(deps.interactions.ledger.account_view(account_id)))
    key = domain.contact_key(fields.get("email"), fields.get("phone"), account_id, conversation_id)
    before = deps.store.upsert_profile(key, fields, conversation_id, now)
    returning = before is not None and before.conversations > 0
    contact = {**(before.fields if before else {}), **fields, "returning": returning,
               "conversations": (before.conversations if before else 0) + 1}
    conversation = Conversation(
        id=conversation_id, number=interaction.number, status="opening", channel=new.channel,
        language=new.language, interaction_id=interaction.id, contact_key=key,
        contact_name=str(fields.get("name") or ""), returning=returning, contact=contact, created_at=now,
        updated_at=now, continued_from=continued_from)
    if not deps.store.create(conversation):
        raise ConversationConflict(f"conversation {conversation_id} exists already")
    deps.queue.send(InboundEnvelope(kind="open", conversation_id=conversation_id, at=now, channel=new.channel,
                                    dedupe_id=f"{conversation_id}:open", workflow=workflow))
    logger.info("conversation opened", extra={"conversation_id": conversation_id, "channel": new.channel,
                                              "interaction_id": interaction.id})
    return OpenedConversation(conversation=conversation, token=tokens.sign(deps.signing_key(), conversation_id))


def _interaction_for(deps: ConversationDeps, cfg: ConversationsConfig, new: NewConversation, now: datetime,
                     first_message_id: str | None) -> Interaction:
    if new.interaction_id:
        found = deps.interactions.store.get(new.interaction_id)
        if found is None:
            raise InvalidRequest(f"no interaction {new.interaction_id}")
        return found
    recorded = NewInteraction(
        channel="email" if new.channel == "email" else "chat", category=cfg.interaction_category,
        subject=_SUBJECTS[new.channel], text=new.text or "", account_id=new.account_id,
        customer_email=new.email, customer_name=new.name, language=new.language, first_entry_kind="chat_in",
        message_id=first_message_id)
    try:
        return record_interaction(deps.interactions, None, recorded, now)
    except DuplicateMessage as exc:  # the same continued message opened it already (a crash after it)
        found = deps.interactions.store.get(exc.ref.interaction_id)
        if found is None:
            raise
        return found


def conversation_for_interaction(deps: ConversationDeps, interaction_id: str) -> Conversation | None:
    """The conversation recorded as this interaction (the email channel's replies find theirs)."""
    found = deps.store.for_interaction(interaction_id)
    return deps.store.get(found) if found else None


# ---------------------------------------------------------------------------------------------- web chat
def accept_message(deps: ConversationDeps, conversation_id: str, token: str, text: str, client_message_id: str,
                   now: datetime) -> AcceptedMessage:
    """A customer's message from the web chat or the test channel: the token checked, at most
    ``web_chat.rate_per_minute`` a minute (:class:`RateLimited`), refused when closed
    (:class:`ConversationClosed`), queued (the consumer records and delivers it)."""
    _verify(deps, conversation_id, token)
    text = (text or "").strip()
    if not text:
        raise InvalidRequest("the message is empty")
    if len(text) > 4000:
        raise InvalidRequest("the message is longer than 4000 characters")
    if not _CLIENT_ID.match(client_message_id or ""):
        raise InvalidRequest("client_message_id: 1 to 64 letters, digits or _.:-")
    conversation = _get(deps, conversation_id)
    if conversation.status == "closed":
        raise ConversationClosed(f"conversation {conversation.number or conversation_id} is closed")
    if deps.rate_limiter is not None:
        limit = _cfg(deps).web_chat.rate_per_minute
        ts = int(now.timestamp())
        hit = deps.rate_limiter.hit("chat-minute", hashlib.sha256(conversation_id.encode()).hexdigest()[:32],
                                    window_start=ts - ts % 60, window_seconds=60, limit=limit, now=now.timestamp())
        if not hit.allowed:
            raise RateLimited(hit.retry_after, "chat-minute")
    dedupe = domain.dedupe_id(f"{conversation_id}:{client_message_id}")
    deps.queue.send(InboundEnvelope(kind="message", conversation_id=conversation_id,
                                    message_id=client_message_id, text=text, at=now, channel=conversation.channel,
                                    dedupe_id=dedupe))
    return AcceptedMessage(conversation_id=conversation_id, client_message_id=client_message_id,
                           message_id=domain.inbound_message_id(conversation_id, client_message_id),
                           dedupe_id=dedupe)


_ROLES: dict[str, Literal["customer", "bot", "agent"]] = {
    "chat_in": "customer", "email_in": "customer", "chat_out": "bot", "auto_reply": "bot", "comment": "agent",
    "email_out": "agent"}


def customer_view(deps: ConversationDeps, conversation_id: str, token: str, after: str | None) -> CustomerView:
    """What the customer sees: the messages visible to them after the cursor ``after`` (oldest first), the
    status, the open question (kind, choices) and, once a message after close opened another conversation,
    that one."""
    _verify(deps, conversation_id, token)
    conversation = _get(deps, conversation_id)
    record = deps.interactions.store.record(conversation.interaction_id)
    entries = sorted(record.thread if record else [], key=lambda e: (e.at, e.entry_id))
    messages = []
    for e in entries:
        role = _ROLES.get(e.kind)
        cursor = f"{e.at.isoformat()}#{e.entry_id}"
        if e.visibility != "customer" or role is None or (after and cursor <= after):
            continue
        messages.append(CustomerMessage(cursor=cursor, role=role, text=e.text, at=e.at))
    waiting = conversation.waiting
    prompt = Prompt(step=waiting.step, kind=waiting.kind, choices=waiting.choices) if waiting else None
    return CustomerView(conversation_id=conversation_id, status=conversation.status, messages=messages,
                        cursor=messages[-1].cursor if messages else after, prompt=prompt,
                        continued_in=conversation.continued_in,
                        continued_token=tokens.sign(deps.signing_key(), conversation.continued_in)
                        if conversation.continued_in else None)


def check_open_rate(deps: ConversationDeps, client_hash: str, now: datetime) -> None:
    """At most ``web_chat.open_per_hour`` conversations an hour per client (its keyed address hash)."""
    if deps.rate_limiter is None:
        return
    ts = int(now.timestamp())
    hit = deps.rate_limiter.hit("chat-open-hour", client_hash, window_start=ts - ts % 3600, window_seconds=3600,
                                limit=_cfg(deps).web_chat.open_per_hour, now=now.timestamp())
    if not hit.allowed:
        raise RateLimited(hit.retry_after, "chat-open-hour")


# ---------------------------------------------------------------------------------------------- inbound
def process_inbound(deps: ConversationDeps, envelope: InboundEnvelope, now: datetime) -> InboundOutcome:
    """The FIFO consumer: ``open`` starts the workflow (once); ``message`` records the customer's message and
    delivers it by the conversation's status."""
    conversation = deps.store.get(envelope.conversation_id)
    if conversation is None:
        logger.warning("inbound for an unknown conversation", extra={"conversation_id": envelope.conversation_id})
        return InboundOutcome(conversation_id=envelope.conversation_id, outcome="ignored")
    if envelope.kind == "open":
        return _start(deps, conversation, envelope, now)
    return _message(deps, conversation, envelope, now)


def _start(deps: ConversationDeps, conversation: Conversation, envelope: InboundEnvelope,
           now: datetime) -> InboundOutcome:
    cid = conversation.id
    if conversation.status in ("handed_off", "closed"):
        return InboundOutcome(conversation_id=cid, outcome="duplicate")
    if conversation.status == "bot":
        if not conversation.execution_name or not conversation.workflow_id or not conversation.version:
            return InboundOutcome(conversation_id=cid, outcome="duplicate")
        # started before, maybe without the execution (a crash after the status): starting again by the same
        # name starts nothing new
        definition = _definition(deps, conversation.workflow_id, conversation.version)
        arn = deps.executions.start(cid, _start_payload(deps, conversation, definition, conversation.version))
        return InboundOutcome(conversation_id=cid, outcome="duplicate", execution_arn=arn)
    chosen = _choose(deps, conversation, envelope)
    if chosen is None:
        _bot_message(deps, conversation, NO_WORKFLOW_MESSAGE, f"noflow:{cid}", now)
        _hand_to_fallback(deps, conversation, now)
        return InboundOutcome(conversation_id=cid, outcome="handed_off")
    definition, version = chosen
    payload = _start_payload(deps, conversation, definition, version)
    started = deps.store.mark_started(cid, definition.id, version, cid, dict(definition.variables), now)
    if started is None:
        return InboundOutcome(conversation_id=cid, outcome="duplicate")
    arn = deps.executions.start(cid, payload)
    logger.info("conversation workflow started", extra={"conversation_id": cid, "workflow_id": definition.id,
                                                        "version": version})
    return InboundOutcome(conversation_id=cid, outcome="started", execution_arn=arn)


def _choose(deps: ConversationDeps, conversation: Conversation,
            envelope: InboundEnvelope) -> tuple[WorkflowDefinition, str] | None:
    if envelope.workflow is not None:
        wf_id, version = envelope.workflow
        return _definition(deps, wf_id, version), version
    category = None
    if conversation.channel == "email":
        interaction = deps.interactions.store.get(conversation.interaction_id)
        category = interaction.category if interaction else None
    return _live(deps, conversation.channel, conversation.returning, category)


def _live(deps: ConversationDeps, channel: str, returning: bool,
          category: str | None) -> tuple[WorkflowDefinition, str] | None:
    from dunning.app.workflows import live_for

    return live_for(deps.workflows, channel, returning, category)


def _start_payload(deps: ConversationDeps, conversation: Conversation, definition: WorkflowDefinition,
                   version: str) -> dict[str, Any]:
    from dunning.workflows.interpreter import initial_state

    state = initial_state(definition, version, contact=conversation.contact,
                          conversation={"id": conversation.id, "channel": conversation.channel,
                                        "number": conversation.number},
                          settings=dict(_cfg(deps).settings))
    return StepInput(conversation_id=conversation.id, state=state, event=Event(kind="start")).model_dump(mode="json")


def _message(deps: ConversationDeps, conversation: Conversation, envelope: InboundEnvelope,
             now: datetime) -> InboundOutcome:
    cid = conversation.id
    if conversation.status == "closed":
        return _after_close(deps, conversation, envelope, now)
    message_id = domain.inbound_message_id(cid, envelope.message_id)
    current: Conversation | None = conversation
    if envelope.channel == "email":
        # the inbound mail filed the mail in the thread already (an email_in entry): it is only delivered here,
        # once - a redelivery finds its message id among the handled ones
        if message_id in conversation.handled:
            return InboundOutcome(conversation_id=cid, outcome="duplicate")
    elif _add_entry(deps, conversation, "chat_in", envelope.text, message_id, now, author=CUSTOMER_AUTHOR) is None:
        # in the thread already: a redelivery. Delivered (or kept pending) before? Then nothing more to do; else
        # the consumer stopped between the thread entry and the delivery, and delivers it now.
        current = deps.store.get(cid)
        if current is None or message_id in current.handled or current.status != "bot":
            return InboundOutcome(conversation_id=cid, outcome="duplicate")
    pending = PendingMessage(message_id=message_id, text=envelope.text, at=envelope.at)
    for _ in range(MAX_RACE_RETRIES):
        if current is None:
            break
        if current.status == "handed_off":
            deps.store.touch(current, now)
            return InboundOutcome(conversation_id=cid, outcome="queued")
        if current.status == "closed":  # closed while this message was on its way: it is in the thread
            return InboundOutcome(conversation_id=cid, outcome="ignored")
        waiting = current.waiting
        if waiting is not None:
            # a False succeed: the question timed out meanwhile; the message is kept for the next one
            if deps.store.take_waiting(cid, waiting.token, now, message_id) and deps.executions.succeed(
                    waiting.token, {"kind": "answer", "text": envelope.text}):
                return InboundOutcome(conversation_id=cid, outcome="delivered")
        elif deps.store.add_pending(cid, pending, now):
            return InboundOutcome(conversation_id=cid, outcome="pending")
        current = deps.store.get(cid)
    logger.warning("inbound message kept in the thread only", extra={"conversation_id": cid})
    return InboundOutcome(conversation_id=cid, outcome="ignored")


def _after_close(deps: ConversationDeps, conversation: Conversation, envelope: InboundEnvelope,
                 now: datetime) -> InboundOutcome:
    """A message to a closed conversation opens a new one for the same contact (once per message), or goes to
    the open conversation an earlier such message opened."""
    if conversation.continued_in:
        target = deps.store.get(conversation.continued_in)
        if target is not None and target.status != "closed":
            moved = envelope.model_copy(update={"conversation_id": target.id})
            outcome = _message(deps, target, moved, now)
            return InboundOutcome(conversation_id=conversation.id, new_conversation_id=target.id,
                                  outcome="duplicate" if outcome.outcome == "duplicate" else "continued")
    new_id_ = domain.continued_id(conversation.id, envelope.message_id)
    if deps.store.get(new_id_) is not None:
        deps.store.set_continued_in(conversation.id, new_id_)
        return InboundOutcome(conversation_id=conversation.id, outcome="duplicate", new_conversation_id=new_id_)
    interaction = deps.interactions.store.get(conversation.interaction_id)
    profile = deps.store.profile(conversation.contact_key)
    known: dict[str, Any] = profile.fields if profile else {}
    new = NewConversation(
        channel=conversation.channel, name=(interaction.customer_name if interaction else None) or known.get("name"),
        email=(interaction.customer_email if interaction else None) or known.get("email"),
        phone=known.get("phone"), account_id=(interaction.account_id if interaction else None),
        language=conversation.language, text=envelope.text)
    _open(deps, new, now, conversation_id=new_id_, continued_from=conversation.id,
          first_message_id=domain.inbound_message_id(new_id_, envelope.message_id))
    deps.store.set_continued_in(conversation.id, new_id_)
    return InboundOutcome(conversation_id=conversation.id, outcome="continued", new_conversation_id=new_id_)


# ---------------------------------------------------------------------------------------------- the run
def advance_step(deps: ConversationDeps, step: StepInput, now: datetime) -> StepOutput:
    """The state machine's ``advance``: run the workflow version the conversation started on up to its next
    wait point and perform the actions. Performing them again (a retried Lambda, the same ``seq``) sends and
    writes nothing twice: every side effect is keyed by ``(conversation, seq, index)``."""
    from dunning.workflows.interpreter import advance

    conversation = _get(deps, step.conversation_id)
    state, event = step.state, step.event
    if conversation.status in ("closed", "handed_off"):
        return StepOutput(conversation_id=conversation.id, state=state, wait="end")
    definition = _definition(deps, state.workflow_id, state.version)
    taken: list[StepRecord] = []
    ask: AskPrompt | None = None
    http: HttpCall | None = None
    wait: Wait = "end"
    tick = 0  # messages one microsecond apart: the thread keeps the order the workflow said them in
    for _ in range(MAX_PROMISE_LOOPS):
        result = advance(definition, state, event)
        state = result.state
        taken.extend(_record(s, now, state.seq) for s in result.steps)
        promise: RecordPromise | None = None
        for i, action in enumerate(result.actions):
            if isinstance(action, AskPrompt):
                ask = _capped(deps, action)
            elif isinstance(action, HttpCall):
                http = action
            elif isinstance(action, RecordPromise):
                promise = action
            else:
                tick += 1
                conversation = _perform(deps, conversation, action, state.seq, i, now + timedelta(microseconds=tick))
        if state.status == "failed":
            logger.warning("conversation workflow failed", extra={"conversation_id": conversation.id,
                                                                  "workflow_id": state.workflow_id})
            _bot_message(deps, conversation, FALLBACK_MESSAGE, f"fail:{conversation.id}",
                         now + timedelta(microseconds=tick + 1))
            _hand_to_fallback(deps, conversation, now)
            break
        if result.wait != "promise" or promise is None:
            wait = result.wait
            break
        event = Event(kind="promise_result", ok=_record_promise(deps, conversation, promise, now))
    else:
        state = state.model_copy(update={"status": "failed", "error": "too many promise steps"})
        _hand_to_fallback(deps, conversation, now)
    if state.status == "failed":
        wait = "end"
    deps.store.put_steps(conversation.id, taken)
    deps.store.save_progress(conversation.id, workflow_id=state.workflow_id, version=state.version,
                             variables=state.variables, last_step=taken[-1].step if taken else state.step, at=now,
                             clear_waiting=step.event.kind == "timeout")
    return StepOutput(conversation_id=conversation.id, state=state, wait=wait,
                      ask=ask if wait == "answer" else None, http=http if wait == "http" else None)


def _record(taken: StepTaken, at: datetime, seq: int) -> StepRecord:
    return StepRecord(**taken.model_dump(), at=at, seq=seq)


def _capped(deps: ConversationDeps, prompt: AskPrompt) -> AskPrompt:
    if deps.ask_timeout_cap > 0 and prompt.timeout_seconds > deps.ask_timeout_cap:
        return prompt.model_copy(update={"timeout_seconds": deps.ask_timeout_cap})
    return prompt


def _perform(deps: ConversationDeps, conversation: Conversation, action: Any, seq: int, index: int,
             now: datetime) -> Conversation:
    cid = conversation.id
    if isinstance(action, SendMessage):
        _bot_message(deps, conversation, action.text, domain.bot_message_id(cid, seq, index), now)
    elif isinstance(action, UpdateField):
        field = action.field.removeprefix("contact.")
        deps.store.set_profile_field(conversation.contact_key, field, action.value, now)
    elif isinstance(action, SaveRow):
        sk = domain.sheet_sk(conversation.created_at, cid, seq, index)
        deps.store.put_sheet_row(SheetRow(sheet=action.sheet, sk=sk, conversation_id=cid, seq=seq, at=now,
                                          columns={k: str(v) for k, v in action.columns.items()}))
    elif isinstance(action, RouteTo):
        _bot_message(deps, conversation, action.message, domain.bot_message_id(cid, seq, index), now)
        return _route(deps, conversation, action.team, now, rule=action.rule, skill=action.skill)
    elif isinstance(action, CloseConversation):
        _bot_message(deps, conversation, action.message, domain.bot_message_id(cid, seq, index), now)
        return _close(deps, conversation, now, by=BOT_AUTHOR, reason="closed by the workflow")
    return conversation


def _route(deps: ConversationDeps, conversation: Conversation, team: str, now: datetime, *,
           rule: str | None = None, skill: str = "") -> Conversation:
    cfg = _cfg(deps)
    if cfg.team(team) is None:
        team = cfg.fallback_team or team
    assignee = None
    if cfg.team(team) is not None:
        assignee = routing.pick(cfg, team, rule=rule, skill=skill, next_counter=deps.store.next_round_robin,
                                open_counts=deps.store.open_counts)
    handed = deps.store.hand_off(conversation, team, assignee, now)
    if handed is None:
        return deps.store.get(conversation.id) or conversation
    if conversation.waiting is not None:  # a question left open (the workflow failed while it waited)
        with suppress(Exception):
            deps.executions.fail(conversation.waiting.token, "ConversationHandedOff", "handed to an agent")
    logger.info("conversation handed off", extra={"conversation_id": conversation.id, "team": team,
                                                  "assigned": assignee is not None})
    return handed


def _hand_to_fallback(deps: ConversationDeps, conversation: Conversation, now: datetime) -> Conversation:
    cfg = _cfg(deps)
    return _route(deps, conversation, cfg.fallback_team or "fallback", now)


def _record_promise(deps: ConversationDeps, conversation: Conversation, promise: RecordPromise,
                    now: datetime) -> bool:
    """A promise to pay through the interaction (issue 13): True when recorded."""
    from dunning.app.interactions import promise_to_pay

    try:
        amount = Decimal(str(promise.amount).strip())
        until = date.fromisoformat(str(promise.until).strip()[:10])
    except (InvalidOperation, ValueError):
        return False
    if not promise.invoice or amount <= 0:
        return False
    try:
        promise_to_pay(deps.interactions, _BOT, conversation.interaction_id, promise.invoice, amount=amount,
                       until=until, note=f"conversation {conversation.number}", now=now)
    except (InvalidRequest, NotFound, ValueError) as exc:
        logger.info("promise not recorded", extra={"conversation_id": conversation.id, "error": type(exc).__name__})
        return False
    return True


def park(deps: ConversationDeps, inp: ParkInput, now: datetime) -> None:
    """The state machine's ``park`` (``.waitForTaskToken``): store the question's token; a message the customer
    sent meanwhile answers it at once, else the question is sent. A conversation no longer with the bot (closed,
    handed off) fails the token: its execution ends."""
    waiting = Waiting(step=inp.ask.step, token=inp.token, kind=inp.ask.kind, choices=inp.ask.choices,
                      asked_at=now)
    conversation = deps.store.park(inp.conversation_id, waiting, now)
    if conversation is None:
        deps.executions.fail(inp.token, CLOSED_ERROR, "the conversation is no longer with the bot")
        return
    if conversation.pending:
        message = deps.store.pop_pending(conversation.id, inp.token)
        if message is not None:
            deps.executions.succeed(inp.token, {"kind": "answer", "text": message.text})
            return
    text = inp.ask.text
    if conversation.channel == "email" and inp.ask.choices:
        text += "\n" + "\n".join(f"{c.value}. {c.label or c.value}" for c in inp.ask.choices)
    _bot_message(deps, conversation, text, domain.ask_message_id(conversation.id, inp.state.seq), now)


def fail_conversation(deps: ConversationDeps, conversation_id: str, error: str, now: datetime) -> None:
    """The state machine's ``fail`` (a step that could not run): the customer is told and the conversation goes
    to the fallback team."""
    conversation = _get(deps, conversation_id)
    if conversation.status in ("closed", "handed_off"):
        return
    logger.warning("conversation execution failed", extra={"conversation_id": conversation_id,
                                                           "error": (error or "")[:100]})
    _add_entry(deps, conversation, "system", f"The workflow stopped: {(error or 'unknown error')[:500]}",
               f"failnote:{conversation_id}", now, author=BOT_AUTHOR, visibility="agents")
    _bot_message(deps, conversation, FALLBACK_MESSAGE, f"fail:{conversation_id}", now)
    _hand_to_fallback(deps, conversation, now)


# ---------------------------------------------------------------------------------------------- agents
def agent_reply(deps: ConversationDeps, principal: Principal, conversation_id: str, text: str,
                now: datetime) -> ThreadEntry:
    """An agent answers: a comment the customer sees in the web chat, or a mail for an email conversation."""
    principal.require(Permission.CONVERSATIONS_WRITE)
    conversation = _get(deps, conversation_id)
    _check_access(deps, principal, conversation)
    if conversation.status == "closed":
        raise ConversationClosed(f"conversation {conversation.number} is closed")
    text = (text or "").strip()
    if not text:
        raise InvalidRequest("the answer is empty")
    if len(text) > 50_000:
        raise InvalidRequest("the answer is longer than 50000 characters")
    if conversation.channel == "email" and deps.mail is not None:
        from dunning.app.interaction_mail import send_reply

        # the conversation rules decided who may answer; the interaction's stage rule is not theirs to apply
        acting = Principal(user_id=principal.user_id, username=principal.username, groups=frozenset({Group.ADMIN}))
        return send_reply(deps.mail, acting, conversation.interaction_id, text, now)
    entry = _add_entry(deps, conversation, "comment", text, None, now, author=principal.username)
    assert entry is not None  # no message id: never a duplicate
    if conversation.status == "handed_off":
        deps.store.touch(conversation, now)
    return entry


def close_conversation(deps: ConversationDeps, principal: Principal | None, conversation_id: str, now: datetime,
                       *, reason: str = "") -> Conversation:
    """Close (again: unchanged). Its interaction moves to a closing stage when its process allows one from
    where it is; an execution waiting on a question is ended (its token fails with ``ConversationClosed``)."""
    if principal is not None:
        principal.require(Permission.CONVERSATIONS_WRITE)
    conversation = _get(deps, conversation_id)
    if principal is not None:
        _check_access(deps, principal, conversation)
    if conversation.status == "closed":
        return conversation
    return _close(deps, conversation, now, by=principal.username if principal else BOT_AUTHOR,
                  reason=reason or "closed")


def _close(deps: ConversationDeps, conversation: Conversation, now: datetime, *, by: str,
           reason: str) -> Conversation:
    current: Conversation | None = conversation
    for _ in range(MAX_RACE_RETRIES):
        if current is None or current.status == "closed":
            return current or conversation
        closed = deps.store.close(current, now)
        if closed is not None:
            if current.waiting is not None:
                with suppress(Exception):  # the execution may have moved on (a timeout) already
                    deps.executions.fail(current.waiting.token, CLOSED_ERROR, reason[:200])
            _close_interaction(deps, current.interaction_id, by, now)
            logger.info("conversation closed", extra={"conversation_id": current.id})
            return closed
        current = deps.store.get(conversation.id)
    raise ConversationConflict(f"conversation {conversation.id} keeps changing: reload it")


def _close_interaction(deps: ConversationDeps, interaction_id: str, by: str, now: datetime) -> None:
    interaction = deps.interactions.store.get(interaction_id)
    if interaction is None or interaction.status == "closed":
        return
    process = deps.config().interactions.process(interaction.process)
    if process is None:
        return
    targets = [s for s in allowed_moves(process, interaction.stage) if closes(process, s)]
    if not targets:
        return
    with suppress(WriteConflict):
        deps.interactions.store.move(interaction, targets[0], expected_version=interaction.version, by=by, at=now,
                                     note="conversation closed", status="closed")


def assign(deps: ConversationDeps, principal: Principal, conversation_id: str, assignee: str | None,
           now: datetime) -> Conversation:
    """Give a handed-off conversation to an agent of its team (None: back to the queue). Agents take a
    conversation for themselves or give theirs back; supervisors and admins assign anyone."""
    principal.require(Permission.CONVERSATIONS_WRITE)
    conversation = _get(deps, conversation_id)
    _check_access(deps, principal, conversation)
    if conversation.status != "handed_off":
        raise InvalidRequest(f"conversation {conversation.number} is {conversation.status}, not with a team")
    if not _sees_all(principal) and assignee not in (principal.username, None):
        raise Forbidden(Permission.CONVERSATIONS_WRITE)
    if not _sees_all(principal) and assignee is None and conversation.assignee not in (principal.username, None):
        raise Forbidden(Permission.CONVERSATIONS_WRITE)
    if assignee is not None:
        agent = _cfg(deps).agent(assignee)
        if agent is None or (conversation.team not in agent.teams and not _sees_all(principal)):
            raise InvalidRequest(f"{assignee} is not an agent of team {conversation.team}")
    if assignee == conversation.assignee:
        return conversation
    done = deps.store.assign(conversation, assignee, now)
    if done is None:
        raise ConversationConflict(f"conversation {conversation.number} was changed by someone else: reload it")
    return done


def inbox(deps: ConversationDeps, principal: Principal, *, team: str | None = None, status: str = "handed_off",
          mine: bool = False) -> list[ConversationSummary]:
    """``mine``: the conversations assigned to the principal; ``team``: that team's queue; neither: both, for
    every team the principal sits in (supervisors and admins: every team). Oldest update first."""
    principal.require(Permission.CONVERSATIONS_READ)
    cfg = _cfg(deps)
    teams = _teams_of(cfg, principal)
    found: dict[str, Conversation] = {}
    if mine or team is None:
        for c in deps.store.assigned(principal.username, status, INBOX_LIMIT):
            found[c.id] = c
    if team is not None:
        if team not in teams:
            raise Forbidden(Permission.CONVERSATIONS_READ)
        selected = [team]
    else:
        selected = [] if mine else teams
    for t in selected:
        for c in deps.store.queue(t, status, INBOX_LIMIT):
            found.setdefault(c.id, c)
    return [_summary(c) for c in sorted(found.values(), key=lambda c: (c.updated_at, c.id))]


def conversation_detail(deps: ConversationDeps, principal: Principal, conversation_id: str) -> ConversationDetail:
    """The conversation, its thread, the execution's steps with their variables, and the version it runs."""
    principal.require(Permission.CONVERSATIONS_READ)
    conversation = _get(deps, conversation_id)
    _check_access(deps, principal, conversation)
    record = deps.interactions.store.record(conversation.interaction_id)
    name = ""
    if conversation.workflow_id and conversation.version:
        with suppress(Exception):  # a draft's snapshot expires; the history still shows
            name = _definition(deps, conversation.workflow_id, conversation.version).name
    return ConversationDetail(
        conversation=conversation, interaction=record.interaction if record else None,
        thread=sorted(record.thread, key=lambda e: (e.at, e.entry_id)) if record else [],
        steps=sorted(deps.store.steps(conversation.id), key=lambda s: s.at_transition),
        variables=conversation.variables, version=conversation.version, workflow_name=name)


def export_sheet(deps: ConversationDeps, principal: Principal, sheet: str, *, now: datetime | None = None) -> str:
    """Every row of a sheet as CSV (``sheets/{sheet}/{utc timestamp}.csv`` in the attachments bucket, encrypted
    at rest): a presigned GET valid :data:`SHEET_URL_SECONDS`."""
    principal.require(Permission.CONVERSATIONS_REPORTS)
    if not _SHEET.match(sheet or ""):
        raise InvalidRequest("a sheet name is lower-case letters, digits and _")
    text, count = domain.sheet_csv(sorted(deps.store.sheet_rows(sheet), key=lambda r: r.sk))
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    key = f"sheets/{sheet}/{stamp}.csv"
    deps.sheets.put_csv(key, text.encode("utf-8"))
    logger.info("sheet exported", extra={"sheet": sheet, "rows": count})
    return deps.sheets.presigned_get(key, SHEET_URL_SECONDS, f"{sheet}-{stamp}.csv")


def contact_profile(deps: ConversationDeps, contact_key: str) -> ContactProfile | None:
    return deps.store.profile(contact_key)

