"""Secrets Manager secrets of the template, made through moto's API: moto's CloudFormation has no
``AWS::SecretsManager::Secret``. Each secret is created before the deploy (its ``GenerateSecretString`` honoured)
and every ``Ref`` to it becomes the secret's ARN, as on AWS, so functions' environments and IAM statements name
the real secret."""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

import boto3

SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a password


def _generated(spec: dict[str, Any]) -> str:
    length = int(spec.get("PasswordLength", 32))
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    alphabet = "".join(c for c in alphabet if c not in excluded)
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _resolve(node: Any, arns: dict[str, str]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in arns:
            return arns[node["Ref"]]
        return {k: _resolve(v, arns) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, arns) for v in node]
    return node


def provision_secrets(cfn: dict[str, Any], endpoint: str, region: str, stack_name: str) -> tuple[
        dict[str, Any], dict[str, str]]:
    """The template without its secrets (each made in moto, references resolved) and logical id -> ARN."""
    resources = cfn.get("Resources", {})
    wanted = {k: r for k, r in resources.items() if r["Type"] == SECRET_TYPE}
    if not wanted:
        return cfn, {}
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=region)
    arns: dict[str, str] = {}
    for logical, r in wanted.items():
        p = r.get("Properties", {})
        value = p.get("SecretString") or _generated(p.get("GenerateSecretString") or {})
        arns[logical] = sm.create_secret(Name=f"{stack_name}-{logical}", SecretString=value,
                                         Description=str(p.get("Description", "")))["ARN"]
    out = copy.deepcopy(cfn)
    out["Resources"] = {k: _resolve(v, arns) for k, v in out["Resources"].items() if k not in wanted}
    out["Outputs"] = {k: _resolve(v, arns) for k, v in out.get("Outputs", {}).items()}
    return out, arns


def serialise_dynamodb_writes() -> None:
    """DynamoDB applies each write (a conditional UpdateItem, a transaction) atomically; moto's threaded server
    does not: two requests can both pass a condition, and a failing transaction restores a copy of the whole
    table over a concurrent write. Serialising moto's write calls gives the local stack DynamoDB's guarantee
    (idempotent: applied once per process)."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_dunning_serialised", False):
        return
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(self: object, *args: object, _original: Any = original, **kwargs: object) -> object:
            with lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend._dunning_serialised = True  # type: ignore[attr-defined]
