"""Inbound mail through the edges (S3.5 email in): a raw .eml is dropped where the stack's SES receipt rule writes
received mail (moto's SES never receives, so the local stack plays SES); the bucket notification, the queue and
InboundMailFunction do the rest. What happened is read back from the interactions table and the buckets."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from dunning.app.interaction_mail import MailDeps, MailNotSent, send_reply
from dunning.auth import Group, Principal
from dunning.interactions.mail import (
    MAX_RAW_BYTES,
    contact_reply_address,
    interaction_reply_address,
)
from dunning.models.interactions import Interaction, ThreadEntry
from dunning.store.blobs import S3Blobs
from dunning.store.inbound_mail import InboundMailStore
from dunning.store.interactions import DynamoInteractionsRepository, InteractionRecord
from dunning.store.secrets import signing_key
from tests.support.local import ROOT, publish, send, start_stack, table_items

MAIL = ROOT / "events" / "mail"
DOMAIN = "reply.example.com"  # the template's InboundMailDomain default, which the local stack keeps
SUPPORT = f"support@{DOMAIN}"


@pytest.fixture(scope="module")
def stack():
    s = start_stack()
    if "InteractionSigningSecretArn" not in s.outputs:  # the functions cannot verify reply addresses without it
        s.stop()
        pytest.fail("the local stack has no InteractionSigningSecret (moto's CloudFormation cannot create "
                    "AWS::SecretsManager::Secret; the local stack must create it through the API)")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def repo(stack) -> DynamoInteractionsRepository:
    return DynamoInteractionsRepository(stack.outputs["InteractionsTableName"])


@pytest.fixture(scope="module")
def key(stack) -> bytes:
    return signing_key(stack.outputs["InteractionSigningSecretArn"])


# ---------------------------------------------------------------------------------------------- helpers
def eml(name: str, **headers: str) -> bytes:
    """A sample mail with a fresh Message-ID (and other headers replaced: ``In_Reply_To="<x>"``)."""
    msg = BytesParser(policy=policy.default).parsebytes((MAIL / name).read_bytes())
    headers.setdefault("Message_ID", f"<{uuid.uuid4().hex}@customer.example>")
    for name_, value in headers.items():
        header = name_.replace("_", "-")
        del msg[header]
        msg[header] = value
    return msg.as_bytes()


def written(sender: str = "maria.silva@customer.example", to: str = SUPPORT, subject: str = "Hello",
            text: str = "Hello", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Maria Silva <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = headers.pop("Message_ID", f"<{uuid.uuid4().hex}@customer.example>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return msg.as_bytes()


def deliver(stack, raw: bytes, recipients: list[str] | None = None) -> str:
    dropped = stack.drop_mail(raw, recipients=recipients)
    stack.drain()
    return dropped.key


def message_id(raw: bytes) -> str:
    return str(BytesParser(policy=policy.default).parsebytes(raw)["Message-ID"]).strip("<> ")


def filed(repo: DynamoInteractionsRepository, raw: bytes) -> InteractionRecord:
    """The interaction the mail's Message-ID was recorded on."""
    ref = repo.message_refs([message_id(raw)]).get(message_id(raw))
    assert ref is not None, "the mail was not recorded"
    record = repo.record(ref.interaction_id)
    assert record is not None
    return record


def mails_in(record: InteractionRecord) -> list[ThreadEntry]:
    return [e for e in record.thread if e.kind == "email_in"]


def opened(stack, repo, **kw: Any) -> Interaction:
    """A new interaction from a first customer mail."""
    raw = written(**kw)
    deliver(stack, raw)
    return filed(repo, raw).interaction


def interaction_count(stack) -> int:
    return sum(1 for item in table_items(stack, "InteractionsTable") if item["sk"] == "META")


# ---------------------------------------------------------------------------------------------- matching
def test_a_new_mail_opens_an_email_interaction_with_the_quote_stripped_and_an_automatic_reply(stack, repo):
    raw = eml("reply_with_quote.eml", In_Reply_To="<unknown@elsewhere.example>",
              References="<unknown@elsewhere.example>", Subject="Question about my bill")
    deliver(stack, raw)
    record = filed(repo, raw)
    assert record.interaction.channel == "email"
    assert record.interaction.customer_email == "maria.silva@customer.example"
    [entry] = mails_in(record)
    assert entry.text == "I paid the invoice last week, please check the transfer.\n\nMaria"
    assert [a.filename for a in record.attachments] == ["message.eml"]  # the raw mail, kept whole
    [reply] = [e for e in record.thread if e.kind == "auto_reply"]
    assert reply.in_reply_to == message_id(raw) and record.interaction.number in reply.subject


def test_a_reply_to_the_signed_address_lands_on_its_interaction(stack, repo, key):
    first = opened(stack, repo, subject="Payment plan")
    address = interaction_reply_address(first.id, key, DOMAIN)
    raw = written(to=f"Customer service <{address}>", subject="Re: something else entirely",
                  text="Yes, three instalments.\n\nOn Tue, 1 Dec 2026, Customer service wrote:\n> Which plan?")
    deliver(stack, raw)
    record = filed(repo, raw)
    assert record.interaction.id == first.id
    assert mails_in(record)[-1].text == "Yes, three instalments."


def test_a_forged_reply_address_does_not_reach_the_interaction(stack, repo, key):
    first = opened(stack, repo, subject="Forgery target")
    forged = interaction_reply_address(first.id, b"not-the-stack-key" * 2, DOMAIN)
    raw = written(sender="mallory@attacker.example", to=forged, subject="Re: Forgery target")
    deliver(stack, raw)
    assert filed(repo, raw).interaction.id != first.id


def test_a_reply_by_in_reply_to_lands_on_the_interaction_it_answers(stack, repo):
    first = opened(stack, repo, subject="Meter reading")
    record = repo.record(first.id)
    assert record is not None
    [ack] = [e for e in record.thread if e.kind == "auto_reply"]
    raw = written(subject="Re: We received your request", text="The reading is 4711.",
                  In_Reply_To=f"<{ack.message_id}>", References=f"<{ack.message_id}>")
    deliver(stack, raw)
    assert filed(repo, raw).interaction.id == first.id


def test_the_number_in_the_subject_matches_only_mail_from_the_customer(stack, repo):
    first = opened(stack, repo, sender="ivan@client.example", subject="Tariff question")
    by_customer = written(sender="ivan@client.example", subject=f"Re: [{first.number}] Tariff question")
    by_stranger = written(sender="someone@else.example", subject=f"Re: [{first.number}] Tariff question")
    deliver(stack, by_customer)
    deliver(stack, by_stranger)
    assert filed(repo, by_customer).interaction.id == first.id
    assert filed(repo, by_stranger).interaction.id != first.id  # a guessed number opens nothing


def test_a_duplicate_message_id_is_processed_once(stack, repo):
    raw = written(subject="Sent twice")
    deliver(stack, raw)
    before = filed(repo, raw)
    deliver(stack, raw)  # SES (or the customer) delivers the same mail again
    after = filed(repo, raw)
    assert after.interaction.id == before.interaction.id
    assert len(mails_in(after)) == 1 and len(after.thread) == len(before.thread)


# ---------------------------------------------------------------------------------------------- automatic mail
@pytest.mark.parametrize("name", ["auto_reply.eml", "bounce.eml"])
def test_automatic_mail_is_recorded_but_never_answered(stack, repo, name):
    raw = eml(name)
    deliver(stack, raw)
    record = filed(repo, raw)
    assert not [e for e in record.thread if e.kind == "auto_reply"]
    [note] = [e for e in record.thread if e.kind == "system"]
    assert note.text.startswith("No automatic reply: the mail is automatic")


# ---------------------------------------------------------------------------------------------- bad input
def rejected(stack, key: str) -> dict[str, Any]:
    store = InboundMailStore(stack.outputs["InboundMailBucketName"])
    record = store.rejection(key)
    assert record is not None, f"no rejection record for {key}"
    assert store.read(key) is not None  # the raw mail is kept
    return record.model_dump()


def test_oversized_mail_is_rejected_with_a_reason_and_kept(stack, repo):
    raw = written(subject="Huge", text="x" * 100) + b"y" * (MAX_RAW_BYTES + 1)
    count = interaction_count(stack)
    record = rejected(stack, deliver(stack, raw))
    assert record["code"] == "oversized" and str(MAX_RAW_BYTES) in record["reason"]
    assert interaction_count(stack) == count


@pytest.mark.parametrize(("raw", "code"), [
    ((MAIL / "malformed.eml").read_bytes(), "malformed"),
    (eml("looping.eml"), "loop"),
    (written(sender=f"reply+i.x.0123456789abcdef@{DOMAIN}", subject="bounced back"), "loop"),
])
def test_malformed_and_looping_mail_is_rejected_with_a_reason_and_kept(stack, repo, raw, code):
    count = interaction_count(stack)
    record = rejected(stack, deliver(stack, raw, recipients=[SUPPORT]))
    assert record["code"] == code and record["reason"].startswith(f"{code}: ")
    assert interaction_count(stack) == count


def test_injection_in_subject_and_body_is_stored_as_text(stack, repo):
    raw = eml("injection.eml")
    deliver(stack, raw)
    record = filed(repo, raw)
    assert record.interaction.subject == "<img src=x onerror=alert(1)> {{ 7*7 }} ${7*7}"
    text = mails_in(record)[0].text
    assert "<script>document.location=" in text and "{{ config.__class__ }}" in text


def test_attachments_are_stored_or_refused_with_a_reason_in_the_thread(stack, repo):
    raw = eml("with_attachments.eml")
    deliver(stack, raw)
    record = filed(repo, raw)
    by_name = {a.filename: a for a in record.attachments}
    assert by_name["receipt.pdf"].status == "stored"
    assert by_name["invoice.exe"].status == "refused" and "not allowed" in by_name["invoice.exe"].refused_reason
    assert by_name["message.eml"].status == "stored"
    keys = S3Blobs(stack.outputs["AttachmentsBucketName"]).keys(f"attachments/{record.interaction.id}/")
    assert len(keys) == 2  # the PDF and the raw mail; the refused file is not stored
    assert any("invoice.exe" in e.text and "refused" in e.text for e in record.thread if e.kind == "system")


# ---------------------------------------------------------------------------------------------- dunning emails
def sent_emails() -> list[bytes]:
    """The raw emails SES (moto) accepted for sending."""
    from moto.ses.models import ses_backends

    from dunning_ops.local.names import ACCOUNT, REGION

    return [m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data
            for m in ses_backends[ACCOUNT][REGION].sent_messages if hasattr(m, "raw_data")]


def test_a_reply_to_a_dunning_email_becomes_an_interaction_on_the_account(stack, repo, key):
    samples = json.loads((ROOT / "events" / "ingest.json").read_text(encoding="utf-8"))
    send(stack, [json.loads(r["body"]) for r in samples["Records"][:2]])  # the sample person and account
    image = json.loads((ROOT / "events" / "send_email.json").read_text(encoding="utf-8"))["Records"][0]
    from dunning.store.dynamo import from_av, to_av

    contact = from_av(image["dynamodb"]["NewImage"])
    before = len(sent_emails())
    stack.client("dynamodb").put_item(TableName=stack.outputs["ContactsTableName"], Item=to_av(contact))
    stack.drain()  # the contacts stream: SendEmailFunction composes and sends the dunning email
    [dunning_email] = sent_emails()[before:]
    reply_to = str(BytesParser(policy=policy.default).parsebytes(dunning_email)["Reply-To"])
    assert contact_reply_address(contact["contact_id"], key, DOMAIN) in reply_to
    raw = written(to=reply_to, subject="Re: Payment reminder", text="I will pay on Friday.\n\n> Dear customer")
    deliver(stack, raw)
    record = filed(repo, raw)
    assert record.interaction.account_id == contact["account_id"]
    assert record.interaction.category == "dunning_reply"
    assert [(link.kind, link.ref) for link in record.links] == [("contact", contact["contact_id"])]
    assert mails_in(record)[0].text == "I will pay on Friday."


# ---------------------------------------------------------------------------------------------- the edges
def test_the_sample_event_files_its_mail_and_reports_only_the_broken_message(stack, repo):
    event = json.loads((ROOT / "events" / "inbound_mail.json").read_text(encoding="utf-8"))
    bucket = stack.outputs["InboundMailBucketName"]
    raw = eml("reply_with_quote.eml", In_Reply_To="<none@x.example>", References="<none@x.example>")
    stack.client("s3").put_object(Bucket=bucket, Key="inbound/sample0reply0001-copy", Body=raw)
    stack.drain()  # the notification of that put is processed by the stack itself
    for record in event["Records"]:
        record["body"] = record["body"].replace("inbound-mail-123456789012-sample", bucket)
    event["Records"][1]["body"] = event["Records"][1]["body"].replace("sample0reply0001", "sample0reply0001-copy")
    resp = stack.client("lambda").invoke(FunctionName=stack.function_name("InboundMailFunction"),
                                         Payload=json.dumps(event).encode())
    result = json.loads(resp["Payload"].read())
    assert result == {"batchItemFailures": [{"itemIdentifier": "00000000-0000-4000-8000-0000000000a3"}]}
    assert len(mails_in(filed(repo, raw))) == 1  # the redelivered notification added nothing


def test_dunning_mail_drop_delivers_a_file_through_the_receipt_rule(stack, repo, tmp_path: Path, capsys):
    from dunning_ops.cli.main import main as cli

    path = tmp_path / "reply.eml"
    raw = written(subject="Dropped from the CLI")
    path.write_bytes(raw)
    assert cli(["--endpoint-url", stack.endpoint, "--json", "mail", "drop", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["key"].startswith("inbound/") and out["recipients"] == [SUPPORT]
    stack.drain()
    assert filed(repo, raw).interaction.subject == "Dropped from the CLI"
    assert cli(["--endpoint-url", stack.endpoint, "mail", "drop", str(path), "--to", "x@not-our-domain.example"]) == 2
    capsys.readouterr()
    # rejections of its own (the tests above may run on another worker, with another stack)
    rejected(stack, deliver(stack, (MAIL / "malformed.eml").read_bytes(), recipients=[SUPPORT]))
    rejected(stack, deliver(stack, eml("looping.eml"), recipients=[SUPPORT]))
    assert cli(["--endpoint-url", stack.endpoint, "--json", "mail", "rejected"]) == 0
    codes = {r["code"] for r in json.loads(capsys.readouterr().out)}
    assert {"malformed", "loop"} <= codes  # listed, with their reasons


# ---------------------------------------------------------------------------------------------- email out
AGENT = Principal(user_id="u-alice", username="alice@dunning.example", groups=frozenset({Group.ADMIN}))


def mail_deps(stack) -> MailDeps:
    from dunning.app.deps import interaction_deps, interaction_mail_deps

    o = stack.outputs
    return interaction_mail_deps(interaction_deps(
        interactions_table=o["InteractionsTableName"], attachments_bucket=o["AttachmentsBucketName"],
        signing_secret_arn=o["InteractionSigningSecretArn"], runs_bucket=o["RunsBucketName"],
        ledger_table=o["LedgerTableName"], contacts_table=o["ContactsTableName"]), DOMAIN)


def headers(raw: bytes) -> Any:
    return BytesParser(policy=policy.default).parsebytes(raw)


def test_an_agents_answer_threads_under_the_mail_and_the_customers_next_reply_comes_back(stack, repo, key):
    first_mail = written(subject="Where is my refund?")
    deliver(stack, first_mail)
    first = filed(repo, first_mail).interaction
    before = len(sent_emails())
    entry = send_reply(mail_deps(stack), AGENT, first.id, "The refund left on Monday.", datetime.now(UTC))
    [out] = sent_emails()[before:]
    sent = headers(out)
    assert entry.kind == "email_out" and str(sent["Message-ID"]) == f"<{entry.message_id}>"
    assert str(sent["In-Reply-To"]) == f"<{message_id(first_mail)}>"
    assert interaction_reply_address(first.id, key, DOMAIN) in str(sent["Reply-To"])
    assert str(sent["Subject"]) == f"[{first.number}] Re: Where is my refund?"  # number_in_subject: true
    assert str(sent["From"]).startswith('"alice@dunning.example (Aurora Utilities customer service)"')
    assert entry.text == "The refund left on Monday.\n\n-- \nalice@dunning.example"  # show_sender_address: true
    answer = written(subject=str(sent["Subject"]).replace(first.number, ""), text="Thanks, received.",
                     In_Reply_To=f"<{entry.message_id}>")
    deliver(stack, answer)  # to the plain support address: In-Reply-To finds it
    assert filed(repo, answer).interaction.id == first.id


def test_the_mail_settings_decide_the_sender_shown_and_the_number_in_the_subject(stack, repo):
    from dunning.config_loader import load_config_dir

    config = load_config_dir(ROOT / "infra" / "config")
    settings = config.interactions.mail.model_copy(update={"show_sender_address": False,
                                                             "number_in_subject": False})
    quiet = config.model_copy(update={"interactions": config.interactions.model_copy(update={"mail": settings})})
    first_mail = written(subject="Settings check")
    deliver(stack, first_mail)
    first = filed(repo, first_mail).interaction
    publish(stack, quiet)
    try:
        before = len(sent_emails())
        entry = send_reply(mail_deps(stack), AGENT, first.id, "Noted.", datetime.now(UTC))
        [out] = sent_emails()[before:]
    finally:
        publish(stack, config)
    sent = headers(out)
    assert first.number not in str(sent["Subject"])
    assert "alice" not in str(sent["From"]).lower() and "alice" not in entry.text.lower()


def test_an_answer_without_a_customer_address_is_refused_and_changes_nothing(stack, repo):
    from dunning.app.interactions import record_interaction
    from dunning.models.interactions import NewInteraction

    deps = mail_deps(stack)
    phone = record_interaction(deps.interactions, AGENT, NewInteraction(
        channel="phone", category="invoice_dispute", subject="Call"), datetime.now(UTC))
    with pytest.raises(MailNotSent):
        send_reply(deps, AGENT, phone.id, "Hello", datetime.now(UTC))
    record = repo.record(phone.id)
    assert record is not None and not [e for e in record.thread if e.kind == "email_out"]
