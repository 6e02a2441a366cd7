"""The scenarios the reliability tests (and the template tier's IAM audit) assert on. Each one starts a fresh
local stack from ``template.yaml``, drives it only through its edges and returns plain data (see
:mod:`tests.support.harness`).

* :func:`clean` - the demo data delivered once, one collections run: the reference every other run must
  reproduce; also the logs of a full demo run and the AWS calls of every function.
* :func:`redelivered` - every demo event delivered 2-3 times, shuffled where the contract allows; two runs
  for the same date started together; then every contacts-stream record delivered again.
* :func:`faults` - the demo data and the run with transient faults injected into ~10% of the AWS calls.
* :func:`corpus` - the bad-and-unusual corpus through the real queue, mixed with good events.
* :func:`operations` - the operator paths: an ingest outage filling the DLQ, ``events redrive`` after the
  fix, ``events rejected``; permanent and transient SES failures; a hostile letter template; the
  deployed alarms and buckets.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from dunning.models.config import Config, ContactType, EmailBody, EmailTemplate, LetterTemplate
from dunning_ops.local.demo_data import DEMO_AS_OF
from tests.support.faults import FaultInjector, Outage, PermanentSesRejection, ResponseLost, error_response
from tests.support.harness import Harness, demo_config, demo_events
from tests.support.hooks import SFN, Call, Listener

SEED = 20261116
CONTACT_EVENT_TYPES = frozenset({"contact.requested", "collection.event", "severance.event", "writeoff.event",
                                 "overdue.event", "field_activity.remark"})
PROFILE_EVENT_TYPES = frozenset({"person.upserted", "account.upserted", "premise.upserted",
                                 "service_agreement.upserted"})
HOSTILE_TEMPLATE = "{{ cycler.__init__.__globals__.os.environ }}{{ ''.__class__.__mro__[1].__subclasses__() }}"


def event_type(body: str) -> str | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # the corpus nests 5,000 levels deep
        return None
    value = data.get("event_type") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _common(h: Harness) -> dict[str, Any]:
    from dunning_ops.local.translate import LOCAL_PARAMETERS

    return {"calls": h.recorder.calls, "log_lines": h.logs.lines, "function_output": h.sink.getvalue(),
            "resources": h.stack.resources, "parameters": LOCAL_PARAMETERS,
            "ingest_failures": h.ingest_failures(),
            "events_queue_depth": h.queue_depth("EventsQueueUrl"),
            "dlq_depth": h.queue_depth("EventsDeadLetterQueueUrl"),
            "stream_failures": h.queue_depth("StreamFailureQueueUrl"),
            "poller_errors": list(h.stack.pollers.errors)}


def print_manifests(h: Harness) -> dict[str, str]:
    from dunning.store.blobs import S3Blobs
    from tests.support.harness import RUN_ID

    blobs = S3Blobs(h.stack.outputs["LettersBucketName"])
    return {RUN_ID.sub("RUN", k): blobs.get_bytes(k).decode("utf-8", "replace")
            for k in blobs.keys("print/") if k.endswith(".csv")}


def _print_rows(h: Harness) -> list[str]:
    """Contact ids in the print vendor's CSV manifests (a letter listed twice would be printed twice)."""
    from dunning.store.blobs import S3Blobs

    blobs = S3Blobs(h.stack.outputs["LettersBucketName"])
    ids: list[str] = []
    for key in blobs.keys("print/"):
        if key.endswith(".csv"):
            text = blobs.get_bytes(key).decode("utf-8", "replace")
            ids.extend(cell for line in text.splitlines() for cell in line.split(",") if cell.startswith("c-"))
    return ids


def _execution(desc: dict[str, Any]) -> dict[str, Any]:
    output = json.loads(desc.get("output") or "{}")
    return {"status": desc["status"], "output": output if isinstance(output, dict) else {}}


# ---------------------------------------------------------------------------------------------- clean
def clean() -> dict[str, Any]:
    with Harness.started() as h:
        events = demo_events()
        h.send(events)
        run = h.run(DEMO_AS_OF)
        from dunning_ops.local.demo import sent_emails

        return {"events": len(events), "run": _execution(run), "snapshot": h.snapshot(),
                "printed": _print_rows(h), "manifests": print_manifests(h), "emails_sent": len(sent_emails()),
                **_common(h)}


# ---------------------------------------------------------------------------------------------- redelivered
def stream_records(h: Harness) -> list[dict[str, Any]]:
    """Every record of the contacts table's stream, from the trim horizon, as Lambda receives them."""
    from moto.dynamodb.models import dynamodb_backends

    from dunning_ops.local.stack import ACCOUNT, REGION

    table = dynamodb_backends[ACCOUNT][REGION].tables[h.stack.outputs["ContactsTableName"]]
    arn = f"{table.table_arn}/stream/{table.latest_stream_label}"
    streams = h.stack.client("dynamodbstreams")
    out: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = streams.get_records(ShardIterator=it, Limit=1000)
            for rec in resp.get("Records", []):
                created = rec["dynamodb"].get("ApproximateCreationDateTime")
                if hasattr(created, "timestamp"):
                    rec["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
                rec.update(eventSourceARN=arn, eventSource="aws:dynamodb")
                out.append(rec)
            if not resp.get("Records"):
                break
            it = resp.get("NextShardIterator")
    return out


def redeliver_stream(h: Harness) -> dict[str, int]:
    """Deliver every contacts-stream INSERT again to the function its event source mapping feeds."""
    from dunning_ops.local.demo import sent_emails
    from dunning_ops.local.pollers import event_json_default

    lam = h.stack.client("lambda")
    records = stream_records(h)
    delivered: Counter[str] = Counter()
    emails_before = len(sent_emails())
    for logical, action in (("RenderLetterFunction", "letter"), ("SendEmailFunction", "email")):
        mine = [r for r in records if r["eventName"] == "INSERT"
                and r["dynamodb"].get("NewImage", {}).get("action", {}).get("S") == action]
        for i in range(0, len(mine), 25):
            resp = lam.invoke(FunctionName=h.stack.function_name(logical),
                              Payload=json.dumps({"Records": mine[i:i + 25]},
                                                 default=event_json_default).encode())
            body = json.loads(resp["Payload"].read() or b"{}")
            assert "FunctionError" not in resp and not body.get("batchItemFailures"), body
        delivered[action] = len(mine)
    h.drain()
    return {"letter_records": delivered["letter"], "email_records": delivered["email"],
            "emails_sent_by_redelivery": len(sent_emails()) - emails_before}


def redelivered() -> dict[str, Any]:
    rng = random.Random(SEED)
    events = demo_events()
    copies = {i: rng.choice((2, 3)) for i in range(len(events))}
    facts = [i for i, e in enumerate(events) if event_type(e) not in CONTACT_EVENT_TYPES]
    contact_events = [i for i, e in enumerate(events) if event_type(e) in CONTACT_EVENT_TYPES]
    # 1st and 2nd copies before the run: facts in any order (versions and held money make order irrelevant),
    # contact-creating events after the facts they refer to (the contract), also shuffled and duplicated.
    first_wave = [i for i in facts for _ in range(2)]
    rng.shuffle(first_wave)
    contact_wave = [i for i in contact_events for _ in range(2)]
    rng.shuffle(contact_wave)
    late_wave = [i for i in range(len(events)) if copies[i] == 3]  # 3rd copies arrive after the run
    rng.shuffle(late_wave)
    late_wave.sort(key=lambda i: i in set(contact_events))  # facts first, then contact-creating events
    with Harness.started() as h:
        from dunning_ops.local.demo import sent_emails

        h.send(events[i] for i in first_wave)
        h.send(events[i] for i in contact_wave)
        first, second = h.wait([h.start_run(DEMO_AS_OF), h.start_run(DEMO_AS_OF)])  # two runs, started together
        h.send(events[i] for i in late_wave)
        after_run = h.snapshot()
        emails_after_run = len(sent_emails())
        stream = redeliver_stream(h)
        return {"events": len(events), "delivered": len(first_wave) + len(contact_wave) + len(late_wave),
                "copies": Counter(copies.values()), "runs": [_execution(first), _execution(second)],
                "snapshot": after_run, "emails_sent": emails_after_run, "stream_redelivery": stream,
                "snapshot_after_stream_redelivery": h.snapshot(), "printed": _print_rows(h),
                "manifests": print_manifests(h), **_common(h)}


# ---------------------------------------------------------------------------------------------- faults
def faults(seed: int = SEED, rate: float = 0.10) -> dict[str, Any]:
    injector = FaultInjector(seed=seed, rate=rate)
    with Harness.started() as h, h.hooks.listening(injector):
        events = demo_events()
        h.send(events)
        run = h.run(DEMO_AS_OF)
        from dunning_ops.local.demo import sent_emails

        return {"events": len(events), "run": _execution(run), "snapshot": h.snapshot(), "printed": _print_rows(h),
                "emails_sent": len(sent_emails()), "faults": injector.figures(), **_common(h)}


# ---------------------------------------------------------------------------------------------- corpus
def corpus() -> dict[str, Any]:
    from tests.support.corpus.generate import OUT, good_events

    cases = [json.loads(line) for line in OUT.read_text(encoding="utf-8").splitlines()]
    good = good_events(demo_events())
    rng = random.Random(SEED)
    reference = [b for b in good if event_type(b) in PROFILE_EVENT_TYPES]
    good_facts = [b for b in good if event_type(b) not in PROFILE_EVENT_TYPES | CONTACT_EVENT_TYPES]
    good_contacts = [b for b in good if event_type(b) in CONTACT_EVENT_TYPES]
    bad_facts = [c["body"] for c in cases if event_type(c["body"]) not in CONTACT_EVENT_TYPES]
    bad_contacts = [c["body"] for c in cases if event_type(c["body"]) in CONTACT_EVENT_TYPES]
    mixed = good_facts + bad_facts
    rng.shuffle(mixed)
    mixed_contacts = good_contacts + bad_contacts
    rng.shuffle(mixed_contacts)
    with Harness.started() as h:
        h.send(reference)  # who the accounts are (their currency), then everything else, mixed
        h.send(mixed)
        h.send(mixed_contacts)
        from dunning.store import dynamo
        from dunning.store.contacts import DynamoContactsRepository

        ledger = [{"pk": i["pk"], "sk": i["sk"], "v": i.get("v", ""), "eid": i.get("eid", "")}
                  for i in dynamo.scan(h.stack.outputs["LedgerTableName"])]
        contacts = [{"contact_id": c.contact_id, "source_ref": c.source_ref, "status": c.status}
                    for c in DynamoContactsRepository(h.stack.outputs["ContactsTableName"]).all()]
        snap = h.snapshot()
        return {"cases": cases, "good": good, "sent": len(reference) + len(mixed) + len(mixed_contacts),
                "ledger": ledger, "contacts": contacts, "rejected": snap["rejected"],
                "ingest_invocations": sum(1 for i in h.hooks.invocations if i["function"] == "IngestFunction"),
                **_common(h)}


# ---------------------------------------------------------------------------------------------- operations
def operations_config() -> Config:
    config = demo_config()
    sender = next(t for t in config.email_templates if t.code == "reminder").sender_address
    notice = EmailTemplate(code="ops_notice", default_language="en", sender_name="Billing", sender_address=sender,
                           bodies={lang: EmailBody(subject="Your account {{ account.id }}",
                                                   html="<p>Dear {{ recipient.name }},</p><p>Please call us.</p>")
                                   for lang in ("en", "pt-BR", "ru", "ar")})
    email_only = ContactType(contact_class="CUSTSVC", contact_type="EMAIL_ONLY", description="email, no fallback",
                             person_usage="required", account_usage="required", action="email",
                             email_template="ops_notice")
    email_fallback = ContactType(contact_class="CUSTSVC", contact_type="EMAIL_OR_LETTER",
                                 description="email, letter when it cannot be delivered", person_usage="required",
                                 account_usage="required", action="email", email_template="ops_notice",
                                 fallback_to_letter="autopay_form")
    hostile = LetterTemplate(code="hostile", default_language="en", production="online",
                             subjects={"en": "Hello"}, bodies={"en": "Dear {{ person.name }}, " + HOSTILE_TEMPLATE})
    hostile_type = ContactType(contact_class="CUSTSVC", contact_type="HOSTILE", description="business-authored",
                               person_usage="required", account_usage="optional", action="letter",
                               letter_template="hostile")
    statement = LetterTemplate(code="ops_statement", default_language="en", production="online",
                               subjects={"en": "Your statement"},
                               bodies={"en": "Dear {{ person.name }},\n\nyour statement for {{ account.id }}."})
    statement_type = ContactType(contact_class="CUSTSVC", contact_type="STATEMENT_ONLINE",
                                 description="a letter for the customer portal, never printed",
                                 person_usage="required", account_usage="required", action="letter",
                                 letter_template="ops_statement")
    updated = config.model_copy(update={
        "contact_types": [*config.contact_types, email_only, email_fallback, hostile_type, statement_type],
        "letter_templates": [*config.letter_templates, hostile, statement],
        "email_templates": [*config.email_templates, notice]})
    return Config.model_validate_json(updated.model_dump_json(by_alias=True))  # validated as the functions will


def _request(eid: str, person: str, account: str, ctype: str, note: str = "") -> str:
    cls, typ = ctype.split("/")
    return json.dumps({"event_id": eid, "event_type": "contact.requested", "occurred_at": "2026-11-15T10:00:00Z",
                       "source": "ops-test", "data": {"request_id": eid, "person_id": person, "account_id": account,
                                                      "contact_class": cls, "contact_type": typ, "note": note}})


def _cli(stack: Any, *args: str) -> tuple[int, Any]:
    """Run the ``dunning`` CLI as an operator would: its own process, pointed at the local stack's endpoint."""
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("dunning")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "dunning_ops.cli.main"]
    proc = subprocess.run([*command, "--endpoint-url", stack.endpoint, *args], capture_output=True, text=True,
                          timeout=120, check=False)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        return proc.returncode, proc.stdout + proc.stderr


class _Denied(Listener):
    """A broken deploy: the ingest function may not write the ledger (AccessDenied, not retried)."""

    def __init__(self) -> None:
        self.denied = 0

    def on_attempt(self, call: Call, request: Any) -> Any:
        if call.function == "IngestFunction" and call.operation == "BatchWriteItem":
            self.denied += 1
            return error_response(request, "dynamodb", "5xx", code="AccessDeniedException",
                                  message="not authorized to perform: dynamodb:BatchWriteItem")
        return None


def operations() -> dict[str, Any]:
    from dunning.store.contacts import DynamoContactsRepository
    from dunning_ops.local.demo import sent_emails
    from tests.support.corpus.generate import good_events

    with Harness.started(operations_config()) as h:
        out: dict[str, Any] = {}
        good = good_events(demo_events())
        h.send(b for b in good if event_type(b) in PROFILE_EVENT_TYPES)

        # 1. a broken deploy: ingest cannot write; good events retry and land in the DLQ; bad ones are rejected
        stuck = [json.dumps({"event_id": f"ops-inv-{i}", "event_type": "invoice.posted",
                             "occurred_at": "2026-11-14T09:00:00Z", "source": "ops-test",
                             "data": {"invoice_id": f"OPS-INV-{i}", "account_id": "A-0001",
                                      "invoice_date": "2026-11-01", "due_date": "2026-11-20",
                                      "amount": f"{i + 1}.00", "currency": "GBP"}})
                 for i in range(6)]
        invalid = ['{"event_id": "ops-bad-1", "event_type": "invoice.posted"', json.dumps(
            {"event_id": "ops-bad-2", "event_type": "invoice.voided", "occurred_at": "2026-11-14T09:00:00Z",
             "source": "ops-test", "data": {}})]
        denied = _Denied()
        with h.hooks.listening(denied):
            h.send(stuck + invalid)
        out["outage"] = {"denied_attempts": denied.denied, "dlq_depth": h.queue_depth("EventsDeadLetterQueueUrl"),
                         "queue_depth": h.queue_depth("EventsQueueUrl")}
        # 2. after the fix: redrive, and the rejected events with their reasons
        code, moved = _cli(h.stack, "events", "redrive", "--json")
        h.drain()
        from dunning.store import dynamo

        ledger = {(i["pk"], i["sk"]): i.get("eid") for i in dynamo.scan(h.stack.outputs["LedgerTableName"])}
        out["redrive"] = {"exit_code": code, "output": moved, "dlq_depth": h.queue_depth("EventsDeadLetterQueueUrl"),
                          "applied": sorted(eid for (pk, sk), eid in ledger.items() if sk.startswith("INV#OPS-INV-"))}
        code, rejected = _cli(h.stack, "events", "rejected", "--json")
        out["rejected"] = {"exit_code": code, "rows": rejected}

        # 3. SES refuses two recipients for good; a third one has a short SES outage the code does not retry
        persons = {"fallback": ("P-0001", "A-0001"), "no_fallback": ("P-0003", "A-0003"),
                   "outage": ("P-0014", "A-0014"), "status_write_fails": ("P-0015", "A-0015")}
        addresses = {k: json.loads(next(b for b in good if f'"person_id": "{p}"' in b
                                        and event_type(b) == "person.upserted"))["data"]["email"]
                     for k, (p, _) in persons.items()}
        refuse = PermanentSesRejection({addresses["fallback"], addresses["no_fallback"]})
        outage = Outage(lambda c: (c.service, c.operation) == ("sesv2", "SendEmail")
                        and addresses["outage"] in json.dumps(c.params.get("Destination", {})), kind="5xx",
                        remaining=1)
        outage_code = _SesCode(outage, "ServiceUnavailable")
        contacts_table = h.stack.outputs["ContactsTableName"]
        # SES accepts the email, then the contact's status write fails (as when DynamoDB's retries run out;
        # answered here with an error the client does not retry, to keep the test fast)
        status_write = _DynamoCode(Outage(lambda c: c.function == "SendEmailFunction" and c.operation == "UpdateItem"
                                          and c.params.get("TableName") == contacts_table, remaining=1),
                                   "InternalServerError")
        with h.hooks.listening(refuse, outage_code):
            h.send([_request("ops-mail-1", *persons["fallback"], "CUSTSVC/EMAIL_OR_LETTER"),
                    _request("ops-mail-2", *persons["no_fallback"], "CUSTSVC/EMAIL_ONLY"),
                    _request("ops-mail-3", *persons["outage"], "CUSTSVC/EMAIL_ONLY"),
                    _request("ops-hostile", "P-0002", "A-0002", "CUSTSVC/HOSTILE"),
                    _request("ops-online-1", "P-0004", "A-0004", "CUSTSVC/STATEMENT_ONLINE")])
        with h.hooks.listening(status_write):
            h.send([_request("ops-mail-4", *persons["status_write_fails"], "CUSTSVC/EMAIL_ONLY")])
        # a letter whose PDF cannot be stored once (an error the client does not retry): the stream retries it
        store_fails = _S3Code(Outage(lambda c: c.function == "RenderLetterFunction" and c.operation == "PutObject",
                                     remaining=1), "AccessDenied")
        with h.hooks.listening(store_fails):
            h.send([_request("ops-letter-1", "P-0004", "A-0004", "CUSTSVC/AUTOPAY_FORM")])
        stored = DynamoContactsRepository(h.stack.outputs["ContactsTableName"]).all()
        contacts = [c.model_dump(mode="json") for c in stored]
        out["email"] = {"addresses": addresses, "refused": refuse.rejected, "outage_attempts": outage.failed_attempts,
                        "status_write_failures": status_write.outage.failed_attempts,
                        "contacts": [c for c in contacts if c["source_ref"].startswith("ops-")
                                     or "email" in c.get("reason", "")],
                        "sent_to": [list(m.destinations) if isinstance(m.destinations, list) else m.destinations
                                    for m in sent_emails()]}
        snap = h.snapshot()
        out["letters"] = sorted(snap["letters"])
        out["letter_store_failures"] = store_fails.outage.failed_attempts
        out["letter_object_versions"] = snap["letter_object_versions"]

        # 4. a run step whose DynamoDB write fails beyond the client's retries (answered with an error the client
        #    does not retry): the state machine should retry the step, as it does for Lambda's own errors
        h.send(b for b in good if event_type(b) not in PROFILE_EVENT_TYPES | CONTACT_EVENT_TYPES)
        runs_table = h.stack.outputs["RunsTableName"]
        step_write = _DynamoCode(Outage(lambda c: c.function == "EvaluateFunction" and c.operation == "BatchWriteItem"
                                        and runs_table in c.params.get("RequestItems", []), remaining=1),
                                 "InternalServerError")
        with h.hooks.listening(step_write):
            run = h.run(DEMO_AS_OF)
        out["run_step_failure"] = {"failed_writes": step_write.outage.failed_attempts, "status": run["status"],
                                   "error": run.get("error"), "cause": (run.get("cause") or "")[:300]}

        # 5. Lambda ran the run's first step (lock taken, manifest written) but Step Functions got a ServiceException
        #    and retried the step, as its Retry says
        lost = ResponseLost(lambda c: c.function == SFN and "AssignFunction" in json.dumps(c.params.get(
            "FunctionName", "")))
        with h.hooks.listening(lost):
            run = h.run(date.fromordinal(DEMO_AS_OF.toordinal() + 1))
        output = json.loads(run.get("output") or "{}")
        out["assign_retried_after_it_ran"] = {"applied": lost.applied, "status": run["status"],
                                              "summary_status": output.get("status") if isinstance(output, dict)
                                              else None, "output": json.dumps(output)[:300]}

        # 6. what the deployed buckets say (moto's CloudFormation has no alarms or bucket policies: those are
        #    checked on the template the stack is deployed from)
        out["buckets"] = _bucket_settings(h)

        # 7. contacts past their retention: DynamoDB's TTL (emulated by the local pollers) deletes them and the
        #    archive function keeps them in the runs bucket
        import time

        from dunning.app.archive import PREFIX
        from dunning.store.blobs import S3Blobs

        expired = h.stack.expire_ttl(time.time() + 3650 * 86400, ["ContactsTable"])
        h.drain()
        out["archive"] = {"expired": expired["ContactsTable"],
                          "objects": len(S3Blobs(h.stack.outputs["RunsBucketName"]).keys(PREFIX))}

        # 8. a run's letter is still not rendered at its extract's last polling attempt (its PDF cannot be stored):
        #    the extract goes ahead without it and puts it in the print queue, for the next extract to take
        common = _common(h)  # the figures of steps 1-7 (step 8 sends its letter to the stream failure queue)
        out["late_letter"] = _late_letter(h)
        out["late_letter"]["stream_failures_added"] = _common(h)["stream_failures"] - common["stream_failures"]
        out.update(common)
        return out


def _late_letter(h: Harness) -> dict[str, Any]:
    from dunning.settings import PrintExtractSettings
    from dunning.store.contacts import DynamoContactsRepository
    from dunning.store.runs import DynamoRunsRepository

    never_stored = _S3Code(Outage(lambda c: c.function == "RenderLetterFunction" and c.operation == "PutObject",
                                  remaining=1000), "AccessDenied")
    with h.hooks.listening(never_stored):
        h.send([_request("ops-letter-late", "P-0005", "A-0005", "CUSTSVC/AUTOPAY_FORM")])
    contacts = DynamoContactsRepository(h.stack.outputs["ContactsTableName"])
    letter = next(c for c in contacts.all() if c.source_ref == "ops-letter-late")
    # the run's batch result lists the letter, as create_contacts writes it for the run's own letters
    run_id = "run-2026-11-18-late0001"
    DynamoRunsRepository(h.stack.outputs["RunsTableName"]).put_batch_result(run_id, 0, {"batch": 0,
                                                                                 "letter_ids": [letter.contact_id]})
    # the template leaves the default
    last = int(PrintExtractSettings.model_fields["print_extract_max_attempts"].default) - 1
    resp = h.stack.client("lambda").invoke(
        FunctionName=h.stack.function_name("PrintExtractFunction"),
        Payload=json.dumps({"run_id": run_id, "as_of": "2026-11-18", "attempt": last}).encode())
    result = json.loads(resp["Payload"].read() or b"{}")
    # a later round of the same extract reads the run's letter parts back from the runs bucket (the first round
    # wrote them): as a run whose letters render over several rounds does
    again = h.stack.client("lambda").invoke(
        FunctionName=h.stack.function_name("PrintExtractFunction"),
        Payload=json.dumps({"run_id": run_id, "as_of": "2026-11-18", "attempt": 1, "parts": 1,
                            "max_attempts": 2}).encode())
    second_round = json.loads(again["Payload"].read() or b"{}")
    after = contacts.get(letter.contact_id)
    return {"store_failures": never_stored.outage.failed_attempts, "status": after.status if after else None,
            "queued": result.get("queued_for_next_extract", result.get("queued")), "result": result,
            "second_round": second_round,
            "in_print_queue": letter.contact_id in set(contacts.print_queue_ids())}


class _SesCode(Listener):
    """An :class:`Outage` answering with a given SES error code (one the client does not retry)."""

    def __init__(self, outage: Outage, code: str) -> None:
        self.outage, self.code = outage, code

    def on_attempt(self, call: Call, request: Any) -> Any:
        if not self.outage.match(call) or self.outage.remaining == 0:
            return None
        if self.outage.remaining is not None:
            self.outage.remaining -= 1
        self.outage.failed_attempts += 1
        return error_response(request, "sesv2", "5xx", code=self.code, message="service unavailable")


class _DynamoCode(_SesCode):
    def on_attempt(self, call: Call, request: Any) -> Any:
        if not self.outage.match(call) or self.outage.remaining == 0:
            return None
        if self.outage.remaining is not None:
            self.outage.remaining -= 1
        self.outage.failed_attempts += 1
        return error_response(request, "dynamodb", "5xx", code=self.code, message="internal server error")


class _S3Code(_SesCode):
    def on_attempt(self, call: Call, request: Any) -> Any:
        if not self.outage.match(call) or self.outage.remaining == 0:
            return None
        if self.outage.remaining is not None:
            self.outage.remaining -= 1
        self.outage.failed_attempts += 1
        return error_response(request, "s3", "5xx", code=self.code, message="access denied")


def _bucket_settings(h: Harness) -> dict[str, Any]:
    s3 = h.stack.client("s3")
    out: dict[str, Any] = {}
    for output in ("LettersBucketName", "RunsBucketName"):
        name = h.stack.outputs[output]
        entry: dict[str, Any] = {}
        for key, fn in (("public_access_block", lambda n: s3.get_public_access_block(Bucket=n)
                         ["PublicAccessBlockConfiguration"]),
                        ("encryption", lambda n: s3.get_bucket_encryption(Bucket=n)
                         ["ServerSideEncryptionConfiguration"]),
                        ("policy", lambda n: json.loads(s3.get_bucket_policy(Bucket=n)["Policy"]))):
            try:
                entry[key] = fn(name)
            except Exception as exc:
                entry[key] = {"error": f"{type(exc).__name__}: {exc}"}
        out[output] = entry
    return out


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "clean": clean, "redelivered": redelivered, "faults": faults, "corpus": corpus, "operations": operations,
}
