"""Least privilege, derived from the code: each function's role allows exactly the actions and resources the
function uses - no more (an extra grant fails), no less (a missing grant fails).

What a function *uses* is recorded, not guessed: the shared scenarios (tests/support/scenarios.py)
drive the local stack through its edges - the demo run, redelivery, bad input, faults, redrive, SES failures,
retried renders - with a botocore hook that records every AWS call a function's handler makes (operation and
the resources it names). Those calls are mapped to IAM actions and resource ARNs. Two needs are added from
the code and the template rather than observed:

* a function whose ``app.py`` uses Powertools ``idempotent_function`` needs Get/Put/Update/DeleteItem on the
  idempotency table (the library reads a record when a conditional write does not return it and deletes it
  when the function fails);
* an event source mapping's ``OnFailure`` destination is written with the function's role.

The template's statements (SAM-translated, as deployed) are resolved against the deployed local stack. A
``TransactWriteItems`` needs its action on every table its items name; ``GetSecretValue`` on the secret it names
(the local stack makes the template's secrets through the API, so a secret's ARN is matched by its name); a
presigned POST is the ``PutObject`` it authorises, a presigned URL the ``GetObject`` (tests/support/hooks.py).
"""

from __future__ import annotations

import re
from collections import defaultdict
from email.utils import parseaddr
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from dunning_ops.local.names import STACK_NAME
from dunning_ops.local.translate import load_sam_template, translate
from tests.support.scenario_fixtures import (  # noqa: F401
    api_run,
    clean_run,
    console_run,
    conversations_run,
    corpus_run,
    interactions_run,
    operations_run,
    redelivered_run,
)

ROOT = Path(__file__).resolve().parents[2]
SAM = load_sam_template(ROOT / "template.yaml")
FUNCTIONS = sorted(k for k, v in SAM["Resources"].items() if v["Type"] == "AWS::Serverless::Function")
REGION, ACCOUNT, PARTITION = "us-east-1", "123456789012", "aws"
S3_ACTIONS = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket"}
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
KNOWN_GAPS: dict[str, str] = {}  # every gap found earlier is fixed in template.yaml
# grants the code uses only in a race no scenario can time, each with the code path (and a unit test) that needs it
RACE_ONLY: dict[tuple[str, str], str] = {
    ("ConversationStepFunction", "states:SendTaskFailure on ConversationStateMachine"): (
        "park ends the task of a question whose conversation was closed or handed off while the question was being "
        "asked (dunning.app.conversations.park; tests/unit/conversations)"),
    ("ConversationStepFunction", "states:SendTaskSuccess on ConversationStateMachine"): (
        "park answers its question at once with a message the customer typed ahead while the bot ran (the "
        "conversations scenario sends one right after an open; whether it lands before the park is timing)"),
}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    from dunning_ops.local.translate import LOCAL_PARAMETERS

    return translate(ROOT / "template.yaml", "code-bucket", dict(LOCAL_PARAMETERS)).cloudformation


@pytest.fixture(scope="module")
def scenarios(clean_run, redelivered_run, corpus_run, operations_run, api_run, console_run,  # noqa: F811
              interactions_run, conversations_run):  # noqa: F811
    return {"clean": clean_run, "redelivered": redelivered_run, "corpus": corpus_run, "operations": operations_run,
            "api": api_run, "console": console_run, "interactions": interactions_run,
            "conversations": conversations_run}


# ---------------------------------------------------------------------------------------------- ARNs
class Resolver:
    """Physical ARNs of one deployed stack, and the way back to logical names for messages."""

    def __init__(self, cfn: dict[str, Any], resources: dict[str, str], parameters: dict[str, str]) -> None:
        self.cfn, self.resources, self.parameters = cfn, resources, parameters

    def arn(self, logical: str) -> str:
        kind, physical = self.cfn["Resources"][logical]["Type"], self.resources[logical]
        if kind == "AWS::DynamoDB::Table":
            return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{physical}"
        if kind == "AWS::S3::Bucket":
            return f"arn:{PARTITION}:s3:::{physical}"
        if kind == "AWS::SQS::Queue":
            return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{physical.rsplit('/', 1)[-1]}"
        raise ValueError(f"no ARN rule for {kind}")

    def secret_arn(self, logical: str) -> str:
        """A secret's Ref is its ARN; the local stack makes it through the API (moto's CloudFormation cannot),
        named ``{stack}-{logical}`` with the random six-character suffix Secrets Manager appends."""
        if logical in self.resources:
            return self.resources[logical]
        return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{STACK_NAME}-{logical}-??????"

    def value(self, node: Any) -> str:
        if isinstance(node, str):
            return node
        if "Fn::GetAtt" in node:
            logical, attr = node["Fn::GetAtt"]
            assert attr == "Arn", node
            return self.arn(logical)
        if "Fn::Sub" in node:
            return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1)), node["Fn::Sub"])
        if "Ref" in node:
            return self._sub(node["Ref"])
        raise ValueError(f"cannot resolve {node}")

    def _sub(self, name: str) -> str:
        fixed = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                 "AWS::StackName": STACK_NAME}
        if name in fixed:
            return fixed[name]
        if name.endswith(".Arn"):
            return self.arn(name[:-4])
        if name in self.parameters:
            return self.parameters[name]
        if self.cfn["Resources"].get(name, {}).get("Type") == "AWS::SecretsManager::Secret":
            return self.secret_arn(name)
        return self.resources[name]

    def logical(self, arn: str) -> str:
        for logical, kind in ((k, v["Type"]) for k, v in self.cfn["Resources"].items()):
            if kind == "AWS::SecretsManager::Secret" and fnmatchcase(arn, self.secret_arn(logical)):
                return logical
        for logical, physical in self.resources.items():
            name = physical.rsplit("/", 1)[-1]
            if name and name in arn:
                arn = arn.replace(name, logical)
        return arn

    def table_arn(self, name: str) -> str:
        return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def statements(cfn: dict[str, Any], function: str, r: Resolver) -> list[tuple[int, str, int, str]]:
    """(statement number, action, resource number, resource ARN pattern) of the function role's inline policies."""
    role = cfn["Resources"][f"{function}Role"]["Properties"]
    out = []
    n = 0
    for policy in role.get("Policies", []):
        for st in policy["PolicyDocument"]["Statement"]:
            n += 1
            assert st["Effect"] == "Allow", st
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            out.extend((n, a, i, r.value(res)) for a in actions for i, res in enumerate(resources))
    return out


# ---------------------------------------------------------------------------------------------- needs
def needs_from_calls(calls: list[dict[str, Any]], function: str, r: Resolver) -> set[tuple[str, tuple[str, ...]]]:
    """(IAM action, candidate resource ARNs - any one may grant it) for each recorded call."""
    out: set[tuple[str, tuple[str, ...]]] = set()
    for c in calls:
        if c["function"] != function:
            continue
        p, op = c["params"], c["operation"]
        if c["service"] == "dynamodb":
            tables = [p["TableName"]] if "TableName" in p else list(p.get("RequestItems", p.get("TransactItems", [])))
            for t in tables:
                arn = r.table_arn(t) + (f"/index/{p['IndexName']}" if p.get("IndexName") else "")
                out.add((f"dynamodb:{op}", (arn,)))
        elif c["service"] == "s3":
            action = S3_ACTIONS.get(op, op)
            bucket = f"arn:{PARTITION}:s3:::{p['Bucket']}"
            out.add((f"s3:{action}", (bucket if action == "ListBucket" else f"{bucket}/{p['Key']}",)))
        elif c["service"] == "sesv2":
            address = parseaddr(p.get("FromEmailAddress", ""))[1]
            identity = f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/"
            out.add((f"ses:{op}", (identity + address, identity + address.rpartition("@")[2])))
        elif c["service"] == "secrets-manager":
            secret = str(p.get("SecretId", "*"))
            if not secret.startswith("arn:"):  # by name: the ARN Secrets Manager gives it (a random suffix)
                secret = f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}-??????"
            out.add((f"secretsmanager:{op}", (secret,)))
        elif c["service"] == "sfn":
            if "taskToken" in p:  # SendTask*: the token names no machine; any state machine of the stack may grant it
                machines = tuple(v for v in r.resources.values() if ":stateMachine:" in v)
                out.add((f"states:{op}", machines or ("*",)))
            else:
                out.add((f"states:{op}", (p.get("stateMachineArn") or p.get("executionArn") or "*",)))
        elif c["service"] == "sqs" and "QueueUrl" in p:
            name = str(p["QueueUrl"]).rsplit("/", 1)[-1]
            out.add((f"sqs:{op}", (f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}",)))
        elif (c["service"], op) == ("cognito-identity-provider", "InitiateAuth"):
            continue  # sign-in with a public app client: an unsigned call, no IAM permission involved
        else:
            out.add((f"{c['service']}:{op}", ("*",)))
    return out


def needs_from_code_and_template(function: str, r: Resolver) -> set[tuple[str, tuple[str, ...]]]:
    props = SAM["Resources"][function]["Properties"]
    out: set[tuple[str, tuple[str, ...]]] = set()
    app = ROOT / props["CodeUri"] / (props["Handler"].rsplit(".", 1)[0].replace(".", "/") + ".py")
    if "idempotent_function" in app.read_text(encoding="utf-8"):
        table = r.arn("IdempotencyTable")
        out.update((a, (table,)) for a in IDEMPOTENCY_ACTIONS)
    for event in props.get("Events", {}).values():
        dest = ((event.get("Properties", {}).get("DestinationConfig") or {}).get("OnFailure") or {})
        if dest.get("Type") == "SQS":
            out.add(("sqs:SendMessage", (r.value(dest["Destination"]),)))
    return out


def audit(cfn: dict[str, Any], scenarios: dict[str, dict[str, Any]], function: str) -> dict[str, Any]:
    missing: set[str] = set()
    used: set[tuple[int, str, int]] = set()
    granted: dict[tuple[int, str, int], str] = {}
    for run in scenarios.values():
        r = Resolver(cfn, run["resources"], run["parameters"])
        grants = statements(cfn, function, r)
        for n, a, i, pattern in grants:
            granted[(n, a, i)] = f"{a} on {r.logical(pattern)}"
        for action, candidates in needs_from_calls(run["calls"], function, r) | needs_from_code_and_template(
                function, r):
            hits = [(n, a, i) for n, a, i, pattern in grants
                    if fnmatchcase(action, a) and any(fnmatchcase(arn, pattern) for arn in candidates)]
            if not hits:
                missing.add(f"{action} on {r.logical(candidates[0])}")
            used.update(hits)
    extra = sorted({granted[k] for k in set(granted) - used} - {g for f, g in RACE_ONLY if f == function})
    return {"missing": sorted(missing), "extra": extra, "granted": len(granted), "used": len(used)}


def _params() -> list[Any]:
    out = []
    for f in FUNCTIONS:
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[f])] if f in KNOWN_GAPS else []
        out.append(pytest.param(f, marks=marks, id=f))
    return out


@pytest.mark.parametrize("function", _params())
def test_each_function_role_grants_exactly_what_the_function_uses(cfn, scenarios, function):
    result = audit(cfn, scenarios, function)
    assert result["used"] > 0, f"{function} was never exercised"
    assert result["missing"] == [] and result["extra"] == [], result


def test_every_function_was_exercised_by_the_scenarios(scenarios):
    calls = {c["function"] for run in scenarios.values() for c in run["calls"]}
    assert set(FUNCTIONS) <= calls, set(FUNCTIONS) - calls


def test_no_function_has_an_iam_gap_beyond_the_known_ones(cfn, scenarios):
    report = {f: audit(cfn, scenarios, f) for f in FUNCTIONS}
    gaps = defaultdict(list)
    for f, r in report.items():
        if r["missing"] or r["extra"]:
            gaps[f] = r
    assert set(gaps) <= set(KNOWN_GAPS), {f: gaps[f] for f in set(gaps) - set(KNOWN_GAPS)}
