"""The workflow pages through the console's routes (payload 2.0 events in-process) on the real workflow use cases,
the conversations table in moto: the list and "new from a template", the diagram and versions, the editor
(validate, save, publish; an invalid workflow is refused at publish with the step and the reason, listed by step
and linked to the step's box in the diagram, the text as written kept), version 2 listed live, the diff marked
line by line, and the permissions (an agent reads, a supervisor publishes) and CSRF.

The conversation pages (inbox, thread, reply, close) are covered with fakes of the conversation store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from dunning.auth import Group, Principal
from dunning.console import security
from dunning.settings import ConsoleSettings

ROOT = Path(__file__).resolve().parents[3]
TABLE = "conversations"
SID = "s" * 43
SETTINGS = ConsoleSettings.model_validate({
    "LEDGER_TABLE": "ledger", "CONTACTS_TABLE": "contacts", "RUNS_TABLE": "runs", "RUNS_BUCKET": "runs-bucket",
    "LETTERS_BUCKET": "letters-bucket", "COGNITO_USER_POOL_ID": "pool", "COGNITO_CLIENT_ID": "client",
    "COGNITO_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/pool", "CONSOLE_SECURE_COOKIES": "true"})
USERS = {
    "agent": Principal(user_id="u-1", username="agent@example.com", groups=frozenset({Group.AGENT})),
    "supervisor": Principal(user_id="u-3", username="supervisor@example.com", groups=frozenset({Group.SUPERVISOR})),
}
WF = "vip_routing"


class Context:
    function_name = "console"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:console"
    aws_request_id = "req-1"


@dataclass
class World:
    deps: Any
    extra_cookies: tuple[str, ...] = ()

    def with_cookie(self, cookie: str) -> World:
        """The same world as seen by a browser holding one more cookie (``name=value``)."""
        from dataclasses import replace

        return replace(self, extra_cookies=(*self.extra_cookies, f"__Host-{cookie}"))

    def call(self, path: str, user: str | None = "supervisor", method: str = "GET",
             form: dict[str, str] | None = None, query: dict[str, str] | None = None,
             csrf: bool = True) -> dict[str, Any]:
        from dunning.console.routes import resolve

        cookies = [f"__Host-{security.SID}={SID}", *self.extra_cookies]
        if user:
            cookies.append(f"__Host-{security.SESSION}={user}")
        body = None
        if form is not None:
            body = urlencode({**form, **({"csrf": security.csrf_token(SID)} if csrf else {})})
        event = {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path,
                 "rawQueryString": urlencode(query or {}),
                 "headers": {"accept-language": "en", "host": "console.example", "x-forwarded-proto": "https",
                             **({"content-type": "application/x-www-form-urlencoded"} if body else {})},
                 "queryStringParameters": query, "cookies": cookies, "isBase64Encoded": False, "body": body,
                 "requestContext": {"http": {"method": method, "path": path, "sourceIp": "10.0.0.1",
                                             "userAgent": "t"}, "stage": "$default", "domainName": "console.example",
                                    "requestId": "r"}}
        return resolve(event, Context(), SETTINGS)

    def page(self, path: str, user: str = "supervisor", status: int = 200, **kw: Any) -> str:
        answer = self.call(path, user, **kw)
        assert answer["statusCode"] == status, answer["body"][:600]
        return str(answer["body"])

    def edit(self, action: str, source: str, user: str = "supervisor", **extra: str) -> dict[str, Any]:
        return self.call(f"/console/workflows/{WF}/edit", user, "POST",
                         {"action": action, "source": source, "fmt": "auto", **extra})


def _table_definition() -> dict[str, Any]:
    from dunning_ops.local.translate import load_sam_template

    props = load_sam_template(ROOT / "template.yaml")["Resources"]["ConversationsTable"]["Properties"]
    return {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")}


@pytest.fixture
def world(monkeypatch) -> Iterator[World]:
    from moto import mock_aws

    from dunning import aws
    from dunning.app.deps import ConsoleDeps
    from dunning.app.workflows import WorkflowDeps
    from dunning.config_loader import load_config_dir
    from dunning.console import routes
    from dunning.console import session as console_session
    from dunning.store.workflows import DynamoWorkflowsRepository

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    config = load_config_dir(ROOT / "infra" / "config")
    with mock_aws():
        aws._client.cache_clear()
        boto3.client("dynamodb").create_table(TableName=TABLE, **_table_definition())
        deps = WorkflowDeps(store=DynamoWorkflowsRepository(TABLE), config=lambda: config)
        made = ConsoleDeps(reads=None, activities=None, pool=None, workflows=deps)  # type: ignore[arg-type]
        monkeypatch.setattr(routes, "console_deps", lambda settings: made)
        monkeypatch.setattr(console_session, "verify_token", lambda token: USERS[token])
        yield World(deps=deps)
        aws._client.cache_clear()


def source_of(page: str) -> str:
    found = re.search(r'<textarea id="source"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, page[:600]
    return unescape(found.group(1))


def create_from_template(world: World) -> str:
    answer = world.call("/console/workflows", "supervisor", "POST", {"template": WF})
    assert answer["statusCode"] == 303, answer["body"][:400]
    assert answer["headers"]["Location"] == f"/console/workflows/{WF}/edit?done=draft_created"
    return source_of(world.page(f"/console/workflows/{WF}/edit"))


# ---------------------------------------------------------------------------------------------- list, templates
def test_the_list_offers_the_shipped_templates_and_one_becomes_a_draft_not_yet_live(world):
    page = world.page("/console/workflows")
    assert "No workflow yet" in page
    for template in ("vip_routing", "new_vs_returning", "csat_survey", "collections_promise"):
        assert f'name="template" value="{template}"' in page
    text = create_from_template(world)
    assert text.startswith("# S4") and "id: vip_routing" in text
    listing = world.page("/console/workflows")
    row = re.search(r'<tr>\s*<th scope="row"><a href="/console/workflows/vip_routing">(.*?)</tr>', listing, re.S)
    assert row, listing
    assert "Route VIP contacts" in row.group(1) and "not live" in row.group(1)
    assert "changed, not published" in row.group(1) or "no draft" not in row.group(1)
    again = world.call("/console/workflows", "supervisor", "POST", {"template": WF})
    assert again["headers"]["Location"].endswith("done=workflow_exists")  # an existing draft is not overwritten


# ---------------------------------------------------------------------------------------------- the editor
def test_an_invalid_workflow_is_refused_at_publish_with_the_step_and_the_reason_next_to_it(world):
    good = create_from_template(world)
    broken = good.replace("next: vip_or_normal", "next: no_such_step", 1)
    answer = world.edit("publish", broken)
    assert answer["statusCode"] == 422
    page = answer["body"]
    assert "Not published" in page
    group = re.search(r'<li class="error-group" id="errors-get_contact">(.*?)</li>\s*</ul>\s*</li>', page, re.S)
    assert group, page
    assert '<a href="#step-get_contact">Step get_contact</a>' in group.group(1)
    assert "no_such_step" in unescape(group.group(1))
    svg_box = re.search(r'<g id="step-get_contact" class="([^"]+)"', page)
    assert svg_box and "error" in svg_box.group(1).split()
    assert source_of(page) == broken  # the text as written is kept
    detail = world.page(f"/console/workflows/{WF}")
    assert "No version is published yet." in detail


def test_validate_says_valid_without_saving_and_save_keeps_even_an_invalid_draft(world):
    good = create_from_template(world)
    page = world.edit("validate", good)["body"]
    assert "The workflow is valid." in page and 'id="errors"' not in page
    answer = world.edit("save", good.replace("team: vip", "team: nowhere", 1))
    assert answer["statusCode"] == 303 and answer["headers"]["Location"].endswith("/edit?done=draft_saved")
    page = world.page(f"/console/workflows/{WF}/edit", query={"done": "draft_saved"})
    assert "The draft is saved." in page and "team: nowhere" in source_of(page)
    assert 'id="errors-route_vip"' in page and "nowhere" in page  # the saved draft's errors, by step
    assert "has errors" in world.page("/console/workflows")


def test_publishing_twice_lists_version_2_live_and_the_diff_marks_each_line(world):
    good = create_from_template(world)
    first = world.edit("publish", good, note="first")
    assert first["headers"]["Location"] == f"/console/workflows/{WF}?done=workflow_published#versions-heading"
    same = world.edit("publish", good)
    assert same["headers"]["Location"].startswith(f"/console/workflows/{WF}?done=workflow_unchanged")
    changed = good.replace("Connecting you to our VIP team.", "Connecting you to the VIP team now.", 1)
    assert changed != good
    world.edit("publish", changed, note="friendlier")
    page = world.page(f"/console/workflows/{WF}", query={"done": "workflow_published"})
    assert "Published: the new version is live." in page and "Version 2 is live." in page
    live = re.search(r'<tr class="live">\s*<th scope="row"><a href="[^"]+/versions/(\d+)">', page)
    assert live and live.group(1) == "2"
    assert "friendlier" in page and "first" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and 'id="step-ask_email"' in page
    diff = world.page(f"/console/workflows/{WF}", query={"from": "1", "to": "2"})
    added = re.findall(r'<span class="diff-line diff-add">(.*?)</span>(?=<span class="diff-line|</pre>)', diff)
    removed = re.findall(r'<span class="diff-line diff-remove">(.*?)</span>(?=<span class="diff-line|</pre>)', diff)
    assert any("the VIP team now" in a and "added: " in a for a in added), added
    assert any("our VIP team." in r and "removed: " in r for r in removed), removed
    version = world.page(f"/console/workflows/{WF}/versions/1")
    assert "our VIP team." in version and "v1" in version


def test_an_agent_reads_workflows_but_is_shown_why_not_to_publish_and_refused_if_tried(world):
    good = create_from_template(world)
    page = world.page(f"/console/workflows/{WF}/edit", user="agent")
    assert 'id="editor-form"' not in page and "workflows:write" in page
    assert world.call(f"/console/workflows/{WF}/edit", "agent", "POST",
                      {"action": "publish", "source": good})["statusCode"] == 403
    assert world.call(f"/console/workflows/{WF}/edit", "agent", "POST",
                      {"action": "save", "source": good})["statusCode"] == 403
    assert "New from a template" not in world.page("/console/workflows", user="agent")


def test_without_the_csrf_token_nothing_is_saved(world):
    good = create_from_template(world)
    answer = world.call(f"/console/workflows/{WF}/edit", "supervisor", "POST",
                        {"action": "publish", "source": good}, csrf=False)
    assert answer["statusCode"] == 400
    assert "No version is published yet." in world.page(f"/console/workflows/{WF}")


def test_try_it_refuses_a_draft_that_does_not_validate(world):
    good = create_from_template(world)
    world.edit("save", good.replace("next: vip_or_normal", "next: nowhere", 1))
    page = world.page(f"/console/workflows/{WF}/try")
    assert "cannot run" in page and 'id="try-form"' not in page
