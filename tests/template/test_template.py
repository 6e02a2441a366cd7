"""template.yaml is the one source of wiring: these tests hold it to the project's rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dunning_ops.local.translate import load_definition, load_sam_template, translate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_sam_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
# Actions AWS only grants on "*" (no resource-level permissions).
STAR_ONLY_ACTIONS = {
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translate(ROOT / "template.yaml", "code-bucket", {}).cloudformation


def test_every_concern_has_its_own_function_folder():
    expected = {"ingest", "assign", "evaluate", "create_contacts", "render_letter", "send_email"}
    folders = {Path(f["Properties"]["CodeUri"]).name for f in FUNCTIONS.values()}
    assert expected <= folders
    for f in FUNCTIONS.values():
        module, _, _func = f["Properties"]["Handler"].partition(".")
        assert (ROOT / f["Properties"]["CodeUri"] / f"{module}.py").exists()


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_has_a_log_group_with_retention(logical_id):
    groups = [r for r in RESOURCES.values() if r["Type"] == "AWS::Logs::LogGroup"
              and f"${{{logical_id}}}" in json.dumps(r["Properties"]["LogGroupName"])]
    assert len(groups) == 1, f"{logical_id} needs exactly one log group"
    assert groups[0]["Properties"].get("RetentionInDays")


def test_runtime_is_pinned_and_powertools_is_configured():
    glob = TEMPLATE["Globals"]["Function"]
    assert re.fullmatch(r"python3\.\d+", glob["Runtime"])
    env = glob["Environment"]["Variables"]
    for var in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"):
        assert var in env
    assert glob["Tracing"] == "Active"
    for f in FUNCTIONS.values():
        assert "Runtime" not in f["Properties"] or f["Properties"]["Runtime"] == glob["Runtime"]


def _statements(cfn: dict[str, Any]):
    for logical_id, res in cfn["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        for policy in res["Properties"].get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                yield logical_id, st


def test_no_iam_statement_uses_a_star_resource_where_an_arn_is_possible(cfn):
    offenders = []
    for role, st in _statements(cfn):
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if "*" in resources and not set(actions) <= STAR_ONLY_ACTIONS:
            offenders.append((role, sorted(set(actions) - STAR_ONLY_ACTIONS)))
        for a in actions:
            assert not a.endswith(":*") and a != "*", f"{role} grants a wildcard action {a}"
    assert not offenders, offenders


def test_buckets_are_encrypted_private_and_tls_only():
    buckets = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::S3::Bucket"}
    assert {"LettersBucket", "RunsBucket"} <= set(buckets)
    policies = {json.dumps(v["Properties"]["Bucket"]): v for v in RESOURCES.values()
                if v["Type"] == "AWS::S3::BucketPolicy"}
    for name, b in buckets.items():
        props = b["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        policy = policies[json.dumps({"Ref": name})]
        st = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in st)


def test_queue_has_a_dlq_and_the_contacts_table_a_stream():
    q = RESOURCES["EventsQueue"]["Properties"]
    assert q["RedrivePolicy"]["maxReceiveCount"] >= 1
    assert RESOURCES["ContactsTable"]["Properties"]["StreamSpecification"]["StreamViewType"]
    ingest_events = FUNCTIONS["IngestFunction"]["Properties"]["Events"]
    sqs = next(e for e in ingest_events.values() if e["Type"] == "SQS")["Properties"]
    assert "ReportBatchItemFailures" in sqs["FunctionResponseTypes"]
    # visibility timeout at least 6x the function timeout (AWS guidance for SQS event sources)
    assert q["VisibilityTimeout"] >= 6 * FUNCTIONS["IngestFunction"]["Properties"]["Timeout"]


def test_every_state_machine_definition_parses_and_names_existing_functions():
    for res in RESOURCES.values():
        if res["Type"] != "AWS::Serverless::StateMachine":
            continue
        props = res["Properties"]
        text = (ROOT / props["DefinitionUri"]).read_text()
        definition = load_definition(ROOT / props["DefinitionUri"])  # JSON, numbers substituted in allowed
        placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
        missing = placeholders - set(props["DefinitionSubstitutions"])
        assert not missing, missing
        for name, value in props["DefinitionSubstitutions"].items():
            if name.endswith("FunctionArn"):
                assert value["Fn::GetAtt"][0] in FUNCTIONS
        assert definition["StartAt"] in definition["States"]


def test_the_schedule_and_sender_identity_are_parameters():
    params = TEMPLATE["Parameters"]
    assert "RunSchedule" in params and "SenderIdentity" in params
    sm = RESOURCES["CollectionsRunStateMachine"]["Properties"]
    schedule = next(e for e in sm["Events"].values() if e["Type"] == "ScheduleV2")
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "RunSchedule"}


def test_local_only_differences_are_visible_template_parameters():
    from dunning_ops.local.translate import LOCAL_PARAMETERS

    assert set(LOCAL_PARAMETERS) <= set(TEMPLATE["Parameters"])


def test_outputs_expose_what_users_and_the_cli_need():
    outputs = set(TEMPLATE["Outputs"])
    assert {"EventsQueueUrl", "CollectionsRunStateMachineArn", "LettersBucketName", "RunsBucketName",
            "LedgerTableName", "ContactsTableName", "RunsTableName"} <= outputs


def test_the_committed_event_schemas_are_current():
    from dunning.schemas import write_schemas

    assert write_schemas(ROOT / "events" / "schemas", check=True) == []


VENV_CFN_LINT = Path(sys.executable).parent / "cfn-lint"


@pytest.mark.skipif(not VENV_CFN_LINT.exists() and not shutil.which("cfn-lint"), reason="cfn-lint is not installed")
def test_cfn_lint_reports_nothing():
    exe = str(VENV_CFN_LINT) if VENV_CFN_LINT.exists() else str(shutil.which("cfn-lint"))
    proc = subprocess.run([exe, str(ROOT / "template.yaml")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The layers' requirements and contents: tests/template/test_layers.py.


def test_the_fonts_and_their_licence_ship_in_the_layer():
    fonts = ROOT / "shared" / "dunning" / "letters" / "fonts"
    assert list(fonts.glob("*.ttf")) and (fonts / "OFL.txt").exists()


def _own_environment(function: dict[str, Any]) -> set[str]:
    return set((function["Properties"].get("Environment") or {}).get("Variables") or {})


def test_globals_give_every_function_only_the_powertools_settings():
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert {k for k in env if not k.startswith("POWERTOOLS_")} <= {"LOG_LEVEL"}


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_function_gets_exactly_the_variables_its_settings_model_declares(logical_id):
    from dunning.settings import FUNCTION_SETTINGS

    folder = Path(FUNCTIONS[logical_id]["Properties"]["CodeUri"]).name
    assert folder in FUNCTION_SETTINGS, f"functions/{folder} has no settings model in dunning.settings"
    model = FUNCTION_SETTINGS[folder]
    given = _own_environment(FUNCTIONS[logical_id])
    required = {f.alias or name for name, f in model.model_fields.items() if f.is_required()}
    unread = given - model.variables()
    assert not unread, f"{logical_id} gets variables its settings model never reads: {unread}"
    assert required <= given, f"{logical_id} lacks required variables: {required - given}"
