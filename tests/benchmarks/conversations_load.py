"""Issue 14's load: many concurrent conversations of the VIP template through the local stack's public chat API.

Each customer opens a conversation through the local HttpApi gateway's request path, in-process (``POST
/public/chat/conversations``: the payload 2.0 event, the API function's handler, moto behind it), each from a
client address of its own, with a first message ("Hello"). Half are VIP contacts of the stub CRM, half normal;
half give their email at the open (the template looks them up at once), half do not and answer the template's
question with it when it arrives (``POST .../messages``). Everything behind the API is the stack's own: the
FIFO queue and its poller, ConversationInboundFunction, ConversationStateMachine in moto's executor,
ConversationStepFunction and ConversationHttpFunction (which calls the stub CRM).

**Reply latency, in-process.** The thread writes are watched where they happen: ``add_entry`` of the
interactions repository (every chat_in / chat_out entry the functions write goes through it) is wrapped to note
the monotonic time after each write. A customer message's latency is from just before its API call to the
first bot entry written for its conversation after that instant. No polling is involved in the measure.

**Lost messages.** At the end every conversation's interaction is read back (its thread items): every message a
customer sent must be in its thread exactly once, and every conversation must have ended handed off to the
team its CRM type calls for (VIP -> vip, else normal). Anything else is counted as lost.

**Concurrency.** All conversations are opened first (``openers`` threads), so all of them are open at once,
then answered as their questions arrive (``answerers`` threads). ``wave`` bounds how many are in flight (opened
and not yet routed): with ``wave`` = N, all N run at once.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

OPEN_PATH = "/public/chat/conversations"
FIRST_TEXT = "Hello"


@dataclass
class Customer:
    index: int
    vip: bool
    asks: bool  # opened without an email: answers the template's question with it
    email: str
    source_ip: str
    conversation_id: str = ""
    token: str = ""
    opened_at: float = 0.0
    open_ms: float = 0.0  # the API call itself
    sent: list[tuple[str, str, float]] = field(default_factory=list)  # (client id, text, monotonic t before send)
    answered: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def team(self) -> str:
        return "vip" if self.vip else "normal"


@dataclass
class Written:
    t: float
    kind: str
    message_id: str
    text: str


class ThreadWatch:
    """Notes every chat entry the functions write (in-process), by conversation id (from the message id:
    ``chat:{conversation}:{client id}``, ``bot:{conversation}:{seq}:{i}``, ``ask:{conversation}:{seq}``...)."""

    def __init__(self) -> None:
        self.by_conversation: dict[str, list[Written]] = defaultdict(list)
        self.lock = threading.Lock()
        self.on_bot: Callable[[str, str], None] | None = None
        self._saved: list[tuple[Any, str, Any]] = []

    def install(self) -> ThreadWatch:
        from dunning.store.interactions import DynamoInteractionsRepository

        watch = self
        original = DynamoInteractionsRepository.add_entry

        def add_entry(repo: Any, interaction_id: str, entry: Any) -> Any:
            out = original(repo, interaction_id, entry)
            watch.note(entry)
            return out

        self._saved.append((DynamoInteractionsRepository, "add_entry", original))
        DynamoInteractionsRepository.add_entry = add_entry  # type: ignore[method-assign]
        original_create = DynamoInteractionsRepository.create

        def create(repo: Any, interaction: Any, first: Any = None) -> Any:
            out = original_create(repo, interaction, first)
            if first is not None:
                watch.note(first)
            return out

        self._saved.append((DynamoInteractionsRepository, "create", original_create))
        DynamoInteractionsRepository.create = create  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        for owner, name, fn in self._saved:
            setattr(owner, name, fn)
        self._saved.clear()

    def note(self, entry: Any) -> None:
        t = time.perf_counter()
        mid = entry.message_id or ""
        parts = mid.split(":")
        if len(parts) < 2 or entry.kind not in ("chat_in", "chat_out"):
            return
        conv = parts[1]
        with self.lock:
            self.by_conversation[conv].append(Written(t, entry.kind, mid, entry.text))
        if entry.kind == "chat_out" and self.on_bot is not None:
            self.on_bot(conv, entry.text)

    def first_bot_after(self, conversation_id: str, t: float) -> float | None:
        with self.lock:
            times = [w.t for w in self.by_conversation.get(conversation_id, []) if w.kind == "chat_out" and w.t > t]
        return min(times) if times else None


@dataclass
class LoadResult:
    conversations: int
    wave: int
    open_s: float = 0.0  # opening them all
    total_s: float = 0.0  # first open to the last routed
    max_open_at_once: int = 0  # opened and not yet routed, at the peak
    reply_ms: list[float] = field(default_factory=list)  # the answer -> the bot's reply
    first_reply_ms: list[float] = field(default_factory=list)  # the open (with "Hello") -> the bot's first message
    open_call_ms: list[float] = field(default_factory=list)
    send_call_ms: list[float] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # what went missing, one line each
    statuses: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    messages_sent: int = 0
    messages_in_threads: int = 0
    api_errors: list[str] = field(default_factory=list)
    unrouted: int = 0
    customers: list[Customer] = field(default_factory=list)


def customers(n: int, vip_email: Callable[[int], str], normal_email: Callable[[int], str]) -> list[Customer]:
    out = []
    for i in range(n):
        vip, asks = i % 2 == 0, (i // 2) % 2 == 1
        out.append(Customer(i, vip, asks, vip_email(i) if vip else normal_email(i),
                            f"10.{20 + i // 65536}.{(i // 256) % 256}.{i % 256}"))
    return out


def _call(gw: Any, method: str, path: str, body: dict[str, Any] | None, token: str | None,
          source_ip: str) -> tuple[int, Any]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    status, _, out = gw.handle(method, path, headers, json.dumps(body).encode() if body is not None else b"",
                               source_ip=source_ip)
    try:
        return status, json.loads(out) if out else None
    except ValueError:
        return status, out


def routed_statuses(stack: Any) -> dict[str, tuple[str, str | None, str]]:
    """conversation id -> (status, team, interaction id), from the conversations table (one Scan, outside any
    count)."""
    ddb = stack.client("dynamodb")
    table = stack.outputs["ConversationsTableName"]
    out: dict[str, tuple[str, str | None, str]] = {}
    for page in ddb.get_paginator("scan").paginate(
            TableName=table, FilterExpression="sk = :m", ExpressionAttributeValues={":m": {"S": "META"}}):
        for item in page["Items"]:
            pk = item["pk"]["S"]
            if pk.startswith("CONV#"):
                out[pk[5:]] = (item.get("status", {}).get("S", ""), item.get("team", {}).get("S"),
                               item.get("interaction_id", {}).get("S", ""))
    return out


def thread_messages(stack: Any) -> dict[str, list[dict[str, Any]]]:
    """interaction id -> its chat_in / chat_out thread entries (one Scan of the interactions table)."""
    from dunning.store import dynamo

    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in dynamo.scan(stack.outputs["InteractionsTableName"]):
        if item.get("kind") in ("chat_in", "chat_out") and str(item.get("pk", "")).startswith("INT#"):
            out[str(item["pk"])[4:]].append(item)
    return out


def run_load(stack: Any, people: list[Customer], *, ask_marker: str, wave: int, openers: int = 8,
             answerers: int = 8, timeout_s: float = 1800.0, poll_s: float = 3.0,
             progress: Callable[[str], None] | None = None) -> LoadResult:
    """Drive ``people`` through the public chat API; ``wave`` at most in flight (opened, not yet routed)."""
    gw = stack.http_api
    result = LoadResult(len(people), wave, customers=people)
    by_id: dict[str, Customer] = {}
    asked: queue.Queue[str] = queue.Queue()
    lock = threading.Lock()
    watch = ThreadWatch()

    def on_bot(conv: str, text: str) -> None:
        c = by_id.get(conv)
        if c is not None and c.asks and not c.answered and ask_marker in text:
            asked.put(conv)

    watch.on_bot = on_bot
    slots = threading.Semaphore(wave)
    done: set[str] = set()
    in_flight = [0]

    def open_one(c: Customer) -> None:
        slots.acquire()
        body: dict[str, Any] = {"name": f"Load {c.index}", "text": FIRST_TEXT, "test": True}
        if not c.asks:
            body["email"] = c.email
        c.opened_at = time.perf_counter()
        status, out = _call(gw, "POST", OPEN_PATH, body, None, c.source_ip)
        c.open_ms = (time.perf_counter() - c.opened_at) * 1000
        if status != 201:
            c.errors.append(f"open {status}: {out}")
            slots.release()
            return
        c.conversation_id, c.token = str(out["conversation_id"]), str(out["token"])
        c.sent.append(("open", FIRST_TEXT, c.opened_at))
        with lock:
            by_id[c.conversation_id] = c
            in_flight[0] += 1
            result.max_open_at_once = max(result.max_open_at_once, in_flight[0])
        # the question may have been written before the id was known here
        if c.asks and any(ask_marker in w.text for w in watch.by_conversation.get(c.conversation_id, [])
                          if w.kind == "chat_out"):
            asked.put(c.conversation_id)

    stop = threading.Event()

    def answer_loop() -> None:
        while not stop.is_set():
            try:
                conv = asked.get(timeout=0.2)
            except queue.Empty:
                continue
            c = by_id[conv]
            with lock:
                if c.answered:
                    continue
                c.answered = True
            cid = "answer-1"
            t = time.perf_counter()
            status, out = _call(gw, "POST", f"{OPEN_PATH}/{conv}/messages", {"text": c.email,
                                                                          "client_message_id": cid},
                                c.token, c.source_ip)
            result.send_call_ms.append((time.perf_counter() - t) * 1000)
            if status != 202:
                c.errors.append(f"send {status}: {out}")
                continue
            c.sent.append((cid, c.email, t))

    watch.install()
    started = time.perf_counter()
    answer_threads = [threading.Thread(target=answer_loop, name=f"answer-{i}", daemon=True) for i in range(answerers)]
    for th in answer_threads:
        th.start()
    # the routed conversations free their slots (a Scan every poll_s, outside the measured calls)
    monitor_stop = threading.Event()

    def monitor() -> None:
        while not monitor_stop.is_set():
            time.sleep(poll_s)
            states = routed_statuses(stack)
            with lock:
                for conv, (status, _team, _interaction) in states.items():
                    if conv in by_id and conv not in done and status in ("handed_off", "closed"):
                        done.add(conv)
                        in_flight[0] -= 1
                        slots.release()

    mon = threading.Thread(target=monitor, name="load-monitor", daemon=True)
    mon.start()
    try:
        with ThreadPoolExecutor(openers, thread_name_prefix="opener") as pool:
            list(pool.map(open_one, people))
        result.open_s = time.perf_counter() - started
        if progress:
            progress(f"opened {len(by_id)} conversations in {result.open_s:.0f} s")
        deadline = time.perf_counter() + timeout_s
        opened = sum(1 for c in people if c.conversation_id)
        while time.perf_counter() < deadline:
            with lock:
                finished = len(done)
            if finished >= opened:
                break
            time.sleep(1.0)
        result.total_s = time.perf_counter() - started
    finally:
        stop.set()
        monitor_stop.set()
        for th in answer_threads:
            th.join(5)
        mon.join(poll_s + 30)
        watch.uninstall()
    _verify(stack, watch, result)
    return result


def _verify(stack: Any, watch: ThreadWatch, result: LoadResult) -> None:
    states = routed_statuses(stack)
    threads = thread_messages(stack)
    statuses: Counter[str] = Counter()
    teams: Counter[str] = Counter()
    for c in result.customers:
        for e in c.errors:
            result.api_errors.append(f"customer {c.index}: {e}")
        if not c.conversation_id:
            result.lost.append(f"customer {c.index}: no conversation ({c.errors})")
            continue
        status, team, interaction_id = states.get(c.conversation_id, ("missing", None, ""))
        statuses[status] += 1
        teams[team or "-"] += 1
        if status != "handed_off" or team != c.team:
            result.unrouted += 1
            result.lost.append(f"customer {c.index} ({c.conversation_id}): {status}, team {team}, want {c.team}")
        inbound = [e for e in threads.get(interaction_id, []) if e["kind"] == "chat_in"]
        texts = Counter(str(e.get("text", "")) for e in inbound)
        result.messages_sent += len(c.sent)
        result.messages_in_threads += len(inbound)
        for cid, text, _t in c.sent:
            if texts.get(text, 0) != 1:
                result.lost.append(f"customer {c.index} ({c.conversation_id}): message {cid} in the thread "
                                   f"{texts.get(text, 0)} times")
        if len(inbound) != len(c.sent):
            result.lost.append(f"customer {c.index}: {len(inbound)} chat_in entries for {len(c.sent)} sent")
        if c.opened_at:
            first = watch.first_bot_after(c.conversation_id, c.opened_at)
            if first is not None:
                result.first_reply_ms.append((first - c.opened_at) * 1000)
        for cid, _text, t in c.sent:
            if cid == "open":
                continue
            reply = watch.first_bot_after(c.conversation_id, t)
            if reply is None:
                result.lost.append(f"customer {c.index}: no bot reply to {cid}")
            else:
                result.reply_ms.append((reply - t) * 1000)
        result.open_call_ms.append(c.open_ms)
    result.statuses = dict(statuses)
    result.teams = dict(teams)


# ---------------------------------------------------------------------------------------------- Step Functions
def execution_transitions(stack: Any, conversation_ids: list[str]) -> list[dict[str, Any]]:
    """Per execution (named after its conversation): the states entered (what Standard bills as state
    transitions) and the Lambda task attempts, from GetExecutionHistory."""
    sfn = stack.client("stepfunctions")
    machine = stack.outputs["ConversationStateMachineArn"]
    prefix = machine.replace(":stateMachine:", ":execution:")
    out = []
    for conv in conversation_ids:
        arn = f"{prefix}:{conv}"
        events: list[dict[str, Any]] = []
        token = None
        while True:
            kw: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
            if token:
                kw["nextToken"] = token
            page = sfn.get_execution_history(**kw)
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                break
        entered = [e for e in events if e["type"].endswith("StateEntered")]
        names = [e.get("stateEnteredEventDetails", {}).get("name", "") for e in entered]
        attempts = sum(1 for e in events if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))
        out.append({"conversation_id": conv, "entered": len(entered), "events": len(events),
                    "task_attempts": attempts, "by_state": dict(Counter(names)),
                    "status": sfn.describe_execution(executionArn=arn)["status"]})
    return out


# ---------------------------------------------------------------------------------------------- moto's transactions
class ItemLevelTransactions:
    """moto's ``transact_write_items`` backs up every table a transaction touches with a deep copy of the whole
    table, once per item of the transaction, before it starts (to restore it if the transaction is cancelled):
    O(table size) per transaction, so a load that grows the interactions table to tens of thousands of items spends
    its time copying tables (test_13 met the same wall and used an in-memory engine instead). While installed,
    the backup is of the items the transaction names only, taken and restored under the local stack's DynamoDB
    write lock (``serialise_dynamodb_writes``), which is what DynamoDB's all-or-nothing needs when no other write
    runs meanwhile. Tables with a stream keep moto's whole-table backup (a rollback must also drop the stream
    records of the cancelled writes). Behaviour is moto's own: its code still runs the transaction."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def install(self) -> ItemLevelTransactions:
        import copy as real_copy
        import types

        import moto.dynamodb.models as models
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table

        locked = DynamoDBBackend.transact_write_items
        original = (getattr(locked, "__kwdefaults__", None) or {}).get("_original")
        lock = next((c.cell_contents for c in (getattr(locked, "__closure__", None) or ())
                     if hasattr(c.cell_contents, "acquire")), None)
        if original is None or lock is None:  # not the local stack's serialised method: leave moto as it is
            return self

        def shallow_for_tables(x: Any, memo: Any = None) -> Any:
            return x if isinstance(x, Table) else real_copy.deepcopy(x, memo)

        shim = types.SimpleNamespace(**{k: getattr(real_copy, k) for k in ("copy", "Error")})
        shim.deepcopy = shallow_for_tables

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            with lock:
                backups: list[tuple[Any, Any, Any, Any]] = []
                whole: dict[str, Any] = {}
                for item in transact_items:
                    op = next(iter(item.values())) if item else {}
                    table = self.tables.get(op.get("TableName", "")) if isinstance(op, dict) else None
                    if table is None:
                        continue
                    if table.stream_shard is not None:
                        whole.setdefault(table.name, real_copy.deepcopy(table))
                        continue
                    key = op.get("Key") or {k: v for k, v in (op.get("Item") or {}).items()
                                             if k in (table.hash_key_attr, table.range_key_attr)}
                    if table.hash_key_attr not in key:
                        continue
                    h = DynamoType(key[table.hash_key_attr])
                    r = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
                    before = table.get_item(h, r) if (r is not None or not table.has_range_key) else None
                    backups.append((table, h, r, real_copy.deepcopy(before)))
                try:
                    original(self, transact_items)
                except Exception:
                    for table, h, r, before in reversed(backups):
                        if r is not None:
                            if before is None:
                                table.items[h].pop(r, None)
                            else:
                                table.items[h][r] = before
                        elif before is None:
                            table.items.pop(h, None)
                        else:
                            table.items[h] = before
                    for name, copy_ in whole.items():
                        self.tables[name] = copy_
                    raise

        self._saved = [(DynamoDBBackend, "transact_write_items", locked), (models, "copy", models.copy)]
        models.copy = shim  # type: ignore[assignment]
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        self._saved.clear()
