"""The embedded local AWS: moto in server mode with ``template.yaml`` deployed into its CloudFormation.

Usage::

    with LocalStack.start(port=4566) as stack:
        print(stack.endpoint, stack.outputs["EventsQueueUrl"])

Production code does not know it is local: the functions read their settings from the environment the
template gives them, and boto3 finds the endpoint through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import boto3

from dunning.app.deps import stack_client
from dunning_ops.local.http_api import provision_identity, start_gateway
from dunning_ops.local.mail import DroppedMail, after_deploy, drop_mail
from dunning_ops.local.names import ACCOUNT, CODE_BUCKET, CREDENTIALS, REGION, STACK_NAME
from dunning_ops.local.pollers import Mapping, Pollers, TtlTable
from dunning_ops.local.runtime import InProcessRuntime, install, zip_folder
from dunning_ops.local.secrets import provision_secrets, serialise_dynamodb_writes
from dunning_ops.local.translate import LOCAL_PARAMETERS, LocalTemplate, translate

__all__ = ["ACCOUNT", "CODE_BUCKET", "CREDENTIALS", "REGION", "STACK_NAME", "LocalStack", "free_port",
           "project_root"]


def project_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "template.yaml").exists():
            return parent
    return Path.cwd()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalStack:
    endpoint: str
    port: int
    outputs: dict[str, str]
    resources: dict[str, str]  # logical id -> physical id
    template: LocalTemplate
    runtime: InProcessRuntime
    pollers: Pollers
    _server: Any = None
    identity: Any = None  # the user pool made in moto's Cognito (dunning_ops.local.http_api.LocalIdentity)
    http_api: Any = None  # the local HttpApi gateway, once start_http_api() ran

    # ------------------------------------------------------------------ start / stop
    @classmethod
    def start(
        cls,
        *,
        port: int | None = None,
        template_path: Path | None = None,
        parameters: dict[str, str] | None = None,
        log_sink: TextIO | None = None,
        capture_stdout: bool = False,
        progress: TextIO | None = None,
        ttl_clock_offset_days: float | None = None,
    ) -> LocalStack:
        def say(msg: str) -> None:
            if progress:
                print(msg, file=progress, flush=True)

        port = port or free_port()
        endpoint = f"http://127.0.0.1:{port}"
        template_path = template_path or project_root() / "template.yaml"
        env = _configure_process(endpoint, port, template_path)
        runtime = InProcessRuntime(base_env=env, log_sink=log_sink, capture_stdout=capture_stdout)
        install(runtime)
        say(f"starting moto on {endpoint}")
        server = _start_moto(port)

        params = {**LOCAL_PARAMETERS, **(parameters or {})}
        say(f"translating {template_path.name} with aws-sam-translator")
        local = translate(template_path, CODE_BUCKET, params)
        runtime.register(local.functions)
        # moto's CloudFormation has no Cognito: the pool is made through its API and referenced by id
        local.cloudformation, identity = provision_identity(local.cloudformation, endpoint, REGION, ACCOUNT,
                                                            STACK_NAME)
        # ... nor Secrets Manager: each secret is made through its API and referenced by ARN
        local.cloudformation, _ = provision_secrets(local.cloudformation, endpoint, REGION, STACK_NAME)
        serialise_dynamodb_writes()
        _upload_code(endpoint, local)
        say(f"deploying stack {STACK_NAME} into moto CloudFormation")
        outputs, resources, skipped = _deploy(endpoint, local, params)
        if skipped:
            say(f"  moto has no CloudFormation support for: {', '.join(skipped)} (not needed locally)")
        _switch_off_moto_triggers()
        _verify_sender(endpoint, params["SenderIdentity"])
        # moto deploys no SES receipt rules and drops bucket notifications: both from the template (local/mail.py)
        receipt_rules, notified = after_deploy(endpoint, local.cloudformation, resources, params, STACK_NAME)
        resources.update(receipt_rules)
        if receipt_rules or notified:
            say(f"  SES receipt rules ({', '.join(receipt_rules)}) and notifications of {', '.join(notified)} "
                "applied through the API (moto's CloudFormation has neither)")
        pollers = _start_pollers(endpoint, local, resources, ttl_clock_offset_days)
        say(f"stack ready: {len(resources)} resources, {len(local.functions)} functions running in-process")
        return cls(endpoint, port, outputs, resources, local, runtime, pollers, server, identity)

    def start_http_api(self, port: int | None = None) -> str:
        """Serve the template's HttpApi on ``port`` (default a free one), JWT authorizer enforced; its base URL."""
        if self.http_api is None:
            self.http_api = start_gateway(self, port)
        return str(self.http_api.url)

    @property
    def api_url(self) -> str | None:
        return str(self.http_api.url) if self.http_api is not None else None

    def stop(self) -> None:
        """Stop polling and the server, and forget every resource (moto's backends are per process)."""
        if self.http_api is not None:
            self.http_api.stop()
            self.http_api = None
        self.pollers.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
            from moto.backends import get_backend

            for name in ("cloudformation", "lambda", "sqs", "dynamodb", "dynamodbstreams", "s3", "stepfunctions",
                         "ses", "sesv2", "iam", "logs", "events", "scheduler", "cloudwatch", "sns", "cognito-idp",
                         "secretsmanager"):
                try:
                    get_backend(name).reset()
                except Exception:  # noqa: S112 - best effort: a backend moto does not have
                    continue
            from moto.stepfunctions.parser.models import stepfunctions_parser_backends

            stepfunctions_parser_backends.reset()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers for callers
    def client(self, service: str) -> Any:
        return stack_client(service, self.endpoint, REGION)

    def drop_mail(self, raw: bytes, recipients: list[str] | None = None, sender: str = "") -> DroppedMail:
        """Receive a mail as SES would: written where the active receipt rule's S3 action writes (local/mail.py);
        the bucket notification and the pollers take it from there (``drain()`` waits for it)."""
        return drop_mail(self.client("ses"), self.client("s3"), raw, recipients=recipients or (), sender=sender)

    def drain(self, timeout: float = 300.0) -> None:
        self.pollers.drain(timeout)

    def function_name(self, logical_id: str) -> str:
        return self.resources[logical_id]

    def expire_ttl(self, now: float, tables: list[str] | None = None) -> dict[str, int]:
        """What DynamoDB's TTL process would have deleted by ``now`` (epoch seconds), in the template's tables with
        a TimeToLiveSpecification (logical ids; default all); returns the deletions per table. The stream records
        are delivered by the next poll (``drain()``)."""
        ttl = _ttl_tables(self.template, self.resources)
        return {logical: self.pollers.expire_ttl(t.table, t.attribute, now) for logical, t in ttl.items()
                if tables is None or logical in tables}


def _global_function_env(template_path: Path) -> dict[str, str]:
    from dunning_ops.local.translate import load_sam_template

    variables = (load_sam_template(template_path).get("Globals", {}).get("Function", {})
                 .get("Environment", {}).get("Variables", {}))
    return {k: v for k, v in variables.items() if isinstance(v, str) and k.startswith("POWERTOOLS_")}


def _wait_for_stack(cfn: Any) -> dict[str, Any]:
    for _ in range(600):
        stack: dict[str, Any] = cfn.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        status = stack["StackStatus"]
        if status.endswith("_COMPLETE") and "ROLLBACK" not in status:
            return stack
        if "FAILED" in status or "ROLLBACK" in status:
            events = cfn.describe_stack_events(StackName=STACK_NAME)["StackEvents"]
            reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events
                       if "FAILED" in e["ResourceStatus"]]
            raise RuntimeError(f"local stack failed ({status}): {reasons[:5]}")
        time.sleep(0.1)
    raise TimeoutError("local stack did not finish deploying")


def _route_cloudformation_state_machines() -> None:
    """moto's CloudFormation creates state machines in the plain Step Functions backend, while the API
    serves (and executes) them from the parser backend once ``execute_state_machine`` is on. Point the
    CloudFormation path at the executing backend."""
    import moto.stepfunctions.models as sfn_models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    sfn_models.stepfunctions_backends = stepfunctions_parser_backends  # type: ignore[assignment]


def _switch_off_moto_triggers() -> None:
    """moto would invoke mapped functions inside SendMessage/PutItem; the pollers do it instead."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    for region_backends in sqs_backends.values():
        for backend in region_backends.values():
            for queue in backend.queues.values():
                queue.lambda_event_source_mappings.clear()
    for ddb_region_backends in dynamodb_backends.values():
        for ddb in ddb_region_backends.values():
            for table in ddb.tables.values():
                table.lambda_event_source_mappings.clear()


def _ttl_tables(local: LocalTemplate, resources: dict[str, str]) -> dict[str, TtlTable]:
    """Logical id -> the table and TTL attribute of each table whose TimeToLiveSpecification is enabled."""
    out = {}
    for logical, resource in local.cloudformation["Resources"].items():
        spec = resource.get("Properties", {}).get("TimeToLiveSpecification") or {}
        if resource["Type"] == "AWS::DynamoDB::Table" and spec.get("Enabled") and logical in resources:
            out[logical] = TtlTable(resources[logical], spec["AttributeName"])
    return out


def _mappings(local: LocalTemplate, resources: dict[str, str]) -> list[Mapping]:
    """The template's event source mappings, resolved to the deployed names."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    def arn_of(ref: Any) -> str:
        logical, attr = ref["Fn::GetAtt"] if isinstance(ref["Fn::GetAtt"], list) else ref["Fn::GetAtt"].split(".")
        physical = resources[logical]
        if attr == "StreamArn":
            table_name = physical
            table = dynamodb_backends[ACCOUNT][REGION].tables[table_name]
            return str(table.latest_stream_label and table.table_arn + "/stream/" + table.latest_stream_label)
        queue_name = physical.rsplit("/", 1)[-1]
        return str(sqs_backends[ACCOUNT][REGION].queues[queue_name].queue_arn)

    out = []
    for resource in local.cloudformation["Resources"].values():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        p = resource["Properties"]
        fn = resources[p["FunctionName"]["Ref"]]
        patterns = [json.loads(f["Pattern"]) for f in (p.get("FilterCriteria") or {}).get("Filters", [])]
        dest = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        out.append(
            Mapping(
                function_name=fn,
                source_arn=arn_of(p["EventSourceArn"]),
                batch_size=int(p.get("BatchSize", 10)),
                partial="ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
                filters=patterns,
                max_retries=int(p.get("MaximumRetryAttempts", -1)),
                on_failure_arn=arn_of(dest) if isinstance(dest, dict) else dest,
                starting_position=p.get("StartingPosition", "TRIM_HORIZON"),
            )
        )
    return out


def _configure_process(endpoint: str, port: int, template_path: Path) -> dict[str, str]:
    """Point this process (the CLI, the pollers, Step Functions' own clients) at moto; returns the environment
    every in-process function gets on top of its template variables."""
    from moto.core.config import default_user_config

    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "MOTO_PORT": str(port),
           "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_DEV": "false"}
    os.environ.update(env)
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    # Module-level objects (Powertools Logger/Metrics) may be built before the first invocation, as in
    # a real sandbox's init: give the process the template's global function settings as defaults.
    for key, value in _global_function_env(template_path).items():
        os.environ.setdefault(key, value)
    default_user_config["core"]["reset_boto3_session"] = False
    _route_cloudformation_state_machines()
    return env


def _start_moto(port: int) -> Any:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def _upload_code(endpoint: str, local: LocalTemplate) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    s3.create_bucket(Bucket=CODE_BUCKET)
    for key, folder in local.zips.items():
        s3.put_object(Bucket=CODE_BUCKET, Key=key, Body=zip_folder(folder))


def _deploy(endpoint: str, local: LocalTemplate, params: dict[str, str]
            ) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Create the stack in moto's CloudFormation; its outputs, its resources (logical id -> physical id) and the
    resource types moto cannot deploy."""
    from moto.cloudformation.parsing import resource_class_from_type

    cfn = boto3.client("cloudformation", endpoint_url=endpoint, region_name=REGION)
    skipped = sorted({r["Type"] for r in local.cloudformation["Resources"].values()
                      if resource_class_from_type(r["Type"]) is None})
    warnings.filterwarnings("ignore", message="Tried to parse", category=UserWarning)
    cfn.create_stack(
        StackName=STACK_NAME,
        TemplateBody=json.dumps(local.cloudformation),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()
                    if k in local.cloudformation.get("Parameters", {})],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = _wait_for_stack(cfn)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=STACK_NAME)["StackResources"]
        if r.get("LogicalResourceId") and r.get("PhysicalResourceId")
    }
    return outputs, resources, skipped


def _verify_sender(endpoint: str, identity: str) -> None:
    """moto's CloudFormation lacks SES identities: verify the sender address and its domain through the API."""
    sesv2 = boto3.client("sesv2", endpoint_url=endpoint, region_name=REGION)
    sesv2.create_email_identity(EmailIdentity=identity)
    sesv2.create_email_identity(EmailIdentity=identity.split("@")[-1])


def _start_pollers(endpoint: str, local: LocalTemplate, resources: dict[str, str],
                   ttl_clock_offset_days: float | None) -> Pollers:
    """The event source mappings (and, when asked, DynamoDB TTL on a clock this many days ahead)."""
    pollers = Pollers(endpoint, REGION, _mappings(local, resources))
    pollers.ttl_tables = list(_ttl_tables(local, resources).values())
    if ttl_clock_offset_days is not None:
        offset = ttl_clock_offset_days * 86400
        pollers.ttl_clock = lambda: time.time() + offset
    pollers.start()
    return pollers
