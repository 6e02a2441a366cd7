"""Every contact source goes through the one creation path, on the local stack (S1.3-S1.6)."""

from __future__ import annotations

import json

import pytest

from dunning_ops.cli.main import main as cli
from tests.support.local import contacts, send


@pytest.fixture(scope="module")
def stack(demo_stack):
    return demo_stack


def by(stack, **match):
    return [c for c in contacts(stack) if all(c.get(k) == v for k, v in match.items())]


def event(eid, etype, data):
    return {"event_id": eid, "event_type": etype, "occurred_at": "2026-11-15T10:00:00Z", "source": "test", "data": data}


def test_a_collection_event_writes_to_every_responsible_and_notified_person(stack):
    arrears = by(stack, contact_class="COLLECT", contact_type="ARREARS", account_id="A-0002")
    assert {c["person_id"] for c in arrears} == {"P-0002", "P-0002B"}
    # A-0002's invoice is not yet due: "in arrears with an overdue balance of £0.00" would be false, so the
    # arrears letter (requires: [overdue_amount_positive]) is suppressed with the reason instead of rendered
    assert all(c["status"] == "suppressed" and not c.get("s3_key") for c in arrears)
    assert all("overdue balance is £0.00" in c["reason"] for c in arrears)


def test_a_severance_event_carries_the_premise_of_its_service_agreement(stack):
    (warning,) = by(stack, contact_class="SEVERANCE", contact_type="WARNING")
    assert (warning["account_id"], warning["person_id"], warning["premise_id"]) == ("A-0016", "P-0016", "PR-0016")
    (cut,) = by(stack, contact_class="SEVERANCE", contact_type="CUT")
    assert cut["premise_id"] == "PR-0030"


def test_write_off_and_overdue_events_fill_person_and_account(stack):
    (agency,) = by(stack, contact_class="WRITEOFF")
    assert (agency["account_id"], agency["person_id"], agency.get("premise_id")) == ("A-0027", "P-0027", None)
    (overdue,) = by(stack, contact_class="OVERDUE")
    assert (overdue["account_id"], overdue["person_id"]) == ("A-0005", "P-0005")


def test_a_field_activity_remark_fills_premise_account_and_main_person_from_the_service_point(stack):
    (remark,) = by(stack, contact_class="FIELD", contact_type="REMARK")
    assert (remark["premise_id"], remark["account_id"], remark["person_id"]) == ("PR-0040", "A-0040", "P-0040")
    assert remark["action"] == "none" and remark["status"] == "recorded"


def test_a_remark_on_an_unlinked_service_point_still_records_a_premise_based_contact(stack):
    data = {"field_activity_id": "FA-9", "remark_code": "GATE", "premise_id": "PR-0041", "service_point_id": "SP-NONE"}
    send(stack, [event("fa-unlinked", "field_activity.remark", data)])
    (remark,) = [c for c in by(stack, contact_class="FIELD") if c["source_ref"] == "fa-unlinked"]
    assert remark["premise_id"] == "PR-0041" and remark.get("person_id") is None


def test_a_user_request_event_creates_the_requested_letter(stack):
    (form,) = by(stack, contact_class="CUSTSVC", contact_type="AUTOPAY_FORM")
    assert (form["person_id"], form["account_id"], form["source"]) == ("P-0014", "A-0014", "user")
    assert form["status"] == "rendered" and "autopay" in form["note"]


def test_the_cli_creates_a_user_contact_and_refuses_a_premise_only_letter(stack, capsys):
    base = ["--endpoint-url", stack.endpoint]
    assert cli([*base, "contacts", "create", "--person", "P-0021", "--account", "A-0021", "--type", "CUSTSVC/CALLBACK",
                "--note", "call after 6pm", "--request-id", "cli-req-1"]) == 0
    (callback,) = by(stack, contact_type="CALLBACK")
    assert callback["status"] == "recorded" and callback["note"] == "call after 6pm"
    # the same request again creates nothing new
    assert cli([*base, "contacts", "create", "--person", "P-0021", "--type", "CUSTSVC/CALLBACK",
                "--account", "A-0021", "--request-id", "cli-req-1"]) == 0
    assert len(by(stack, contact_type="CALLBACK")) == 1
    capsys.readouterr()
    assert cli([*base, "contacts", "create", "--premise", "PR-0021", "--type", "CUSTSVC/AUTOPAY_FORM"]) == 2
    assert "person" in capsys.readouterr().err


def test_an_invalid_user_request_goes_to_the_rejected_store_with_its_reason(stack, capsys):
    send(stack, [event("bad-req", "contact.requested", {"request_id": "R-bad", "contact_class": "NOPE",
                                                         "contact_type": "X", "person_id": "P-0001"})])
    assert cli(["--endpoint-url", stack.endpoint, "events", "rejected", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any("NOPE/X" in r["reason"] for r in rows)


def test_contacts_list_and_letters_get_work_from_the_cli(stack, tmp_path, capsys):
    assert cli(["--endpoint-url", stack.endpoint, "contacts", "list", "--account", "A-0002", "--json"]) == 0
    suppressed = [c for c in json.loads(capsys.readouterr().out) if c["action"] == "letter"]
    # the list shows why a letter was not sent (its template's conditions, dunning.letters.conditions)
    assert suppressed and all(c["status"] == "suppressed" and "requires an overdue amount" in c["reason"]
                              for c in suppressed)
    assert cli(["--endpoint-url", stack.endpoint, "contacts", "list", "--account", "A-0005", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    letter = next(c for c in listed if c["action"] == "letter")
    out = tmp_path / "letter.pdf"
    assert cli(["--endpoint-url", stack.endpoint, "letters", "get", letter["contact_id"], "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert cli(["--endpoint-url", stack.endpoint, "letters", "url", letter["contact_id"]]) == 0
    assert letter["contact_id"] in capsys.readouterr().out


def test_a_reprint_renders_the_letter_again_and_queues_it_for_the_next_extract(stack, capsys):
    base = ["--endpoint-url", stack.endpoint]
    (form,) = by(stack, contact_class="CUSTSVC", contact_type="AUTOPAY_FORM")
    assert cli([*base, "letters", "reprint", form["contact_id"]]) == 0
    again = {c["contact_id"]: c for c in contacts(stack)}[form["contact_id"]]
    assert again["status"] == "rendered" and again["history"][-1]["reason"] == "reprint requested"
    capsys.readouterr()
    assert cli([*base, "letters", "extract", "--as-of", "2026-11-16", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["letters"] >= 1 and any(f.endswith(".csv") for f in result["files"])
    assert {c["contact_id"]: c for c in contacts(stack)}[form["contact_id"]]["status"] == "printed"
    capsys.readouterr()
    assert cli([*base, "letters", "extract", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["letters"] == 0  # nothing printed twice


def test_an_outlook_html_file_can_be_imported_as_an_email_body(tmp_path, capsys):
    import shutil

    from tests.support.local import ROOT

    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "infra" / "config", config_dir)
    saved = tmp_path / "saved.htm"
    saved.write_text('<html><head><style>p{}</style><!--[if mso]>junk<![endif]--></head>'
                     '<body><p class="MsoNormal">Hello {{ recipient.name }}</p><script>x()</script></body></html>')
    assert cli(["config", "import-email-html", str(saved), "--template", "sales_alert", "--language", "pt-BR",
                "--dir", str(config_dir)]) == 0
    body = (config_dir / "templates" / "email" / "sales_alert.pt-BR.html").read_text()
    assert "Hello {{ recipient.name }}" in body and "<script" not in body and "mso" not in body.lower()
