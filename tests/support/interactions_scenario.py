"""The interactions scenario (issue 13): the demo book and run, then interactions used through every edge - the
HTTP API by users of each group (stage membership, recording, lists, moves with a stale-version conflict, the
thread, email replies, time, links, similar requests, tasks with a collector activity, attachments uploaded to
their presigned POST and opened through a customer's signed link, disputes and promises, the reports, the web
form with a refused and a rate-limited post), inbound mail dropped where SES writes it (a new mail, a reply to
an interaction, one with attachments, a reply to a dunning email, a rejected one), the daily promise sweep, and
the console's interaction pages (cookies and CSRF) - so the IAM audit sees every AWS call those functions make.

The stack is deployed with ``SenderIdentity`` a domain (``dunning.example``), the form the README recommends:
interaction mail goes out from ``interactions.mail.from_address``, which must lie inside the SES identity the
template grants, as the email templates' senders do (``dunning config validate`` checks both)."""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dunning_ops.local.demo_data import DEMO_AS_OF
from dunning_ops.local.http_api import add_demo_users
from tests.support.api_scenario import PASSWORD, USERS
from tests.support.console_calls import RecordedConsole
from tests.support.harness import Harness
from tests.support.scenarios import _common, demo_events, operations_config

ROOT = Path(__file__).resolve().parents[2]
MAIL = ROOT / "events" / "mail"
PROCESS = "customer_requests"
STAGES = ("registered", "in_progress", "awaiting_customer", "resolved")
SENDER_IDENTITY = "dunning.example"  # a domain identity: covers every sender address under it
CUSTOMER = "maria.silva@customer.example"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _open(req: urllib.request.Request) -> tuple[int, dict[str, str], bytes]:
    try:
        with _OPENER.open(req, timeout=120) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


class _Api:
    """JSON (and form-encoded) calls to the local gateway as a signed-in user, or anonymously (``user=None``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tokens: dict[str, str] = {}
        self.statuses: list[tuple[str, str, int]] = []
        self.unexpected: list[tuple[str, str, int, Any]] = []  # answers other than the expected ones

    def raw(self, user: str | None, method: str, path: str, body: Any = None, form: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        head = dict(headers or {})
        data = None
        if form is not None:
            head["content-type"] = "application/x-www-form-urlencoded"
            data = urllib.parse.urlencode(form).encode()
        elif body is not None:
            head["content-type"] = "application/json"
            data = json.dumps(body).encode()
        if user is not None:
            if user not in self.tokens:
                _, tokens = self.call(None, "POST", "/api/auth/sign-in", {"username": user, "password": PASSWORD})
                self.tokens[user] = tokens["access_token"]
            head["authorization"] = f"Bearer {self.tokens[user]}"
        status, answer_headers, raw = _open(urllib.request.Request(self.url + path, method=method, headers=head,
                                                                   data=data))
        self.statuses.append((method, path.split("?")[0], status))
        return status, answer_headers, raw

    def call(self, user: str | None, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, headers, raw = self.raw(user, method, path, body, **kw)
        if headers.get("content-type", "").startswith("application/json") and raw:
            return status, json.loads(raw)
        return status, raw.decode("utf-8", "replace")

    def ok(self, user: str | None, method: str, path: str, body: Any = None, expect: int = 200, **kw: Any) -> Any:
        status, answer = self.call(user, method, path, body, **kw)
        if status != expect:  # noted, and the scenario goes on: it fails at its end, naming every one
            self.unexpected.append((method, path, status, answer))
        return answer


def _multipart(fields: dict[str, str], filename: str, content_type: str, content: bytes) -> tuple[bytes, str]:
    boundary = f"----scenario{uuid.uuid4().hex}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append((f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                  f"Content-Type: {content_type}\r\n\r\n").encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _post_file(url: str, fields: dict[str, str], filename: str, content_type: str,
               content: bytes) -> tuple[int, dict[str, str]]:
    """What a browser's form does with a presigned POST: the fields, then the file (S3 wants it last)."""
    body, kind = _multipart(fields, filename, content_type, content)
    status, headers, _ = _open(urllib.request.Request(url, method="POST", data=body, headers={"content-type": kind}))
    return status, headers


def _signing_key(h: Harness) -> bytes:
    """The stack's signing key as the functions derive it (dunning.store.secrets), read here without their cache."""
    answer = h.stack.client("secretsmanager").get_secret_value(SecretId=h.stack.outputs["InteractionSigningSecretArn"])
    return hashlib.sha256(answer["SecretString"].encode("utf-8")).digest()


def _mail(name: str, **headers: str) -> bytes:
    """A sample mail from events/mail with a fresh Message-ID (and other headers replaced)."""
    msg = BytesParser(policy=default_policy).parsebytes((MAIL / name).read_bytes())
    headers.setdefault("Message_ID", f"<{uuid.uuid4().hex}@customer.example>")
    for header, value in headers.items():
        del msg[header.replace("_", "-")]
        msg[header.replace("_", "-")] = value
    return msg.as_bytes()


def _written(to: str, subject: str, text: str, sender: str = CUSTOMER) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Maria Silva <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
    msg.set_content(text)
    return msg.as_bytes()


# ---------------------------------------------------------------------------------------------- the scenario
def interactions() -> dict[str, Any]:
    with Harness.started(config=operations_config(), parameters={"SenderIdentity": SENDER_IDENTITY}) as h:
        h.send(demo_events())
        h.run(DEMO_AS_OF)
        add_demo_users(h.stack, USERS)
        url = h.stack.start_http_api()
        api = _Api(url)
        admin, sup, collector, agent = (u.username for u in USERS)
        key = _signing_key(h)
        domain = h.stack.template.cloudformation.get("Parameters", {}).get("InboundMailDomain", {}).get(
            "Default", "reply.example.com")
        support = f"support@{domain}"
        members = f"/api/interaction-processes/{PROCESS}/stages"
        now = datetime.now(UTC).replace(microsecond=0)
        today = now.date()

        # ------------------------------------------------------------------ stage membership (admin)
        for stage in STAGES:
            api.ok(admin, "PUT", f"{members}/{stage}/members/{agent}")
            api.ok(admin, "PUT", f"{members}/{stage}/members/{collector}")
        api.ok(admin, "PUT", f"{members}/registered/members/agent-ru")

        # ------------------------------------------------------------------ record, list, show
        _, account = api.call(agent, "GET", "/api/accounts/A-0001")
        invoices = [i["invoice_id"] for i in account["invoices"] if float(i["open_amount"]) > 0]
        phone = api.ok(agent, "POST", "/api/interactions", {
            "channel": "phone", "category": "invoice_dispute", "subject": f"Invoice {invoices[0]} looks too high",
            "text": "The customer says the meter was read wrongly.", "account_id": "A-0001",
            "customer_name": "Maria Silva", "customer_email": CUSTOMER}, expect=201)
        plain = api.ok(collector, "POST", "/api/interactions", {
            "channel": "phone", "category": "meter_question", "subject": "When is the meter read?",
            "text": "A caller without an account number.", "customer_email": "caller@customer.example"},
            expect=201)
        again = api.ok(agent, "POST", "/api/interactions", {
            "channel": "call_centre", "category": "invoice_dispute", "subject": "Same invoice again",
            "text": "Calls again about the invoice.", "account_id": "A-0001", "customer_email": CUSTOMER},
            expect=201)
        api.ok(agent, "GET", f"/api/interactions?process={PROCESS}&stage=registered")
        api.ok(agent, "GET", "/api/interactions")
        api.ok(agent, "GET", "/api/accounts/A-0001/interactions")
        api.ok(collector, "GET", f"/api/interactions/{plain['id']}")
        iid = phone["id"]
        base = f"/api/interactions/{iid}"
        api.ok(agent, "GET", base)

        # ------------------------------------------------------------------ moves (one from a stale version: 409)
        api.ok(agent, "POST", f"{base}/moves", {"to_stage": "in_progress", "expected_version": phone["version"]})
        api.ok(agent, "POST", f"{base}/moves", {"to_stage": "awaiting_customer",
                                                "expected_version": phone["version"]}, expect=409)
        # the thread, an email reply, time, links
        api.ok(agent, "POST", f"{base}/entries", {"kind": "comment", "text": "Called the customer back.",
                                                  "visibility": "customer"}, expect=201)
        api.ok(agent, "POST", f"{base}/entries", {"kind": "note", "text": "Meter photo requested."}, expect=201)
        api.ok(agent, "POST", f"{base}/replies", {"text": "Please send us a photo of your meter."}, expect=201)
        api.ok(agent, "POST", f"{base}/time", {"started_at": (now - timedelta(minutes=20)).isoformat(),
                                               "minutes": 15, "note": "phone call",
                                               "idempotency_key": f"scenario-{uuid.uuid4().hex[:12]}"}, expect=201)
        api.ok(agent, "POST", f"{base}/links", {"kind": "invoice", "ref": invoices[0], "label": "the invoice"},
               expect=201)
        api.ok(agent, "POST", f"{base}/links", {"kind": "opportunity", "ref": "OPP-77"}, expect=201)
        api.ok(agent, "DELETE", f"{base}/links/opportunity/OPP-77")
        api.ok(agent, "GET", f"/api/interactions/{again['id']}/similar")
        api.ok(agent, "GET", f"{base}/similar")

        # ------------------------------------------------------------------ tasks (one a collector activity)
        task = api.ok(agent, "POST", f"{base}/tasks", {"title": "Check the meter reading", "assignee": agent,
                                                       "due_on": today.isoformat()}, expect=201)
        activity = api.ok(agent, "POST", f"{base}/tasks", {"title": "Call about the payment", "assignee": collector,
                                                           "due_on": (today + timedelta(days=2)).isoformat(),
                                                           "activity": True}, expect=201)
        api.ok(agent, "GET", f"{base}/tasks")
        api.ok(agent, "POST", f"{base}/tasks/{task['task_id']}/complete", {"note": "read again"})
        api.ok(collector, "POST", f"{base}/tasks/{activity['task_id']}/complete",
               {"note": "called", "outcome": "promised_to_pay"})

        # ------------------------------------------------------------------ attachments
        content = b"%PDF-1.4\n% scenario proof of payment\n"
        ticket = api.ok(agent, "POST", f"{base}/attachments", {"filename": "proof.pdf",
                                                               "content_type": "application/pdf",
                                                               "size": 4096, "shared_with": "customer"}, expect=201)
        status, _ = _post_file(ticket["url"], ticket["fields"], "proof.pdf", "application/pdf", content)
        assert status in (200, 201, 204), status
        stored = api.ok(agent, "POST", f"{base}/attachments/{ticket['attachment_id']}/complete")
        assert stored.get("status") == "stored", stored
        api.ok(agent, "GET", f"{base}/attachments/{ticket['attachment_id']}")
        from dunning.interactions.domain import sign_link

        token = sign_link(key, iid, ticket["attachment_id"], int(time.time()) + 3600)
        api.ok(None, "GET", f"/public/attachments/{token}", expect=302)
        api.ok(None, "GET", "/public/attachments/not-a-token", expect=404)
        # a client that cheats: a PNG declared, HTML sent - the check refuses it and the file is deleted
        cheat = api.ok(agent, "POST", f"{base}/attachments", {"filename": "photo.png", "content_type": "image/png",
                                                              "size": 2048}, expect=201)
        fields = {**cheat["fields"], "Content-Type": "text/html"}
        status, _ = _post_file(cheat["url"], fields, "photo.png", "text/html", b"<script>alert(1)</script>")
        if status >= 300:  # the local S3 checked the policy: put the wrong file where it would have gone
            h.stack.client("s3").put_object(Bucket=h.stack.outputs["AttachmentsBucketName"],
                                            Key=cheat["fields"]["key"], Body=b"<html></html>",
                                            ContentType="text/html")
        refused = api.ok(agent, "POST", f"{base}/attachments/{cheat['attachment_id']}/complete")
        assert refused.get("status") == "refused", refused

        # ------------------------------------------------------------------ disputes and promises
        api.ok(agent, "POST", f"{base}/disputes", {"invoice_id": invoices[0], "note": "meter misread"}, expect=201)
        api.ok(agent, "POST", f"{base}/disputes/{invoices[0]}/resolve", {"note": "meter re-read: correct"})
        promised = invoices[0]  # its dispute resolved, the customer promises to pay it
        api.ok(agent, "POST", f"{base}/promises", {"invoice_id": promised, "amount": "10.00",
                                                   "until": today.isoformat(), "note": "pays today"}, expect=201)

        # ------------------------------------------------------------------ closing (time is logged)
        detail = api.ok(agent, "GET", base)
        api.ok(agent, "POST", f"{base}/moves", {"to_stage": "resolved",
                                                "expected_version": detail["interaction"]["version"]})

        # ------------------------------------------------------------------ reports, members
        first = (today - timedelta(days=1)).isoformat()
        for report in ("time", "content"):
            api.ok(sup, "GET", f"/api/interaction-reports/{report}?start={first}&end={today.isoformat()}")
            api.ok(sup, "GET", f"/api/interaction-reports/{report}?start={first}&end={today.isoformat()}"
                               "&format=csv")
        api.ok(agent, "GET", "/api/interaction-reports/time", expect=403)
        api.ok(agent, "GET", f"{members}/registered/members")
        api.ok(admin, "DELETE", f"{members}/registered/members/agent-ru")

        # ------------------------------------------------------------------ the public web form
        form_token = api.ok(None, "GET", "/public/interactions/form-token")
        time.sleep(float(form_token["min_seconds"]) + 0.5)  # a person takes longer than that to type
        post = {"name": "Maria Silva", "email": CUSTOMER, "subject": "Question about my bill",
                "message": "Why is my bill higher this month?", "account": "A-0001",
                "form_token": form_token["form_token"], "website": ""}
        api.ok(None, "POST", "/public/interactions", form=post, expect=201)
        api.ok(None, "POST", "/public/interactions", form={**post, "website": "http://spam.example"}, expect=400)
        limited = [api.call(None, "POST", "/public/interactions", form=post)[0] for _ in range(6)]
        assert 429 in limited, limited

        # ------------------------------------------------------------------ inbound mail
        from dunning.interactions.mail import contact_reply_address, interaction_reply_address
        from dunning.store.contacts import DynamoContactsRepository

        reply_to = interaction_reply_address(iid, key, domain)
        dropped = [
            (_written(support, "My new address", "Please send my bills to my new address."), support),  # new
            (_written(f"Customer service <{reply_to}>", "Re: your reply",
                      "Here is the photo you asked for.\n\nOn Tue, Customer service wrote:\n> Please send a photo"),
             reply_to),  # a reply to the agent's mail (its signed Reply-To): filed on the interaction
            (_mail("with_attachments.eml"), support),  # attachments: stored or refused with their reason
            (_mail("looping.eml"), support),  # our own address writing to us: rejected
            (_mail("malformed.eml"), support),  # names no recipient: the envelope's is given
        ]
        emailed = sorted((c for c in DynamoContactsRepository(h.stack.outputs["ContactsTableName"]).all()
                          if c.action == "email"), key=lambda c: c.contact_id)
        if emailed:  # a customer answering a dunning email (its signed Reply-To)
            dunning_reply = contact_reply_address(emailed[0].contact_id, key, domain)
            dropped.append((_written(dunning_reply, "Re: your payment reminder", "I will pay on Friday."),
                            dunning_reply))
        for raw, recipient in dropped:
            h.stack.drop_mail(raw, recipients=[recipient])
        h.drain()

        # ------------------------------------------------------------------ the daily promise sweep
        lam = h.stack.client("lambda")
        sweeps = []
        for payload in (json.loads((ROOT / "events" / "expire_promises.json").read_text(encoding="utf-8")),
                        {"scheduled_time": f"{(today + timedelta(days=1)).isoformat()}T04:30:00Z",
                         "timezone": "UTC"}):
            resp = lam.invoke(FunctionName=h.stack.function_name("ExpirePromisesFunction"),
                              Payload=json.dumps(payload).encode())
            out = json.loads(resp["Payload"].read())
            assert "FunctionError" not in resp, out
            sweeps.append(out)

        # ------------------------------------------------------------------ the console's interaction pages
        console_statuses = _console(h, url, agent, admin, sup, invoices)

        assert not api.unexpected, api.unexpected
        common = _common(h)
        return {"statuses": api.statuses, "console_statuses": console_statuses, "sweeps": sweeps,
                "rate_limited": limited, **common,
                "parameters": {**common["parameters"], "SenderIdentity": SENDER_IDENTITY}}


def _console(h: Harness, url: str, agent: str, admin: str, sup: str, invoices: list[str]) -> list[tuple[str, int]]:
    console = RecordedConsole(url, USERS)
    statuses, signed_in, get, post = console.statuses, console.signed_in, console.get, console.post

    def detail_id(location: str) -> str:
        found = re.search(r"/console/interactions/([^/?#]+)", location)
        assert found, location
        return urllib.parse.unquote(found.group(1))

    a = signed_in(agent)
    get(a, "/console/interactions")
    get(a, f"/console/interactions?stage={PROCESS}/registered")
    get(a, "/console/interactions/new?account=A-0001")
    status, headers, _ = post(a, "/console/interactions", {
        "account_id": "A-0001", "channel": "phone", "category": "invoice_dispute", "subject": "Console call",
        "text": "Recorded in the console.", "customer_email": CUSTOMER}, "/console/interactions/new?account=A-0001")
    assert status == 303, status
    iid = detail_id(headers["location"])
    page = f"/console/interactions/{quote(iid, safe='')}"
    _, _, body = get(a, page)
    version = re.search(r'name="expected_version" value="(\d+)"', body)
    assert version, body[:300]
    post(a, f"{page}/moves", {"to_stage": "in_progress", "expected_version": version.group(1)}, page)
    post(a, f"{page}/moves", {"to_stage": "awaiting_customer", "expected_version": version.group(1)}, page)  # 409
    post(a, f"{page}/entries", {"kind": "comment", "text": "A comment from the console.", "action": "save"}, page)
    post(a, f"{page}/entries", {"kind": "note", "text": "An internal note.", "action": "save"}, page)
    post(a, f"{page}/entries", {"kind": "email", "text": "Our answer by mail.", "action": "save"}, page)
    _, _, body = get(a, page)
    version = re.search(r'name="expected_version" value="(\d+)"', body)
    assert version
    post(a, f"{page}/entries", {"text": "Moved and mailed.", "action": "send", "to_stage": "awaiting_customer",
                                "expected_version": version.group(1)}, page)
    post(a, f"{page}/time", {"started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"), "minutes": "12",
                             "note": "call"}, page)
    post(a, f"{page}/links", {"kind": "job", "ref": "JOB-9", "label": "field job"}, page)
    post(a, f"{page}/links/remove", {"kind": "job", "ref": "JOB-9"}, page)
    post(a, f"{page}/tasks", {"title": "Console task", "due_on": datetime.now(UTC).date().isoformat()}, page)
    post(a, f"{page}/tasks", {"title": "Console activity", "activity": "yes"}, page)
    _, _, body = get(a, page)
    for action in re.findall(r'action="(/console/interactions/[^"]+/tasks/[^"]+/complete)"', body):
        post(a, action, {}, page)
    # attachments: the upload form posts straight to S3, which sends the browser back to the console
    def upload(filename: str, content_type: str, sent_type: str, content: bytes) -> int:
        """Steps 1-3 of an upload as a browser does them; the status of the console's answer to S3's redirect."""
        status, _, form = post(a, f"{page}/attachments", {"filename": filename, "content_type": content_type,
                                                          "shared_with": "agents"}, page)
        assert status == 200, status
        target = re.search(r'<form method="post" action="([^"]+)" enctype="multipart/form-data"', form)
        assert target, form[:500]
        fields = {k: html.unescape(v) for k, v in
                  re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)}
        if sent_type != content_type:  # a page whose form was tampered with
            fields["Content-Type"] = sent_type
        status, headers = _post_file(html.unescape(target.group(1)), fields, filename, sent_type, content)
        back = headers.get("location", "")
        if status >= 400:  # the local S3 checked the policy: put the file where it would have gone
            h.stack.client("s3").put_object(Bucket=h.stack.outputs["AttachmentsBucketName"], Key=fields["key"],
                                            Body=content, ContentType=sent_type)
            back = fields["success_action_redirect"]
        assert "/console/" in back, (status, headers)
        return get(a, back[back.index("/console/"):])[0]

    assert upload("letter.txt", "text/plain", "text/plain", b"Dear sirs,\n") == 303
    assert upload("photo.png", "image/png", "text/html", b"<script>alert(1)</script>") == 422  # refused, deleted
    _, _, body = get(a, page)
    for link in re.findall(r'href="(/console/interactions/[^"]+/attachments/[^"/]+)"', body)[:1]:
        get(a, link)
    post(a, f"{page}/attachments", {"filename": "x.exe", "content_type": "application/x-msdownload",
                                    "shared_with": "agents"}, page)  # refused: 422
    post(a, f"{page}/disputes", {"invoice_id": invoices[0], "note": "console dispute"}, page)
    post(a, f"{page}/disputes/{quote(invoices[0], safe='')}/resolve", {}, page)
    post(a, f"{page}/promises", {"invoice_id": invoices[0], "amount": "5.00",
                                 "until": datetime.now(UTC).date().isoformat()}, page)
    get(a, "/console/accounts/A-0001")
    get(a, "/console/reports/time")  # refused: 403 (an agent has no reports)

    s = signed_in(sup)
    for report in ("time", "content"):
        get(s, f"/console/reports/{report}")
        get(s, f"/console/reports/{report}?format=csv")
    get(s, "/console/interaction-stages")  # refused: 403 (stage membership is the admin's)

    ad = signed_in(admin)
    get(ad, "/console/interaction-stages")
    post(ad, "/console/interaction-stages", {"stage": f"{PROCESS}/registered", "username": "agent-ar"},
         "/console/interaction-stages")
    post(ad, "/console/interaction-stages", {"stage": f"{PROCESS}/registered", "username": "agent-ar",
                                             "action": "remove"}, "/console/interaction-stages")
    get(ad, page)
    return statuses


__all__ = ["interactions"]
