"""Environment settings, as pydantic models: one per function, holding only the variables that function reads
(``template.yaml`` gives each function exactly these in its ``Environment``; ``tests/template`` holds the two
together), plus :class:`StackSettings`, every table and bucket of a stack, for the operator tools. The only
place that reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field

# One definition per variable, shared by the models that read it.
LedgerTable = Annotated[str, Field(alias="LEDGER_TABLE")]
ContactsTable = Annotated[str, Field(alias="CONTACTS_TABLE")]
RunsTable = Annotated[str, Field(alias="RUNS_TABLE")]
IdempotencyTable = Annotated[str, Field(alias="IDEMPOTENCY_TABLE")]
LettersBucket = Annotated[str, Field(alias="LETTERS_BUCKET")]
RunsBucket = Annotated[str, Field(alias="RUNS_BUCKET")]
ContactRetentionDays = Annotated[int, Field(alias="CONTACT_RETENTION_DAYS", ge=1)]
HistoryRetentionDays = Annotated[int, Field(alias="HISTORY_RETENTION_DAYS", ge=1)]
BatchSize = Annotated[int, Field(alias="BATCH_SIZE", ge=1, le=5000)]
InteractionsTable = Annotated[str, Field(alias="INTERACTIONS_TABLE")]
AttachmentsBucket = Annotated[str, Field(alias="ATTACHMENTS_BUCKET")]
SigningSecretArn = Annotated[str, Field(alias="SIGNING_SECRET_ARN")]
InboundMailDomain = Annotated[str, Field(alias="INBOUND_MAIL_DOMAIN")]
# conversations (S4)
ConversationsTable = Annotated[str, Field(alias="CONVERSATIONS_TABLE")]
ConversationQueueUrl = Annotated[str, Field(alias="CONVERSATION_QUEUE_URL")]
ConversationStateMachineArn = Annotated[str, Field(alias="CONVERSATION_STATE_MACHINE_ARN")]
AskTimeoutCapSeconds = Annotated[int, Field(alias="ASK_TIMEOUT_CAP_SECONDS", ge=0)]


class EnvSettings(BaseModel):
    """Read from the process environment (or a mapping given in tests); other variables are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        return cls.model_validate(dict(os.environ if env is None else env))

    @classmethod
    def variables(cls) -> set[str]:
        """The environment variables this model reads (what the template must give the function)."""
        return {f.alias or name for name, f in cls.model_fields.items()}


class IngestSettings(EnvSettings):
    ledger_table: LedgerTable
    contacts_table: ContactsTable
    contact_retention_days: ContactRetentionDays = 90
    runs_bucket: RunsBucket  # published configuration, rejected events


class AssignSettings(EnvSettings):
    ledger_table: LedgerTable
    runs_table: RunsTable
    runs_bucket: RunsBucket  # configuration, batch manifests
    batch_size: BatchSize = 1000
    # the Scan fan-out: one invocation per this many ledger items (DescribeTable), this many at once
    assign_segment_items: int = Field(default=2_000_000, alias="ASSIGN_SEGMENT_ITEMS", ge=1)
    assign_concurrency: int = Field(default=8, alias="ASSIGN_CONCURRENCY", ge=1, le=40)


class EvaluateSettings(EnvSettings):
    runs_table: RunsTable  # process history
    runs_bucket: RunsBucket  # configuration, manifests, decisions
    history_retention_days: HistoryRetentionDays = 90


class CreateContactsSettings(EnvSettings):
    ledger_table: LedgerTable
    contacts_table: ContactsTable
    contact_retention_days: ContactRetentionDays = 90
    runs_table: RunsTable  # batch results
    runs_bucket: RunsBucket  # configuration, decisions


class SummarizeSettings(EnvSettings):
    runs_table: RunsTable
    runs_bucket: RunsBucket  # the run summary


class PrintExtractSettings(EnvSettings):
    contacts_table: ContactsTable
    runs_table: RunsTable  # the run's batch results: which letters it made
    runs_bucket: RunsBucket  # shard plans
    print_extract_max_attempts: int = Field(default=30, alias="PRINT_EXTRACT_MAX_ATTEMPTS", ge=1)
    print_extract_wait_seconds: int = Field(default=60, alias="PRINT_EXTRACT_WAIT_SECONDS", ge=1)
    print_extract_poll_seconds: int = Field(default=60, alias="PRINT_EXTRACT_POLL_SECONDS", ge=0)
    # letters per print-extract shard (one merged PDF + manifest each) and shards built at once
    print_extract_shard_size: int = Field(default=5000, alias="PRINT_EXTRACT_SHARD_SIZE", ge=1, le=20000)
    print_extract_concurrency: int = Field(default=6, alias="PRINT_EXTRACT_CONCURRENCY", ge=1, le=100)


class PrintExtractShardSettings(EnvSettings):
    contacts_table: ContactsTable
    letters_bucket: LettersBucket  # letter PDFs in, print files out
    runs_bucket: RunsBucket  # shard plans


class RenderLetterSettings(EnvSettings):
    ledger_table: LedgerTable
    contacts_table: ContactsTable
    idempotency_table: IdempotencyTable
    letters_bucket: LettersBucket
    runs_bucket: RunsBucket  # configuration


class SendEmailSettings(EnvSettings):
    ledger_table: LedgerTable
    contacts_table: ContactsTable
    contact_retention_days: ContactRetentionDays = 90  # a fallback letter is a new contact
    idempotency_table: IdempotencyTable
    runs_bucket: RunsBucket  # configuration
    # a customer's reply to a dunning email goes to the contact's signed address on this domain (interactions)
    inbound_mail_domain: InboundMailDomain = ""
    signing_secret_arn: SigningSecretArn = ""


class ArchiveSettings(EnvSettings):
    runs_bucket: RunsBucket  # archive/contacts/


class ExpirePromisesSettings(EnvSettings):
    """The daily promise sweep (functions/expire_promises): closes promises to pay whose date has passed."""

    ledger_table: LedgerTable  # statuses and the promises' day index
    # days the first sweep (or one after a pause) looks back through the day index (one Query per day)
    promise_lookback_days: int = Field(default=31, alias="PROMISE_LOOKBACK_DAYS", ge=1, le=400)


class ApiSettings(EnvSettings):
    """The HTTP API (functions/api): reads for the routes, run starts, sign-in against the user pool."""

    ledger_table: LedgerTable
    contacts_table: ContactsTable
    contact_retention_days: ContactRetentionDays = 90  # contacts created through the API
    runs_table: RunsTable  # run records
    runs_bucket: RunsBucket  # configuration, rejected events
    letters_bucket: LettersBucket  # presigned letter links
    state_machine_arn: str = Field(alias="STATE_MACHINE_ARN")
    user_pool_id: str = Field(alias="COGNITO_USER_POOL_ID")
    client_id: str = Field(alias="COGNITO_CLIENT_ID")
    # interactions (S3): the table (also the web form's per-client rate counters), attachments, the signing
    # secret (reply addresses, customers' attachment links, web-form tokens), the inbound domain of agents'
    # email replies (signed Reply-To, Message-IDs; sent through SES from interactions.mail.from_address)
    interactions_table: InteractionsTable
    attachments_bucket: AttachmentsBucket
    signing_secret_arn: SigningSecretArn = ""  # empty: the routes that sign refuse (dunning.store.secrets)
    inbound_mail_domain: InboundMailDomain
    # conversations (S4): the public chat and the agents' routes; empty on a stack without them
    conversations_table: ConversationsTable = ""
    conversation_queue_url: ConversationQueueUrl = ""  # customer messages go onto the inbound FIFO queue
    conversation_state_machine_arn: ConversationStateMachineArn = ""  # closing fails the waiting question's task


class ConsoleSettings(EnvSettings):
    """The web console (functions/console): the API's reads, activity completion, manual assignment, sign-in."""

    ledger_table: LedgerTable  # accounts; manual assignments
    contacts_table: ContactsTable  # timelines, activities
    runs_table: RunsTable  # run reports
    runs_bucket: RunsBucket  # configuration, rejected events
    letters_bucket: LettersBucket  # presigned letter links
    user_pool_id: str = Field(alias="COGNITO_USER_POOL_ID")
    client_id: str = Field(alias="COGNITO_CLIENT_ID")
    issuer: str = Field(alias="COGNITO_ISSUER")  # read by dunning.auth when it verifies the session token
    # Secure on the session cookies (template parameter ConsoleSecureCookies; the local gateway is plain http)
    secure_cookies: bool = Field(default=True, alias="CONSOLE_SECURE_COOKIES")
    # interactions (S3): empty on a console without them (its interaction pages then say so)
    interactions_table: InteractionsTable = ""  # interactions, stage members, time aggregates
    attachments_bucket: AttachmentsBucket = ""  # presigned uploads and downloads
    signing_secret_arn: SigningSecretArn = ""  # signed reply addresses in agents' email replies
    inbound_mail_domain: InboundMailDomain = ""  # agents' replies: reply addresses and Message-IDs (SES out)
    # conversations (S4): workflows, the inbox, "Try it"; empty on a console without them
    conversations_table: ConversationsTable = ""
    conversation_queue_url: ConversationQueueUrl = ""
    conversation_state_machine_arn: ConversationStateMachineArn = ""


class InboundMailSettings(EnvSettings):
    """Inbound customer mail (functions/inbound_mail): SES -> S3 -> SQS -> a thread entry or a new interaction."""

    inbound_mail_bucket: str = Field(alias="INBOUND_MAIL_BUCKET")  # raw mail (inbound/), rejections (rejected/)
    inbound_mail_domain: InboundMailDomain  # signed reply addresses, our Message-IDs, loop detection
    interactions_table: InteractionsTable
    attachments_bucket: AttachmentsBucket  # the raw mail and its attachments, per interaction
    signing_secret_arn: SigningSecretArn  # verifies signed reply addresses
    runs_bucket: RunsBucket  # configuration (categories, auto replies, mail settings)
    contacts_table: ContactsTable  # a reply to a dunning email: the contact's account
    # conversations (S4), the email channel: a mail of conversations.email.categories opens a conversation, a mail
    # into an interaction with one is queued as its next message; empty on a stack without conversations
    conversations_table: ConversationsTable = ""
    conversation_queue_url: ConversationQueueUrl = ""


class ConversationStepSettings(EnvSettings):
    """The conversation state machine's step function (functions/conversation_step): ``advance`` (the
    interpreter and its actions), ``park`` (a question waits on its task token) and ``fail``."""

    conversations_table: ConversationsTable  # conversations, step history, workflows, profiles, sheet rows
    interactions_table: InteractionsTable  # each conversation's interaction and its messages (the thread)
    attachments_bucket: AttachmentsBucket  # the interactions use cases' bucket (no object is read or written)
    signing_secret_arn: SigningSecretArn  # email channel: signed reply addresses of the bot's mail
    inbound_mail_domain: InboundMailDomain = ""  # email channel: reply addresses and Message-IDs (SES out)
    runs_bucket: RunsBucket  # configuration (teams, agents, settings)
    ledger_table: LedgerTable  # promise steps: promises to pay, as the interactions record them
    conversation_state_machine_arn: ConversationStateMachineArn  # park: a pending answer resumes the task at once
    # a question's no-reply timeout is at most this many seconds (0: the step's own); the local stack sets 6
    ask_timeout_cap_seconds: AskTimeoutCapSeconds = 0


class ConversationHttpSettings(EnvSettings):
    """A workflow's HTTP step (functions/conversation_http): the guarded outbound client, secrets by reference."""

    runs_bucket: RunsBucket  # configuration: conversations.secrets (name -> id), conversations.http_allow_hosts
    idempotency_table: IdempotencyTable  # a retried invocation after success returns the recorded answer
    # hosts the private-address guard lets through when the configuration names them too (WorkflowHttpAllowHosts)
    http_allow_hosts: str = Field(default="", alias="HTTP_ALLOW_HOSTS")


class ConversationInboundSettings(EnvSettings):
    """The inbound FIFO queue's consumer (functions/conversation_inbound): opens start the execution; messages go
    into the thread and resume the question waiting on them (or wait for the next one)."""

    conversations_table: ConversationsTable
    interactions_table: InteractionsTable
    attachments_bucket: AttachmentsBucket  # the interactions use cases' bucket (no object is read or written)
    signing_secret_arn: SigningSecretArn  # customer tokens of a conversation a message after close opens
    runs_bucket: RunsBucket  # configuration (the live workflows' triggers, channels)
    conversation_queue_url: ConversationQueueUrl  # a message after close opens a new conversation ("open" envelope)
    conversation_state_machine_arn: ConversationStateMachineArn  # StartExecution, SendTaskSuccess


# The function folder (functions/<name>/) -> its settings model.
FUNCTION_SETTINGS: dict[str, type[EnvSettings]] = {
    "api": ApiSettings,
    "console": ConsoleSettings,
    "ingest": IngestSettings,
    "assign": AssignSettings,
    "evaluate": EvaluateSettings,
    "create_contacts": CreateContactsSettings,
    "summarize_run": SummarizeSettings,
    "print_extract": PrintExtractSettings,
    "print_extract_shard": PrintExtractShardSettings,
    "render_letter": RenderLetterSettings,
    "send_email": SendEmailSettings,
    "inbound_mail": InboundMailSettings,
    "archive_contacts": ArchiveSettings,
    "expire_promises": ExpirePromisesSettings,
    "conversation_step": ConversationStepSettings,
    "conversation_http": ConversationHttpSettings,
    "conversation_inbound": ConversationInboundSettings,
}


class StackSettings(EnvSettings):
    """Every table and bucket of a stack: what the operator tools (CLI, demo) address, from the stack's outputs."""

    ledger_table: LedgerTable
    contacts_table: ContactsTable
    runs_table: RunsTable
    idempotency_table: IdempotencyTable
    letters_bucket: LettersBucket
    runs_bucket: RunsBucket
    contact_retention_days: ContactRetentionDays = 90
    # interactions (S3); empty for a stack deployed before they existed
    interactions_table: InteractionsTable = ""
    attachments_bucket: AttachmentsBucket = ""
    signing_secret_arn: SigningSecretArn = ""
    # conversations (S4); empty for a stack deployed before they existed
    conversations_table: ConversationsTable = ""
    conversation_queue_url: ConversationQueueUrl = ""
    conversation_state_machine_arn: ConversationStateMachineArn = ""
