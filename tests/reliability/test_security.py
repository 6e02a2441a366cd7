"""Guarantee 7 - nobody let in (IAM least privilege is derived from the code in tests/template/test_iam_derived.py):

* buckets block public access, are encrypted and deny requests without TLS;
* business-authored templates render in Jinja2's sandbox: the known injection payloads all fail;
* at INFO level no log line of a full demo run carries a person's name, email, phone or address;
* sizes and lengths are bounded at the edge (the event schemas, the byte limit).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dunning.models.events import MAX_EVENT_BYTES
from dunning.templating import TemplateError, render
from dunning_ops.local.translate import load_sam_template, translate
from tests.support.local import demo_events

ROOT = Path(__file__).resolve().parents[2]
SQS_MAX_BYTES = 256 * 1024

# ---------------------------------------------------------------------------------------------- buckets


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translate(ROOT / "template.yaml", "code-bucket", {}).cloudformation


def test_every_bucket_blocks_public_access_is_encrypted_and_denies_plain_http(cfn):
    buckets = {k: v["Properties"] for k, v in cfn["Resources"].items() if v["Type"] == "AWS::S3::Bucket"}
    policies = {json.dumps(v["Properties"]["Bucket"]): v["Properties"]["PolicyDocument"]
                for v in cfn["Resources"].values() if v["Type"] == "AWS::S3::BucketPolicy"}
    assert buckets
    for name, props in buckets.items():
        block = props["PublicAccessBlockConfiguration"]
        assert block == {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
                         "RestrictPublicBuckets": True}, name
        rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules and all(r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
                             for r in rules), name
        assert props.get("OwnershipControls", {}).get("Rules") == [{"ObjectOwnership": "BucketOwnerEnforced"}], name
        policy = policies[json.dumps({"Ref": name})]
        deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"
                and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
        assert deny, f"{name} has no statement denying requests without TLS"
        (st,) = deny
        assert st["Principal"] == "*" and st["Action"] in ("s3:*", ["s3:*"])
        targets = json.dumps(st["Resource"])
        assert f'"{name}", "Arn"' in targets and f"${{{name}.Arn}}/*" in targets, targets  # bucket and objects


def test_the_deployed_buckets_encrypt_objects(operations_run):
    for name, settings in operations_run["buckets"].items():
        rules = settings["encryption"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", name


# ---------------------------------------------------------------------------------------------- templates
INJECTIONS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c.__name__ }}{% endfor %}",
    "{{ ''.__class__.__mro__[-1].__subclasses__()[132].__init__.__globals__['popen']('id').read() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__.os.environ }}",
    "{{ namespace.__init__.__globals__.os.system('id') }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ lipsum|attr('__globals__') }}",
    "{{ ''|attr('__class__')|attr('__mro__') }}",
    "{{ ''['__class__'] }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__dict__ }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ person.__class__.__init__.__globals__ }}",
    "{{ person.name.__class__.__mro__ }}",
    "{{ person.model_dump.__globals__ }}",
    "{{ company.__class__.__mro__ }}",
    "{{ '{0.__class__.__mro__}'.format(person) }}",
    "{{ '%s' % person.__class__ }}",
    "{% set d = {} %}{{ d.update({'x': 1}) }}",
    "{% set l = [] %}{{ l.append(1) }}",
    "{{ range(10000000)|list|length }}",
    "{{ 'x' * 10000000 }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}{{ os }}",
    "{% extends '/etc/passwd' %}",
    "{% from 'os' import system %}{{ system('id') }}",
    "{{ __import__('os').system('id') }}",
    "{{ getattr(person, '__class__') }}",
    "{{ person|attr('__init__')|attr('__globals__') }}",
    "{{ self.__init__.__globals__['__builtins__']['open']('/etc/passwd').read() }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ url_for.__globals__['current_app'].config }}",
]
LEAKS = ("uid=", "root:", "AWS_SECRET_ACCESS_KEY", "<class 'object'>", "subprocess", "__builtins__", "function ")


def _letter_context() -> dict[str, Any]:
    from tests.unit.letters.support import make_context

    return make_context("en", 2)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_a_known_jinja_injection_payload_fails_in_a_letter_template(payload):
    from dunning.letters.render import render_letter
    from tests.unit.letters.support import template

    with pytest.raises(TemplateError) as failure:
        render_letter(template(en="Dear {{ person.name }},\n\n" + payload), _letter_context(), language="en")
    assert not any(leak in str(failure.value) for leak in LEAKS), str(failure.value)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_a_known_jinja_injection_payload_fails_in_an_email_template(payload):
    with pytest.raises(TemplateError):
        render("<p>Dear {{ person.name }}</p>" + payload, _letter_context(), autoescape=True, name="email")


def test_a_hostile_published_letter_template_fails_the_contact_and_produces_no_letter(operations_run):
    (hostile,) = [c for c in operations_run["email"]["contacts"] if c["source_ref"] == "ops-hostile"]
    assert hostile["status"] == "failed"
    assert "not allowed" in hostile["reason"]
    assert hostile["s3_key"] is None
    assert not any(leak in hostile["reason"] for leak in LEAKS)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_a_known_jinja_injection_payload_fails_in_the_template_sandbox_itself(payload):
    with pytest.raises(TemplateError):
        render(payload, _letter_context(), name="probe")


# ---------------------------------------------------------------------------------------------- logs
def personal_values(bodies: list[str]) -> set[str]:
    """Names, emails, phones and address lines of every person in the events (and premise addresses)."""
    values: set[str] = set()
    for body in bodies:
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):  # the corpus has bodies that are not JSON, or nested 5,000 deep
            continue
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            continue
        data = event["data"]
        if event.get("event_type") == "person.upserted":
            values.update(str(data.get(k) or "") for k in ("name", "email", "phone"))
        address = data.get("address") if isinstance(data.get("address"), dict) else {}
        values.update(str(line) for line in address.get("lines") or [])
        if address.get("postal_code") and address.get("city"):
            values.add(f"{address['postal_code']} {address['city']}")
    return {v for v in values if len(v.strip()) >= 5}


def log_text(lines: list[str]) -> list[str]:
    """Log lines as a reader sees them: JSON lines decoded, so escaped non-Latin text is found too."""
    out = []
    for line in lines:
        try:
            out.append(json.dumps(json.loads(line), ensure_ascii=False))
        except ValueError:
            out.append(line)
    return out


def leaks(run: dict[str, Any], values: set[str]) -> list[str]:
    lines = log_text(run["log_lines"] + run["function_output"].splitlines())
    assert lines, "no log lines were captured"
    return sorted({f"{v!r} in: {line[:160]}" for line in lines for v in values if v in line})


def test_given_a_full_demo_run_then_no_log_line_carries_a_persons_name_email_phone_or_address(clean_run):
    values = personal_values(demo_events())
    assert len(values) > 150
    assert not leaks(clean_run, values)


def test_given_bad_and_unusual_events_then_no_log_line_carries_their_personal_values(corpus_run):
    values = personal_values([c["body"] for c in corpus_run["cases"]] + corpus_run["good"])
    values = {v for v in values if not v.startswith(("Version", "Template", "Ok Name"))}
    assert not leaks(corpus_run, values)


def test_given_failed_emails_and_letters_then_no_log_line_carries_a_persons_values(operations_run):
    assert not leaks(operations_run, personal_values(demo_events()))


# ---------------------------------------------------------------------------------------------- input bounds
def _unbounded(schema: dict[str, Any], path: str, out: list[str]) -> None:
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            _unbounded(sub, path, out)
    kind = schema.get("type")
    bounded = any(k in schema for k in ("maxLength", "enum", "const", "format")) or (
        "pattern" in schema and "*" not in schema["pattern"] and "+" not in schema["pattern"])
    # attribute values are bounded by ingest (MAX_ATTRIBUTE_CHARS)
    if kind == "string" and not bounded and not path.endswith(".attributes{}"):
        out.append(f"{path}: string without maxLength")
    if kind == "array" and "maxItems" not in schema:
        out.append(f"{path}: array without maxItems")
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict) and "maxProperties" not in schema:
        out.append(f"{path}: map without maxProperties")
    for name, sub in schema.get("properties", {}).items():
        _unbounded(sub, f"{path}.{name}", out)
    if isinstance(schema.get("items"), dict):
        _unbounded(schema["items"], f"{path}[]", out)
    if isinstance(schema.get("additionalProperties"), dict):
        _unbounded(schema["additionalProperties"], f"{path}{{}}", out)


def test_every_string_list_and_map_of_the_event_contract_is_bounded():
    """Decimal fields are bounded by max_digits (their string patterns are generated)."""
    problems: list[str] = []
    for path in sorted((ROOT / "events" / "schemas").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        _unbounded(schema, path.stem, problems)
        for name, sub in schema.get("$defs", {}).items():
            _unbounded(sub, f"{path.stem}#{name}", problems)
    problems = [p for p in problems if not _decimal_pattern(p)]
    assert not problems, problems


def _decimal_pattern(problem: str) -> bool:
    return any(problem.endswith(f".{f}: string without maxLength") for f in
               ("amount", "promised_amount", "late_probability", "very_late_probability", "language"))


def test_an_event_is_limited_in_bytes_below_what_the_queue_accepts():
    template = load_sam_template(ROOT / "template.yaml")
    queue = template["Resources"]["EventsQueue"]["Properties"]
    assert queue.get("MaximumMessageSize", SQS_MAX_BYTES) > MAX_EVENT_BYTES


def test_given_oversized_events_then_they_are_rejected_at_the_edge_with_their_size(corpus_run):
    rejected = {r["reason"] for r in corpus_run["rejected"]}
    sizes = [c for c in corpus_run["cases"] if c["category"] == "huge" and c["expect"] == "reject"]
    assert len(sizes) >= 10
    assert sum("bytes; the limit is" in r for r in rejected) >= 4
    assert any("should have at most" in r for r in rejected)
