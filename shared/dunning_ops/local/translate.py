"""Turn ``template.yaml`` into the CloudFormation that the embedded stack deploys into moto.

The same SAM template is used as for AWS; the only local steps are the ones ``sam build``/``sam package``
would otherwise do, plus two moto gaps, each written out here:

* ``CodeUri``/``ContentUri`` folders become S3 locations of zips uploaded to the local S3 (what
  ``sam package`` does). The in-process runtime maps each function back to its source folder.
* ``DefinitionUri`` files are inlined as ``Definition`` (what ``sam package`` does with a local file).
* moto's CloudFormation ignores ``DefinitionSubstitutions``; the translated ``DefinitionString`` is
  rewritten to the equivalent ``Fn::Sub`` with the same variables, which CloudFormation resolves the same way.
  A placeholder outside a JSON string (``"IntervalSeconds": ${HttpRetryIntervalSeconds}``: ASL wants a number
  there, and DefinitionSubstitutions substitutes text) is carried through the JSON as a marked string and put
  back unquoted (:func:`load_definition`).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_PARAMETERS = {
    # Visible template parameters whose local values differ from the AWS defaults (see template.yaml).
    "MapMode": "INLINE",  # moto cannot run Distributed Map child executions
    "MapExecutionType": "STANDARD",
    "CreateSenderIdentity": "false",  # moto's CloudFormation has no AWS::SES::EmailIdentity; verified via API
    "SenderIdentity": "collections@dunning.example",
    "PrintExtractWaitSeconds": "1",  # poll for rendered letters quickly on the local stack
    "PrintExtractPollSeconds": "20",
    "ConsoleSecureCookies": "false",  # the local gateway is plain http: no Secure cookies
    # conversations (S4): moto's Step Functions waits in real time, so questions time out after seconds
    "ConversationAskTimeoutCapSeconds": "6",
    "HttpRetryIntervalSeconds": "1",
    "WorkflowHttpAllowHosts": "127.0.0.1,localhost",  # the stub CRM (dunning_ops.local.stub_crm) listens here
}
# A person at the keyboard (``dunning local up``, ``dunning chat --local``, the browser tests) needs longer than
# the tests' seconds to answer a question: ten minutes.
INTERACTIVE_PARAMETERS = {"ConversationAskTimeoutCapSeconds": "600"}

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_RAW_MARK = "@@raw:${%s}@@"


@dataclass
class FunctionSource:
    logical_id: str
    code_dir: Path
    handler: str


@dataclass
class LocalTemplate:
    cloudformation: dict[str, Any]
    functions: dict[str, FunctionSource] = field(default_factory=dict)  # zip key -> source
    zips: dict[str, Path] = field(default_factory=dict)  # zip key -> folder to zip
    sam: dict[str, Any] = field(default_factory=dict)  # the SAM template as authored


class _NoManagedPolicies:
    """SAM asks for managed policy ARNs by name; the template uses none by name."""

    def load(self) -> dict[str, str]:
        return {}


def load_sam_template(path: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    parsed: dict[str, Any] = yaml_parse(path.read_text())
    return parsed


def translate(template_path: Path, code_bucket: str, parameters: dict[str, str],
              region: str = "us-east-1") -> LocalTemplate:
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    root = template_path.parent
    sam = load_sam_template(template_path)
    local = copy.deepcopy(sam)
    result = LocalTemplate(cloudformation={}, sam=sam)
    handler_default = sam.get("Globals", {}).get("Function", {}).get("Handler")

    for logical_id, resource in local.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            key = f"functions/{logical_id}.zip"
            code_dir = (root / props["CodeUri"]).resolve()
            result.functions[key] = FunctionSource(logical_id, code_dir, props.get("Handler", handler_default))
            result.zips[key] = code_dir
            props["CodeUri"] = {"Bucket": code_bucket, "Key": key}
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            key = f"layers/{logical_id}.zip"
            result.zips[key] = (root / props["ContentUri"]).resolve()
            props["ContentUri"] = {"Bucket": code_bucket, "Key": key}
        elif resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = load_definition(root / props.pop("DefinitionUri"))

    to_py27_compatible_template(local, parameters)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    cfn: dict[str, Any] = undo_mark_unicode_str_in_template(
        translator.translate(local, parameter_values=parameters,
                             get_managed_policy_map=_NoManagedPolicies().load))
    for resource in cfn.get("Resources", {}).values():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            _inline_substitutions(resource["Properties"])
    result.cloudformation = cfn
    return result


def load_definition(path: Path) -> dict[str, Any]:
    """An ASL file as JSON; a placeholder outside a string (a number substituted in) becomes a marked string that
    :func:`_inline_substitutions` puts back unquoted."""
    definition: dict[str, Any] = json.loads(_quote_bare_placeholders(path.read_text(encoding="utf-8")))
    return definition


def _quote_bare_placeholders(text: str) -> str:
    out: list[str] = []
    i, in_string = 0, False
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(text[i:i + 2] if c == "\\" else c)
            i += 2 if c == "\\" else 1
            in_string = c != '"'
            continue
        m = _PLACEHOLDER.match(text, i) if c == "$" else None
        if m:
            out.append('"' + _RAW_MARK % m.group(1) + '"')
            i = m.end()
            continue
        in_string = c == '"'
        out.append(c)
        i += 1
    return "".join(out)


def _inline_substitutions(props: dict[str, Any]) -> None:
    subs = props.pop("DefinitionSubstitutions", None)
    if not subs:
        return
    definition = props.get("DefinitionString")
    if isinstance(definition, dict) and "Fn::Join" in definition:
        sep, parts = definition["Fn::Join"]
        if all(isinstance(p, str) for p in parts):
            definition = sep.join(parts)
    if not isinstance(definition, str):
        raise ValueError("state machine definition is not a literal; cannot apply DefinitionSubstitutions")
    definition = re.sub(r'"@@raw:(\$\{[A-Za-z0-9_]+\})@@"', r"\1", definition)
    # Fn::Join of literal pieces and the substitution values: what DefinitionSubstitutions means, in a form
    # moto resolves without touching the ASL's own "$$." context paths.
    pieces: list[Any] = []
    for i, part in enumerate(re.split(r"\$\{([A-Za-z0-9_]+)\}", definition)):
        if i % 2 == 0:
            pieces.append(part)
        elif part in subs:
            pieces.append(subs[part])
        else:
            pieces.append("${" + part + "}")
    props["DefinitionString"] = {"Fn::Join": ["", pieces]}
