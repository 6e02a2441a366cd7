"""The conversation runtime's wiring in template.yaml (S4): the table, the FIFO queue, the interpreter state
machine and its three functions, their least-privilege statements and the visible parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dunning_ops.local.translate import LOCAL_PARAMETERS, load_definition, load_sam_template, translate

ROOT = Path(__file__).resolve().parents[2]
SAM = load_sam_template(ROOT / "template.yaml")
RES: dict[str, Any] = SAM["Resources"]
ASL = load_definition(ROOT / "infra" / "statemachines" / "conversation.asl.json")
CONV_FUNCTIONS = ("ConversationStepFunction", "ConversationHttpFunction", "ConversationInboundFunction")


def statements(logical: str) -> list[dict[str, Any]]:
    return [st for policy in RES[logical]["Properties"].get("Policies", []) if isinstance(policy, dict)
            for st in policy.get("Statement", [])]


def grants(logical: str) -> dict[str, list[str]]:
    """action -> the resources (as JSON text) it is granted on."""
    out: dict[str, list[str]] = {}
    for st in statements(logical):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for a in actions:
            out.setdefault(a, []).extend(json.dumps(r) for r in resources)
    return out


def env(logical: str) -> dict[str, Any]:
    return dict(RES[logical]["Properties"]["Environment"]["Variables"])


def test_the_parameters_are_visible_with_their_aws_defaults_and_local_values():
    params = SAM["Parameters"]
    expected = {"ConversationAskTimeoutCapSeconds": (0, "6"), "HttpRetryIntervalSeconds": (2, "1"),
                "WorkflowHttpAllowHosts": ("", "127.0.0.1,localhost")}
    for name, (default, local) in expected.items():
        assert params[name]["Default"] == default and len(params[name]["Description"]) > 40, name
        assert LOCAL_PARAMETERS[name] == local


def test_the_conversations_table():
    p = RES["ConversationsTable"]["Properties"]
    assert [k["AttributeName"] for k in p["KeySchema"]] == ["pk", "sk"]
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in p["GlobalSecondaryIndexes"]}
    assert indexes == {"by_queue": ["gsi1pk", "gsi1sk"], "by_assignee": ["gsi2pk", "gsi2sk"]}
    assert p["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] and p["SSESpecification"]["SSEEnabled"]


def test_the_inbound_queue_is_fifo_with_explicit_dedupe_ids_and_a_fifo_dlq():
    q = RES["ConversationInboundQueue"]["Properties"]
    assert q["FifoQueue"] is True and q["ContentBasedDeduplication"] is False
    assert q["QueueName"]["Fn::Sub"].endswith(".fifo")
    timeout = RES["ConversationInboundFunction"]["Properties"]["Timeout"]
    assert q["VisibilityTimeout"] >= 6 * timeout
    assert q["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ConversationInboundDLQ", "Arn"]}
    dlq = RES["ConversationInboundDLQ"]["Properties"]
    assert dlq["FifoQueue"] is True and dlq["QueueName"]["Fn::Sub"].endswith(".fifo")
    event = next(iter(RES["ConversationInboundFunction"]["Properties"]["Events"].values()))
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["ConversationInboundQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    code = (ROOT / "functions" / "conversation_inbound" / "app.py").read_text()
    assert "SqsFifoPartialProcessor(" in code


def test_the_state_machine_is_one_generic_standard_interpreter():
    sm = RES["ConversationStateMachine"]["Properties"]
    assert sm["Type"] == "STANDARD" and sm["DefinitionUri"] == "infra/statemachines/conversation.asl.json"
    assert sm["DefinitionSubstitutions"] == {
        "ConversationStepFunctionArn": {"Fn::GetAtt": ["ConversationStepFunction", "Arn"]},
        "ConversationHttpFunctionArn": {"Fn::GetAtt": ["ConversationHttpFunction", "Arn"]},
        "HttpRetryIntervalSeconds": {"Ref": "HttpRetryIntervalSeconds"}}
    assert sm["Logging"]["IncludeExecutionData"] is False
    invoked = [p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in sm["Policies"] if "LambdaInvokePolicy" in p]
    assert sorted(invoked) == ["ConversationHttpFunction", "ConversationStepFunction"]
    others = {a for st in (s for p in sm["Policies"] if "Statement" in p for s in p["Statement"]) for a in st["Action"]}
    assert all(a.startswith("logs:") for a in others), others
    # the step function builds the machine's ARN from its name (a Ref would be a circular dependency)
    name = sm["Name"]["Fn::Sub"].replace("${AWS::StackName}", "")
    assert env("ConversationStepFunction")["CONVERSATION_STATE_MACHINE_ARN"]["Fn::Sub"].endswith(name)
    assert SAM["Outputs"]["ConversationStateMachineArn"]["Value"] == {"Ref": "ConversationStateMachine"}
    assert {"ConversationsTableName", "ConversationInboundQueueUrl"} <= set(SAM["Outputs"])


def test_the_asl_waits_on_task_tokens_with_native_timeouts_and_retries():
    states = ASL["States"]
    assert ASL["StartAt"] == "Advance"
    ask = states["Ask"]
    assert ask["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert ask["TimeoutSecondsPath"] == "$.ask.timeout_seconds"
    assert ask["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
    catches = {e: c["Next"] for c in ask["Catch"] for e in c["ErrorEquals"]}
    assert catches["States.Timeout"] == "NoReply" and states["NoReply"]["Result"] == {"kind": "timeout"}
    assert catches["ConversationClosed"] == catches["ConversationHandedOff"] == "Ended"
    http = states["Http"]
    retry = next(r for r in http["Retry"] if r["ErrorEquals"] == ["HttpRetryable"])
    assert retry["IntervalSeconds"] == "@@raw:${HttpRetryIntervalSeconds}@@"  # a number once substituted
    assert (retry["MaxAttempts"], retry["BackoffRate"]) == (5, 2)
    assert http["Parameters"]["Payload"]["attempt.$"] == "$$.State.RetryCount"
    assert http["Catch"][0]["Next"] == "HttpFailed" and states["HttpFailed"]["Next"] == "Advance"
    assert states["Advance"]["Catch"][0]["Next"] == "HandOver" and states["HandOver"]["Next"] == "Failed"
    choice = {c["StringEquals"]: c["Next"] for c in states["Next?"]["Choices"]}
    assert choice == {"answer": "Ask", "http": "Http"} and states["Next?"]["Default"] == "Done"
    # the payload between states: the run state and the next event, nothing the steps produce on the way
    assert set(states["Advance"]["ResultSelector"]) == {"conversation_id.$", "state.$", "wait.$", "ask.$", "http.$"}


def test_the_retry_interval_is_substituted_as_a_number():
    cfn = translate(ROOT / "template.yaml", "code-bucket", dict(LOCAL_PARAMETERS)).cloudformation
    pieces = cfn["Resources"]["ConversationStateMachine"]["Properties"]["DefinitionString"]["Fn::Join"][1]
    i = pieces.index({"Ref": "HttpRetryIntervalSeconds"})
    assert pieces[i - 1].endswith('"IntervalSeconds": ') and pieces[i + 1].startswith(",")


def test_the_http_function_reads_only_workflow_secrets_and_its_idempotency_records():
    g = grants("ConversationHttpFunction")
    assert set(g) == {"s3:GetObject", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                      "dynamodb:DeleteItem", "secretsmanager:GetSecretValue"}
    assert all("IdempotencyTable" in r for a, rs in g.items() if a.startswith("dynamodb:") for r in rs)
    secrets = [json.loads(r)["Fn::Sub"] for r in g["secretsmanager:GetSecretValue"]]
    assert sorted(s.rsplit(":secret:", 1)[1] for s in secrets) == ["dunning/workflow/*"]
    assert env("ConversationHttpFunction")["HTTP_ALLOW_HOSTS"] == {"Ref": "WorkflowHttpAllowHosts"}
    code = (ROOT / "functions" / "conversation_http" / "app.py").read_text()
    assert "idempotent_function(" in code and "[conversation_id, to_string(seq), call.step]" in code


def test_task_tokens_and_executions_are_granted_on_the_conversation_machine_only():
    machine_by_name = "stateMachine:${AWS::StackName}-conversations"
    step = grants("ConversationStepFunction")
    assert all(machine_by_name in r for a in ("states:SendTaskSuccess", "states:SendTaskFailure") for r in step[a])
    inbound = grants("ConversationInboundFunction")
    assert inbound["states:StartExecution"] == inbound["states:SendTaskSuccess"] == [
        json.dumps({"Ref": "ConversationStateMachine"})]
    assert inbound["sqs:SendMessage"] == [json.dumps({"Fn::GetAtt": ["ConversationInboundQueue", "Arn"]})]
    for fn in ("ApiFunction", "ConsoleFunction"):
        g = grants(fn)
        assert g["states:SendTaskFailure"] == [json.dumps({"Ref": "ConversationStateMachine"})]
        assert "states:StartExecution" not in g or all("Conversation" not in r for r in g["states:StartExecution"])
        assert json.dumps({"Fn::GetAtt": ["ConversationInboundQueue", "Arn"]}) in g["sqs:SendMessage"]
        # sheet exports (a CSV and its presigned link) are the API's; the console has no export
        assert any("sheets/*" in r for r in g["s3:PutObject"]) == (fn == "ApiFunction")
        e = env(fn)
        assert e["CONVERSATIONS_TABLE"] == {"Ref": "ConversationsTable"}
        assert e["CONVERSATION_QUEUE_URL"] == {"Ref": "ConversationInboundQueue"}
        assert e["CONVERSATION_STATE_MACHINE_ARN"] == {"Ref": "ConversationStateMachine"}


@pytest.mark.parametrize("logical", CONV_FUNCTIONS)
def test_no_conversation_function_touches_what_it_does_not_need(logical):
    touched = " ".join(r for rs in grants(logical).values() for r in rs)
    for other in ("ContactsTable", "RunsTable", "LettersBucket", "InboundMailBucket", "CollectionsRunStateMachine"):
        assert other not in touched, (logical, other)
    if logical != "ConversationStepFunction":
        assert "LedgerTable" not in touched and "ses:SendEmail" not in grants(logical)
