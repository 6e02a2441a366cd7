"""The conversation tests' stack: the embedded local stack (moto runs ConversationStateMachine) with the HttpApi
served (the public chat the test channel talks to), the stub CRM running, a configuration published whose
``conversations.settings.crm_url`` points at the stub, and the shipped workflow templates installed and live.

The tests drive it through its edges: the test channel (:mod:`tests.support.chat`) for the customer, the use
cases of :mod:`dunning.app.conversations` / :mod:`dunning.app.workflows` (built from a deployed function's own
environment, as the functions build them) for what an agent or an operator does and reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from dunning.auth import Group, Principal
from dunning.models.config import Config
from dunning.models.conversations import ConversationDetail
from dunning.models.interactions import ThreadEntry
from dunning_ops.local.stack import LocalStack
from tests.support.chat import ChatChannel, ChatSession
from tests.support.local import ROOT, publish, send, start_stack

T = TypeVar("T")

ADMIN = Principal(user_id="u-admin", username="admin@example.com", groups=frozenset({Group.ADMIN}))
AGENT = Principal(user_id="u-agent", username="agent@example.com", groups=frozenset({Group.AGENT}))
VIP_TEMPLATE = "vip_routing"
ROOT_TEMPLATE = ROOT / "template.yaml"
TEMPLATES = ("vip_routing", "new_vs_returning", "csat_survey", "collections_promise")
# the API function's settings give the use cases the same tables, queue and state machine the API uses
API_FUNCTION = "ApiFunction"


def now() -> datetime:
    return datetime.now(UTC)


def wait_until(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "the condition",
               interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something truthy; AssertionError naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout}s (last: {last!r})")


@dataclass
class ConversationStack:
    stack: LocalStack
    api_url: str
    crm: Any  # dunning_ops.local.stub_crm's server
    config: Config
    installed: list[str] = field(default_factory=list)
    _deps: Any = None
    _wf: Any = None

    # ------------------------------------------------------------------ use cases, as the functions build them
    def function_env(self, logical_id: str = API_FUNCTION) -> dict[str, str]:
        conf = self.stack.client("lambda").get_function_configuration(
            FunctionName=self.stack.function_name(logical_id))
        return {k: str(v) for k, v in conf.get("Environment", {}).get("Variables", {}).items()}

    def settings(self, logical_id: str = API_FUNCTION) -> Any:
        from dunning.settings import FUNCTION_SETTINGS

        folder = {"ConversationStepFunction": "conversation_step", "ConversationInboundFunction":
                  "conversation_inbound", "ApiFunction": "api"}[logical_id]
        return FUNCTION_SETTINGS[folder].from_env(self.function_env(logical_id))

    @property
    def deps(self) -> Any:
        if self._deps is None:
            from dunning.app import deps

            self._deps = deps.conversation_deps(self.settings())
        return self._deps

    @property
    def workflows(self) -> Any:
        if self._wf is None:
            self._wf = self.deps.workflows
        return self._wf

    def channel(self) -> ChatChannel:
        return ChatChannel(self.api_url, poll_interval=0.1)

    def open(self, **contact: Any) -> ChatSession:
        return self.channel().open(**contact)

    # ------------------------------------------------------------------ reading back
    def detail(self, conversation_id: str) -> ConversationDetail:
        from dunning.app.conversations import conversation_detail

        return conversation_detail(self.deps, ADMIN, conversation_id)

    def thread(self, conversation_id: str) -> list[ThreadEntry]:
        return list(self.detail(conversation_id).thread)

    def steps(self, conversation_id: str) -> list[str]:
        return [s.step for s in self.detail(conversation_id).steps]

    def execution(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's execution (named after it), described."""
        sfn = self.stack.client("stepfunctions")
        machine = self.stack.outputs["ConversationStateMachineArn"]
        arn = f"{machine.replace(':stateMachine:', ':execution:')}:{conversation_id}"
        return dict(sfn.describe_execution(executionArn=arn))

    def settled(self, conversation_id: str, timeout: float = 30.0) -> ConversationDetail:
        """Wait until the conversation's execution has ended (its last step, variables and history written); the
        conversation's detail."""
        wait_until(lambda: self.execution(conversation_id)["status"] != "RUNNING", timeout,
                   f"the end of the execution of {conversation_id}", interval=0.2)
        return self.detail(conversation_id)

    def wait_routed(self, session: ChatSession, timeout: float = 30.0) -> ConversationDetail:
        """Wait for the hand-off and the end of the execution; the conversation's detail (team, assignee, steps,
        variables, version)."""
        session.wait_status("handed_off", timeout)
        return self.settled(session.conversation_id, timeout)

    def wait_closed(self, session: ChatSession, timeout: float = 30.0) -> ConversationDetail:
        session.wait_status("closed", timeout)
        return self.settled(session.conversation_id, timeout)

    # ------------------------------------------------------------------ configuration
    def publish_config(self, edit: Callable[[dict[str, Any]], None]) -> Config:
        data = self.config.model_dump(mode="json", by_alias=True)
        edit(data)
        self.config = Config.model_validate(data)
        publish(self.stack, self.config)
        return self.config

    def stop(self) -> None:
        try:
            stop = getattr(self.crm, "stop", None) or getattr(self.crm, "shutdown", None)
            if stop:
                stop()
        finally:
            self.stack.stop()


def crm_settings(config: Config, crm_url: str) -> Config:
    """The configuration with ``conversations.settings.crm_url`` at the stub CRM (and its host let through the
    private-address guard)."""
    data = config.model_dump(mode="json", by_alias=True)
    conv = data.setdefault("conversations", {})
    conv.setdefault("settings", {})["crm_url"] = crm_url
    host = crm_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    hosts = conv.setdefault("http_allow_hosts", [])
    if host not in hosts:
        hosts.append(host)
    # many test customers open from distinct addresses, but some open several each: no open limit in the way
    conv.setdefault("web_chat", {})["open_per_hour"] = 10000
    conv["web_chat"]["rate_per_minute"] = 600
    return Config.model_validate(data)


CRM_TOKEN = "stub-crm-token"


def workflow_secrets(stack: LocalStack, config: Config) -> None:
    """The secrets ``conversations.secrets`` names, as an operator creates them (the CRM token the VIP template's
    HTTP step sends); kept when the stack made them already."""
    from dunning_ops.local.chat_stack import create_workflow_secrets

    create_workflow_secrets(stack, config, CRM_TOKEN)


def start_crm() -> Any:
    from dunning_ops.local import stub_crm

    return stub_crm.start()


def crm_url(crm: Any) -> str:
    return str(getattr(crm, "url", None) or crm.base_url)


def start_conversation_stack(events: Iterable[dict[str, Any]] = (), *, templates: bool = True,
                             parameters: dict[str, str] | None = None) -> ConversationStack:
    """The stack for a test module: ledger ``events`` ingested first (accounts for the collections template);
    ``parameters`` override template parameters (the local values of LOCAL_PARAMETERS otherwise)."""
    import io

    from dunning.config_loader import load_config_dir

    if parameters:
        stack = LocalStack.start(log_sink=io.StringIO(), capture_stdout=True, parameters=parameters)
    else:
        stack = start_stack()
    crm = None
    try:
        crm = start_crm()
        config = crm_settings(load_config_dir(ROOT / "infra" / "config"), crm_url(crm))
        workflow_secrets(stack, config)
        publish(stack, config)
        url = stack.start_http_api(None)
        events = list(events)
        if events:
            send(stack, events)
        cs = ConversationStack(stack, url, crm, config)
        if templates:
            from dunning.app.workflows import install_templates

            cs.installed = list(install_templates(cs.workflows, None, now()))
        return cs
    except BaseException:
        if crm is not None and hasattr(crm, "stop"):
            crm.stop()
        stack.stop()
        raise


# ---------------------------------------------------------------------------------------------- thread helpers
def chat_entries(thread: Iterable[ThreadEntry], kind: str) -> list[ThreadEntry]:
    return [e for e in thread if e.kind == kind]


def bot_texts(session: ChatSession) -> list[str]:
    session.poll()
    return [m.text for m in session.messages if m.author == "bot"]


def ledger_customer(n: int, amount: str, *, due: str = "2026-11-01", prefix: str = "CV") -> list[dict[str, Any]]:
    """A person, an account and one open invoice (ingested as the upstream events of the earlier issues)."""
    person, account, invoice = f"P-{prefix}-{n}", f"A-{prefix}-{n}", f"INV-{prefix}-{n}"

    def event(event_id: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"event_id": event_id, "event_type": event_type, "occurred_at": "2026-10-20T08:00:00Z",
                "source": "test", "data": data}

    return [
        event(f"{prefix}-person-{n}", "person.upserted", {
            "person_id": person, "name": f"Debtor {n}", "language": "en", "email": f"debtor{n}@customer.example",
            "address": {"lines": [f"{n} Chat Street"], "city": "Lisboa", "country": "PT"}}),
        event(f"{prefix}-account-{n}", "account.upserted", {
            "account_id": account, "currency": "EUR", "main_person_id": person,
            "attributes": {"segment": "residential"}}),
        event(f"{prefix}-invoice-{n}", "invoice.posted", {
            "invoice_id": invoice, "account_id": account, "invoice_date": "2026-10-15", "due_date": due,
            "amount": amount, "currency": "EUR"}),
    ]


# ---------------------------------------------------------------------------------------------- the stub CRM
VIP_EMAIL = "vip@example.com"
NORMAL_EMAIL = "normal@example.com"


def crm_mode(crm: Any, mode: str) -> None:
    """``ok`` or ``down`` (every request answered 503)."""
    crm.set_mode(mode)


def crm_fail_next(crm: Any, status: int, times: int) -> None:
    """The next ``times`` requests are answered ``status``, then normally."""
    crm.fail_next(status, times)


def crm_requests(crm: Any, email: str, since: int = 0) -> list[dict[str, Any]]:
    """The requests the stub answered for ``email`` (``{"status", "authorization", ...}``), oldest first; ``since``:
    skip the first that many requests of the log (``len(crm.requests())`` taken before)."""
    return [r for r in crm.requests()[since:] if r.get("email") == email.lower()]


def load_emails(crm: Any) -> tuple[Callable[[int], str], Callable[[int], str]]:
    """Email addresses for many load customers, each a contact of the stub CRM: (i -> a VIP contact's, i -> a
    normal contact's)."""
    def vip(i: int) -> str:
        email = f"vip.load{i}@example.com"
        crm.set_contact(email, customerType="VIP", name=f"VIP {i}")
        return email

    def normal(i: int) -> str:
        email = f"normal.load{i}@example.com"
        crm.set_contact(email, customerType="normal", name=f"Normal {i}")
        return email

    return vip, normal


def open_on(cs: ConversationStack, workflow_id: str, *, channel: str = "test", **contact: Any) -> ChatSession:
    """A conversation opened through the use case on the live version of ``workflow_id`` (forced, as the console's
    "Try it" forces a draft; ``account_id`` is accepted here, which the public chat does not take), then played
    through the test channel with its token."""
    from dunning.app.conversations import open_conversation
    from dunning.app.workflows import get_workflow
    from dunning.models.conversations import NewConversation
    from dunning_ops.cli.chat_cmd import ChatApi, Conversation, Opened

    live = get_workflow(cs.workflows, ADMIN, workflow_id).summary.live_version
    assert live, f"{workflow_id} has no live version"
    opened = open_conversation(cs.deps, NewConversation(channel=channel, **contact), now(), principal=ADMIN,
                               workflow=(workflow_id, str(live)))
    conv = opened.conversation
    return ChatSession(Conversation(ChatApi(cs.api_url), Opened(conv.id, opened.token, conv.number, 1000)), 0.1)
