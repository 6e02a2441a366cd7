"""Guarantee 6 - alarms: the template alarms on the dead-letter queues' depth, on failed collections runs and
on every function's errors, all notifying the SNS topic given as the ``AlarmTopicArn`` parameter.

moto's CloudFormation does not create CloudWatch alarms, so these checks read the template as the stack is
deployed from it (SAM-translated CloudFormation), not the local stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dunning_ops.local.translate import load_sam_template, translate

ROOT = Path(__file__).resolve().parents[2]
SAM = load_sam_template(ROOT / "template.yaml")
FUNCTIONS = sorted(k for k, v in SAM["Resources"].items() if v["Type"] == "AWS::Serverless::Function")
NOTIFY = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translate(ROOT / "template.yaml", "code-bucket", {}).cloudformation


def alarms(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in cfn["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def alarming_on(cfn, namespace: str, metric: str, dimension: str) -> dict[str, Any]:
    """Alarm name -> the dimension value it watches, for alarms that fire on the first breach."""
    out = {}
    for name, a in alarms(cfn).items():
        if a.get("Namespace") == namespace and a.get("MetricName") == metric:
            (dim,) = [d for d in a["Dimensions"] if d["Name"] == dimension]
            assert a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold", name
            assert a["EvaluationPeriods"] == 1 and a["TreatMissingData"] == "notBreaching", name
            out[name] = dim["Value"]
    return out


def test_the_alarm_topic_is_a_parameter_and_every_alarm_notifies_it(cfn):
    assert SAM["Parameters"]["AlarmTopicArn"]["Type"] == "String"
    for name, a in alarms(cfn).items():
        assert a.get("AlarmActions") == NOTIFY, name


def test_an_event_in_the_dead_letter_queue_raises_an_alarm(cfn):
    watched = alarming_on(cfn, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName").values()
    assert {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]} in watched
    assert {"Fn::GetAtt": ["StreamFailureQueue", "QueueName"]} in watched


def test_a_failed_collections_run_raises_an_alarm(cfn):
    watched = alarming_on(cfn, "AWS/States", "ExecutionsFailed", "StateMachineArn").values()
    assert {"Ref": "CollectionsRunStateMachine"} in watched


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_an_alarm_on_its_errors(cfn, function):
    watched = alarming_on(cfn, "AWS/Lambda", "Errors", "FunctionName").values()
    assert {"Ref": function} in watched, f"no AWS/Lambda Errors alarm for {function}"

