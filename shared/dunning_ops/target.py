"""Where the operator tools (CLI, demo) talk to: a deployed stack (``--stack``) or the embedded local stack
(``--endpoint-url``).

Either way the resource names come from the CloudFormation stack's outputs, so no tool guesses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dunning.app.deps import stack_client
from dunning.settings import StackSettings

LOCAL_STACK_NAME = "dunning-local"


class TargetError(RuntimeError):
    pass


@dataclass
class Target:
    stack: str
    endpoint: str | None = None
    region: str | None = None

    @classmethod
    def from_args(cls, endpoint: str | None, stack: str | None, region: str | None) -> Target:
        endpoint = endpoint or os.environ.get("DUNNING_ENDPOINT_URL")
        if endpoint:
            os.environ["AWS_ENDPOINT_URL"] = endpoint
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        os.environ["AWS_DEFAULT_REGION"] = region
        default_stack = LOCAL_STACK_NAME if endpoint else "dunning"
        return cls(stack=stack or os.environ.get("DUNNING_STACK", default_stack), endpoint=endpoint, region=region)

    def client(self, service: str) -> Any:
        return stack_client(service, self.endpoint, self.region)

    @cached_property
    def outputs(self) -> dict[str, str]:
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"]
        except (ClientError, BotoCoreError) as exc:
            where = self.endpoint or f"region {self.region}"
            raise TargetError(f"cannot read stack {self.stack!r} at {where}: {exc}") from exc
        return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise TargetError(f"stack {self.stack!r} has no output {key!r}")
        return self.outputs[key]

    @cached_property
    def settings(self) -> StackSettings:
        o = self.outputs
        return StackSettings.model_validate({
            "LEDGER_TABLE": o["LedgerTableName"], "CONTACTS_TABLE": o["ContactsTableName"],
            "RUNS_TABLE": o["RunsTableName"], "IDEMPOTENCY_TABLE": o["IdempotencyTableName"],
            "LETTERS_BUCKET": o["LettersBucketName"], "RUNS_BUCKET": o["RunsBucketName"],
            "SENDER_IDENTITY": o.get("SenderIdentity", ""),
            "INTERACTIONS_TABLE": o.get("InteractionsTableName", ""),
            "ATTACHMENTS_BUCKET": o.get("AttachmentsBucketName", ""),
            "SIGNING_SECRET_ARN": o.get("InteractionSigningSecretArn", ""),
            "CONVERSATIONS_TABLE": o.get("ConversationsTableName", ""),
            "CONVERSATION_QUEUE_URL": o.get("ConversationInboundQueueUrl", ""),
            "CONVERSATION_STATE_MACHINE_ARN": o.get("ConversationStateMachineArn", ""),
            **({"CONTACT_RETENTION_DAYS": o["ContactRetentionDays"]} if "ContactRetentionDays" in o else {}),
        })
