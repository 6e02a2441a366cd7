"""The composition root: the one place that builds repositories and clients.

Each function's handler reads its own settings model (:mod:`dunning.settings`) and asks here for what its use
case needs; the operator tools (CLI, demo) ask for :func:`stack_repositories`. Nothing else constructs a
repository, a bucket or a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from dunning.aws import client, endpoint_client
from dunning.settings import (
    AssignSettings,
    CreateContactsSettings,
    EvaluateSettings,
    ExpirePromisesSettings,
    InboundMailSettings,
    IngestSettings,
    PrintExtractSettings,
    PrintExtractShardSettings,
    RenderLetterSettings,
    SendEmailSettings,
    StackSettings,
    SummarizeSettings,
)
from dunning.store.blobs import S3Blobs
from dunning.store.contacts import DynamoContactsRepository
from dunning.store.ledger import DynamoEventLog, DynamoLedgerRepository
from dunning.store.runs import DynamoRunsRepository

# Each function imports only its own use case: this module is every function's composition root, so importing
# every use case here would load them all (and Jinja2, the email stack...) on every cold start.
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from dunning.app.activities import ActivityDeps
    from dunning.app.assign import AssignDeps
    from dunning.app.conversations import ConversationDeps
    from dunning.app.create_contacts import CreateContactsDeps
    from dunning.app.email_delivery import EmailDeps
    from dunning.app.evaluate import EvaluateDeps
    from dunning.app.holds import ExpirePromisesDeps
    from dunning.app.inbound_mail import InboundMailDeps
    from dunning.app.ingest import Ingestor
    from dunning.app.interaction_mail import MailDeps
    from dunning.app.interactions import InteractionDeps
    from dunning.app.letter_delivery import LetterDeps
    from dunning.app.operations import OperationDeps
    from dunning.app.print_extract import ExtractDeps, ExtractOptions
    from dunning.app.queries import ReadDeps
    from dunning.app.summarize import SummarizeDeps
    from dunning.app.workflows import WorkflowDeps
    from dunning.outbound_http import HttpStepDeps
    from dunning.settings import (
        ApiSettings,
        ConsoleSettings,
        ConversationHttpSettings,
        ConversationInboundSettings,
        ConversationStepSettings,
    )
    from dunning.store.identity import UserPool
    from dunning.store.rate_limit import DynamoRateLimiter


def contacts_repository(table: str, retention_days: int | None = None) -> DynamoContactsRepository:
    """The contacts table; ``retention_days`` (the stack's ContactRetentionDays) sets the ``ttl`` of every new
    contact, so only functions that create contacts pass it."""
    if retention_days is None:
        return DynamoContactsRepository(table)
    return DynamoContactsRepository(table, retention_days=retention_days)


# ---------------------------------------------------------------------------------------------- functions
def ingestor(settings: IngestSettings) -> Ingestor:
    from dunning.app.ingest import Ingestor

    blobs = S3Blobs(settings.runs_bucket)
    return Ingestor(DynamoLedgerRepository(settings.ledger_table),
                    contacts_repository(settings.contacts_table, settings.contact_retention_days), blobs, blobs.config,
                    events=DynamoEventLog(settings.ledger_table))


def assign_deps(settings: AssignSettings) -> AssignDeps:
    from dunning.app.assign import AssignDeps

    blobs = S3Blobs(settings.runs_bucket)
    return AssignDeps(config=blobs.config(), ledger=DynamoLedgerRepository(settings.ledger_table),
                      runs=DynamoRunsRepository(settings.runs_table), blobs=blobs)


def evaluate_deps(settings: EvaluateSettings) -> EvaluateDeps:
    from dunning.app.evaluate import EvaluateDeps

    blobs = S3Blobs(settings.runs_bucket)
    return EvaluateDeps(config=blobs.config(), runs=DynamoRunsRepository(settings.runs_table), blobs=blobs)


def create_contacts_deps(settings: CreateContactsSettings) -> CreateContactsDeps:
    from dunning.app.create_contacts import CreateContactsDeps

    blobs = S3Blobs(settings.runs_bucket)
    return CreateContactsDeps(config=blobs.config(), ledger=DynamoLedgerRepository(settings.ledger_table),
                              contacts=contacts_repository(settings.contacts_table, settings.contact_retention_days),
                              runs=DynamoRunsRepository(settings.runs_table), blobs=blobs)


def summarize_deps(settings: SummarizeSettings) -> SummarizeDeps:
    from dunning.app.summarize import SummarizeDeps

    return SummarizeDeps(runs=DynamoRunsRepository(settings.runs_table), blobs=S3Blobs(settings.runs_bucket))


def print_extract_deps(settings: PrintExtractSettings) -> ExtractDeps:
    """Planning a run's extract (and requeueing its letters): no PDFs are read."""
    from dunning.app.print_extract import ExtractDeps

    return ExtractDeps(contacts=contacts_repository(settings.contacts_table),
                       runs=DynamoRunsRepository(settings.runs_table), plans=S3Blobs(settings.runs_bucket))


def print_extract_options(settings: PrintExtractSettings, poll_for: float) -> ExtractOptions:
    from dunning.app.print_extract import ExtractOptions

    return ExtractOptions(max_attempts=settings.print_extract_max_attempts,
                          wait_seconds=settings.print_extract_wait_seconds, poll_for=poll_for,
                          shard_size=settings.print_extract_shard_size,
                          concurrency=settings.print_extract_concurrency)


def print_shard_deps(settings: PrintExtractShardSettings) -> ExtractDeps:
    from dunning.app.print_extract import ExtractDeps

    return ExtractDeps(contacts=contacts_repository(settings.contacts_table),
                       letters=S3Blobs(settings.letters_bucket), plans=S3Blobs(settings.runs_bucket))


def letter_deps(settings: RenderLetterSettings) -> LetterDeps:
    from dunning.app.letter_delivery import LetterDeps

    return LetterDeps(config=S3Blobs(settings.runs_bucket).config, ledger=DynamoLedgerRepository(settings.ledger_table),
                      contacts=contacts_repository(settings.contacts_table), letters=S3Blobs(settings.letters_bucket))


def email_deps(settings: SendEmailSettings) -> EmailDeps:
    from dunning.app.email_delivery import EmailDeps

    reply_address = None
    if settings.inbound_mail_domain and settings.signing_secret_arn:
        reply_address = partial(contact_reply_address, settings.signing_secret_arn, settings.inbound_mail_domain)
    return EmailDeps(config=S3Blobs(settings.runs_bucket).config, ledger=DynamoLedgerRepository(settings.ledger_table),
                     contacts=contacts_repository(settings.contacts_table, settings.contact_retention_days),
                     ses=partial(client, "sesv2"), reply_address=reply_address)


def contact_reply_address(signing_secret_arn: str, domain: str, contact_id: str) -> str:
    """A dunning email's signed reply address (``reply+c.{contact_id}.{sig}@{domain}``)."""
    from dunning.interactions.mail import contact_reply_address as address
    from dunning.store.secrets import signing_key

    return address(contact_id, signing_key(signing_secret_arn), domain)


def idempotency_store(table: str) -> DynamoDBPersistenceLayer:
    """Powertools' idempotency records (render_letter, send_email)."""
    # imported here, not at the top: the functions without idempotency do not load it on their cold start
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table)


def expire_promises_deps(settings: ExpirePromisesSettings) -> ExpirePromisesDeps:
    """The daily promise sweep: the ledger with its promises' day index."""
    from dunning.app.holds import ExpirePromisesDeps
    from dunning.store.ledger import DynamoPromiseLedger

    return ExpirePromisesDeps(ledger=DynamoPromiseLedger(settings.ledger_table),
                              lookback_days=settings.promise_lookback_days)


def archive_blobs(runs_bucket: str) -> S3Blobs:
    """The runs bucket, where expired contacts are archived."""
    return S3Blobs(runs_bucket)


# ---------------------------------------------------------------------------------------------- operator tools
def stack_client(service: str, endpoint: str | None, region: str | None) -> Any:
    """A client of the stack the CLI or the demo points at (Step Functions, SQS, CloudFormation, ...)."""
    return endpoint_client(service, endpoint, region)


@dataclass
class StackRepositories:
    """Every repository of a stack, for the CLI and the demo."""

    ledger: DynamoLedgerRepository
    contacts: DynamoContactsRepository
    runs: DynamoRunsRepository
    blobs: S3Blobs  # the runs bucket (configuration, rejected events, runs, archive)
    letters: S3Blobs  # the letters bucket
    events: DynamoEventLog  # what ingest did with each event_id (in the ledger table)
    settings: StackSettings | None = None

    def interaction_deps(self) -> InteractionDeps:
        """The interaction use cases on this stack (``StackSettings`` must name the interactions table)."""
        s = self.settings
        if s is None or not s.interactions_table:
            raise ValueError("this stack has no interactions table")
        return interaction_deps(interactions_table=s.interactions_table, attachments_bucket=s.attachments_bucket,
                                signing_secret_arn=s.signing_secret_arn, runs_bucket=s.runs_bucket,
                                ledger_table=s.ledger_table, contacts_table=s.contacts_table,
                                contact_retention_days=s.contact_retention_days)

    def letter_deps(self) -> LetterDeps:
        from dunning.app.letter_delivery import LetterDeps

        return LetterDeps(config=self.blobs.config, ledger=self.ledger, contacts=self.contacts, letters=self.letters)

    def extract_deps(self) -> ExtractDeps:
        """A manual print extract (``dunning letters extract``): the print queue only."""
        from dunning.app.print_extract import ExtractDeps

        return ExtractDeps(contacts=self.contacts, letters=self.letters)


def stack_repositories(settings: StackSettings) -> StackRepositories:
    return StackRepositories(
        ledger=DynamoLedgerRepository(settings.ledger_table),
        contacts=contacts_repository(settings.contacts_table, settings.contact_retention_days),
        runs=DynamoRunsRepository(settings.runs_table),
        blobs=S3Blobs(settings.runs_bucket),
        letters=S3Blobs(settings.letters_bucket),
        events=DynamoEventLog(settings.ledger_table),
        settings=settings,
    )


# ---------------------------------------------------------------------------------------------- HTTP API / console
def read_deps(settings: ApiSettings | ConsoleSettings | StackSettings) -> ReadDeps:
    """What the API's (and the console's) read use cases need."""
    from dunning.app.queries import ReadDeps
    from dunning.store.pages import PagedReads

    blobs = S3Blobs(settings.runs_bucket)
    return ReadDeps(ledger=DynamoLedgerRepository(settings.ledger_table),
                    contacts=contacts_repository(settings.contacts_table),
                    runs=DynamoRunsRepository(settings.runs_table),
                    blobs=blobs, letters=S3Blobs(settings.letters_bucket), config=blobs.config,
                    pages=PagedReads(contacts_table=settings.contacts_table, ledger_table=settings.ledger_table,
                                     runs_table=settings.runs_table, runs_bucket=settings.runs_bucket))


def activity_deps(settings: ApiSettings | ConsoleSettings | StackSettings) -> ActivityDeps:
    from dunning.app.activities import ActivityDeps
    from dunning.store.activities import ActivitiesRepository

    return ActivityDeps(activities=ActivitiesRepository(settings.contacts_table),
                        contacts=contacts_repository(settings.contacts_table))


def operation_deps(settings: ApiSettings) -> OperationDeps:
    from dunning.app.operations import OperationDeps
    from dunning.store.executions import RunStarter

    blobs = S3Blobs(settings.runs_bucket)
    return OperationDeps(runs=RunStarter(settings.state_machine_arn),
                         ledger=DynamoLedgerRepository(settings.ledger_table),
                         contacts=contacts_repository(settings.contacts_table, settings.contact_retention_days),
                         blobs=blobs, config=blobs.config)


def interaction_deps(*, interactions_table: str, attachments_bucket: str, signing_secret_arn: str, runs_bucket: str,
                     ledger_table: str | None = None, contacts_table: str | None = None,
                     contact_retention_days: int | None = None) -> InteractionDeps:
    """The interaction use cases (API, console, inbound mail, operator tools), from plain names: the ledger and the
    contacts table are optional (disputes, promises and collector activities need them)."""
    from dunning.app.interactions import InteractionDeps
    from dunning.store.activities import ActivitiesRepository
    from dunning.store.attachments import S3Attachments
    from dunning.store.interactions import DynamoInteractionsRepository
    from dunning.store.secrets import signing_key

    return InteractionDeps(
        store=DynamoInteractionsRepository(interactions_table), attachments=S3Attachments(attachments_bucket),
        config=S3Blobs(runs_bucket).config,
        ledger=DynamoLedgerRepository(ledger_table) if ledger_table else None,
        contacts=contacts_repository(contacts_table, contact_retention_days) if contacts_table else None,
        signing_key=partial(signing_key, signing_secret_arn),
        activities=ActivitiesRepository(contacts_table) if contacts_table else None)


def interaction_mail_deps(interactions: InteractionDeps, domain: str) -> MailDeps:
    """Interaction mail out (agents' answers, automatic replies) through SES v2; ``domain`` is the stack's
    InboundMailDomain (signed reply addresses, Message-IDs)."""
    from dunning.app.interaction_mail import MailDeps

    return MailDeps(interactions=interactions, ses=partial(client, "sesv2"), domain=domain)


def inbound_mail_deps(settings: InboundMailSettings) -> InboundMailDeps:
    """Inbound mail: the interactions (contacts for dunning replies; no ledger check of the contact's account),
    the inbound bucket, the attachments bucket and SES for automatic replies."""
    from dunning.app.inbound_mail import InboundMailDeps
    from dunning.store.inbound_mail import InboundMailStore

    interactions = interaction_deps(interactions_table=settings.interactions_table,
                                    attachments_bucket=settings.attachments_bucket,
                                    signing_secret_arn=settings.signing_secret_arn, runs_bucket=settings.runs_bucket,
                                    contacts_table=settings.contacts_table)
    return InboundMailDeps(mail=interaction_mail_deps(interactions, settings.inbound_mail_domain),
                           inbound=InboundMailStore(settings.inbound_mail_bucket),
                           attachments=S3Blobs(settings.attachments_bucket),
                           conversations=conversation_deps(settings) if settings.conversations_table else None)


def rate_limiter(interactions_table: str) -> DynamoRateLimiter:
    """The public web form's per-client fixed-window counters (``RATE#`` items in the interactions table)."""
    from dunning.store.rate_limit import DynamoRateLimiter

    return DynamoRateLimiter(interactions_table)


def user_pool(user_pool_id: str, client_id: str) -> UserPool:
    """The Cognito user pool and app client (sign-in; ``dunning users``)."""
    from dunning.store.identity import UserPool

    return UserPool(user_pool_id, client_id)


@dataclass
class ConsoleDeps:
    """The web console: the API's read and activity use cases, and the user pool to sign in against."""

    reads: ReadDeps
    activities: ActivityDeps
    pool: UserPool
    interactions: InteractionDeps | None = None  # None: a console without the interactions table
    mail: MailDeps | None = None  # agents' email replies and automatic replies (SES)
    conversations: ConversationDeps | None = None  # None: a console without the conversations table (S4)
    workflows: WorkflowDeps | None = None


def console_deps(settings: ConsoleSettings) -> ConsoleDeps:
    interactions = interaction_deps(
        interactions_table=settings.interactions_table, attachments_bucket=settings.attachments_bucket,
        signing_secret_arn=settings.signing_secret_arn, runs_bucket=settings.runs_bucket,
        ledger_table=settings.ledger_table, contacts_table=settings.contacts_table) \
        if settings.interactions_table else None
    mail = interaction_mail_deps(interactions, settings.inbound_mail_domain) \
        if interactions is not None and settings.inbound_mail_domain else None
    conversations = conversation_deps(settings) if settings.conversations_table and interactions is not None \
        else None
    return ConsoleDeps(reads=read_deps(settings), activities=activity_deps(settings),
                       pool=user_pool(settings.user_pool_id, settings.client_id), interactions=interactions,
                       mail=mail, conversations=conversations,
                       workflows=conversations.workflows if conversations is not None else None)


# ---------------------------------------------------------------------------------------------- conversations (S4)
def workflow_deps(settings: ConversationStepSettings | ConversationInboundSettings | ApiSettings | ConsoleSettings
                  | InboundMailSettings | StackSettings) -> WorkflowDeps:
    """The workflow use cases (definitions, drafts, versions): the conversations table and the configuration."""
    from dunning.app.workflows import WorkflowDeps
    from dunning.store.workflows import DynamoWorkflowsRepository

    if not settings.conversations_table:
        raise ValueError("this stack has no conversations table (CONVERSATIONS_TABLE)")
    return WorkflowDeps(store=DynamoWorkflowsRepository(settings.conversations_table),
                        config=S3Blobs(settings.runs_bucket).config)


def conversation_deps(settings: ConversationStepSettings | ConversationInboundSettings | ApiSettings
                      | ConsoleSettings | InboundMailSettings | StackSettings) -> ConversationDeps:
    """The conversation use cases: the conversations table, the interactions (the ledger where promise steps need
    it), the inbound FIFO queue, the conversation state machine, the signing key, sheet exports, SES for the
    email channel (where the settings name the inbound domain) and the web chat's rate counters (the API)."""
    from dunning.app.conversations import ConversationDeps
    from dunning.aws_ports import SfnExecutions, SqsInboundQueue
    from dunning.settings import ApiSettings
    from dunning.store.conversations import DynamoConversationsRepository
    from dunning.store.secrets import signing_key
    from dunning.store.sheets import S3SheetExports

    if not settings.conversations_table:
        raise ValueError("this stack has no conversations table (CONVERSATIONS_TABLE)")
    ledger_table = getattr(settings, "ledger_table", None)
    interactions = interaction_deps(
        interactions_table=settings.interactions_table, attachments_bucket=settings.attachments_bucket,
        signing_secret_arn=settings.signing_secret_arn, runs_bucket=settings.runs_bucket, ledger_table=ledger_table,
        contacts_table=getattr(settings, "contacts_table", None),
        contact_retention_days=getattr(settings, "contact_retention_days", None))
    domain = getattr(settings, "inbound_mail_domain", "")
    return ConversationDeps(
        store=DynamoConversationsRepository(settings.conversations_table), workflows=workflow_deps(settings),
        interactions=interactions, config=S3Blobs(settings.runs_bucket).config,
        queue=SqsInboundQueue(getattr(settings, "conversation_queue_url", "")),
        executions=SfnExecutions(getattr(settings, "conversation_state_machine_arn", "")),
        signing_key=partial(signing_key, settings.signing_secret_arn),
        sheets=S3SheetExports(settings.attachments_bucket),
        mail=interaction_mail_deps(interactions, domain) if domain else None,
        ask_timeout_cap=int(getattr(settings, "ask_timeout_cap_seconds", 0)),
        rate_limiter=rate_limiter(settings.interactions_table) if isinstance(settings, ApiSettings) else None)


def http_step_deps(settings: ConversationHttpSettings) -> HttpStepDeps:
    """A workflow's HTTP step: the configuration (secret ids, allowed hosts), the workflow secrets (cached) and the
    stack's own allowed hosts (WorkflowHttpAllowHosts)."""
    from dunning.aws_ports import WorkflowSecrets
    from dunning.outbound_http import HttpStepDeps, parse_hosts

    return HttpStepDeps(config=S3Blobs(settings.runs_bucket).config, secret=WorkflowSecrets(),
                        stack_allow_hosts=parse_hosts(settings.http_allow_hosts))

