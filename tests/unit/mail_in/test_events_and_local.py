"""The edges of inbound mail without AWS: the S3 notification the function reads, the content check of
attachments, and the local stack's stand-in for SES receiving (rule matching, where the mail is written)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dunning.app.inbound_mail import objects_in
from dunning.interactions.mail import content_mismatch
from dunning_ops.cli.main import build_parser
from dunning_ops.local.mail import (
    MailDropError,
    apply_bucket_notifications,
    create_receipt_rules,
    drop_mail,
    recipients_of,
)


def notification(key: str, event: str = "ObjectCreated:Put") -> str:
    return json.dumps({"Records": [{"eventName": event, "s3": {
        "bucket": {"name": "inbound-bucket"}, "object": {"key": key, "size": 12}}}]})


def test_an_s3_notification_names_its_object_with_the_key_decoded():
    [obj] = objects_in(notification("inbound/a%2Bb+c"))
    assert (obj.bucket, obj.key, obj.size) == ("inbound-bucket", "inbound/a+b c", 12)


def test_the_s3_test_event_and_removals_name_no_object():
    assert objects_in(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})) == []
    assert objects_in(notification("inbound/x", "ObjectRemoved:Delete")) == []


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"hello": 1})])
def test_anything_else_is_an_error_so_the_message_is_retried_then_dead_lettered(body):
    with pytest.raises(ValueError):
        objects_in(body)


@pytest.mark.parametrize(("content_type", "content", "ok"), [
    ("application/pdf", b"%PDF-1.7\n...", True),
    ("application/pdf", b"MZ\x90\x00 an exe", False),
    ("image/png", b"\x89PNG\r\n\x1a\n....", True),
    ("image/jpeg", b"GIF89a", False),
    ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", True),
    ("text/plain", "Olá".encode(), True),
    ("text/plain", b"\xff\xfe\x00bin", False),
])
def test_an_attachment_must_be_what_its_type_says(content_type, content, ok):
    assert (content_mismatch(content_type, content) is None) is ok


# ---------------------------------------------------------------------------------------------- local SES
class FakeSes:
    def __init__(self, rules: list[dict[str, Any]] | None = None) -> None:
        self.sets: list[str] = []
        self.rules: list[tuple[str, dict[str, Any]]] = []
        self.active: str | None = None
        self._given = rules

    def create_receipt_rule_set(self, RuleSetName: str) -> None:
        self.sets.append(RuleSetName)

    def create_receipt_rule(self, RuleSetName: str, Rule: dict[str, Any], **kw: Any) -> None:
        self.rules.append((RuleSetName, Rule))

    def set_active_receipt_rule_set(self, RuleSetName: str) -> None:
        self.active = RuleSetName

    def describe_active_receipt_rule_set(self) -> dict[str, Any]:
        if self._given is None:
            return {}
        return {"Metadata": {"Name": "set"}, "Rules": self._given}


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.notifications: dict[str, Any] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:
        self.objects[(Bucket, Key)] = Body

    def put_bucket_notification_configuration(self, Bucket: str, NotificationConfiguration: Any) -> None:
        self.notifications[Bucket] = NotificationConfiguration


TEMPLATE = {
    "Parameters": {"InboundMailDomain": {"Type": "String", "Default": "reply.example.com"}},
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"NotificationConfiguration": {"QueueConfigurations": [
            {"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["Queue", "Arn"]},
             "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "inbound/"}]}}}]}}},
        "RuleSet": {"Type": "AWS::SES::ReceiptRuleSet",
                    "Properties": {"RuleSetName": {"Fn::Sub": "${AWS::StackName}-inbound-mail"}}},
        "Rule": {"Type": "AWS::SES::ReceiptRule", "Properties": {
            "RuleSetName": {"Ref": "RuleSet"},
            "Rule": {"Name": {"Fn::Sub": "${AWS::StackName}-to-s3"}, "Enabled": True,
                     "Recipients": [{"Ref": "InboundMailDomain"}],
                     "Actions": [{"S3Action": {"BucketName": {"Ref": "Bucket"}, "ObjectKeyPrefix": "inbound/"}}]}}},
    },
}
DEPLOYED = {"Queue": "https://sqs.us-east-1.amazonaws.com/123456789012/q-1", "Bucket": "inbound-b"}


def test_the_receipt_rules_are_created_from_the_template_and_the_set_made_active():
    ses = FakeSes()
    made = create_receipt_rules(ses, TEMPLATE, DEPLOYED, {}, "stack")
    assert made == {"RuleSet": "stack-inbound-mail", "Rule": "stack-to-s3"}
    assert ses.active == "stack-inbound-mail"
    [(rule_set, rule)] = ses.rules
    assert rule_set == "stack-inbound-mail"
    assert rule["Recipients"] == ["reply.example.com"]
    assert rule["Actions"] == [{"S3Action": {"BucketName": "inbound-b", "ObjectKeyPrefix": "inbound/"}}]


def test_the_bucket_notification_is_applied_from_the_template():
    s3 = FakeS3()
    assert apply_bucket_notifications(s3, TEMPLATE, DEPLOYED, {}, "stack") == ["Bucket"]
    assert s3.notifications["inbound-b"] == {"QueueConfigurations": [{
        "QueueArn": "arn:aws:sqs:us-east-1:123456789012:q-1", "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "inbound/"}]}}}]}


RULES = [
    {"Name": "off", "Enabled": False, "Recipients": [], "Actions": [{"S3Action": {"BucketName": "x"}}]},
    {"Name": "to-s3", "Enabled": True, "Recipients": ["reply.example.com"],
     "Actions": [{"S3Action": {"BucketName": "inbound-b", "ObjectKeyPrefix": "inbound/"}}]},
]
RAW = b"From: Maria <maria@customer.example>\r\nTo: support@reply.example.com,\r\n other@x.example\r\n\r\nhi\r\n"


def test_a_dropped_mail_is_written_where_the_matching_rule_writes_with_ses_headers_on_top():
    s3 = FakeS3()
    dropped = drop_mail(FakeSes(RULES), s3, RAW)
    assert dropped.rule == "to-s3" and dropped.recipients == ["support@reply.example.com"]
    body = s3.objects[("inbound-b", dropped.key)]
    assert dropped.key.startswith("inbound/") and body.endswith(RAW)
    assert body.startswith(b"Return-Path: <maria@customer.example>\r\nReceived: ")
    assert b" for support@reply.example.com;" in body


def test_no_matching_rule_or_no_active_set_is_an_error():
    with pytest.raises(MailDropError, match="no enabled receipt rule"):
        drop_mail(FakeSes(RULES), FakeS3(), RAW, recipients=["a@elsewhere.example"])
    with pytest.raises(MailDropError, match="no SES receipt rule set is active"):
        drop_mail(FakeSes(None), FakeS3(), RAW)


def test_recipients_come_from_to_and_cc_including_folded_lines():
    assert recipients_of(RAW) == ["support@reply.example.com", "other@x.example"]


def test_the_mail_commands_have_help(capsys):
    for argv in (["mail", "--help"], ["mail", "drop", "--help"], ["mail", "rejected", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args(argv)
        assert exit_.value.code == 0
    assert "receipt rule" in capsys.readouterr().out


def test_a_notification_without_its_object_is_an_error():
    with pytest.raises(ValueError):
        objects_in(json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {}}}]}))
