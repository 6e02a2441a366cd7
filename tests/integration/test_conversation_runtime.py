"""The conversation state machine (infra/statemachines/conversation.asl.json) on moto's Step Functions.

1. The ASL itself, with scripted stand-ins for its two functions (tests/integration/conversation_asl): what moto
   runs of it - ``lambda:invoke.waitForTaskToken`` on an in-process function, ``TimeoutSecondsPath`` and the
   ``States.Timeout`` catch, ``SendTaskSuccess`` sent from inside the parked invocation itself, a task failed
   with ``ConversationClosed``, the native Retry of ``HttpRetryable`` with ``$$.State.RetryCount`` as the
   attempt and the ``HttpRetryIntervalSeconds`` substitution, and the Catch that hands a failed run over.
2. The whole runtime on the local stack (the real functions, the shipped VIP routing workflow, the stub CRM):
   a question answered through the inbound queue, silence (the capped timeout) and a CRM 503 retried.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dunning_ops.local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = Path(__file__).resolve().parent / "conversation_asl"
ASL = ROOT / "infra" / "statemachines" / "conversation.asl.json"

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  HttpRetryIntervalSeconds: {{Type: Number, Default: 2}}
  SenderIdentity: {{Type: String, Default: x@example.com}}
Resources:
  ConversationStepFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code}
      Handler: step.handler
      Runtime: python3.13
      Timeout: 30
      Environment: {{Variables: {{TOKEN_DIR: {tokens}}}}}
  ConversationHttpFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code}
      Handler: http_step.handler
      Runtime: python3.13
      Timeout: 30
  ConversationStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      DefinitionUri: {asl}
      DefinitionSubstitutions:
        ConversationStepFunctionArn: !GetAtt ConversationStepFunction.Arn
        ConversationHttpFunctionArn: !GetAtt ConversationHttpFunction.Arn
        HttpRetryIntervalSeconds: !Ref HttpRetryIntervalSeconds
      Policies:
        - LambdaInvokePolicy: {{FunctionName: !Ref ConversationStepFunction}}
        - LambdaInvokePolicy: {{FunctionName: !Ref ConversationHttpFunction}}
Outputs:
  ConversationStateMachineArn:
    Value: !Ref ConversationStateMachine
"""


@pytest.fixture(scope="class")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Path]]:
    import io

    root = tmp_path_factory.mktemp("asl")
    tokens = root / "tokens"
    tokens.mkdir()
    (root / "template.yaml").write_text(TEMPLATE.format(code=SCRIPTED, tokens=tokens, asl=ASL))
    stack = LocalStack.start(template_path=root / "template.yaml", log_sink=io.StringIO(),
                             parameters={"HttpRetryIntervalSeconds": "1"})
    try:
        yield stack, tokens
    finally:
        stack.stop()


def start(stack: LocalStack, **state: Any) -> tuple[str, str]:
    cid = f"c-{uuid.uuid4().hex[:12]}"
    payload = {"conversation_id": cid, "state": {"seq": 0, **state}, "event": {"kind": "start"}}
    arn = stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.outputs["ConversationStateMachineArn"], name=cid,
        input=json.dumps(payload))["executionArn"]
    return cid, arn


def finished(stack: LocalStack, arn: str, timeout: float = 30.0) -> dict[str, Any]:
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            return dict(desc)
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.1)


def token_for(tokens: Path, cid: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while not (tokens / cid).exists():
        assert time.monotonic() < deadline, "park was not invoked"
        time.sleep(0.05)
    return (tokens / cid).read_text()


def entered(stack: LocalStack, arn: str) -> list[str]:
    """The states the execution entered, in order (each one a billed state transition)."""
    events = stack.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def kinds(desc: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in json.loads(desc["output"])["state"]["events"]]


# ---------------------------------------------------------------------------------------------- 1. the ASL on moto
class TestTheStateMachineOnMoto:
    """The ASL with scripted functions (one local stack for the class)."""

    def test_an_answer_resumes_the_question_and_an_http_step_is_retried_natively(self, scripted):
        stack, tokens = scripted
        cid, arn = start(stack, plan=["answer", "http", "end"], retries=2)
        token = token_for(tokens, cid)
        started = time.monotonic()
        stack.client("stepfunctions").send_task_success(taskToken=token,
                                                        output=json.dumps({"kind": "answer", "text": "hello"}))
        desc = finished(stack, arn)
        assert desc["status"] == "SUCCEEDED", desc
        out = json.loads(desc["output"])
        events = out["state"]["events"]
        assert [e["kind"] for e in events] == ["start", "answer", "http_result"]
        assert events[1]["text"] == "hello"
        assert events[2]["http"]["body"] == {"attempt": 2, "seq": 2}  # $$.State.RetryCount: the third try
        assert time.monotonic() - started >= 1 + 2 - 0.2  # HttpRetryIntervalSeconds 1, BackoffRate 2: 1 s, then 2 s
        assert set(out) == {"conversation_id", "state", "wait", "ask", "http"}  # the payload stays small
        assert entered(stack, arn) == ["Advance", "Next?", "Ask", "Advance", "Next?", "Http", "Advance", "Next?",
                                       "Done"]


    def test_no_answer_within_the_timeout_takes_the_no_reply_branch(self, scripted):
        stack, tokens = scripted
        started = time.monotonic()
        cid, arn = start(stack, plan=["answer", "end"], timeout=2)
        token_for(tokens, cid)
        desc = finished(stack, arn)
        assert desc["status"] == "SUCCEEDED", desc
        assert kinds(desc) == ["start", "timeout"]
        assert time.monotonic() - started >= 2  # TimeoutSecondsPath: $.ask.timeout_seconds, in real time
        assert "NoReply" in entered(stack, arn)


    def test_a_message_that_waited_answers_from_inside_the_parked_invocation(self, scripted):
        stack, _ = scripted
        _, arn = start(stack, plan=["answer", "end"], answer_now=True)
        desc = finished(stack, arn)
        assert desc["status"] == "SUCCEEDED", desc
        assert kinds(desc) == ["start", "answer"]


    def test_closing_the_conversation_ends_the_waiting_execution(self, scripted):
        stack, tokens = scripted
        cid, arn = start(stack, plan=["answer", "end"])
        stack.client("stepfunctions").send_task_failure(taskToken=token_for(tokens, cid), error="ConversationClosed",
                                                        cause="closed by an agent")
        desc = finished(stack, arn)
        assert desc["status"] == "SUCCEEDED", desc
        assert entered(stack, arn)[-1] == "Ended"
        assert not (tokens / f"{cid}.failed").exists()


    def test_a_step_that_cannot_run_hands_the_conversation_over_and_fails_the_execution(self, scripted):
        stack, tokens = scripted
        cid, arn = start(stack, plan=["explode"])
        desc = finished(stack, arn)
        assert desc["status"] == "FAILED" and desc.get("error") == "WorkflowFailed", desc
        assert (tokens / f"{cid}.failed").read_text() == "ScriptedFailure"
        assert entered(stack, arn) == ["Advance", "HandOver", "Failed"]


    def test_an_http_function_that_fails_takes_the_failure_branch(self, scripted):
        stack, _ = scripted
        _, arn = start(stack, plan=["http", "end"], retries=-1)
        desc = finished(stack, arn)
        assert desc["status"] == "SUCCEEDED", desc
        last = json.loads(desc["output"])["state"]["events"][-1]
        assert last == {"kind": "http_result", "http": {"ok": False, "status": None, "body": None,
                                                         "error": "Unexpected"}}
        assert "HttpFailed" in entered(stack, arn)


# ---------------------------------------------------------------------------------------------- 2. the whole runtime
@pytest.fixture(scope="class")
def cs() -> Iterator[Any]:
    from tests.support.conversations_fixtures import start_conversation_stack

    s = start_conversation_stack()
    try:
        yield s
    finally:
        s.stop()


def open_chat(cs: Any, **contact: Any) -> tuple[str, str]:
    """A test-channel conversation on the live version of the seed's VIP routing (forced, as "Try it" forces a
    version: other shipped templates may have a higher priority)."""
    from dunning.app.conversations import open_conversation
    from dunning.app.workflows import list_workflows
    from dunning.models.conversations import NewConversation
    from tests.support.conversations_fixtures import ADMIN

    live = {w.id: w.live_version for w in list_workflows(cs.workflows, ADMIN)}["vip_routing"]
    opened = open_conversation(cs.deps, NewConversation(channel="test", **contact), datetime.now(UTC),
                               principal=ADMIN, workflow=("vip_routing", str(live)))
    return opened.conversation.id, opened.token


def say(cs: Any, cid: str, token: str, text: str, n: int) -> None:
    from dunning.app.conversations import accept_message

    accept_message(cs.deps, cid, token, text, f"m{n:04d}", datetime.now(UTC))


def status_becomes(cs: Any, cid: str, wanted: str, timeout: float = 45.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        conversation = cs.deps.store.get(cid)
        if conversation is not None and conversation.status == wanted:
            return conversation
        assert time.monotonic() < deadline, f"{cid} is {conversation.status if conversation else None}, not {wanted}"
        time.sleep(0.1)


def waiting(cs: Any, cid: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while (c := cs.deps.store.get(cid)) is None or c.waiting is None:
        assert time.monotonic() < deadline, "no question is waiting"
        time.sleep(0.1)
    return c.waiting


def execution(cs: Any, cid: str) -> dict[str, Any]:
    from dunning.aws_ports import SfnExecutions

    arn = SfnExecutions(cs.stack.outputs["ConversationStateMachineArn"]).execution_arn(cid)
    return finished(cs.stack, arn, timeout=45)


def steps_of(cs: Any, cid: str) -> list[str]:
    return [s.step for s in cs.deps.store.steps(cid)]


class TestTheRuntime:
    """The real functions on the local stack (one stack for the class)."""

    def test_a_vip_conversation_runs_through_the_state_machine(self, cs):
        from tests.support.conversations_fixtures import VIP_EMAIL

        cid, _ = open_chat(cs, name="Vera", email=VIP_EMAIL)
        conversation = status_becomes(cs, cid, "handed_off")
        assert conversation.team == "vip" and conversation.workflow_id == "vip_routing"
        desc = execution(cs, cid)
        assert desc["status"] == "SUCCEEDED", desc
        states = entered(cs.stack, desc["executionArn"])
        # the VIP template with a known email: Advance -> Http (the CRM) -> Advance (branch, route) -> Done
        assert states == ["Advance", "Next?", "Http", "Advance", "Next?", "Done"], states
        steps = steps_of(cs, cid)  # an HTTP step is taken twice: the request, then its answer
        assert steps == ["has_email", "get_contact", "get_contact", "vip_or_normal", "route_vip"], steps
        assert any(r["email"] == VIP_EMAIL and r["status"] == 200 for r in cs.crm.requests())


    def test_a_question_is_answered_through_the_inbound_queue(self, cs):
        cid, token = open_chat(cs, name="Anna")
        asked = waiting(cs, cid)
        assert asked.step == "ask_email"
        say(cs, cid, token, "vip@example.com", 1)
        conversation = status_becomes(cs, cid, "handed_off")
        assert conversation.team == "vip"
        execution(cs, cid)  # the history is written when the last Advance ends
        steps = steps_of(cs, cid)
        assert steps[:2] == ["has_email", "ask_email"] and "to_lookup" in steps and steps[-1] == "route_vip"
        states = entered(cs.stack, execution(cs, cid)["executionArn"])
        assert states.count("Ask") == 1 and "NoReply" not in states


    def test_silence_takes_the_timeout_branch_within_the_cap(self, cs):
        cid, _ = open_chat(cs, name="Sam")
        waiting(cs, cid)
        started = time.monotonic()
        status_becomes(cs, cid, "closed", timeout=40)
        assert time.monotonic() - started >= 6 - 1  # ConversationAskTimeoutCapSeconds: 6 on the local stack
        desc = execution(cs, cid)
        assert steps_of(cs, cid)[-1] == "close_idle"
        assert "NoReply" in entered(cs.stack, desc["executionArn"])


    def test_a_crm_503_is_retried_by_the_state_machine_then_succeeds(self, cs):
        from tests.support.conversations_fixtures import VIP_EMAIL

        cs.crm.clear()
        cs.crm.fail_next(503, 1)
        cid, _ = open_chat(cs, name="Vera again", email=VIP_EMAIL)
        assert status_becomes(cs, cid, "handed_off").team == "vip"
        assert [r["status"] for r in cs.crm.requests() if r["email"] == VIP_EMAIL] == [503, 200]
        history = cs.stack.client("stepfunctions").get_execution_history(
            executionArn=execution(cs, cid)["executionArn"], maxResults=1000)["events"]
        errors = [d.get("error") for e in history for k, d in e.items() if k.endswith("FailedEventDetails")]
        assert errors == ["HttpRetryable"], errors  # one native retry


    def test_the_crm_down_takes_the_failure_branch(self, cs):
        from tests.support.conversations_fixtures import VIP_EMAIL

        cs.crm.set_mode("down")
        try:
            cid, _ = open_chat(cs, name="Down", email=VIP_EMAIL)
            conversation = status_becomes(cs, cid, "handed_off", timeout=60)
            execution(cs, cid)
        finally:
            cs.crm.set_mode("normal")
        assert conversation.team == "normal"  # get_contact's on_failure: route_normal
        assert "route_normal" in steps_of(cs, cid)


    def test_the_sample_events_invoke_the_functions(self, cs):
        events = ROOT / "events"
        lam = cs.stack.client("lambda")

        def invoke(logical: str, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            resp = lam.invoke(FunctionName=cs.stack.function_name(logical), Payload=json.dumps(payload).encode())
            return json.loads(resp["Payload"].read() or b"null"), "FunctionError" in resp

        inbound, errored = invoke("ConversationInboundFunction", json.loads((events / "conversation_inbound.json")
                                                                             .read_text()))
        assert not errored and inbound == {"batchItemFailures": []}  # an unknown conversation is ignored, not retried

        sample = json.loads((events / "conversation_http.json").read_text())
        sample["call"]["url"] = sample["call"]["url"].replace("http://127.0.0.1:8099", cs.crm.url)
        sample["call"]["headers"] = {}
        sample["conversation_id"] = f"cv-{uuid.uuid4().hex[:8]}"
        cs.crm.clear()
        first, errored = invoke("ConversationHttpFunction", sample)
        assert not errored and first["http"]["ok"] and first["http"]["body"]["customerType"] == "VIP", first
        again, _ = invoke("ConversationHttpFunction", {**sample, "attempt": 1})  # a retried invocation after success
        assert again == first and len(cs.crm.requests()) == 1  # answered from the idempotency record

        cid, _ = open_chat(cs, name="Sample", email="normal@example.com")
        status_becomes(cs, cid, "handed_off")
        step = json.loads((events / "conversation_step.json").read_text())
        step["conversation_id"] = step["state"]["conversation"]["id"] = cid
        out, errored = invoke("ConversationStepFunction", step)
        assert not errored and out["wait"] == "end"  # the conversation is with an agent: the bot does nothing
