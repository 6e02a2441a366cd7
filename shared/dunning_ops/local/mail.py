"""SES receiving on the embedded stack, and dropping a mail where SES would write it.

Inbound mail on AWS: SES receives it for ``InboundMailDomain``, the active receipt rule set's rule writes the raw
mail to ``InboundMailBucket`` under ``inbound/``, the bucket's notification puts an S3 event on
``InboundMailQueue`` and ``InboundMailFunction`` reads it from there. moto has three gaps on that path; each is
covered here, from the template, so the rest of the path (S3 -> SQS -> the function, through the pollers) is the
one AWS runs:

* **No CloudFormation for SES receipt rules.** moto's CloudFormation skips ``AWS::SES::ReceiptRuleSet`` and
  ``AWS::SES::ReceiptRule``. :func:`create_receipt_rules` creates them after the deploy through the SES API, with
  the template's properties resolved against the deployed stack, and makes the set the active one (on AWS an
  operator does that once: ``aws ses set-active-receipt-rule-set``; CloudFormation cannot).
* **No receiving.** moto's SES stores receipt rules but never receives mail. :func:`drop_mail` does what SES
  does with a received mail: it finds the active rule set's first enabled rule matching a recipient and writes
  the raw mail where the rule's S3 action writes it (bucket, ``ObjectKeyPrefix`` + a message id), with the
  ``Return-Path`` and ``Received`` headers SES puts on top. ``dunning mail drop FILE.eml`` uses it (against AWS
  too: there it writes into the bucket as SES would, for a test without sending real mail).
* **Bucket notifications ignored.** moto's CloudFormation drops an S3 bucket's ``NotificationConfiguration``.
  :func:`apply_bucket_notifications` puts it after the deploy (PutBucketNotificationConfiguration), from the
  template; moto's S3 then sends the event to the queue itself (and, as S3 does, an ``s3:TestEvent`` first).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, getaddresses
from typing import Any

from dunning_ops.local.names import ACCOUNT, REGION

RULE_SET_TYPE = "AWS::SES::ReceiptRuleSet"
RULE_TYPE = "AWS::SES::ReceiptRule"


class MailDropError(RuntimeError):
    """No active receipt rule takes the mail (no rule set, no matching rule, no S3 action)."""


@dataclass(frozen=True)
class DroppedMail:
    bucket: str
    key: str
    rule: str
    recipients: list[str]


# ---------------------------------------------------------------------------------------------- after the deploy
class _Resolver:
    """The intrinsic functions these resources use (Ref, Fn::Sub, Fn::GetAtt ...Arn/.Name) against the stack."""

    def __init__(self, cfn: dict[str, Any], resources: dict[str, str], parameters: dict[str, str],
                 stack_name: str) -> None:
        self.cfn, self.resources, self.parameters = cfn, resources, parameters
        self.pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                       "AWS::StackName": stack_name, "AWS::URLSuffix": "amazonaws.com"}

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "Ref" in node:
            return self._name(node["Ref"])
        if "Fn::Sub" in node:
            template, variables = (node["Fn::Sub"], {}) if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"]
            local = {k: self.value(v) for k, v in variables.items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(local.get(m.group(1)) or self._name(m.group(1))), template)
        if "Fn::GetAtt" in node:
            logical, attr = (node["Fn::GetAtt"] if isinstance(node["Fn::GetAtt"], list)
                             else node["Fn::GetAtt"].split(".", 1))
            return self._attribute(logical, attr)
        return {k: self.value(v) for k, v in node.items()}

    def _name(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if "." in name:
            logical, attr = name.split(".", 1)
            return self._attribute(logical, attr)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name]
        default = self.cfn.get("Parameters", {}).get(name, {}).get("Default")
        if default is not None:
            return str(default)
        raise KeyError(f"cannot resolve {name!r} on the local stack")

    def _attribute(self, logical: str, attr: str) -> str:
        kind, physical = self.cfn["Resources"][logical]["Type"], self.resources[logical]
        if kind == "AWS::SQS::Queue" and attr == "Arn":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical.rsplit('/', 1)[-1]}"
        if kind == "AWS::SQS::Queue" and attr == "QueueName":
            return physical.rsplit("/", 1)[-1]
        if kind == "AWS::S3::Bucket" and attr == "Arn":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::Lambda::Function" and attr == "Arn":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}"
        raise KeyError(f"cannot resolve {logical}.{attr} on the local stack")


def create_receipt_rules(ses: Any, cfn: dict[str, Any], resources: dict[str, str], parameters: dict[str, str],
                         stack_name: str) -> dict[str, str]:
    """Create the template's SES receipt rule sets and rules through the SES (v1) API and activate the rule set;
    returns logical id -> name of what it made (the stack's "physical ids" of these resources)."""
    r = _Resolver(cfn, resources, parameters, stack_name)
    made: dict[str, str] = {}
    for logical, resource in cfn["Resources"].items():
        if resource["Type"] == RULE_SET_TYPE:
            name = r.value(resource.get("Properties", {}).get("RuleSetName")) or f"{stack_name}-{logical}"
            ses.create_receipt_rule_set(RuleSetName=name)
            made[logical] = name
    r.resources = {**resources, **made}
    for logical, resource in _in_dependency_order(cfn, RULE_TYPE):
        props = r.value(resource["Properties"])
        rule = dict(props["Rule"])
        rule.setdefault("Name", f"{stack_name}-{logical}")
        after = {"After": props["After"]} if props.get("After") else {}
        ses.create_receipt_rule(RuleSetName=props["RuleSetName"], Rule=rule, **after)
        made[logical] = rule["Name"]
    rule_sets = [made[k] for k, v in cfn["Resources"].items() if v["Type"] == RULE_SET_TYPE]
    if rule_sets:
        ses.set_active_receipt_rule_set(RuleSetName=rule_sets[0])
    return made


def _in_dependency_order(cfn: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """Rules with ``After`` come after the rule they name (by Ref)."""
    rules = [(k, v) for k, v in cfn["Resources"].items() if v["Type"] == kind]
    ordered: list[tuple[str, dict[str, Any]]] = []
    while rules:
        progress = False
        for item in list(rules):
            after = item[1]["Properties"].get("After")
            ref = after.get("Ref") if isinstance(after, dict) else None
            if ref is None or ref in {k for k, _ in ordered}:
                ordered.append(item)
                rules.remove(item)
                progress = True
        if not progress:
            ordered.extend(rules)
            break
    return ordered


def apply_bucket_notifications(s3: Any, cfn: dict[str, Any], resources: dict[str, str],
                               parameters: dict[str, str], stack_name: str) -> list[str]:
    """Put each template bucket's ``NotificationConfiguration`` (queue, topic and function configurations, with
    their key filters) through the S3 API; returns the buckets' logical ids."""
    r = _Resolver(cfn, resources, parameters, stack_name)
    done = []
    for logical, resource in cfn["Resources"].items():
        config = resource.get("Properties", {}).get("NotificationConfiguration") if (
            resource["Type"] == "AWS::S3::Bucket") else None
        if not config or logical not in resources:
            continue
        api: dict[str, Any] = {}
        for cfn_key, api_key, target_key, arn_key in (
                ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
                ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
                ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn")):
            entries = []
            for entry in config.get(cfn_key, []):
                out: dict[str, Any] = {arn_key: r.value(entry[target_key]), "Events": [r.value(entry["Event"])]}
                rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules")
                if rules:
                    out["Filter"] = {"Key": {"FilterRules": [{"Name": x["Name"], "Value": r.value(x["Value"])}
                                                             for x in rules]}}
                entries.append(out)
            if entries:
                api[api_key] = entries
        s3.put_bucket_notification_configuration(Bucket=resources[logical], NotificationConfiguration=api)
        done.append(logical)
    return done


# ---------------------------------------------------------------------------------------------- receiving
def _matches(rule_recipients: list[str], address: str) -> bool:
    """SES recipient matching: no recipients = every address; an address; a domain; ``.domain`` = subdomains."""
    if not rule_recipients:
        return True
    address = address.lower()
    domain = address.rpartition("@")[2]
    for wanted in (w.lower() for w in rule_recipients):
        if "@" in wanted and address == wanted:
            return True
        if wanted.startswith(".") and domain.endswith(wanted):
            return True
        if "@" not in wanted and not wanted.startswith(".") and domain == wanted:
            return True
    return False


def recipients_of(raw: bytes) -> list[str]:
    """The To and Cc addresses in a raw mail's headers (the envelope recipients when none are given)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    values: list[str] = []
    current = ""
    for line in head.splitlines():
        if line[:1] in (" ", "\t"):
            current += " " + line.strip()
            continue
        if current:
            values.append(current)
        current = line
    if current:
        values.append(current)
    fields = [v.split(":", 1)[1] for v in values if v.split(":", 1)[0].strip().lower() in ("to", "cc")]
    return [a for _n, a in getaddresses(fields) if "@" in a]


def _sender_of(raw: bytes) -> str:
    head = raw.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    match = re.search(r"^From:(.*)$", head, re.IGNORECASE | re.MULTILINE)
    pairs = getaddresses([match.group(1)]) if match else []
    return pairs[0][1] if pairs else ""


def drop_mail(ses: Any, s3: Any, raw: bytes, *, recipients: Iterable[str] = (), sender: str = "",
              now: datetime | None = None) -> DroppedMail:
    """Do what SES does with a received mail: the first enabled rule of the active rule set that matches a
    recipient writes the mail (with SES's ``Return-Path`` and ``Received`` headers on top) to its S3 action's
    bucket under its prefix. Raises :class:`MailDropError` when no rule takes it."""
    to = list(recipients) or recipients_of(raw)
    if not to:
        raise MailDropError("the mail names no recipient (give one with --to)")
    active = ses.describe_active_receipt_rule_set()
    if not active.get("Metadata"):
        raise MailDropError("no SES receipt rule set is active (aws ses set-active-receipt-rule-set)")
    for rule in active.get("Rules", []):
        taken = [a for a in to if _matches(rule.get("Recipients", []), a)]
        s3_actions = [a["S3Action"] for a in rule.get("Actions", []) if "S3Action" in a]
        if not rule.get("Enabled", False) or not taken or not s3_actions:
            continue
        message_id = secrets.token_hex(20)
        stamp = format_datetime(now or datetime.now(UTC))
        envelope_from = sender or _sender_of(raw)
        top = (f"Return-Path: <{envelope_from}>\r\n"
               f"Received: from local-drop by inbound-smtp.{REGION}.amazonaws.com with SMTP id {message_id}\r\n"
               f" for {taken[0]}; {stamp}\r\n")
        body = top.encode() + raw
        key = ""
        for action in s3_actions:
            key = f"{action.get('ObjectKeyPrefix', '')}{message_id}"
            s3.put_object(Bucket=action["BucketName"], Key=key, Body=body)
        return DroppedMail(bucket=s3_actions[-1]["BucketName"], key=key, rule=rule["Name"], recipients=taken)
    raise MailDropError(f"no enabled receipt rule with an S3 action takes {', '.join(to)}")


def after_deploy(endpoint: str, cfn: dict[str, Any], resources: dict[str, str], parameters: dict[str, str],
                 stack_name: str) -> tuple[dict[str, str], list[str]]:
    """Cover both deploy gaps on the local stack: the receipt rules (logical id -> name, to add to the stack's
    resources) and the bucket notifications (the buckets' logical ids)."""
    import boto3

    session: Any = boto3.session.Session()
    ses = session.client("ses", endpoint_url=endpoint, region_name=REGION)
    s3 = session.client("s3", endpoint_url=endpoint, region_name=REGION)
    made = create_receipt_rules(ses, cfn, resources, parameters, stack_name)
    return made, apply_bucket_notifications(s3, cfn, resources, parameters, stack_name)
