"""The console's demo on the local stack (``dunning local up --demo``, ``make console``): the demo data loaded,
the demo run done, one demo user per group; and the run report as a static file (``make demo``)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dunning.app.deps import read_deps
from dunning.app.run_report import run_report
from dunning.config_loader import load_config_dir
from dunning.console.report import static_run_report
from dunning.settings import StackSettings
from dunning_ops.local.demo_data import DEMO_AS_OF
from dunning_ops.local.http_api import DEMO_USERS, DemoUser, add_demo_users
from dunning_ops.local.stack import REGION, LocalStack, project_root
from dunning_ops.run_wait import wait_for_run
from dunning_ops.target import Target

if TYPE_CHECKING:
    from dunning.models.interactions import Interaction

REPORT_NAME = "run-report.html"


def load_demo_data(stack: LocalStack, as_of: date = DEMO_AS_OF, progress: TextIO | None = None) -> str:
    """Publish ``infra/config``, send the demo events, run the demo run (as ``make demo`` does); the run id."""
    def say(text: str) -> None:
        if progress:
            print(text, file=progress, flush=True)

    root = project_root()
    target = Target.from_args(stack.endpoint, None, REGION)
    repositories = read_deps(target.settings)
    say("publishing infra/config")
    repositories.blobs.publish_config(load_config_dir(root / "infra" / "config"))
    lines = (root / "events" / "demo" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    say(f"sending {len(lines)} demo events")
    sqs = stack.client("sqs")
    for i in range(0, len(lines), 10):
        sqs.send_message_batch(QueueUrl=stack.outputs["EventsQueueUrl"],
                               Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(lines[i : i + 10])])
    stack.drain()
    say(f"collections run for {as_of.isoformat()}")
    started = stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.outputs["CollectionsRunStateMachineArn"], name=f"console-demo-{as_of.isoformat()}",
        input=json.dumps({"as_of": as_of.isoformat()}))
    summary: dict[str, Any] = wait_for_run(target, started["executionArn"], quiet=progress is None)
    stack.drain()
    return str(summary["run_id"])


def busiest_collector(settings: StackSettings) -> str | None:
    """The collections agent with the most open activities after the demo run (ties: the first by name)."""
    from dunning.app.deps import activity_deps

    page = activity_deps(settings).activities.open_activities(None, 200, None)
    counts = Counter(c.activity.assigned_to for c in page.contacts if c.activity and c.activity.assigned_to)
    return min(counts, key=lambda agent: (-counts[agent], agent)) if counts else None


def demo_users(collector: str | None) -> tuple[DemoUser, ...]:
    """One user per group. The collector's user name is a collections agent's id, the one the run assigned
    activities to, so its worklist is not empty; it signs in with that name (moto's user pool has no email
    aliases)."""
    return tuple(DemoUser(collector, u.email, u.group) if u.group == "collector" and collector else u
                 for u in DEMO_USERS)


def load_console_demo(stack: LocalStack, as_of: date = DEMO_AS_OF, progress: TextIO | None = sys.stderr
                      ) -> list[DemoUser]:
    """What ``dunning local up --demo`` calls: the demo data and run, then the demo users (one per group), their
    stage memberships and a few demo interactions with time spent, then the shipped workflows live and a few
    demo conversations handed to the teams."""
    load_demo_data(stack, as_of, progress=progress)
    settings = Target.from_args(stack.endpoint, None, REGION).settings
    users = add_demo_users(stack, demo_users(busiest_collector(settings)))
    if progress:
        print("demo interactions: stage members, requests on every agent channel, time spent", file=progress,
              flush=True)
    load_demo_interactions(stack, users)
    load_demo_conversations(stack, users, progress)  # its stub CRM serves as long as the demo runs
    return users


# ---------------------------------------------------------------------------------------------- interactions
@dataclass(frozen=True)
class DemoInteraction:
    """One demo request: who recorded it (a group's demo user; None: the public web form), what about, the stage
    moves it went through, and the time spent on it (minutes, days ago)."""

    group: str | None
    channel: str
    category: str
    account_id: str
    subject: str
    text: str
    moves: tuple[str, ...] = ()
    time: tuple[tuple[int, int], ...] = ()  # (minutes, days ago)
    comment: str = ""


DEMO_INTERACTIONS: tuple[DemoInteraction, ...] = (
    DemoInteraction("collector", "phone", "invoice_dispute", "A-0001", "The last invoice looks too high",
                    "The customer says the meter reading on the last invoice was estimated, not read.",
                    moves=("in_progress",), time=((12, 3), (8, 1)),
                    comment="Asked for a photo of the meter; customer will send it today."),
    DemoInteraction("agent", "call_centre", "payment_plan", "A-0002", "Payment plan over six months",
                    "Lost a part-time job; can pay 40 a month if the plan runs six months.",
                    moves=("in_progress", "awaiting_customer"), time=((20, 6), (6, 2))),
    DemoInteraction(None, "internet", "web_request", "A-0003", "My letters go to the old address",
                    "We moved in August. Please send the letters to the new address, 12 Station Road."),
    DemoInteraction("agent", "phone", "tariff_question", "A-0004", "Which tariff suits a heat pump?",
                    "Installing a heat pump next month and asks which electricity tariff fits.",
                    moves=("in_progress", "resolved"), time=((15, 9),)),
    DemoInteraction("supervisor", "direct_marketing", "meter_question", "A-0005", "Meter replaced last week",
                    "The engineer replaced the meter; the customer asks whether the new reading is on file.",
                    time=((4, 0),)),
)


def load_demo_interactions(stack: LocalStack, users: Iterable[DemoUser], now: datetime | None = None
                           ) -> list[Interaction]:
    """Make every demo user but the admin (who passes every stage rule) a member of every stage, then record the
    demo interactions through the use cases (numbers, moves, time aggregates as an agent would make them)."""
    from dunning.app import interactions as uc
    from dunning.app.deps import interaction_deps
    from dunning.auth import Group, Principal
    from dunning.models.interactions import NewInteraction

    o = stack.outputs
    deps = interaction_deps(interactions_table=o["InteractionsTableName"],
                            attachments_bucket=o["AttachmentsBucketName"],
                            signing_secret_arn=o.get("InteractionSigningSecretArn", ""),  # not for the demo data
                            runs_bucket=o["RunsBucketName"],
                            ledger_table=o["LedgerTableName"], contacts_table=o["ContactsTableName"])
    moment = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    admin = Principal(user_id="demo-admin", username="demo-admin", groups=frozenset({Group.ADMIN}))
    people = {u.group: Principal(user_id=f"demo-{u.group}", username=u.username, groups=frozenset({Group(u.group)}))
              for u in users}
    for process in deps.config().interactions.processes:
        for stage in process.stage_ids:
            for group, member in people.items():
                if group != Group.ADMIN:
                    uc.add_member(deps, admin, process.id, stage, member.username)
    made = []
    for n, demo in enumerate(DEMO_INTERACTIONS):
        who = people.get(demo.group) if demo.group else None
        acting = who or admin  # the web form has no agent: the admin works it in the demo
        recorded_at = moment - timedelta(days=max([d for _, d in demo.time] or [0]), hours=2 + n)
        item = uc.record_interaction(deps, who, NewInteraction(
            channel=demo.channel, category=demo.category, subject=demo.subject, text=demo.text,
            account_id=demo.account_id, person_id=f"P-{demo.account_id[2:]}",
            customer_name=None, customer_email=f"customer{int(demo.account_id[2:])}@example.net"), recorded_at)
        for minutes, days in demo.time:
            uc.log_time(deps, acting, item.id, started_at=moment - timedelta(days=days, hours=1), minutes=minutes,
                        note="demo: call and follow-up", now=moment)
        if demo.comment:
            uc.add_entry(deps, acting, item.id, "comment", demo.comment, visibility="customer", now=moment)
        for stage in demo.moves:
            item = uc.move_stage(deps, acting, item.id, stage, expected_version=item.version, now=moment)
        made.append(item)
    return made


def write_run_report(settings: StackSettings, run_id: str, out: Path, language: str = "en") -> Path:
    """The run's report as one HTML file in ``out`` (stylesheet inline, charts as SVG)."""
    report = run_report(read_deps(settings), run_id)
    path = out / REPORT_NAME
    path.write_text(static_run_report(report, language), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- conversations (S4)
@dataclass(frozen=True)
class DemoConversation:
    """One demo web chat: the customer's contact fields and the answers they give to the bot's questions."""

    name: str
    email: str | None
    answers: tuple[str, ...] = ()


DEMO_CONVERSATIONS: tuple[DemoConversation, ...] = (
    DemoConversation("Vera VIP", "vip@example.com"),  # the stub CRM says VIP: the VIP team
    DemoConversation("Nuno Normal", "normal@example.com"),  # the normal team
    DemoConversation("Ana", None, ("not an email", "ana@example.com")),  # asked, re-asked, then the lookup
)
DEMO_WAIT = 60.0  # seconds a demo conversation may take through the queue and the state machine


def _ask_for_a_person(choices: list[Any], email: str | None) -> str:
    """A demo customer's answer beyond the script: the choice asking for a person (else the last), or the email."""
    for c in choices:
        if any(word in (c.label or "").lower() for word in ("someone", "agent", "person", "talk")):
            return str(c.value)
    return str(choices[-1].value) if choices else (email or "demo@example.com")


@dataclass
class DemoConversations:
    """What :func:`load_demo_conversations` made: the shipped workflows installed (live), the demo
    conversations' ids, and the stub CRM they looked contacts up in (``crm.stop()`` when done)."""

    installed: list[str]
    conversations: list[str]
    crm: Any = None


def load_demo_conversations(stack: LocalStack, users: Iterable[DemoUser] = (), progress: TextIO | None = None,
                            *, wait: float = DEMO_WAIT) -> DemoConversations:
    """The stub CRM started and the configuration republished with its URL (``conversations.settings.crm_url``,
    its host let through the HTTP guard), the shipped workflow templates installed and live, and the demo web
    chats played through the use cases until each is handed to a team, so the inbox has conversations.

    A chat that does not reach a team within ``wait`` seconds is left as it is (the demo goes on)."""
    import time

    from dunning.app import conversations as conv
    from dunning.app.deps import conversation_deps
    from dunning.app.workflows import install_templates
    from dunning.models.conversations import NewConversation
    from dunning_ops.local import stub_crm
    from dunning_ops.local.chat_stack import publish_chat_config

    def say(text: str) -> None:
        if progress:
            print(text, file=progress, flush=True)

    settings = Target.from_args(stack.endpoint, None, REGION).settings
    if not settings.conversations_table:
        return DemoConversations([], [])
    crm = stub_crm.start()
    publish_chat_config(stack, project_root() / "infra" / "config", str(crm.url))
    deps = conversation_deps(settings)
    installed = install_templates(deps.workflows, None, datetime.now(UTC))
    say(f"workflow templates live: {', '.join(installed)}; stub CRM at {crm.url}")
    made: list[str] = []
    for n, demo in enumerate(DEMO_CONVERSATIONS):
        opened = conv.open_conversation(deps, NewConversation(channel="web_chat", name=demo.name, email=demo.email),
                                        datetime.now(UTC))
        cid, token = opened.conversation.id, opened.token
        made.append(cid)
        answers = list(demo.answers)
        deadline = time.monotonic() + wait
        asked = 0
        while time.monotonic() < deadline:
            view = conv.customer_view(deps, cid, token, None)
            if view.status in ("handed_off", "closed"):
                break
            bot = sum(1 for m in view.messages if m.role == "bot")
            if view.prompt is not None and bot > asked:  # a question: the next scripted answer, else ask for a person
                asked = bot
                reply = answers.pop(0) if answers else _ask_for_a_person(view.prompt.choices, demo.email)
                conv.accept_message(deps, cid, token, reply, f"demo{n}-{asked}", datetime.now(UTC))
            time.sleep(0.3)
        say(f"demo conversation {opened.conversation.number or cid}: {view.status}")
    return DemoConversations(installed, made, crm)
