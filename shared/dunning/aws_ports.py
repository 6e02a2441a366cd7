"""The conversation runtime's AWS adapters (the ports of :mod:`dunning.app.conversations`), over boto3:

* :class:`SqsInboundQueue` - ``InboundQueue``: the inbound FIFO queue, one message group per conversation,
  the envelope's own deduplication id (the queue's content-based deduplication is off);
* :class:`SfnExecutions` - ``Executions``: one Step Functions execution per conversation (named after it,
  started idempotently) and the task tokens its questions wait on;
* :class:`WorkflowSecrets` - the values behind ``conversations.secrets`` for the HTTP function (cached).

Errors come out as :mod:`dunning.errors` (through :mod:`dunning.store.failures`): throttling, timeouts and 5xx
are transient, everything else permanent.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dunning.aws import client
from dunning.errors import PermanentError
from dunning.store.failures import error_code, translated

if TYPE_CHECKING:
    from dunning.models.conversations import InboundEnvelope

_DEDUPE_ID = re.compile(r"^[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}$")
TOKEN_GONE = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


def fifo_id(value: str) -> str:
    """A MessageGroupId / MessageDeduplicationId: the value itself when SQS accepts it, else its sha256."""
    return value if _DEDUPE_ID.match(value) else hashlib.sha256(value.encode("utf-8")).hexdigest()


class SqsInboundQueue:
    """``InboundQueue`` over the ConversationInboundQueue (FIFO)."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, envelope: InboundEnvelope) -> None:
        if not self.queue_url:
            raise PermanentError("this function has no inbound queue (CONVERSATION_QUEUE_URL is not set)")
        sqs: Any = client("sqs")  # type: ignore[call-overload]
        with translated(f"SendMessage on {self.queue_url.rsplit('/', 1)[-1]}"):
            sqs.send_message(QueueUrl=self.queue_url, MessageBody=envelope.model_dump_json(),
                             MessageGroupId=fifo_id(envelope.conversation_id),
                             MessageDeduplicationId=fifo_id(envelope.dedupe_id))


class SfnExecutions:
    """``Executions`` over the ConversationStateMachine."""

    def __init__(self, state_machine_arn: str) -> None:
        self.state_machine_arn = state_machine_arn

    def _machine(self) -> str:
        if not self.state_machine_arn:
            raise PermanentError("this function has no conversation state machine (CONVERSATION_STATE_MACHINE_ARN)")
        return self.state_machine_arn

    def execution_arn(self, name: str) -> str:
        """The ARN an execution named ``name`` of this state machine has."""
        head, _, machine = self.state_machine_arn.partition(":stateMachine:")
        return f"{head}:execution:{machine}:{name}"

    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Start the execution ``name`` (the conversation id); an execution of that name that exists already
        (a redelivered "open") is the one returned - never a second one (no DescribeExecution: the error says it
        exists, and the ARN follows from the name)."""
        sfn = client("stepfunctions")
        try:
            resp = sfn.start_execution(stateMachineArn=self._machine(), name=name,
                                       input=json.dumps(payload, default=str))
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                with translated(f"StartExecution {name}"):
                    raise
            # the name is taken by this machine's execution (the same input returns it without an error): that
            # execution is the conversation's, whatever its input was
            return self.execution_arn(name)
        return str(resp["executionArn"])

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        """Resume the task waiting on ``token`` with ``output``; False when the token is no longer valid (the
        question timed out, or was answered already)."""
        try:
            client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(output, default=str))
        except ClientError as exc:
            if error_code(exc) in TOKEN_GONE:
                return False
            with translated("SendTaskSuccess"):
                raise
        return True

    def fail(self, token: str, error: str, cause: str) -> None:
        """Fail the task waiting on ``token`` (the execution's Catch decides what follows); a token that is no
        longer valid is ignored."""
        try:
            client("stepfunctions").send_task_failure(taskToken=token, error=error[:256], cause=cause[:32768])
        except ClientError as exc:
            if error_code(exc) in TOKEN_GONE:
                return
            with translated("SendTaskFailure"):
                raise


class WorkflowSecrets:
    """Secrets Manager values by id, cached per container (a rotated secret is picked up within the TTL)."""

    def __init__(self, ttl_seconds: float = 300.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, secret_id: str) -> str:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(secret_id)
            if hit and now - hit[0] < self.ttl_seconds:
                return hit[1]
        sm: Any = client("secretsmanager")  # type: ignore[call-overload]
        with translated("GetSecretValue on a workflow secret"):
            answer = sm.get_secret_value(SecretId=secret_id)
        value = answer.get("SecretString")
        if value is None:
            value = bytes(answer.get("SecretBinary") or b"").decode("utf-8")
        with self._lock:
            self._cache[secret_id] = (now, str(value))
        return str(value)
